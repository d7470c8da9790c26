// MEDFORM stage 1 in the bridge: NT-Xent against hand-computed values, the slice views, the ResNets' names and shapes,
// and training steps that lower the loss.
import FedCTTorch
import Foundation
import XCTest

final class MEDFORMBridgeTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// A small stage-1 configuration: ResNet-18 of width 8, a 16-wide head, 4 slices per scan, views without augmentation
    /// unless `augmentation` is given.
    static func tinyConfig(augmentation: MEDFORMAugmentation = MEDFORMAugmentation(cropMinScale: 1, jitter: 0, blurProbability: 0, noiseStd: 0)) -> MEDFORMConfig {
        var config = MEDFORMConfig()
        config.sliceEncoderWidth = 8
        config.projectionDim = 16
        config.slicesPerScan = 4
        config.temperature = 0.2
        config.augmentation = augmentation
        return config
    }

    static func model(_ config: MEDFORMConfig, seed: UInt64 = 5) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: seed)
    }

    /// Scans [n, 1, depth, size, size] whose slices differ from each other and from scan to scan.
    static func volumes(scans: Int, depth: Int, size: Int) -> TensorBatch {
        TensorBatch([NamedTensor(name: "volumes", shape: [scans, 1, depth, size, size], values: voxels(scans: scans, depth: depth, size: size))])
    }

    static func voxels(scans: Int, depth: Int, size: Int) -> [Float] {
        var values: [Float] = []
        for scan in 0..<scans {
            for slice in 0..<depth {
                for y in 0..<size {
                    for x in 0..<size {
                        let u = Double(x) / Double(size), v = Double(y) / Double(size), k = Double(scan * depth + slice)
                        values.append(Float(sin(6 * u * (1 + 0.3 * k) + 2 * v) * cos(4 * v - k)))
                    }
                }
            }
        }
        return values
    }

    func testNTXentMatchesHandComputedValues() throws {
        // Identical views e1, e2: each view's partner has similarity 1, the two others 0: ln(1 + 2e^{−1/τ}).
        for temperature in [1.0, 0.5, 0.07] {
            let same = try NTXentLoss.compute(first: [1, 0, 0, 1], second: [1, 0, 0, 1], pairs: 2, dimension: 2, temperature: temperature)
            XCTAssertEqual(same, log(1 + 2 * exp(-1 / temperature)), accuracy: 1e-9)
        }
        // Swapped views (partners orthogonal, the non-partner of the same direction similar), scaled: normalised inside;
        // each view: −ln(e⁰ / (e⁰ + e⁰ + e^{1/τ})) = ln(2 + e^{1/τ}).
        let swapped = try NTXentLoss.compute(first: [3, 0, 0, 3], second: [0, 2, 2, 0], pairs: 2, dimension: 2, temperature: 0.5)
        XCTAssertEqual(swapped, log(2 + exp(2.0)), accuracy: 1e-9)
        // Three pairs at angles: the four-line definition, written out.
        let angles: [Double] = [0, 0.4, 2.0, 2.3, 4.0, 3.1]  // views 0–2 then 3–5 (partner of i is i ± 3)
        let points = angles.map { [cos($0), sin($0)] }
        var expected = 0.0
        for i in 0..<6 {
            let partner = (i + 3) % 6
            let logits = (0..<6).map { j in (points[i][0] * points[j][0] + points[i][1] * points[j][1]) / 0.3 }
            let denominator = (0..<6).filter { $0 != i }.map { exp(logits[$0]) }.reduce(0, +)
            expected += -log(exp(logits[partner]) / denominator) / 6
        }
        let computed = try NTXentLoss.compute(first: points[0..<3].flatMap { $0.map(Float.init) }, second: points[3..<6].flatMap { $0.map(Float.init) },
                                              pairs: 3, dimension: 2, temperature: 0.3)
        XCTAssertEqual(computed, expected, accuracy: 1e-6)
        XCTAssertThrowsError(try NTXentLoss.compute(first: [1, 0], second: [1, 0], pairs: 1, dimension: 2, temperature: 0)) {
            XCTAssertTrue("\($0)".contains("temperature"), "\($0)")
        }
    }

    func testViewsAreCropsFlipsAndJitterOfTheSlice() throws {
        let size = 12
        let slices = (0..<(3 * size * size)).map { Float(sin(0.7 * Double($0)) + 0.01 * Double($0 % size)) }
        // Without crop, jitter, blur and noise a view is its slice or the slice mirrored left–right.
        let plain = MEDFORMAugmentation(cropMinScale: 1, jitter: 0, blurProbability: 0, noiseStd: 0)
        var mirrored = 0
        for seed in UInt64(1)...4 {
            let view = try plain.view(of: slices, count: 3, height: size, width: size, seed: seed)
            for slice in 0..<3 {
                let range = (slice * size * size)..<((slice + 1) * size * size)
                let original = Array(slices[range]), got = Array(view[range])
                let flipped = (0..<(size * size)).map { original[($0 / size) * size + (size - 1 - $0 % size)] }
                let same = zip(got, original).allSatisfy { abs($0 - $1) < 1e-5 }, flip = zip(got, flipped).allSatisfy { abs($0 - $1) < 1e-5 }
                XCTAssertTrue(same || flip, "seed \(seed) slice \(slice) is neither the slice nor its mirror")
                if flip && !same { mirrored += 1 }
            }
        }
        XCTAssertTrue((1..<12).contains(mirrored), "about half the views mirrored, got \(mirrored) of 12")
        // The full augmentation changes every view, is reproducible under its seed and differs between seeds.
        let full = MEDFORMAugmentation()
        let first = try full.view(of: slices, count: 3, height: size, width: size, seed: 9)
        XCTAssertEqual(first, try full.view(of: slices, count: 3, height: size, width: size, seed: 9))
        XCTAssertNotEqual(first, try full.view(of: slices, count: 3, height: size, width: size, seed: 10))
        XCTAssertTrue(first.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(zip(first, slices).map { abs($0 - $1) }.reduce(0, +) / Float(slices.count), 0.01)
        XCTAssertThrowsError(try MEDFORMAugmentation(cropMinScale: 0).view(of: slices, count: 3, height: size, width: size, seed: 1)) {
            XCTAssertTrue("\($0)".contains("crop_min_scale"), "\($0)")
        }
    }

    func testResNet18And50HaveTorchvisionNamesAndShapes() throws {
        let resnet18 = try Self.model(MEDFORMConfig())
        let shapes18 = Dictionary(uniqueKeysWithValues: resnet18.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes18["slice_encoder.conv1.weight"], [64, 1, 7, 7])
        XCTAssertEqual(shapes18["slice_encoder.layer2.0.downsample.0.weight"], [128, 64, 1, 1])
        XCTAssertEqual(shapes18["slice_encoder.layer2.0.downsample.1.running_var"], [128])
        XCTAssertEqual(shapes18["slice_encoder.layer4.1.conv2.weight"], [512, 512, 3, 3])
        XCTAssertEqual(shapes18["projection.0.weight"], [512, 512])
        XCTAssertEqual(shapes18["projection.2.weight"], [128, 512])
        XCTAssertNil(shapes18["slice_encoder.layer1.0.downsample.0.weight"], "layer1 keeps 64 planes at stride 1: no downsample")
        XCTAssertFalse(resnet18.tensors.contains { $0.name.hasPrefix("slice_encoder.fc") || $0.name.hasSuffix("num_batches_tracked") })
        // torchvision's resnet18 has 11 689 512 parameters; without fc (513 000) and with one input channel (−6 272).
        let parameters18 = resnet18.tensors.filter { $0.name.hasPrefix("slice_encoder.") && !$0.name.contains("running_") }.map(\.count).reduce(0, +)
        XCTAssertEqual(parameters18, 11_170_240)
        XCTAssertEqual(resnet18.embeddingDimension, 512)
        XCTAssertEqual(resnet18.outputSize, 128)
        XCTAssertFalse(resnet18.hasPerExampleLoss)

        var config50 = MEDFORMConfig()
        config50.sliceEncoder = .resnet50
        let resnet50 = try Self.model(config50)
        let shapes50 = Dictionary(uniqueKeysWithValues: resnet50.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes50["slice_encoder.layer1.0.conv3.weight"], [256, 64, 1, 1])
        XCTAssertEqual(shapes50["slice_encoder.layer1.0.downsample.0.weight"], [256, 64, 1, 1])
        XCTAssertEqual(shapes50["slice_encoder.layer3.5.bn3.weight"], [1024])
        XCTAssertEqual(shapes50["slice_encoder.layer4.0.conv2.weight"], [512, 512, 3, 3], "stride on the 3×3 convolution (ResNet v1.5)")
        XCTAssertEqual(shapes50["projection.2.weight"], [128, 2048])
        // torchvision's resnet50 has 25 557 032 parameters; without fc (2 049 000) and with one input channel (−6 272).
        let parameters50 = resnet50.tensors.filter { $0.name.hasPrefix("slice_encoder.") && !$0.name.contains("running_") }.map(\.count).reduce(0, +)
        XCTAssertEqual(parameters50, 23_501_760)
        XCTAssertEqual(resnet50.embeddingDimension, 2048)
    }

    func testEmbeddingAveragesTheScansSlices() throws {
        let model = try Self.model(Self.tinyConfig())
        let values = Self.voxels(scans: 2, depth: 3, size: 32)
        let whole = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: [2, 1, 3, 32, 32], values: values)]))
        XCTAssertEqual(whole.count, 2 * 64)
        // Each slice alone, as a one-slice scan: their mean is the scan's embedding.
        var mean = [Float](repeating: 0, count: 64)
        for slice in 0..<3 {
            let one = Array(values[(slice * 32 * 32)..<((slice + 1) * 32 * 32)])
            let embedding = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: [1, 1, 1, 32, 32], values: one)]))
            for index in 0..<64 { mean[index] += embedding[index] / 3 }
        }
        for index in 0..<64 { XCTAssertEqual(whole[index], mean[index], accuracy: 1e-5) }
    }

    func testTrainingStepsLowerTheLossOnATinyBatch() throws {
        let model = try Self.model(Self.tinyConfig())
        try model.resetOptimizer(.adamw, learningRate: 1e-3, weightDecay: 0)
        let batch = Self.volumes(scans: 4, depth: 8, size: 32)
        Torch.seed(3)
        let losses = try (0..<20).map { _ in try model.trainStep(batch) }
        XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.8 * first, "NT-Xent over 16 slices: first steps \(first), last \(last)")
    }

    func testBadSettingsAreRefusedByName() throws {
        var config = Self.tinyConfig()
        config.augmentation.jitter = 1.5
        XCTAssertThrowsError(try Self.model(config)) { XCTAssertTrue("\($0)".contains("jitter"), "\($0)") }
        var objective = Self.tinyConfig().objective
        objective.settings["stage"] = [3]
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: objective, seed: 1)) {
            XCTAssertTrue("\($0)".contains("stage"), "\($0)")
        }
        objective.settings["stage"] = [1]
        objective.settings["slice_encoder_depth"] = [34]
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: objective, seed: 1)) {
            XCTAssertTrue("\($0)".contains("18 or 50"), "\($0)")
        }
        let model = try Self.model(Self.tinyConfig())
        XCTAssertThrowsError(try model.setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, seed: 1)) {
            XCTAssertTrue("\($0)".contains("privacy.level site"), "\($0)")
        }
    }
}
