// The bridge's encoders against MONAI's state_dict names and shapes (Tests/Reference/monai_state_dict_reference.json).
import FedCTTorch
import Foundation
import XCTest

/// The reference file written by Tests/Reference/monai_state_dict_reference.py (MONAI 1.4.0, torch 1.13).
private struct MONAIReference: Decodable {
    struct Configuration: Decodable {
        let architecture: String
        let depth: Int
        let width: Int
        let norm: String
        let monai: String
        /// MONAI's output layer, which the MOTOR head's projection `head.proj` takes the place of.
        let classifier: String
        let parameters: [Tensor]
        let buffers: [Tensor]
    }

    /// A [name, shape] pair.
    struct Tensor: Decodable, Equatable, CustomStringConvertible {
        let name: String
        let shape: [Int]

        init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }

        init(from decoder: Decoder) throws {
            var pair = try decoder.unkeyedContainer()
            name = try pair.decode(String.self)
            shape = try pair.decode([Int].self)
        }

        var description: String { "\(name) \(shape)" }
    }

    let monaiVersion: String
    let classifierOutputs: Int
    let configurations: [String: Configuration]

    static func load() throws -> MONAIReference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Reference/monai_state_dict_reference.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(MONAIReference.self, from: Data(contentsOf: url.standardized))
    }
}

final class MONAIReferenceTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// Head sizes whose projection has as many outputs as the reference's classifier (pieces × rank = 8 × 4).
    private let head = TTEHeadConfig(tasks: 3, pieces: 8, rank: 4)

    private func model(_ configuration: MONAIReference.Configuration, norm: EncoderConfig.Norm) throws -> TorchModel {
        let architecture = try XCTUnwrap(EncoderConfig.Architecture(rawValue: configuration.architecture))
        return try TorchModel(encoder: EncoderConfig(architecture: architecture, depth: configuration.depth, width: configuration.width,
                                                   stemStride: 2, norm: norm),
                            head: head, seed: 1)
    }

    /// The bridge's flat state with the MOTOR projection renamed to MONAI's classifier and head.beta/task_bias left out,
    /// split into parameters and buffers as the reference is.
    private func bridgeTensors(_ model: TorchModel, classifier: String) -> (parameters: [MONAIReference.Tensor], buffers: [MONAIReference.Tensor]) {
        let renamed = model.tensors.compactMap { tensor -> MONAIReference.Tensor? in
            if tensor.name.hasPrefix("head.proj.") { return .init(name: classifier + tensor.name.dropFirst("head.proj".count), shape: tensor.shape) }
            return tensor.name.hasPrefix("head.") ? nil : .init(name: tensor.name, shape: tensor.shape)
        }
        let isBuffer = { (tensor: MONAIReference.Tensor) in tensor.name.hasSuffix(".running_mean") || tensor.name.hasSuffix(".running_var") }
        return (renamed.filter { !isBuffer($0) }, renamed.filter(isBuffer))
    }

    private func assertSameTensors(_ actual: [MONAIReference.Tensor], _ expected: [MONAIReference.Tensor], _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(label): tensor count", file: file, line: line)
        if let mismatch = zip(actual, expected).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("\(label): tensor \(mismatch.offset) is \(mismatch.element.0), MONAI has \(mismatch.element.1)", file: file, line: line)
        }
    }

    func testEveryReferenceConfigurationHasMONAIsNamesShapesAndOrder() throws {
        let reference = try MONAIReference.load()
        XCTAssertEqual(reference.classifierOutputs, head.pieces * head.rank)
        XCTAssertEqual(Set(reference.configurations.keys),
                       ["resnet10-w8-batch", "resnet18-w64-batch", "resnet34-w8-batch", "resnet50-w8-batch", "densenet121-batch", "densenet121-group"])
        for (label, configuration) in reference.configurations.sorted(by: { $0.key < $1.key }) {
            let norm = try XCTUnwrap(EncoderConfig.Norm(rawValue: configuration.norm))
            let (parameters, buffers) = bridgeTensors(try model(configuration, norm: norm), classifier: configuration.classifier)
            assertSameTensors(parameters, configuration.parameters, "\(label) parameters (MONAI \(reference.monaiVersion): \(configuration.monai))")
            assertSameTensors(buffers, configuration.buffers, "\(label) buffers")
        }
    }

    func testGroupNormResNetHasTheBatchNormParametersAndNoBuffers() throws {
        // MONAI's ResNet passes `norm` to its stem only, so the reference has no group-norm ResNet; a GroupNorm layer has
        // the same weight and bias as a BatchNorm layer, and no running statistics.
        let configuration = try XCTUnwrap(try MONAIReference.load().configurations["resnet18-w64-batch"])
        let (parameters, buffers) = bridgeTensors(try model(configuration, norm: .group), classifier: configuration.classifier)
        assertSameTensors(parameters, configuration.parameters, "resnet18 group-norm parameters")
        XCTAssertEqual(buffers, [])
    }

    func testEmbeddingWidthsAreMONAIsClassifierInputs() throws {
        let reference = try MONAIReference.load()
        for (label, configuration) in reference.configurations {
            let norm = try XCTUnwrap(EncoderConfig.Norm(rawValue: configuration.norm))
            let classifier = try XCTUnwrap(configuration.parameters.first { $0.name == configuration.classifier + ".weight" }, label)
            XCTAssertEqual(try model(configuration, norm: norm).embeddingDimension, classifier.shape[1], label)
        }
    }

    func testDenseNetAndBottleneckResNetTrainOnASmallVolume() throws {
        let shape = VolumeShape(batch: 2, depth: 32, height: 32, width: 32)
        let volumes = (0..<shape.voxelCount).map { Float($0 % 17) / 17 - 0.5 }
        let targets = shape.batch * head.pieces * head.tasks
        let time = [Float](repeating: 0.5, count: targets)
        let events = (0..<targets).map { Float($0 % 5 == 0 ? 1 : 0) }
        for encoder in [EncoderConfig(architecture: .densenet121, width: 8, norm: .group), EncoderConfig(depth: 50, width: 4, norm: .batch)] {
            let model = try TorchModel(encoder: encoder, head: head, seed: 2)
            try model.resetOptimizer(learningRate: 1e-3, weightDecay: 0)
            let first = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
            var last = first
            for _ in 0..<5 { last = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events) }
            XCTAssertLessThan(last, first, "\(encoder): loss \(first) → \(last)")
            XCTAssertEqual(try model.embed(volumes: volumes, shape: shape).count, 2 * model.embeddingDimension)
        }
    }
}
