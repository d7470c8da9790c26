// CoxBreslowTests: the Cox fit and its Breslow baseline cumulative hazard against lifelines, and a hand computation with ties.
@testable import FedCTCore
import XCTest

final class CoxBreslowTests: XCTestCase {
    /// Output of Tests/Reference/cox_breslow_reference.py.
    enum Reference {
        // lifelines 0.30.3
        static let x1: [Double] = [2.04, -2.56, 0.42, -0.57, -0.45, -0.22, -2.02, -0.23, -0.87, 3.32, 0.23, -0.35, -0.28, -0.67, -1.06, -0.39, 0.48, -0.24, 0.96, -0.2, 0.02, 1.55, 0.55, -0.51]
        static let x2: [Double] = [3.57, 2.34, 1.89, 3.09, 0.12, 2.83, 1.5, 0.36, 2.64, 3.73, 0.83, 2.52, 1.19, 2.97, 2.89, 0.87, 3.32, 2.63, 2.73, 3.28, 1.71, 3.03, 3.51, 0.41]
        static let time: [Double] = [1.019, 2.322, 2.566, 3.848, 1.521, 1.71, 5.914, 4.005, 11.583, 1.734, 2.564, 2.799, 1.623, 0.623, 8.159, 4.419, 7.076, 7.147, 8.03, 1.257, 6.657, 2.378, 0.761, 1.24]
        static let event: [Bool] = [false, false, false, true, false, true, false, true, false, true, false, true, true, false, false, false, false, true, false, true, false, false, true, true]
        static let coefficients: [Double] = [0.2530035285264382, 0.010922539710125051]
        static let eventTimes: [Double] = [0.761, 1.24, 1.257, 1.623, 1.71, 1.734, 2.799, 3.848, 4.005, 7.147]
        static let baselineCumulativeHazard: [Double] = [0.04103280879874919, 0.08760136669763813, 0.1361388019486041, 0.18947516997118846, 0.24559888375723335, 0.3049274141411725, 0.4023877764710974, 0.5095414858119406, 0.6278991915375618, 0.8879770935537735]
    }

    func testFitAndBaselineMatchLifelines() throws {
        let features = zip(Reference.x1, Reference.x2).map { [$0, $1] }
        let cox = try CoxRegression.fit(features: features, time: Reference.time, event: Reference.event, l2: 0)
        // CoxRegression works on standardised features; lifelines reports coefficients on the raw scale.
        for (k, expected) in Reference.coefficients.enumerated() {
            XCTAssertEqual(cox.coefficients[k] / cox.scales[k], expected, accuracy: 1e-6)
        }
        let baseline = try cox.breslowBaseline(features: features, time: Reference.time, event: Reference.event)
        XCTAssertEqual(baseline.times, Reference.eventTimes)
        for (got, expected) in zip(baseline.cumulativeHazards, Reference.baselineCumulativeHazard) {
            XCTAssertEqual(got, expected, accuracy: 1e-6 * max(1, expected))
        }
        XCTAssertEqual(baseline.cumulativeHazard(at: 0.5), 0)
        XCTAssertEqual(baseline.cumulativeHazard(at: 1.5), Reference.baselineCumulativeHazard[2], accuracy: 1e-6)
        XCTAssertEqual(baseline.cumulativeHazard(at: 20), Reference.baselineCumulativeHazard.last!, accuracy: 1e-6)
    }

    /// Two events tie at t = 1 with everyone at risk (Σ e^risk = 1 + 2 + 1 + 1): H₀ jumps by 2/5; the censoring at 2 adds
    /// nothing; the event at 3 has only itself at risk: +1.
    func testTiedEventsByHand() throws {
        let baseline = try CoxRegression.breslowBaseline(time: [1, 1, 2, 3], event: [true, true, false, true], risk: [0, log(2), 0, 0])
        XCTAssertEqual(baseline.times, [1, 3])
        XCTAssertEqual(baseline.cumulativeHazards[0], 0.4, accuracy: 1e-12)
        XCTAssertEqual(baseline.cumulativeHazards[1], 1.4, accuracy: 1e-12)
        XCTAssertEqual(baseline.survival(at: 2.5, risk: log(2)), exp(-0.8), accuracy: 1e-12)
        XCTAssertThrowsError(try CoxRegression.breslowBaseline(time: [1, 2], event: [false, false], risk: [0, 0]))
    }

    /// Risks beyond exp's range (e^800 = ∞) shift out: the same baseline up to e^{−800}, and survival stays in [0, 1].
    func testHugeRisksGiveFiniteSurvival() throws {
        let baseline = try CoxRegression.breslowBaseline(time: [1, 1, 2, 3], event: [true, true, false, true], risk: [800, 800 + log(2), 800, 800])
        XCTAssertEqual(baseline.logCumulativeHazards[0], log(0.4) - 800, accuracy: 1e-9)
        XCTAssertEqual(baseline.survival(at: 2.5, risk: 800 + log(2)), exp(-0.8), accuracy: 1e-12)
        XCTAssertEqual(baseline.survival(at: 0.5, risk: 900), 1, "no hazard before the first event, whatever the risk")
        XCTAssertEqual(baseline.survival(at: 1, risk: 2000), 0)
    }
}
