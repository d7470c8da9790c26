// Multi-process test: a job that derives its tasks runs the setup stage over real gRPC and mTLS — candidates, then
// securely summed prevalence and rates — and its derived task list, pieces and base rates equal the pooled derivation.
import FedCTCore
import FedCTData
import FedCTProto
import Foundation
import XCTest

final class SetupStageEndToEndTests: XCTestCase {
    func testSecureSetupStageDerivesThePooledTasksThenTrains() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [24, 18], seed: 5)
        var spec = Fedct_V1_JobSpec.tiny(name: "derive", rounds: 1, minSites: 2)
        spec.tte.deriveTasks = true
        spec.tte.taskCodes = []
        spec.tte.pieceEdgesDays = []
        spec.tte.taskLog2BaseHazard = []
        spec.tte.maxTasks = 40
        spec.tte.pieces = 4
        spec.tte.minPatientsPerCode = 3
        let job = try await federation.submit(spec)
        XCTAssertTrue(job.initialModelSha256.isEmpty, "a derived job has no model before its setup stage")
        for name in names { try federation.startSite(name) }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")

        // The same derivation on the pooled train scans of both sites, computed here in the clear.
        let folders = names.map { harness.folder.appending(path: "data/\($0)").path }
        let inputs = try folders.map { try SiteDataset.setupFollowUps(directory: $0).followUps }
        let candidates = TaskDerivation.union(inputs.map { TaskStatistics.candidates($0, minPatients: 3) })
        let prevalence = inputs.map { TaskStatistics.prevalence($0, candidates: candidates) }.reduce(into: [UInt64](repeating: 0, count: candidates.count + 1)) {
            for index in $0.indices { $0[index] += $1[index] }
        }
        let tasks = try TaskDerivation.rank(candidates: candidates, prevalenceSum: prevalence, maxTasks: 40).map(\.code)
        let layout = TaskStatistics.RatesLayout(tasks: tasks.count, grid: .standard)
        let rates = inputs.map { TaskStatistics.rates($0, tasks: tasks, grid: .standard) }.reduce(into: [UInt64](repeating: 0, count: layout.count)) {
            for index in $0.indices { $0[index] += $1[index] }
        }
        XCTAssertEqual(status.spec.tte.taskCodes, tasks)
        XCTAssertEqual(status.spec.tte.pieceEdgesDays,
                       try TaskDerivation.pieceEdges(histogram: Array(rates[layout.histogram...]), grid: .standard, pieces: 4))
        XCTAssertEqual(status.spec.tte.taskLog2BaseHazard, try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: layout, tasks: tasks))
        XCTAssertTrue(status.setup.securelyAggregated)
        XCTAssertEqual(status.setup.sites, names)
        XCTAssertEqual(Int(status.setup.candidates), candidates.count)
        XCTAssertEqual(UInt64(status.setup.patients), prevalence[0])
        XCTAssertFalse(status.initialModelSha256.isEmpty)
        XCTAssertEqual(status.rounds.count, 1, "round 1 trained on the derived tasks")

        // Only code names and masked words left the sites during setup: no plain counts.
        let ledger = try String(contentsOf: harness.folder.appending(path: "state-site-1/egress.jsonl"), encoding: .utf8)
        XCTAssertTrue(ledger.contains("setup-candidates"))
        XCTAssertEqual(ledger.components(separatedBy: "\"setup-masked\"").count - 1, 2, "one masked vector each for prevalence and rates")
        XCTAssertFalse(ledger.contains("setup-counts"))
    }

    func testSiteRequiringSecureAggregationRefusesAPlainSetupStage() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [10, 10], seed: 6)
        var spec = Fedct_V1_JobSpec.tiny(name: "plain-derive", rounds: 1, minSites: 2, secure: false)
        spec.tte.deriveTasks = true
        spec.tte.taskCodes = []
        spec.tte.pieceEdgesDays = []
        spec.roundDeadlineSeconds = 5
        let job = try await federation.submit(spec)
        try federation.startSite("site-1", exitAfterJob: false)
        try federation.startSite("site-2", extra: "privacy: {require_secure_aggregation: false}", exitAfterJob: false)
        let status = try await federation.waitForEnd(job.jobID, timeout: 60)
        XCTAssertEqual(status.state, .failed, "the setup step cannot close without site-1's statistics")
        XCTAssertTrue(status.message.contains("setup step 'candidates'"), status.message)
        XCTAssertTrue(harness.log("site-1").contains("this site requires secure aggregation"), harness.log("site-1"))
        let ledger = try String(contentsOf: harness.folder.appending(path: "state-site-1/egress.jsonl"), encoding: .utf8)
        XCTAssertFalse(ledger.contains("setup-"), "site-1 sent no setup statistics for an unmasked job")
    }
}
