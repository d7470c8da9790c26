// PretrainedTextEncoder: a pretrained BERT-family checkpoint at a site (Hugging Face's config.json, vocab.txt and
// model.safetensors) as HLIP's text tower — its sizes, its WordPiece tokenizer, and its weights loaded by name.
import Crypto
public import FedCTCore
public import FedCTProto
public import FedCTTorch
import Foundation

/// A Hugging Face BERT checkpoint folder (`save_pretrained` of a `BertModel` or a model whose encoder is under `bert.`):
/// `config.json` (sizes; `hidden_act` must be exact `gelu`), `vocab.txt` (WordPiece) and `model.safetensors` (float32).
/// The tensors load into the model's `text.*` by Hugging Face's names; the pooler (`pooler.*`, unused: HLIP pools the
/// last hidden state at [CLS]) and the masked-language-model head (`cls.*`) are left out, and anything else the tower
/// lacks, or a tower tensor the file lacks or shapes it differently, is an error naming the tensor and the file.
public struct PretrainedTextEncoder: Sendable {
    public let directory: String
    public let tokenizer: WordPieceTokenizer
    /// The checkpoint's tensors under the tower's names (`embeddings.…`, `encoder.layer.{i}.…`), float32.
    public let weights: ModelState
    public let hiddenSize: Int
    public let layers: Int
    public let heads: Int
    public let positions: Int
    public let tower: BERTTextTower
    /// SHA-256 of `vocab.txt` (lower-case hex), which a job's `hlip.vocab_sha256` names.
    public let vocabularySHA256: String

    /// Tensors of a checkpoint the tower does not use.
    static let unusedPrefixes = ["pooler.", "cls."]

    /// Reads the folder; errors name the file and what is wrong.
    public init(directory: String) throws {
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FedCTError(.invalidData, "\(configPath): cannot read the pretrained text encoder's configuration (Hugging Face's config.json)")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = config[key] as? Int, value > 0 else { throw FedCTError(.invalidData, "\(configPath): field '\(key)' must be a positive integer") }
            return value
        }
        if let activation = config["hidden_act"] as? String, activation != "gelu" {
            throw FedCTError(.invalidData, "\(configPath): field 'hidden_act' is '\(activation)'; the bridge's BERT tower computes exact GELU ('gelu') only")
        }
        hiddenSize = try integer("hidden_size")
        layers = try integer("num_hidden_layers")
        heads = try integer("num_attention_heads")
        positions = try integer("max_position_embeddings")
        let vocabularyPath = (directory as NSString).appendingPathComponent("vocab.txt")
        tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyPath)
        vocabularySHA256 = SHA256.hex(FileManager.default.contents(atPath: vocabularyPath) ?? Data())
        let vocabularySize = try integer("vocab_size")
        guard tokenizer.vocabulary.values.allSatisfy({ $0 < vocabularySize }) else {
            throw FedCTError(.invalidData, "\(directory): vocab.txt has ids beyond config.json's vocab_size \(vocabularySize)")
        }
        var tower = BERTTextTower(vocabularySize: vocabularySize, padID: Int64(config["pad_token_id"] as? Int ?? Int(tokenizer.pad)),
                                  intermediateSize: try integer("intermediate_size"), positions: try integer("max_position_embeddings"))
        tower.typeVocabularySize = try integer("type_vocab_size")
        tower.layerNormEpsilon = config["layer_norm_eps"] as? Double ?? 1e-12
        self.tower = tower
        let weightsPath = (directory as NSString).appendingPathComponent("model.safetensors")
        guard let bytes = FileManager.default.contents(atPath: weightsPath) else {
            throw FedCTError(.invalidData, "\(weightsPath): cannot read the pretrained text encoder's weights (float32 safetensors)")
        }
        let file = try SafeTensors.decode([UInt8](bytes), source: weightsPath)
        var layout: [TensorLayout] = []
        var values: [Float] = []
        var offset = 0
        for tensor in file.layout {
            defer { offset += tensor.count }
            let name = tensor.name.hasPrefix("bert.") ? String(tensor.name.dropFirst(5)) : tensor.name
            if Self.unusedPrefixes.contains(where: name.hasPrefix) || name.hasSuffix("position_ids") { continue }
            layout.append(TensorLayout(name: name, shape: tensor.shape))
            values.append(contentsOf: file.values[offset..<(offset + tensor.count)])
        }
        weights = try ModelState(layout: layout, values: values)
    }

    /// `config` with this checkpoint's text tower: its sizes, its vocabulary, and the lock (`locked`: the embeddings and
    /// every layer but the last `unlockedLayers` are frozen).
    public func configure(_ config: inout HLIPConfig, locked: Bool, unlockedLayers: Int = 0) {
        config.textWidth = hiddenSize
        config.textDepth = layers
        config.textHeads = heads
        config.contextLength = min(config.contextLength, positions)
        var tower = self.tower
        tower.locked = locked
        tower.unlockedLayers = unlockedLayers
        config.bert = tower
    }

    /// Writes the checkpoint's tensors into `model`'s text tower (`text.` + the Hugging Face name; `text.proj` keeps its
    /// value). Throws when a name or shape disagrees, naming the tensor.
    public func load(into model: TorchModel) throws {
        var state = try ModelState(layout: model.tensors.map { TensorLayout(name: $0.name, shape: $0.shape) }, values: model.exportState())
        try place(into: &state)
        try model.importState(state.values)
    }

    /// Writes the checkpoint's tensors into a model state's text tower (see `load(into:)`).
    public func place(into state: inout ModelState) throws {
        var given: [String: (shape: [Int], range: Range<Int>)] = [:]
        var offset = 0
        for tensor in weights.layout {
            given[tensor.name] = (tensor.shape, offset..<(offset + tensor.count))
            offset += tensor.count
        }
        var used = Set<String>()
        offset = 0
        for tensor in state.layout {
            defer { offset += tensor.count }
            guard Self.isPretrained(tensor.name) else { continue }
            let name = String(tensor.name.dropFirst(5))
            guard let source = given[name] else {
                throw FedCTError(.invalidData, "\(directory): model.safetensors has no tensor '\(name)', which the text tower needs")
            }
            guard source.shape == tensor.shape else {
                throw FedCTError(.invalidData, "\(directory): tensor '\(name)' has shape \(source.shape) in model.safetensors; the text tower's is \(tensor.shape)")
            }
            state.values.replaceSubrange(offset..<(offset + tensor.count), with: weights.values[source.range])
            used.insert(name)
        }
        if let extra = given.keys.sorted().first(where: { !used.contains($0) }) {
            throw FedCTError(.invalidData, "\(directory): model.safetensors has tensor '\(extra)', which the text tower does not have (is it a BERT encoder with \(layers) layers?)")
        }
    }

    /// True for the text tower's tensors that come from a checkpoint: all of `text.*` but the projection to the joint space.
    public static func isPretrained(_ name: String) -> Bool { name.hasPrefix("text.") && name != "text.proj.weight" }

    /// Where the pretrained tower lies in a flat state: these coordinates stay at the site (never part of an update).
    public static func localRanges(in layout: [TensorLayout]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var offset = 0
        for tensor in layout {
            if isPretrained(tensor.name) { ranges.append(offset..<(offset + tensor.count)) }
            offset += tensor.count
        }
        return ranges
    }

    /// The site's checkpoint for a job whose `hlip.text_tower` is bert (nil for any other job), checked against the job:
    /// the vocabulary's SHA-256, the sizes and the [PAD] id. `directory` is site.yaml's `text_encoder`.
    public static func forJob(_ spec: Fedct_V1_JobSpec, directory: String?, source: String) throws -> PretrainedTextEncoder? {
        guard spec.objectiveKind == .hlip, let bert = try HLIPConfig(spec.hlip, source: source).bert else { return nil }
        guard let directory, !directory.isEmpty else {
            throw FedCTError(.invalidConfiguration, "\(source) uses a pretrained BERT text tower (hlip.text_tower: bert); set text_encoder in site.yaml to the folder holding its config.json, vocab.txt and model.safetensors")
        }
        let encoder = try PretrainedTextEncoder(directory: directory)
        func mismatch(_ field: String, _ job: String, _ site: String) -> FedCTError {
            FedCTError(.invalidConfiguration, "\(source): field 'hlip.\(field)' is \(job), but the site's text encoder \(directory) has \(site); the job and every site must use the same published checkpoint")
        }
        guard encoder.vocabularySHA256 == spec.hlip.vocabSha256.lowercased() else { throw mismatch("vocab_sha256", spec.hlip.vocabSha256, "vocab.txt of SHA-256 \(encoder.vocabularySHA256)") }
        let checks: [(String, Int, Int)] = [
            ("text_width", Int(spec.hlip.textWidth), encoder.hiddenSize), ("text_depth", Int(spec.hlip.textDepth), encoder.layers),
            ("text_heads", Int(spec.hlip.textHeads), encoder.heads), ("text_intermediate", bert.intermediateSize, encoder.tower.intermediateSize),
            ("text_positions", bert.positions, encoder.positions), ("vocab_size", bert.vocabularySize, encoder.tower.vocabularySize),
        ]
        for (field, job, site) in checks where job != site { throw mismatch(field, "\(job)", "\(site)") }
        guard encoder.tower.typeVocabularySize == bert.typeVocabularySize, encoder.tower.layerNormEpsilon == bert.layerNormEpsilon, encoder.tokenizer.pad == bert.padID else {
            throw FedCTError(.invalidConfiguration, "\(directory): FedCT's BERT tower expects type_vocab_size \(bert.typeVocabularySize), layer_norm_eps \(bert.layerNormEpsilon) and [PAD] at id \(bert.padID), as BERT's published checkpoints have")
        }
        return encoder
    }
}
