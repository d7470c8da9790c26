// Tests of JobStateMachine's evaluation phase: after the last (or every N-th) round, each live site evaluates once; the
// phase closes when all reported or at the deadline, then the job finishes or goes on.
@testable import FedCTCore
import XCTest

final class JobStateMachineEvaluationTests: XCTestCase {
    private func machine(rounds: Int = 1, every: Int = 0, deadline: Double = 100, completedRounds: Int = 0,
                         pendingEvaluation: Bool = false) -> JobStateMachine {
        JobStateMachine(policy: .init(rounds: rounds, minSites: 2, roundDeadline: deadline, livenessTimeout: 30, evaluate: true,
                                      evaluateEveryRounds: every),
                        globalModelSHA256: "m\(completedRounds)", completedRounds: completedRounds, pendingEvaluation: pendingEvaluation)
    }

    /// Runs round `round` with sites a and b and commits model m<round>.
    private func runRound(_ job: inout JobStateMachine, _ round: Int, now: Double) throws -> [JobStateMachine.Action] {
        job.siteSeen("a", now: now)
        job.siteSeen("b", now: now)
        _ = try job.uploadAccepted(from: "a", round: round, baseModelSHA256: "m\(round - 1)", now: now)
        _ = try job.uploadAccepted(from: "b", round: round, baseModelSHA256: "m\(round - 1)", now: now)
        return job.roundCommitted(round, modelSHA256: "m\(round)", now: now)
    }

    func testTheLastRoundIsEvaluatedByEveryLiveSiteOnceThenTheJobFinishes() throws {
        var job = machine()
        XCTAssertEqual(try runRound(&job, 1, now: 0), [], "the job does not finish before its evaluation")
        XCTAssertEqual(job.phase, .evaluating(round: 1))
        XCTAssertEqual(job.taskRequested(by: "a", now: 1), .evaluate(round: 1, modelSHA256: "m1"))
        XCTAssertEqual(try job.evaluationReported(from: "a", round: 1, now: 2), [])
        XCTAssertEqual(job.taskRequested(by: "a", now: 2), .wait(retryAfterMilliseconds: 250), "a already reported")
        XCTAssertThrowsError(try job.evaluationReported(from: "a", round: 1, now: 2)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .protocolViolation)
            XCTAssertTrue("\(error)".contains("a already reported"), "\(error)")
        }
        XCTAssertEqual(try job.evaluationReported(from: "b", round: 1, now: 3), [.finish])
        XCTAssertEqual(job.phase, .finished)
        XCTAssertEqual(job.taskRequested(by: "b", now: 4), .finished)
    }

    func testOnlyTheRoundsContributorsEvaluate() throws {
        var job = JobStateMachine(policy: .init(rounds: 1, minSites: 3, roundDeadline: 100, livenessTimeout: 30, minUploads: 2, evaluate: true),
                                  globalModelSHA256: "m0")
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 0) }
        _ = try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 1)
        _ = try job.uploadAccepted(from: "b", round: 1, baseModelSHA256: "m0", now: 1)
        XCTAssertEqual(job.tick(now: 100), [.aggregate(step: .round(1), sites: ["a", "b"])], "c never uploaded")
        for site in ["a", "b", "c"] { job.siteSeen(site, now: 100) }
        XCTAssertEqual(job.roundCommitted(1, modelSHA256: "m1", now: 101), [])
        XCTAssertEqual(job.participants, ["a", "b"], "c is live but sent nothing for the round: it does not hold up the evaluation")
        XCTAssertEqual(job.taskRequested(by: "c", now: 101), .wait(retryAfterMilliseconds: 250))
    }

    func testReportsThatDoNotFitAreRefusedNamingTheSite() throws {
        var job = machine()
        XCTAssertThrowsError(try job.validateEvaluationReport(from: "a", round: 1)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .failedPrecondition, "no evaluation is open while the job waits for sites")
        }
        _ = try runRound(&job, 1, now: 0)
        XCTAssertThrowsError(try job.validateEvaluationReport(from: "a", round: 2)) { error in
            XCTAssertTrue("\(error)".contains("a reported an evaluation of round 2") && "\(error)".contains("evaluation of round 1 is open"), "\(error)")
        }
        job.siteSeen("late", now: 1)
        XCTAssertEqual(job.taskRequested(by: "late", now: 1), .wait(retryAfterMilliseconds: 250))
        XCTAssertThrowsError(try job.validateEvaluationReport(from: "late", round: 1)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .permissionDenied)
        }
    }

    func testTheDeadlineClosesTheEvaluationWithoutFailingTheJob() throws {
        var job = machine(deadline: 50)
        _ = try runRound(&job, 1, now: 0)
        _ = try job.evaluationReported(from: "a", round: 1, now: 5)
        XCTAssertEqual(job.tick(now: 49), [])
        XCTAssertEqual(job.tick(now: 50), [.finish], "b never reported; the evaluation closes with a's report")
        XCTAssertEqual(job.phase, .finished)
    }

    func testEveryNthRoundIsEvaluatedBeforeTheNextRoundOpens() throws {
        var job = machine(rounds: 3, every: 2)
        XCTAssertEqual(try runRound(&job, 1, now: 0), [])
        XCTAssertEqual(job.phase, .training(round: 2), "round 1 is not evaluated")
        XCTAssertEqual(try runRound(&job, 2, now: 1), [])
        XCTAssertEqual(job.phase, .evaluating(round: 2))
        _ = try job.evaluationReported(from: "a", round: 2, now: 2)
        XCTAssertEqual(try job.evaluationReported(from: "b", round: 2, now: 2), [])
        XCTAssertEqual(job.phase, .training(round: 3))
        XCTAssertEqual(job.taskRequested(by: "a", now: 3), .train(round: 3, modelSHA256: "m2"))
        XCTAssertEqual(try runRound(&job, 3, now: 3), [])
        XCTAssertEqual(job.phase, .evaluating(round: 3), "the last round is always evaluated")
    }

    func testWithoutEvaluationTheLastCommitFinishes() throws {
        var job = JobStateMachine(policy: .init(rounds: 1, minSites: 2, roundDeadline: 100), globalModelSHA256: "m0")
        XCTAssertEqual(try runRound(&job, 1, now: 0), [.finish])
    }

    func testAResumedJobRunsItsPendingEvaluationOnceSitesAreLive() throws {
        var job = machine(rounds: 2, completedRounds: 2, pendingEvaluation: true)
        XCTAssertEqual(job.phase, .evaluating(round: 2))
        XCTAssertEqual(job.taskRequested(by: "a", now: 10), .wait(retryAfterMilliseconds: 250), "after a restart it waits for min_sites live sites")
        XCTAssertEqual(job.taskRequested(by: "b", now: 20), .evaluate(round: 2, modelSHA256: "m2"))
        XCTAssertEqual(job.taskRequested(by: "a", now: 20), .evaluate(round: 2, modelSHA256: "m2"))
        XCTAssertEqual(job.tick(now: 99), [])
        XCTAssertEqual(job.tick(now: 100), [.finish], "the deadline runs from the restart")
        XCTAssertEqual(machine(rounds: 2, completedRounds: 2).phase, .finished, "without a pending evaluation the job is done")
    }

    func testAnEvaluationNoSiteReturnsToEndsAtItsDeadline() {
        var job = machine(rounds: 2, deadline: 50, completedRounds: 2, pendingEvaluation: true)
        job.siteSeen("a", now: 10)
        XCTAssertEqual(job.participants, [], "one live site is fewer than min_sites")
        XCTAssertEqual(job.tick(now: 50), [.finish], "the job does not wait for sites forever")
    }

    func testSitesLeftAfterTheLastRoundEvaluateEvenBelowMinSites() throws {
        var job = JobStateMachine(policy: .init(rounds: 1, minSites: 2, roundDeadline: 100, livenessTimeout: 30, minUploads: 1, evaluate: true),
                                  globalModelSHA256: "m0")
        job.siteSeen("a", now: 0)
        job.siteSeen("b", now: 0)
        _ = try job.uploadAccepted(from: "a", round: 1, baseModelSHA256: "m0", now: 90)
        XCTAssertEqual(job.tick(now: 100), [.aggregate(step: .round(1), sites: ["a"])])
        XCTAssertEqual(job.roundCommitted(1, modelSHA256: "m1", now: 101), [])
        XCTAssertEqual(job.participants, ["a"], "b has not been heard from for 101 s; a evaluates without waiting for min_sites")
        XCTAssertEqual(job.taskRequested(by: "a", now: 102), .evaluate(round: 1, modelSHA256: "m1"))
        XCTAssertEqual(try job.evaluationReported(from: "a", round: 1, now: 103), [.finish])
    }
}
