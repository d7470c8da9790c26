// NormalizationLayers: which tensors of the encoder are normalisation layers — the ones FedBN keeps at each site.
public import FedCTCore

/// Finds the normalisation tensors in a model's flat state, by MONAI's names: ResNet `bn1`, `bn2`, `bn3`,
/// `downsample.1`; DenseNet `norm0`, `norm1`, `norm2`, `norm5` and the transitions' `norm`.
public enum NormalizationLayers {
    /// Whether `name` (e.g. `layer2.0.bn1.weight`, `layer2.0.downsample.1.running_var`,
    /// `features.denseblock1.denselayer1.layers.norm1.weight`) belongs to a normalisation layer.
    public static func contains(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        return parts.contains(where: isNormModule)
            || zip(parts, parts.dropFirst()).contains { $0 == "downsample" && $1 == "1" }
    }

    /// `bn` or `norm` followed by nothing but digits.
    private static func isNormModule(_ part: Substring) -> Bool {
        for prefix in ["bn", "norm"] where part.hasPrefix(prefix) {
            return part.dropFirst(prefix.count).allSatisfy(\.isNumber) && (prefix == "norm" || part.count > prefix.count)
        }
        return false
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
