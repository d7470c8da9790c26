// TorchModel+HLIP: the HLIP objective's model parts in Swift — tower and loss settings, study batches, byte tokens, grouping.
internal import CTorchBridge
import Foundation

/// The groups HLIP's image-tower blocks attend within: one slice (a depth index of one scan), one scan, the whole study.
public enum HLIPGroup: Int, Sendable, Hashable, Codable, CaseIterable {
    case slice = 0
    case scan = 1
    case study = 2

    /// The job spec's names: "slice", "scan", "study".
    public init?(name: String) {
        switch name {
        case "slice": self = .slice
        case "scan": self = .scan
        case "study": self = .study
        default: return nil
        }
    }

    /// Tokens [studies · groups(self), 1 + tokens(self), channels] (each group's CLS copy first) regrouped at `target`, by
    /// the bridge's own code: splitting copies each CLS into every finer group, merging averages the CLS copies.
    /// `sliceTokens` is the number of patch tokens of one slice (rows × columns of the patch grid).
    public func regroup(_ tokens: [Float], to target: HLIPGroup, studies: Int, scans: Int, slices: Int, sliceTokens: Int, channels: Int) throws -> [Float] {
        let groups = [HLIPGroup.slice: scans * slices, .scan: scans, .study: 1]
        let expected = studies * groups[self]! * (1 + sliceTokens * scans * slices / groups[self]!) * channels
        guard tokens.count == expected else { throw TorchError("regrouping needs \(expected) floats at level \(self), got \(tokens.count)") }
        var out = [Float](repeating: 0, count: studies * groups[target]! * (1 + sliceTokens * scans * slices / groups[target]!) * channels)
        try tokens.withUnsafeBufferPointer { source in
            try out.withUnsafeMutableBufferPointer { destination in
                try TorchError.check {
                    fct_torch_hlip_regroup(source.baseAddress, Int64(studies), Int64(scans), Int64(slices), Int64(sliceTokens), Int64(channels),
                                           fct_torch_hlip_group(UInt32(rawValue)), fct_torch_hlip_group(UInt32(target.rawValue)), destination.baseAddress,
                                           Int64(destination.count), $0)
                }
            }
        }
        return out
    }
}

/// HLIP (Zhao et al. 2025): a hierarchical-attention 3D ViT over whole studies and a byte-level text transformer, trained
/// by a contrastive loss between them (the bridge's "hlip" objective; the model has no shared encoder, see
/// `EncoderConfig.Architecture.objectiveTower`). Parameter names: `visual.*` as timm's ViT, `text.*`, `logit_scale`,
/// `logit_bias` (SigLIP).
public struct HLIPConfig: Sendable, Hashable, Codable {
    /// The contrastive loss, as open_clip defines it.
    public enum Loss: String, Sendable, Hashable, Codable, CaseIterable {
        /// Sigmoid loss over all pairs (Zhai et al. 2023); learnable t′ from ln 10 and bias from `initialLogitBias`. Each pair is its own
        /// binary term, so it needs no large batch to normalise over.
        case siglip
        /// Symmetric cross-entropy (Radford et al. 2021); logit scale from ln(1/0.07), clamped to ≤ ln 100.
        case clip
    }

    /// Image tower width (divisible by 6 for the 3D sin-cos table, and by `heads`), blocks and heads.
    public var dim: Int = 192
    public var depth: Int = 6
    public var heads: Int = 3
    /// Patch extent (depth, height, width) in voxels; the scans' extents must be multiples of it.
    public var patch: [Int] = [8, 8, 8]
    /// Each block's attention group (`depth` entries).
    public var pattern: [HLIPGroup] = [.slice, .slice, .scan, .slice, .slice, .scan]
    /// Scans per study in a batch: a study with more is sampled, one with fewer repeats its scans (see `LocalTrainer`).
    public var scansPerStudy: Int = 1
    /// Scan positions of the scan-index embedding (0: none, as for one scan per study).
    public var maxScans: Int = 0
    /// Stochastic-depth rate of the last block (linear from 0 over the blocks).
    public var dropPath: Double = 0
    /// Text tower width, blocks, heads and context length (tokens, CLS and end included).
    public var textWidth: Int = 192
    public var textDepth: Int = 4
    public var textHeads: Int = 3
    public var contextLength: Int = 256
    /// Joint embedding width.
    public var embedDim: Int = 128
    public var loss: Loss = .siglip
    /// The report sections the text tower reads (e.g. ["impression"]); empty: the whole report.
    public var reportSections: [String] = []
    /// SigLIP's initial bias b₀: the paper's −10 by default; `HLIPConfig.priorLogitBias(contrastiveBatch:)` for the batch a
    /// job trains with (what HLIPObjective sets).
    public var initialLogitBias: Double = -10
    /// Whether a training step's micro-batches form one contrastive batch through cached features (open_clip's
    /// `accum_freq`): the contrastive batch is then the step's batch (batch size × gradient accumulation), else each
    /// micro-batch.
    public var cachesFeatures: Bool = true
    /// A BERT-family text tower (Hugging Face's names, WordPiece ids) instead of the byte-level one; nil: bytes.
    public var bert: BERTTextTower?

    public init() {}

    /// The bridge's "hlip" objective with these settings. Its batches carry `volumes` [scansPerStudy, 1, D, H, W] and
    /// `tokens` [contextLength] (the report's bytes) per example.
    public var objective: ObjectiveConfig {
        let numbers: [String: Int] = [
            "dim": dim, "depth": depth, "heads": heads, "patch_depth": patch[0], "patch_height": patch[1], "patch_width": patch[2],
            "max_scans": maxScans, "text_width": textWidth, "text_depth": textDepth, "text_heads": textHeads,
            "context_length": contextLength, "vocab_size": bert?.vocabularySize ?? ByteTokenizer.vocabularySize,
            "pad_id": bert.map { Int($0.padID) } ?? Int(ByteTokenizer.pad), "embed_dim": embedDim, "loss": loss == .siglip ? 0 : 1,
        ]
        var settings = numbers.mapValues { [Double($0)] }
        if let bert {
            settings["text_kind"] = [1]
            settings["text_intermediate"] = [Double(bert.intermediateSize)]
            settings["text_positions"] = [Double(bert.positions)]
            settings["type_vocab_size"] = [Double(bert.typeVocabularySize)]
            settings["text_norm_eps"] = [bert.layerNormEpsilon]
            settings["text_locked"] = [bert.locked ? 1 : 0]
            settings["text_unlocked_layers"] = [Double(bert.unlockedLayers)]
        }
        settings["pattern"] = pattern.map { Double($0.rawValue) }
        settings["drop_path"] = [dropPath]
        settings["logit_bias_init"] = [initialLogitBias]
        return ObjectiveConfig(name: "hlip", settings: settings, studyScans: scansPerStudy, reportTokens: contextLength, reportSections: reportSections, adamBeta2: 0.98, adamEpsilon: 1e-6,
                               cachesFeatures: cachesFeatures)
    }
}

extension HLIPConfig {
    /// SigLIP's initial bias for contrastive batches of `studies` pairs: −ln(studies − 1), so that σ(b₀) = 1/studies, the
    /// share of positive pairs. With features not yet aligned (logits ≈ b₀) training then starts at the prior, which is
    /// what the paper's −10 does for its batches of 32 768 (−ln 32 767 ≈ −10.4). At a site's batch of 8 the paper's −10
    /// starts far below the prior (σ(−10) ≈ 5e-5 against 1/8), and the fastest way down is to make every image agree with
    /// every report: the towers collapse onto one embedding and stay on the bias-only loss (Docs/science.md).
    public static func priorLogitBias(studies: Int) -> Double { -log(Double(max(studies, 2) - 1)) }
}

/// A BERT-family text tower for HLIP (Hugging Face's `BertModel` without its pooler: post-norm layers, exact GELU, token
/// type 0, the last hidden state at [CLS] projected to the joint space). `HLIPConfig`'s `textWidth`, `textDepth`,
/// `textHeads` are its hidden size, layers and heads; `contextLength` is the tokens per report (at most `positions`).
public struct BERTTextTower: Sendable, Hashable, Codable {
    public var vocabularySize: Int
    public var padID: Int64
    public var intermediateSize: Int
    /// Rows of the position table (Hugging Face's `max_position_embeddings`), at least `HLIPConfig.contextLength`.
    public var positions: Int
    public var typeVocabularySize: Int = 2
    public var layerNormEpsilon: Double = 1e-12
    /// Locked: the embeddings and every layer but the last `unlockedLayers` take no gradient (open_clip's
    /// `HFTextEncoder.lock`); the projection to the joint space always trains.
    public var locked: Bool = false
    public var unlockedLayers: Int = 0

    public init(vocabularySize: Int, padID: Int64, intermediateSize: Int, positions: Int) {
        self.vocabularySize = vocabularySize
        self.padID = padID
        self.intermediateSize = intermediateSize
        self.positions = positions
    }
}

/// The byte-level tokenizer every site shares (built from nothing but UTF-8): ids 0–255 are bytes, then pad, CLS, end.
public enum ByteTokenizer {
    public static let pad: Int64 = 256
    public static let cls: Int64 = 257
    public static let end: Int64 = 258
    public static let vocabularySize = 259

    /// `text` as `length` ids: CLS, its UTF-8 bytes (cut to fit), end, then pad.
    public static func encode(_ text: String, length: Int) -> [Int64] {
        precondition(length >= 2, "a token sequence needs room for CLS and end")
        let bytes = text.utf8.prefix(length - 2).map(Int64.init)
        return [cls] + bytes + [end] + [Int64](repeating: pad, count: length - 2 - bytes.count)
    }
}

extension TensorBatch {
    /// An HLIP batch: studies [B, N, 1, D, H, W] (`volumes`, N scans each) and their reports' tokens [B, L] (`tokens`).
    public static func studies(_ volumes: [Float], studies: Int, scans: Int, depth: Int, height: Int, width: Int, tokens: [Int64]) -> TensorBatch {
        TensorBatch([
            NamedTensor(name: "volumes", shape: [studies, scans, 1, depth, height, width], values: volumes),
            NamedTensor(name: "tokens", shape: [studies, tokens.count / max(studies, 1)], tokens: tokens),
        ])
    }
}
