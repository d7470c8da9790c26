// MEDFORMObjective: MEDFORM's stage 1 (SimCLR on CT slices) as a pretraining objective — its job section and model.
import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

/// MEDFORM (Jung et al. 2025, arXiv 2501.13277), stage 1: a 2D slice ResNet (torchvision's names) trained by SimCLR on
/// each site's axial slices — `medform.slices_per_scan` slices of each scan in a batch, two augmented views each, NT-Xent
/// over the micro-batch's slices. The slice encoder is the objective's own (`encoder.architecture: none`). The loss
/// couples the slices of a batch, so patient-level DP-SGD is refused (site-level DP and secure aggregation work as for
/// every objective). Stage 2 (attention-MIL aligned with clinical data) is not built yet and is refused by name.
public struct MEDFORMObjective: PretrainingObjective {
    public static let name = ObjectiveKind.medform.rawValue
    public var name: String { Self.name }
    /// NT-Xent classifies every view against every other view of the batch: there is no per-example gradient to clip.
    public var supportsPatientLevelDP: Bool { false }
    public var carriesImageTower: Bool { true }

    public init() {}

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {
        let config = try MEDFORMConfig(spec.medform, source: source)
        // Axial slices are the input's x × y planes; the ResNet halves them five times.
        let plane = spec.inputShape.prefix(2).min() ?? 0
        guard plane >= 32 else {
            let field = spec.preprocessing.shape.isEmpty ? "training.volume_size" : "preprocessing.shape"
            throw FedCTError(.invalidConfiguration, "\(source): field '\(field)' gives axial slices of \(plane) voxels across, but MEDFORM's slice ResNet downsamples a slice 32 times; use at least 32")
        }
        guard Int(spec.training.batchSize) * config.slicesPerScan >= 2 else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'medform.slices_per_scan' is \(config.slicesPerScan) with training.batch_size \(spec.training.batchSize): NT-Xent over one slice has no negative pairs; raise either")
        }
    }

    /// Stage 1 has no setup stage: its model depends on the job spec alone.
    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { false }

    public func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)? { nil }

    public func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup {
        throw FedCTError(.protocolViolation, "objective '\(name)' has no setup stage")
    }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig { try MEDFORMConfig(spec.medform, source: "job").objective }

    /// One example per scan (its preprocessed volume; the bridge samples and augments its slices); no targets.
    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe {
        SiteExampleRecipe(trackedCodes: []) { _, _, _ in [:] }
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String { name }
}

extension MEDFORMConfig {
    /// The `medform:` section with its documented defaults for absent fields; errors name the field.
    public init(_ spec: Fedct_V1_MEDFORMSpec, source: String) throws {
        self.init()
        func fail(_ field: String, _ problem: String) -> FedCTError { FedCTError(.invalidConfiguration, "\(source): field 'medform.\(field)' \(problem)") }
        if spec.hasStage && spec.stage != 1 {
            throw fail("stage", spec.stage == 2 ? "is 2 (attention-MIL aligned with clinical data), which this FedCT build does not have yet; run stage 1" : "must be 1 or 2 (got \(spec.stage))")
        }
        if spec.hasSliceEncoder {
            guard let value = SliceEncoder(rawValue: spec.sliceEncoder) else { throw fail("slice_encoder", "must be resnet18 or resnet50 (got '\(spec.sliceEncoder)')") }
            sliceEncoder = value
        }
        func take(_ present: Bool, _ value: Int32, _ field: String, _ range: ClosedRange<Int>, into target: inout Int) throws {
            guard present else { return }
            guard range.contains(Int(value)) else { throw fail(field, "must be between \(range.lowerBound) and \(range.upperBound) (got \(value))") }
            target = Int(value)
        }
        try take(spec.hasSliceEncoderWidth, spec.sliceEncoderWidth, "slice_encoder_width", 1...256, into: &sliceEncoderWidth)
        try take(spec.hasProjectionDim, spec.projectionDim, "projection_dim", 1...4096, into: &projectionDim)
        try take(spec.hasSlicesPerScan, spec.slicesPerScan, "slices_per_scan", 1...1024, into: &slicesPerScan)
        if spec.hasTemperature {
            guard spec.temperature > 0, spec.temperature <= 10 else { throw fail("temperature", "must be in (0, 10] (got \(spec.temperature))") }
            temperature = spec.temperature
        }
        if spec.hasCropMinScale {
            guard spec.cropMinScale > 0, spec.cropMinScale <= 1 else { throw fail("crop_min_scale", "must be in (0, 1] (got \(spec.cropMinScale))") }
            augmentation.cropMinScale = spec.cropMinScale
        }
        if spec.hasJitter {
            guard (0..<1).contains(spec.jitter) else { throw fail("jitter", "must be in [0, 1) (got \(spec.jitter))") }
            augmentation.jitter = spec.jitter
        }
        if spec.hasBlurProbability {
            guard (0...1).contains(spec.blurProbability) else { throw fail("blur_probability", "must be in [0, 1] (got \(spec.blurProbability))") }
            augmentation.blurProbability = spec.blurProbability
        }
        if spec.hasNoiseStd {
            guard spec.noiseStd >= 0, spec.noiseStd.isFinite else { throw fail("noise_std", "must be a finite number ≥ 0 (got \(spec.noiseStd))") }
            augmentation.noiseStd = spec.noiseStd
        }
    }
}
