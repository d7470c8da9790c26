#!/usr/bin/env bash
# Synthetic-data benchmark: release `fedctl synth` writing 400 volumes of 64³ with every output (NIfTI gz, events,
# reports, clinical, ontology, ground truth), beside the baseline of writing the same 400 NIfTI gz files without
# rendering them (`--volumes-only`), as a ratio; and whether the one-minute target is met.
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${BENCH_SITES:-4}
patients=${BENCH_PATIENTS:-100,100,100,100}
size=${BENCH_SIZE:-64}

Scripts/install-deps.sh build
swift build -c release --product fedctl >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-synth.XXXXXX")
trap 'rm -rf "$work"' EXIT
volumes=$(python3 -c "import sys; print(sum(int(x) for x in sys.argv[1].split(',')))" "$patients")

seconds() {
  local started ended
  started=$(date +%s.%N)
  "$bin/fedctl" synth --sites "$sites" --patients "$patients" --size "$size" --seed 7 --out "$1" "${@:2}" >/dev/null
  ended=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$started" "$ended"
}

echo "== $volumes volumes of ${size}³ on $(nproc) cores ($sites sites: $patients)"
baseline=$(seconds "$work/baseline" --volumes-only)
full=$(seconds "$work/full")
python3 - "$volumes" "$baseline" "$full" "$work/full" "$size" <<'PY'
import sys, os, csv
volumes, baseline, full, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
events = sum(sum(1 for _ in open(os.path.join(out, d, "events.csv"))) - 1 for d in os.listdir(out) if d.startswith("site-"))
print(f"baseline (write {volumes} NIfTI gz volumes, no rendering): {baseline:.2f} s, {volumes / baseline:.1f} volumes/s")
print(f"fedctl synth (render + all outputs, {events} event rows):  {full:.2f} s, {volumes / full:.1f} volumes/s")
print(f"synth / baseline = {full / baseline:.2f}×")
print(f"target: {volumes} volumes of {sys.argv[5]}³ in under 60 s — {'met' if full < 60 else 'NOT met'} ({full:.1f} s)")
PY
