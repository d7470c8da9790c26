#!/usr/bin/env python3
"""Loads a `fedctl model export --format safetensors` file into MONAI's model with load_state_dict(strict=True).

Usage: monai_load_check.py EXPORTED.safetensors ARCHITECTURE DEPTH WIDTH STEM_STRIDE NORM
  ARCHITECTURE resnet3d or densenet121; NORM batch, group or instance (as in the job spec's encoder section).
Builds MONAI's ResNet(..., n_input_channels=1, shortcut_type='B', bias_downsample=False, num_classes=P*K) or
DenseNet121(spatial_dims=3, in_channels=1, out_channels=P*K, init_features=w, growth_rate=w/2), loads the file strictly,
runs one forward pass on a 1×1×32³ volume and prints the output shape. Run by hand (the Swift suite needs no Python):
MONAI 1.4.0 (pip install --no-deps monai==1.4.0) on Debian 12's python3-torch, plus `safetensors` or the reader below.
MONAI's ResNet applies `norm` to its stem only, so a group/instance-norm ResNet cannot load strictly (see Docs/torch-bridge.md).
"""
import json
import struct
import sys

import numpy as np
import torch
from monai.networks.nets import DenseNet121, ResNet


def read_safetensors(path):
    """A minimal safetensors reader (F32 only), so the check does not need the safetensors package."""
    with open(path, "rb") as file:
        header_size = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(header_size))
        data = file.read()
    state = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", f"{name}: {entry['dtype']}"
        start, end = entry["data_offsets"]
        state[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype="<f4").copy()).reshape(entry["shape"])
    return state, header.get("__metadata__", {})


def main():
    path, architecture, depth, width, stem_stride, norm = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]), sys.argv[6]
    state, metadata = read_safetensors(path)
    outputs = int(metadata["monai_classifier_outputs"])
    monai_norm = {"batch": "batch", "group": ("group", {"num_groups": 8}), "instance": ("instance", {"affine": True})}[norm]
    if architecture == "densenet121":
        model = DenseNet121(spatial_dims=3, in_channels=1, out_channels=outputs, init_features=width, growth_rate=width // 2, norm=monai_norm)
    else:
        block, layers = {10: ("basic", [1, 1, 1, 1]), 18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]),
                         50: ("bottleneck", [3, 4, 6, 3])}[depth]
        model = ResNet(block=block, layers=layers, block_inplanes=[width, 2 * width, 4 * width, 8 * width], spatial_dims=3,
                       n_input_channels=1, conv1_t_size=7, conv1_t_stride=stem_stride, shortcut_type="B", bias_downsample=False,
                       num_classes=outputs, norm=monai_norm)
    result = model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 1, 32, 32, 32))
    print(f"{path}: {len(state)} tensors loaded into MONAI {type(model).__name__} with strict=True ({result}); output {tuple(out.shape)}")


if __name__ == "__main__":
    main()
