// Multi-process test: SIGTERM in the middle of a secure round — the site agent exits 0 with every egress-ledger line whole,
// the coordinator exits 0 with its listener closed, and a restarted coordinator resumes the job with its committed rounds.
import FedCTProto
import Foundation
import XCTest

final class ShutdownProcessTests: XCTestCase {
    func testSIGTERMMidRoundStopsBothDaemonsCleanly() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [8, 8], seed: 17)
        let job = try await federation.submit(.tiny(name: "sigterm-it", rounds: 20, minSites: 2)).jobID
        let site1 = try federation.startSite("site-1", exitAfterJob: false)
        try federation.startSite("site-2", exitAfterJob: false)

        // Mid-round: site-1 has shared its secure-aggregation keys for the second round, not yet uploaded.
        try await Self.waitFor(timeout: 120) { harness.log("site-1").components(separatedBy: "secure aggregation keys shared").count > 2 }
        site1.terminate()
        try await Self.waitForExit(site1, timeout: 60)
        XCTAssertEqual(site1.terminationReason, .exit)
        XCTAssertEqual(site1.terminationStatus, 0, harness.log("site-1"))
        XCTAssertTrue(harness.log("site-1").contains("stopped"), harness.log("site-1"))
        let ledger = try String(contentsOf: harness.folder.appending(path: "state-site-1/egress.jsonl"), encoding: .utf8)
        XCTAssertTrue(ledger.hasSuffix("\n"), "the ledger's last line must be whole")
        for line in ledger.split(separator: "\n") {
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            XCTAssertEqual((record["hash"] as? String)?.count, 64, String(line))
            guard record["type"] as? String == "intent" else { continue }  // outcomes, receipts, certificate, open: no message of their own
            XCTAssertNotNil(record["kind"] as? String, String(line))
            XCTAssertEqual((record["sha256"] as? String)?.count, 64, String(line))
        }

        let before = try await federation.admin.job(job)
        XCTAssertEqual(before.state, .running)
        federation.coordinator.terminate()
        try await Self.waitForExit(federation.coordinator, timeout: 30)
        XCTAssertEqual(federation.coordinator.terminationReason, .exit)
        XCTAssertEqual(federation.coordinator.terminationStatus, 0, harness.log("coordinator"))
        XCTAssertTrue(harness.log("coordinator").contains("stopped"), harness.log("coordinator"))
        do {
            _ = try await federation.admin.job(job)
            XCTFail("the coordinator's listener must be closed after SIGTERM")
        } catch {}

        // A restarted coordinator resumes the job after the rounds committed before SIGTERM.
        try federation.restartCoordinator(label: "coordinator-2")
        var resumed: Fedct_V1_JobStatus?
        try await Self.waitFor(timeout: 30) {
            resumed = try? await federation.admin.job(job)
            return resumed != nil
        }
        XCTAssertGreaterThanOrEqual(resumed?.rounds.count ?? -1, before.rounds.count)
        XCTAssertEqual(Array(resumed?.rounds.prefix(before.rounds.count).map(\.modelSha256) ?? []), before.rounds.map(\.modelSha256))
        XCTAssertTrue([.running, .waitingForSites].contains(resumed?.state), "\(String(describing: resumed?.state))")
    }

    static func waitFor(timeout: TimeInterval, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !(await condition()) {
            guard Date() < deadline else { throw HarnessError("condition not met within \(timeout) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func waitForExit(_ process: Process, timeout: TimeInterval) async throws {
        try await waitForExit([process], timeout: timeout)
    }

    static func waitForExit(_ processes: [Process], timeout: TimeInterval) async throws {
        try await waitFor(timeout: timeout) { processes.allSatisfy { !$0.isRunning } }
        for process in processes { process.waitUntilExit() }
    }
}
