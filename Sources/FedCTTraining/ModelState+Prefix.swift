// ModelState+Prefix: the tensors of a model state under one name prefix, renamed without it (an objective's tower export).
public import FedCTCore

extension ModelState {
    /// The tensors whose names start with `prefix`, in order, renamed without it; the metadata gains `format`.
    func tensors(under prefix: String, format: String) throws -> ModelState {
        var layout: [TensorLayout] = []
        var values: [Float] = []
        var offset = 0
        for tensor in self.layout {
            defer { offset += tensor.count }
            guard tensor.name.hasPrefix(prefix) else { continue }
            layout.append(TensorLayout(name: String(tensor.name.dropFirst(prefix.count)), shape: tensor.shape))
            values.append(contentsOf: self.values[offset..<(offset + tensor.count)])
        }
        var metadata = self.metadata
        metadata["format"] = format
        return try ModelState(layout: layout, values: values, metadata: metadata)
    }

    /// The values of the tensors whose names start with `prefix`, by full name (to compare a model's part with another's).
    public func values(under prefix: String) -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        var offset = 0
        for tensor in layout {
            if tensor.name.hasPrefix(prefix) { result[tensor.name] = Array(values[offset..<(offset + tensor.count)]) }
            offset += tensor.count
        }
        return result
    }
}
