// JobSpec+YAML: reads a job specification file (job.yaml) into the wire JobSpec, with defaults and validation.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// Parses a job specification: the file's settings, then `applyingDefaults()` for the rest (as for a spec submitted
    /// over the Admin API), then the checks; unknown or ill-typed fields are errors that name the field.
    public init(yaml: YAMLDocument) throws {
        var spec = Fedct_V1_JobSpec()
        try yaml.rejectUnknownKeys(["name", "rounds", "min_sites", "seed", "round_deadline_seconds", "objective", "encoder", "tte", "training",
                                    "strategy", "secure_aggregation", "privacy", "preprocessing", "evaluation", "hlip", "medform"])
        if let value = try yaml.string("name") { spec.name = value }
        if let value = try yaml.string("objective") { spec.objective = value }
        if let value = try yaml.int("rounds") { spec.rounds = Int32(clamping: value) }
        if let value = try yaml.int("min_sites") { spec.minSites = Int32(clamping: value) }
        if let value = try yaml.int("seed") { spec.seed = UInt64(clamping: value) }
        if let value = try yaml.int("round_deadline_seconds") { spec.roundDeadlineSeconds = Int32(clamping: value) }
        if let encoder = try yaml.section("encoder") {
            try encoder.rejectUnknownKeys(["architecture", "depth", "width", "stem_stride", "norm"])
            if let value = try encoder.string("architecture") { spec.encoder.architecture = value }
            if let value = try encoder.int("depth") { spec.encoder.depth = Int32(clamping: value) }
            if let value = try encoder.int("width") { spec.encoder.width = Int32(clamping: value) }
            if let value = try encoder.int("stem_stride") { spec.encoder.stemStride = Int32(clamping: value) }
            if let value = try encoder.string("norm") { spec.encoder.norm = value }
        }
        if let tte = try yaml.section("tte") { try spec.parseTTE(tte) }
        if let hlip = try yaml.section("hlip") { try spec.parseHLIP(hlip) }
        if let medform = try yaml.section("medform") { try spec.parseMEDFORM(medform) }
        if let training = try yaml.section("training") { try spec.parseTraining(training) }
        if let strategy = try yaml.section("strategy") {
            try strategy.rejectUnknownKeys(["name", "server_learning_rate", "beta1", "beta2", "tau", "proximal_mu"])
            if let value = try strategy.string("name") { spec.strategy.name = value }
            if let value = try strategy.double("server_learning_rate") { spec.strategy.serverLearningRate = value }
            if let value = try strategy.double("beta1") { spec.strategy.beta1 = value }
            if let value = try strategy.double("beta2") { spec.strategy.beta2 = value }
            if let value = try strategy.double("tau") { spec.strategy.tau = value }
            if let value = try strategy.double("proximal_mu") { spec.strategy.proximalMu = value }
        }
        if let secure = try yaml.section("secure_aggregation") {
            try secure.rejectUnknownKeys(["enabled", "threshold", "min_cohort", "clip_norm", "modulus_bits", "max_examples_per_site", "step_timeout_seconds",
                                          "sparse_above", "graph_degree", "max_dropout_fraction", "max_corrupt_fraction"])
            if let value = try secure.bool("enabled") { spec.secureAggregation.enabled = value }
            if let value = try secure.int("threshold") { spec.secureAggregation.threshold = Int32(clamping: value) }
            if let value = try secure.int("min_cohort") { spec.secureAggregation.minCohort = Int32(clamping: value) }
            if let value = try secure.double("clip_norm") { spec.secureAggregation.clipNorm = value }
            if let value = try secure.int("modulus_bits") { spec.secureAggregation.modulusBits = Int32(clamping: value) }
            if let value = try secure.int("max_examples_per_site") { spec.secureAggregation.maxExamplesPerSite = Int64(value) }
            if let value = try secure.int("step_timeout_seconds") { spec.secureAggregation.stepTimeoutSeconds = Int32(clamping: value) }
            if let value = try secure.int("sparse_above") { spec.secureAggregation.sparseAbove = Int32(clamping: value) }
            if let value = try secure.int("graph_degree") { spec.secureAggregation.graphDegree = Int32(clamping: value) }
            if let value = try secure.double("max_dropout_fraction") { spec.secureAggregation.maxDropoutFraction = value }
            if let value = try secure.double("max_corrupt_fraction") { spec.secureAggregation.maxCorruptFraction = value }
        }
        if let privacy = try yaml.section("privacy") {
            try privacy.rejectUnknownKeys(["level", "noise_multiplier", "clip_norm", "delta", "target_epsilon", "setup_noise_multiplier"])
            if let value = try privacy.string("level") { spec.privacy.level = value }
            if let value = try privacy.double("noise_multiplier") { spec.privacy.noiseMultiplier = value }
            if let value = try privacy.double("clip_norm") { spec.privacy.clipNorm = value }
            if let value = try privacy.double("delta") { spec.privacy.delta = value }
            if let value = try privacy.double("target_epsilon") { spec.privacy.targetEpsilon = value }
            if let value = try privacy.double("setup_noise_multiplier") { spec.privacy.setupNoiseMultiplier = value }
        }
        if let preprocessing = try yaml.section("preprocessing") { try spec.parsePreprocessing(preprocessing) }
        if let evaluation = try yaml.section("evaluation") { try spec.parseEvaluation(evaluation) }
        spec = spec.applyingDefaults()
        try spec.validate(source: yaml.source)
        self = spec
    }

    /// Checks ranges and consistency; `source` names the file or peer in the error.
    public func validate(source: String) throws {
        func fail(_ field: String, _ problem: String) -> FedCTError {
            FedCTError(.invalidConfiguration, "\(source): field '\(field)' \(problem)")
        }
        guard !name.isEmpty else { throw fail("name", "must not be empty") }
        try validateObjective(fail)
        guard (1...10_000).contains(rounds) else { throw fail("rounds", "must be between 1 and 10000 (got \(rounds))") }
        guard minSites >= 1 else { throw fail("min_sites", "must be at least 1 (got \(minSites))") }
        guard roundDeadlineSeconds >= 1 else { throw fail("round_deadline_seconds", "must be positive (got \(roundDeadlineSeconds))") }
        guard ["resnet3d", "densenet121", "none"].contains(encoder.architecture) else {
            throw fail("encoder.architecture", "'\(encoder.architecture)' is not supported (supported: resnet3d, densenet121, none for an objective with its own image tower)")
        }
        guard encoder.architecture != "resnet3d" || [10, 18, 34, 50].contains(encoder.depth) else {
            throw fail("encoder.depth", "must be 10, 18, 34 or 50 for resnet3d (got \(encoder.depth))")
        }
        guard encoder.architecture != "densenet121" || encoder.width % 2 == 0 else {
            throw fail("encoder.width", "is DenseNet-121's initial feature count and must be even (growth rate = width / 2; MONAI: 64); got \(encoder.width)")
        }
        guard (1...256).contains(encoder.width) else { throw fail("encoder.width", "must be between 1 and 256 (got \(encoder.width))") }
        guard (1...4).contains(encoder.stemStride) else { throw fail("encoder.stem_stride", "must be between 1 and 4 (got \(encoder.stemStride))") }
        guard ["group", "batch", "instance"].contains(encoder.norm) else {
            throw fail("encoder.norm", "must be group, batch or instance (got '\(encoder.norm)')")
        }
        if objectiveKind == .tte { try validateTasks(fail) }
        try validateTraining(fail)
        try validatePreprocessing(fail)
        try validateEvaluation(fail)
        _ = try ServerStrategy(spec: strategy, source: source)
        if secureAggregation.enabled {
            let secure = secureAggregation
            guard secure.modulusBits == 32 else { throw fail("secure_aggregation.modulus_bits", "must be 32 (got \(secure.modulusBits))") }
            guard secure.minCohort >= 2 else { throw fail("secure_aggregation.min_cohort", "must be at least 2: the sum of one site is its update (got \(secure.minCohort))") }
            guard secure.threshold >= 0 else { throw fail("secure_aggregation.threshold", "must not be negative (0 chooses ⌊n/2⌋+1)") }
            guard secure.clipNorm > 0, secure.clipNorm.isFinite else { throw fail("secure_aggregation.clip_norm", "must be a positive number") }
            guard secure.maxExamplesPerSite >= 1 else { throw fail("secure_aggregation.max_examples_per_site", "must be at least 1") }
            guard secure.stepTimeoutSeconds >= 1 else { throw fail("secure_aggregation.step_timeout_seconds", "must be positive") }
            guard secure.sparseAbove >= 3 else { throw fail("secure_aggregation.sparse_above", "must be at least 3 (got \(secure.sparseAbove))") }
            guard secure.graphDegree >= 0, secure.graphDegree % 2 == 0, secure.graphDegree == 0 || secure.graphDegree >= 4 else {
                throw fail("secure_aggregation.graph_degree", "must be 0 (automatic) or an even number of at least 4 (got \(secure.graphDegree))")
            }
            guard (0..<0.5).contains(secure.maxDropoutFraction) else { throw fail("secure_aggregation.max_dropout_fraction", "must be in [0, 0.5)") }
            guard (0..<0.5).contains(secure.maxCorruptFraction) else { throw fail("secure_aggregation.max_corrupt_fraction", "must be in [0, 0.5)") }
            guard minSites >= secure.minCohort else {
                throw fail("min_sites", "(\(minSites)) must be at least secure_aggregation.min_cohort (\(secure.minCohort))")
            }
        }
        guard ["none", "site", "patient"].contains(privacy.level) else {
            throw fail("privacy.level", "must be none, site or patient (got '\(privacy.level)')")
        }
        if privacy.level != "none" {
            guard privacy.noiseMultiplier > 0, privacy.noiseMultiplier.isFinite else { throw fail("privacy.noise_multiplier", "must be positive") }
            guard privacy.clipNorm > 0, privacy.clipNorm.isFinite else { throw fail("privacy.clip_norm", "must be positive") }
            guard privacy.delta > 0, privacy.delta < 1 else { throw fail("privacy.delta", "must be between 0 and 1") }
            guard privacy.targetEpsilon >= 0 else { throw fail("privacy.target_epsilon", "must not be negative") }
        }
        guard privacy.setupNoiseMultiplier >= 0, privacy.setupNoiseMultiplier.isFinite else {
            throw fail("privacy.setup_noise_multiplier", "must be 0 (exact setup counts) or a positive number (got \(privacy.setupNoiseMultiplier))")
        }
        if privacy.level == "site" {
            guard secureAggregation.enabled else {
                throw fail("privacy.level", "site-level DP adds noise shares that only hide a site inside a secure sum; enable secure_aggregation")
            }
        }
        if privacy.level == "patient" {
            guard encoder.norm != "batch" else {
                throw fail("privacy.level", "patient-level DP-SGD needs per-sample gradients; BatchNorm mixes samples: use encoder.norm group or instance")
            }
        }
    }

    // The secure-aggregation helpers below read an unvalidated spec for callers not yet on JobPlan (site agent, experiment).

    /// The per-site fixed-point encoding of a secure round with `keyHolders` sites (U1) and threshold t
    /// (`SecureAggregationPlan.encoding`).
    public func secureEncoding(keyHolders: Int, threshold: Int) throws -> FixedPointEncoding {
        let level = PrivacyPlan.Level(rawValue: privacy.level) ?? .none
        return try SecureAggregationPlan(spec: secureAggregation).encoding(keyHolders: keyHolders, threshold: threshold,
                                                                           privacy: PrivacyPlan(spec: privacy, level: level))
    }

    /// A site's FedAvg weight in a secure round (`SecureAggregationPlan.weight`).
    public func secureWeight(examples: Int) -> Int64 {
        SecureAggregationPlan(spec: secureAggregation).weight(examples: examples, privacy: PrivacyPlan.Level(rawValue: privacy.level) ?? .none)
    }

    /// The secure-aggregation parameters of this job, as the coordinator and every site use them.
    public var secureParameters: SecAggParameters { SecureAggregationPlan(spec: secureAggregation).parameters }
}
