// Tests that FedBN's local tensors are exactly the encoder's normalisation layers.
import FedCTCore
import FedCTTorch
import FedCTTraining
import XCTest

final class NormalizationLayersTests: XCTestCase {
    func testFindsEveryNormalisationTensorAndNothingElse() throws {
        let model = try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, norm: .batch), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: 1)
        let local = Set(model.tensors.map(\.name).filter(NormalizationLayers.contains))
        for name in ["bn1.weight", "bn1.running_var", "layer1.0.bn2.bias", "layer2.0.downsample.1.weight", "layer4.0.downsample.1.running_mean"] {
            XCTAssertTrue(local.contains(name), name)
        }
        for name in ["conv1.weight", "layer2.0.downsample.0.weight", "layer1.0.conv2.weight", "head.beta", "head.proj.weight"] {
            XCTAssertFalse(local.contains(name), name)
        }
        let ranges = NormalizationLayers.ranges(in: model.layout)
        XCTAssertEqual(ranges.count, local.count)
        XCTAssertEqual(ranges.reduce(0) { $0 + $1.count }, model.tensors.filter { local.contains($0.name) }.reduce(0) { $0 + $1.count })
    }
}

final class NormalizationLayersDenseNetAndBottleneckTests: XCTestCase {
    func testFindsDenseNetAndBottleneckNormsByMONAIsNames() throws {
        let dense = try TorchModel(encoder: EncoderConfig(architecture: .densenet121, width: 4, norm: .batch), head: TTEHeadConfig(tasks: 1, pieces: 1, rank: 1), seed: 1)
        let names = dense.tensors.map(\.name)
        let local = names.filter(NormalizationLayers.contains)
        // Every norm (norm0, 58 dense-layer norms × 2, 3 transition norms, norm5) has weight, bias, running_mean, running_var.
        XCTAssertEqual(local.count, (1 + 58 * 2 + 3 + 1) * 4)
        for name in ["features.norm0.weight", "features.denseblock1.denselayer1.layers.norm2.running_var", "features.transition3.norm.bias",
                     "features.norm5.running_mean"] {
            XCTAssertTrue(local.contains(name), name)
        }
        XCTAssertFalse(local.contains { $0.contains("conv") || $0.hasPrefix("head.") })
        let bottleneck = try TorchModel(encoder: EncoderConfig(depth: 50, width: 2, norm: .group), head: TTEHeadConfig(tasks: 1, pieces: 1, rank: 1), seed: 1)
        XCTAssertTrue(bottleneck.tensors.map(\.name).filter(NormalizationLayers.contains).contains("layer3.5.bn3.weight"))
    }
}
