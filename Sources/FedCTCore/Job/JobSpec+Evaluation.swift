// JobSpec+Evaluation: the job's `evaluation:` section (per-site probes on frozen embeddings) and its checks.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// Reads the `evaluation:` section (`applyingDefaults()` then fills the keys the file leaves out).
    public mutating func parseEvaluation(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["enabled", "every_rounds", "min_cohort", "l2"])
        if let value = try section.bool("enabled") { evaluation.enabled = value }
        if let value = try section.int("every_rounds") { evaluation.everyRounds = Int32(clamping: value) }
        if let value = try section.int("min_cohort") { evaluation.minCohort = Int32(clamping: value) }
        if let value = try section.double("l2") { evaluation.l2 = value }
    }

    /// Checks the evaluation section; `fail` builds the error naming the field.
    func validateEvaluation(_ fail: (String, String) -> FedCTError) throws {
        let spec = evaluation
        guard spec.enabled else { return }
        guard spec.everyRounds >= 0 else { throw fail("evaluation.every_rounds", "must not be negative (0 evaluates after the last round only); got \(spec.everyRounds)") }
        guard spec.minCohort >= 1 else { throw fail("evaluation.min_cohort", "must be at least 1 (got \(spec.minCohort)); the default is 10") }
        guard spec.l2 > 0, spec.l2.isFinite else { throw fail("evaluation.l2", "must be a positive number (got \(spec.l2))") }
    }
}
