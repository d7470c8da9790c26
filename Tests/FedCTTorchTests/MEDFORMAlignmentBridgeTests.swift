// MEDFORM stage 2 in the bridge: InfoNCE against hand-computed values, gated attention-MIL pooling (weights, slice order),
// the model's names and shapes, and training steps with a frozen and a fine-tuned slice encoder.
import FedCTTorch
import Foundation
import XCTest

final class MEDFORMAlignmentBridgeTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// A small stage-2 configuration: ResNet-18 of width 8 (F = 64), a 4-wide clinical vector, 8 attention units, bags of 4.
    static func tinyConfig(frozen: Bool = true, cache: Bool = true) -> MEDFORMAlignmentConfig {
        var config = MEDFORMAlignmentConfig()
        config.sliceFeatureCache = cache
        config.sliceEncoderWidth = 8
        config.clinicalFeatures = 4
        config.attentionHidden = 8
        config.bagSlices = 4
        config.temperature = 0.1
        config.freezeSliceEncoder = frozen
        return config
    }

    static func model(_ config: MEDFORMAlignmentConfig, seed: UInt64 = 5) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: seed)
    }

    /// `scans` scans of `depth` slices, each scan's slices variations of its own pattern and contrast, with a clinical
    /// vector each that depends on the scan.
    static func batch(scans: Int, depth: Int, size: Int = 32, clinical: Int = 4) -> TensorBatch {
        var voxels: [Float] = []
        for scan in 0..<scans {
            for slice in 0..<depth {
                for y in 0..<size {
                    for x in 0..<size {
                        let u = Double(x) / Double(size), v = Double(y) / Double(size), s = Double(scan)
                        voxels.append(Float((0.4 + 0.4 * s) * sin(5 * u * (1 + s) + 3 * v * (2 - 0.4 * s) + 0.2 * Double(slice)) + 0.3 * s - 0.5))
                    }
                }
            }
        }
        let vectors = (0..<(scans * clinical)).map { Float(cos(1.7 * Double($0)) + Double($0 / clinical) * 0.3) }
        return TensorBatch([NamedTensor(name: "volumes", shape: [scans, 1, depth, size, size], values: voxels),
                            NamedTensor(name: "clinical", shape: [scans, clinical], values: vectors)])
    }

    func testInfoNCEMatchesHandComputedValues() throws {
        // Aligned orthonormal pairs: each row and column picks its partner (cosine 1) over one other (cosine 0): ln(1 + e^{−1/τ}).
        for temperature in [1.0, 0.1, 0.01] {
            let aligned = try InfoNCELoss.compute(ct: [1, 0, 0, 1], clinical: [2, 0, 0, 5], pairs: 2, dimension: 2, temperature: temperature)
            XCTAssertEqual(aligned, log(1 + exp(-1 / temperature)), accuracy: 1e-9)
        }
        // Three pairs at angles, the definition written out: ½ (row cross-entropy + column cross-entropy).
        let ctAngles: [Double] = [0, 1.2, 2.9], clinicalAngles: [Double] = [0.3, 0.8, 3.5]
        let similarity = ctAngles.map { a in clinicalAngles.map { b in cos(a - b) / 0.5 } }
        var expected = 0.0
        for i in 0..<3 {
            let row = (0..<3).map { exp(similarity[i][$0]) }.reduce(0, +), column = (0..<3).map { exp(similarity[$0][i]) }.reduce(0, +)
            expected += 0.5 * (-log(exp(similarity[i][i]) / row) - log(exp(similarity[i][i]) / column)) / 3
        }
        let computed = try InfoNCELoss.compute(ct: ctAngles.flatMap { [Float(cos($0)), Float(sin($0))] }, clinical: clinicalAngles.flatMap { [Float(cos($0)), Float(sin($0))] },
                                               pairs: 3, dimension: 2, temperature: 0.5)
        XCTAssertEqual(computed, expected, accuracy: 1e-6)
        XCTAssertThrowsError(try InfoNCELoss.compute(ct: [1, 0], clinical: [1, 0], pairs: 1, dimension: 2, temperature: -1)) {
            XCTAssertTrue("\($0)".contains("temperature"), "\($0)")
        }
    }

    func testAttentionWeightsSumToOneAndFollowTheSlices() throws {
        let bags = 2, slices = 5, dimension = 8
        let features = (0..<(bags * slices * dimension)).map { Float(sin(0.9 * Double($0)) + 0.2 * Double($0 % 7)) }
        let (weights, pooled) = try MEDFORMAttentionPool.pool(features, bags: bags, slices: slices, dimension: dimension, hidden: 4, seed: 7)
        for bag in 0..<bags {
            let bagWeights = weights[(bag * slices)..<((bag + 1) * slices)]
            XCTAssertEqual(bagWeights.reduce(0, +), 1, accuracy: 1e-6)
            XCTAssertTrue(bagWeights.allSatisfy { $0 > 0 })
        }
        XCTAssertGreaterThan(Set(weights.map { ($0 * 1e5).rounded() }).count, 2, "the weights depend on the slices")
        // Reversing each bag's slices reverses its weights and leaves its embedding unchanged.
        var reversed: [Float] = []
        for bag in 0..<bags {
            for slice in (0..<slices).reversed() {
                let start = (bag * slices + slice) * dimension
                reversed += features[start..<(start + dimension)]
            }
        }
        let (reversedWeights, reversedPooled) = try MEDFORMAttentionPool.pool(reversed, bags: bags, slices: slices, dimension: dimension, hidden: 4, seed: 7)
        for bag in 0..<bags {
            for slice in 0..<slices {
                XCTAssertEqual(reversedWeights[bag * slices + slices - 1 - slice], weights[bag * slices + slice], accuracy: 1e-6)
            }
        }
        for (got, expected) in zip(reversedPooled, pooled) { XCTAssertEqual(got, expected, accuracy: 1e-5) }
    }

    func testModelNamesShapesAndSliceOrderInvariantEmbedding() throws {
        let model = try Self.model(Self.tinyConfig())
        let shapes = Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["slice_encoder.conv1.weight"], [8, 1, 7, 7])
        XCTAssertEqual(shapes["mil.pre_attention.0.weight"], [64, 64])
        XCTAssertEqual(shapes["mil.pre_attention.5.weight"], [64], "the second LayerNorm")
        XCTAssertEqual(shapes["mil.attention_v.weight"], [8, 64])
        XCTAssertEqual(shapes["mil.attention_u.weight"], [8, 64])
        XCTAssertEqual(shapes["mil.attention_w.weight"], [1, 8])
        XCTAssertEqual(shapes["clinical_encoder.0.0.weight"], [4, 4])
        XCTAssertEqual(shapes["clinical_encoder.1.1.bias"], [4])
        XCTAssertEqual(shapes["clinical_encoder.2.weight"], [64, 4])
        XCTAssertNil(shapes["projection.0.weight"], "stage 2 has no SimCLR head")
        XCTAssertEqual(model.embeddingDimension, 64)
        XCTAssertEqual(model.outputSize, 128)
        XCTAssertFalse(model.hasPerExampleLoss)

        // A scan's embedding pools all its slices: the same with its slices in reverse order.
        let size = 32, depth = 5
        let voxels = MEDFORMBridgeTests.voxels(scans: 1, depth: depth, size: size)
        let reversed = (0..<depth).reversed().flatMap { voxels[($0 * size * size)..<(($0 + 1) * size * size)] }
        let forward = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: [1, 1, depth, size, size], values: voxels)]))
        let backward = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: [1, 1, depth, size, size], values: reversed)]))
        XCTAssertEqual(forward.count, 64)
        for (a, b) in zip(forward, backward) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // Predictions are the normalised CT and clinical embeddings side by side.
        let predicted = try model.predict(Self.batch(scans: 2, depth: depth))
        XCTAssertEqual(predicted.count, 2 * 128)
        for half in 0..<4 {
            let norm = predicted[(half * 64)..<((half + 1) * 64)].map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
    }

    func testTrainingLowersTheLossAndAFrozenSliceEncoderStaysPut() throws {
        for frozen in [true, false] {
            let model = try Self.model(Self.tinyConfig(frozen: frozen))
            let encoder = model.tensors.enumerated().filter { $0.element.name.hasPrefix("slice_encoder.") }
            var offsets: [Int] = []
            var offset = 0
            for tensor in model.tensors {
                offsets.append(offset)
                offset += tensor.count
            }
            let before = try model.exportState()
            try model.resetOptimizer(.adamw, learningRate: 5e-3, weightDecay: 0.01)
            let batch = Self.batch(scans: 4, depth: 6)
            Torch.seed(3)
            let losses = try (0..<25).map { _ in try model.trainStep(batch) }
            XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
            let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
            XCTAssertLessThan(last, 0.9 * first, "frozen \(frozen): InfoNCE over 4 scans, first steps \(first), last \(last)")
            let after = try model.exportState()
            let encoderChange = encoder.map { index, tensor in
                (offsets[index]..<(offsets[index] + tensor.count)).map { abs(after[$0] - before[$0]) }.max() ?? 0
            }.max() ?? 0
            if frozen {
                XCTAssertEqual(encoderChange, 0, "a frozen slice encoder (weights and BatchNorm statistics) does not change")
            } else {
                XCTAssertGreaterThan(encoderChange, 0, "a fine-tuned slice encoder trains")
            }
        }
    }

    /// Training and embedding through the slice-feature cache equal the same steps without it (the same bags are drawn;
    /// the features of a frozen encoder in evaluation mode do not depend on which slices share its batch), and the cache
    /// follows a new slice encoder imported into the model. Prints the speed-up over 32 steps alternating two batches
    /// (4 and 6 scans of 12 slices, bags of 4; the second batch shares 4 scans with the first).
    func testSliceFeatureCacheEqualsUncachedTraining() throws {
        let batches = [Self.batch(scans: 4, depth: 12), Self.batch(scans: 6, depth: 12)]
        var results: [(losses: [Float], state: [Float], embedding: [Float], seconds: Double)] = []
        for cache in [true, false] {
            let model = try Self.model(Self.tinyConfig(cache: cache))
            try model.resetOptimizer(.adamw, learningRate: 5e-3, weightDecay: 0.01)
            Torch.seed(3)
            let started = Date()
            let losses = try (0..<32).map { step in try model.trainStep(batches[step % 2]) }
            let seconds = Date().timeIntervalSince(started)
            results.append((losses, try model.exportState(), try model.embed(batches[1]), seconds))
        }
        let (cached, uncached) = (results[0], results[1])
        for (a, b) in zip(cached.losses, uncached.losses) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
        let largest = uncached.state.map(abs).max() ?? 1
        for (a, b) in zip(cached.state, uncached.state) { XCTAssertEqual(a, b, accuracy: 1e-4 * largest) }
        for (a, b) in zip(cached.embedding, uncached.embedding) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        print(String(format: "slice-feature cache: 32 steps over 6 scans × 12 slices, bags of 4: %.3f s cached, %.3f s uncached, speed-up ×%.2f",
                     cached.seconds, uncached.seconds, uncached.seconds / cached.seconds))

        // A different slice encoder imported into a cached model: its embeddings are the new encoder's, not the cached ones.
        let cachedModel = try Self.model(Self.tinyConfig(cache: true))
        _ = try cachedModel.embed(batches[0])
        let other = try Self.model(Self.tinyConfig(cache: false), seed: 9)
        let state = try other.exportState()
        try cachedModel.importState(state)
        for (a, b) in zip(try cachedModel.embed(batches[0]), try other.embed(batches[0])) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testBadSettingsAreRefusedByName() throws {
        var objective = Self.tinyConfig().objective
        objective.settings["stage"] = [3]
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: objective, seed: 1)) {
            XCTAssertTrue("\($0)".contains("stage"), "\($0)")
        }
        objective.settings["stage"] = [2]
        objective.settings["temperature"] = [0]
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: objective, seed: 1)) {
            XCTAssertTrue("\($0)".contains("temperature"), "\($0)")
        }
        let model = try Self.model(Self.tinyConfig())
        XCTAssertThrowsError(try model.trainStep(MEDFORMBridgeTests.volumes(scans: 2, depth: 3, size: 32))) {
            XCTAssertTrue("\($0)".contains("clinical"), "\($0)")
        }
    }
}

