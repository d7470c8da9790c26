#!/usr/bin/env bash
# Training-throughput benchmark: volumes/s of full train steps (forward, backward, Adam) of a 3D ResNet-18 (MONAI layout,
# 1 input channel, stem stride 2, BatchNorm, the MOTOR time-to-event head) at batch 1 on 64³ and 128³ inputs, through
# FedCT's libtorch bridge (release fedctl bench-train) beside the same model, batch, optimiser and thread count in Python
# PyTorch eager (Debian python3-torch, the same libtorch 1.13), in the same run; median of N steps after warm-up, as a ratio.
# The two sides alternate BENCH_ROUNDS times (default 7) and each side's figure is the median of its runs, so load from
# other processes on a shared machine biases neither side; every run's figure is printed. Goal: ratio >= 1.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-$(nproc)}
sizes=${BENCH_SIZES:-"64 128"}
warmup=${BENCH_WARMUP:-2}
rounds=${BENCH_ROUNDS:-7}
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-torch.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -c "import torch" 2>/dev/null || { echo "needs PyTorch for $python: sudo apt-get install -y python3-torch" >&2; exit 1; }
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedctl >/dev/null
bin=$(swift build -c release --show-bin-path)

steps_for() { if [ "$1" -ge 128 ]; then echo "${BENCH_STEPS_LARGE:-5}"; else echo "${BENCH_STEPS:-10}"; fi; }

cat > "$work/python_step.py" <<'PY'
import math, statistics, sys, time
import torch
from torch import nn

size, threads, warmup, steps = (int(v) for v in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(1)

class Block(nn.Module):
    """MONAI's ResNetBlock (basic), same module names."""
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv3d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm3d(planes))
    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + (self.downsample(x) if self.downsample is not None else x))

class TTEResNet18(nn.Module):
    """MONAI's ResNet(basic, [2,2,2,2], [64,128,256,512], n_input_channels=1, conv1_t_stride=2, bias_downsample=False,
    feed_forward=False) followed by the MOTOR head, as FedCT's bridge builds it."""
    def __init__(self, tasks=8, pieces=8, rank=16):
        super().__init__()
        self.conv1 = nn.Conv3d(1, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.act = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(3, 2, 1)
        inplanes, layers = 64, []
        for stage, planes in enumerate([64, 128, 256, 512]):
            blocks = [Block(inplanes, planes, 2 if stage > 0 else 1), Block(planes, planes, 1)]
            inplanes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.proj = nn.Linear(512, pieces * rank)
        self.beta = nn.Parameter(torch.randn(tasks, rank) / math.sqrt(rank))
        self.task_bias = nn.Parameter(torch.zeros(tasks))
        self.pieces, self.rank = pieces, rank
    def forward(self, x):
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        h = self.avgpool(x).flatten(1)
        m = self.proj(h).view(h.shape[0], self.pieces, self.rank)
        return m @ self.beta.t() + self.task_bias

def tte_loss(z, t, e):
    log_hazard = z.double() * math.log(2.0)
    return torch.exp(log_hazard + torch.log(t.double())).mean() - (e.double() * log_hazard).mean()

model = TTEResNet18()
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
x = torch.rand(1, 1, size, size, size) * 2 - 1
t = torch.rand(1, 8, 8)
e = (torch.rand(1, 8, 8) < 0.1).float()
seconds = []
for step in range(warmup + steps):
    start = time.perf_counter()
    optimizer.zero_grad()
    loss = tte_loss(model(x), t, e)
    loss.backward()
    optimizer.step()
    if step >= warmup:
        seconds.append(time.perf_counter() - start)
median = statistics.median(seconds)
print(f"median_step_seconds {median:.4f} volumes_per_second {1 / median:.4f} parameters {sum(p.numel() for p in model.parameters())} torch {torch.__version__}")
PY

# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.4f", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'; }

echo "== ResNet-18 (width 64, BatchNorm, head 8 tasks × 8 pieces × rank 16), batch 1, Adam, $threads threads, median after $warmup warm-up steps, median of $rounds alternating runs"
echo "   load before: $(uptime)"
printf "%-6s %-26s %-26s %s\n" size "FedCT bridge (volumes/s)" "PyTorch eager (volumes/s)" "ratio bridge/python"
for size in $sizes; do
  steps=$(steps_for "$size")
  swift_rates="" python_rates=""
  for _ in $(seq "$rounds"); do
    swift_line=$("$bin/fedctl" bench-train --depth 18 --width 64 --norm batch --size "$size" --batch 1 --optimizer adam \
      --threads "$threads" --warmup "$warmup" --steps "$steps")
    python_line=$("$python" "$work/python_step.py" "$size" "$threads" "$warmup" "$steps")
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
