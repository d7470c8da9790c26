// The HLIP objective above the bridge: the example job, its `hlip:` section, the model it builds, and what it refuses.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import XCTest

final class HLIPObjectiveTests: XCTestCase {
    private func example() throws -> Fedct_V1_JobSpec {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/job-hlip.yaml").standardized
        return try Fedct_V1_JobSpec(yaml: YAMLDocument(text: String(contentsOf: url, encoding: .utf8), source: "job-hlip.yaml"))
    }

    private func refusal(_ spec: Fedct_V1_JobSpec) -> String? {
        do {
            try PretrainingObjectives.validate(spec, source: "job")
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testExampleJobIsValidAndBuildsItsModel() throws {
        let spec = try example()
        XCTAssertEqual(spec.objectiveKind.rawValue, "hlip")
        XCTAssertTrue(PretrainingObjectives.names.contains("hlip"))
        XCTAssertNil(refusal(spec))
        let config = try HLIPConfig(spec.hlip, source: "job")
        XCTAssertEqual(config.pattern, [.slice, .slice, .scan, .slice, .slice, .scan])
        XCTAssertEqual(config.loss, .siglip)
        let model = try TorchModel(spec: spec)
        XCTAssertEqual(model.encoder.architecture, .objectiveTower)
        XCTAssertEqual(model.embeddingDimension, 128)
        XCTAssertFalse(model.hasPerExampleLoss)
        XCTAssertTrue(model.tensors.contains { $0.name == "visual.blocks.5.attn.qkv.weight" && $0.shape == [576, 192] })
        XCTAssertTrue(model.tensors.contains { $0.name == "text.positional_embedding" && $0.shape == [256, 192] })
        XCTAssertFalse(model.tensors.contains { $0.name.hasPrefix("conv1") })
    }

    func testDefaultsFillAnEmptySection() throws {
        var spec = try example()
        spec.hlip = Fedct_V1_HLIPSpec()
        spec.hlip.depth = 9
        let config = try HLIPConfig(spec.hlip, source: "job")
        XCTAssertEqual(config.dim, 192)
        XCTAssertEqual(config.pattern, [.slice, .slice, .scan, .slice, .slice, .scan, .slice, .slice, .scan])
        XCTAssertEqual(config.patch, [8, 8, 8])
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
        var tte = Fedct_V1_JobSpec.defaults
        tte.encoder.architecture = "none"
        XCTAssertTrue(refusal(tte)?.contains("needs a shared encoder") == true, "\(refusal(tte) ?? "accepted")")

        let cases: [(String, (inout Fedct_V1_JobSpec) -> Void)] = [
            ("hlip.pattern", { $0.hlip.pattern = ["slice", "volume", "scan", "slice", "slice", "scan"] }),
            ("hlip.pattern", { $0.hlip.pattern = ["slice"] }),
            ("hlip.dim", { $0.hlip.dim = 200 }),
            ("hlip.loss", { $0.hlip.loss = "infonce" }),
            ("hlip.patch", { $0.hlip.patch = [8, 8, 12] }),
            ("hlip.drop_path", { $0.hlip.dropPath = 1 }),
            ("hlip.heads", { $0.hlip.heads = 0 }),
            ("hlip.report_sections", { $0.hlip.reportSections = ["impression:"] }),
        ]
        for (field, change) in cases {
            var spec = try example()
            change(&spec)
            XCTAssertTrue(refusal(spec)?.contains("field '\(field)'") == true, "\(field): \(refusal(spec) ?? "accepted")")
        }
        XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: hlip\nencoder: {architecture: none}\nhlip: {width: 3}", source: "job.yaml"))) {
            XCTAssertTrue("\($0)".contains("hlip.width"), "\($0)")
        }
    }

    func testContrastiveBatchIsTheStepOrAMicroBatch() throws {
        var spec = try example()
        spec.training.batchSize = 4
        spec.training.gradientAccumulation = 8
        XCTAssertNil(refusal(spec))
        XCTAssertEqual(try HLIPObjective().contrastiveBatch(of: spec, source: "job").studies, 32, "absent: the step's batch, cached")
        XCTAssertTrue(try HLIPObjective().modelObjective(for: spec).cachesFeatures)
        spec.hlip.contrastiveBatch = 4
        XCTAssertNil(refusal(spec))
        XCTAssertFalse(try HLIPObjective().modelObjective(for: spec).cachesFeatures, "each micro-batch its own loss")
        spec.hlip.contrastiveBatch = 16
        XCTAssertTrue(refusal(spec)?.contains("field 'hlip.contrastive_batch' is 16, but must be 32") == true, "\(refusal(spec) ?? "accepted")")
        spec.hlip.clearContrastiveBatch()
        spec.training.batchSize = 1
        spec.training.gradientAccumulation = 1
        XCTAssertTrue(refusal(spec)?.contains("no negative pairs") == true, "\(refusal(spec) ?? "accepted")")
        let yaml = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: hlip\nencoder: {architecture: none}\nhlip: {contrastive_batch: 32}", source: "job.yaml"))
        XCTAssertEqual(yaml.hlip.contrastiveBatch, 32)
    }

    /// SigLIP's initial bias is the prior of the job's contrastive batch, −ln(n − 1) (the paper's −10 is that at its
    /// batches of 32 768); the model starts with it, and the report sections reach the model's objective.
    func testSigLIPStartsAtThePriorOfItsBatch() throws {
        var spec = try example()
        spec.training.batchSize = 8
        spec.training.gradientAccumulation = 1
        spec.hlip = Fedct_V1_HLIPSpec()
        spec.hlip.dim = 12
        spec.hlip.depth = 1
        spec.hlip.heads = 2
        spec.hlip.textWidth = 8
        spec.hlip.textDepth = 1
        spec.hlip.textHeads = 2
        spec.hlip.embedDim = 4
        spec.hlip.reportSections = ["impression"]
        let objective = try HLIPObjective().modelObjective(for: spec)
        XCTAssertEqual(objective.settings["logit_bias_init"], [-log(7.0)])
        XCTAssertEqual(objective.reportSections, ["impression"])
        let model = try TorchModel(spec: spec)
        let flat = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name == "logit_bias" { XCTAssertEqual(Double(flat[offset]), -log(7.0), accuracy: 1e-6) }
            offset += tensor.shape.reduce(1, *)
        }
        XCTAssertEqual(HLIPConfig.priorLogitBias(studies: 32768), -10.397, accuracy: 1e-3)
        XCTAssertEqual(HLIPConfig().initialLogitBias, -10, "the paper's value when no batch is known")
        let yaml = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: hlip\nencoder: {architecture: none}\nhlip: {report_sections: [impression, findings]}", source: "job.yaml"))
        XCTAssertEqual(yaml.hlip.reportSections, ["impression", "findings"])
    }

    /// The example job shrunk to 16³ studies of two scans, a one-block text tower and a 128-byte context.
    private func small() throws -> Fedct_V1_JobSpec {
        var spec = try example()
        spec.training.volumeSize = 16
        spec.training.batchSize = 4
        spec.hlip.dim = 12
        spec.hlip.depth = 2
        spec.hlip.heads = 2
        spec.hlip.pattern = ["scan", "study"]
        spec.hlip.scansPerStudy = 2
        spec.hlip.textWidth = 16
        spec.hlip.textDepth = 1
        spec.hlip.textHeads = 2
        spec.hlip.contextLength = 128
        spec.hlip.embedDim = 8
        return spec
    }

    func testSitesTrainOnStudiesWithTheirReports() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-hlip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var consortium = SyntheticConsortium(patientsPerSite: [12], volumeSize: 16, seed: 3)
        consortium.maxSeriesPerStudy = 3
        try consortium.write(to: folder)
        let spec = try small()
        XCTAssertNil(refusal(spec))
        let recipe = try HLIPObjective().siteExamples(for: spec)
        XCTAssertEqual(recipe.unit, .study)
        let dataset = try SiteDataset.load(directory: folder.appending(path: "site-1").path, recipe: recipe, preprocessing: spec.preprocessingPipeline)
        XCTAssertTrue((10...12).contains(dataset.train.count + dataset.heldout.count), "one example per study (a patient without follow-up is skipped)")
        XCTAssertTrue(dataset.train.contains { $0.inputs.count > 2 } && dataset.train.contains { $0.inputs.count < 2 }, "studies of 1 to 3 scans")
        XCTAssertTrue(dataset.train.allSatisfy { $0.report?.contains("FINDINGS") == true })

        let model = try TorchModel(spec: spec)
        XCTAssertEqual(model.objective.studyScans, 2)
        XCTAssertEqual(model.objective.reportTokens, 128)
        var trainer = LocalTrainer(training: spec.training)
        trainer.epochs = 2
        let result = try trainer.train(model, on: dataset.train, seed: 4)
        XCTAssertTrue(result.meanLoss.isFinite && result.meanLoss > 0, "\(result.meanLoss)")
        XCTAssertEqual(result.examples, 2 * dataset.train.count)
        let embeddings = try trainer.embed(model, dataset.heldout)
        XCTAssertEqual(embeddings.count, dataset.heldout.count)
        XCTAssertTrue(embeddings.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isFinite) })
    }

    func testExportKeepsTheImageTowerUnderTimmNames() throws {
        let model = try TorchModel(spec: small())
        let state = try model.state()
        let exported = try TimmExport.state(state)
        let visual = state.layout.filter { $0.name.hasPrefix("visual.") }
        XCTAssertEqual(exported.layout.map(\.name), visual.map { String($0.name.dropFirst("visual.".count)) })
        XCTAssertTrue(["patch_embed.proj.weight", "cls_token", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.bias", "norm.weight", "proj.weight"]
            .allSatisfy { name in exported.layout.contains { $0.name == name } })
        XCTAssertFalse(exported.layout.contains { $0.name.hasPrefix("text.") || $0.name.hasPrefix("logit_") })
        var offsets: [String: Int] = [:]
        var offset = 0
        for tensor in state.layout {
            offsets[tensor.name] = offset
            offset += tensor.count
        }
        var exportedOffset = 0
        for tensor in exported.layout {
            let source = try XCTUnwrap(offsets["visual." + tensor.name])
            XCTAssertTrue(exported.values[exportedOffset..<(exportedOffset + tensor.count)] == state.values[source..<(source + tensor.count)], "\(tensor.name) changed")
            exportedOffset += tensor.count
        }
        XCTAssertEqual(exported.metadata["format"], "timm_vit_hlip")
        XCTAssertThrowsError(try MONAIExport.state(state)) { XCTAssertTrue("\($0)".contains("not a FedCT time-to-event model"), "\($0)") }
        let tte = try TorchModel(spec: Fedct_V1_JobSpec.defaults).state()
        XCTAssertFalse(TimmExport.applies(to: tte.layout))
        XCTAssertThrowsError(try TimmExport.state(tte)) { XCTAssertTrue("\($0)".contains("not an HLIP model"), "\($0)") }
    }
}
