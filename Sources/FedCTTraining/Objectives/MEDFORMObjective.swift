// MEDFORMObjective: MEDFORM's two stages (SimCLR on CT slices; attention-MIL aligned with clinical data) as a pretraining objective.
import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

/// MEDFORM (Jung et al. 2025, arXiv 2501.13277). Stage 1: a 2D slice ResNet (torchvision's names) trained by SimCLR on
/// each site's axial slices — `medform.slices_per_scan` slices of each scan in a batch, two augmented views each, NT-Xent
/// over the micro-batch's slices. Stage 2: a later job starts from a stage-1 model (`medform.stage1_model_sha256`), pools
/// each scan's slice features by attention-MIL and aligns them with the scan's clinical vector (`medform.clinical_columns`
/// of `clinical.csv`, standardised with consortium means and standard deviations its setup stage derives from secure
/// sums) by symmetric InfoNCE. The slice encoder is the objective's own (`encoder.architecture: none`). Both losses
/// couple the examples of a batch, so patient-level DP-SGD is refused (site-level DP and secure aggregation work as for
/// every objective).
public struct MEDFORMObjective: PretrainingObjective {
    public static let name = ObjectiveKind.medform.rawValue
    public var name: String { Self.name }
    /// NT-Xent classifies every view against every other view of the batch: there is no per-example gradient to clip.
    public var supportsPatientLevelDP: Bool { false }
    public var carriesImageTower: Bool { true }
    /// MEDFORM's paper scores its embeddings by few-shot probes (lung cancer here, `EvaluationReport.fewShotOutcomes`).
    public var fewShotOutcomes: [BinaryOutcome] { EvaluationReport.fewShotOutcomes }
    /// And the four chest findings (`EvaluationReport.fewShotFindings`), labelled from the site's reports.
    public var fewShotFindings: [LanguageImageEvaluation.Finding] {
        LanguageImageEvaluation.chestFindings.filter { EvaluationReport.fewShotFindings.contains($0.name) }
    }

    public init() {}

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {
        // Axial slices are the input's x × y planes; the ResNet halves them five times.
        let plane = spec.inputShape.prefix(2).min() ?? 0
        guard plane >= 32 else {
            let field = spec.preprocessing.shape.isEmpty ? "training.volume_size" : "preprocessing.shape"
            throw FedCTError(.invalidConfiguration, "\(source): field '\(field)' gives axial slices of \(plane) voxels across, but MEDFORM's slice ResNet downsamples a slice 32 times; use at least 32")
        }
        if Self.isStage2(spec) {
            _ = try MEDFORMAlignmentConfig(spec.medform, source: source)
            let contrastive = Int(spec.training.batchSize) * max(1, Int(spec.training.gradientAccumulation))
            guard contrastive >= 2 else {
                throw FedCTError(.invalidConfiguration, "\(source): field 'training.batch_size' is \(spec.training.batchSize): InfoNCE over one scan has no negatives; use at least 2")
            }
            return
        }
        let config = try MEDFORMConfig(spec.medform, source: source)
        guard Int(spec.training.batchSize) * config.slicesPerScan >= 2 else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'medform.slices_per_scan' is \(config.slicesPerScan) with training.batch_size \(spec.training.batchSize): NT-Xent over one slice has no negative pairs; raise either")
        }
    }

    /// Stage 2 derives its clinical standardisation in a setup stage before round 1; stage 1 has none.
    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { Self.isStage2(spec) && spec.medform.clinicalMean.isEmpty }

    public func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)? {
        Self.isStage2(spec) ? ClinicalSetupDerivation(columns: spec.medform.clinicalColumns) : nil
    }

    public func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup {
        guard Self.isStage2(spec) else { throw FedCTError(.protocolViolation, "objective '\(name)' has no setup stage at stage 1") }
        return try ClinicalSiteSetup(columns: spec.medform.clinicalColumns, dataDirectory: dataDirectory)
    }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig {
        Self.isStage2(spec) ? try MEDFORMAlignmentConfig(spec.medform, source: "job").objective : try MEDFORMConfig(spec.medform, source: "job").objective
    }

    /// One example per scan (its preprocessed volume; the bridge samples its slices) with its report when the manifest
    /// names one (the findings' few-shot labels), tracking the few-shot evaluation's outcome codes (lung cancer, ICD10/C34). Stage 1 has no targets; stage 2's
    /// target `clinical` is the scan's standardised clinical vector with its missing indicators (`ClinicalMoments.standardised`).
    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe {
        let tracked = Set(fewShotOutcomes.map(\.code))
        guard Self.isStage2(spec) else { return SiteExampleRecipe(trackedCodes: tracked, readsScanReports: true) { _, _, _ in [:] } }
        let medform = spec.medform
        let columns = medform.clinicalColumns, mean = medform.clinicalMean, std = medform.clinicalStd
        guard mean.count == columns.count, std.count == columns.count else {
            throw FedCTError(.failedPrecondition, "job: medform.clinical_mean and clinical_std are not derived yet; the setup stage runs before round 1")
        }
        return SiteExampleRecipe(trackedCodes: tracked, rowTargets: { directory, manifest in
            let table = try ClinicalTable(directory: directory, columns: columns)
            return { entry in ["clinical": ClinicalMoments.standardised(try table.values(for: entry, manifest: manifest), mean: mean, std: std)] }
        }, readsScanReports: true) { _, _, _ in [:] }
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String {
        guard Self.isStage2(spec) else { return name }
        let medform = spec.medform
        return "\(name)/2:\(medform.clinicalColumns.joined(separator: ",")):\(medform.clinicalMean.map(\.description).joined(separator: ",")):\(medform.clinicalStd.map(\.description).joined(separator: ","))"
    }

    /// Stage 2 starts from the stage-1 model `medform.stage1_model_sha256`: its `slice_encoder.` tensors (BatchNorm
    /// statistics included) replace the seeded ones; the MIL and clinical parts keep the job's seed.
    public func initialModel(for spec: Fedct_V1_JobSpec, fetch: (String) throws -> [UInt8]) throws -> TorchModel {
        let model = try TorchModel(spec: spec)
        guard Self.isStage2(spec) else { return model }
        let sha = spec.medform.stage1ModelSha256
        let field = "field 'medform.stage1_model_sha256'"
        let stage1: ModelState
        do {
            stage1 = try SafeTensors.decode(try fetch(sha), source: "stage-1 model \(sha)")
        } catch let error as FedCTError {
            throw FedCTError(.invalidConfiguration, "job: \(field) names \(sha), which this coordinator cannot read: \(error.message); name a model of a finished stage-1 job (fedctl job status)")
        }
        var source: [String: (shape: [Int], values: ArraySlice<Float>)] = [:]
        var offset = 0
        for tensor in stage1.layout {
            source[tensor.name] = (tensor.shape, stage1.values[offset..<(offset + tensor.count)])
            offset += tensor.count
        }
        var state = try model.state()
        offset = 0
        for tensor in state.layout {
            defer { offset += tensor.count }
            guard tensor.name.hasPrefix("slice_encoder.") else { continue }
            guard let match = source[tensor.name], match.shape == tensor.shape else {
                throw FedCTError(.invalidConfiguration, "job: \(field) names a model whose \(tensor.name) is \(source[tensor.name].map { "\($0.shape)" } ?? "absent"), but this job's slice encoder needs \(tensor.shape); give medform.slice_encoder and slice_encoder_width as the stage-1 job did")
            }
            state.values.replaceSubrange(offset..<(offset + tensor.count), with: match.values)
        }
        try model.importState(state.values)
        return model
    }

    public func startingModels(for spec: Fedct_V1_JobSpec) -> [(field: String, sha256: String)] {
        Self.isStage2(spec) ? [("medform.stage1_model_sha256", spec.medform.stage1ModelSha256)] : []
    }

    /// Whether `spec` is a stage-2 job.
    static func isStage2(_ spec: Fedct_V1_JobSpec) -> Bool { spec.medform.hasStage && spec.medform.stage == 2 }
}

extension MEDFORMConfig {
    /// The `medform:` section with its documented defaults for absent fields; errors name the field.
    public init(_ spec: Fedct_V1_MEDFORMSpec, source: String) throws {
        self.init()
        func fail(_ field: String, _ problem: String) -> FedCTError { FedCTError(.invalidConfiguration, "\(source): field 'medform.\(field)' \(problem)") }
        if spec.hasStage && spec.stage != 1 {
            throw fail("stage", spec.stage == 2 ? "is 2: read it as MEDFORMAlignmentConfig" : "must be 1 or 2 (got \(spec.stage))")
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

extension MEDFORMAlignmentConfig {
    /// The `medform:` section of a stage-2 job with its documented defaults for absent fields; errors name the field.
    public init(_ spec: Fedct_V1_MEDFORMSpec, source: String) throws {
        self.init()
        func fail(_ field: String, _ problem: String) -> FedCTError { FedCTError(.invalidConfiguration, "\(source): field 'medform.\(field)' \(problem)") }
        let stage1 = try MEDFORMConfig(Self.stage1Part(of: spec), source: source)
        sliceEncoder = stage1.sliceEncoder
        sliceEncoderWidth = stage1.sliceEncoderWidth
        guard spec.hasStage1ModelSha256, spec.stage1ModelSha256.count == 64, spec.stage1ModelSha256.allSatisfy(\.isHexDigit) else {
            throw fail("stage1_model_sha256", spec.hasStage1ModelSha256 ? "is '\(spec.stage1ModelSha256)', not a SHA-256 (64 hex digits)"
                : "is required at stage 2: the SHA-256 of the stage-1 job's model to start from (fedctl job status of that job)")
        }
        let columns = spec.clinicalColumns
        guard !columns.isEmpty else { throw fail("clinical_columns", "is required at stage 2: the clinical.csv columns forming each scan's clinical vector") }
        if let bad = columns.first(where: { $0.isEmpty || $0 == "scan_id" }) { throw fail("clinical_columns", "names '\(bad)', which is not a feature column") }
        guard Set(columns).count == columns.count else { throw fail("clinical_columns", "names a column twice") }
        clinicalFeatures = 2 * columns.count
        for (field, values) in [("clinical_mean", spec.clinicalMean), ("clinical_std", spec.clinicalStd)] where !values.isEmpty {
            guard values.count == columns.count, values.allSatisfy(\.isFinite) else {
                throw fail(field, "has \(values.count) values for \(columns.count) clinical columns (the setup stage derives it; leave it out)")
            }
        }
        if spec.clinicalStd.contains(where: { $0 <= 0 }) { throw fail("clinical_std", "must be > 0") }
        if spec.hasAttentionHidden {
            guard (1...4096).contains(Int(spec.attentionHidden)) else { throw fail("attention_hidden", "must be between 1 and 4096 (got \(spec.attentionHidden))") }
            attentionHidden = Int(spec.attentionHidden)
        }
        if spec.hasBagSlices {
            guard (1...4096).contains(Int(spec.bagSlices)) else { throw fail("bag_slices", "must be between 1 and 4096 (got \(spec.bagSlices))") }
            bagSlices = Int(spec.bagSlices)
        }
        if spec.hasTemperature {
            guard spec.temperature > 0, spec.temperature <= 10 else { throw fail("temperature", "must be in (0, 10] (got \(spec.temperature))") }
            temperature = spec.temperature
        }
        if spec.hasFreezeSliceEncoder { freezeSliceEncoder = spec.freezeSliceEncoder }
    }

    /// The slice-encoder fields of a stage-2 section, read as stage 1's (its stage left out).
    private static func stage1Part(of spec: Fedct_V1_MEDFORMSpec) -> Fedct_V1_MEDFORMSpec {
        var part = Fedct_V1_MEDFORMSpec()
        if spec.hasSliceEncoder { part.sliceEncoder = spec.sliceEncoder }
        if spec.hasSliceEncoderWidth { part.sliceEncoderWidth = spec.sliceEncoderWidth }
        return part
    }
}
