#!/usr/bin/env bash
# MEDFORM training-step benchmark: scans/s of full train steps through FedCT's libtorch bridge (release fedctl
# bench-medform) beside the same model, inputs, optimiser and thread count in Python PyTorch eager (Debian python3-torch,
# the same libtorch 1.13; torchvision's ResNet-18 and Tests/Reference/medform_reference.py's modules), in the same run:
#   stage 1 — ResNet-18 (1-channel stem, width 64), SimCLR head to 128, NT-Xent τ 0.07 on two augmented views (random
#             resized crop with flip, contrast/brightness jitter, Gaussian blur, noise: the bridge's augmentation, ported)
#             of 16 slices of each of 4 scans of 64³;
#   stage 2 — the same ResNet-18 frozen (evaluation mode, no gradients) on bags of 16 slices, gated attention-MIL (128
#             units), clinical MLP on 18 features, InfoNCE τ 0.01; and the bridge once more with its slice-feature cache.
# Two measurements (goal: the bridge no slower than Python, ratio >= 1):
#  1. paired, stage 1 (the figure for the step whose separate runs came out 0.85–1.10 as the machine's speed drifted): the
#     bridge's C ABI (Scripts/torch-bench/medform_bench.c with the release CTorchBridge objects, a shared library) and
#     medform_step.py's eager step in ONE Python process with one malloc arena, stepped in turn (interleaved.py,
#     BENCH_PAIRS pairs, default 20): the median pair ratio with its 95 % bootstrap interval; then the same against eager
#     with its ResNet-18 and input in channels-last memory order, as the bridge runs them (BENCH_EAGER_CHANNELS_LAST=1).
#  2. whole programs, both stages: release `fedctl bench-medform` and medform_step.py as separate processes, median of N
#     steps after warm-up; the sides alternate BENCH_ROUNDS times (default 2) and each keeps its best median.
# BENCH_CONFIGURATION=debug times the debug fedctl instead (indicative only: its C++ glue is unoptimised; no paired part).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-$(nproc)}
size=${BENCH_SIZE:-64}
batch=${BENCH_BATCH:-4}
warmup=${BENCH_WARMUP:-2}
steps=${BENCH_STEPS:-5}
rounds=${BENCH_ROUNDS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-medform.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -c "import torch, torchvision" 2>/dev/null || { echo "needs PyTorch and torchvision for $python: sudo apt-get install -y python3-torch python3-torchvision" >&2; exit 1; }
bash Scripts/install-deps.sh >/dev/null
configuration=${BENCH_CONFIGURATION:-release}
swift build -c "$configuration" --product fedctl >/dev/null
bin=$(swift build -c "$configuration" --show-bin-path)

# The line with the higher scans/s (field 4) of two result lines.
best() { if [ -z "$1" ] || awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(y[4] > x[4]) }'; then echo "$2"; else echo "$1"; fi; }
rate() { echo "$1" | awk '{print $4}'; }

pairs=${BENCH_PAIRS:-20}
if [[ $configuration == release ]]; then
  gcc -O2 -fPIC -c Scripts/torch-bench/medform_bench.c -I Sources/CTorchBridge/include -o "$work/medform_bench.o"
  g++ -shared -o "$work/libfctmedform.so" "$work/medform_bench.o" "$bin"/CTorchBridge.build/*.o -ltorch -ltorch_cpu -lc10 -lgloo -lm
  echo "== MEDFORM stage 1 paired: bridge (on its own thread) and eager stepped in turn in one process with one malloc arena, as a site; batch 4 scans of ${size}³, $threads threads, $pairs pairs after $warmup warm-up steps (ratio = eager seconds / bridge seconds)"
  line=$(GLIBC_TUNABLES=glibc.malloc.arena_max=1 "$python" Scripts/torch-bench/interleaved.py "$work/libfctmedform.so" medform-stage1 "$size" "$threads" "$warmup" "$pairs")
  read -r _ bridge _ eager _ ratio _ low _ high _ count _ faster <<<"$line"
  printf "%-34s %-24s %-24s %s\n" "step" "FedCT bridge (scans/s)" "PyTorch eager (scans/s)" "ratio bridge/eager [95 % CI], pairs (bridge faster)"
  printf "%-34s %-24s %-24s %s\n" "stage 1 (SimCLR), paired" "$bridge" "$eager" "$ratio [$low, $high], $count ($faster)"
  # The bridge runs its convolutions in channels-last order; the same against eager PyTorch put in that order too.
  line=$(BENCH_EAGER_CHANNELS_LAST=1 GLIBC_TUNABLES=glibc.malloc.arena_max=1 "$python" Scripts/torch-bench/interleaved.py "$work/libfctmedform.so" medform-stage1 "$size" "$threads" "$warmup" "$pairs")
  read -r _ bridge _ eager _ ratio _ low _ high _ count _ faster <<<"$line"
  printf "%-34s %-24s %-24s %s\n" "  vs eager in channels-last" "$bridge" "$eager" "$ratio [$low, $high], $count ($faster)"
fi

echo "== MEDFORM (ResNet-18 width 64; stage 1 SimCLR on 16 slices × 2 views per scan, stage 2 attention-MIL on bags of 16 + clinical MLP), batch $batch scans of ${size}³, AdamW, $threads threads, $configuration fedctl, median of $steps after $warmup warm-up steps, best of $rounds alternating runs"
printf "%-34s %-24s %-24s %s\n" "step" "FedCT bridge (scans/s)" "PyTorch eager (scans/s)" "ratio bridge/python"
for stage in 1 2; do
  swift_line="" python_line="" cached_line=""
  for _ in $(seq "$rounds"); do
    swift_line=$(best "$swift_line" "$("$bin/fedctl" bench-medform --stage "$stage" --size "$size" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$steps")")
    python_line=$(best "$python_line" "$("$python" Scripts/torch-bench/medform_step.py "$stage" "$size" "$batch" "$threads" "$warmup" "$steps")")
    if [[ $stage == 2 ]]; then
      cached_line=$(best "$cached_line" "$("$bin/fedctl" bench-medform --stage 2 --cache --size "$size" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$steps")")
    fi
  done
  label=$([[ $stage == 1 ]] && echo "stage 1 (SimCLR)" || echo "stage 2 (MIL + clinical, no cache)")
  printf "%-34s %-24s %-24s %s\n" "$label" "$(rate "$swift_line")" "$(rate "$python_line")" "$(awk -v a="$(rate "$swift_line")" -v b="$(rate "$python_line")" 'BEGIN { printf "%.2f", a / b }')"
  [[ $stage == 2 ]] && printf "%-34s %-24s %-24s %s\n" "stage 2, slice-feature cache" "$(rate "$cached_line")" "$(rate "$python_line")" "$(awk -v a="$(rate "$cached_line")" -v b="$(rate "$python_line")" 'BEGIN { printf "%.2f", a / b }')"
  echo "   bridge: $swift_line"
  [[ $stage == 2 ]] && echo "   cached: $cached_line"
  echo "   python: $python_line"
done
