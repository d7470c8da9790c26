// Tests of local optimisation in the bridge: optimiser kinds, learning-rate changes, gradient accumulation, a stable loss.
import FedCTTorch
import Foundation
import XCTest

final class OptimisationTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private let shape = VolumeShape(batch: 4, depth: 16, height: 16, width: 16)
    private var volumes: [Float] { (0..<shape.voxelCount).map { Float(($0 * 29) % 23) / 23 - 0.5 } }
    private let time: [Float] = (0..<16).map { Float($0 % 3) * 0.5 }
    private let events: [Float] = (0..<16).map { $0 % 7 == 0 ? 1 : 0 }

    private func model(norm: EncoderConfig.Norm = .group) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 1, norm: norm), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 3), seed: 11)
    }

    /// The parameter change of one plain SGD step (no momentum yet, no decay) on the test batch: −lr · gradient.
    private func sgdStep(microBatchSize: Int?) throws -> (loss: Float, change: [Float]) {
        let model = try model()
        let start = try model.exportState()
        try model.resetOptimizer(.sgd, learningRate: 1, weightDecay: 0, betas: (0, 0))
        try model.setMicroBatchSize(microBatchSize)
        let loss = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
        return (loss, zip(try model.exportState(), start).map { $0 - $1 })
    }

    func testAccumulatingFourMicroBatchesOfOneGivesTheBatchGradient() throws {
        let whole = try sgdStep(microBatchSize: nil)
        let accumulated = try sgdStep(microBatchSize: 1)
        let uneven = try sgdStep(microBatchSize: 3)  // micro-batches of 3 and 1, weighted 3/4 and 1/4
        XCTAssertEqual(accumulated.loss, whole.loss, accuracy: 1e-5 * abs(whole.loss))
        XCTAssertEqual(uneven.loss, whole.loss, accuracy: 1e-5 * abs(whole.loss))
        let norm = whole.change.reduce(0) { $0 + Double($1 * $1) }.squareRoot()
        XCTAssertGreaterThan(norm, 0)
        for other in [accumulated.change, uneven.change] {
            let difference = zip(other, whole.change).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
            XCTAssertLessThan(difference, 1e-4 * norm, "‖Δaccumulated − Δbatch‖ = \(difference), ‖Δbatch‖ = \(norm)")
        }
        XCTAssertThrowsError(try model().setMicroBatchSize(-1))
    }

    func testAdamAddsDecayToTheGradientAdamWDecouplesIt() throws {
        func stateAfterSteps(_ kind: Optimizer, weightDecay: Double) throws -> [Float] {
            let model = try model()
            try model.resetOptimizer(kind, learningRate: 1e-2, weightDecay: weightDecay)
            for _ in 0..<3 { _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events) }
            return try model.exportState()
        }
        XCTAssertEqual(try stateAfterSteps(.adam, weightDecay: 0), try stateAfterSteps(.adamw, weightDecay: 0), "without decay both are Adam")
        XCTAssertNotEqual(try stateAfterSteps(.adam, weightDecay: 0.5), try stateAfterSteps(.adamw, weightDecay: 0.5))
        XCTAssertNotEqual(try stateAfterSteps(.sgd, weightDecay: 0), try stateAfterSteps(.adam, weightDecay: 0))
    }

    func testEveryOptimiserLowersTheLoss() throws {
        for (kind, rate) in [(Optimizer.adam, 3e-3), (.adamw, 3e-3), (.sgd, 1e-2)] {
            let model = try model()
            try model.resetOptimizer(kind, learningRate: rate, weightDecay: 1e-4)
            let first = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
            var last = first
            for _ in 0..<20 { last = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events) }
            XCTAssertLessThan(last, first, "\(kind): \(first) → \(last)")
        }
    }

    func testLearningRateZeroLeavesTheModelUnchanged() throws {
        let model = try model()
        try model.resetOptimizer(.adamw, learningRate: 1e-2, weightDecay: 0.1)
        _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
        let before = try model.exportState()
        try model.setLearningRate(0)
        _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
        XCTAssertEqual(try model.exportState(), before)
        try model.setLearningRate(1e-2)
        _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
        XCTAssertNotEqual(try model.exportState(), before)
        XCTAssertThrowsError(try model.setLearningRate(-1))
    }

    func testExtremeLogitsGiveAFiniteExactLoss() throws {
        // z = ±300 overflows 2^z in float32 (and 0 · inf was NaN); in log space a piece with t = 0 adds exactly 0.
        let z: [Float] = [300, -300, 120, -120]
        let t: [Float] = [0, 1, 1e-3, 0]
        let delta: [Float] = [0, 1, 0, 1]
        let loss = try TTELoss.compute(log2Hazard: z, timeAtRisk: t, events: delta, batch: 1, pieces: 2, tasks: 2)
        let expected = (pow(2.0, -300) + pow(2.0, 120) * Double(Float(1e-3))) / 4 + 420 * log(2.0) / 4
        XCTAssertTrue(loss.isFinite, "\(loss)")
        XCTAssertEqual(loss, expected, accuracy: 1e-6 * expected)
    }

    func testTrainingWithExtremeBaseHazardsStaysFinite() throws {
        // Task 0 starts at λ = 2^100 per unit time but is never at risk; task 1 at 2^-100 has an event.
        let model = try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 1, norm: .group),
                                 head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 3, taskLog2BaseHazard: [100, -100]), seed: 3)
        try model.resetOptimizer(learningRate: 1e-3, weightDecay: 0)
        let time: [Float] = (0..<16).map { $0 % 2 == 0 ? 0 : 1 }
        let events: [Float] = (0..<16).map { $0 % 4 == 3 ? 1 : 0 }
        for _ in 0..<3 {
            let loss = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
            XCTAssertTrue(loss.isFinite, "\(loss)")
        }
        XCTAssertTrue(try model.exportState().allSatisfy(\.isFinite))
    }
}
