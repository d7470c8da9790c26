// EgressPolicy: site.yaml `policy` — the declarative rules a job must meet before anything job-specific leaves the site.
public import FedCTCore
public import FedCTProto
import Foundation

/// The site's egress policy (`policy:` in site.yaml). Checked when the site first learns of a job (its task from PullTask),
/// before keys, shares, candidates, counts, updates or metrics of that job are sent; a job that breaks a rule is declined:
/// only a Decline message leaves, recorded in the egress ledger with the reason and the setting to change.
///
/// Floors never change a job's own thresholds (every site must derive the same tasks): a job below a floor is declined.
public struct EgressPolicy: Sendable, Equatable {
    /// `allowed_objectives`: the job's `objective` must be one of these (nil: any).
    public var allowedObjectives: [String]?
    /// `allowed_encoders`: the job's `encoder.architecture` must be one of these (nil: any).
    public var allowedEncoders: [String]?
    /// `min_sites_per_secure_round`: the fewest sites whose sum a secure round may reveal (its threshold and min cohort).
    public var minSitesPerSecureRound: Int?
    /// `min_patients_per_code`: floor for a derived job's `tte.min_patients_per_code`.
    public var minPatientsPerCode: Int?
    /// `min_cohort`: floor for the job's `evaluation.min_cohort` (any metric's cohort).
    public var minCohort: Int?
    /// `max_epsilon_per_job`: the most ε (at privacy.delta) one job may spend; also refuses jobs without DP.
    public var maxEpsilonPerJob: Double?
    /// `min_noise_multiplier`: the least σ a DP job may use; also refuses jobs without DP.
    public var minNoiseMultiplier: Double?
    /// `min_setup_noise_multiplier`: the least `privacy.setup_noise_multiplier` a job that derives its tasks may use
    /// (refuses one that would send exact setup counts).
    public var minSetupNoiseMultiplier: Double?
    /// `max_bytes_per_round`, `max_bytes_per_job`: the most request bytes sent for one round or one job.
    public var maxBytesPerRound: Int?
    public var maxBytesPerJob: Int?
    /// `coordinator_name`: the coordinator's certificate name (under the consortium CA) its receipts must carry; survives renewal.
    public var coordinatorName: String?
    /// `send_evaluation_metrics`: false declines jobs that ask for evaluation reports.
    public var sendEvaluationMetrics = true

    /// The keys `policy:` accepts.
    public static let keys: Set<String> = ["allowed_objectives", "allowed_encoders", "min_sites_per_secure_round", "min_patients_per_code", "min_cohort",
                              "max_epsilon_per_job", "min_noise_multiplier", "min_setup_noise_multiplier", "max_bytes_per_round", "max_bytes_per_job", "coordinator_name",
                              "send_evaluation_metrics"]

    /// No rules beyond the `privacy` section's.
    public init() {}

    /// Reads site.yaml's `policy` section (nil: no rules).
    public init(_ section: YAMLDocument?) throws {
        guard let section else { return }
        try section.rejectUnknownKeys(Self.keys)
        allowedObjectives = try section.strings("allowed_objectives")
        allowedEncoders = try section.strings("allowed_encoders")
        func positive(_ key: String) throws -> Int? {
            guard let value = try section.int(key) else { return nil }
            guard value >= 1 else { throw section.error(key, "must be at least 1 (got \(value)); leave it out for no floor") }
            return value
        }
        minSitesPerSecureRound = try positive("min_sites_per_secure_round")
        minPatientsPerCode = try positive("min_patients_per_code")
        minCohort = try positive("min_cohort")
        maxBytesPerRound = try positive("max_bytes_per_round")
        maxBytesPerJob = try positive("max_bytes_per_job")
        maxEpsilonPerJob = try section.double("max_epsilon_per_job")
        if let value = maxEpsilonPerJob, !(value > 0) { throw section.error("max_epsilon_per_job", "must be a positive number (got \(value))") }
        minNoiseMultiplier = try section.double("min_noise_multiplier")
        if let value = minNoiseMultiplier, !(value > 0) { throw section.error("min_noise_multiplier", "must be a positive number (got \(value))") }
        minSetupNoiseMultiplier = try section.double("min_setup_noise_multiplier")
        if let value = minSetupNoiseMultiplier, !(value > 0) { throw section.error("min_setup_noise_multiplier", "must be a positive number (got \(value))") }
        coordinatorName = try section.string("coordinator_name")
        sendEvaluationMetrics = try section.bool("send_evaluation_metrics") ?? true
    }

    /// Setting → value, as the ledger's `open` entry records the policy in force.
    public var record: [String: String] {
        var record: [String: String] = ["policy.send_evaluation_metrics": "\(sendEvaluationMetrics)"]
        func put(_ key: String, _ value: (any CustomStringConvertible)?) { if let value { record["policy.\(key)"] = value.description } }
        put("allowed_objectives", allowedObjectives?.joined(separator: ","))
        put("allowed_encoders", allowedEncoders?.joined(separator: ","))
        put("min_sites_per_secure_round", minSitesPerSecureRound)
        put("min_patients_per_code", minPatientsPerCode)
        put("min_cohort", minCohort)
        put("max_epsilon_per_job", maxEpsilonPerJob)
        put("min_noise_multiplier", minNoiseMultiplier)
        put("min_setup_noise_multiplier", minSetupNoiseMultiplier)
        put("max_bytes_per_round", maxBytesPerRound)
        put("max_bytes_per_job", maxBytesPerJob)
        put("coordinator_name", coordinatorName)
        return record
    }

    /// Why this site refuses `spec`, and the site.yaml setting that decides it; nil when the policy allows the job.
    /// `modelBytes` is the size of the job's model (an update is about as large); `delta` the site's `privacy.delta`;
    /// `requireSecureAggregation` and `maxEpsilon` the `privacy` section's rules, checked here too so they refuse before any key leaves.
    public func refusal(of spec: Fedct_V1_JobSpec, modelBytes: Int64, delta: Double, requireSecureAggregation: Bool,
                        maxEpsilon: Double?) -> (reason: String, setting: String)? {
        let name = "job '\(spec.name)'"
        let secure = !spec.secureAggregation.hasEnabled || spec.secureAggregation.enabled
        let level = spec.privacy.hasLevel ? spec.privacy.level : "none"
        if requireSecureAggregation && !secure {
            return ("\(name) sends updates unmasked (secure_aggregation.enabled: false); this site requires secure aggregation", "privacy.require_secure_aggregation")
        }
        if maxEpsilon != nil && level == "none" {
            return ("\(name) has no differential privacy (privacy.level: none); this site takes only DP jobs", "privacy.max_epsilon")
        }
        let objective = spec.hasObjective ? spec.objective : "tte"
        if let allowed = allowedObjectives, !allowed.contains(objective) {
            return ("\(name) has objective '\(objective)'; this site allows \(allowed.joined(separator: ", "))", "policy.allowed_objectives")
        }
        let encoder = spec.encoder.hasArchitecture ? spec.encoder.architecture : "resnet3d"
        if let allowed = allowedEncoders, !allowed.contains(encoder) {
            return ("\(name) trains encoder '\(encoder)'; this site allows \(allowed.joined(separator: ", "))", "policy.allowed_encoders")
        }
        if let floor = minSitesPerSecureRound, secure {
            let guaranteed = max(Int(spec.secureAggregation.threshold), spec.secureAggregation.hasMinCohort ? Int(spec.secureAggregation.minCohort) : 2)
            if guaranteed < floor {
                return ("\(name) may reveal the sum of as few as \(guaranteed) sites (secure_aggregation.threshold / min_cohort); this site requires at least \(floor)",
                        "policy.min_sites_per_secure_round")
            }
        }
        if let floor = minPatientsPerCode, spec.tte.deriveTasks {
            let value = spec.tte.hasMinPatientsPerCode ? Int(spec.tte.minPatientsPerCode) : 10
            if value < floor {
                return ("\(name) names candidate codes held by \(value) patients (tte.min_patients_per_code); this site's floor is \(floor)", "policy.min_patients_per_code")
            }
        }
        if let floor = minSetupNoiseMultiplier, spec.tte.deriveTasks, spec.privacy.setupNoiseMultiplier < floor {
            let now = spec.privacy.setupNoiseMultiplier > 0 ? "noises them with multiplier \(spec.privacy.setupNoiseMultiplier)" : "sends them exact"
            return ("\(name) derives its tasks from setup counts and \(now) (privacy.setup_noise_multiplier); this site requires at least \(floor)",
                    "policy.min_setup_noise_multiplier")
        }
        let evaluates = !spec.evaluation.hasEnabled || spec.evaluation.enabled
        if evaluates && !sendEvaluationMetrics {
            return ("\(name) asks for evaluation reports (evaluation.enabled); this site sends no evaluation metrics", "policy.send_evaluation_metrics")
        }
        if let floor = minCohort, evaluates {
            let value = spec.evaluation.hasMinCohort ? Int(spec.evaluation.minCohort) : 10
            if value < floor {
                return ("\(name) reports metrics on cohorts of \(value) (evaluation.min_cohort); this site's floor is \(floor)", "policy.min_cohort")
            }
        }
        if (maxEpsilonPerJob != nil || minNoiseMultiplier != nil) && level == "none" {
            return ("\(name) has no differential privacy (privacy.level: none)", maxEpsilonPerJob != nil ? "policy.max_epsilon_per_job" : "policy.min_noise_multiplier")
        }
        if let floor = minNoiseMultiplier, spec.privacy.noiseMultiplier < floor {
            return ("\(name) uses noise multiplier \(spec.privacy.noiseMultiplier) (privacy.noise_multiplier); this site requires at least \(floor)", "policy.min_noise_multiplier")
        }
        let setupNoise = spec.privacy.setupNoiseMultiplier
        if let floor = minNoiseMultiplier, setupNoise > 0, setupNoise < floor {
            return ("\(name) noises its setup counts with multiplier \(setupNoise) (privacy.setup_noise_multiplier); this site requires at least \(floor)", "policy.min_noise_multiplier")
        }
        if let limit = maxEpsilonPerJob, level == "site" {
            // The noised setup steps (time-to-event task derivation: prevalence and rates) count against the job too.
            let setupSteps = spec.tte.deriveTasks && setupNoise > 0 ? TaskSetupStage.steps.filter { $0.answer == .counts }.count : 0
            var accountant = RDPAccountant()
            let epsilon = (try? {
                try accountant.compose(samplingRate: 1, noiseMultiplier: spec.privacy.noiseMultiplier, steps: Int(spec.rounds))
                try accountant.compose(samplingRate: 1, noiseMultiplier: setupNoise, steps: setupSteps)
                return try accountant.epsilon(delta: delta).epsilon
            }()) ?? .infinity
            if epsilon > limit {
                let setup = setupSteps > 0 ? " and \(setupSteps) noised setup steps" : ""
                return (String(format: "%@ would spend ε = %.3f at δ = %g over its %d rounds%@; this site allows %.3f per job", name, epsilon, delta, Int(spec.rounds), setup, limit),
                        "policy.max_epsilon_per_job")
            }
        }
        if let limit = maxBytesPerRound, modelBytes > Int64(limit) {
            return ("\(name)'s model is \(modelBytes) bytes, so one update exceeds this site's \(limit) bytes per round", "policy.max_bytes_per_round")
        }
        if let limit = maxBytesPerJob, modelBytes * Int64(max(spec.rounds, 1)) > Int64(limit) {
            return ("\(name) would send about \(modelBytes * Int64(max(spec.rounds, 1))) bytes of updates over \(spec.rounds) rounds; this site allows \(limit) per job",
                    "policy.max_bytes_per_job")
        }
        return nil
    }
}
