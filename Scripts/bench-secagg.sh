#!/usr/bin/env bash
# Secure-aggregation benchmark: one 10-site × 33M-parameter round with 2 dropouts (real state machines and crypto, one
# process), then the demo federation for a few rounds with and without secure aggregation, round time as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${BENCH_SITES:-10}
params=${BENCH_PARAMS:-33M}
dropouts=${BENCH_DROPOUTS:-2}
rounds=${BENCH_DEMO_ROUNDS:-4}

Scripts/install-deps.sh build
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)

echo "== one secure-aggregation round: $sites sites × $params parameters, $dropouts dropping after sharing keys"
"$bin/fedctl" simulate secagg --sites "$sites" --params "$params" --dropouts "$dropouts" --phase mask

echo
echo "== demo federation, $rounds rounds each: plain aggregation vs secure aggregation (same data, same seeds)"
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench.XXXXXX")
for mode in 0 1; do
  FEDCT_DEMO_SECAGG=$mode FEDCT_DEMO_ROUNDS=$rounds FEDCT_DEMO_DIR="$work/secagg-$mode" FEDCT_DEMO_SKIP_EXPERIMENT=1 \
    bash Scripts/demo.sh > "$work/secagg-$mode.log" 2>&1 || { tail -30 "$work/secagg-$mode.log"; exit 1; }
done
python3 - "$work" <<'PY'
import json, sys, sqlite3, statistics
work = sys.argv[1]
def rounds(mode):
    # The coordinator's job database: one row per committed round, its RoundRecord as protobuf JSON.
    db = sqlite3.connect(f"file:{work}/secagg-{mode}/state/coordinator/coordinator.sqlite?mode=ro", uri=True)
    return [json.loads(record) for (record,) in db.execute("SELECT record FROM rounds ORDER BY job_id, round")]
plain, secure = rounds(0), rounds(1)
# Round 1 includes loading and preprocessing the data at each site: compare the later rounds.
p = statistics.mean(r["seconds"] for r in plain[1:])
s = statistics.mean(r["seconds"] for r in secure[1:])
print(f"mean round time (rounds 2..{len(plain)}): plain {p:.2f} s, secure {s:.2f} s, secure/plain = {s / p:.3f}×")
print(f"bytes up per round: plain {statistics.mean(float(r.get('bytesUp', 0)) for r in plain):.0f}, secure {statistics.mean(float(r.get('bytesUp', 0)) for r in secure):.0f}")
PY
echo "logs: $work"
