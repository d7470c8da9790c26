#!/usr/bin/env bash
# Metrics benchmark: Harrell's C on 1,000,000 synthetic subjects (tied times and risks, 40% censored) by the release
# fedctl beside lifelines' concordance_index on the same rows in the same run, seconds as a ratio (goal: under 1 s).
# Needs python3 with numpy and lifelines (PYTHON=/path/to/python to choose one; pip install lifelines numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${BENCH_ROWS:-1000000}
repeats=${BENCH_REPEATS:-5}
python=${PYTHON:-python3}

"$python" -c "import numpy, lifelines" 2>/dev/null || { echo "needs numpy and lifelines for $python: $python -m pip install numpy lifelines" >&2; exit 1; }
swift build -c release --product fedctl >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-metrics.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" - "$work/predictions.csv" "$rows" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
risk = np.round(rng.normal(size=n), 3)                      # ~6,000 distinct risks: many ties
event_time = rng.exponential(scale=1000 * np.exp(-0.7 * risk))
censor_time = rng.uniform(0, 2000, size=n)
time = np.ceil(np.minimum(event_time, censor_time))         # whole days: many tied times
event = (event_time <= censor_time).astype(int)
np.savetxt(path, np.column_stack([time, event, risk]), fmt=["%d", "%d", "%.3f"], delimiter=",", header="time,event,risk", comments="")
PY

echo "== Harrell's C on $rows subjects (best of $repeats, computation only, inputs already in memory)"
swift_line=$("$bin/fedctl" metrics --input "$work/predictions.csv" --benchmark-repeats "$repeats")
echo "fedctl (Swift, release):  $swift_line"
"$python" - "$work/predictions.csv" "$repeats" "$swift_line" <<'PY'
import sys, time
import numpy as np
import lifelines
from lifelines.utils import concordance_index
path, repeats, swift_line = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
data = np.loadtxt(path, delimiter=",", skiprows=1)
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    c = concordance_index(data[:, 0], -data[:, 2], data[:, 1])
    best = min(best, time.perf_counter() - start)
print(f"lifelines {lifelines.__version__}:        harrell_c {c:.12f} rows {len(data)} best_seconds {best:.4f}")
swift_c, swift_best = float(swift_line[1]), float(swift_line[5])
print(f"difference in C: {abs(swift_c - c):.2e}")
print(f"speed: fedctl {swift_best:.4f} s, lifelines {best:.4f} s, ratio lifelines/fedctl = {best / swift_best:.1f}x; "
      f"goal under 1 s: {'met' if swift_best < 1 else 'NOT met'}")
PY
