// Tests of JobRun's secure rounds with real site sessions: exact means, dropped sites at each step, aborts that restart the round.
@testable import FedCTCore
import FedCTProto
import XCTest

final class JobRunSecureAggregationTests: XCTestCase {
    private let updates: [String: [Float]] = ["a": [0.1, -0.2, 0.3], "b": [0.3, 0.2, -0.1], "c": [-0.2, 0.4, 0.1]]
    private let weights: [String: Int64] = ["a": 10, "b": 30, "c": 20]
    private let losses: [String: Double] = ["a": 1.5, "b": 0.5, "c": -2]

    /// Three sites in round 1 of a secure job (min cohort 2, step timeout 10 s, round deadline 100 s).
    private func secureRoundOpen(rounds: Int = 2) -> JobRunHarness {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: rounds, minSites: 3, secure: true))
        harness.pull(["a", "b", "c"], now: 0)
        return harness
    }

    /// The weighted mean the round's request decodes to, checked against Σ wΔ / Σ w over `sites`.
    private func assertMean(of request: RoundModelRequest, sites: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        guard case .masked(let sum, let recovery, let encoding) = request.input else { return XCTFail("a secure round", file: file, line: line) }
        let decoded = try encoding.decode(sum: try sum.unmasked(with: recovery))
        let total = sites.reduce(0) { $0 + weights[$1]! }
        XCTAssertEqual(decoded.weight, total, file: file, line: line)
        for index in 0..<3 {
            let expected = sites.reduce(0) { $0 + Double(weights[$1]!) * Double(updates[$1]![index]) } / Double(total)
            XCTAssertEqual(Double(decoded.mean[index]), expected, accuracy: 1e-4, file: file, line: line)
        }
        let loss = sites.reduce(0) { $0 + Double(weights[$1]!) * (losses[$1]!) } / Double(total)
        XCTAssertEqual(try XCTUnwrap(decoded.loss, "a job without DP sums the loss", file: file, line: line), loss, accuracy: 1e-4, file: file, line: line)
    }

    func testEverySiteTakingPartYieldsTheExactWeightedMean() throws {
        var harness = secureRoundOpen()
        XCTAssertEqual(harness.run.secure?.server.context.round, 1)
        XCTAssertEqual(harness.run.phaseDescription, "secure aggregation: advertising keys")
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        try harness.mask(["a", "b", "c"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 3)
        XCTAssertEqual(harness.run.secure?.server.phase, .unmasking)
        try harness.unmask(["a", "b", "c"], sessions: &sessions, now: 4)
        let request = try XCTUnwrap(harness.directives.roundModelRequests.first)
        try assertMean(of: request, sites: ["a", "b", "c"])
        XCTAssertTrue(harness.directives.contains { if case .secureStepEnded(.masking, _) = $0 { true } else { false } }, "step durations are reported")

        let saved = harness.take(harness.run.onRoundModelStored(round: 1, StoredRoundModel(modelSHA256: "m1", optimizerStateSHA256: nil, exampleCount: 60, meanTrainLoss: 0.125), now: 5))
        let record = try XCTUnwrap(saved.savedRecords.last).record.rounds[0]
        XCTAssertTrue(record.securelyAggregated)
        XCTAssertEqual(record.sites, ["a", "b", "c"])
        XCTAssertEqual(record.droppedSites, [])
        XCTAssertEqual(record.threshold, 2)
        XCTAssertEqual(record.meanTrainLoss, 0.125, "the loss decoded from the sum, not from any header")
        XCTAssertTrue(record.siteTrainLosses.isEmpty, "a secure round has no per-site losses")
        XCTAssertNotNil(harness.run.secure, "the round's session stays until its record is stored")
        harness.take(harness.run.onRecordSaved(version: saved.savedRecords.last!.version, now: 6))
        XCTAssertEqual(harness.run.secure?.server.context.round, 2, "round 2 opens with a fresh session")
    }

    func testSiteDroppedBeforeAdvertisingLeavesTheRound() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b"], now: 1)
        harness.take(harness.run.tick(now: 11))
        XCTAssertEqual(harness.run.machine.participants, ["a", "b"], "c left at the key step's timeout")
        try harness.share(["a", "b"], sessions: &sessions, now: 12)
        try harness.mask(["a", "b"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 13)
        try harness.unmask(["a", "b"], sessions: &sessions, now: 14)
        try assertMean(of: try XCTUnwrap(harness.directives.roundModelRequests.first), sites: ["a", "b"])
    }

    func testSiteDroppedBeforeSharingLeavesTheRound() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "c"], sessions: &sessions, now: 2)
        harness.take(harness.run.tick(now: 12))
        XCTAssertEqual(harness.run.machine.participants, ["a", "c"])
        XCTAssertEqual(harness.run.secure?.server.phase, .masking)
        try harness.mask(["a", "c"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 13)
        try harness.unmask(["a", "c"], sessions: &sessions, now: 14)
        try assertMean(of: try XCTUnwrap(harness.directives.roundModelRequests.first), sites: ["a", "c"])
    }

    func testSiteDroppedAfterSharingHasItsMasksRemovedAtTheDeadline() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        try harness.mask(["a", "b"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 3)
        XCTAssertTrue(harness.take(harness.run.tick(now: 99)).isEmpty, "the round waits for c until its deadline")
        harness.take(harness.run.tick(now: 100))
        XCTAssertEqual(harness.run.secure?.server.survivors, ["a", "b"])
        try harness.unmask(["a", "b"], sessions: &sessions, now: 101)
        try assertMean(of: try XCTUnwrap(harness.directives.roundModelRequests.first), sites: ["a", "b"])
        let saved = harness.take(harness.run.onRoundModelStored(round: 1, StoredRoundModel(modelSHA256: "m1", optimizerStateSHA256: nil, exampleCount: 40), now: 102))
        XCTAssertEqual(saved.savedRecords.last?.record.rounds.last?.droppedSites, ["c"])
    }

    func testSurvivorSilentInUnmaskingIsToleratedAboveTheThreshold() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        try harness.mask(["a", "b", "c"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 3)
        try harness.unmask(["a", "b"], sessions: &sessions, now: 4)
        XCTAssertTrue(harness.directives.roundModelRequests.isEmpty)
        harness.take(harness.run.tick(now: 14))
        try assertMean(of: try XCTUnwrap(harness.directives.roundModelRequests.first), sites: ["a", "b", "c"])
    }

    func testTooFewSitesAbortTheAttemptAndTheRoundRestartsWithFreshKeys() throws {
        var harness = secureRoundOpen()
        _ = try harness.advertise(["a"], now: 1)
        harness.take(harness.run.tick(now: 11))
        XCTAssertTrue(harness.directives.contains { if case .roundEnded(.aborted, _) = $0 { true } else { false } })
        XCTAssertEqual(harness.run.machine.attempt, 2)
        XCTAssertEqual(harness.run.secure?.server.context.attempt, 2, "the sites still live start attempt 2")
        XCTAssertEqual(harness.pull(["a"], now: 12)["a"], .train(round: 1, modelSHA256: JobRunHarness.model, attempt: 2))
        XCTAssertEqual(harness.run.secureStep(for: "a", {
            var request = Fedct_V1_SecAggStepRequest()
            request.jobID = "job-0001"
            request.round = 1
            request.attempt = 1
            return request
        }()).step, .aborted, "attempt 1 is gone")
    }

    func testUnmaskingThatFailsAtTheCoordinatorRestartsTheRound() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        try harness.mask(["a", "b", "c"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 3)
        try harness.unmask(["a", "b", "c"], sessions: &sessions, now: 4)
        XCTAssertTrue(harness.take(harness.run.onRoundModelFailed(round: 1, error: diskFull, now: 5)).isEmpty, "a full disk only waits")
        XCTAssertEqual(harness.run.machine.attempt, 1)
        harness.take(harness.run.onRoundModelFailed(round: 1, error: FedCTError(.integrity, "the unmasked sum has 2 coordinates"), now: 6))
        XCTAssertEqual(harness.run.machine.attempt, 2, "bad data aborts the attempt")
    }

    func testDeadlineWaitsForAnInputBeingSummed() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        try harness.mask(["a"], sessions: &sessions, updates: updates, weights: weights, losses: losses, now: 3)
        let (header, words) = try harness.maskedInput("b", sessions: &sessions, update: updates["b"]!, weight: weights["b"]!, loss: losses["b"]!)
        var sum = try harness.run.takeMaskedSum(for: "b", header: header)
        XCTAssertTrue(harness.run.isSumming)
        XCTAssertThrowsError(try harness.run.takeMaskedSum(for: "b", header: header), "one input at a time") { XCTAssertTrue("\($0)".contains("being added")) }
        XCTAssertTrue(harness.take(harness.run.tick(now: 100)).savedRecords.isEmpty, "the deadline (1 of 2 uploads) waits for b's input")
        XCTAssertEqual(harness.run.secure?.server.phase, .masking)
        try sum.begin(site: "b")
        try words.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
        try sum.end()
        harness.take(try harness.run.onMaskedInputSummed(sum, from: "b", header: header, now: 101))
        harness.take(harness.run.tick(now: 101))
        XCTAssertEqual(harness.run.secure?.server.phase, .unmasking)
        XCTAssertEqual(harness.run.secure?.server.survivors, ["a", "b"])
        try harness.unmask(["a", "b"], sessions: &sessions, now: 102)
        try assertMean(of: try XCTUnwrap(harness.directives.roundModelRequests.first), sites: ["a", "b"])
    }

    func testAnInputThatCannotBeSummedAbortsTheAttempt() throws {
        var harness = secureRoundOpen()
        var sessions = try harness.advertise(["a", "b", "c"], now: 1)
        try harness.share(["a", "b", "c"], sessions: &sessions, now: 2)
        let (header, _) = try harness.maskedInput("a", sessions: &sessions, update: updates["a"]!, weight: weights["a"]!, loss: losses["a"]!)
        _ = try harness.run.takeMaskedSum(for: "a", header: header)
        harness.take(harness.run.onMaskedInputFailed(from: "a", error: FedCTError(.io, "cannot read the spool"), now: 3))
        XCTAssertEqual(harness.run.machine.attempt, 2, "the partial sum is unusable: the round restarts with fresh keys")
        XCTAssertFalse(harness.run.isSumming)
    }

    func testMessagesOfAnotherRoundOrAPlainUploadAreRefused() throws {
        var harness = secureRoundOpen()
        var header = Fedct_V1_UpdateHeader()
        header.jobID = "job-0001"
        header.round = 1
        header.baseModelSha256 = JobRunHarness.model
        header.coordinateCount = 3
        header.exampleCount = 1
        XCTAssertThrowsError(try harness.run.checkUpload(from: "a", header: header) { 3 }) { XCTAssertTrue("\($0)".contains("plain update")) }
        var shares = Fedct_V1_ShareKeysRequest()
        shares.jobID = "job-0001"
        shares.round = 1
        shares.attempt = 2
        XCTAssertThrowsError(try harness.run.onShares(shares, from: "a", now: 1)) { XCTAssertEqual(($0 as? FedCTError)?.code, .failedPrecondition) }
    }
}
