#!/usr/bin/env python3
"""Reference scan embedding of MEDFORM's slice encoder, for FedCTTorchTests.MEDFORMReferenceTests.

torchvision's own ResNet-18 (torchvision.models.resnet18) with a 1-channel first convolution
(nn.Conv2d(1, 64, 7, stride 2, padding 3, bias=False)) and fc = nn.Identity(): the module a PyTorch user loads
`fedctl model export`'s output into. Its state_dict is filled from a formula (below; the Swift test applies the same one
to the bridge's `slice_encoder.` tensors by name and shape) and loaded with load_state_dict(strict=True), so the bridge's
names and shapes must be exactly torchvision's (the int64 num_batches_tracked counters are left out, as FedCT's
safetensors export does; BatchNorm fills them in under strict=True). In evaluation mode it embeds each axial slice
(depth index) of a committed input and averages the slices' pooled features per scan, as the bridge's MEDFORM
embedding does. Writes medform_reference.json beside this script: configuration, tensor names and shapes in
named_parameters() then named_buffers() order (floating-point buffers only), the formulas and the embedding.

Produced on Debian 12's python3-torch 1.13 and python3-torchvision 0.14.1 (apt-get install python3-torchvision):
    /usr/bin/python3 Tests/Reference/medform_reference.py
"""
import json
import math
import os

import torch
import torchvision
from torch import nn

SCANS, DEPTH, SIZE = 2, 3, 32


def weight_value(name, shape, index):
    """Element `index` of tensor `name` with `shape`."""
    wave = math.sin(0.37 * index + 0.3 * len(name))
    if len(shape) > 1:  # convolution: He-scaled by its fan-in
        fan_in = 1
        for extent in shape[1:]:
            fan_in *= extent
        return wave * math.sqrt(4.0 / fan_in)
    if name.endswith("running_var"):
        return 1.0 + 0.2 * wave
    if name.endswith("weight"):  # BatchNorm scale
        return 1.0 + 0.1 * wave
    return 0.1 * wave  # BatchNorm bias and running mean


def input_value(index):
    return math.sin(0.05 * index) * math.cos(0.003 * index)


def main():
    model = torchvision.models.resnet18()
    model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    model.fc = nn.Identity()
    tensors = [(name, list(t.shape)) for name, t in model.named_parameters()]
    tensors += [(name, list(t.shape)) for name, t in model.named_buffers() if t.is_floating_point()]
    state = {}
    for name, shape in tensors:
        count = math.prod(shape)
        state[name] = torch.tensor([weight_value(name, shape, i) for i in range(count)], dtype=torch.float32).reshape(shape)
    model.load_state_dict(state, strict=True)
    model.eval()
    shape = [SCANS, 1, DEPTH, SIZE, SIZE]
    volumes = torch.tensor([input_value(i) for i in range(math.prod(shape))], dtype=torch.float32).reshape(shape)
    with torch.no_grad():
        embedding = torch.stack([model(volumes[b, 0].unsqueeze(1)).mean(0) for b in range(SCANS)])
    out = dict(
        source="Tests/Reference/medform_reference.py (PyTorch %s, torchvision %s)" % (torch.__version__, torchvision.__version__),
        model="torchvision.models.resnet18() with conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False), fc = nn.Identity(); eval mode",
        weights="element i of tensor `name` with shape s: w = sin(0.37 i + 0.3 len(name)); convolutions (len(s) > 1) "
                "w sqrt(4 / prod(s[1:])); running_var 1 + 0.2 w; other weights 1 + 0.1 w; biases and running_mean 0.1 w",
        input="volumes %s, element i: sin(0.05 i) cos(0.003 i); embedding: mean over the depth axis of the pooled features" % shape,
        volume_shape=shape,
        tensors=[dict(name=name, shape=shape) for name, shape in tensors],
        embedding=[float(v) for v in embedding.reshape(-1)],
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "medform_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("%d tensors, embedding %s, max |value| %.4f" % (len(tensors), list(embedding.shape), embedding.abs().max().item()))


if __name__ == "__main__":
    main()
