// Tests of the bridge's HLIP objective: token grouping, attention patterns, SigLIP/CLIP losses, padding, training.
import FedCTTorch
import Foundation
import XCTest

final class HLIPBridgeTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// A tiny HLIP: width 12, 2 heads, patch 2×4×4 (scans of 4×8×8 make a 2×2×2 grid), a 1-block text tower.
    static func tinyConfig(pattern: [HLIPGroup] = [.slice, .scan], loss: HLIPConfig.Loss = .siglip, maxScans: Int = 0) -> HLIPConfig {
        var config = HLIPConfig()
        config.dim = 12
        config.depth = pattern.count
        config.heads = 2
        config.patch = [2, 4, 4]
        config.pattern = pattern
        config.maxScans = maxScans
        config.textWidth = 12
        config.textDepth = 1
        config.textHeads = 2
        config.contextLength = 16
        config.embedDim = 8
        config.loss = loss
        return config
    }

    static func model(_ config: HLIPConfig, seed: UInt64 = 5) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: seed)
    }

    static let reports = ["effusion on the left", "clear lungs", "nodule in the right upper lobe", "cardiomegaly"]

    /// `studies` studies of `scans` scans of 4×8×8 voxels, each study a different smooth pattern, and their reports.
    static func batch(studies: Int = 4, scans: Int = 1, depth: Int = 4) -> TensorBatch {
        let voxels = scans * depth * 64
        let volumes = (0..<studies * voxels).map { index in Float(sin(Double(index % voxels) * 0.07 * Double(index / voxels + 1))) }
        let tokens = (0..<studies).flatMap { ByteTokenizer.encode(reports[$0 % reports.count], length: 16) }
        return .studies(volumes, studies: studies, scans: scans, depth: depth, height: 8, width: 8, tokens: tokens)
    }

    func testRegroupMatchesHandComputedTokens() throws {
        // One study of 2 scans × 2 slices, one patch token per slice, 2 channels. Slice level: 4 groups [CLS, token].
        let slices: [Float] = [1, 10, 100, 1000, 3, 30, 101, 1001, 5, 50, 102, 1002, 7, 70, 103, 1003]
        let scans = try HLIPGroup.slice.regroup(slices, to: .scan, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2)
        XCTAssertEqual(scans, [2, 20, 100, 1000, 101, 1001, 6, 60, 102, 1002, 103, 1003])  // CLS means of slices 0–1 and 2–3
        let study = try HLIPGroup.slice.regroup(slices, to: .study, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2)
        XCTAssertEqual(study, [4, 40, 100, 1000, 101, 1001, 102, 1002, 103, 1003])
        XCTAssertEqual(try HLIPGroup.scan.regroup(scans, to: .study, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2), study)
        // Splitting copies the CLS into every group.
        XCTAssertEqual(try HLIPGroup.study.regroup(study, to: .scan, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2),
                       [4, 40, 100, 1000, 101, 1001, 4, 40, 102, 1002, 103, 1003])
        XCTAssertEqual(try HLIPGroup.scan.regroup(scans, to: .slice, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2),
                       [2, 20, 100, 1000, 2, 20, 101, 1001, 6, 60, 102, 1002, 6, 60, 103, 1003])
        XCTAssertEqual(try HLIPGroup.study.regroup(study, to: .slice, studies: 1, scans: 2, slices: 2, sliceTokens: 1, channels: 2),
                       [4, 40, 100, 1000, 4, 40, 101, 1001, 4, 40, 102, 1002, 4, 40, 103, 1003])
        // Two studies stay apart.
        let two = try HLIPGroup.scan.regroup(scans + scans.map { -$0 }, to: .study, studies: 2, scans: 2, slices: 2, sliceTokens: 1, channels: 2)
        XCTAssertEqual(two, study + study.map { -$0 })
    }

    func testTensorNamesAreTimmsUnderVisual() throws {
        let model = try Self.model(Self.tinyConfig())
        let names = Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(names["visual.patch_embed.proj.weight"], [12, 1, 2, 4, 4])
        XCTAssertEqual(names["visual.cls_token"], [1, 1, 12])
        XCTAssertEqual(names["visual.blocks.1.attn.qkv.weight"], [36, 12])
        XCTAssertEqual(names["visual.blocks.0.mlp.fc1.weight"], [48, 12])
        XCTAssertEqual(names["visual.norm.weight"], [12])
        XCTAssertEqual(names["visual.proj.weight"], [8, 12])
        XCTAssertNil(names["visual.proj.bias"])
        XCTAssertEqual(names["logit_scale"], [])
        XCTAssertEqual(names["logit_bias"], [])
        XCTAssertFalse(model.tensors.contains { $0.name.hasPrefix("conv1") }, "no shared encoder")
        XCTAssertFalse(model.hasPerExampleLoss)
        XCTAssertEqual(model.embeddingDimension, 8)
        XCTAssertNil(try Self.model(Self.tinyConfig(loss: .clip)).tensors.first { $0.name == "logit_bias" })
    }

    func testEveryAttentionPatternRunsAndMatters() throws {
        let patterns: [[HLIPGroup]] = [[.slice, .scan], [.scan, .study], [.slice, .study], [.study, .slice], [.scan, .slice], [.study, .scan],
                                       [.slice, .scan, .study]]
        let batch = Self.batch(studies: 2, scans: 2)
        var embeddings: [[Float]] = []
        for pattern in patterns {
            let model = try Self.model(Self.tinyConfig(pattern: pattern, maxScans: 4))
            let loss = try model.trainStep(batch)
            XCTAssertTrue(loss.isFinite, "\(pattern): loss \(loss)")
            let embedding = try model.embed(batch)
            XCTAssertEqual(embedding.count, 2 * 8)
            XCTAssertTrue(embedding.allSatisfy(\.isFinite), "\(pattern)")
            embeddings.append(embedding)
        }
        for i in embeddings.indices {
            for j in embeddings.indices where j > i {
                XCTAssertNotEqual(embeddings[i], embeddings[j], "patterns \(patterns[i]) and \(patterns[j]) give the same embedding")
            }
        }
    }

    func testGroupsCoincideForOneSliceOfOneScan() throws {
        // With one scan whose patch grid is one slice deep, a slice, a scan and the study are the same tokens.
        let batch = Self.batch(studies: 2, scans: 1, depth: 2)
        let embeddings = try [[HLIPGroup.slice, .slice], [.scan, .scan], [.study, .study], [.slice, .study]].map {
            try Self.model(Self.tinyConfig(pattern: $0)).embed(batch)
        }
        for embedding in embeddings.dropFirst() {
            for (a, b) in zip(embedding, embeddings[0]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
    }

    /// open_clip's losses on L2-normalised features x (images) and y (texts), n pairs.
    static func handLoss(_ loss: HLIPConfig.Loss, images: [Float], texts: [Float], n: Int, dim: Int) -> Double {
        func dot(_ i: Int, _ j: Int) -> Double { (0..<dim).reduce(0) { $0 + Double(images[i * dim + $1]) * Double(texts[j * dim + $1]) } }
        switch loss {
        case .siglip:  // −Σ_ij log σ(z_ij (10 x_i·y_j − 10)) / n, z = +1 on the diagonal, −1 elsewhere
            var total = 0.0
            for i in 0..<n {
                for j in 0..<n {
                    let z = (i == j ? 1.0 : -1.0) * (10 * dot(i, j) - 10)
                    total += log(1 + exp(-z))
                }
            }
            return total / Double(n)
        case .clip:  // (CE over rows + CE over columns) / 2 of logits (1/0.07) x_i·y_j
            func crossEntropy(_ logit: (Int, Int) -> Double) -> Double {
                (0..<n).reduce(0.0) { sum, i in
                    let logits = (0..<n).map { logit(i, $0) }
                    let top = logits.max()!
                    return sum + top + log(logits.reduce(0) { $0 + exp($1 - top) }) - logits[i]
                } / Double(n)
            }
            return (crossEntropy { dot($0, $1) / 0.07 } + crossEntropy { dot($1, $0) / 0.07 }) / 2
        }
    }

    func testSigLIPAndCLIPLossesMatchHandComputedValues() throws {
        let batch = Self.batch()
        for loss in HLIPConfig.Loss.allCases {
            let model = try Self.model(Self.tinyConfig(loss: loss))
            let images = try model.predict(TensorBatch([batch["volumes"]!]))
            let texts = try model.predict(TensorBatch([batch["tokens"]!]))
            XCTAssertEqual(images.count, 4 * 8)
            let expected = Self.handLoss(loss, images: images, texts: texts, n: 4, dim: 8)
            XCTAssertEqual(Double(try model.evalLoss(batch)), expected, accuracy: 1e-4 * max(1, expected), "\(loss)")
        }
    }

    func testPaddingIsMaskedOut() throws {
        let model = try Self.model(Self.tinyConfig())
        let tokens = ByteTokenizer.encode("effusion", length: 16)  // CLS, 8 bytes, end, 6 pads
        var garbage = tokens
        for index in 10..<16 { garbage[index] = 65 }
        func text(_ ids: [Int64], mask: [Float]? = nil) throws -> [Float] {
            var tensors = [NamedTensor(name: "tokens", shape: [1, 16], tokens: ids)]
            if let mask { tensors.append(NamedTensor(name: "token_mask", shape: [1, 16], values: mask)) }
            return try model.predict(TensorBatch(tensors))
        }
        let padded = try text(tokens)
        let mask = (0..<16).map { Float($0 < 10 ? 1 : 0) }
        for (a, b) in zip(try text(garbage, mask: mask), padded) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertNotEqual(try text(garbage), padded, "unmasked tokens must change the text features")
        XCTAssertThrowsError(try text(tokens.map { $0 == ByteTokenizer.pad ? 259 : $0 })) { XCTAssertTrue("\($0)".contains("vocab_size"), "\($0)") }
    }

    /// Training on a fixed batch of four studies: with CLIP the towers align — the loss falls below uniform logits' ln 4
    /// and every study's own report becomes its most similar one. SigLIP's loss falls too, but on four pairs it sits on
    /// the bias-only plateau ln 4 + 3 ln(4/3) for a hundred steps or more (Docs/science.md, "Training HLIP at a site"), so
    /// only the fall is asked of it here.
    func testTrainingLowersTheLossAndCLIPAlignsTheTowersOnAFixedBatch() throws {
        for loss in HLIPConfig.Loss.allCases {
            let model = try Self.model(Self.tinyConfig(loss: loss))
            try model.resetOptimizer(.adamw, learningRate: 3e-4, weightDecay: 0, betas: (0.9, 0.98), epsilon: 1e-6)
            let batch = Self.batch()
            let before = try model.evalLoss(batch)
            for _ in 0..<80 { _ = try model.trainStep(batch) }
            let after = try model.evalLoss(batch)
            XCTAssertLessThan(after, 0.9 * before, "\(loss): \(before) → \(after)")
            guard loss == .clip else { continue }
            XCTAssertLessThan(Double(after), 0.8 * log(4.0), "clip: \(before) → \(after)")
            let images = try model.predict(TensorBatch(batch.tensors.filter { $0.name == "volumes" }))
            let texts = try model.predict(TensorBatch(batch.tensors.filter { $0.name == "tokens" }))
            let width = model.outputSize
            for study in 0..<4 {
                let similarity = (0..<4).map { report in (0..<width).reduce(Float(0)) { $0 + images[study * width + $1] * texts[report * width + $1] } }
                XCTAssertEqual(similarity.indices.max { similarity[$0] < similarity[$1] }, study, "study \(study)'s similarities \(similarity)")
            }
        }
    }

    func testWeightDecaySparesBiasesNormsAndTheLogitScaleAndBias() throws {
        // One AdamW step with a large decay: a decayed weight moves by about lr·wd·|w| (Adam's own step is at most ≈ lr);
        // exempt parameters move by Adam's step alone.
        let model = try Self.model(Self.tinyConfig())
        let learningRate = 0.01, decay = 5.0
        try model.resetOptimizer(.adamw, learningRate: learningRate, weightDecay: decay)
        let before = try model.exportState()
        _ = try model.trainStep(Self.batch())
        let after = try model.exportState()
        var offset = 0
        var checked: Set<String> = []
        for tensor in model.tensors {
            let count = tensor.shape.reduce(1, *)
            let moves = (offset..<(offset + count)).map { abs(Double(after[$0] - before[$0])) }
            let decayMoves = (offset..<(offset + count)).map { learningRate * decay * abs(Double(before[$0])) }
            let exempt = tensor.shape.count < 2 || tensor.name.contains("bias") || tensor.name.hasPrefix("logit_")
            if exempt {
                XCTAssertLessThanOrEqual(moves.max()!, 1.01 * learningRate, "\(tensor.name) was decayed")
            } else if let index = decayMoves.indices.max(by: { decayMoves[$0] < decayMoves[$1] }), decayMoves[index] > 3 * learningRate {
                XCTAssertGreaterThan(moves[index], decayMoves[index] - 1.01 * learningRate, "\(tensor.name) was not decayed")
            }
            checked.insert(exempt ? "exempt" : "decayed")
            offset += count
        }
        XCTAssertEqual(checked, ["exempt", "decayed"])
        XCTAssertTrue(model.tensors.contains { $0.name == "logit_scale" } && model.tensors.contains { $0.name == "visual.norm.weight" })
    }

    func testBadStudiesAreRejectedByName() throws {
        let model = try Self.model(Self.tinyConfig())
        let odd = TensorBatch.studies([Float](repeating: 0, count: 3 * 64), studies: 1, scans: 1, depth: 3, height: 8, width: 8,
                                      tokens: ByteTokenizer.encode("x", length: 16))
        XCTAssertThrowsError(try model.embed(odd)) { XCTAssertTrue("\($0)".contains("patch size"), "\($0)") }
        XCTAssertThrowsError(try model.setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, seed: 1)) {
            XCTAssertTrue("\($0)".contains("privacy.level site"), "\($0)")
        }
        var config = Self.tinyConfig()
        config.dim = 16
        XCTAssertThrowsError(try Self.model(config)) { XCTAssertTrue("\($0)".contains("divisible by 6"), "\($0)") }
    }
}
