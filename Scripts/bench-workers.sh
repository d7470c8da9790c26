#!/usr/bin/env bash
# Data-parallel site benchmark: one local epoch of a default time-to-event job (ResNet-10, width 8, GroupNorm, batch 4) on
# a synthetic site of BENCH_PATIENTS scans (default 24) at each of BENCH_SIZES (default 32³ and 64³), alone (1 process) and through the site's worker pool (the agent as rank 0 plus worker processes, c10d
# Gloo on loopback), every process at BENCH_THREADS threads (default 1), in one run of release `fedct-site bench-workers`.
# The two sides alternate BENCH_RUNS times (default 3) after an untimed run each; medians and their ratio are printed.
# On a shared machine other load moves both sides: read every run's figure and the load printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedct-site >/dev/null
bin=$(swift build -c release --show-bin-path)
echo "load before: $(uptime)"
for size in ${BENCH_SIZES:-32 64}; do
  # --config is the root command's option, which fedct-site's parser requires; bench-workers writes its synthetic site
  # and site.yaml into a fresh folder under $TMPDIR and removes it afterwards.
  "$bin/fedct-site" bench-workers --config "${TMPDIR:-/tmp}" --workers "${BENCH_WORKERS:-2}" --threads "${BENCH_THREADS:-1}" \
    --patients "${BENCH_PATIENTS:-24}" --size "$size" --runs "${BENCH_RUNS:-3}"
done
echo "load after:  $(uptime)"
