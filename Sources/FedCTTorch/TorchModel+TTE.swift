// TorchModel+TTE: the time-to-event objective's model parts in Swift — its head settings, batches and loss.
internal import CTorchBridge

/// The MOTOR time-to-event head: T tasks, P time pieces, rank K.
public struct TTEHeadConfig: Sendable, Hashable, Codable {
    /// Number of tasks T.
    public var tasks: Int
    /// Number of time pieces P.
    public var pieces: Int
    /// Rank K of each piece's representation.
    public var rank: Int = 32
    /// T initial values of `head.task_bias`: log2 of each task's base hazard (nil: all 0).
    public var taskLog2BaseHazard: [Float]?

    public init(tasks: Int, pieces: Int, rank: Int = 32, taskLog2BaseHazard: [Float]? = nil) {
        self.tasks = tasks
        self.pieces = pieces
        self.rank = rank
        self.taskLog2BaseHazard = taskLog2BaseHazard
    }

    /// The bridge's "tte" objective with these settings.
    public var objective: ObjectiveConfig {
        var settings: [String: [Double]] = ["tasks": [Double(tasks)], "pieces": [Double(pieces)], "rank": [Double(rank)]]
        if let taskLog2BaseHazard { settings["task_log2_base_hazard"] = taskLog2BaseHazard.map(Double.init) }
        return ObjectiveConfig(name: "tte", settings: settings, targetShapes: ["time_at_risk": [pieces, tasks], "event": [pieces, tasks]])
    }
}

extension TensorBatch {
    /// A time-to-event batch: volumes [B, 1, D, H, W] and targets [B, P, T] (`time_at_risk`, `event`).
    public static func timeToEvent(volumes: [Float], shape: VolumeShape, timeAtRisk: [Float], events: [Float], head: TTEHeadConfig) -> TensorBatch {
        let targets = [shape.batch, head.pieces, head.tasks]
        return TensorBatch([
            NamedTensor(name: "volumes", shape: [shape.batch, 1, shape.depth, shape.height, shape.width], values: volumes),
            NamedTensor(name: "time_at_risk", shape: targets, values: timeAtRisk),
            NamedTensor(name: "event", shape: targets, values: events),
        ])
    }

    /// A batch of volumes alone [B, 1, D, H, W], for embedding and prediction.
    public static func volumes(_ volumes: [Float], shape: VolumeShape) -> TensorBatch {
        TensorBatch([NamedTensor(name: "volumes", shape: [shape.batch, 1, shape.depth, shape.height, shape.width], values: volumes)])
    }
}

extension TorchModel {
    /// A 3D encoder with the MOTOR time-to-event head.
    public convenience init(encoder: EncoderConfig, head: TTEHeadConfig, seed: UInt64) throws {
        if let bias = head.taskLog2BaseHazard, bias.count != head.tasks {
            throw TorchError("taskLog2BaseHazard has \(bias.count) values for \(head.tasks) tasks")
        }
        try self.init(encoder: encoder, objective: head.objective, seed: seed)
    }

    /// The time-to-event head this model carries, if its objective is "tte".
    public var timeToEventHead: TTEHeadConfig? {
        guard objective.name == "tte", let tasks = objective.settings["tasks"]?.first, let pieces = objective.settings["pieces"]?.first,
              let rank = objective.settings["rank"]?.first
        else { return nil }
        return TTEHeadConfig(tasks: Int(tasks), pieces: Int(pieces), rank: Int(rank), taskLog2BaseHazard: objective.settings["task_log2_base_hazard"]?.map(Float.init))
    }

    /// One optimiser step on a time-to-event batch; returns the batch loss (see `trainStep(_:)`; under DP-SGD the batch may be empty).
    public func trainStep(volumes: [Float], shape: VolumeShape, timeAtRisk: [Float], events: [Float]) throws -> Float {
        if shape.batch == 0 && volumes.isEmpty && timeAtRisk.isEmpty && events.isEmpty { return try trainStep(.empty) }
        return try trainStep(try timeToEventBatch(volumes, shape, timeAtRisk, events))
    }

    /// The loss of a time-to-event batch without updating the model.
    public func evalLoss(volumes: [Float], shape: VolumeShape, timeAtRisk: [Float], events: [Float]) throws -> Float {
        try evalLoss(try timeToEventBatch(volumes, shape, timeAtRisk, events))
    }

    /// Embeddings of a batch of volumes, `shape.batch × embeddingDimension`, row-major.
    public func embed(volumes: [Float], shape: VolumeShape) throws -> [Float] {
        try checkVolumes(volumes, shape)
        return try embed(.volumes(volumes, shape: shape))
    }

    /// The head's log2 hazards of a batch, `shape.batch × pieces × tasks`, row-major.
    public func predictLog2Hazard(volumes: [Float], shape: VolumeShape) throws -> [Float] {
        try checkVolumes(volumes, shape)
        return try predict(.volumes(volumes, shape: shape))
    }

    private func timeToEventBatch(_ volumes: [Float], _ shape: VolumeShape, _ timeAtRisk: [Float], _ events: [Float]) throws -> TensorBatch {
        guard let head = timeToEventHead else { throw TorchError("the model's objective is '\(objective.name)', not time-to-event") }
        try checkVolumes(volumes, shape)
        let targets = shape.batch * head.pieces * head.tasks
        guard timeAtRisk.count == targets, events.count == targets else {
            throw TorchError("targets need \(targets) values (batch \(shape.batch) × \(head.pieces) pieces × \(head.tasks) tasks), got \(timeAtRisk.count) times and \(events.count) events")
        }
        return .timeToEvent(volumes: volumes, shape: shape, timeAtRisk: timeAtRisk, events: events, head: head)
    }

    /// Checks the voxel count and that no dimension is empty.
    private func checkVolumes(_ volumes: [Float], _ shape: VolumeShape) throws {
        guard shape.batch > 0, shape.depth > 0, shape.height > 0, shape.width > 0 else {
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
