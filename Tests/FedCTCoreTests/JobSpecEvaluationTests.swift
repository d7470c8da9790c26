// JobSpecEvaluationTests: the job spec's evaluation section — defaults, parsing, errors naming the field — and the policy it sets.
import FedCTCore
import FedCTProto
import XCTest

final class JobSpecEvaluationTests: XCTestCase {
    func testDefaultsAndOverrides() throws {
        let defaults = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "name: plain\n", source: "job.yaml"))
        XCTAssertTrue(defaults.evaluation.enabled)
        XCTAssertEqual(defaults.evaluation.everyRounds, 0)
        XCTAssertEqual(defaults.evaluation.minCohort, 10)
        XCTAssertEqual(defaults.evaluation.l2, 1)
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            rounds: 6
            evaluation: {every_rounds: 2, min_cohort: 25, l2: 0.5}
            """, source: "job.yaml"))
        XCTAssertEqual(spec.evaluation.everyRounds, 2)
        XCTAssertEqual(spec.evaluation.minCohort, 25)
        XCTAssertEqual(spec.evaluation.l2, 0.5)
        let off = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "evaluation: {enabled: false, min_cohort: 0}\n", source: "job.yaml"))
        XCTAssertFalse(off.evaluation.enabled, "a disabled evaluation's other fields are not checked")
    }

    func testErrorsNameTheField() {
        for (text, field) in [("evaluation: {min_cohort: 0}", "evaluation.min_cohort"), ("evaluation: {every_rounds: -1}", "evaluation.every_rounds"),
                              ("evaluation: {l2: 0}", "evaluation.l2"), ("evaluation: {minimum: 3}", "minimum")] {
            XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: text + "\n", source: "job.yaml")), text) { error in
                XCTAssertTrue("\(error)".contains(field) && "\(error)".contains("job.yaml"), "\(error)")
            }
        }
    }

    func testThePolicyEvaluatesTheLastRoundAndEveryNth() {
        let policy = JobStateMachine.Policy(rounds: 5, minSites: 1, roundDeadline: 10, evaluate: true, evaluateEveryRounds: 2)
        XCTAssertEqual((0...5).filter(policy.evaluates(afterRound:)), [2, 4, 5])
        XCTAssertEqual((0...5).filter(JobStateMachine.Policy(rounds: 5, minSites: 1, roundDeadline: 10, evaluate: true).evaluates(afterRound:)), [5])
        XCTAssertEqual((0...5).filter(JobStateMachine.Policy(rounds: 5, minSites: 1, roundDeadline: 10).evaluates(afterRound:)), [])
    }
}
