// FixedPointEncodingTests: clipping, exact weights, the stated error bound and unbiased rounding of the fixed-point encoding.
import Crypto
@testable import FedCTCore
import FedCTProto
import XCTest

final class FixedPointEncodingTests: XCTestCase {
    func sum(_ encodings: [[UInt32]]) -> [UInt32] {
        encodings.dropFirst().reduce(encodings[0]) { total, next in zip(total, next).map { $0 &+ $1 } }
    }

    func testSummedEncodingsDecodeToTheWeightedMeanWithinTheStatedBound() throws {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<30 {
            let sites = Int.random(in: 1...12, using: &generator)
            let encoding = try FixedPointEncoding(clipNorm: 5, maxWeight: 5000, sites: sites)
            let count = 257
            let inputs = (0..<sites).map { _ in ((0..<count).map { _ in Float.random(in: -0.3...0.3, using: &generator) }, Int64.random(in: 1...5000, using: &generator)) }
            let decoded = try encoding.decode(sum: sum(try inputs.map { try encoding.encode($0.0, weight: $0.1) }))
            let totalWeight = inputs.reduce(0) { $0 + $1.1 }
            XCTAssertEqual(decoded.weight, totalWeight, "weights travel exactly")
            let bound = Double(sites) / (encoding.scale * Double(totalWeight))
            for index in 0..<count {
                let exact = inputs.reduce(0.0) { $0 + encoding.clipFactor($1.0).factor * Double($1.0[index]) * Double($1.1) } / Double(totalWeight)
                XCTAssertLessThanOrEqual(abs(Double(decoded.mean[index]) - exact), bound + abs(exact) * 1e-6, "trial \(trial) coordinate \(index)")
            }
        }
    }

    func testUpdatesAreClippedToTheNormBound() throws {
        let encoding = try FixedPointEncoding(clipNorm: 1, maxWeight: 1, sites: 1)
        let update: [Float] = [3, 4]  // norm 5, clipped to (0.6, 0.8)
        let decoded = try encoding.decode(sum: try encoding.encode(update, weight: 1))
        XCTAssertEqual(Double(decoded.mean[0]), 0.6, accuracy: 1e-6)
        XCTAssertEqual(Double(decoded.mean[1]), 0.8, accuracy: 1e-6)
        XCTAssertEqual(encoding.clipFactor(update).norm, 5, accuracy: 1e-12)
    }

    func testStochasticRoundingIsUnbiased() throws {
        // A value a third of a quantum: deterministic rounding would always give 0.
        let encoding = try FixedPointEncoding(clipNorm: 1e6, maxWeight: 1, sites: 1)
        let third = Float(1 / (3 * encoding.scale))
        let words = try encoding.encode([Float](repeating: third, count: 30_000), weight: 1)
        let ones = words.dropFirst().filter { $0 == 1 }.count
        XCTAssertEqual(words.dropFirst().filter { $0 > 1 }.count, 0)
        XCTAssertEqual(Double(ones) / 30_000, 1.0 / 3, accuracy: 0.02)
    }

    func testDistributedNoiseHasTheRequestedSpread() throws {
        let encoding = try FixedPointEncoding(clipNorm: 1, maxWeight: 1, sites: 4, noiseStandardDeviation: 0.5)
        let decoded = try encoding.decode(sum: try encoding.encode([Float](repeating: 0, count: 40_000), weight: 1))
        let variance = decoded.mean.reduce(0.0) { $0 + Double($1) * Double($1) } / 40_000
        XCTAssertEqual(variance.squareRoot(), 0.5, accuracy: 0.02)
    }

    func testBadWeightsAndRangesAreRefusedNamingTheSetting() throws {
        let encoding = try FixedPointEncoding(clipNorm: 1, maxWeight: 100, sites: 3)
        XCTAssertThrowsError(try encoding.encode([0.1], weight: 101)) { XCTAssertTrue("\($0)".contains("max_examples_per_site"), "\($0)") }
        XCTAssertThrowsError(try encoding.encode([.nan], weight: 1)) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
        XCTAssertThrowsError(try FixedPointEncoding(clipNorm: 1, maxWeight: 1 << 30, sites: 4)) { XCTAssertTrue("\($0)".contains("max_examples_per_site"), "\($0)") }
        XCTAssertThrowsError(try FixedPointEncoding(clipNorm: 0, maxWeight: 1, sites: 1)) { XCTAssertTrue("\($0)".contains("clip_norm"), "\($0)") }
    }

    func testTheLossWordSumsToTheWeightedMeanLossAndIsClamped() throws {
        let encoding = try FixedPointEncoding(clipNorm: 1, maxWeight: 1000, sites: 3, carriesLoss: true)
        let inputs: [(loss: Double, weight: Int64)] = [(0.7, 1000), (-1.25, 3), (2.5, 400)]
        let words = try inputs.map { try encoding.encode([0.1, -0.1], weight: $0.weight, loss: $0.loss) }
        XCTAssertEqual(words[0].count, encoding.wordCount(coordinates: 2))
        XCTAssertEqual(encoding.wordCount(coordinates: 2), 4, "weight, two coordinates, loss")
        let decoded = try encoding.decode(sum: sum(words))
        XCTAssertEqual(decoded.mean.count, 2, "the loss word is not a coordinate")
        let exact = inputs.reduce(0) { $0 + $1.loss * Double($1.weight) } / 1403
        XCTAssertEqual(try XCTUnwrap(decoded.loss), exact, accuracy: 3 / (2 * encoding.lossScale * 1403) + 1e-12, "within n / (2 · lossScale · Σw)")

        let clamped = try encoding.decode(sum: try encoding.encode([0], weight: 7, loss: 1e9))
        XCTAssertEqual(try XCTUnwrap(clamped.loss), FixedPointEncoding.lossBound, accuracy: 0.5 / (encoding.lossScale * 7), "losses beyond the bound are clamped")
        XCTAssertThrowsError(try encoding.encode([0], weight: 1)) { XCTAssertTrue("\($0)".contains("none was given"), "\($0)") }
        XCTAssertThrowsError(try encoding.encode([0], weight: 1, loss: .nan)) { XCTAssertTrue("\($0)".contains("nan"), "\($0)") }

        let withoutLoss = try FixedPointEncoding(clipNorm: 1, maxWeight: 1000, sites: 3)
        XCTAssertNil(try withoutLoss.decode(sum: try withoutLoss.encode([0.5], weight: 2)).loss)
        XCTAssertThrowsError(try withoutLoss.encode([0], weight: 1, loss: 1), "a DP job's encoding refuses a loss")
    }

    func testOnlyJobsWithoutDifferentialPrivacyCarryTheLoss() throws {
        var spec = Fedct_V1_JobSpec()
        spec.secureAggregation.enabled = true
        spec.secureAggregation.clipNorm = 1
        spec.secureAggregation.maxExamplesPerSite = 100
        spec.privacy.level = "none"
        XCTAssertTrue(try spec.secureEncoding(keyHolders: 3, threshold: 2).carriesLoss)
        for level in ["site", "patient"] {
            spec.privacy.level = level
            spec.privacy.clipNorm = 1
            spec.privacy.noiseMultiplier = 1
            XCTAssertFalse(try spec.secureEncoding(keyHolders: 3, threshold: 2).carriesLoss, level)
        }
    }
}
