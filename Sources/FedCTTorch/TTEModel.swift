// TTEModel: owns one libtorch model handle — encoder plus time-to-event head — and its optimizer.
internal import CTorchBridge

/// A 3D encoder (ResNet or DenseNet-121) with the MOTOR time-to-event head, and its optimiser.
///
/// Not `Sendable`: a model is used by one task at a time (a site trains one round at a time).
public final class TTEModel {
    private let handle: OpaquePointer
    public let encoder: EncoderConfig
    public let head: TTEHeadConfig
    /// The flat state's tensors, in order: parameters, then floating-point buffers.
    public let tensors: [TensorInfo]
    /// Floats in the flat state.
    public let parameterCount: Int
    /// Features of an embedding.
    public let embeddingDimension: Int

    public init(encoder: EncoderConfig, head: TTEHeadConfig, seed: UInt64) throws {
        if let bias = head.taskLog2BaseHazard, bias.count != head.tasks {
            throw TorchError("taskLog2BaseHazard has \(bias.count) values for \(head.tasks) tasks")
        }
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
            }
        var created: OpaquePointer?
        try (head.taskLog2BaseHazard ?? []).withUnsafeBufferPointer { bias in
            var config = fct_torch_model_config(
                architecture: architecture, depth: Int32(encoder.depth), width: Int32(encoder.width), stem_stride: Int32(encoder.stemStride), norm: norm,
                tasks: Int32(head.tasks), pieces: Int32(head.pieces), rank: Int32(head.rank),
                task_log2_base_hazard: head.taskLog2BaseHazard == nil ? nil : bias.baseAddress, seed: seed)
            try TorchError.check { fct_torch_model_create(&config, &created, $0) }
        }
        guard let created else { throw TorchError("the torch bridge returned no model") }
        handle = created
        self.encoder = encoder
        self.head = head
        tensors = (0..<fct_torch_model_tensor_count(created)).map { index in
            var name: UnsafePointer<CChar>?
            var rank: Int32 = 0
            var shape: UnsafePointer<Int64>?
            _ = fct_torch_model_tensor_info(created, index, &name, &rank, &shape, nil)  // index is in range
            return TensorInfo(name: String(cString: name!), shape: (0..<Int(rank)).map { Int(shape![$0]) })
        }
        parameterCount = Int(fct_torch_model_state_size(created))
        embeddingDimension = Int(fct_torch_model_embedding_dim(created))
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

    /// FedProx: anchors a proximal term μ/2·‖w − w₀‖² at the current parameters (call after loading the
    /// round's global model); μ = 0 turns it off.
    public func setProximal(mu: Double) throws {
        try TorchError.check { fct_torch_model_set_proximal(handle, mu, $0) }
    }

    /// DP-SGD (patient-level differential privacy) for the following `trainStep`s: per-sample gradients, each clipped
    /// to L2 norm ≤ `clipNorm`, summed, plus Gaussian noise of standard deviation `noiseMultiplier · clipNorm` per
    /// coordinate, divided by `expectedBatchSize` (the mean size of the Poisson-sampled batches), then the FedProx
    /// gradient (unclipped) and the AdamW step. `seed` seeds the noise. `clipNorm` 0 is the same as `disableDPSGD()`.
    ///
    /// Throws `.invalidArgument` for a BatchNorm encoder (BatchNorm mixes the samples of a batch, so per-sample
    /// gradients do not exist): use `EncoderConfig.Norm.group` or `.instance`.
    public func setDPSGD(clipNorm: Double, noiseMultiplier: Double, expectedBatchSize: Double, seed: UInt64) throws {
        try TorchError.check { fct_torch_model_set_dp_sgd(handle, clipNorm, noiseMultiplier, expectedBatchSize, seed, $0) }
    }

    /// Turns DP-SGD off: `trainStep` goes back to one batched gradient.
    public func disableDPSGD() {
        // Cannot fail: clip norm 0 only clears the setting.
        try? TorchError.check { fct_torch_model_set_dp_sgd(handle, 0, 0, 0, 0, $0) }
    }

    /// One optimiser step on a batch; returns the batch loss.
    ///
    /// Under DP-SGD (`setDPSGD`) the step is DP-SGD's and returns the mean per-sample loss; the batch may then be
    /// empty (`shape.batch` 0, no volumes or targets), which is a noise-only step returning NaN.
    public func trainStep(volumes: [Float], shape: VolumeShape, timeAtRisk: [Float], events: [Float]) throws -> Float {
        try step(volumes, shape, timeAtRisk, events, allowingEmpty: true, fct_torch_model_train_step)
    }

    /// The loss of a batch without updating the model.
    public func evalLoss(volumes: [Float], shape: VolumeShape, timeAtRisk: [Float], events: [Float]) throws -> Float {
        try step(volumes, shape, timeAtRisk, events, allowingEmpty: false, fct_torch_model_eval_loss)
    }

    /// Embeddings of a batch, `shape.batch × embeddingDimension`, row-major.
    public func embed(volumes: [Float], shape: VolumeShape) throws -> [Float] {
        try infer(volumes, shape, outputs: embeddingDimension, fct_torch_model_embed)
    }

    /// The head's log2 hazards of a batch, `shape.batch × pieces × tasks`, row-major.
    public func predictLog2Hazard(volumes: [Float], shape: VolumeShape) throws -> [Float] {
        try infer(volumes, shape, outputs: head.pieces * head.tasks, fct_torch_model_predict)
    }

    private typealias InferFunction = (OpaquePointer?, UnsafePointer<Float>?, Int64, Int64, Int64, Int64, UnsafeMutablePointer<Float>?,
                                       UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

    /// Runs an evaluation-mode function that writes `outputs` floats per volume.
    private func infer(_ volumes: [Float], _ shape: VolumeShape, outputs: Int, _ function: InferFunction) throws -> [Float] {
        try checkVolumes(volumes, shape)
        var out = [Float](repeating: 0, count: shape.batch * outputs)
        try volumes.withUnsafeBufferPointer { input in
            try out.withUnsafeMutableBufferPointer { output in
                try TorchError.check {
                    function(handle, input.baseAddress, Int64(shape.batch), Int64(shape.depth), Int64(shape.height), Int64(shape.width),
                             output.baseAddress, $0)
                }
            }
        }
        return out
    }

    private typealias StepFunction = (OpaquePointer?, UnsafePointer<Float>?, Int64, Int64, Int64, Int64, UnsafePointer<Float>?,
                                      UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

    private func step(_ volumes: [Float], _ shape: VolumeShape, _ timeAtRisk: [Float], _ events: [Float], allowingEmpty: Bool,
                      _ function: StepFunction) throws -> Float {
        try checkVolumes(volumes, shape, allowingEmpty: allowingEmpty)
        let targets = shape.batch * head.pieces * head.tasks
        guard timeAtRisk.count == targets, events.count == targets else {
            throw TorchError("targets need \(targets) values (batch \(shape.batch) × \(head.pieces) pieces × \(head.tasks) tasks), got \(timeAtRisk.count) times and \(events.count) events")
        }
        var loss: Float = 0
        try volumes.withUnsafeBufferPointer { input in
            try timeAtRisk.withUnsafeBufferPointer { time in
                try events.withUnsafeBufferPointer { event in
                    try TorchError.check {
                        function(handle, input.baseAddress, Int64(shape.batch), Int64(shape.depth), Int64(shape.height), Int64(shape.width),
                                 time.baseAddress, event.baseAddress, &loss, $0)
                    }
                }
            }
        }
        return loss
    }

    /// Checks the voxel count; `allowingEmpty` lets a batch of 0 volumes through (the bridge decides whether it may be).
    private func checkVolumes(_ volumes: [Float], _ shape: VolumeShape, allowingEmpty: Bool = false) throws {
        guard shape.batch > 0 || (allowingEmpty && shape.batch == 0), shape.depth > 0, shape.height > 0, shape.width > 0 else {
            throw TorchError("volume batch shape \(shape) has an empty dimension")
        }
        guard volumes.count == shape.voxelCount else {
            throw TorchError("volume batch needs \(shape.voxelCount) voxels (\(shape.batch)×1×\(shape.depth)×\(shape.height)×\(shape.width)), got \(volumes.count)")
        }
    }
}

/// The piecewise-exponential time-to-event loss, computed by the bridge.
public enum TTELoss {
    /// mean(2^z · t) − mean(δ · z · ln 2) over [batch, pieces, tasks].
    public static func compute(log2Hazard: [Float], timeAtRisk: [Float], events: [Float], batch: Int, pieces: Int, tasks: Int) throws -> Double {
        let count = batch * pieces * tasks
        guard count > 0, log2Hazard.count == count, timeAtRisk.count == count, events.count == count else {
            throw TorchError("TTE loss needs \(count) values per input (batch \(batch) × \(pieces) pieces × \(tasks) tasks), got \(log2Hazard.count), \(timeAtRisk.count), \(events.count)")
        }
        var loss = 0.0
        try TorchError.check { fct_torch_tte_loss(log2Hazard, timeAtRisk, events, Int64(batch), Int64(pieces), Int64(tasks), &loss, $0) }
        return loss
    }
}
