// EgressLedgerRoundsTests: a ledger's training rounds (calls and seconds) as `fedctl audit bench --ledger` reads them.
import FedCTAudit
import XCTest

final class EgressLedgerRoundsTests: XCTestCase {
    private func intent(_ seq: Int, _ time: String, job: String? = nil, round: Int? = nil) -> EgressEntry {
        var entry = EgressEntry(type: .intent)
        entry.seq = seq
        entry.time = "2026-12-07T01:\(time)Z"
        entry.jobID = job
        entry.round = round
        return entry
    }

    func testRoundsSpanTheirCallsAndCountJobAgnosticCallsInBetween() throws {
        var outcome = EgressEntry(type: .outcome)
        outcome.time = "2026-12-07T01:09:00Z"
        let entries = [
            intent(0, "00:00"),                                      // join: before any round
            intent(1, "00:05", job: "job-1", round: 0),             // a setup step: not a training round
            intent(2, "00:10", job: "job-1", round: 1),             // round 1 opens (key advertisement)
            intent(3, "00:11"),                                      // fetch-model: no round, inside round 1's window
            intent(4, "00:25", job: "job-1", round: 1),             // masked update
            outcome,                                                 // outcomes are not calls
            intent(5, "00:27", job: "job-1", round: 1),             // unmask: round 1 ends
            intent(6, "00:30", job: "job-1", round: 2),
            intent(7, "00:30", job: "job-1", round: 2),
        ]
        let rounds = try EgressLedgerRound.rounds(in: entries)
        XCTAssertEqual(rounds, [
            EgressLedgerRound(jobID: "job-1", round: 1, calls: 4, seconds: 17),
            EgressLedgerRound(jobID: "job-1", round: 2, calls: 2, seconds: 1),
        ])
        var bad = intent(8, "00:40", job: "job-1", round: 3)
        bad.time = "yesterday"
        XCTAssertThrowsError(try EgressLedgerRound.rounds(in: entries + [bad])) { XCTAssertTrue("\($0)".contains("entry 8"), "\($0)") }
    }
}
