// TorchModel: owns one libtorch model handle — an encoder plus an objective's parts — and its optimizer.
internal import CTorchBridge

/// A 3D encoder (ResNet or DenseNet-121) with a pretraining objective's parts on it (its heads and loss, chosen by
/// `ObjectiveConfig.name` in the bridge's registry), and its optimiser. Batches are named tensors (`TensorBatch`) whose
/// names the objective defines.
///
/// Not `Sendable`: a model is used by one task at a time (a site trains one round at a time).
public final class TorchModel {
    private let handle: OpaquePointer
    public let encoder: EncoderConfig
    public let objective: ObjectiveConfig
    /// The flat state's tensors, in order: parameters, then floating-point buffers.
    public let tensors: [TensorInfo]
    /// Floats in the flat state.
    public let parameterCount: Int
    /// Features of an embedding.
    public let embeddingDimension: Int
    /// Floats per example of `predict`.
    public let outputSize: Int
    /// False when the objective's loss couples the examples of a batch (contrastive losses): DP-SGD cannot clip per example.
    public let hasPerExampleLoss: Bool
    /// This process's rank and the group's size while it trains data-parallel (`setProcessGroup`), nil alone.
    public internal(set) var processGroup: (rank: Int, size: Int)?

    /// The bridge handle, for the wrappers in this module.
    var bridgeHandle: OpaquePointer { handle }

    /// The objectives the bridge was built with, by name.
    public static var bridgeObjectives: [String] { String(cString: fct_torch_objective_names()).split(separator: ",").map(String.init) }

    public init(encoder: EncoderConfig, objective: ObjectiveConfig, seed: UInt64) throws {
        let norm: fct_torch_norm =
            switch encoder.norm {
            case .batch: FCT_TORCH_NORM_BATCH
            case .group: FCT_TORCH_NORM_GROUP
            case .instance: FCT_TORCH_NORM_INSTANCE
            }
        let architecture: fct_torch_architecture =
            switch encoder.architecture {
            case .resnet: FCT_TORCH_ARCH_RESNET
            case .densenet121: FCT_TORCH_ARCH_DENSENET121
            case .objectiveTower: FCT_TORCH_ARCH_NONE
            }
        let settings = objective.settings.sorted { $0.key < $1.key }.map { NamedTensor(name: $0.key, shape: [$0.value.count], values: $0.value.map(Float.init)) }
        var created: OpaquePointer?
        try NamedTensor.withBridged(settings) { bridged, count in
            try objective.name.withCString { name in
                var config = fct_torch_model_config(
                    architecture: architecture, depth: Int32(encoder.depth), width: Int32(encoder.width), stem_stride: Int32(encoder.stemStride), norm: norm,
                    objective: name, settings: bridged, setting_count: count, seed: seed)
                try TorchError.check { fct_torch_model_create(&config, &created, $0) }
            }
        }
        guard let created else { throw TorchError("the torch bridge returned no model") }
        handle = created
        self.encoder = encoder
        self.objective = objective
        tensors = (0..<fct_torch_model_tensor_count(created)).map { index in
            var name: UnsafePointer<CChar>?
            var rank: Int32 = 0
            var shape: UnsafePointer<Int64>?
            _ = fct_torch_model_tensor_info(created, index, &name, &rank, &shape, nil)  // index is in range
            return TensorInfo(name: String(cString: name!), shape: (0..<Int(rank)).map { Int(shape![$0]) })
        }
        parameterCount = Int(fct_torch_model_state_size(created))
        embeddingDimension = Int(fct_torch_model_embedding_dim(created))
        outputSize = Int(fct_torch_model_output_size(created))
        hasPerExampleLoss = fct_torch_model_per_example_loss(created) != 0
    }

    deinit { fct_torch_model_free(handle) }

    /// The flat state (see `tensors` for the layout).
    public func exportState() throws -> [Float] {
        var state = [Float](repeating: 0, count: parameterCount)
        try state.withUnsafeMutableBufferPointer { buffer in
            try TorchError.check { fct_torch_model_export_state(handle, buffer.baseAddress, Int64(buffer.count), $0) }
        }
        return state
    }

    /// Replaces the state with `flat`, which must have exactly `parameterCount` values.
    public func importState(_ flat: [Float]) throws {
        guard flat.count == parameterCount else {
            throw TorchError("model state needs \(parameterCount) values, got \(flat.count)")
        }
        try flat.withUnsafeBufferPointer { buffer in
            try TorchError.check { fct_torch_model_import_state(handle, buffer.baseAddress, Int64(buffer.count), $0) }
        }
    }

    /// Starts a fresh optimiser (at the start of each round): `kind` with moment decay rates `betas` and denominator
    /// `epsilon` (Adam/AdamW); SGD takes `betas.0` as its momentum.
    public func resetOptimizer(_ kind: Optimizer = .adamw, learningRate: Double, weightDecay: Double, betas: (Double, Double) = (0.9, 0.999),
                               epsilon: Double = 1e-8) throws {
        let bridged: fct_torch_optimizer =
            switch kind {
            case .adamw: FCT_TORCH_OPTIMIZER_ADAMW
            case .adam: FCT_TORCH_OPTIMIZER_ADAM
            case .sgd: FCT_TORCH_OPTIMIZER_SGD
            }
        try TorchError.check { fct_torch_model_reset_optimizer(handle, bridged, learningRate, weightDecay, betas.0, betas.1, epsilon, $0) }
    }

    /// Sets the optimiser's learning rate for the following steps, keeping its moment estimates (for a schedule).
    public func setLearningRate(_ learningRate: Double) throws {
        try TorchError.check { fct_torch_model_set_learning_rate(handle, learningRate, $0) }
    }

    /// Gradient accumulation: each following (non-DP) `trainStep` runs its batch as micro-batches of `size` examples,
    /// one forward and backward each, and sums their share-weighted gradients before one optimiser step; nil runs the
    /// whole batch at once. Without BatchNorm the step equals the whole batch's.
    public func setMicroBatchSize(_ size: Int?) throws {
        try TorchError.check { fct_torch_model_set_micro_batch_size(handle, Int64(size ?? 0), $0) }
    }

    /// Feature cache across micro-batches (open_clip's `accum_freq`) for an objective whose loss is computed from
    /// per-example features (HLIP's contrastive loss): each following (non-DP) `trainStep` with a micro-batch size
    /// computes every micro-batch's features without a graph, then recomputes each with one and takes the loss of the
    /// whole batch against the others' cached features, so the step's batch is one contrastive batch in the memory of a
    /// micro-batch. Throws `.invalidArgument` for an objective without per-example features.
    public func setFeatureCache(_ enabled: Bool) throws {
        try TorchError.check { fct_torch_model_set_feature_cache(handle, enabled ? 1 : 0, $0) }
    }

    /// FedProx: anchors a proximal term μ/2·‖w − w₀‖² at the current parameters (call after loading the
    /// round's global model); μ = 0 turns it off.
    public func setProximal(mu: Double) throws {
        try TorchError.check { fct_torch_model_set_proximal(handle, mu, $0) }
    }

    /// DP-SGD (patient-level differential privacy) for the following `trainStep`s: per-sample gradients, each clipped
    /// to L2 norm ≤ `clipNorm`, summed, plus Gaussian noise of standard deviation `noiseMultiplier · clipNorm` per
    /// coordinate, divided by `expectedBatchSize` (the mean size of the Poisson-sampled batches), then the FedProx
    /// gradient (unclipped) and the optimiser step. `seed` seeds the noise. `clipNorm` 0 is the same as `disableDPSGD()`.
    ///
    /// Throws `.invalidArgument` for a BatchNorm encoder (BatchNorm mixes the samples of a batch, so per-sample
    /// gradients do not exist; use `EncoderConfig.Norm.group` or `.instance`) and for an objective without a per-example
    /// loss (`hasPerExampleLoss` false).
    public func setDPSGD(clipNorm: Double, noiseMultiplier: Double, expectedBatchSize: Double, seed: UInt64) throws {
        try TorchError.check { fct_torch_model_set_dp_sgd(handle, clipNorm, noiseMultiplier, expectedBatchSize, seed, $0) }
    }

    /// Turns DP-SGD off: `trainStep` goes back to one batched gradient.
    public func disableDPSGD() {
        // Cannot fail: clip norm 0 only clears the setting.
        try? TorchError.check { fct_torch_model_set_dp_sgd(handle, 0, 0, 0, 0, $0) }
    }

    /// One optimiser step on a batch of the objective's named inputs and targets; returns the batch loss.
    ///
    /// Under DP-SGD (`setDPSGD`) the step is DP-SGD's and returns the mean per-sample loss; the batch may then be
    /// empty (`TensorBatch.empty`), which is a noise-only step returning NaN.
    public func trainStep(_ batch: TensorBatch) throws -> Float {
        var loss: Float = 0
        try NamedTensor.withBridged(batch.tensors) { tensors, count in
            try TorchError.check { fct_torch_model_train_step(handle, tensors, count, &loss, $0) }
        }
        return loss
    }

    /// The loss of a batch without updating the model.
    public func evalLoss(_ batch: TensorBatch) throws -> Float {
        var loss: Float = 0
        try NamedTensor.withBridged(batch.tensors) { tensors, count in
            try TorchError.check { fct_torch_model_eval_loss(handle, tensors, count, &loss, $0) }
        }
        return loss
    }

    /// Embeddings of a batch's inputs, `batch.examples × embeddingDimension`, row-major.
    public func embed(_ batch: TensorBatch) throws -> [Float] {
        try infer(batch, width: embeddingDimension, fct_torch_model_embed)
    }

    /// The objective's outputs for a batch's inputs, `batch.examples × outputSize`, row-major.
    public func predict(_ batch: TensorBatch) throws -> [Float] {
        try infer(batch, width: outputSize, fct_torch_model_predict)
    }

    private typealias InferFunction = (OpaquePointer?, UnsafePointer<fct_torch_tensor>?, Int32, UnsafeMutablePointer<Float>?, Int64,
                                       UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

    /// Runs an evaluation-mode function that writes `width` floats per example.
    private func infer(_ batch: TensorBatch, width: Int, _ function: InferFunction) throws -> [Float] {
        guard batch.examples > 0 else { throw TorchError("an inference batch needs at least one example") }
        var out = [Float](repeating: 0, count: batch.examples * width)
        try NamedTensor.withBridged(batch.tensors) { tensors, count in
            try out.withUnsafeMutableBufferPointer { output in
                try TorchError.check { function(handle, tensors, count, output.baseAddress, Int64(output.count), $0) }
            }
        }
        return out
    }
}
