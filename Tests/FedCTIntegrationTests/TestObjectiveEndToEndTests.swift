// Multi-process test of the objective seam: a job with the test-only reconstruction objective runs over real gRPC and mTLS
// with secure aggregation, through the same coordinator, sites, ledger and transport as time-to-event jobs.
import FedCTCore
import FedCTProto
import FedCTReconstructionObjective
import Foundation
import XCTest

final class TestObjectiveEndToEndTests: XCTestCase {
    override func setUp() { setenv(ReconstructionObjective.environmentSwitch, "1", 1) }
    override func tearDown() { unsetenv(ReconstructionObjective.environmentSwitch) }

    func testReconstructionJobTrainsThroughTheDaemons() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [8, 6], seed: 5)
        var spec = Fedct_V1_JobSpec.tiny(name: "reconstruction", rounds: 2, minSites: 2)
        spec.objective = ReconstructionObjective.name
        spec.evaluation.enabled = false
        let job = try await federation.submit(spec)
        for name in ["site-1", "site-2"] { try federation.startSite(name) }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(status.rounds.count, 2)
        XCTAssertEqual(status.rounds.map(\.securelyAggregated), [true, true])
        XCTAssertTrue(status.rounds.allSatisfy { $0.meanTrainLoss.isFinite && $0.meanTrainLoss > 0 }, "\(status.rounds.map(\.meanTrainLoss))")

        // The stored models carry the objective's own parts (decoder) on the encoder, and round 2 moved them.
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let last = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: try XCTUnwrap(status.rounds.last).modelSha256))
        XCTAssertEqual(initial.layout.filter { $0.name.hasPrefix("decoder.") }.map(\.shape), [[8, 16], [8]], "decoder: 8 cells from 16 features")
        XCTAssertFalse(initial.layout.contains { $0.name.hasPrefix("head.") }, "no time-to-event head on a reconstruction model")
        XCTAssertNotEqual(initial.values, last.values)
        XCTAssertTrue(harness.log("site-1").contains("round trained and uploaded"))
    }
}
