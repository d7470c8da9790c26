// Tests of the experiment's checkpoints: a run resumes from its finished seeds, grows by seeds, keeps other specs apart, names damage.
import FedCTCore
import FedCTData
@testable import FedCTExperiment
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import Synchronization
import XCTest

final class ExperimentCheckpointTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// Two tiny synthetic sites (16³ volumes), a width-2 ResNet-10 TTE spec trained for one round, three arms, and a
    /// checkpoint folder; all in a temporary folder removed after the test.
    private func makeExperiment() throws -> (experiment: PretrainingExperiment, checkpoints: URL) {
        let root = FileManager.default.temporaryDirectory.appending(path: "fedct-checkpoint-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try SyntheticConsortium(patientsPerSite: [10, 8], volumeSize: 16, seed: 9).write(to: root)
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: checkpoint-test
            rounds: 1
            seed: 5
            encoder: {architecture: resnet3d, depth: 10, width: 2, stem_stride: 1, norm: group}
            tte: {task_codes: [DEATH, PE], piece_edges_days: [365, 1825, 3650], rank: 2}
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.003, volume_size: 16}
            """, source: "job.yaml"))
        let sites = try (0..<2).map { index in
            let name = SyntheticConsortium.siteName(index)
            return PretrainingExperiment.Site(name: name, dataset: try SiteDataset.load(directory: root.appending(path: name).path, labeler: spec.labeler,
                                                                                preprocessing: spec.preprocessingPipeline,
                                                                                alsoTracking: BinaryOutcome.trackedCodes))
        }
        var experiment = PretrainingExperiment(spec: spec, sites: sites)
        experiment.arms = [.randomInit, .fedAvg, .centralised]
        experiment.seeds = 1
        experiment.bootstrapReplicates = 20
        experiment.checkpointFolder = root.appending(path: "checkpoints")
        return (experiment, root.appending(path: "checkpoints"))
    }

    /// Runs `experiment`, returning its table and progress lines.
    private func run(_ experiment: PretrainingExperiment) throws -> (table: ExperimentTable, progress: [String]) {
        var experiment = experiment
        let lines = Mutex<[String]>([])
        experiment.progress = { line in lines.withLock { $0.append(line) } }
        let table = try experiment.run()
        return (table, lines.withLock { $0 })
    }

    private func trainedRounds(_ progress: [String]) -> [String] { progress.filter { $0.contains(" round ") } }

    /// A second run over the same folder trains nothing and scores exactly what the first did; with two seeds it trains
    /// only the second, and the table equals the one of a run that trained both seeds without checkpoints.
    func testARunResumesFromItsCheckpointsAndGrowsBySeeds() throws {
        let (base, folder) = try makeExperiment()
        var experiment = base
        let first = try run(experiment)
        XCTAssertEqual(trainedRounds(first.progress).count, 2, "FedAvg and centralised train one round: \(first.progress)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.appending(path: try experiment.trainingFingerprint()).path).sorted()
        XCTAssertEqual(files, ["seed-0.0.random-init.safetensors", "seed-0.1.federated-fedavg.safetensors", "seed-0.2.centralised.safetensors", "seed-0.json"])

        let again = try run(experiment)
        XCTAssertEqual(trainedRounds(again.progress), [], "nothing trains again: \(again.progress)")
        XCTAssertTrue(again.progress.contains { $0.hasPrefix("seed 1/1 (spec seed 5): restored from ") }, "\(again.progress)")
        XCTAssertEqual(again.table.rows, first.table.rows)
        XCTAssertEqual(again.table.arms.map(\.trainingSeconds), first.table.arms.map(\.trainingSeconds), "the seconds the seed trained in")
        XCTAssertEqual(again.table.curves, first.table.curves)
        XCTAssertFalse(first.table.curves.isEmpty)

        experiment.seeds = 2
        let grown = try run(experiment)
        XCTAssertEqual(trainedRounds(grown.progress).count, 2, "only the second seed trains: \(grown.progress)")
        XCTAssertTrue(grown.progress.contains("seed 2/2 (spec seed 6)"), "\(grown.progress)")
        experiment.checkpointFolder = nil
        let fresh = try run(experiment)
        XCTAssertEqual(trainedRounds(fresh.progress).count, 4)
        XCTAssertEqual(grown.table.rows, fresh.table.rows, "restored and trained seeds score as one run of both")
        XCTAssertEqual(grown.table.differences, fresh.table.differences)
    }

    /// The fingerprint covers the spec, the arms and the train data, so another of any of them trains afresh in a
    /// subfolder of its own, beside the first.
    func testAnotherSpecArmsOrDataTrainAfreshBesideTheFirst() throws {
        let (experiment, folder) = try makeExperiment()
        let fingerprint = try experiment.trainingFingerprint()
        XCTAssertEqual(try experiment.trainingFingerprint(), fingerprint, "the same experiment, the same fingerprint")
        var otherSpec = experiment
        otherSpec.spec.training.learningRate = 0.001
        var otherArms = experiment
        otherArms.arms = [.randomInit, .fedAvg]
        var otherData = experiment
        otherData.sites[1].dataset.train.removeLast()
        var otherInput = experiment
        otherInput.sites[0].dataset.train[0].inputs[0][100] += 1
        let fingerprints = try [otherSpec, otherArms, otherData, otherInput].map { try $0.trainingFingerprint() }
        XCTAssertEqual(Set(fingerprints + [fingerprint]).count, 5, "each change is another experiment")

        _ = try run(experiment)
        let other = try run(otherSpec)
        XCTAssertEqual(trainedRounds(other.progress).count, 2, "another learning rate trains again: \(other.progress)")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), [fingerprint, fingerprints[0]])
    }

    /// A changed model file, or a record that is not JSON, stops the run with an error naming the file and saying to
    /// delete the seed's record.
    func testDamagedCheckpointsAreNamed() throws {
        let (experiment, folder) = try makeExperiment()
        _ = try run(experiment)
        let seedFolder = folder.appending(path: try experiment.trainingFingerprint())
        let model = seedFolder.appending(path: "seed-0.1.federated-fedavg.safetensors")
        let handle = try FileHandle(forWritingTo: model)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        XCTAssertThrowsError(try run(experiment)) { error in
            let message = (error as? FedCTError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains(model.path) && message.contains("SHA-256") && message.contains("delete \(seedFolder.path)/seed-0.json"), message)
        }
        let record = seedFolder.appending(path: "seed-0.json")
        try Data("{\"format\": 1, \"fingerprint\": ".utf8).write(to: record)
        XCTAssertThrowsError(try run(experiment)) { error in
            let message = (error as? FedCTError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix("\(record.path): not a readable seed record") && message.contains("delete it to train seed 1 again"), message)
        }
        try FileManager.default.removeItem(at: record)
        let retrained = try run(experiment)
        XCTAssertEqual(trainedRounds(retrained.progress).count, 2, "without its record the seed trains again")
        XCTAssertNoThrow(try run(experiment), "and its new checkpoint restores")
    }
}
