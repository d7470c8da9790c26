// Tests of the experiment's three checks as decisions on given intervals and estimates (no training).
@testable import FedCTCore
import FedCTExperiment
import FedCTTraining
import XCTest

final class ExperimentChecksTests: XCTestCase {
    private func interval(_ estimate: Double, _ lower: Double, _ upper: Double) -> BootstrapInterval {
        BootstrapInterval(estimate: estimate, lower: lower, upper: upper, level: 0.95, replicates: 100, failed: 0)
    }

    func testNonInferiorityPassesWhenFederatedIsAboveCentralised() {
        let check = ExperimentCheck.nonInferiority(interval(0.038, 0.010, 0.065), scope: "pooled")
        XCTAssertEqual(check.passed, true, "federated clearly above centralised is non-inferior")
        XCTAssertEqual(check.verdict, "PASS")
        XCTAssertTrue(check.detail.contains("0.038 [0.010, 0.065]"), check.detail)
    }

    func testNonInferiorityDependsOnTheLowerEndOnly() {
        XCTAssertEqual(ExperimentCheck.nonInferiority(interval(0.0, -0.019, 0.019), scope: "p").passed, true)
        XCTAssertEqual(ExperimentCheck.nonInferiority(interval(0.0, -0.021, 0.019), scope: "p").passed, false, "a wide interval is not decided")
        XCTAssertEqual(ExperimentCheck.nonInferiority(interval(-0.05, -0.08, -0.03), scope: "p").verdict, "NOT MET")
        XCTAssertEqual(ExperimentCheck.nonInferiority(interval(0.0, -0.04, 0.04), margin: 0.05, scope: "p").passed, true)
        XCTAssertEqual(ExperimentCheck.nonInferiority(nil, scope: "p").verdict, "N/A")
    }

    func testSuperiorityNeedsTheWholeIntervalAboveZero() {
        XCTAssertEqual(ExperimentCheck.superiority(interval(0.12, 0.001, 0.2), scope: "p").passed, true)
        XCTAssertEqual(ExperimentCheck.superiority(interval(0.12, -0.001, 0.2), scope: "p").passed, false)
        XCTAssertEqual(ExperimentCheck.superiority(interval(-0.1, -0.2, -0.01), scope: "p").passed, false)
        XCTAssertNil(ExperimentCheck.superiority(nil, scope: "p").passed)
    }

    func testAboveBestLocalComparesWithTheBestLocalModel() {
        let locals = [(label: "local-only:site-1", estimate: 0.60), (label: "local-only:site-2", estimate: 0.75)]
        let above = ExperimentCheck.aboveBestLocal(federated: 0.76, locals: locals, difference: interval(0.01, -0.05, 0.07), site: "site-3", scope: "DEATH")
        XCTAssertEqual(above.passed, true)
        XCTAssertTrue(above.detail.contains("local-only:site-2 0.750"), above.detail)
        XCTAssertTrue(above.detail.contains("0.010 [-0.050, 0.070]"), above.detail)
        XCTAssertEqual(ExperimentCheck.aboveBestLocal(federated: 0.70, locals: locals, difference: nil, site: "site-3", scope: "DEATH").passed, false,
                       "above one local model but not the best")
        XCTAssertNil(ExperimentCheck.aboveBestLocal(federated: 0.70, locals: [], difference: nil, site: "site-3", scope: "DEATH").passed)
        XCTAssertNil(ExperimentCheck.aboveBestLocal(federated: nil, locals: locals, difference: nil, site: "site-3", scope: "DEATH").passed)
    }

    /// Seeds and held-out patients needed for ±0.02 follow from the variance components: Var = V_seed·S₀/S + V_patient·N₀/N.
    func testPrecisionSaysWhatWouldReachTheTarget() {
        let budget = (0.02 / 1.959964) * (0.02 / 1.959964)
        // Half the budget from seeds and patients each at 5 seeds and 1000 patients: ±0.02 is just reached.
        let even = ExperimentPrecision(interval: interval(0.1, 0.08, 0.12), components: (budget / 2, budget / 2, budget), seeds: 5, patients: 1000, target: 0.02)
        XCTAssertTrue(even.reached)
        XCTAssertEqual(even.seedsNeeded, 5)
        XCTAssertEqual(even.patientsNeeded, 1000)
        XCTAssertTrue(even.summary.contains("reached"), even.summary)
        // Twice the variance, all from patients: seeds cannot help; twice the patients can.
        let patients = ExperimentPrecision(interval: interval(0.1, 0.07, 0.13), components: (0, 2 * budget, 2 * budget), seeds: 5, patients: 1000, target: 0.02)
        XCTAssertFalse(patients.reached)
        XCTAssertNil(patients.seedsNeeded)
        XCTAssertEqual(patients.patientsNeeded, 2000)
        XCTAssertTrue(patients.summary.contains("2000 held-out patients at 5 seeds"), patients.summary)
        // Seeds take the whole budget, patients half of it: doubling the seeds halves theirs.
        let mixed = ExperimentPrecision(interval: interval(0.1, 0.06, 0.14), components: (budget, budget / 2, 1.5 * budget), seeds: 5, patients: 1000, target: 0.02)
        XCTAssertEqual(mixed.seedsNeeded, 10, "V_seed·5/S = budget/2 → S = 10")
        XCTAssertNil(mixed.patientsNeeded, "the seeds alone use the whole budget")
        XCTAssertEqual(mixed.bothFactor, 1.5, accuracy: 1e-9)
        XCTAssertTrue(mixed.summary.contains("or both ×1.5 (8 seeds, 1500 held-out patients)"), mixed.summary)
    }
}
