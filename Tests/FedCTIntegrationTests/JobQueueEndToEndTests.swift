// Multi-process test: two jobs submitted back to back queue — the second waits while the first runs, then runs with the same sites.
import FedCTProto
import Foundation
import XCTest

final class JobQueueEndToEndTests: XCTestCase {
    func testSecondJobWaitsInTheQueueThenRunsWithTheSameSites() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [8, 6], seed: 11)
        let first = try await federation.submit(.tiny(name: "first", rounds: 2, minSites: 2))
        let second = try await federation.submit(.tiny(name: "second", rounds: 2, minSites: 2))
        let waiting = try await federation.admin.job(second.jobID)
        XCTAssertEqual(waiting.state, .queued, "the second job must wait while the first is active")
        for site in ["site-1", "site-2"] { try federation.startSite(site, exitAfterJob: false) }

        let firstEnded = try await federation.waitForEnd(first.jobID)
        let secondEnded = try await federation.waitForEnd(second.jobID)
        for status in [firstEnded, secondEnded] {
            XCTAssertEqual(status.state, .succeeded, "\(status.spec.name): \(status.message)")
            XCTAssertEqual(status.rounds.map(\.round), [1, 2])
            XCTAssertEqual(status.rounds.map { Set($0.sites) }, Array(repeating: ["site-1", "site-2"], count: 2))
        }
        // The second job left the queue only once the first had ended: a site works on one job at a time.
        XCTAssertGreaterThanOrEqual(secondEnded.startedUnixSeconds, firstEnded.updatedUnixSeconds)
        XCTAssertLessThan(secondEnded.submittedUnixSeconds, firstEnded.updatedUnixSeconds)
    }
}
