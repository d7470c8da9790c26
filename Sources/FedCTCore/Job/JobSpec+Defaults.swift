// JobSpec+Defaults: the documented default of every job setting, applied in one place to job.yaml and to Admin API submissions.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// A job with every setting at its documented default (see Docs/coordinator-guide.md, "Job spec fields").
    public static var defaults: Fedct_V1_JobSpec { Fedct_V1_JobSpec().applyingDefaults() }

    /// This spec with each absent setting (a proto3 `optional` field without presence) at its documented default; a
    /// present field keeps its value, an explicit zero or empty string included. A TTE job that does not derive its
    /// tasks and lists none gets the default tasks (DEATH, PE, PH) and piece edges.
    ///
    /// Applied when a job enters the coordinator — parsed from job.yaml, or submitted over the Admin API — never to a
    /// stored spec: stored specs were completed at submission, and one stored before a field existed reads it as the
    /// proto zero it was written with (Docs/protocol.md, "Field presence").
    public func applyingDefaults() -> Fedct_V1_JobSpec {
        var spec = self
        if !spec.hasName { spec.name = "tte-pretraining" }
        if !spec.hasRounds { spec.rounds = 5 }
        if !spec.hasMinSites { spec.minSites = 2 }
        if !spec.hasSeed { spec.seed = 1 }
        if !spec.hasRoundDeadlineSeconds { spec.roundDeadlineSeconds = 1800 }
        if !spec.hasObjective { spec.objective = ObjectiveKind.tte.rawValue }
        spec.encoder.applyDefaults()
        if spec.objective == ObjectiveKind.tte.rawValue { spec.tte.applyDefaults() }
        spec.training.applyDefaults()
        spec.preprocessing.applyDefaults()
        spec.strategy.applyDefaults()
        spec.secureAggregation.applyDefaults()
        spec.privacy.applyDefaults()
        spec.evaluation.applyDefaults()
        return spec
    }
}

extension Fedct_V1_EncoderSpec {
    mutating func applyDefaults() {
        if !hasArchitecture { architecture = "resnet3d" }
        if !hasDepth { depth = 10 }
        if !hasWidth { width = 8 }
        if !hasStemStride { stemStride = 2 }
        if !hasNorm { norm = "group" }
    }
}

extension Fedct_V1_TTESpec {
    mutating func applyDefaults() {
        if !deriveTasks && taskCodes.isEmpty { taskCodes = ["DEATH", "PE", "PH"] }
        if !deriveTasks && pieceEdgesDays.isEmpty { pieceEdgesDays = [30, 90, 180, 365, 730, 1095, 1460, 1825] }
        if !hasRank { rank = 16 }
        if !hasMaxTasks { maxTasks = 8192 }
        if !hasPieces { pieces = 8 }
        if !hasMinPatientsPerCode { minPatientsPerCode = 10 }
    }
}

extension Fedct_V1_TrainingSpec {
    mutating func applyDefaults() {
        if !hasLocalEpochs { localEpochs = 1 }
        if !hasBatchSize { batchSize = 4 }
        if !hasLearningRate { learningRate = 1e-3 }
        if !hasWeightDecay { weightDecay = 1e-4 }
        if !hasVolumeSize { volumeSize = 32 }
        if !hasOptimizer { optimizer = "adamw" }
        if !hasLrSchedule { lrSchedule = "constant" }
        if !hasGradientAccumulation { gradientAccumulation = 1 }
    }
}

extension Fedct_V1_PreprocessingSpec {
    mutating func applyDefaults() {
        if !hasOrientation { orientation = "RAS" }
        if !hasWindowLowHu { windowLowHu = -1000 }
        if !hasWindowHighHu { windowHighHu = 1000 }
        if !hasNormalization { normalization = "window" }
        if !hasPadHu { padHu = -1024 }
    }
}

extension Fedct_V1_StrategySpec {
    mutating func applyDefaults() {
        if !hasName { name = ServerStrategy.Kind.fedavg.rawValue }
        if !hasServerLearningRate { serverLearningRate = ServerStrategy.defaultLearningRate }
        if !hasBeta1 { beta1 = ServerStrategy.defaultBeta1 }
        if !hasBeta2 { beta2 = ServerStrategy.defaultBeta2 }
        if !hasTau { tau = ServerStrategy.defaultTau }
        if !hasProximalMu && name == ServerStrategy.Kind.fedprox.rawValue { proximalMu = ServerStrategy.defaultProximalMu }
    }
}

extension Fedct_V1_SecureAggregationSpec {
    mutating func applyDefaults() {
        if !hasEnabled { enabled = true }
        if !hasMinCohort { minCohort = 2 }
        if !hasClipNorm { clipNorm = 100 }
        if !hasModulusBits { modulusBits = 32 }
        if !hasMaxExamplesPerSite { maxExamplesPerSite = 10_000 }
        if !hasStepTimeoutSeconds { stepTimeoutSeconds = 120 }
        if !hasSparseAbove { sparseAbove = 50 }
        if !hasMaxDropoutFraction { maxDropoutFraction = 0.1 }
        if !hasMaxCorruptFraction { maxCorruptFraction = 0.05 }
    }
}

extension Fedct_V1_PrivacySpec {
    mutating func applyDefaults() {
        if !hasLevel { level = "none" }
        if !hasDelta { delta = 1e-5 }
    }
}

extension Fedct_V1_EvaluationSpec {
    mutating func applyDefaults() {
        if !hasEnabled { enabled = true }
        if !hasMinCohort { minCohort = 10 }
        if !hasL2 { l2 = 1 }
    }
}
