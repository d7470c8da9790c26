// The bridge's HLIP image tower against an independent PyTorch implementation (Tests/Reference/hlip_reference.json).
import FedCTTorch
import Foundation
import XCTest

final class HLIPReferenceTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private struct Reference: Decodable {
        struct Config: Decodable {
            let dim, heads, embed_dim, studies, scans: Int
            let patch, scan_shape: [Int]
            let pattern: [String]
        }
        struct Tensor: Decodable, Hashable {
            let name: String
            let shape: [Int]
        }
        let config: Config
        let tensors: [Tensor]
        let embedding: [Float]
    }

    /// hlip_reference.py's weight formula for element `index` of tensor `name` (timm's name, without `visual.`).
    private static func weight(_ name: String, _ index: Int) -> Float {
        let isNorm = ["norm.weight", "norm1.weight", "norm2.weight"].contains { name.hasSuffix($0) }
        return Float((isNorm ? 1 : 0) + 0.1 * sin(0.37 * Double(index) + 0.3 * Double(name.count)))
    }

    func testImageTowerMatchesThePyTorchReference() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Reference/hlip_reference.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let c = reference.config
        var config = HLIPBridgeTests.tinyConfig(pattern: c.pattern.map { HLIPGroup(name: $0)! })
        config.dim = c.dim
        config.heads = c.heads
        config.patch = c.patch
        config.embedDim = c.embed_dim
        let model = try HLIPBridgeTests.model(config)

        // The image tower's tensors are exactly the reference module's (timm's ViT names, plus proj), under `visual.`.
        let visual = model.tensors.filter { $0.name.hasPrefix("visual.") }
        XCTAssertEqual(Set(visual.map { Reference.Tensor(name: String($0.name.dropFirst("visual.".count)), shape: $0.shape) }), Set(reference.tensors))

        var state = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name.hasPrefix("visual.") {
                let name = String(tensor.name.dropFirst("visual.".count))
                for index in 0..<tensor.count { state[offset + index] = Self.weight(name, index) }
            }
            offset += tensor.count
        }
        try model.importState(state)

        let shape = [c.studies, c.scans, 1] + c.scan_shape
        let volumes = (0..<shape.reduce(1, *)).map { Float(sin(0.05 * Double($0)) * cos(0.003 * Double($0))) }
        let embedding = try model.embed(TensorBatch([NamedTensor(name: "volumes", shape: shape, values: volumes)]))
        XCTAssertEqual(embedding.count, reference.embedding.count)
        for (index, (got, expected)) in zip(embedding, reference.embedding).enumerated() {
            XCTAssertEqual(got, expected, accuracy: 1e-4, "embedding value \(index)")
        }
    }
}
