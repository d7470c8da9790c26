// Tests of the local trainer's optimisation settings: the job spec's training section, accumulation, augmentation, schedule.
@testable import FedCTData
import FedCTCore
import FedCTProto
import FedCTTorch
import FedCTTraining
import XCTest

final class LocalTrainerOptimisationTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private let side = 16

    private var examples: [SiteExample] {
        (0..<6).map { index in
            SiteExample(scanID: "scan\(index)", subjectID: "p\(index)",
                       input: (0..<(side * side * side)).map { Float(($0 * (5 + index)) % 19) / 19 - 0.5 },
                       timeAtRisk: [1, 0.5, Float(index % 3) / 2, 0.2], events: index.isMultiple(of: 2) ? [0, 1, 0, 0] : [0, 0, 0, 0],
                       firstEventDays: [:], followUpDays: 365)
        }
    }

    /// Stem stride 1 keeps several voxels per GroupNorm group down to layer4 (a group of one value normalises rounding noise).
    private func model() throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 1, norm: .group), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: 2)
    }

    private func training(_ yaml: String) throws -> Fedct_V1_TrainingSpec {
        try Fedct_V1_JobSpec(yaml: YAMLDocument(text: yaml, source: "job.yaml")).training
    }

    func testTrainerFollowsTheTrainingSection() throws {
        let spec = try training("""
            training:
              batch_size: 1
              volume_size: 16
              optimizer: sgd
              lr_schedule: cosine
              min_learning_rate: 0.0001
              warmup_steps: 2
              gradient_accumulation: 3
              augmentation: {flip_probability: 0.5, rotate90_probability: 0.25, intensity_scale_std: 0.1, intensity_shift_std: 0.05}
            """)
        let trainer = LocalTrainer(training: spec)
        XCTAssertEqual(trainer.optimizer, .sgd)
        XCTAssertEqual(trainer.learningRateSchedule, LearningRateSchedule(kind: .cosine, baseRate: 1e-3, minimumRate: 1e-4, warmupSteps: 2))
        XCTAssertEqual(trainer.gradientAccumulation, 3)
        XCTAssertEqual(trainer.augmentation, VolumeAugmentation(flipProbability: 0.5, rotate90Probability: 0.25, intensityScaleStd: 0.1, intensityShiftStd: 0.05))
        // Batch 1 × 3 micro-batches: 6 examples make 2 steps per epoch.
        XCTAssertEqual(try trainer.train(model(), on: examples, seed: 1, round: 2, rounds: 3).steps, 2)
    }

    func testDefaultsKeepTheEarlierTraining() throws {
        let trainer = LocalTrainer(training: try training("name: defaults"))
        XCTAssertEqual(trainer.optimizer, .adamw)
        XCTAssertEqual(trainer.schedule, .constant)
        XCTAssertEqual(trainer.gradientAccumulation, 1)
        XCTAssertTrue(trainer.augmentation.isIdentity)
        XCTAssertEqual(LocalTrainer(training: Fedct_V1_TrainingSpec()).optimizer, .adamw, "a stored spec without the field")
    }

    func testInvalidTrainingFieldsAreNamed() {
        let cases = ["optimizer: lion": "training.optimizer", "lr_schedule: step": "training.lr_schedule", "min_learning_rate: 0.1": "training.min_learning_rate",
                     "warmup_steps: -1": "training.warmup_steps", "gradient_accumulation: 5000": "training.gradient_accumulation",
                     "augmentation: {flip_probability: 1.5}": "training.augmentation.flip_probability",
                     "augmentation: {intensity_scale_std: -1}": "training.augmentation.intensity_scale_std", "momentum: 0.9": "momentum"]
        for (line, field) in cases {
            XCTAssertThrowsError(try training("training:\n  \(line)\n"), line) { XCTAssertTrue("\($0)".contains(field), "\(line): \($0)") }
        }
    }

    func testAugmentedTrainingIsReproducibleAndDiffersFromPlain() throws {
        var trainer = LocalTrainer(epochs: 1, batchSize: 2, learningRate: 1e-2, weightDecay: 0, volumeSize: side)
        let plainModel = try model()
        _ = try trainer.train(plainModel, on: examples, seed: 4)
        trainer.augmentation = VolumeAugmentation(flipProbability: 0.5, rotate90Probability: 0.5, intensityScaleStd: 0.2, intensityShiftStd: 0.2)
        let first = try model(), second = try model(), otherSeed = try model()
        _ = try trainer.train(first, on: examples, seed: 4)
        _ = try trainer.train(second, on: examples, seed: 4)
        _ = try trainer.train(otherSeed, on: examples, seed: 5)
        XCTAssertEqual(try first.exportState(), try second.exportState())
        XCTAssertNotEqual(try first.exportState(), try plainModel.exportState())
        XCTAssertNotEqual(try first.exportState(), try otherSeed.exportState())
    }

    func testAccumulationOfOneExampleMicroBatchesMatchesTheLargerBatch() throws {
        var accumulated = LocalTrainer(epochs: 1, batchSize: 1, learningRate: 1e-3, weightDecay: 0, volumeSize: side)
        accumulated.gradientAccumulation = 3
        accumulated.optimizer = .sgd
        var whole = LocalTrainer(epochs: 1, batchSize: 3, learningRate: 1e-3, weightDecay: 0, volumeSize: side)
        whole.optimizer = .sgd
        let a = try model(), b = try model()
        let resultA = try accumulated.train(a, on: examples, seed: 8)
        let resultB = try whole.train(b, on: examples, seed: 8)
        XCTAssertEqual(resultA.steps, 2)
        XCTAssertEqual(resultA.steps, resultB.steps)
        XCTAssertEqual(resultA.meanLoss, resultB.meanLoss, accuracy: 1e-5 * abs(resultB.meanLoss))
        let difference = zip(try a.exportState(), try b.exportState()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(difference, 1e-4)
    }
}
