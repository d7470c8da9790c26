// TimmExport: an HLIP model's image tower with timm's ViT names (and its joint-space projection), for PyTorch users.
public import FedCTCore

/// HLIP's image tower is stored under `visual.` with timm's VisionTransformer names (`patch_embed.proj`, `cls_token`,
/// `blocks.{i}.norm1|attn.qkv|attn.proj|norm2|mlp.fc1|mlp.fc2`, `norm`) plus `proj`, the bias-free projection to the
/// joint space. The export keeps exactly those tensors without the prefix, so a ViT with HLIP's hierarchical blocks
/// (`Tests/Reference/hlip_reference.py`) loads them with `load_state_dict(strict=True)`; the text tower and the logit
/// scale and bias stay in the full model (`fedctl model fetch`).
public enum TimmExport {
    static let prefix = "visual."

    /// True when `layout` holds an HLIP image tower.
    public static func applies(to layout: [TensorLayout]) -> Bool { layout.contains { $0.name == prefix + "patch_embed.proj.weight" } }

    /// The image tower of `state` under timm's names; the metadata gains `format: timm_vit_hlip`.
    public static func state(_ state: ModelState) throws -> ModelState {
        guard applies(to: state.layout) else {
            throw FedCTError(.invalidData, "the model has no visual.patch_embed.proj.weight, so it is not an HLIP model; export the file fedctl model fetch wrote")
        }
        return try state.tensors(under: prefix, format: "timm_vit_hlip")
    }
}
