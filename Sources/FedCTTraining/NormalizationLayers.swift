// NormalizationLayers: which tensors of the encoder are normalisation layers — the ones FedBN keeps at each site.
public import FedCTCore

/// Finds the normalisation tensors (MONAI names: `bn1`, `bn2`, `downsample.1`) in a model's flat state.
public enum NormalizationLayers {
    /// Whether `name` (e.g. `layer2.0.bn1.weight`, `layer2.0.downsample.1.running_var`) belongs to a normalisation layer.
    public static func contains(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        return parts.contains { $0 == "bn1" || $0 == "bn2" }
            || zip(parts, parts.dropFirst()).contains { $0 == "downsample" && $1 == "1" }
    }

    /// The coordinate ranges of the normalisation tensors in a flat state laid out as `layout`.
    public static func ranges(in layout: [TensorLayout]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var offset = 0
        for tensor in layout {
            if contains(tensor.name) { ranges.append(offset..<(offset + tensor.count)) }
            offset += tensor.count
        }
        return ranges
    }
}
