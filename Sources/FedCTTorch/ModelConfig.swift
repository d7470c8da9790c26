// ModelConfig: value types describing the encoder, the time-to-event head, tensors and volume batches.

/// The 3D ResNet encoder: 1 input channel, BasicBlocks, shortcut type B, MONAI parameter names.
public struct EncoderConfig: Sendable, Hashable, Codable {
    /// The normalisation layer used throughout the encoder (always named `bn…`, as in MONAI).
    public enum Norm: String, Sendable, Codable {
        /// BatchNorm3d, with running statistics (part of the model state).
        case batch
        /// GroupNorm with the largest group count ≤ 8 dividing the channel count.
        case group
        /// InstanceNorm3d with affine parameters, no running statistics.
        case instance
    }

    /// ResNet depth: 10, 18 or 34.
    public var depth: Int = 10
    /// Base width w; block planes are [w, 2w, 4w, 8w] and the embedding has 8w features.
    public var width: Int = 16
    /// Stride of the 7×7×7 stem convolution.
    public var stemStride: Int = 2
    /// Normalisation layer kind.
    public var norm: Norm = .group

    public init(depth: Int = 10, width: Int = 16, stemStride: Int = 2, norm: Norm = .group) {
        self.depth = depth
        self.width = width
        self.stemStride = stemStride
        self.norm = norm
    }
}

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
}

/// One tensor of a model's flat state.
public struct TensorInfo: Sendable, Hashable {
    /// Its PyTorch `state_dict` name, e.g. `layer1.0.conv1.weight`.
    public let name: String
    /// Its shape, outermost dimension first.
    public let shape: [Int]
    /// Its element count (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// The shape of a batch of single-channel volumes, laid out [batch, 1, depth, height, width].
public struct VolumeShape: Sendable, Hashable, Codable {
    public var batch: Int
    public var depth: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, depth: Int, height: Int, width: Int) {
        self.batch = batch
        self.depth = depth
        self.height = height
        self.width = width
    }

    /// Floats in the whole batch.
    public var voxelCount: Int { batch * depth * height * width }
}
