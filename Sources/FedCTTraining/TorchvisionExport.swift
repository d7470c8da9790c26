// TorchvisionExport: a MEDFORM model's slice encoder with torchvision's ResNet names, for PyTorch users.
public import FedCTCore

/// MEDFORM's slice encoder is stored under `slice_encoder.` with torchvision's ResNet names (`conv1`, `bn1`,
/// `layer{1-4}.{i}.conv{1-3}|bn{1-3}|downsample.{0,1}`, BatchNorm running statistics; no `fc`). The export keeps exactly
/// those tensors without the prefix, so `torchvision.models.resnet18()` / `resnet50()` with a 1-channel `conv1` and
/// `fc = nn.Identity()` loads them with `load_state_dict(strict=True)` (`Tests/Reference/medform_reference.py`); the
/// SimCLR projection head stays in the full model (`fedctl model fetch`).
public enum TorchvisionExport {
    static let prefix = "slice_encoder."

    /// True when `layout` holds a MEDFORM slice encoder.
    public static func applies(to layout: [TensorLayout]) -> Bool { layout.contains { $0.name == prefix + "conv1.weight" } }

    /// The slice encoder of `state` under torchvision's names; the metadata gains `format: torchvision_resnet_medform`.
    public static func state(_ state: ModelState) throws -> ModelState {
        guard applies(to: state.layout) else {
            throw FedCTError(.invalidData, "the model has no slice_encoder.conv1.weight, so it is not a MEDFORM model; export the file fedctl model fetch wrote")
        }
        return try state.tensors(under: prefix, format: "torchvision_resnet_medform")
    }
}
