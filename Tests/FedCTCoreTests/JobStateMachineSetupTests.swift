// Tests of JobStateMachine's setup stage: its three steps before round 1, dropouts, deadlines, restarts, and a coordinator restart.
@testable import FedCTCore
import XCTest

final class JobStateMachineSetupTests: XCTestCase {
    private func machine(minSites: Int = 2, deadline: Double = 100, minUploads: Int? = nil) -> JobStateMachine {
        JobStateMachine(policy: .init(rounds: 1, minSites: minSites, roundDeadline: deadline, livenessTimeout: 30, minUploads: minUploads),
                        globalModelSHA256: "", setupSteps: TaskSetupStage.steps)
    }

    func testThreeStepsThenRoundOneWithTheDerivedModel() throws {
        var job = machine()
        XCTAssertEqual(job.taskRequested(by: "a", now: 0), .wait(retryAfterMilliseconds: 250), "one live site is too few")
        XCTAssertEqual(job.taskRequested(by: "b", now: 1), .wait(retryAfterMilliseconds: 250), "no training during setup")
        XCTAssertEqual(job.setupStep(for: "b"), .candidates)
        XCTAssertEqual(job.openStep, .setup(.candidates))
        for stage in TaskSetupStage.steps {
            XCTAssertEqual(job.setupStep(for: "a"), stage)
            XCTAssertEqual(try job.setupSubmissionAccepted(from: "a", stage: stage, now: 2), [])
            XCTAssertNil(job.setupStep(for: "a"), "a already sent")
            XCTAssertEqual(try job.setupSubmissionAccepted(from: "b", stage: stage, now: 3), [.aggregate(step: .setup(stage), sites: ["a", "b"])])
            XCTAssertNil(job.setupStep(for: "b"), "the step is being combined")
            XCTAssertThrowsError(try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "", now: 3), "no training before the setup is committed")
            _ = job.setupStepCommitted(stage, now: 4)
        }
        XCTAssertEqual(job.setupStage, .rates, "the last step waits for the derived spec's commit")
        XCTAssertEqual(job.setupCommitted(modelSHA256: "m0", now: 5), [])
        XCTAssertEqual(job.phase, .training(round: 1))
        XCTAssertEqual(job.taskRequested(by: "a", now: 5), .train(round: 1, modelSHA256: "m0"))
    }

    func testStatisticsOutsideTheOpenStepAreRefused() throws {
        var job = machine()
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        XCTAssertThrowsError(try job.validateSetupSubmission(from: "a", stage: .prevalence)) { XCTAssertEqual(($0 as? FedCTError)?.code, .failedPrecondition) }
        XCTAssertThrowsError(try job.validateSetupSubmission(from: "c", stage: .candidates)) { XCTAssertEqual(($0 as? FedCTError)?.code, .permissionDenied) }
        _ = try job.setupSubmissionAccepted(from: "a", stage: .candidates, now: 1)
        XCTAssertThrowsError(try job.validateSetupSubmission(from: "a", stage: .candidates)) { XCTAssertEqual(($0 as? FedCTError)?.code, .protocolViolation) }
    }

    func testADroppedSiteAndTheDeadlineCloseAStepWithThoseThatSent() throws {
        var job = machine(minSites: 3, deadline: 10, minUploads: 2)
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 0) }
        _ = try job.setupSubmissionAccepted(from: "a", stage: .candidates, now: 1)
        _ = try job.setupSubmissionAccepted(from: "b", stage: .candidates, now: 1)
        XCTAssertEqual(job.participantsLeft(["c"], step: .setup(.candidates)), [.aggregate(step: .setup(.candidates), sites: ["a", "b"])])
        _ = job.setupStepCommitted(.candidates, now: 2)
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 2) }
        _ = try job.setupSubmissionAccepted(from: "a", stage: .prevalence, now: 3)
        _ = try job.setupSubmissionAccepted(from: "b", stage: .prevalence, now: 3)
        XCTAssertEqual(job.tick(now: 11), [], "deadline not reached")
        XCTAssertEqual(job.tick(now: 12), [.aggregate(step: .setup(.prevalence), sites: ["a", "b"])])
        XCTAssertThrowsError(try job.setupSubmissionAccepted(from: "c", stage: .prevalence, now: 12), "the step is closed")
        XCTAssertEqual(job.tick(now: 40), [], "closed once")
    }

    func testAStepWithTooFewSitesAtTheDeadlineFailsTheJob() throws {
        var job = machine(deadline: 10)
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        _ = try job.setupSubmissionAccepted(from: "a", stage: .candidates, now: 1)
        guard case .fail(let reason) = job.tick(now: 10).first else { return XCTFail("expected the job to fail") }
        XCTAssertTrue(reason.contains("setup step 'candidates'"), reason)
    }

    func testAnAbortedSecureStepRestartsWithANewAttemptThenFails() {
        var job = machine()
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        _ = job.setupStepCommitted(.candidates, now: 0)
        XCTAssertEqual(job.setupStage, .candidates, "only a closed step can be committed")
        for attempt in 1...2 {
            XCTAssertEqual(job.attempt, attempt)
            XCTAssertEqual(job.stepAborted(.setup(.candidates), reason: "too few sites unmasked", now: 1), [])
            XCTAssertEqual(job.setupStage, .candidates, "the same step restarts")
            XCTAssertEqual(job.setupStep(for: "a"), .candidates)
        }
        guard case .fail(let reason) = job.stepAborted(.setup(.candidates), reason: "again", now: 2).first else { return XCTFail("expected failure") }
        XCTAssertTrue(reason.contains("setup step 'candidates' failed 3 times"), reason)
    }

    func testARestartedCoordinatorRedoesSetupUntilItIsCommittedThenKeepsIt() {
        var restarted = machine()
        XCTAssertEqual(restarted.setupStage, .candidates, "nothing of an uncommitted setup is kept")
        restarted.siteSeen("a", now: 0)
        restarted.siteSeen("b", now: 0)
        XCTAssertEqual(restarted.setupStep(for: "a"), .candidates)
        var committed = JobStateMachine(policy: .init(rounds: 2, minSites: 2, roundDeadline: 100), globalModelSHA256: "m0", setupSteps: [])
        committed.siteSeen("a", now: 0)
        committed.siteSeen("b", now: 0)
        XCTAssertEqual(committed.taskRequested(by: "a", now: 0), .train(round: 1, modelSHA256: "m0"))
    }
}

/// The time-to-event objective's setup steps, by the names these tests use.
private extension SetupStep {
    static let candidates = TaskSetupStage.candidates.step
    static let prevalence = TaskSetupStage.prevalence.step
    static let rates = TaskSetupStage.rates.step
}
