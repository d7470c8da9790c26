// Multi-process test of a data-parallel site over real gRPC and mTLS: one site trains its rounds in two worker processes
// (site.yaml workers: 2) beside a single-process site, with secure aggregation; the coordinator sees two sites, each round's
// model is exactly old + the weighted mean of the sites' updates, and the agent's worker process ends with the agent.
import FedCTCore
import FedCTProto
import Foundation
import Glibc
import XCTest

final class WorkersEndToEndTests: XCTestCase {
    func testATwoWorkerSiteTakesPartInASecureJob() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 31)
        let job = try await federation.submit(Fedct_V1_JobSpec.tiny(name: "workers", rounds: 2, minSites: 2))
        try federation.startSite("site-1", extra: "workers: 2\negress: {archive_updates: true}")
        try federation.startSite("site-2", extra: "egress: {archive_updates: true}")
        let status = try await federation.waitForEnd(job.jobID)
        let workerLog = (try? String(contentsOf: root.appending(path: "state-site-1/workers/worker-1.log"), encoding: .utf8)) ?? "(no worker log)"
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))\n\(workerLog)")
        XCTAssertEqual(status.rounds.map(\.securelyAggregated), [true, true])
        XCTAssertEqual(status.rounds.map { $0.sites.sorted() }, [names, names], "the coordinator sees one site-1, however many processes train it")

        // Each round's model is old + the weighted mean of both sites' clipped deltas (site-1's from its two workers).
        var before = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        for record in status.rounds {
            let after = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: record.modelSha256))
            let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: Int(record.round), sites: names, before: before, after: after, encoding: encoding)
            XCTAssertEqual(Int64(check.totalWeight), record.exampleCount, "round \(record.round)")
            XCTAssertLessThanOrEqual(check.worst, check.bound, "round \(record.round) differs from old + weighted mean of the deltas")
            XCTAssertNotEqual(before.values, after.values)
            before = after
        }

        // Worker 1 trained both rounds' shares, and left once the agent had exited.
        let agentLog = harness.log("site-1")
        XCTAssertTrue(agentLog.contains("worker started"), agentLog)
        XCTAssertEqual(workerLog.components(separatedBy: "round trained").count - 1, 2, workerLog)
        let pidText = try XCTUnwrap(agentLog.components(separatedBy: "pid=").dropFirst().first?.prefix { $0.isNumber }, agentLog)
        let pid = try XCTUnwrap(pid_t(String(pidText)))
        let deadline = Date().addingTimeInterval(30)
        while kill(pid, 0) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertNotEqual(kill(pid, 0), 0, "the worker process \(pid) must not outlive its agent")
    }
}
