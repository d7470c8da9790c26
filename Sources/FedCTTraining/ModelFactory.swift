// ModelFactory: builds the libtorch model a job specifies and converts its state to and from FedCT's model blobs.
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

extension Fedct_V1_JobSpec {
    /// The encoder configuration the job specifies.
    public var encoderConfig: EncoderConfig {
        EncoderConfig(architecture: EncoderConfig.Architecture(rawValue: encoder.architecture) ?? .resnet,
                      depth: Int(encoder.depth), width: Int(encoder.width), stemStride: Int(encoder.stemStride),
                      norm: EncoderConfig.Norm(rawValue: encoder.norm) ?? .group)
    }

    /// The preprocessing pipeline the job specifies (`preprocessing:`, validated by `validate(source:)`).
    public var preprocessingPipeline: Preprocessing {
        let spacing = preprocessing.spacingMm.count == 3 ? (x: preprocessing.spacingMm[0], y: preprocessing.spacingMm[1], z: preprocessing.spacingMm[2]) : nil
        return Preprocessing(shape: inputShape, orientation: AxisCodes(preprocessing.orientation), spacing: spacing,
                             windowLow: Float(preprocessing.windowLowHu), windowHigh: Float(preprocessing.windowHighHu),
                             normalization: Preprocessing.Normalization(rawValue: preprocessing.normalization) ?? .window,
                             padHU: Float(preprocessing.padHu))
    }
}

extension TorchModel {
    /// A freshly initialised model for `spec` — its encoder with its objective's parts — seeded by the job's seed.
    public convenience init(spec: Fedct_V1_JobSpec) throws {
        try self.init(encoder: spec.encoderConfig, objective: PretrainingObjectives.of(spec).modelObjective(for: spec), seed: spec.seed)
    }

    /// The model's tensor layout in FedCT's terms.
    public var layout: [TensorLayout] { tensors.map { TensorLayout(name: $0.name, shape: $0.shape) } }

    /// The model's current state.
    public func state(metadata: [String: String] = [:]) throws -> ModelState {
        try ModelState(layout: layout, values: exportState(), metadata: metadata)
    }

    /// Loads `state`, after checking its layout is this model's (same names and shapes, same order).
    public func load(_ state: ModelState, source: String) throws {
        guard state.layout == layout else {
            let mismatch = zip(state.layout, layout).first { $0 != $1 }
            let detail = mismatch.map { "\($0.0.name) \($0.0.shape) vs expected \($0.1.name) \($0.1.shape)" }
                ?? "\(state.layout.count) tensors vs expected \(layout.count)"
            throw FedCTError(.integrity, "\(source) does not fit the job's model: \(detail)")
        }
        try importState(state.values)
    }
}
