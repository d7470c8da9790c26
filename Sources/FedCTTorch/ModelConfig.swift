// ModelConfig: value types describing the encoder, tensors, volume batches and the optimiser.

/// The 3D encoder: 1 input channel, MONAI parameter names (a ResNet with shortcut type B, or DenseNet-121).
public struct EncoderConfig: Sendable, Hashable, Codable {
    /// The encoder family; the raw values are the job spec's `encoder.architecture`.
    public enum Architecture: String, Sendable, Codable, CaseIterable {
        /// MONAI's `ResNet`: depth 10/18/34 (basic blocks) or 50 (bottleneck blocks).
        case resnet = "resnet3d"
        /// MONAI's `DenseNet121`: init_features = width, growth rate width/2, bn_size 4, blocks 6/12/24/16.
        case densenet121
        /// No shared encoder: the objective carries its own image tower (HLIP's hierarchical ViT); `depth`, `width`,
        /// `stemStride` and `norm` are then unused.
        case objectiveTower = "none"
    }

    /// The normalisation layer used throughout the encoder (named as in MONAI: `bn…` in a ResNet, `norm…` in a DenseNet).
    public enum Norm: String, Sendable, Codable {
        /// BatchNorm3d, with running statistics (part of the model state).
        case batch
        /// GroupNorm with the largest group count ≤ 8 dividing the channel count.
        case group
        /// InstanceNorm3d with affine parameters, no running statistics.
        case instance
    }

    /// The encoder family.
    public var architecture: Architecture = .resnet
    /// ResNet depth: 10, 18, 34 or 50 (ignored by DenseNet-121).
    public var depth: Int = 10
    /// ResNet: base width w; block planes are [w, 2w, 4w, 8w] and the embedding has 8w features (32w at depth 50).
    /// DenseNet-121: initial features (even; 64 in MONAI), growth rate w/2; the embedding has 16w features.
    public var width: Int = 16
    /// Stride of the 7×7×7 stem convolution.
    public var stemStride: Int = 2
    /// Normalisation layer kind.
    public var norm: Norm = .group

    public init(architecture: Architecture = .resnet, depth: Int = 10, width: Int = 16, stemStride: Int = 2, norm: Norm = .group) {
        self.architecture = architecture
        self.depth = depth
        self.width = width
        self.stemStride = stemStride
        self.norm = norm
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

/// The local optimiser; the raw values are the job spec's `training.optimizer`.
public enum Optimizer: String, Sendable, Hashable, Codable, CaseIterable {
    /// Adam with the weight decay added to the gradient (L2), as `torch.optim.Adam`.
    case adam
    /// Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`.
    case adamw
    /// SGD with momentum 0.9, as `torch.optim.SGD(momentum=0.9)`.
    case sgd
}
