// A pretrained BERT text tower for HLIP against Hugging Face (Tests/Reference/bert_tiny, made by bert_reference.py): the
// WordPiece ids, the [CLS] states after loading the checkpoint by name, the lock, and a job's checks and local layers.
import FedCTCore
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import XCTest

final class BERTTextTowerTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private struct Reference: Decodable {
        var provenance: String
        var hidden: Int
        var length: Int
        var sentences: [String]
        var ids: [[Int64]]
        var cls: [[Float]]
    }

    private static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Reference/bert_tiny").standardized.path

    private func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.folder).appending(path: "bert_reference.json")))
    }

    /// A tiny HLIP whose text tower is the checkpoint's (joint space as wide as its hidden size), optionally with fewer layers.
    private func model(_ encoder: PretrainedTextEncoder, locked: Bool, unlockedLayers: Int = 0, textDepth: Int? = nil) throws -> TorchModel {
        var config = HLIPConfig()
        config.dim = 12
        config.depth = 2
        config.heads = 2
        config.patch = [2, 4, 4]
        config.pattern = [.slice, .scan]
        config.embedDim = encoder.hiddenSize
        config.contextLength = 16
        encoder.configure(&config, locked: locked, unlockedLayers: unlockedLayers)
        config.textDepth = textDepth ?? config.textDepth
        return try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: 3)
    }

    func testWordPieceIdsEqualHuggingFaces() throws {
        let reference = try reference()
        let tokenizer = try WordPieceTokenizer(vocabularyFile: Self.folder + "/vocab.txt")
        for (sentence, ids) in zip(reference.sentences, reference.ids) {
            XCTAssertEqual(tokenizer.encode(sentence, length: reference.length), ids, sentence)
        }
        XCTAssertThrowsError(try WordPieceTokenizer(tokens: ["[PAD]", "[UNK]", "[CLS]"], source: "vocab.txt")) {
            XCTAssertTrue("\($0)".contains("no [SEP] token"), "\($0)")
        }
    }

    func testLoadedTowerGivesHuggingFacesCLSStates() throws {
        let reference = try reference()
        let encoder = try PretrainedTextEncoder(directory: Self.folder)
        let model = try self.model(encoder, locked: true)
        XCTAssertTrue(model.tensors.contains { $0.name == "text.encoder.layer.1.attention.self.query.weight" && $0.shape == [32, 32] })
        XCTAssertTrue(model.tensors.contains { $0.name == "text.embeddings.LayerNorm.bias" })
        XCTAssertFalse(model.tensors.contains { $0.name.hasPrefix("text.pooler") })
        try encoder.load(into: model)
        // The projection as the identity, so the tower's output is the [CLS] state (predict normalises it).
        var state = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name == "text.proj.weight" {
                for row in 0..<32 { for column in 0..<32 { state[offset + row * 32 + column] = row == column ? 1 : 0 } }
            }
            offset += tensor.count
        }
        try model.importState(state)
        let tokens = reference.ids.flatMap { $0 }
        let outputs = try model.predict(TensorBatch([NamedTensor(name: "tokens", shape: [reference.ids.count, reference.length], tokens: tokens)]))
        for (row, cls) in reference.cls.enumerated() {
            let norm = cls.map { $0 * $0 }.reduce(0, +).squareRoot()
            for (column, value) in cls.enumerated() {
                XCTAssertEqual(outputs[row * 32 + column], value / norm, accuracy: 1e-5, "sentence \(row), feature \(column)")
            }
        }
    }

    func testLockedTowerStaysAndPartlyUnlockedLayersTrain() throws {
        let encoder = try PretrainedTextEncoder(directory: Self.folder)
        for unlocked in [0, 1] {
            let model = try self.model(encoder, locked: true, unlockedLayers: unlocked)
            try encoder.load(into: model)
            try model.resetOptimizer(.adamw, learningRate: 1e-2, weightDecay: 0.1)
            let before = try model.exportState()
            let tokenizer = encoder.tokenizer
            let reports = ["no pleural effusion", "small nodule in the right upper lobe", "cardiomegaly", "emphysema in both apices"]
            let volumes = (0..<4 * 256).map { Float(sin(Double($0) * 0.03)) }
            _ = try model.trainStep(.studies(volumes, studies: 4, scans: 1, depth: 4, height: 8, width: 8,
                                             tokens: reports.flatMap { tokenizer.encode($0, length: 16) }))
            let after = try model.exportState()
            var offset = 0
            for tensor in model.tensors {
                defer { offset += tensor.count }
                let moved = zip(before[offset..<(offset + tensor.count)], after[offset..<(offset + tensor.count)]).contains { $0 != $1 }
                let trains = !tensor.name.hasPrefix("text.") || tensor.name == "text.proj.weight" || (unlocked == 1 && tensor.name.hasPrefix("text.encoder.layer.1."))
                if trains && tensor.name != "text.embeddings.token_type_embeddings.weight" {
                    XCTAssertTrue(moved || tensor.name == "visual.cls_token", "\(tensor.name) trains (unlocked layers: \(unlocked))")
                } else if !trains {
                    XCTAssertFalse(moved, "\(tensor.name) is locked (unlocked layers: \(unlocked))")
                }
            }
        }
    }

    func testMismatchedCheckpointIsRefusedNamingTheTensor() throws {
        let encoder = try PretrainedTextEncoder(directory: Self.folder)
        let model = try self.model(encoder, locked: true, textDepth: 1)
        XCTAssertThrowsError(try encoder.load(into: model)) { XCTAssertTrue("\($0)".contains("'encoder.layer.1."), "\($0)") }
    }

    /// The example HLIP job (Deployments/examples/job-hlip.yaml).
    private func example() throws -> Fedct_V1_JobSpec {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/job-hlip.yaml").standardized
        return try Fedct_V1_JobSpec(yaml: YAMLDocument(text: String(contentsOf: url, encoding: .utf8), source: "job-hlip.yaml"))
    }

    /// The example HLIP job with a BERT text tower sized like the fixture checkpoint.
    private func bertJob() throws -> Fedct_V1_JobSpec {
        var spec = try example()
        spec.hlip.textTower = "bert"
        spec.hlip.textWidth = 32
        spec.hlip.textDepth = 2
        spec.hlip.textHeads = 4
        spec.hlip.textIntermediate = 64
        spec.hlip.textPositions = 32
        spec.hlip.contextLength = 16
        spec.hlip.vocabSize = 60
        spec.hlip.vocabSha256 = try PretrainedTextEncoder(directory: Self.folder).vocabularySHA256
        spec.hlip.dim = 12
        spec.hlip.depth = 2
        spec.hlip.heads = 2
        spec.hlip.pattern = ["slice", "scan"]
        spec.training.volumeSize = 16
        return spec
    }

    func testJobWithABERTTowerIsCheckedAtTheSite() throws {
        var spec = try bertJob()
        try PretrainingObjectives.validate(spec, source: "job")
        let config = try HLIPConfig(spec.hlip, source: "job")
        XCTAssertEqual(config.bert?.locked, true, "locked by default")
        XCTAssertEqual(config.bert?.positions, 32)
        XCTAssertNotNil(try PretrainedTextEncoder.forJob(spec, directory: Self.folder, source: "job j"))
        XCTAssertThrowsError(try PretrainedTextEncoder.forJob(spec, directory: nil, source: "job j")) {
            XCTAssertTrue("\($0)".contains("text_encoder in site.yaml"), "\($0)")
        }
        spec.hlip.textIntermediate = 128
        XCTAssertThrowsError(try PretrainedTextEncoder.forJob(spec, directory: Self.folder, source: "job j")) {
            XCTAssertTrue("\($0)".contains("field 'hlip.text_intermediate' is 128"), "\($0)")
        }
        spec = try bertJob()
        spec.hlip.vocabSha256 = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try PretrainedTextEncoder.forJob(spec, directory: Self.folder, source: "job j")) {
            XCTAssertTrue("\($0)".contains("field 'hlip.vocab_sha256'"), "\($0)")
        }
        spec.hlip.clearVocabSha256()
        XCTAssertThrowsError(try PretrainingObjectives.validate(spec, source: "job")) { XCTAssertTrue("\($0)".contains("'hlip.vocab_sha256' is required"), "\($0)") }
        spec = try bertJob()
        spec.hlip.textUnlockedLayers = 3
        XCTAssertThrowsError(try PretrainingObjectives.validate(spec, source: "job")) { XCTAssertTrue("\($0)".contains("'hlip.text_unlocked_layers'"), "\($0)") }
        XCTAssertNil(try PretrainedTextEncoder.forJob(try example(), directory: Self.folder, source: "job j"), "a byte-level job loads nothing")
    }

    func testPretrainedTowerStaysAtTheSite() throws {
        let spec = try bertJob()
        let encoder = try XCTUnwrap(try PretrainedTextEncoder.forJob(spec, directory: Self.folder, source: "job j"))
        let model = try TorchModel(spec: spec)
        let layout = model.tensors.map { TensorLayout(name: $0.name, shape: $0.shape) }
        var state = try ModelState(layout: layout, values: model.exportState())
        let initial = state.values
        try encoder.place(into: &state)
        let local = PretrainedTextEncoder.localRanges(in: layout)
        let isLocal = Set(local.flatMap { $0 })
        var offset = 0
        for tensor in layout {
            defer { offset += tensor.count }
            let range = offset..<(offset + tensor.count)
            XCTAssertEqual(isLocal.contains(offset), tensor.name.hasPrefix("text.") && tensor.name != "text.proj.weight", tensor.name)
            if !isLocal.contains(offset) { XCTAssertEqual(Array(state.values[range]), Array(initial[range]), "\(tensor.name) is not the checkpoint's") }
        }
        XCTAssertNotEqual(state.values, initial, "the checkpoint's tensors were written")
        XCTAssertEqual(isLocal.count, encoder.weights.values.count, "every checkpoint value lies in a local range, and nothing else")
    }
}
