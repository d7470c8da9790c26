// Tests of the server strategies against hand computations, and of their configuration errors.
@testable import FedCTCore
import FedCTProto
import XCTest

final class ServerStrategyTests: XCTestCase {
    private func strategy(_ name: String, eta: Double = 0.1, beta1: Double = 0.5, beta2: Double = 0.75, tau: Double = 0.01) throws -> ServerStrategy {
        var spec = Fedct_V1_StrategySpec()
        spec.name = name
        spec.serverLearningRate = eta
        spec.beta1 = beta1
        spec.beta2 = beta2
        spec.tau = tau
        return try ServerStrategy(spec: spec)
    }

    func testFedAvgAddsTheMeanUpdate() throws {
        var state: ServerOptimizerState?
        let next = try ServerStrategy(spec: Fedct_V1_StrategySpec()).apply(meanUpdate: [0.5, -1], to: [1, 2], state: &state)
        XCTAssertEqual(next, [1.5, 1])
        XCTAssertNil(state)
    }

    func testFedAdamTwoRoundsByHand() throws {
        let adam = try strategy("fedadam")
        var state: ServerOptimizerState?
        // Round 1, Δ = 0.2: m = 0.5·0 + 0.5·0.2 = 0.1; v = 0.75·1e-4 + 0.25·0.04 = 0.010075;
        // x = 1 + 0.1 · 0.1 / (√0.010075 + 0.01).
        let first = try adam.apply(meanUpdate: [0.2], to: [1], state: &state)
        XCTAssertEqual(Double(first[0]), 1 + 0.1 * 0.1 / (0.010075.squareRoot() + 0.01), accuracy: 1e-6)
        // Round 2, Δ = −0.2: m = 0.05 − 0.1 = −0.05; v = 0.75·0.010075 + 0.01 = 0.01755625.
        let second = try adam.apply(meanUpdate: [-0.2], to: first, state: &state)
        XCTAssertEqual(Double(second[0]), Double(first[0]) - 0.1 * 0.05 / (0.01755625.squareRoot() + 0.01), accuracy: 1e-6)
        XCTAssertEqual(Double(state!.secondMoment[0]), 0.01755625, accuracy: 1e-8)
    }

    func testFedYogiMovesTheSecondMomentAdditively() throws {
        let yogi = try strategy("fedyogi")
        var state: ServerOptimizerState?
        // v₀ = τ² = 1e-4 < Δ² = 0.04, so v grows by (1 − β₂)Δ² = 0.01: v = 0.0101.
        _ = try yogi.apply(meanUpdate: [0.2], to: [0], state: &state)
        XCTAssertEqual(Double(state!.secondMoment[0]), 0.0101, accuracy: 1e-8)
        // Now v = 0.0101 > Δ² = 0.0001, so v shrinks by (1 − β₂)Δ² = 0.000025.
        _ = try yogi.apply(meanUpdate: [0.01], to: [0], state: &state)
        XCTAssertEqual(Double(state!.secondMoment[0]), 0.0101 - 0.000025, accuracy: 1e-8)
    }

    func testStateRoundTripsThroughABlob() throws {
        let state = ServerOptimizerState(firstMoment: [1, 2], secondMoment: [3, 4])
        let restored = try ServerOptimizerState(modelState: SafeTensors.decode(SafeTensors.encode(state.modelState())))
        XCTAssertEqual(restored, state)
    }

    func testBadSettingsNameTheField() {
        XCTAssertThrowsError(try strategy("fedsgd")) { XCTAssertTrue("\($0)".contains("'strategy.name'"), "\($0)") }
        XCTAssertThrowsError(try strategy("fedadam", beta2: 1.5)) { XCTAssertTrue("\($0)".contains("'strategy.beta2'"), "\($0)") }
        var state: ServerOptimizerState?
        let adam = try? strategy("fedadam")
        XCTAssertThrowsError(try adam?.apply(meanUpdate: [1], to: [1, 2], state: &state))
    }
}
