#!/usr/bin/env python3
"""Reference embedding of HLIP's hierarchical-attention image tower, for FedCTTorchTests.HLIPReferenceTests.

An independent PyTorch eager implementation of the image tower FedCT's bridge builds (fct_torch_hlip.cpp) with timm's
VisionTransformer parameter names (patch_embed.proj, cls_token, blocks.{i}.norm1|attn.qkv|attn.proj|norm2|mlp.fc1|
mlp.fc2, norm; LayerNorm eps 1e-6, qkv with bias, MLP ratio 4 with exact GELU, pre-norm blocks, as timm 1.0's Block and
Attention), plus the bias-free projection `proj` to the joint space (outside timm's ViT). The grouping follows the HLIP
authors' visual_encoder.py (github Zch0414/hlip): each block attends within a slice [b·n·d, h·w, c], a scan
[b·n, d·h·w, c] or the study [b, n·d·h·w, c]; CLS copied into each group on a split, averaged over the groups on a
merge; after the last block the tokens merge to the study; final norm, CLS pooling. Positions: the authors' fixed 3D
sin-cos table (MAE's 1D table per axis on dim/3 features, concatenated width, height, depth), added to the patch tokens
only, computed on the input's patch grid.

Weights come from a formula (below; the Swift test applies the same one by tensor name) and are loaded with
load_state_dict(strict=True), so the bridge's names and shapes must be exactly this module's. Writes
hlip_reference.json beside this script: configuration, tensor names and shapes, the input formula and the embedding.

Produced on Debian 12's python3-torch 1.13:
    /usr/bin/python3 Tests/Reference/hlip_reference.py
"""
import json
import math
import os

import numpy as np
import torch
from torch import nn

CONFIG = dict(dim=12, heads=2, patch=[2, 4, 4], pattern=["slice", "study", "scan", "slice"], embed_dim=8,
              studies=2, scans=2, scan_shape=[4, 8, 8])
LEVELS = {"slice": 0, "scan": 1, "study": 2}


def weight_value(name, index):
    """Element `index` of tensor `name`: 1 + 0.1 sin(...) for LayerNorm weights, 0.1 sin(...) otherwise."""
    base = 1.0 if name.endswith(("norm.weight", "norm1.weight", "norm2.weight")) else 0.0
    return base + 0.1 * math.sin(0.37 * index + 0.3 * len(name))


def input_value(index):
    return math.sin(0.05 * index) * math.cos(0.003 * index)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, keep=None):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        if keep is not None:  # padding: keys where keep is False are left out
            scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
        return self.proj((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim)

    def forward(self, x, keep=None):
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv3d(1, dim, kernel_size=patch, stride=patch)


def sincos_1d(dim, positions):
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2))
    angles = np.outer(positions.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sincos_3d(dim, d, h, w):
    grid = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    table = np.concatenate([sincos_1d(dim // 3, grid[2]), sincos_1d(dim // 3, grid[1]), sincos_1d(dim // 3, grid[0])], axis=1)
    return torch.from_numpy(table).float()


class HierarchicalViT(nn.Module):
    def __init__(self, dim, heads, patch, pattern, embed_dim):
        super().__init__()
        self.dim, self.pattern = dim, [LEVELS[p] for p in pattern]
        self.patch_embed = PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in pattern)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.proj = nn.Linear(dim, embed_dim, bias=False)

    @staticmethod
    def groups(level, n, d):
        return [n * d, n, 1][level]

    def regroup(self, x, source, target, n, d):
        """[G, 1 + L, C] at `source` → `target`: split copies CLS, merge averages it."""
        if source == target:
            return x
        g, length, c = x.shape[0], x.shape[1] - 1, x.shape[2]
        cls, tokens = x[:, :1], x[:, 1:]
        before, after = self.groups(source, n, d), self.groups(target, n, d)
        if before < after:
            k = after // before
            cls = cls[:, None].expand(g, k, 1, c)
            return torch.cat([cls, tokens.reshape(g, k, length // k, c)], dim=2).reshape(g * k, 1 + length // k, c)
        k = before // after
        return torch.cat([cls.reshape(g // k, k, c).mean(dim=1, keepdim=True), tokens.reshape(g // k, k * length, c)], dim=1)

    def forward(self, volumes):
        b, n = volumes.shape[:2]
        x = self.patch_embed.proj(volumes.flatten(0, 1))  # [b·n, C, d, h, w]
        d, h, w = x.shape[2:]
        x = x.flatten(2).transpose(1, 2).reshape(b, n, d * h * w, self.dim) + sincos_3d(self.dim, d, h, w)
        level = self.pattern[0]
        x = x.reshape(b * self.groups(level, n, d), -1, self.dim)
        x = torch.cat([self.cls_token.expand(x.shape[0], 1, self.dim), x], dim=1)
        for block, target in zip(self.blocks, self.pattern):
            x = block(self.regroup(x, level, target, n, d))
            level = target
        x = self.norm(self.regroup(x, level, LEVELS["study"], n, d))
        return self.proj(x[:, 0])


def main():
    torch.set_num_threads(1)
    c = CONFIG
    model = HierarchicalViT(c["dim"], c["heads"], c["patch"], c["pattern"], c["embed_dim"]).eval()
    state = {name: torch.tensor([weight_value(name, i) for i in range(t.numel())], dtype=torch.float32).reshape(t.shape)
             for name, t in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    shape = [c["studies"], c["scans"], 1] + c["scan_shape"]
    count = int(np.prod(shape))
    volumes = torch.tensor([input_value(i) for i in range(count)], dtype=torch.float32).reshape(shape)
    with torch.no_grad():
        embedding = model(volumes)
    out = dict(
        source="Tests/Reference/hlip_reference.py (PyTorch %s)" % torch.__version__,
        config=c,
        weights="element i of tensor `name`: (1 if name ends with norm.weight/norm1.weight/norm2.weight else 0) + 0.1 sin(0.37 i + 0.3 len(name))",
        input="volumes %s, element i: sin(0.05 i) cos(0.003 i)" % shape,
        tensors=[dict(name=name, shape=list(t.shape)) for name, t in model.state_dict().items()],
        embedding=[round(float(v), 8) for v in embedding.reshape(-1)],
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hlip_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
