// SetupNoiseTests: the Gaussian mechanism on setup counts (scales per part, draws, clamping, spends) and the time-to-event
// steps' per-patient bounds, checked by removing each patient from random data.
@testable import FedCTCore
import XCTest

final class SetupNoiseTests: XCTestCase {
    let parts = [BoundedCounts.Part(name: "a", range: 0..<3, sensitivity: 2), BoundedCounts.Part(name: "b", range: 3..<5, sensitivity: 1)]

    func testEachPartsDeviationIsSigmaTimesItsSensitivityTimesRootOfParts() throws {
        let deviations = try SetupNoise.standardDeviations(parts, count: 5, noiseMultiplier: 1.5)
        XCTAssertEqual(deviations[0], 1.5 * 2 * 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(deviations[1], 1.5 * 1 * 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertThrowsError(try SetupNoise.standardDeviations(parts, count: 6, noiseMultiplier: 1)) { XCTAssertTrue("\($0)".contains("cover 5 of the 6"), "\($0)") }
        let gap = [parts[0], BoundedCounts.Part(name: "b", range: 4..<5, sensitivity: 1)]
        XCTAssertThrowsError(try SetupNoise.standardDeviations(gap, count: 5, noiseMultiplier: 1)) { XCTAssertTrue("\($0)".contains("'b'"), "\($0)") }
        let zero = [BoundedCounts.Part(name: "z", range: 0..<5, sensitivity: 0)]
        XCTAssertThrowsError(try SetupNoise.standardDeviations(zero, count: 5, noiseMultiplier: 1))
        XCTAssertThrowsError(try SetupNoise.standardDeviations(parts, count: 5, noiseMultiplier: 0)) {
            XCTAssertTrue("\($0)".contains("privacy.setup_noise_multiplier"), "\($0)")
        }
    }

    func testNoiseHasTheStatedSpreadAndNoBiasAwayFromZero() throws {
        let counts = BoundedCounts(values: [1_000_000, 1_000_000, 1_000_000, 500, 500], parts: parts)
        var generator = TestGenerator(seed: 7)
        let draws = 4000
        var sums = [Double](repeating: 0, count: 5), squares = [Double](repeating: 0, count: 5)
        for _ in 0..<draws {
            let noised = try SetupNoise.noised(counts, noiseMultiplier: 10, using: &generator)
            for index in 0..<5 {
                let error = Double(noised[index]) - Double(counts.values[index])
                sums[index] += error
                squares[index] += error * error
            }
        }
        let expected = try SetupNoise.standardDeviations(parts, count: 5, noiseMultiplier: 10)
        for index in 0..<5 {
            let deviation = expected[index < 3 ? 0 : 1]
            let mean = sums[index] / Double(draws)
            let spread = (squares[index] / Double(draws) - mean * mean).squareRoot()
            XCTAssertLessThan(abs(mean), 4 * deviation / Double(draws).squareRoot() + 0.5, "coordinate \(index)")
            XCTAssertEqual(spread / deviation, 1, accuracy: 0.05, "coordinate \(index)")
        }
    }

    func testNoisedCountsStayIntegersInTheEncodingsRange() throws {
        let counts = BoundedCounts(values: [0, 0, 0, SetupEncoding.maxValue, 3], parts: parts)
        var generator = TestGenerator(seed: 11)
        var sawClampAtZero = false
        for _ in 0..<200 {
            let noised = try SetupNoise.noised(counts, noiseMultiplier: 50, using: &generator)
            XCTAssertTrue(noised.allSatisfy { $0 <= SetupEncoding.maxValue })
            sawClampAtZero = sawClampAtZero || noised[0] == 0
        }
        XCTAssertTrue(sawClampAtZero, "negative noisy counts are sent as 0")
    }

    func testASpendIsOneGaussianStepOnEveryPatientUnderTheStepsWireRound() throws {
        let rates = TaskSetupStage.rates.step
        let spend = SetupNoise.spend(jobID: "job-1", step: rates, noiseMultiplier: 2, delta: 1e-5)
        XCTAssertEqual(spend.round, -2)
        XCTAssertEqual(spend.level, .patient)
        XCTAssertEqual(spend.samplingRate, 1)
        XCTAssertEqual(spend.steps, 1)
        var accountant = RDPAccountant()
        try accountant.compose(spend)
        var gaussian = RDPAccountant()
        try gaussian.compose(samplingRate: 1, noiseMultiplier: 2, steps: 1)
        XCTAssertEqual(try accountant.epsilon(delta: 1e-5).epsilon, try gaussian.epsilon(delta: 1e-5).epsilon)
    }

    /// Random follow-ups: 30 patients with 1 to 4 scans each, each scan with some of 6 codes at random days.
    func randomFollowUps(seed: UInt64) -> [ScanFollowUp] {
        var generator = TestGenerator(seed: seed)
        var scans: [ScanFollowUp] = []
        for patient in 0..<30 {
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                var events: [String: Double] = [:]
                for code in ["A", "B", "C", "D", "E", "F"] where Bool.random(using: &generator) {
                    events[code] = Double.random(in: 1...40_000, using: &generator)
                }
                scans.append(ScanFollowUp(subject: "p\(patient)", firstEventDays: events, followUpDays: Double.random(in: 1...50_000, using: &generator)))
            }
        }
        return scans
    }

    /// Removing any one patient moves each part by at most its stated sensitivity (L2), for both counting steps.
    func testNoPatientMovesAPartByMoreThanItsSensitivity() {
        let scans = randomFollowUps(seed: 3)
        let codes = ["A", "B", "C", "D", "E", "F"]
        let grid = EventTimeGrid.standard
        let steps: [([ScanFollowUp]) -> BoundedCounts] = [
            { TaskStatistics.boundedPrevalence($0, candidates: codes) },
            { TaskStatistics.boundedRates($0, tasks: codes, grid: grid) },
        ]
        for step in steps {
            let all = step(scans)
            var largest = [Double](repeating: 0, count: all.parts.count)
            for patient in Set(scans.map(\.subject)) {
                let without = step(scans.filter { $0.subject != patient })
                XCTAssertEqual(without.parts, all.parts)
                for (index, part) in all.parts.enumerated() {
                    let change = part.range.reduce(0.0) { $0 + pow(Double(all.values[$1]) - Double(without.values[$1]), 2) }.squareRoot()
                    XCTAssertLessThanOrEqual(change, part.sensitivity + 1e-9, "\(part.name) without \(patient)")
                    largest[index] = max(largest[index], change)
                }
            }
            XCTAssertTrue(largest.allSatisfy { $0 > 0 }, "every part is moved by some patient: \(largest)")
        }
    }

    func testRatesCountOneScanPerPatient() {
        let scans = randomFollowUps(seed: 5)
        let first = scans.reduce(into: [String: ScanFollowUp]()) { if $0[$1.subject] == nil { $0[$1.subject] = $1 } }
        let bounded = TaskStatistics.boundedRates(scans, tasks: ["A"], grid: .standard)
        XCTAssertGreaterThan(scans.count, first.count)
        XCTAssertEqual(bounded.values[0] + bounded.values[1], UInt64(first.count), "one event or censored scan per patient")
        XCTAssertEqual(bounded.values, TaskStatistics.rates(scans.filter { first[$0.subject] == $0 }, tasks: ["A"], grid: .standard))
    }
}
