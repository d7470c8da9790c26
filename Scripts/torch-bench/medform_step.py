"""bench-medform.sh's Python side: MEDFORM's training steps in PyTorch eager, the same model, inputs, optimiser and thread
count as `fedctl bench-medform` and medform_bench.c — stage 1: torchvision's ResNet-18 (1-channel stem), SimCLR head to
128, NT-Xent tau 0.07 on two augmented views (the bridge's augmentation, ported) of 16 slices of each scan; stage 2: the
same ResNet-18 frozen on bags of 16 slices, gated attention-MIL, the clinical MLP on 18 features, InfoNCE tau 0.01
(Tests/Reference/medform_reference.py's modules). training_step() is what interleaved.py steps beside the bridge.
BENCH_EAGER_CHANNELS_LAST=1 puts the eager ResNet-18 and its input in channels-last memory order, as the bridge does
(torch.channels_last; the default is PyTorch's own NCHW).
Usage: medform_step.py STAGE SIZE BATCH THREADS WARMUP STEPS (prints the median step's line)
"""
import math, os, sys
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Reference"))
from medform_reference import AttentionMIL, clinical_encoder, info_nce  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_timing import median_step_seconds  # noqa: E402

SLICES, CLINICAL = 16, 18
MEMORY_FORMAT = torch.channels_last if os.environ.get("BENCH_EAGER_CHANNELS_LAST") == "1" else torch.contiguous_format


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


def training_step(stage, size, batch=4):
    """The model and its optimiser on the fixed batch (element i of the volumes sin(0.001 i), of the clinical vectors
    cos(0.7 i)), and a function doing one full training step on them."""
    torch.manual_seed(1)
    count = batch * size ** 3
    volumes = torch.sin(0.001 * torch.arange(count, dtype=torch.float64)).float().reshape(batch, 1, size, size, size)
    clinical = torch.cos(0.7 * torch.arange(batch * CLINICAL, dtype=torch.float64)).float().reshape(batch, CLINICAL)
    encoder = resnet18().to(memory_format=MEMORY_FORMAT)
    if stage == 1:
        head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))
        model = nn.ModuleList([encoder, head]).train()

        def loss():
            slices = torch.cat([volumes[b, 0][torch.randperm(size)[:SLICES]] for b in range(batch)]).unsqueeze(1)
            views = torch.cat([augment(slices), augment(slices)]).contiguous(memory_format=MEMORY_FORMAT)
            z = head(encoder(views))
            return nt_xent(z[: len(slices)], z[len(slices):], 0.07)
    else:
        encoder.eval().requires_grad_(False)
        mil, clinical_mlp = AttentionMIL(512, 128), clinical_encoder(CLINICAL, 512)
        model = nn.ModuleList([mil, clinical_mlp]).train()

        def loss():
            picked = torch.cat([volumes[b, 0][torch.randint(size, (SLICES,))] for b in range(batch)]).unsqueeze(1)
            with torch.no_grad():
                features = encoder(picked.contiguous(memory_format=MEMORY_FORMAT)).view(batch, SLICES, -1)
            return info_nce(mil(features), clinical_mlp(clinical), 0.01)

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0)

    def step():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        return value.item()
    return model, step


if __name__ == "__main__":
    stage, size, batch, threads, warmup, steps = (int(v) for v in sys.argv[1:7])
    torch.set_num_threads(threads)
    model, step = training_step(stage, size, batch)
    median = median_step_seconds(step, warmup, steps)
    print(f"median_step_seconds {median:.4f} scans_per_second {batch / median:.4f} parameters {sum(p.numel() for p in model.parameters())} torch {torch.__version__}")
