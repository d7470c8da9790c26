#!/usr/bin/env bash
# Noise-free training-step comparison: instructions (callgrind Ir) per train step of bench-torch.sh's model — ResNet-18
# w64, BatchNorm, the MOTOR head, Adam, batch 1 — through FedCT's bridge (its C ABI, driven by Scripts/callgrind/
# bridge_step.c linked with the release CTorchBridge objects: valgrind 3.19 cannot run the Swift executables) beside
# the same step in PyTorch eager (Scripts/torch-bench/tte_resnet18.py), both at 1 thread. Collection is on only for the
# measured steps (client requests from Scripts/callgrind/toggle.c; the Python side calls it through ctypes), so start-up
# and `import torch` are not counted. Prints Ir per step of both and the ratio; slow: callgrind runs OpenBLAS's kernels
# a few hundred times slower than native (≈ 80 min at 64³ on 2 busy cores; both sides run at once).
#   CALLGRIND_SIZE (64)  CALLGRIND_STEPS (2 measured, after 1 warm-up)  CALLGRIND_DIR (a temporary folder; kept)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${CALLGRIND_SIZE:-64}
steps=${CALLGRIND_STEPS:-2}
work=${CALLGRIND_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fedct-callgrind.XXXXXX")}
mkdir -p "$work"
command -v valgrind >/dev/null && [[ -f /usr/include/valgrind/callgrind.h ]] || sudo apt-get install -y valgrind
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "needs PyTorch: sudo apt-get install -y python3-torch" >&2; exit 1; }
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedctl >/dev/null
objects=$(swift build -c release --show-bin-path)/CTorchBridge.build

gcc -O2 -shared -fPIC Scripts/callgrind/toggle.c -o "$work/libcgtoggle.so"
gcc -O2 -c Scripts/callgrind/bridge_step.c -o "$work/bridge_step.o"
gcc -O2 -c Scripts/torch-bench/bridge_bench.c -I Sources/CTorchBridge/include -o "$work/bridge_bench.o"
g++ "$work/bridge_step.o" "$work/bridge_bench.o" "$objects"/*.o -o "$work/bridge_step" -L"$work" -lcgtoggle -Wl,-rpath,"$work" -ltorch -ltorch_cpu -lc10 -lgloo
objcopy --strip-debug "$work/bridge_step"  # valgrind 3.19 cannot read clang's DWARF 5
# The eager model (Scripts/torch-bench/tte_resnet18.py, the one definition), with collection switched on for the measured steps only.
cat > "$work/python_step.py" <<'PY'
import ctypes, sys
import torch
sys.path.insert(0, sys.argv[6])
from tte_resnet18 import training_step
size, threads, warmup, steps = (int(v) for v in sys.argv[1:5])
torch.set_num_threads(threads)
_, step = training_step(size)
toggle = ctypes.CDLL(sys.argv[5])
for _ in range(warmup):
    step()
toggle.cg_start()
for _ in range(steps):
    step()
toggle.cg_stop()
PY

echo "== instructions per train step, ${size}³, batch 1, 1 thread, $steps measured steps after 1 warm-up (callgrind; started $(date -u +%H:%M))"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.bridge" "$work/bridge_step" "$size" 1 1 "$steps" > "$work/bridge.log" 2>&1 &
bridge=$!
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.python" /usr/bin/python3 "$work/python_step.py" "$size" 1 1 "$steps" "$work/libcgtoggle.so" "$PWD/Scripts/torch-bench" > "$work/python.log" 2>&1
wait "$bridge"
per_step() { awk -v n="$steps" '/^totals:/ { printf "%.0f", $2 / n }' "$1"; }
bridge_ir=$(per_step "$work/cg.bridge.1")
python_ir=$(per_step "$work/cg.python.1")
printf "%-28s %-28s %s\n" "FedCT bridge (Ir/step)" "PyTorch eager (Ir/step)" "ratio eager/bridge (>= 1: the bridge does no more work)"
printf "%-28s %-28s %s\n" "$bridge_ir" "$python_ir" "$(awk -v a="$python_ir" -v b="$bridge_ir" 'BEGIN { printf "%.4f", a / b }')"
echo "   profiles: $work/cg.bridge.1, $work/cg.python.1 (callgrind_annotate --inclusive=yes FILE)"
