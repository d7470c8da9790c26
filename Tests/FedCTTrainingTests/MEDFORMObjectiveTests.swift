// The MEDFORM objective above the bridge: the example job, its `medform:` section, the model it builds, local training
// on a site's scans, the torchvision export, and what it refuses.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import XCTest

final class MEDFORMObjectiveTests: XCTestCase {
    /// The example job `Deployments/examples/<file>`.
    static func example(_ file: String = "job-medform.yaml") throws -> Fedct_V1_JobSpec {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/\(file)").standardized
        return try Fedct_V1_JobSpec(yaml: YAMLDocument(text: String(contentsOf: url, encoding: .utf8), source: file))
    }

    private func example() throws -> Fedct_V1_JobSpec { try Self.example() }

    private func refusal(_ spec: Fedct_V1_JobSpec) -> String? { Self.refusal(spec) }

    /// Why `spec` is refused (nil: accepted).
    static func refusal(_ spec: Fedct_V1_JobSpec) -> String? {
        do {
            try PretrainingObjectives.validate(spec, source: "job")
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The example job shrunk to 32³ scans, a width-8 ResNet-18 and 4 slices per scan.
    private func small() throws -> Fedct_V1_JobSpec {
        var spec = try example()
        spec.training.volumeSize = 32
        spec.training.batchSize = 3
        spec.medform.sliceEncoderWidth = 8
        spec.medform.projectionDim = 16
        spec.medform.slicesPerScan = 4
        return spec
    }

    func testExampleJobIsValidAndBuildsItsModel() throws {
        let spec = try example()
        XCTAssertEqual(spec.objectiveKind, .medform)
        XCTAssertTrue(PretrainingObjectives.names.contains("medform"))
        XCTAssertNil(refusal(spec))
        let config = try MEDFORMConfig(spec.medform, source: "job")
        XCTAssertEqual(config.sliceEncoder, .resnet18)
        XCTAssertEqual(config.temperature, 0.07)
        XCTAssertEqual(config.slicesPerScan, 16)
        // What `fedctl model init` writes: the job's initial model, as safetensors.
        let model = try TorchModel(spec: spec)
        XCTAssertEqual(model.encoder.architecture, .objectiveTower)
        XCTAssertEqual(model.embeddingDimension, 512)
        XCTAssertFalse(model.hasPerExampleLoss)
        let state = try SafeTensors.decode(SafeTensors.encode(model.state()), source: "init.safetensors")
        XCTAssertTrue(state.layout.contains { $0.name == "slice_encoder.conv1.weight" && $0.shape == [64, 1, 7, 7] })
        XCTAssertTrue(state.layout.contains { $0.name == "projection.2.weight" && $0.shape == [128, 512] })
        XCTAssertEqual(try TorchModel(spec: spec).exportState(), state.values, "the job's seed fixes the initial model")
    }

    func testDefaultsFillAnEmptySection() throws {
        let yaml = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: medform\nencoder: {architecture: none}\nmedform: {slice_encoder: resnet50}", source: "job.yaml"))
        let config = try MEDFORMConfig(yaml.medform, source: "job")
        XCTAssertEqual(config.sliceEncoder, .resnet50)
        XCTAssertEqual(config.sliceEncoderWidth, 64)
        XCTAssertEqual(config.projectionDim, 128)
        XCTAssertEqual(config.augmentation, MEDFORMAugmentation())
        XCTAssertEqual(config.features, 2048)
    }

    func testRefusalsNameTheField() throws {
        var patient = try example()
        patient.privacy.level = "patient"
        patient.privacy.noiseMultiplier = 1
        patient.privacy.clipNorm = 1
        XCTAssertTrue(refusal(patient)?.contains("field 'privacy.level' is patient") == true, "\(refusal(patient) ?? "accepted")")
        var encoder = try example()
        encoder.encoder.architecture = "resnet3d"
        XCTAssertTrue(refusal(encoder)?.contains("'encoder.architecture' must be none") == true, "\(refusal(encoder) ?? "accepted")")

        let cases: [(String, (inout Fedct_V1_JobSpec) -> Void)] = [
            ("medform.stage1_model_sha256", { $0.medform.stage = 2 }),
            ("medform.stage", { $0.medform.stage = 3 }),
            ("medform.slice_encoder", { $0.medform.sliceEncoder = "resnet34" }),
            ("medform.temperature", { $0.medform.temperature = 0 }),
            ("medform.projection_dim", { $0.medform.projectionDim = 0 }),
            ("medform.crop_min_scale", { $0.medform.cropMinScale = 1.5 }),
            ("medform.jitter", { $0.medform.jitter = 1 }),
            ("medform.blur_probability", { $0.medform.blurProbability = -0.1 }),
            ("medform.noise_std", { $0.medform.noiseStd = -1 }),
            ("medform.slices_per_scan", { $0.medform.slicesPerScan = 1; $0.training.batchSize = 1 }),
            ("training.volume_size", { $0.training.volumeSize = 16 }),
            ("preprocessing.shape", { $0.preprocessing.shape = [64, 24, 64] }),
        ]
        for (field, change) in cases {
            var spec = try example()
            change(&spec)
            XCTAssertTrue(refusal(spec)?.contains("field '\(field)'") == true, "\(field): \(refusal(spec) ?? "accepted")")
        }
        XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: medform\nencoder: {architecture: none}\nmedform: {tau: 0.1}", source: "job.yaml"))) {
            XCTAssertTrue("\($0)".contains("tau"), "\($0)")
        }
    }

    func testSitesTrainOnTheirScansAndExportTheSliceEncoder() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-medform-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticConsortium(patientsPerSite: [10], volumeSize: 32, seed: 3).write(to: folder)
        let spec = try small()
        XCTAssertNil(refusal(spec))
        let recipe = try MEDFORMObjective().siteExamples(for: spec)
        XCTAssertEqual(recipe.unit, .scan)
        let dataset = try SiteDataset.load(directory: folder.appending(path: "site-1").path, recipe: recipe, preprocessing: spec.preprocessingPipeline)
        XCTAssertFalse(dataset.train.isEmpty)

        let model = try TorchModel(spec: spec)
        let before = try model.exportState()
        var trainer = LocalTrainer(training: spec.training)
        trainer.epochs = 1
        let result = try trainer.train(model, on: dataset.train, seed: 4)
        XCTAssertTrue(result.meanLoss.isFinite && result.meanLoss > 0, "\(result.meanLoss)")
        XCTAssertEqual(result.examples, dataset.train.count)
        XCTAssertNotEqual(try model.exportState(), before, "a round changes the model (its delta is what the site uploads)")
        let embeddings = try trainer.embed(model, dataset.heldout)
        XCTAssertEqual(embeddings.count, dataset.heldout.count)
        XCTAssertTrue(embeddings.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isFinite) })

        // `fedctl model export`: the slice encoder alone, under torchvision's names, values unchanged.
        let state = try model.state()
        let exported = try TorchvisionExport.state(state)
        let encoder = state.layout.filter { $0.name.hasPrefix("slice_encoder.") }
        XCTAssertEqual(exported.layout.map(\.name), encoder.map { String($0.name.dropFirst("slice_encoder.".count)) })
        XCTAssertTrue(["conv1.weight", "bn1.running_mean", "layer4.1.bn2.bias", "layer3.0.downsample.0.weight"].allSatisfy { name in exported.layout.contains { $0.name == name } })
        XCTAssertFalse(exported.layout.contains { $0.name.hasPrefix("projection") })
        var offsets: [String: Int] = [:]
        var offset = 0
        for tensor in state.layout {
            offsets[tensor.name] = offset
            offset += tensor.count
        }
        var exportedOffset = 0
        for tensor in exported.layout {
            let source = try XCTUnwrap(offsets["slice_encoder." + tensor.name])
            XCTAssertTrue(exported.values[exportedOffset..<(exportedOffset + tensor.count)] == state.values[source..<(source + tensor.count)], "\(tensor.name) changed")
            exportedOffset += tensor.count
        }
        XCTAssertEqual(exported.metadata["format"], "torchvision_resnet_medform")
        let tte = try TorchModel(spec: Fedct_V1_JobSpec.defaults).state()
        XCTAssertFalse(TorchvisionExport.applies(to: tte.layout))
        XCTAssertThrowsError(try TorchvisionExport.state(tte)) { XCTAssertTrue("\($0)".contains("not a MEDFORM model"), "\($0)") }
    }
}
