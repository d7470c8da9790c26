// Multi-process test: three sites over real gRPC and mTLS; one is killed right after sharing its keys, and the
// round still commits the exact weighted mean of the two survivors (its pairwise masks rebuilt from their shares).
import FedCTCore
import FedCTCoordinator
import FedCTProto
import Foundation
import XCTest

final class SecureAggregationEndToEndTests: XCTestCase {
    func testSiteKilledAfterSharingKeysStillYieldsTheSurvivorsSum() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2", "site-3"]
        // site-3 has the most scans, so it is still training when it is killed.
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6, 60], seed: 11)
        let admin = federation.admin
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "dropout"
        spec.rounds = 2
        spec.minSites = 3
        spec.roundDeadlineSeconds = 20
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.training.localEpochs = 2
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        spec.secureAggregation.stepTimeoutSeconds = 5
        let job = try await federation.submit(spec)
        var processes: [String: Process] = [:]
        for name in names { processes[name] = try federation.startSite(name, extra: "egress: {archive_updates: true}") }
        // Kill site-3 the moment the coordinator holds its key shares (the masking step opened with it among the senders).
        let killDeadline = Date().addingTimeInterval(120)
        while Date() < killDeadline && !harness.log("coordinator").contains("share_senders=site-1,site-2,site-3") {
            try await Task.sleep(for: .milliseconds(10))
        }
        kill(processes["site-3"]!.processIdentifier, SIGKILL)
        processes["site-3"]!.waitUntilExit()
        let ledgerText = try String(contentsOf: root.appending(path: "state-site-3/egress.jsonl"), encoding: .utf8)
        XCTAssertTrue(ledgerText.contains("secagg-share-keys"), "site-3 never shared keys\n\(harness.log("site-3"))")
        XCTAssertFalse(ledgerText.contains("masked-update"), "site-3 uploaded before it was killed; the test did not exercise a dropout")

        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")
        let first = try XCTUnwrap(status.rounds.first)
        XCTAssertEqual(first.sites, ["site-1", "site-2"])
        XCTAssertEqual(first.droppedSites, ["site-3"], "site-3 shared keys, then dropped: its masks were rebuilt")
        XCTAssertEqual(first.threshold, 2)
        XCTAssertEqual(status.rounds.count, 2)
        XCTAssertEqual(status.rounds.last?.sites, ["site-1", "site-2"], "round 2 went on without the dead site")

        // Round 1's model is the initial model plus the weighted mean of the survivors' clipped local updates.
        let initial = try SafeTensors.decode(try await admin.fetchModel(sha256: job.initialModelSha256))
        let stored = try SafeTensors.decode(try await admin.fetchModel(sha256: first.modelSha256))
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 3)
        let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: 1, sites: ["site-1", "site-2"], before: initial, after: stored, encoding: encoding)
        XCTAssertEqual(Int64(check.totalWeight), first.exampleCount)
        XCTAssertLessThanOrEqual(check.worst, check.bound, "round 1 differs from the survivors' weighted mean by more than the quantisation bound")
        XCTAssertTrue(harness.log("coordinator").contains("sites left the round before masking"), "round 2 excluded site-3 at the key step")
    }
}
