// TorchModel+MEDFORM: MEDFORM's stage-1 model parts in Swift — the slice ResNet, SimCLR head and views, NT-Xent.
internal import CTorchBridge

/// MEDFORM stage 1 (Jung et al. 2025, arXiv 2501.13277): a 2D ResNet over axial slices with a 1-channel stem and
/// torchvision's parameter names (`slice_encoder.conv1`, `slice_encoder.bn1`, `slice_encoder.layer{1-4}.{i}.…`, no `fc`),
/// SimCLR's projection head (`projection.0`, ReLU, `projection.2`) and the NT-Xent loss between two augmented views of
/// each sampled slice (the bridge's "medform" objective; the model has no shared encoder). A scan's embedding is its
/// slices' pooled features averaged over all its axial slices.
public struct MEDFORMConfig: Sendable, Hashable, Codable {
    /// The slice encoder, as torchvision's `resnet18` / `resnet50` (the paper's).
    public enum SliceEncoder: String, Sendable, Hashable, Codable, CaseIterable {
        case resnet18
        case resnet50

        /// The ResNet depth the bridge builds.
        public var depth: Int { self == .resnet18 ? 18 : 50 }
    }

    /// The slice encoder's depth and base planes (torchvision: 64; smaller only to train small models on CPUs).
    public var sliceEncoder: SliceEncoder = .resnet18
    public var sliceEncoderWidth: Int = 64
    /// Output width of the projection head (Linear(F, F), ReLU, Linear(F, projectionDim)).
    public var projectionDim: Int = 128
    /// NT-Xent temperature τ.
    public var temperature: Double = 0.07
    /// Axial slices sampled from each scan of a training batch (two views each).
    public var slicesPerScan: Int = 16
    /// The views' augmentation.
    public var augmentation = MEDFORMAugmentation()

    public init() {}

    /// Pooled features of a slice (and of a scan's embedding): 8w for ResNet-18, 32w for ResNet-50.
    public var features: Int { Self.features(sliceEncoder, width: sliceEncoderWidth) }

    /// Pooled features of a slice ResNet of `width` base planes.
    public static func features(_ encoder: SliceEncoder, width: Int) -> Int { width * (encoder == .resnet18 ? 8 : 32) }

    /// The bridge's "medform" objective (stage 1) with these settings. Its batches carry `volumes` [1, D, H, W] per example.
    public var objective: ObjectiveConfig {
        let settings: [String: Double] = [
            "stage": 1, "slice_encoder_depth": Double(sliceEncoder.depth), "slice_encoder_width": Double(sliceEncoderWidth),
            "projection_dim": Double(projectionDim), "temperature": temperature, "slices_per_scan": Double(slicesPerScan),
            "crop_min_scale": augmentation.cropMinScale, "jitter": augmentation.jitter, "blur_probability": augmentation.blurProbability,
            "noise_std": augmentation.noiseStd,
        ]
        return ObjectiveConfig(name: "medform", settings: settings.mapValues { [$0] })
    }
}

/// SimCLR's random view of a CT slice, as the bridge draws it (each of a slice's two views independently): a random
/// resized crop (area from [cropMinScale, 1], aspect ratio log-uniform in [3/4, 4/3]) mirrored left–right with
/// probability ½; with probability 0.8 a contrast factor from [1 − jitter, 1 + jitter] and a brightness shift from
/// [−jitter, jitter] standard deviations; a Gaussian blur (σ from [0.1, 2] px) with probability `blurProbability`;
/// Gaussian noise with a standard deviation from [0, noiseStd].
public struct MEDFORMAugmentation: Sendable, Hashable, Codable {
    public var cropMinScale: Double = 0.08
    public var jitter: Double = 0.4
    public var blurProbability: Double = 0.5
    public var noiseStd: Double = 0.05

    public init(cropMinScale: Double = 0.08, jitter: Double = 0.4, blurProbability: Double = 0.5, noiseStd: Double = 0.05) {
        self.cropMinScale = cropMinScale
        self.jitter = jitter
        self.blurProbability = blurProbability
        self.noiseStd = noiseStd
    }

    /// One view of each slice of `slices` [count, height, width], drawn from a generator seeded with `seed`, by the
    /// bridge's own augmentation code.
    public func view(of slices: [Float], count: Int, height: Int, width: Int, seed: UInt64) throws -> [Float] {
        guard count > 0, slices.count == count * height * width else {
            throw TorchError("augmentation needs \(count) slices of \(height)×\(width) pixels, got \(slices.count) floats")
        }
        var settings = fct_torch_medform_augmentation(crop_min_scale: cropMinScale, jitter: jitter, blur_probability: blurProbability, noise_std: noiseStd)
        var out = [Float](repeating: 0, count: slices.count)
        try out.withUnsafeMutableBufferPointer { destination in
            try TorchError.check { fct_torch_medform_augment(slices, Int64(count), Int64(height), Int64(width), &settings, seed, destination.baseAddress, $0) }
        }
        return out
    }
}

/// SimCLR's NT-Xent loss, computed by the bridge's training code.
public enum NTXentLoss {
    /// The mean cross-entropy of each of the 2n views picking its partner among the other 2n − 1 by cosine similarity / τ;
    /// `first` and `second` are [pairs, dimension], row i of each one slice's views.
    public static func compute(first: [Float], second: [Float], pairs: Int, dimension: Int, temperature: Double) throws -> Double {
        guard pairs > 0, dimension > 0, first.count == pairs * dimension, second.count == first.count else {
            throw TorchError("NT-Xent needs two views of \(pairs) pairs × \(dimension) values, got \(first.count) and \(second.count)")
        }
        var loss = 0.0
        try TorchError.check { fct_torch_medform_nt_xent(first, second, Int64(pairs), Int64(dimension), temperature, &loss, $0) }
        return loss
    }
}
