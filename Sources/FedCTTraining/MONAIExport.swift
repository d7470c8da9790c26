// MONAIExport: a FedCT model state renamed for MONAI's ResNet / DenseNet121, so that load_state_dict(strict=True) accepts it.
public import FedCTCore

/// FedCT's flat state already uses MONAI's encoder names; only the time-to-event head differs. MONAI's classifier is a
/// Linear layer on the pooled features, which is exactly the MOTOR head's projection `head.proj` (pieces × rank outputs),
/// so the export writes `head.proj.*` as `fc.*` (ResNet) or `class_layers.out.*` (DenseNet121) and leaves out
/// `head.beta` and `head.task_bias`, which MONAI's models have no place for (the full model stays available from
/// `fedctl model fetch`).
public enum MONAIExport {
    /// MONAI's name of the classifier layer for a state whose encoder is a DenseNet (`features.*`) or a ResNet.
    public static func classifier(for layout: [TensorLayout]) -> String {
        layout.contains { $0.name.hasPrefix("features.") } ? "class_layers.out" : "fc"
    }

    /// `state` with the head renamed or left out as described above; the metadata gains `monai_classifier_outputs`.
    public static func state(_ state: ModelState) throws -> ModelState {
        let classifier = classifier(for: state.layout)
        var layout: [TensorLayout] = []
        var values: [Float] = []
        var offset = 0
        var outputs = 0
        for tensor in state.layout {
            defer { offset += tensor.count }
            var name = tensor.name
            if name.hasPrefix("head.proj.") {
                name = classifier + name.dropFirst("head.proj".count)
                outputs = tensor.shape[0]
            } else if name.hasPrefix("head.") {
                continue
            }
            layout.append(TensorLayout(name: name, shape: tensor.shape))
            values.append(contentsOf: state.values[offset..<(offset + tensor.count)])
        }
        guard outputs > 0 else {
            throw FedCTError(.invalidData, "the model has no head.proj.weight, so it is not a FedCT time-to-event model; export the file fedctl model fetch wrote")
        }
        var metadata = state.metadata
        metadata["monai_classifier_outputs"] = String(outputs)
        return try ModelState(layout: layout, values: values, metadata: metadata)
    }
}
