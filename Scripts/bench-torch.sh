#!/usr/bin/env bash
# Training-throughput benchmark: volumes/s of full train steps (forward, backward, Adam) of a 3D ResNet-18 (MONAI layout,
# 1 input channel, stem stride 2, BatchNorm, the MOTOR time-to-event head) at batch 1 on 64³ and 128³ inputs, through
# FedCT's libtorch bridge beside the same model, batch, optimiser and thread count in Python PyTorch eager (Debian
# python3-torch, the same libtorch 1.13), in the same run, as a ratio (goal: >= 1). Two measurements:
#  1. paired (the figure): the bridge's C ABI (the release CTorchBridge objects as a shared library) and the eager model
#     in ONE Python process, stepped in turn (Scripts/torch-bench/interleaved.py): drift in the machine's speed, which
#     moved separate runs here by ±30 % between minutes, hits both sides of every pair alike; the median pair ratio is
#     printed with its 95 % bootstrap interval.
#     The process keeps one glibc malloc arena (GLIBC_TUNABLES=glibc.malloc.arena_max=1), as fedct-site and fedctl do
#     from the start of main (Torch.useOneMallocArena), so the bridge's thread allocates as a site's training thread does.
#  2. whole programs: release `fedctl bench-train` (through the Swift wrapper) and tte_resnet18.py as separate
#     processes, alternating BENCH_ROUNDS times (default 5), each side the median of its runs; every run is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-$(nproc)}
sizes=${BENCH_SIZES:-"64 128"}
warmup=${BENCH_WARMUP:-2}
rounds=${BENCH_ROUNDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-torch.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -c "import torch" 2>/dev/null || { echo "needs PyTorch for $python: sudo apt-get install -y python3-torch" >&2; exit 1; }
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedctl >/dev/null
bin=$(swift build -c release --show-bin-path)
gcc -O2 -fPIC -c Scripts/torch-bench/bridge_bench.c -I Sources/CTorchBridge/include -o "$work/bridge_bench.o"
g++ -shared -o "$work/libfctbench.so" "$work/bridge_bench.o" "$bin"/CTorchBridge.build/*.o -ltorch -ltorch_cpu -lc10 -lgloo

steps_for() { if [ "$1" -ge 128 ]; then echo "${BENCH_STEPS_LARGE:-5}"; else echo "${BENCH_STEPS:-10}"; fi; }
pairs_for() { if [ "$1" -ge 128 ]; then echo "${BENCH_PAIRS_LARGE:-30}"; else echo "${BENCH_PAIRS:-40}"; fi; }
# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.4f", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'; }

echo "== ResNet-18 (width 64, BatchNorm, head 8 tasks × 8 pieces × rank 16), batch 1, Adam, $threads threads, $warmup warm-up steps"
echo "   load before: $(uptime)"
echo "-- 1. paired: bridge (on its own thread) and eager stepped in turn in one process with one malloc arena, as a site (median of pairs; ratio = eager seconds / bridge seconds)"
printf "%-6s %-26s %-26s %-30s %s\n" size "FedCT bridge (volumes/s)" "PyTorch eager (volumes/s)" "ratio bridge/eager [95 % CI]" "pairs (bridge faster)"
for size in $sizes; do
  line=$(GLIBC_TUNABLES=glibc.malloc.arena_max=1 "$python" Scripts/torch-bench/interleaved.py "$work/libfctbench.so" tte "$size" "$threads" "$warmup" "$(pairs_for "$size")")
  read -r _ bridge _ eager _ ratio _ low _ high _ pairs _ faster <<<"$line"
  printf "%-6s %-26s %-26s %-30s %s\n" "${size}³" "$bridge" "$eager" "$ratio [$low, $high]" "$pairs ($faster)"
done
echo "-- 2. whole programs: fedctl bench-train and tte_resnet18.py alternating, $rounds runs each (median of runs)"
printf "%-6s %-26s %-26s %s\n" size "FedCT bridge (volumes/s)" "PyTorch eager (volumes/s)" "ratio bridge/python"
for size in $sizes; do
  steps=$(steps_for "$size")
  swift_rates="" python_rates=""
  for _ in $(seq "$rounds"); do
    swift_line=$("$bin/fedctl" bench-train --depth 18 --width 64 --norm batch --size "$size" --batch 1 --optimizer adam \
      --threads "$threads" --warmup "$warmup" --steps "$steps")
    python_line=$("$python" Scripts/torch-bench/tte_resnet18.py "$size" "$threads" "$warmup" "$steps")
    swift_rates+="$(echo "$swift_line" | awk '{print $4}') " python_rates+="$(echo "$python_line" | awk '{print $4}') "
  done
  swift_rate=$(echo "$swift_rates" | tr ' ' '\n' | grep . | median)
  python_rate=$(echo "$python_rates" | tr ' ' '\n' | grep . | median)
  ratio=$(awk -v a="$swift_rate" -v b="$python_rate" 'BEGIN { printf "%.2f", a / b }')
  printf "%-6s %-26s %-26s %s\n" "${size}³" "$swift_rate" "$python_rate" "$ratio"
  echo "   bridge runs (volumes/s): $swift_rates($steps steps each; last: $swift_line)"
  echo "   python runs (volumes/s): $python_rates($steps steps each; last: $python_line)"
done
echo "   load after: $(uptime)"
