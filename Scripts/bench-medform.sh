#!/usr/bin/env bash
# MEDFORM training-step benchmark: scans/s of full train steps through FedCT's libtorch bridge (release fedctl
# bench-medform) beside the same model, inputs, optimiser and thread count in Python PyTorch eager (Debian python3-torch,
# the same libtorch 1.13; torchvision's ResNet-18 and Tests/Reference/medform_reference.py's modules), in the same run:
#   stage 1 — ResNet-18 (1-channel stem, width 64), SimCLR head to 128, NT-Xent τ 0.07 on two augmented views (random
#             resized crop with flip, contrast/brightness jitter, Gaussian blur, noise: the bridge's augmentation, ported)
#             of 16 slices of each of 4 scans of 64³;
#   stage 2 — the same ResNet-18 frozen (evaluation mode, no gradients) on bags of 16 slices, gated attention-MIL (128
#             units), clinical MLP on 18 features, InfoNCE τ 0.01; and the bridge once more with its slice-feature cache.
# Median of N steps after warm-up, as a ratio; the sides alternate BENCH_ROUNDS times (default 2) and each keeps its best
# median, so load from other processes biases neither. Goal: the bridge no slower than Python (ratio >= 1).
# BENCH_CONFIGURATION=debug times the debug fedctl instead (indicative only: its C++ glue is unoptimised).
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

cat > "$work/python_step.py" <<'PY'
import math, statistics, sys, time
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, sys.argv[7])
from medform_reference import AttentionMIL, clinical_encoder, info_nce

stage, size, batch, threads, warmup, steps = (int(v) for v in sys.argv[1:7])
torch.set_num_threads(threads)
torch.manual_seed(1)
SLICES, CLINICAL = 16, 18


def resnet18():
    model = torchvision.models.resnet18()
    model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    model.fc = nn.Identity()
    return model


def augment(slices, crop_min_scale=0.08, jitter=0.4, blur_probability=0.5, noise_std=0.05):
    """The bridge's view (fct_torch_medform.cpp, augment): crop + flip by one affine resampling, jitter, blur, noise."""
    with torch.no_grad():
        n, _, h, w = slices.shape
        uniform = lambda low, high: torch.empty(n).uniform_(low, high)
        happens = lambda p: (uniform(0, 1) < p).float()
        scale, ratio = uniform(crop_min_scale, 1.0), uniform(math.log(3 / 4), math.log(4 / 3)).exp()
        crop_w, crop_h = (scale * ratio).sqrt(), (scale / ratio).sqrt()
        fits = (crop_w <= 1) & (crop_h <= 1)
        crop_w, crop_h = torch.where(fits, crop_w, torch.ones(n)), torch.where(fits, crop_h, torch.ones(n))
        cx, cy = (2 * uniform(0, 1) - 1) * (1 - crop_w), (2 * uniform(0, 1) - 1) * (1 - crop_h)
        mirror, zero = 1 - 2 * happens(0.5), torch.zeros(n)
        theta = torch.stack([torch.stack([crop_w * mirror, zero, cx], 1), torch.stack([zero, crop_h, cy], 1)], 1)
        view = F.grid_sample(slices, F.affine_grid(theta, [n, 1, h, w], align_corners=False), mode="bilinear", padding_mode="border", align_corners=False)
        apply = happens(0.8).view(n, 1, 1, 1)
        mean, spread = view.mean((1, 2, 3), keepdim=True), view.std((1, 2, 3), unbiased=False, keepdim=True)
        contrast, brightness = uniform(1 - jitter, 1 + jitter).view(n, 1, 1, 1), uniform(-jitter, jitter).view(n, 1, 1, 1)
        view = apply * (mean + contrast * (view - mean) + brightness * spread) + (1 - apply) * view
        radius = max(1, min(round(0.05 * min(h, w)), min(h, w) - 1))
        sigma = torch.where(happens(blur_probability) > 0, uniform(0.1, 2.0), torch.full((n,), 1e-3))
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
        kernel = (-offsets.pow(2).unsqueeze(0) / (2 * sigma.pow(2).unsqueeze(1))).exp()
        kernel = kernel / kernel.sum(1, keepdim=True)
        rows = F.conv2d(F.pad(view.view(1, n, h, w), (radius, radius, 0, 0), mode="reflect"), kernel.view(n, 1, 1, -1), groups=n)
        view = F.conv2d(F.pad(rows, (0, 0, radius, radius), mode="reflect"), kernel.view(n, 1, -1, 1), groups=n).view(n, 1, h, w)
        return (view + torch.randn(n, 1, h, w) * uniform(0, noise_std).view(n, 1, 1, 1)).contiguous()


def nt_xent(first, second, temperature):
    n = len(first)
    z = F.normalize(torch.cat([first, second]), dim=1)
    logits = (z @ z.t() / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(logits, torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]))


count = batch * size ** 3
volumes = torch.sin(0.001 * torch.arange(count, dtype=torch.float64)).float().reshape(batch, 1, size, size, size)
clinical = torch.cos(0.7 * torch.arange(batch * CLINICAL, dtype=torch.float64)).float().reshape(batch, CLINICAL)
encoder = resnet18()
if stage == 1:
    head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))
    model = nn.ModuleList([encoder, head]).train()

    def loss():
        slices = torch.cat([volumes[b, 0][torch.randperm(size)[:SLICES]] for b in range(batch)]).unsqueeze(1)
        views = torch.cat([augment(slices), augment(slices)])
        z = head(encoder(views))
        return nt_xent(z[: len(slices)], z[len(slices):], 0.07)
else:
    encoder.eval().requires_grad_(False)
    mil, clinical_mlp = AttentionMIL(512, 128), clinical_encoder(CLINICAL, 512)
    model = nn.ModuleList([mil, clinical_mlp]).train()

    def loss():
        picked = torch.cat([volumes[b, 0][torch.randint(size, (SLICES,))] for b in range(batch)]).unsqueeze(1)
        with torch.no_grad():
            features = encoder(picked).view(batch, SLICES, -1)
        return info_nce(mil(features), clinical_mlp(clinical), 0.01)

optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0)
seconds = []
for step in range(warmup + steps):
    start = time.perf_counter()
    optimizer.zero_grad()
    loss().backward()
    optimizer.step()
    if step >= warmup:
        seconds.append(time.perf_counter() - start)
median = statistics.median(seconds)
print(f"median_step_seconds {median:.4f} scans_per_second {batch / median:.4f} parameters {sum(p.numel() for p in model.parameters())} torch {torch.__version__}")
PY

# The line with the higher scans/s (field 4) of two result lines.
best() { if [ -z "$1" ] || awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(y[4] > x[4]) }'; then echo "$2"; else echo "$1"; fi; }
rate() { echo "$1" | awk '{print $4}'; }

echo "== MEDFORM (ResNet-18 width 64; stage 1 SimCLR on 16 slices × 2 views per scan, stage 2 attention-MIL on bags of 16 + clinical MLP), batch $batch scans of ${size}³, AdamW, $threads threads, $configuration fedctl, median of $steps after $warmup warm-up steps, best of $rounds alternating runs"
printf "%-34s %-24s %-24s %s\n" "step" "FedCT bridge (scans/s)" "PyTorch eager (scans/s)" "ratio bridge/python"
for stage in 1 2; do
  swift_line="" python_line="" cached_line=""
  for _ in $(seq "$rounds"); do
    swift_line=$(best "$swift_line" "$("$bin/fedctl" bench-medform --stage "$stage" --size "$size" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$steps")")
    python_line=$(best "$python_line" "$("$python" "$work/python_step.py" "$stage" "$size" "$batch" "$threads" "$warmup" "$steps" "$PWD/Tests/Reference")")
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
