// Tests of JobRun's plain rounds: directives for each step, deadlines, failed writes that wait and retry, cancel, restart.
@testable import FedCTCore
import FedCTProto
import XCTest

final class JobRunTests: XCTestCase {
    /// Sites a and b join and pull round 1.
    private func roundOneOpen(rounds: Int = 2, sites: [String] = ["a", "b"], minSites: Int = 2, deadline: Int = 100) -> JobRunHarness {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: rounds, minSites: minSites, deadline: deadline))
        for site in sites { harness.take(harness.run.siteSeen(site, now: 0)) }
        return harness
    }

    /// Stores round `round`'s model and record as the coordinator would; returns the directives of the record's save.
    @discardableResult
    private func commit(_ harness: inout JobRunHarness, round: Int, model: String, now: Double) -> [JobRun.Directive] {
        let saved = harness.take(harness.run.onRoundModelStored(round: round, StoredRoundModel(modelSHA256: model, optimizerStateSHA256: nil, exampleCount: 30), now: now))
        let version = saved.savedRecords.last!.version
        return harness.take(harness.run.onRecordSaved(version: version, now: now))
    }

    func testPlainRoundAsksForTheModelThenTheRecordAndOpensTheNextRound() throws {
        var harness = roundOneOpen()
        XCTAssertEqual(harness.pull(["a", "b"], now: 1)["a"], .train(round: 1, modelSHA256: JobRunHarness.model, attempt: 1))
        XCTAssertEqual(harness.directives.savedRecords.last?.record.state, .running, "the record follows the phase")
        try harness.uploadPlain("a", round: 1, examples: 10, loss: 1, now: 2)
        XCTAssertTrue(harness.directives.roundModelRequests.isEmpty, "b has not uploaded")
        try harness.uploadPlain("b", round: 1, examples: 30, loss: 3, now: 3)
        let request = try XCTUnwrap(harness.directives.roundModelRequests.last)
        XCTAssertEqual(request.round, 1)
        XCTAssertEqual(request.baseModelSHA256, JobRunHarness.model)
        guard case .plain(let updates) = request.input else { return XCTFail("a plain round aggregates spooled updates") }
        XCTAssertEqual(updates.map(\.site), ["a", "b"])
        XCTAssertEqual(updates.map(\.exampleCount), [10, 30])
        XCTAssertEqual(harness.run.machine.phase, .aggregating(round: 1))

        let saved = harness.take(harness.run.onRoundModelStored(round: 1, StoredRoundModel(modelSHA256: "m1", optimizerStateSHA256: nil, exampleCount: 40), now: 4))
        let (record, version) = try XCTUnwrap(saved.savedRecords.first)
        XCTAssertEqual(record.rounds.map(\.round), [1])
        XCTAssertEqual(record.rounds[0].sites, ["a", "b"])
        XCTAssertEqual(record.rounds[0].meanTrainLoss, 2.5, accuracy: 1e-12, "example-weighted: (10·1 + 30·3) / 40")
        XCTAssertEqual(record.rounds[0].siteTrainLosses, ["a": 1, "b": 3], "a plain round keeps each site's loss from its header")
        XCTAssertEqual(record.rounds[0].bytesUp, 32)
        XCTAssertEqual(harness.run.machine.completedRounds, 0, "not committed before the record is stored")
        let after = harness.take(harness.run.onRecordSaved(version: version, now: 5))
        XCTAssertEqual(after.deletedSpools, ["/spool/a-1.f32", "/spool/b-1.f32"])
        XCTAssertEqual(harness.run.machine.completedRounds, 1)
        XCTAssertEqual(harness.run.machine.phase, .training(round: 2))
        XCTAssertEqual(harness.pull(["a"], now: 6)["a"], .train(round: 2, modelSHA256: "m1", attempt: 1))
    }

    func testLastRoundEndsTheJobOnlyOnceItsEndStateIsStored() throws {
        var harness = roundOneOpen(rounds: 1)
        harness.pull(["a", "b"], now: 1)
        try harness.uploadPlain("a", round: 1, now: 2)
        try harness.uploadPlain("b", round: 1, now: 2)
        let ending = commit(&harness, round: 1, model: "m1", now: 3)
        let (record, version) = try XCTUnwrap(ending.savedRecords.last)
        XCTAssertEqual(record.state, .succeeded)
        XCTAssertEqual(record.message, "completed 1 rounds")
        XCTAssertTrue(ending.endedJobs.isEmpty, "not ended before the end state is stored")

        XCTAssertTrue(harness.take(harness.run.onRecordSaveFailed(version: version, error: diskFull, now: 4)).isEmpty)
        XCTAssertNotNil(harness.run.writeFailure)
        XCTAssertTrue(harness.take(harness.run.tick(now: 6)).savedRecords.isEmpty, "the retry waits retryDelay")
        let retry = harness.take(harness.run.tick(now: 9))
        XCTAssertEqual(retry.savedRecords.map(\.record.state), [.succeeded])
        XCTAssertTrue(harness.take(harness.run.onRecordSaveFailed(version: version, error: diskFull, now: 9)).endedJobs.isEmpty,
                      "a failed state write never lets the job report success")
        XCTAssertEqual(harness.take(harness.run.tick(now: 14)).savedRecords.count, 1)
        XCTAssertEqual(harness.take(harness.run.onRecordSaved(version: version, now: 15)).endedJobs, [.succeeded])
        XCTAssertNil(harness.run.writeFailure)
    }

    func testFullDiskOnCommitKeepsTheRoundWaitingWithoutUsingAnAttempt() throws {
        var harness = roundOneOpen()
        harness.pull(["a", "b"], now: 1)
        try harness.uploadPlain("a", round: 1, now: 2)
        try harness.uploadPlain("b", round: 1, now: 2)
        // The blob store is full: the round waits, its updates stay spooled, the attempt is not spent.
        for attempt in 0..<5 {
            let now = 10 + Double(attempt) * 10
            XCTAssertTrue(harness.take(harness.run.onRoundModelFailed(round: 1, error: diskFull, now: now)).isEmpty)
            XCTAssertEqual(harness.run.machine.phase, .aggregating(round: 1))
            XCTAssertEqual(harness.run.machine.attempt, 1)
            XCTAssertTrue(harness.run.writeFailure?.contains("No space left") == true)
            XCTAssertTrue(harness.take(harness.run.tick(now: now + 1)).roundModelRequests.isEmpty, "no retry before retryDelay")
            XCTAssertEqual(harness.take(harness.run.tick(now: now + 5)).roundModelRequests.map(\.round), [1], "retried")
        }
        XCTAssertTrue(harness.directives.deletedSpools.isEmpty, "nothing of the round is dropped while it waits")
        // Then the database is full: the record waits too.
        let saved = harness.take(harness.run.onRoundModelStored(round: 1, StoredRoundModel(modelSHA256: "m1", optimizerStateSHA256: nil, exampleCount: 20), now: 70))
        let version = try XCTUnwrap(saved.savedRecords.last).version
        _ = harness.take(harness.run.onRecordSaveFailed(version: version, error: diskFull, now: 71))
        XCTAssertEqual(harness.run.machine.completedRounds, 0)
        XCTAssertEqual(harness.take(harness.run.tick(now: 76)).savedRecords.map { $0.record.rounds.count }, [1])
        // Space is freed: the round commits and the job goes on.
        _ = harness.take(harness.run.onRecordSaved(version: version, now: 77))
        XCTAssertEqual(harness.run.machine.completedRounds, 1)
        XCTAssertEqual(harness.run.machine.globalModelSHA256, "m1")
        XCTAssertEqual(harness.directives.deletedSpools.count, 2)
    }

    func testUnreadableUpdatesFailAPlainRoundAndTheJob() throws {
        var harness = roundOneOpen()
        harness.pull(["a", "b"], now: 1)
        try harness.uploadPlain("a", round: 1, now: 2)
        try harness.uploadPlain("b", round: 1, now: 2)
        let failed = harness.take(harness.run.onRoundModelFailed(round: 1, error: FedCTError(.invalidData, "non-finite mean"), now: 3))
        XCTAssertEqual(failed.savedRecords.last?.record.state, .failed)
        XCTAssertTrue(failed.savedRecords.last?.record.message.contains("non-finite mean") == true)
        XCTAssertEqual(failed.deletedSpools.count, 2)
        XCTAssertEqual(harness.take(harness.run.onRecordSaved(version: failed.savedRecords.last!.version, now: 4)).endedJobs, [.failed])
    }

    func testDeadlineClosesTheRoundWithThoseThatUploadedOrFailsTheJob() throws {
        // Round 1 opens with a and b; c joins during it, so round 2 opens with all three.
        var harness = roundOneOpen(minSites: 2, deadline: 50)
        harness.take(harness.run.siteSeen("c", now: 1))
        try harness.uploadPlain("a", round: 1, now: 10)
        try harness.uploadPlain("b", round: 1, now: 10)
        commit(&harness, round: 1, model: "m1", now: 20)
        XCTAssertEqual(harness.run.machine.participants, ["a", "b", "c"])
        try harness.uploadPlain("a", round: 2, now: 30)
        try harness.uploadPlain("c", round: 2, now: 30)
        XCTAssertTrue(harness.take(harness.run.tick(now: 69)).roundModelRequests.isEmpty)
        let closing = harness.take(harness.run.tick(now: 70))
        let request = try XCTUnwrap(closing.roundModelRequests.first)
        XCTAssertEqual(request.baseModelSHA256, "m1")
        guard case .plain(let updates) = request.input else { return XCTFail("plain") }
        XCTAssertEqual(updates.map(\.site), ["a", "c"])

        var lonely = roundOneOpen(sites: ["a", "b"], minSites: 2, deadline: 50)
        lonely.pull(["a", "b"], now: 0)
        try lonely.uploadPlain("a", round: 1, now: 10)
        let failing = lonely.take(lonely.run.tick(now: 50))
        XCTAssertEqual(failing.savedRecords.last?.record.state, .failed)
        XCTAssertTrue(failing.savedRecords.last?.record.message.contains("deadline") == true)
        XCTAssertEqual(lonely.pull(["b"], now: 51)["b"], .wait(retryAfterMilliseconds: 250), "an ending job hands out no work")
    }

    func testCancelDiscardsTheOpenRoundAndRefusesLaterMessages() throws {
        var harness = roundOneOpen()
        harness.pull(["a", "b"], now: 1)
        try harness.uploadPlain("a", round: 1, now: 2)
        let cancelling = harness.take(harness.run.end(.cancelled, message: "cancelled by admin", now: 3))
        XCTAssertEqual(cancelling.deletedSpools, ["/spool/a-1.f32"])
        XCTAssertEqual(cancelling.savedRecords.last?.record.state, .cancelled)
        XCTAssertThrowsError(try harness.uploadPlain("b", round: 1, now: 4)) { XCTAssertEqual(($0 as? FedCTError)?.code, .failedPrecondition) }
        XCTAssertTrue(harness.run.end(.failed, message: "again", now: 5).isEmpty, "a job ends once")
        XCTAssertEqual(harness.take(harness.run.onRecordSaved(version: cancelling.savedRecords.last!.version, now: 6)).endedJobs, [.cancelled])
    }

    func testQueuedJobStartsWaitingForSitesOnceThatIsStored() throws {
        var harness = JobRunHarness(spec: JobRunHarness.spec(), state: .queued)
        let started = harness.take(harness.run.activate(unixSeconds: 1_000))
        let (record, version) = try XCTUnwrap(started.savedRecords.first)
        XCTAssertEqual(record.state, .waitingForSites)
        XCTAssertEqual(record.startedUnixSeconds, 1_000)
        XCTAssertTrue(harness.run.hasUnsavedChanges)
        harness.take(harness.run.onRecordSaved(version: version, now: 0))
        XCTAssertFalse(harness.run.hasUnsavedChanges)
    }

    func testRestartResumesAfterTheLastCommittedRound() throws {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: 3), state: .running, committedRounds: 2)
        XCTAssertEqual(harness.run.machine.completedRounds, 2)
        _ = harness.take(harness.run.siteSeen("a", now: 0))
        XCTAssertEqual(harness.directives.savedRecords.last?.record.state, .waitingForSites, "a restarted job waits for its sites again")
        XCTAssertEqual(harness.pull(["a", "b"], now: 1)["b"], .train(round: 3, modelSHA256: String(repeating: "2", count: 64), attempt: 1))
        XCTAssertThrowsError(try harness.uploadPlain("a", round: 2, now: 2), "a committed round takes no more updates")

        let done = JobRunHarness(spec: JobRunHarness.spec(rounds: 2), state: .running, committedRounds: 2)
        XCTAssertEqual(done.run.machine.phase, .finished)
        let orphan = JobRunHarness(spec: JobRunHarness.spec(), initialModel: "")
        XCTAssertFalse(orphan.run.canRun, "no model and no setup stage: the coordinator fails it")
    }

    func testWrongUploadsAreRefusedBeforeTheirPayload() throws {
        var harness = roundOneOpen()
        harness.pull(["a", "b"], now: 1)
        var header = Fedct_V1_UpdateHeader()
        header.jobID = "job-0001"
        header.round = 1
        header.baseModelSha256 = JobRunHarness.model
        header.coordinateCount = 3
        header.exampleCount = 1
        XCTAssertThrowsError(try harness.run.checkUpload(from: "a", header: header) { 4 }) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
        header.coordinateCount = 4
        header.exampleCount = 0
        XCTAssertThrowsError(try harness.run.checkUpload(from: "a", header: header) { 4 }) { XCTAssertEqual(($0 as? FedCTError)?.code, .invalidData) }
        header.jobID = "job-0002"
        XCTAssertThrowsError(try harness.run.checkUpload(from: "a", header: header) { 4 }) { XCTAssertTrue("\($0)".contains("not the running job")) }
        header.jobID = "job-0001"
        header.masked.attempt = 1
        XCTAssertThrowsError(try harness.run.checkUpload(from: "a", header: header) { 4 }) { XCTAssertTrue("\($0)".contains("does not use secure aggregation")) }
    }

    func testDownloadsAndUploadsAreTalliedPerSite() throws {
        var harness = roundOneOpen()
        harness.pull(["a", "b"], now: 1)
        harness.run.recordDownload(site: "a", bytes: 100)
        try harness.uploadPlain("a", round: 1, now: 2)
        XCTAssertEqual(harness.run.tally.bytesDown, 100)
        let progress = harness.run.siteProgress(now: 3)
        XCTAssertEqual(progress.map(\.site), ["a", "b"])
        XCTAssertEqual(progress.map(\.state), ["uploaded", "training"])
        XCTAssertEqual(progress[0].bytesUp, 16)
        XCTAssertEqual(harness.run.phaseDescription, "training")
    }
}
