// HLIPObjective: language–image pretraining on whole studies (HLIP) as a pretraining objective — its job section and model.
import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch
import Foundation

/// HLIP (Zhao et al. 2025, arXiv 2505.21862): a hierarchical-attention 3D ViT over each study's scans and a byte-level
/// text transformer over its report, trained by a contrastive loss (SigLIP by default, or CLIP). The image tower is the
/// objective's own (`encoder.architecture: none`), sized by the `hlip:` section. The loss couples the examples of a
/// batch, so patient-level DP-SGD is refused (site-level DP and secure aggregation work as for every objective).
public struct HLIPObjective: PretrainingObjective {
    public static let name = ObjectiveKind.hlip.rawValue
    public var name: String { Self.name }
    /// A contrastive loss compares every study with every report of the batch: there is no per-example gradient to clip.
    public var supportsPatientLevelDP: Bool { false }
    public var carriesImageTower: Bool { true }

    public init() {}

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {
        let config = try HLIPConfig(spec.hlip, source: source)
        let size = Int(spec.training.volumeSize)
        for (axis, patch) in zip(["depth", "height", "width"], config.patch) where size % patch != 0 {
            throw FedCTError(.invalidConfiguration, "\(source): field 'hlip.patch' has \(patch) voxels along the \(axis), which does not divide training.volume_size \(size)")
        }
        _ = try contrastiveBatch(of: spec, source: source)
    }

    /// The studies each contrastive loss compares, and whether features are cached across a step's micro-batches to
    /// reach it: `hlip.contrastive_batch` when given, which must be the step's batch (training.batch_size ×
    /// gradient_accumulation: cached, open_clip's accum_freq) or one micro-batch (training.batch_size: each its own
    /// loss); the step's batch when absent. A contrastive batch of one study has no negatives and is refused.
    public func contrastiveBatch(of spec: Fedct_V1_JobSpec, source: String) throws -> (studies: Int, cached: Bool) {
        let micro = max(1, Int(spec.training.batchSize))
        let step = micro * spec.training.accumulationOrDefault
        let studies = spec.hlip.hasContrastiveBatch ? Int(spec.hlip.contrastiveBatch) : step
        guard studies == step || studies == micro else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'hlip.contrastive_batch' is \(studies), but must be \(step) (training.batch_size \(micro) × gradient_accumulation \(spec.training.accumulationOrDefault): features cached across the step's micro-batches) or \(micro) (training.batch_size: each micro-batch its own loss)")
        }
        guard studies >= 2 else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'hlip.contrastive_batch' is \(studies): a contrastive loss over one study has no negative pairs; raise training.batch_size or training.gradient_accumulation")
        }
        return (studies, studies == step && step > micro)
    }

    /// HLIP has no setup stage: its tokenizer is fixed (bytes) and its model depends on the job spec alone.
    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { false }

    public func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)? { nil }

    public func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup {
        throw FedCTError(.protocolViolation, "objective '\(name)' has no setup stage")
    }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig {
        var config = try HLIPConfig(spec.hlip, source: "job")
        let batch = try contrastiveBatch(of: spec, source: "job")
        config.cachesFeatures = batch.cached
        config.initialLogitBias = HLIPConfig.priorLogitBias(studies: batch.studies)
        return config.objective
    }

    /// One example per study (its scans and report; the bridge batch samples or repeats the scans to
    /// `hlip.scans_per_study` and tokenizes the report); no targets from the records.
    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe {
        SiteExampleRecipe(trackedCodes: [], unit: .study) { _, _, _ in [:] }
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String { "\(name)|\(spec.hlip.contextLength)" }
}

extension HLIPConfig {
    /// The `hlip:` section with its documented defaults for absent fields (empty lists for `patch` and `pattern`); errors name the field.
    public init(_ spec: Fedct_V1_HLIPSpec, source: String) throws {
        self.init()
        func fail(_ field: String, _ problem: String) -> FedCTError { FedCTError(.invalidConfiguration, "\(source): field 'hlip.\(field)' \(problem)") }
        func take(_ present: Bool, _ value: Int32, _ field: String, into target: inout Int) throws {
            guard present else { return }
            guard value > 0 else { throw fail(field, "must be positive (got \(value))") }
            target = Int(value)
        }
        try take(spec.hasDim, spec.dim, "dim", into: &dim)
        try take(spec.hasDepth, spec.depth, "depth", into: &depth)
        try take(spec.hasHeads, spec.heads, "heads", into: &heads)
        if spec.hasMaxScans {
            guard spec.maxScans >= 0 else { throw fail("max_scans", "must not be negative (got \(spec.maxScans))") }
            maxScans = Int(spec.maxScans)
        }
        try take(spec.hasTextWidth, spec.textWidth, "text_width", into: &textWidth)
        try take(spec.hasTextDepth, spec.textDepth, "text_depth", into: &textDepth)
        try take(spec.hasTextHeads, spec.textHeads, "text_heads", into: &textHeads)
        try take(spec.hasContextLength, spec.contextLength, "context_length", into: &contextLength)
        try take(spec.hasEmbedDim, spec.embedDim, "embed_dim", into: &embedDim)
        try take(spec.hasScansPerStudy, spec.scansPerStudy, "scans_per_study", into: &scansPerStudy)
        if !spec.patch.isEmpty {
            guard spec.patch.count == 3, spec.patch.allSatisfy({ $0 >= 1 }) else { throw fail("patch", "must be three positive voxel counts (depth, height, width)") }
            patch = spec.patch.map(Int.init)
        }
        if spec.pattern.isEmpty {
            // The authors' defaults: slice attention with scan attention every third block for one scan per study,
            // scan attention with study attention every third block for several.
            pattern = (0..<depth).map { $0 % 3 == 2 ? (scansPerStudy > 1 ? .study : .scan) : (scansPerStudy > 1 ? .scan : .slice) }
        } else {
            pattern = try spec.pattern.map { name in
                guard let group = HLIPGroup(name: name) else { throw fail("pattern", "has '\(name)'; each entry must be slice, scan or study") }
                return group
            }
        }
        guard pattern.count == depth else { throw fail("pattern", "has \(pattern.count) entries for \(depth) blocks (hlip.depth)") }
        guard dim % 6 == 0, dim % heads == 0 else { throw fail("dim", "must be divisible by 6 (the 3D sin-cos positions) and by hlip.heads (got \(dim))") }
        guard textWidth % textHeads == 0 else { throw fail("text_width", "must be divisible by hlip.text_heads (got \(textWidth))") }
        guard maxScans == 0 || maxScans >= scansPerStudy else {
            throw fail("max_scans", "(\(maxScans) scan-index positions) must be 0 or at least hlip.scans_per_study (\(scansPerStudy))")
        }
        guard contextLength >= 2 else { throw fail("context_length", "must be at least 2 (CLS and end)") }
        guard (0..<1).contains(spec.dropPath) else { throw fail("drop_path", "must be in [0, 1) (got \(spec.dropPath))") }
        dropPath = spec.dropPath
        reportSections = try spec.reportSections.map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard ReportText.isHeading(trimmed) else {
                throw fail("report_sections", "has '\(name)'; each entry must be a report heading of letters and spaces, e.g. impression or findings")
            }
            return trimmed
        }
        if spec.hasLoss {
            guard let value = Loss(rawValue: spec.loss) else { throw fail("loss", "must be siglip or clip (got '\(spec.loss)')") }
            loss = value
        }
        if spec.hasTextTower && spec.textTower != "bytes" {
            guard spec.textTower == "bert" else { throw fail("text_tower", "must be bytes or bert (got '\(spec.textTower)')") }
            guard spec.vocabSize > 0 else { throw fail("vocab_size", "is required with text_tower bert: the checkpoint's vocab_size") }
            guard spec.vocabSha256.count == 64, spec.vocabSha256.allSatisfy(\.isHexDigit) else {
                throw fail("vocab_sha256", "is required with text_tower bert: the SHA-256 (64 hex digits) of the published vocab.txt every site holds")
            }
            var tower = BERTTextTower(vocabularySize: Int(spec.vocabSize), padID: 0,
                                      intermediateSize: spec.hasTextIntermediate ? Int(spec.textIntermediate) : 4 * textWidth,
                                      positions: spec.hasTextPositions ? Int(spec.textPositions) : 512)
            guard tower.intermediateSize > 0 else { throw fail("text_intermediate", "must be positive (got \(tower.intermediateSize))") }
            guard tower.positions >= contextLength else { throw fail("text_positions", "(\(tower.positions)) must be at least hlip.context_length (\(contextLength))") }
            tower.locked = spec.hasTextLocked ? spec.textLocked : true
            tower.unlockedLayers = Int(spec.textUnlockedLayers)
            guard (0...textDepth).contains(tower.unlockedLayers) else {
                throw fail("text_unlocked_layers", "must be between 0 and hlip.text_depth (\(textDepth)); got \(tower.unlockedLayers)")
            }
            bert = tower
        }
    }
}
