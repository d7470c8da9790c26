#!/usr/bin/env python3
"""Reference values of MEDFORM's two stages, for FedCTTorchTests.MEDFORMReferenceTests.

Stage 1 (key `embedding`): the scan embedding of the slice encoder.

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
from torch.nn import functional as F

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


def stage2_weight_value(name, shape, index):
    """weight_value with a chirp, sin(0.37 i + 0.3 len(name) + 0.001 i i): a plain sinusoid makes a rank-2 matrix, under
    which LayerNorm maps every input to nearly the same output."""
    wave = math.sin(0.37 * index + 0.3 * len(name) + 0.001 * index * index)
    if len(shape) > 1:
        return wave * math.sqrt(4.0 / math.prod(shape[1:]))
    if name.endswith("running_var"):
        return 1.0 + 0.2 * wave
    if name.endswith("weight"):
        return 1.0 + 0.1 * wave
    return 0.1 * wave


def input_value(index):
    return math.sin(0.05 * index) * math.cos(0.003 * index)


class AttentionMIL(nn.Module):
    """Pre-attention MLP (2 x [Linear, LayerNorm, GELU, Dropout 0.1]), gated attention softmax(w (tanh(V h) * sigmoid(U h)))
    over the bag (Dropout 0.25 on both branches), weighted sum."""

    def __init__(self, features, hidden):
        super().__init__()
        self.pre_attention = nn.Sequential(nn.Linear(features, features), nn.LayerNorm(features), nn.GELU(), nn.Dropout(0.1),
                                           nn.Linear(features, features), nn.LayerNorm(features), nn.GELU(), nn.Dropout(0.1))
        self.attention_v = nn.Linear(features, hidden)
        self.attention_u = nn.Linear(features, hidden)
        self.attention_w = nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(0.25)

    def forward(self, bags):
        h = self.pre_attention(bags)
        gated = self.dropout(torch.tanh(self.attention_v(h))) * self.dropout(torch.sigmoid(self.attention_u(h)))
        weights = torch.softmax(self.attention_w(gated).squeeze(-1), dim=1)
        return (h * weights.unsqueeze(-1)).sum(1)


def clinical_encoder(inputs, out):
    def block():
        return nn.Sequential(nn.Linear(inputs, inputs), nn.LayerNorm(inputs), nn.ReLU(), nn.Dropout(0.2))
    return nn.Sequential(block(), block(), nn.Linear(inputs, out))


def filled(module, prefix):
    """Fills `module`'s parameters and floating-point buffers from stage2_weight_value(prefix + name, ...); returns their names and shapes."""
    tensors = [(name, list(t.shape)) for name, t in module.named_parameters()]
    tensors += [(name, list(t.shape)) for name, t in module.named_buffers() if t.is_floating_point()]
    state = {name: torch.tensor([stage2_weight_value(prefix + name, shape, i) for i in range(math.prod(shape))], dtype=torch.float32).reshape(shape)
             for name, shape in tensors}
    module.load_state_dict(state, strict=True)
    module.eval()
    return [dict(name=prefix + name, shape=shape) for name, shape in tensors]


def info_nce(a, b, temperature):
    a, b = F.normalize(a.double(), dim=1), F.normalize(b.double(), dim=1)
    logits = a @ b.t() / temperature
    labels = torch.arange(len(a))
    return 0.5 * F.cross_entropy(logits, labels) + 0.5 * F.cross_entropy(logits.t(), labels)


def stage2():
    scans, clinical, hidden, temperature = 3, 6, 16, 0.01
    slice_encoder = torchvision.models.resnet18()
    slice_encoder.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    slice_encoder.fc = nn.Identity()
    mil, clinical_mlp = AttentionMIL(512, hidden), clinical_encoder(clinical, 512)
    tensors = filled(slice_encoder, "slice_encoder.") + filled(mil, "mil.") + filled(clinical_mlp, "clinical_encoder.")
    shape = [scans, 1, DEPTH, SIZE, SIZE]
    volumes = torch.tensor([input_value(i) for i in range(math.prod(shape))], dtype=torch.float32).reshape(shape)
    vectors = torch.tensor([math.cos(0.7 * i) * 1.5 for i in range(scans * clinical)], dtype=torch.float32).reshape(scans, clinical)
    with torch.no_grad():
        ct = torch.cat([mil(slice_encoder(volumes[b, 0].unsqueeze(1)).unsqueeze(0)) for b in range(scans)])
        clin = clinical_mlp(vectors)
        loss = info_nce(ct, clin, temperature)
    return dict(
        weights="every tensor by its full FedCT name: w = sin(0.37 i + 0.3 len(name) + 0.001 i i); matrices and kernels "
                "w sqrt(4 / prod(s[1:])); running_var 1 + 0.2 w; other weights 1 + 0.1 w; biases and running_mean 0.1 w",
        model="slice_encoder = stage 1's torchvision ResNet-18; mil = AttentionMIL(512, hidden 16), clinical_encoder = MLP 6 -> 6 -> 6 -> 512; eval mode",
        input="volumes %s as stage 1's formula; clinical [3, 6], element i: 1.5 cos(0.7 i)" % shape,
        volume_shape=shape, clinical_features=clinical, attention_hidden=hidden, temperature=temperature,
        tensors=tensors,
        ct_embedding=[float(v) for v in ct.reshape(-1)],
        clinical_embedding=[float(v) for v in clin.reshape(-1)],
        loss=float(loss),
    )


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
        stage2=stage2(),
    )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "medform_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("%d tensors, embedding %s, max |value| %.4f; stage 2 loss %.6f" % (len(tensors), list(embedding.shape), embedding.abs().max().item(), out["stage2"]["loss"]))


if __name__ == "__main__":
    main()
