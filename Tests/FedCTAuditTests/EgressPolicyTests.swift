// EgressPolicyTests: each site.yaml `policy` setting declines a violating job with its reason and setting, and accepts a compliant one.
import FedCTAudit
import FedCTCore
import FedCTProto
import XCTest

final class EgressPolicyTests: XCTestCase {
    func policy(_ yaml: String) throws -> EgressPolicy {
        try EgressPolicy(YAMLDocument(text: yaml, source: "site.yaml").section("policy"))
    }

    /// A compliant job: secure, site-level DP (σ 2, 3 rounds), derived tasks at 20 patients per code, evaluation at cohort 20.
    var compliant: Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec()
        spec.name = "ok"
        spec.rounds = 3
        spec.objective = "tte"
        spec.encoder.architecture = "resnet3d"
        spec.secureAggregation.enabled = true
        spec.secureAggregation.threshold = 3
        spec.secureAggregation.minCohort = 3
        spec.tte.deriveTasks = true
        spec.tte.minPatientsPerCode = 20
        spec.evaluation.enabled = true
        spec.evaluation.minCohort = 20
        spec.privacy.level = "site"
        spec.privacy.noiseMultiplier = 2
        return spec
    }

    let strict = """
        policy:
          allowed_objectives: [tte]
          allowed_encoders: [resnet3d]
          min_sites_per_secure_round: 3
          min_patients_per_code: 20
          min_cohort: 20
          max_epsilon_per_job: 10
          min_noise_multiplier: 1.5
          max_bytes_per_round: 1000000
          max_bytes_per_job: 3000000
          coordinator_name: coordinator
        """

    func refusal(_ policy: EgressPolicy, _ spec: Fedct_V1_JobSpec, modelBytes: Int64 = 1000, requireSecure: Bool = true, maxEpsilon: Double? = nil) -> String? {
        policy.refusal(of: spec, modelBytes: modelBytes, delta: 1e-5, requireSecureAggregation: requireSecure, maxEpsilon: maxEpsilon)?.setting
    }

    func testEverySettingDeclinesItsViolationAndNamesItself() throws {
        let policy = try policy(strict)
        XCTAssertNil(refusal(policy, compliant))
        var cases: [(String, (inout Fedct_V1_JobSpec) -> Void)] = []
        cases.append(("policy.allowed_objectives", { $0.objective = "contrastive" }))
        cases.append(("policy.allowed_encoders", { $0.encoder.architecture = "densenet121" }))
        cases.append(("policy.min_sites_per_secure_round", { $0.secureAggregation.threshold = 2; $0.secureAggregation.minCohort = 2 }))
        cases.append(("policy.min_patients_per_code", { $0.tte.minPatientsPerCode = 1 }))
        cases.append(("policy.min_cohort", { $0.evaluation.minCohort = 5 }))
        cases.append(("policy.min_noise_multiplier", { $0.privacy.noiseMultiplier = 1 }))
        cases.append(("policy.max_epsilon_per_job", { $0.rounds = 200 }))
        cases.append(("policy.max_epsilon_per_job", { $0.privacy.level = "none" }))
        cases.append(("privacy.require_secure_aggregation", { $0.secureAggregation.enabled = false }))
        for (setting, change) in cases {
            var spec = compliant
            change(&spec)
            XCTAssertEqual(refusal(policy, spec), setting)
        }
        XCTAssertEqual(refusal(policy, compliant, modelBytes: 2_000_000), "policy.max_bytes_per_round")
        XCTAssertEqual(refusal(policy, compliant, modelBytes: 1_000_000 + 1), "policy.max_bytes_per_round")
        var longer = compliant
        longer.rounds = 4
        longer.privacy.noiseMultiplier = 5
        XCTAssertEqual(refusal(policy, longer, modelBytes: 900_000), "policy.max_bytes_per_job")
        var plain = compliant
        plain.privacy.level = "none"
        XCTAssertEqual(refusal(EgressPolicy(), plain, maxEpsilon: 8), "privacy.max_epsilon")
        let noMetrics = try self.policy("policy: {send_evaluation_metrics: false}")
        XCTAssertEqual(refusal(noMetrics, compliant), "policy.send_evaluation_metrics")
        var silent = compliant
        silent.evaluation.enabled = false
        XCTAssertNil(refusal(noMetrics, silent))
        let reason = policy.refusal(of: { var spec = compliant; spec.evaluation.minCohort = 5; return spec }(), modelBytes: 0, delta: 1e-5,
                                    requireSecureAggregation: true, maxEpsilon: nil)?.reason ?? ""
        XCTAssertTrue(reason.contains("cohorts of 5") && reason.contains("floor is 20"), reason)
        XCTAssertEqual(policy.record["policy.coordinator_name"], "coordinator")
    }

    func testNoisedSetupCountsMeetTheNoiseFloorAndCountAgainstTheJobsEpsilon() throws {
        let policy = try policy("policy: {max_epsilon_per_job: 6, min_noise_multiplier: 1.5}")
        func epsilon(setupSteps: Int) throws -> Double {
            var accountant = RDPAccountant()
            try accountant.compose(samplingRate: 1, noiseMultiplier: 2, steps: 3)
            try accountant.compose(samplingRate: 1, noiseMultiplier: 1.5, steps: setupSteps)
            return try accountant.epsilon(delta: 1e-5).epsilon
        }
        // The premise: the three rounds alone fit in ε 6, with the two noised setup steps they do not.
        XCTAssertLessThan(try epsilon(setupSteps: 0), 6)
        XCTAssertGreaterThan(try epsilon(setupSteps: 2), 6)
        XCTAssertNil(refusal(policy, compliant))
        var noised = compliant
        noised.privacy.setupNoiseMultiplier = 1.5
        let reason = policy.refusal(of: noised, modelBytes: 0, delta: 1e-5, requireSecureAggregation: true, maxEpsilon: nil)
        XCTAssertEqual(reason?.setting, "policy.max_epsilon_per_job")
        XCTAssertTrue(reason?.reason.contains("2 noised setup steps") == true, reason?.reason ?? "")
        noised.tte.deriveTasks = false
        XCTAssertNil(refusal(policy, noised), "a job without a setup stage sends no setup counts")
        noised.tte.deriveTasks = true
        noised.privacy.setupNoiseMultiplier = 1
        XCTAssertEqual(refusal(policy, noised), "policy.min_noise_multiplier")

        let requiring = try self.policy("policy: {min_setup_noise_multiplier: 2}")
        XCTAssertEqual(refusal(requiring, compliant), "policy.min_setup_noise_multiplier", "exact setup counts")
        XCTAssertEqual(refusal(requiring, noised), "policy.min_setup_noise_multiplier", "too little setup noise")
        noised.privacy.setupNoiseMultiplier = 2
        XCTAssertNil(refusal(requiring, noised))
        var fixedTasks = compliant
        fixedTasks.tte.deriveTasks = false
        XCTAssertNil(refusal(requiring, fixedTasks), "a job with its tasks given sends no setup counts")
        XCTAssertEqual(requiring.record["policy.min_setup_noise_multiplier"], "2.0")
        XCTAssertThrowsError(try self.policy("policy: {min_setup_noise_multiplier: 0}")) { XCTAssertTrue("\($0)".contains("min_setup_noise_multiplier"), "\($0)") }
    }

    func testBadSettingsAreRefusedNamingTheKey() throws {
        XCTAssertThrowsError(try policy("policy: {min_cohort: 0}")) { XCTAssertTrue("\($0)".contains("min_cohort"), "\($0)") }
        XCTAssertThrowsError(try policy("policy: {max_epsilon_per_job: -1}")) { XCTAssertTrue("\($0)".contains("max_epsilon_per_job"), "\($0)") }
        XCTAssertThrowsError(try policy("policy: {allowed_objective: [tte]}")) { XCTAssertTrue("\($0)".contains("allowed_objective"), "\($0)") }
    }
}
