// Tests that FedBN's local tensors are exactly the encoder's normalisation layers.
import FedCTCore
import FedCTTorch
import FedCTTraining
import XCTest

final class NormalizationLayersTests: XCTestCase {
    func testFindsEveryNormalisationTensorAndNothingElse() throws {
        let model = try TTEModel(encoder: EncoderConfig(depth: 10, width: 4, norm: .batch), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: 1)
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
