// Multi-process test over real gRPC and mTLS: sites whose site.yaml `policy` refuses a job send only a Decline for it
// (the egress ledger shows nothing else of that job and verifies), and the same sites train a compliant job; the same for
// exact setup counts under policy.min_setup_noise_multiplier.
import FedCTAudit
import FedCTCore
import FedCTIdentity
import FedCTProto
import Foundation
import XCTest

final class EgressPolicyEndToEndTests: XCTestCase {
    func testAPolicyDeclinesBeforeAnythingOfTheJobLeavesAndAcceptsACompliantJob() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 8], seed: 29)
        let policy = "policy: {min_cohort: 20, allowed_encoders: [resnet3d], coordinator_name: coordinator}"
        for name in names { try federation.startSite(name, extra: policy, exitAfterJob: false) }

        // Below the site's floor for evaluation cohorts: declined by both sites, before keys or anything else leave.
        var low = Fedct_V1_JobSpec.tiny(name: "low-cohort", rounds: 1, minSites: 2)
        low.evaluation.enabled = true
        low.evaluation.minCohort = 5
        let refused = try await declined(low, setting: "policy.min_cohort", federation: federation, harness: harness, sites: names)

        // A compliant job (evaluation at cohort 20: every metric suppressed on these small sites) runs to the end.
        var fine = Fedct_V1_JobSpec.tiny(name: "compliant", rounds: 1, minSites: 2)
        fine.evaluation.enabled = true
        fine.evaluation.minCohort = 20
        let accepted = try await federation.submit(fine)
        let status = try await federation.waitForEnd(accepted.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")

        for (name, audit) in try audits(root, sites: names) {
            let declines = audit.entries.filter { $0.type == .decline }
            XCTAssertEqual(declines.map(\.jobID), [refused.jobID], name)
            XCTAssertEqual(declines.first?.setting, "policy.min_cohort", name)
            let sentForRefused = audit.entries.filter { $0.type == .intent && $0.jobID == refused.jobID }.map(\.kind)
            XCTAssertEqual(sentForRefused, ["decline"], "\(name): only the Decline left for the refused job")
            XCTAssertTrue(audit.entries.contains { $0.type == .intent && $0.jobID == accepted.jobID && $0.kind == "masked-update" }, name)
            XCTAssertEqual(audit.entries.last { $0.type == .open }?.policy?["policy.min_cohort"], "20", name)
        }

        // The same answer in advance, offline: the shipped example job evaluates at cohort 10, below this site's 20.
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/job.yaml").standardized.path
        let check = try harness.run("fedct-site", ["policy", "check", "--config", root.appending(path: "site-1.yaml").path, example])
        XCTAssertEqual(check.status, 3, check.output)
        XCTAssertTrue(check.output.contains("DECLINED") && check.output.contains("policy.min_cohort"), check.output)
    }

    /// `policy.min_setup_noise_multiplier`: a job deriving its tasks from exact setup counts is declined before its
    /// candidate list leaves; the same job with enough setup noise derives its tasks, its two noised steps charged.
    func testAPolicyDeclinesExactSetupCountsAndAcceptsNoisedOnes() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [24, 18], seed: 5)
        for name in names { try federation.startSite(name, extra: "policy: {min_setup_noise_multiplier: 0.0001}", exitAfterJob: false) }

        let refused = try await declined(SetupStageEndToEndTests.derivedSpec(name: "exact-setup", rounds: 1), setting: "policy.min_setup_noise_multiplier",
                                         federation: federation, harness: harness, sites: names)

        var noised = SetupStageEndToEndTests.derivedSpec(name: "noised-setup", rounds: 1)
        noised.privacy.setupNoiseMultiplier = 1e-4
        let accepted = try await federation.submit(noised)
        let status = try await federation.waitForEnd(accepted.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")

        for (name, audit) in try audits(root, sites: names) {
            XCTAssertEqual(audit.entries.filter { $0.type == .decline }.map(\.setting), ["policy.min_setup_noise_multiplier"], name)
            let sentForRefused = audit.entries.filter { $0.type == .intent && $0.jobID == refused.jobID }.map(\.kind)
            XCTAssertEqual(sentForRefused, ["decline"], "\(name): not even the candidate names left for the refused job")
            XCTAssertEqual(audit.entries.compactMap(\.spend).filter { $0.jobID == accepted.jobID }.map(\.round), [-1, -2], name)
            XCTAssertEqual(audit.entries.last { $0.type == .open }?.policy?["policy.min_setup_noise_multiplier"], "0.0001", name)
        }
    }

    /// Submits `spec`, waits until every site has logged its decline naming `setting`, then cancels the job.
    private func declined(_ spec: Fedct_V1_JobSpec, setting: String, federation: ProcessHarness.Federation, harness: ProcessHarness,
                          sites: [String]) async throws -> Fedct_V1_JobStatus {
        let refused = try await federation.submit(spec)
        let hint = "change \(setting) in site.yaml"
        let deadline = Date().addingTimeInterval(90)
        while sites.contains(where: { !harness.log($0).contains(hint) }) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        for name in sites { XCTAssertTrue(harness.log(name).contains(hint), harness.log(name)) }
        _ = try await federation.admin.cancel(refused.jobID)
        return refused
    }

    /// Each site's ledger verified offline against the consortium CA, checked to have no failure.
    private func audits(_ root: URL, sites: [String]) throws -> [(String, EgressLedgerAudit)] {
        let ca = root.appending(path: "pki/site-1/ca.pem").path
        let verifier = EgressLedgerVerifier(authority: try SigningCertificateVerifier(caCertificatePEM: try String(contentsOfFile: ca, encoding: .utf8), source: ca))
        return try sites.map { name in
            let audit = try verifier.verify(folder: root.appending(path: "state-\(name)"))
            XCTAssertNil(audit.failure, "\(name): \(audit.failure!)")
            return (name, audit)
        }
    }
}
