#!/usr/bin/env python3
"""MONAI state_dict names and shapes of the encoders FedCT's libtorch bridge builds.

Writes monai_state_dict_reference.json beside this script: for each configuration, the MONAI constructor used, the
parameter names and shapes in named_parameters() order and the floating-point buffers in named_buffers() order
(the bridge's flat-state order; int64 num_batches_tracked counters left out, as the bridge does). The Swift test
FedCTTorchTests.MONAIReferenceTests compares the bridge's tensor list with it.

GroupNorm: MONAI's DenseNet121 passes `norm` to every layer, so densenet121-group is MONAI's own group-norm model.
MONAI's ResNet (1.4.0 and 1.5.0) applies `norm` to the stem only (_make_layer is not given it; its blocks keep
BatchNorm), so there is no MONAI group-norm ResNet to compare with: the Swift test checks that a group-norm ResNet has
the batch-norm ResNet's parameters and no buffers.

Produced with MONAI 1.4.0 (pip install --no-deps monai==1.4.0; 1.5+ needs torch >= 2) on Debian 12's python3-torch 1.13:
    /usr/bin/python3 Tests/Reference/monai_state_dict_reference.py
"""
import json
import os

import monai
import torch
from monai.networks.nets import DenseNet121, ResNet

PIECES_TIMES_RANK = 8 * 4  # the classifier MONAI builds in place of the MOTOR head's projection (head.proj)


def resnet(depth, width, norm):
    block, layers = {10: ("basic", [1, 1, 1, 1]), 18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]),
                     50: ("bottleneck", [3, 4, 6, 3])}[depth]
    inplanes = [width, 2 * width, 4 * width, 8 * width]
    source = (f"ResNet(block={block!r}, layers={layers}, block_inplanes={inplanes}, spatial_dims=3, n_input_channels=1, "
              f"conv1_t_size=7, conv1_t_stride=2, shortcut_type='B', bias_downsample=False, num_classes={PIECES_TIMES_RANK}, "
              f"norm={norm!r})")
    model = ResNet(block=block, layers=layers, block_inplanes=inplanes, spatial_dims=3, n_input_channels=1, conv1_t_size=7,
                   conv1_t_stride=2, shortcut_type="B", bias_downsample=False, num_classes=PIECES_TIMES_RANK, norm=norm)
    return source, model


def densenet(norm):
    source = f"DenseNet121(spatial_dims=3, in_channels=1, out_channels={PIECES_TIMES_RANK}, norm={norm!r})"
    return source, DenseNet121(spatial_dims=3, in_channels=1, out_channels=PIECES_TIMES_RANK, norm=norm)


def describe(source, model, architecture, depth, width, norm):
    return {
        "architecture": architecture, "depth": depth, "width": width, "norm": norm if isinstance(norm, str) else norm[0],
        "monai": source,
        "classifier": "class_layers.out" if architecture == "densenet121" else "fc",
        "parameters": [[name, list(tensor.shape)] for name, tensor in model.named_parameters()],
        "buffers": [[name, list(tensor.shape)] for name, tensor in model.named_buffers() if tensor.is_floating_point()],
    }


def main():
    group = ("group", {"num_groups": 8})
    configurations = {
        "resnet10-w8-batch": describe(*resnet(10, 8, "batch"), "resnet3d", 10, 8, "batch"),
        "resnet18-w64-batch": describe(*resnet(18, 64, "batch"), "resnet3d", 18, 64, "batch"),
        "resnet34-w8-batch": describe(*resnet(34, 8, "batch"), "resnet3d", 34, 8, "batch"),
        "resnet50-w8-batch": describe(*resnet(50, 8, "batch"), "resnet3d", 50, 8, "batch"),
        "densenet121-batch": describe(*densenet("batch"), "densenet121", 121, 64, "batch"),
        "densenet121-group": describe(*densenet(group), "densenet121", 121, 64, group),
    }
    output = {"monai_version": monai.__version__, "torch_version": torch.__version__, "classifier_outputs": PIECES_TIMES_RANK,
              "configurations": configurations}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "monai_state_dict_reference.json")
    with open(path, "w") as file:
        file.write(json.dumps(output, indent=None, separators=(",", ":")).replace('],["', '],\n["') + "\n")
    for name, entry in configurations.items():
        print(f"{name}: {len(entry['parameters'])} parameters, {len(entry['buffers'])} float buffers")


if __name__ == "__main__":
    main()
