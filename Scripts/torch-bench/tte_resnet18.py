"""bench-torch.sh's eager side: the bridge's time-to-event ResNet-18 (MONAI layout) in PyTorch eager, and one timed run of it.

Imported by interleaved.py (the same model stepped in turn with the bridge's, in one process); run as a script it prints
`median_step_seconds S volumes_per_second V parameters N torch VERSION` for SIZE THREADS WARMUP STEPS.
"""
import math, os, sys
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_timing import median_step_seconds  # noqa: E402


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


def training_step(size, seed=1):
    """The model, optimiser and random batch of one benchmark, and a function doing one full training step on them."""
    torch.manual_seed(seed)
    model = TTEResNet18()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(1, 1, size, size, size) * 2 - 1
    t = torch.rand(1, 8, 8)
    e = (torch.rand(1, 8, 8) < 0.1).float()

    def step():
        optimizer.zero_grad()
        loss = tte_loss(model(x), t, e)
        loss.backward()
        optimizer.step()
        return loss.item()
    return model, step


if __name__ == "__main__":
    size, threads, warmup, steps = (int(v) for v in sys.argv[1:5])
    torch.set_num_threads(threads)
    model, step_once = training_step(size)
    median = median_step_seconds(step_once, warmup, steps)
    print(f"median_step_seconds {median:.4f} volumes_per_second {1 / median:.4f} parameters {sum(p.numel() for p in model.parameters())} torch {torch.__version__}")
