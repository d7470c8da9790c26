// The test-only reconstruction objective through the seam: registration, the bridge's named batch, local training, DP-SGD.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTReconstructionObjective
import FedCTTorch
import FedCTTraining
import XCTest

final class ReconstructionObjectiveTests: XCTestCase {
    override class func setUp() { PretrainingObjectives.register(ReconstructionObjective()) }

    private var spec: Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.defaults
        spec.objective = ReconstructionObjective.name
        spec.encoder.width = 2
        spec.training.volumeSize = 8
        spec.training.batchSize = 4
        spec.training.localEpochs = 6
        spec.training.learningRate = 3e-3
        return spec
    }

    /// Volumes whose halves differ in brightness by a per-example amount, so the coarse copy is learnable from them.
    private func examples(_ count: Int) throws -> [SiteExample] {
        let targets = try ReconstructionObjective().siteExamples(for: spec).targets
        var random = SeededGenerator(seed: 3)
        return try (0..<count).map { index in
            let level = Float(random.uniform() * 2 - 1)
            let input = (0..<512).map { voxel in (voxel < 256 ? level : -level) + Float(random.uniform() - 0.5) * 0.1 }
            return SiteExample(scanID: "s\(index)", subjectID: "p\(index)", input: input, targets: try targets(input, [:], 100),
                               firstEventDays: [:], followUpDays: 100)
        }
    }

    func testCoarseCopyIsTheBlockMeans() {
        let volume = (0..<64).map(Float.init)  // 4³, index (a·4 + b)·4 + c
        let coarse = ReconstructionObjective.coarse(volume, size: 4, grid: 2)
        // Block (0,0,0) holds a,b,c ∈ {0,1}: indices 0,1,4,5,16,17,20,21 → mean 10.5; each step in a adds 32, b 8, c 2.
        XCTAssertEqual(coarse, [10.5, 12.5, 18.5, 20.5, 42.5, 44.5, 50.5, 52.5])
    }

    func testModelHasTheObjectivePartsAndTrainingLowersTheLoss() throws {
        XCTAssertTrue(TorchModel.bridgeObjectives.contains("reconstruction"))
        let model = try TorchModel(spec: spec)
        XCTAssertEqual(model.objective.targetShapes, ["coarse": [8]])
        XCTAssertEqual(model.outputSize, 8)
        XCTAssertTrue(model.tensors.contains { $0.name == "decoder.weight" && $0.shape == [8, 16] })
        let data = try examples(24)
        var trainer = LocalTrainer(training: spec.training)
        trainer.epochs = 1
        let first = try trainer.train(model, on: data, seed: 1).meanLoss
        trainer.epochs = 8
        let later = try trainer.train(model, on: data, seed: 2).meanLoss
        XCTAssertLessThan(later, first * 0.7, "the decoder learns the block means (first epoch \(first), later \(later))")
        XCTAssertEqual(try trainer.predict(model, Array(data.prefix(3))).map(\.count), [8, 8, 8])
    }

    func testBridgeNamesAMissingTarget() throws {
        let model = try TorchModel(spec: spec)
        let volumes = TensorBatch.volumes([Float](repeating: 0, count: 512), shape: VolumeShape(batch: 1, depth: 8, height: 8, width: 8))
        XCTAssertThrowsError(try model.trainStep(volumes)) { error in
            XCTAssertTrue("\(error)".contains("'coarse'"), "\(error)")
        }
    }

    func testPatientLevelDPIsAllowedForAPerExampleLoss() throws {
        var dpSpec = spec
        dpSpec.privacy.level = "patient"
        dpSpec.privacy.noiseMultiplier = 1
        dpSpec.privacy.clipNorm = 1
        XCTAssertNoThrow(try PretrainingObjectives.validate(dpSpec, source: "job.yaml"))
        let model = try TorchModel(spec: dpSpec)
        XCTAssertTrue(model.hasPerExampleLoss)
        let trainer = LocalTrainer(training: dpSpec.training, dpSGD: DPSGDSettings(clipNorm: 1, noiseMultiplier: 1, seed: 4))
        let result = try trainer.train(model, on: try examples(8), seed: 1)
        XCTAssertNotNil(result.samplingRate)
        XCTAssertTrue(result.meanLoss.isFinite)
    }

    func testUnknownObjectiveIsRefusedNamingTheField() {
        var unknown = spec
        unknown.objective = "no-such-objective"
        XCTAssertThrowsError(try PretrainingObjectives.validate(unknown, source: "job.yaml")) { error in
            XCTAssertTrue("\(error)".contains("job.yaml: field 'objective'"), "\(error)")
            XCTAssertTrue("\(error)".contains("tte"), "lists the known objectives: \(error)")
        }
    }
}
