// JobPlan: a job spec validated once into typed values — what the layers read instead of comparing the spec's strings.
public import FedCTProto

/// A validated job: its choices as enums, its numbers as Swift types, its objective's own sub-plan.
///
/// Built from a spec that went through `applyingDefaults()` (a submission: job.yaml or the Admin API) or from a
/// stored spec (complete since its submission). The protobuf `JobSpec` stays at the edges — wire and storage.
public struct JobPlan: Sendable, Equatable {
    public var name: String
    public var rounds: Int
    public var minSites: Int
    public var seed: UInt64
    /// Seconds a round may stay open once it started.
    public var roundDeadlineSeconds: Int
    public var objective: ObjectiveKind
    public var encoder: EncoderPlan
    /// The TTE objective's settings (present exactly when `objective` is `.tte`).
    public var tte: TTEPlan?
    public var training: TrainingPlan
    public var preprocessing: PreprocessingPlan
    /// How the coordinator turns the aggregated update into the next global model.
    public var strategy: ServerStrategy
    public var aggregation: Aggregation
    public var privacy: PrivacyPlan
    /// The evaluation probes, or nil when the job does not evaluate.
    public var evaluation: EvaluationPlan?

    /// Validates `spec` (errors name `source` and the field) and reads it into typed values.
    public init(spec: Fedct_V1_JobSpec, source: String) throws {
        try spec.validate(source: source)
        func choice<T: RawRepresentable<String>>(_ field: String, _ value: String) throws -> T { try Self.choice(field, value, source: source) }
        name = spec.name
        rounds = Int(spec.rounds)
        minSites = Int(spec.minSites)
        seed = spec.seed
        roundDeadlineSeconds = Int(spec.roundDeadlineSeconds)
        objective = spec.objectiveKind
        encoder = EncoderPlan(architecture: try choice("encoder.architecture", spec.encoder.architecture), depth: Int(spec.encoder.depth),
                              width: Int(spec.encoder.width), stemStride: Int(spec.encoder.stemStride), norm: try choice("encoder.norm", spec.encoder.norm))
        tte = objective == .tte ? TTEPlan(spec: spec.tte) : nil
        training = try TrainingPlan(spec: spec.training, source: source)
        preprocessing = try PreprocessingPlan(spec: spec, source: source)
        strategy = try ServerStrategy(spec: spec.strategy, source: source)
        aggregation = spec.secureAggregation.enabled ? .secure(SecureAggregationPlan(spec: spec.secureAggregation)) : .plain
        privacy = PrivacyPlan(spec: spec.privacy, level: try choice("privacy.level", spec.privacy.level))
        evaluation = spec.evaluation.enabled
            ? EvaluationPlan(everyRounds: Int(spec.evaluation.everyRounds), minCohort: Int(spec.evaluation.minCohort), l2: spec.evaluation.l2) : nil
    }

    /// The enum case named `value`; `validate(source:)` has checked it, so an unknown value is a gap in the checks.
    static func choice<T: RawRepresentable<String>>(_ field: String, _ value: String, source: String) throws -> T {
        guard let choice = T(rawValue: value) else { throw FedCTError(.invalidConfiguration, "\(source): field '\(field)' has the unknown value '\(value)'") }
        return choice
    }

    /// The setup steps the job runs before round 1 (its objective's setup stage; none once it ran, or without one).
    public var setupSteps: [SetupStep] { tte?.setupSteps ?? [] }

    /// The secure-aggregation settings, or nil when sites upload their updates in the clear.
    public var secure: SecureAggregationPlan? {
        guard case .secure(let plan) = aggregation else { return nil }
        return plan
    }

    /// The per-site fixed-point encoding of a secure round with `keyHolders` sites (U1) and threshold t.
    public func secureEncoding(keyHolders: Int, threshold: Int) throws -> FixedPointEncoding {
        guard let secure else { throw FedCTError(.failedPrecondition, "job \(name) does not use secure aggregation") }
        return try secure.encoding(keyHolders: keyHolders, threshold: threshold, privacy: privacy)
    }
}

/// The encoder the job trains (independent of the objective).
public struct EncoderPlan: Sendable, Equatable {
    /// The shared encoder; `none` when the objective carries its own image tower (HLIP's ViT).
    public enum Architecture: String, Sendable, CaseIterable { case resnet3d, densenet121, none }
    public enum Norm: String, Sendable, CaseIterable { case group, batch, instance }

    public var architecture: Architecture
    public var depth: Int
    public var width: Int
    public var stemStride: Int
    public var norm: Norm
}

/// Secure aggregation (Bonawitz et al.): the sites' clipped fixed-point updates are summed under masks.
public enum Aggregation: Sendable, Equatable {
    /// Sites upload their float32 deltas in the clear (debugging only).
    case plain
    case secure(SecureAggregationPlan)
}

/// The settings of a securely aggregated job.
public struct SecureAggregationPlan: Sendable, Equatable {
    /// The protocol's parameters, as the coordinator and every site use them.
    public var parameters: SecAggParameters
    /// Each site's update is clipped to this L2 norm before encoding.
    public var clipNorm: Double
    /// Arithmetic modulus 2^bits of the masked sum.
    public var modulusBits: Int
    /// Upper bound of a site's FedAvg weight (its example count).
    public var maxExamplesPerSite: Int64

    init(spec: Fedct_V1_SecureAggregationSpec) {
        parameters = SecAggParameters(threshold: Int(spec.threshold), minCohort: Int(spec.minCohort), stepTimeout: Double(spec.stepTimeoutSeconds),
                                      sparseAbove: Int(spec.sparseAbove), degree: Int(spec.graphDegree),
                                      maxDropoutFraction: spec.maxDropoutFraction, maxCorruptFraction: spec.maxCorruptFraction)
        clipNorm = spec.clipNorm
        modulusBits = Int(spec.modulusBits)
        maxExamplesPerSite = spec.maxExamplesPerSite
    }

    /// The per-site fixed-point encoding of a secure round with `keyHolders` sites (U1) and threshold t.
    /// Site-level DP uses uniform weights and adds noise σ·C/√t per site, so any t survivors' sum carries σ·C. Jobs without
    /// DP sum each site's weighted mean training loss too (`FixedPointEncoding.carriesLoss`).
    public func encoding(keyHolders: Int, threshold: Int, privacy: PrivacyPlan) throws -> FixedPointEncoding {
        if privacy.level == .site {
            return try FixedPointEncoding(clipNorm: privacy.clipNorm, maxWeight: 1, sites: keyHolders,
                                          noiseStandardDeviation: privacy.noiseMultiplier * privacy.clipNorm / Double(threshold).squareRoot())
        }
        // The mean training loss rides in the sum only without DP: it is not noised, so a DP job does not send it.
        return try FixedPointEncoding(clipNorm: clipNorm, maxWeight: maxExamplesPerSite, sites: keyHolders, carriesLoss: privacy.level == .none)
    }

    /// A site's FedAvg weight in a secure round: its example count capped at max_examples_per_site (1 under site-level DP).
    public func weight(examples: Int, privacy: PrivacyPlan.Level) -> Int64 {
        privacy == .site ? 1 : min(Int64(examples), maxExamplesPerSite)
    }
}

/// Differential privacy: none, site-level (clip, uniform weights, Gaussian noise shares) or patient-level (DP-SGD).
public struct PrivacyPlan: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable { case none, site, patient }

    public var level: Level
    /// σ and C: the noise multiplier and the clipping norm (site: of the update; patient: of each sample's gradient).
    public var noiseMultiplier: Double
    public var clipNorm: Double
    public var delta: Double
    /// The ε the job expects to spend in total.
    public var targetEpsilon: Double

    init(spec: Fedct_V1_PrivacySpec, level: Level) {
        self.level = level
        noiseMultiplier = spec.noiseMultiplier
        clipNorm = spec.clipNorm
        delta = spec.delta
        targetEpsilon = spec.targetEpsilon
    }
}

/// Per-site probes on frozen embeddings, after the last round and every `everyRounds` (0: the last only).
public struct EvaluationPlan: Sendable, Equatable {
    public var everyRounds: Int
    public var minCohort: Int
    public var l2: Double
}
