// Tests of the MONAI export: the head's projection becomes MONAI's classifier, the rest of the head is left out.
import FedCTCore
import FedCTTorch
import FedCTTraining
import XCTest

final class MONAIExportTests: XCTestCase {
    func testProjectionBecomesTheClassifierAndEncoderValuesAreKept() throws {
        for (architecture, classifier) in [(EncoderConfig.Architecture.resnet, "fc"), (.densenet121, "class_layers.out")] {
            let model = try TorchModel(encoder: EncoderConfig(architecture: architecture, depth: 10, width: 4, norm: .batch),
                                     head: TTEHeadConfig(tasks: 3, pieces: 2, rank: 5), seed: 1)
            let state = try model.state()
            let exported = try MONAIExport.state(state)
            let names = exported.layout.map(\.name)
            XCTAssertFalse(names.contains { $0.hasPrefix("head.") }, "\(architecture)")
            XCTAssertEqual(exported.layout.first { $0.name == classifier + ".weight" }?.shape, [10, model.embeddingDimension])
            XCTAssertEqual(exported.metadata["monai_classifier_outputs"], "10")
            // Every exported tensor carries the source tensor's values.
            var source: [String: ArraySlice<Float>] = [:]
            var offset = 0
            for tensor in state.layout {
                source[tensor.name.replacingOccurrences(of: "head.proj", with: classifier)] = state.values[offset..<(offset + tensor.count)]
                offset += tensor.count
            }
            offset = 0
            for tensor in exported.layout {
                XCTAssertEqual(Array(exported.values[offset..<(offset + tensor.count)]), source[tensor.name].map(Array.init), tensor.name)
                offset += tensor.count
            }
            XCTAssertEqual(exported.layout.count, state.layout.count - 2)
        }
    }

    func testAFileWithoutTheHeadIsRefused() throws {
        let state = try ModelState(layout: [TensorLayout(name: "conv1.weight", shape: [2])], values: [1, 2])
        XCTAssertThrowsError(try MONAIExport.state(state)) { XCTAssertTrue("\($0)".contains("head.proj.weight"), "\($0)") }
    }
}
