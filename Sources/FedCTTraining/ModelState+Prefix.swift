// ModelState+Prefix: the tensors of a model state under one name prefix, renamed without it (an objective's tower export).
import FedCTCore

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
}
