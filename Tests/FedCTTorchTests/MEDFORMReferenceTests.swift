// The bridge's MEDFORM slice encoder against torchvision's ResNet-18 (Tests/Reference/medform_reference.json).
import FedCTTorch
import Foundation
import XCTest

final class MEDFORMReferenceTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private struct Reference: Decodable {
        struct Tensor: Decodable, Hashable {
            let name: String
            let shape: [Int]
        }
        let volume_shape: [Int]
        let tensors: [Tensor]
        let embedding: [Float]
    }

    /// medform_reference.py's formula for element `index` of tensor `name` (torchvision's name) with `shape`.
    private static func weight(_ name: String, _ shape: [Int], _ index: Int) -> Float {
        let wave = sin(0.37 * Double(index) + 0.3 * Double(name.count))
        if shape.count > 1 { return Float(wave * (4 / Double(shape.dropFirst().reduce(1, *))).squareRoot()) }
        if name.hasSuffix("running_var") { return Float(1 + 0.2 * wave) }
        if name.hasSuffix("weight") { return Float(1 + 0.1 * wave) }
        return Float(0.1 * wave)
    }

    func testSliceEncoderMatchesTorchvisionResNet18() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Reference/medform_reference.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let model = try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: MEDFORMConfig().objective, seed: 1)

        // The slice encoder's tensors are exactly torchvision's (1-channel conv1, no fc), in the same order, under `slice_encoder.`.
        let prefix = "slice_encoder."
        let encoder = model.tensors.filter { $0.name.hasPrefix(prefix) }.map { Reference.Tensor(name: String($0.name.dropFirst(prefix.count)), shape: $0.shape) }
        XCTAssertEqual(encoder, reference.tensors)

        var state = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name.hasPrefix(prefix) {
                let name = String(tensor.name.dropFirst(prefix.count))
                for index in 0..<tensor.count { state[offset + index] = Self.weight(name, tensor.shape, index) }
            }
            offset += tensor.count
        }
        try model.importState(state)

        let shape = reference.volume_shape
        let volumes = (0..<shape.reduce(1, *)).map { Float(sin(0.05 * Double($0)) * cos(0.003 * Double($0))) }
        let embedding = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: shape, values: volumes)]))
        XCTAssertEqual(embedding.count, reference.embedding.count)
        for (index, (got, expected)) in zip(embedding, reference.embedding).enumerated() {
            XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)), "embedding value \(index)")
        }
    }
}
