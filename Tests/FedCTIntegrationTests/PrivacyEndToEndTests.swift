// Multi-process test: a site-level DP job over secure aggregation spends each site's budget round by round in its
// ledger (ε as the accountant computes it), and a site that takes only DP jobs refuses a job without DP.
import FedCTCore
import FedCTCoordinator
import FedCTProto
import FedCTStorage
import Foundation
import XCTest

final class PrivacyEndToEndTests: XCTestCase {
    func testSiteLevelDPIsRecordedInEachSitesLedgerAndNonDPJobsAreRefused() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6], seed: 13)
        let admin = federation.admin
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "dp"
        spec.rounds = 2
        spec.minSites = 2
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.privacy.level = "site"
        spec.privacy.noiseMultiplier = 2
        spec.privacy.clipNorm = 1
        let job = try await federation.submit(spec)
        for name in names { try federation.startSite(name, extra: "privacy: {max_epsilon: 40, delta: 1.0e-5}", exitAfterJob: false) }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("site-1"))")
        XCTAssertTrue(status.rounds.allSatisfy(\.securelyAggregated))
        XCTAssertEqual(status.rounds.map(\.exampleCount), [2, 2], "site-level DP weighs each site 1")

        var expected = RDPAccountant()
        try expected.compose(samplingRate: 1, noiseMultiplier: 2, steps: 2)
        for name in names {
            let ledger = try PrivacyBudgetLedger.open(at: root.appending(path: "state-\(name)/privacy-budget.json"))
            XCTAssertEqual(ledger.entries.map(\.round), [1, 2], name)
            XCTAssertTrue(ledger.entries.allSatisfy { $0.level == .site && $0.jobID == job.jobID && $0.noiseMultiplier == 2 }, name)
            XCTAssertEqual(try ledger.spent(delta: 1e-5), try expected.epsilon(delta: 1e-5).epsilon, accuracy: 1e-12, name)
        }
        let shown = try harness.run("fedctl", ["privacy", "budget", root.appending(path: "state-site-1").path, "--max-epsilon", "40"])
        XCTAssertEqual(shown.status, 0, shown.output)
        XCTAssertTrue(shown.output.contains(String(format: "total ε = %.4g", try expected.epsilon(delta: 1e-5).epsilon)), shown.output)

        // These sites take only DP jobs (privacy.max_epsilon is set): a job without DP is refused and never trained.
        var plain = spec
        plain.name = "no-dp"
        plain.privacy.level = "none"
        plain.roundDeadlineSeconds = 600
        let refused = try await admin.submit(plain)
        let refusalDeadline = Date().addingTimeInterval(60)
        while !harness.log("site-1").contains("takes only DP jobs") && Date() < refusalDeadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        XCTAssertTrue(harness.log("site-1").contains("takes only DP jobs"), harness.log("site-1"))
        let refusedStatus = try await admin.job(refused.jobID)
        XCTAssertEqual(refusedStatus.rounds.count, 0)
        let ledger = try PrivacyBudgetLedger.open(at: root.appending(path: "state-site-1/privacy-budget.json"))
        XCTAssertEqual(ledger.entries.count, 2, "nothing spent on the refused job")
        _ = try await admin.cancel(refused.jobID)
    }
}
