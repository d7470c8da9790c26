// Tests of the two-level bootstrap (seeds, then patients): its reduction to the patient bootstrap, pairing and seeding.
@testable import FedCTCore
import XCTest

final class TwoLevelBootstrapTests: XCTestCase {
    /// Per seed, a risk score: the patients' index plus seed-specific noise, so seeds disagree a little.
    private let time: [Double] = (0..<40).map { Double(($0 * 37) % 23 + 1) }
    private let event: [Bool] = (0..<40).map { $0 % 3 != 0 }
    private func risk(seed: Int) -> [Double] { (0..<40).map { -Double(($0 * 37) % 23) + Double((($0 + 7) * (seed + 3) * 11) % 17) } }
    private func harrell(seed: Int, _ rows: [Int]) throws -> Double {
        let risk = risk(seed: seed)
        return try ConcordanceIndex.harrellConcordance(time: rows.map { time[$0] }, event: rows.map { event[$0] }, risk: rows.map { risk[$0] }).value
    }

    func testWithOneSeedItIsThePatientBootstrap() throws {
        var first = TestGenerator(seed: 9)
        var second = TestGenerator(seed: 9)
        let plan = try TwoLevelBootstrap(seeds: 1, patients: 40, replicates: 300, generator: &first)
        let twoLevel = try plan.samples { try self.harrell(seed: $0, $1) }.interval()
        let patients = try Bootstrap.percentileInterval(rows: 40, replicates: 300, generator: &second) { try self.harrell(seed: 0, $0) }
        XCTAssertEqual(twoLevel, patients)
    }

    func testDeterministicUnderASeedAndDifferentUnderAnother() throws {
        func interval(_ seed: UInt64) throws -> BootstrapInterval {
            var generator = TestGenerator(seed: seed)
            return try TwoLevelBootstrap(seeds: 4, patients: 40, replicates: 200, generator: &generator).samples { try self.harrell(seed: $0, $1) }.interval()
        }
        XCTAssertEqual(try interval(5), try interval(5))
        XCTAssertNotEqual(try interval(5), try interval(6))
        let estimate = try (0..<4).map { try harrell(seed: $0, Array(0..<40)) }.reduce(0, +) / 4
        XCTAssertEqual(try interval(5).estimate, estimate, accuracy: 1e-12, "the estimate is the mean over seeds on all patients")
    }

    /// Seed noise widens the interval: a statistic that depends only on the seed gets the spread of seed means, which
    /// the patient bootstrap alone cannot see.
    func testTheSeedLevelCountsTrainingNoise() throws {
        var generator = TestGenerator(seed: 2)
        let plan = try TwoLevelBootstrap(seeds: 5, patients: 30, replicates: 400, generator: &generator)
        let seedOnly = plan.samples { seed, _ in Double(seed) }
        let interval = try seedOnly.interval()
        XCTAssertEqual(interval.estimate, 2)
        XCTAssertLessThan(interval.lower, 1.4)
        XCTAssertGreaterThan(interval.upper, 2.6)
        let components = seedOnly.varianceComponents
        XCTAssertEqual(components.seed, 2.0 / 5, accuracy: 1e-12, "Σ(s − 2)² / 5² = 10 / 25")
        XCTAssertEqual(components.total, components.seed, accuracy: 0.08)
        let patientOnly = plan.samples { _, rows in Double(rows.filter { $0 < 15 }.count) / 30 }
        XCTAssertEqual(patientOnly.varianceComponents.seed, 0)
        XCTAssertEqual(patientOnly.varianceComponents.patient, 0.25 / 30, accuracy: 0.003, "binomial variance of a half")
    }

    /// Statistics on one plan are paired: the difference of a statistic with itself plus a constant is that constant on
    /// every replicate, so its interval has no width.
    func testDifferencesAreTakenReplicateByReplicate() throws {
        var generator = TestGenerator(seed: 3)
        let plan = try TwoLevelBootstrap(seeds: 3, patients: 40, replicates: 100, generator: &generator)
        let a = plan.samples { try self.harrell(seed: $0, $1) }
        let b = plan.samples { try self.harrell(seed: $0, $1) - 0.1 }
        let difference = try a.combined(with: b, -).interval()
        XCTAssertEqual(difference.estimate, 0.1, accuracy: 1e-12)
        XCTAssertEqual(difference.lower, 0.1, accuracy: 1e-12)
        XCTAssertEqual(difference.upper, 0.1, accuracy: 1e-12)
        XCTAssertEqual(try BootstrapSamples.mean([a, b]).interval().estimate, a.estimate - 0.05, accuracy: 1e-12)
    }

    func testUndefinedStatisticsAreReported() throws {
        var generator = TestGenerator(seed: 4)
        let plan = try TwoLevelBootstrap(seeds: 2, patients: 10, replicates: 50, generator: &generator)
        XCTAssertThrowsError(try plan.samples { seed, _ in seed == 1 ? Double.nan : 0.5 }.interval())
        XCTAssertThrowsError(try plan.samples { _, rows in
            guard Set(rows).count == rows.count else { throw FedCTError(.invalidData, "repeat") }
            return 1
        }.interval())
        var other = TestGenerator(seed: 4)
        XCTAssertThrowsError(try TwoLevelBootstrap(seeds: 0, patients: 10, replicates: 5, generator: &other))
    }
}
