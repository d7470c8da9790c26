// Multi-process test: a coordinator state folder written by an earlier main (Tests/Fixtures/legacy-state-6c0e1fc, see its
// PROVENANCE.md) opens, and its job — derived tasks, setup stage done, rounds committed — resumes and runs to its end.
import FedCTCoordinator
import FedCTProto
import Foundation
import XCTest

final class LegacyStateMigrationTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Fixtures/legacy-state-6c0e1fc").standardized

    func testACoordinatorStateFolderFromMain6c0e1fcResumesItsJobFromTheNextRound() async throws {
        let harness = try ProcessHarness()
        let state = harness.folder.appending(path: "state")
        try FileManager.default.copyItem(at: Self.fixture, to: state)
        try FileManager.default.removeItem(at: state.appending(path: "PROVENANCE.md"))
        // What the folder holds, read from a copy so the coordinator opens the folder as the old main left it.
        let probe = harness.folder.appending(path: "probe")
        try FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: state.appending(path: "coordinator.sqlite"), to: probe.appending(path: "coordinator.sqlite"))
        let stored = try XCTUnwrap(try JobDatabase(url: probe.appending(path: "coordinator.sqlite")).loadAll().first)
        XCTAssertEqual(stored.jobID, "job-0001")
        XCTAssertEqual(stored.state, .running)
        XCTAssertFalse(stored.spec.hasObjective, "a spec from before the objective field")
        XCTAssertTrue(stored.spec.tte.deriveTasks)
        XCTAssertFalse(stored.spec.tte.taskCodes.isEmpty, "the setup stage had derived the tasks")
        XCTAssertFalse(stored.rounds.isEmpty)
        XCTAssertLessThan(stored.rounds.count, Int(stored.spec.rounds))

        // The same sites and data as Tests/Fixtures/make-legacy-state.sh (fedctl synth --patients 24,18 --size 16 --seed 5).
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [24, 18], seed: 5)
        for site in ["site-1", "site-2"] { try federation.startSite(site) }
        for _ in 0..<100 where (try? await federation.admin.job(stored.jobID)) == nil { try await Task.sleep(for: .milliseconds(100)) }
        let status = try await federation.waitForEnd(stored.jobID)

        let log = harness.log("coordinator")
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(log)\n\(harness.log("site-1"))")
        XCTAssertTrue(log.contains("resuming job"), log)
        XCTAssertFalse(log.contains("setup stage committed"), "the setup stage is not run again")
        XCTAssertEqual(status.jobID, stored.jobID)
        XCTAssertEqual(status.spec, stored.spec, "the stored spec is read as written")
        XCTAssertEqual(status.rounds.map(\.round), Array(1...stored.spec.rounds))
        XCTAssertEqual(Array(status.rounds.prefix(stored.rounds.count)), stored.rounds, "the committed rounds are kept")
        XCTAssertEqual(status.rounds[stored.rounds.count].sites.sorted(), ["site-1", "site-2"], "the next round ran with both sites")
        XCTAssertEqual(status.initialModelSha256, stored.initialModelSha256)
    }
}
