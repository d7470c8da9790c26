// Tests of JobStateMachine: rounds open with enough live sites, close when all upload or at the deadline.
@testable import FedCTCore
import XCTest

final class JobStateMachineTests: XCTestCase {
    private func machine(rounds: Int = 2, minSites: Int = 2, deadline: Double = 100) -> JobStateMachine {
        JobStateMachine(policy: .init(rounds: rounds, minSites: minSites, roundDeadline: deadline, livenessTimeout: 30), globalModelSHA256: "m0")
    }

    func testRoundOpensOnlyWithEnoughLiveSites() {
        var job = machine()
        XCTAssertEqual(job.taskRequested(by: "a", now: 0), .wait(retryAfterMilliseconds: 250))
        XCTAssertEqual(job.phase, .waitingForSites)
        XCTAssertEqual(job.taskRequested(by: "b", now: 1), .train(round: 1, modelSHA256: "m0"))
        XCTAssertEqual(job.taskRequested(by: "a", now: 1), .train(round: 1, modelSHA256: "m0"))
        XCTAssertEqual(job.participants, ["a", "b"])
    }

    func testStaleSitesDoNotCountAsLive() {
        var job = machine()
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 100)
        XCTAssertEqual(job.phase, .waitingForSites, "a was last seen 100 s ago, beyond the 30 s liveness timeout")
    }

    func testFullRoundThenCommitThenFinish() throws {
        var job = machine(rounds: 2)
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        XCTAssertEqual(try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1), [])
        XCTAssertEqual(job.taskRequested(by: "a", now: 1), .wait(retryAfterMilliseconds: 250), "a already uploaded")
        XCTAssertEqual(try job.uploadAccepted(from: "b", round: 1, baseModelSHA256: "m0", now: 2), [.aggregate(step: .round(1), sites: ["a", "b"])])
        XCTAssertEqual(job.roundCommitted(1, modelSHA256: "m1", now: 3), [])
        XCTAssertEqual(job.phase, .training(round: 2))
        XCTAssertEqual(job.taskRequested(by: "b", now: 3), .train(round: 2, modelSHA256: "m1"))
        _ = try job.uploadAccepted(from: "a", round: 2, baseModelSHA256: "m1", now: 4)
        _ = try job.uploadAccepted(from: "b", round: 2, baseModelSHA256: "m1", now: 4)
        XCTAssertEqual(job.roundCommitted(2, modelSHA256: "m2", now: 5), [.finish])
        XCTAssertEqual(job.taskRequested(by: "a", now: 6), .finished)
    }

    func testUploadsThatDoNotFitAreRejected() throws {
        var job = machine()
        XCTAssertThrowsError(try job.validateUpload(from: "a", round: 1, baseModelSHA256: "m0"), "no round open yet")
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        job.siteSeen("late", now: 0.5)
        XCTAssertThrowsError(try job.validateUpload(from: "a", round: 2, baseModelSHA256: "m0")) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .failedPrecondition)
        }
        XCTAssertThrowsError(try job.validateUpload(from: "a", round: 1, baseModelSHA256: "other")) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .integrity)
        }
        XCTAssertThrowsError(try job.validateUpload(from: "late", round: 1, baseModelSHA256: "m0")) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .permissionDenied)
        }
        _ = try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1)
        XCTAssertThrowsError(try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .protocolViolation)
        }
    }

    func testDeadlineClosesWithEnoughSitesOrFails() throws {
        var job = machine(rounds: 3, minSites: 2, deadline: 10)
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        job.siteSeen("c", now: 1)
        XCTAssertEqual(job.participants, ["a", "b"], "round 1 opened before c arrived")
        _ = try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 2)
        _ = try job.uploadAccepted(from: "b", round: 1, baseModelSHA256: "m0", now: 2)
        _ = job.roundCommitted(1, modelSHA256: "m1", now: 3)
        XCTAssertEqual(job.participants, ["a", "b", "c"], "round 2 opens with every live site")
        _ = try job.uploadAccepted(from: "a", round: 2, baseModelSHA256: "m1", now: 4)
        _ = try job.uploadAccepted(from: "c", round: 2, baseModelSHA256: "m1", now: 5)
        XCTAssertEqual(job.tick(now: 12), [])
        XCTAssertEqual(job.tick(now: 13), [.aggregate(step: .round(2), sites: ["a", "c"])])
        _ = job.roundCommitted(2, modelSHA256: "m2", now: 14)
        _ = try job.uploadAccepted(from: "b", round: 3, baseModelSHA256: "m2", now: 15)
        let actions = job.tick(now: 24)
        guard case .fail(let reason)? = actions.first else { return XCTFail("expected the job to fail, got \(actions)") }
        XCTAssertTrue(reason.contains("1 of the 2 required"), reason)
        XCTAssertEqual(job.taskRequested(by: "a", now: 25), .finished)
    }

    func testResumeAfterCommittedRounds() {
        var job = JobStateMachine(policy: .init(rounds: 3, minSites: 1, roundDeadline: 10), globalModelSHA256: "m2", completedRounds: 2)
        XCTAssertEqual(job.taskRequested(by: "a", now: 0), .train(round: 3, modelSHA256: "m2"))
        let done = JobStateMachine(policy: .init(rounds: 3, minSites: 1, roundDeadline: 10), globalModelSHA256: "m3", completedRounds: 3)
        XCTAssertEqual(done.phase, .finished)
    }

    func testSitesThatLeaveBeforeMaskingNoLongerHoldTheRoundOpen() throws {
        var job = JobStateMachine(policy: .init(rounds: 1, minSites: 3, roundDeadline: 100, livenessTimeout: 30, minUploads: 2), globalModelSHA256: "m0")
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 0) }
        XCTAssertEqual(try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1), [])
        XCTAssertEqual(try job.uploadAccepted(from: "b", round: 1, baseModelSHA256: "m0", now: 1), [])
        XCTAssertEqual(job.participantsLeft(["c"], step: .round(1)), [.aggregate(step: .round(1), sites: ["a", "b"])])
        XCTAssertEqual(job.participantsLeft(["a"], step: .round(1)), [], "nothing happens outside the training phase")
    }

    func testDeadlineClosesWithTheMinimumUploadsWhenSitesDroppedOut() {
        var job = JobStateMachine(policy: .init(rounds: 1, minSites: 3, roundDeadline: 10, livenessTimeout: 30, minUploads: 2), globalModelSHA256: "m0")
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 0) }
        _ = try? job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1)
        _ = try? job.uploadAccepted(from: "c", round: 1, baseModelSHA256: "m0", now: 1)
        XCTAssertEqual(job.tick(now: 10), [.aggregate(step: .round(1), sites: ["a", "c"])])
    }

    func testAbortedRoundsRestartWithANewAttemptThenFail() {
        var job = JobStateMachine(policy: .init(rounds: 2, minSites: 2, roundDeadline: 100, livenessTimeout: 30, maxRoundAttempts: 2), globalModelSHA256: "m0")
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        XCTAssertEqual(job.attempt, 1)
        XCTAssertEqual(job.stepAborted(.round(1), reason: "too few keys", now: 1), [])
        XCTAssertEqual(job.attempt, 2)
        XCTAssertEqual(job.phase, .training(round: 1), "the live sites start the round again at once")
        XCTAssertEqual(job.stepAborted(.round(2), reason: "not open", now: 1), [], "another round's abort is ignored")
        let failed = job.stepAborted(.round(1), reason: "too few keys", now: 2)
        XCTAssertEqual(failed, [.fail("round 1 failed 2 times; last: too few keys")])
    }
}
