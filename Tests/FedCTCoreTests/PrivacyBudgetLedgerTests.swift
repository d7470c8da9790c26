// Tests of the site's privacy budget ledger: persistence, refusal over budget, corrupt files, atomic writes.
@testable import FedCTCore
import FedCTStorage
import Foundation
import XCTest

final class PrivacyBudgetLedgerTests: XCTestCase {
    private var folder: URL!
    private var url: URL { folder.appending(path: "privacy-budget.json") }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func siteRounds(_ job: String, _ rounds: ClosedRange<Int>, sigma: Double = 1.2) -> [PrivacySpend] {
        rounds.map {
            PrivacySpend(jobID: job, round: $0, level: .site, samplingRate: 1, noiseMultiplier: sigma, steps: 1,
                         delta: 1e-5, time: Date(timeIntervalSince1970: 1_790_000_000 + Double($0)))
        }
    }

    private func patientRound(_ job: String, _ round: Int) -> PrivacySpend {
        PrivacySpend(jobID: job, round: round, level: .patient, samplingRate: 0.02, noiseMultiplier: 1.1, steps: 150, delta: 1e-5)
    }

    func testMissingFileIsAnEmptyLedgerAndIsNotCreatedUntilARecord() throws {
        let ledger = try PrivacyBudgetLedger.open(at: url)
        XCTAssertEqual(ledger.entries, [])
        XCTAssertEqual(try ledger.spent(delta: 1e-5), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testSpendsPersistAcrossReopen() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        try ledger.record(siteRounds("job-0001", 1...3))
        try ledger.record([patientRound("job-0002", 1)])

        let reopened = try PrivacyBudgetLedger.open(at: url)
        XCTAssertEqual(reopened, ledger)
        XCTAssertEqual(reopened.entries.map(\.jobID), ["job-0001", "job-0001", "job-0001", "job-0002"])
        XCTAssertEqual(reopened.entries[3].level, .patient)

        var expected = RDPAccountant()
        try expected.compose(samplingRate: 1, noiseMultiplier: 1.2, steps: 3)
        try expected.compose(samplingRate: 0.02, noiseMultiplier: 1.1, steps: 150)
        XCTAssertEqual(try reopened.spent(delta: 1e-5), try expected.epsilon(delta: 1e-5).epsilon, accuracy: 1e-12)
        XCTAssertGreaterThan(try reopened.spent(delta: 1e-5), 0)

        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains(#""format" : "fedct-privacy-budget/1""#), text)
        XCTAssertTrue(text.contains(#""job_id" : "job-0002""#))
        XCTAssertTrue(text.contains(#""noise_multiplier" : 1.1"#))
        XCTAssertTrue(text.contains(#""time" : "2026-09-21T"#), "times are ISO 8601")
    }

    func testRefusesAJobThatWouldExceedTheBudgetAndSaysWhatToDo() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        try ledger.record(siteRounds("job-0001", 1...5))
        let already = try ledger.spent(delta: 1e-5)

        // Five more rounds fit in ε = 20; twenty do not.
        try ledger.check(planned: siteRounds("job-0002", 1...5), limitEpsilon: 20, delta: 1e-5)
        XCTAssertThrowsError(try ledger.check(planned: siteRounds("job-0002", 1...20), limitEpsilon: 20, delta: 1e-5)) { error in
            guard let error = error as? FedCTError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .permissionDenied)
            XCTAssertTrue(error.message.contains("allows ε = 20.000 at δ = 1e-05"), error.message)
            XCTAssertTrue(error.message.contains("already spent ε = \(String(format: "%.3f", already)) over 1 job(s)"), error.message)
            XCTAssertTrue(error.message.contains("job job-0002 would spend ε = "), error.message)
            XCTAssertTrue(error.message.contains("bring the total to ε = "), error.message)
            XCTAssertTrue(error.message.contains("Decline the job"), error.message)
            XCTAssertTrue(error.message.contains("raise privacy.max_epsilon in site.yaml"), error.message)
        }
        XCTAssertEqual(try PrivacyBudgetLedger.open(at: url).entries.count, 5, "a check records nothing")
    }

    func testNoNoiseIsRefusedAsInfiniteAndPersistsAsInfinite() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        XCTAssertThrowsError(try ledger.check(planned: siteRounds("job-0003", 1...1, sigma: 0), limitEpsilon: 1000, delta: 1e-5)) { error in
            XCTAssertTrue((error as? FedCTError)?.message.contains("would spend ε = ∞ (no noise)") ?? false, "\(error)")
        }
        try ledger.record(siteRounds("job-0003", 1...1, sigma: 0))
        XCTAssertEqual(try PrivacyBudgetLedger.open(at: url).spent(delta: 1e-5), .infinity)
    }

    func testInvalidLimitOrPlanIsAConfigurationError() throws {
        let ledger = try PrivacyBudgetLedger.open(at: url)
        XCTAssertThrowsError(try ledger.check(planned: [], limitEpsilon: 0, delta: 1e-5)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidConfiguration)
            XCTAssertTrue((error as? FedCTError)?.message.contains("privacy.max_epsilon") ?? false)
        }
        var badRate = patientRound("job-0004", 1)
        badRate.samplingRate = 2
        XCTAssertThrowsError(try ledger.check(planned: [badRate], limitEpsilon: 8, delta: 1e-5)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidConfiguration)
        }
    }

    func testCorruptFileIsAnErrorNamingTheFileNeverAReset() throws {
        let torn = Data("{\"format\": \"fedct-privacy-budget/1\", \"entr".utf8)
        try torn.write(to: url)
        XCTAssertThrowsError(try PrivacyBudgetLedger.open(at: url)) { error in
            guard let error = error as? FedCTError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .invalidData)
            XCTAssertTrue(error.message.contains(self.url.path), error.message)
            XCTAssertTrue(error.message.contains("Restore it from backup"), error.message)
            XCTAssertTrue(error.message.contains("do not delete it"), error.message)
        }
        XCTAssertEqual(try Data(contentsOf: url), torn, "the corrupt file is left for inspection")
    }

    func testEntriesThatDoNotMatchTheTotalsAreCorrupt() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        try ledger.record(siteRounds("job-0001", 1...2))
        // Removing an entry by hand without fixing the totals must not go unnoticed.
        let text = try String(contentsOf: url, encoding: .utf8)
        var document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        document["entries"] = Array(try XCTUnwrap(document["entries"] as? [Any]).dropLast())
        try JSONSerialization.data(withJSONObject: document).write(to: url)
        XCTAssertThrowsError(try PrivacyBudgetLedger.open(at: url)) { error in
            XCTAssertTrue((error as? FedCTError)?.message.contains("its RDP totals do not match its entries (1 listed)") ?? false, "\(error)")
        }

        try Data(text.replacingOccurrences(of: "fedct-privacy-budget/1", with: "fedct-privacy-budget/9").utf8).write(to: url)
        XCTAssertThrowsError(try PrivacyBudgetLedger.open(at: url)) { error in
            XCTAssertTrue((error as? FedCTError)?.message.contains("fedct-privacy-budget/9") ?? false, "\(error)")
        }
    }

    func testAtomicWriteLeavesOnlyTheLedgerFile() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        for round in 1...3 { try ledger.record([patientRound("job-0005", round)]) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["privacy-budget.json"])
    }

    func testFailedWriteChangesNeitherTheValueNorTheFolder() throws {
        var ledger = try PrivacyBudgetLedger.open(at: url)
        try ledger.record(siteRounds("job-0001", 1...1))
        // A directory where the file should be makes the final rename fail.
        try FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        let before = ledger
        XCTAssertThrowsError(try ledger.record(siteRounds("job-0001", 2...2))) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .io)
            XCTAssertTrue((error as? FedCTError)?.message.contains("nothing was recorded") ?? false, "\(error)")
        }
        XCTAssertEqual(ledger, before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["privacy-budget.json"], "no temporary file left")
    }
}
