#!/usr/bin/env bash
# Data-throughput benchmark (issue 4): decode + preprocess in volumes/s with the preprocessing cache cold and warm, beside
# the same pipeline without a cache (the baseline), for (a) N synthetic 64³ NIfTI scans and (b) one 512×512×300 int16
# .nii.gz resampled to 1.5 mm and cropped to 128³; then the warm-cache data time per training step of the demo model
# (resnet3d-10, batch 4, 64³) as a fraction of the step time. BENCH_PATIENTS (default 40) sets N.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedct-bench-data >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-data.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$bin/fedct-bench-data" "$work" "${BENCH_PATIENTS:-40}"
