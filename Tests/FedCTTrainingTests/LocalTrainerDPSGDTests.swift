// Tests of the local trainer under DP-SGD: Poisson-sampled patient batches, steps, what the accountant gets, refusals.
@testable import FedCTData
import FedCTTorch
import FedCTTraining
import XCTest

final class LocalTrainerDPSGDTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private let side = 16

    /// 7 scans of 6 patients (patient p1 has two), 16³, 2 pieces × 2 tasks.
    private var examples: [SiteExample] {
        let subjects = ["p0", "p1", "p1", "p2", "p3", "p4", "p5"]
        return subjects.enumerated().map { index, subject in
            SiteExample(scanID: "scan\(index)", subjectID: subject,
                       input: (0..<(side * side * side)).map { Float(($0 * (3 + index)) % 17) / 17 - 0.5 },
                       timeAtRisk: [1, 0.5, Float(index % 3) / 2, 0.2], events: index.isMultiple(of: 3) ? [0, 1, 0, 0] : [0, 0, 0, 0],
                       firstEventDays: [:], followUpDays: 365)
        }
    }

    private func model(norm: EncoderConfig.Norm = .group) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 2, stemStride: 2, norm: norm), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: 2)
    }

    private func trainer(dp: DPSGDSettings?) -> LocalTrainer {
        LocalTrainer(epochs: 2, batchSize: 2, learningRate: 1e-3, weightDecay: 0, volumeSize: side, dpSGD: dp)
    }

    func testDPSGDReportsWhatTheAccountantNeedsAndFollowsItsOwnSeed() throws {
        let settings = DPSGDSettings(clipNorm: 1, noiseMultiplier: 0.8, seed: 21)
        let first = try model()
        let result = try trainer(dp: settings).train(first, on: examples, seed: 9)
        XCTAssertEqual(result.steps, 6, "6 patients / batch 2 = 3 steps per epoch, 2 epochs")
        XCTAssertEqual(try XCTUnwrap(result.samplingRate), 2.0 / 6, accuracy: 1e-12, "sampling is per patient, not per scan")
        XCTAssertEqual(result.noiseMultiplier, 0.8)
        XCTAssertLessThanOrEqual(result.examples, 6 * 6, "at most one scan per patient per step")

        let again = try model()
        let repeated = try trainer(dp: settings).train(again, on: examples, seed: 9)
        XCTAssertEqual(repeated.examples, result.examples)
        XCTAssertEqual(try again.exportState(), try first.exportState(), "same DP seed: same batches and noise")
        let other = try model()
        _ = try trainer(dp: DPSGDSettings(clipNorm: 1, noiseMultiplier: 0.8, seed: 22)).train(other, on: examples, seed: 9)
        XCTAssertNotEqual(try other.exportState(), try first.exportState())
    }

    func testWithoutAFixedDPSeedTheNoiseIsSecretEvenWithTheJobSeed() throws {
        let settings = DPSGDSettings(clipNorm: 1, noiseMultiplier: 0.8)
        let first = try model(), second = try model()
        _ = try trainer(dp: settings).train(first, on: examples, seed: 9)
        _ = try trainer(dp: settings).train(second, on: examples, seed: 9)
        XCTAssertNotEqual(try first.exportState(), try second.exportState(), "the job's seed must not fix the draws or the noise")
    }

    func testEmptyPoissonDrawsAreNoiseOnlySteps() throws {
        // q = 1/6 over 6 patients: each step draws nobody with probability (5/6)⁶ ≈ 0.33, so 12 steps all but surely
        // include empty ones, which must neither stop training nor enter the mean loss.
        var trainer = trainer(dp: DPSGDSettings(clipNorm: 1, noiseMultiplier: 1, seed: 3))
        trainer.batchSize = 1
        let result = try trainer.train(model(), on: examples, seed: 3)
        XCTAssertEqual(result.steps, 12)
        XCTAssertLessThan(result.examples, 12 + 6, "Poisson batch sizes vary around 1")
        XCTAssertTrue(result.meanLoss.isFinite, "\(result.meanLoss)")
    }

    func testWithoutDPSGDTheTrainerIsUnchanged() throws {
        let model = try model()
        try model.setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 2, seed: 1)
        let result = try trainer(dp: nil).train(model, on: examples, seed: 9)
        XCTAssertEqual(result.steps, 8, "7 scans in batches of 2, 2 epochs")
        XCTAssertEqual(result.examples, 14)
        XCTAssertNil(result.samplingRate)
        XCTAssertNil(result.noiseMultiplier)
        XCTAssertTrue(result.meanLoss.isFinite)
    }

    func testBatchNormEncoderIsRefusedUnderDPSGD() throws {
        XCTAssertThrowsError(try trainer(dp: DPSGDSettings(clipNorm: 1, noiseMultiplier: 1)).train(model(norm: .batch), on: examples, seed: 1)) {
            XCTAssertTrue("\($0)".contains("group or instance"), "\($0)")
        }
    }
}
