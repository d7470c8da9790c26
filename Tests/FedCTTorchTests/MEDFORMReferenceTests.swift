// The bridge's MEDFORM stages against PyTorch (Tests/Reference/medform_reference.json): stage 1's slice encoder against
// torchvision's ResNet-18, stage 2's CT and clinical embeddings and InfoNCE loss against TANGLE's modules re-written there.
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
        struct Stage2: Decodable {
            let volume_shape: [Int]
            let clinical_features: Int
            let attention_hidden: Int
            let temperature: Double
            let tensors: [Tensor]
            let ct_embedding: [Float]
            let clinical_embedding: [Float]
            let loss: Double
        }
        let volume_shape: [Int]
        let tensors: [Tensor]
        let embedding: [Float]
        let stage2: Stage2
    }

    private static func reference() throws -> Reference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Reference/medform_reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// medform_reference.py's stage-2 formula (a chirp) for element `index` of tensor `name` (FedCT's full name) with `shape`.
    private static func stage2Weight(_ name: String, _ shape: [Int], _ index: Int) -> Float {
        let i = Double(index)
        let wave = sin(0.37 * i + 0.3 * Double(name.count) + 0.001 * i * i)
        if shape.count > 1 { return Float(wave * (4 / Double(shape.dropFirst().reduce(1, *))).squareRoot()) }
        if name.hasSuffix("running_var") { return Float(1 + 0.2 * wave) }
        if name.hasSuffix("weight") { return Float(1 + 0.1 * wave) }
        return Float(0.1 * wave)
    }

    private static func normalized(_ rows: ArraySlice<Float>) -> [Float] {
        let norm = rows.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        return rows.map { Float(Double($0) / norm) }
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
        let reference = try Self.reference()
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

    func testStage2EmbeddingsAndLossMatchPyTorch() throws {
        let reference = try Self.reference().stage2
        var config = MEDFORMAlignmentConfig()
        config.clinicalFeatures = reference.clinical_features
        config.attentionHidden = reference.attention_hidden
        config.temperature = reference.temperature
        let model = try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: 1)
        XCTAssertEqual(Set(model.tensors.map { Reference.Tensor(name: $0.name, shape: $0.shape) }), Set(reference.tensors))

        var state: [Float] = []
        for tensor in model.tensors { state += (0..<tensor.count).map { Self.stage2Weight(tensor.name, tensor.shape, $0) } }
        try model.importState(state)

        let shape = reference.volume_shape, scans = shape[0], width = config.features, n = reference.clinical_features
        let volumes = (0..<shape.reduce(1, *)).map { Float(sin(0.05 * Double($0)) * cos(0.003 * Double($0))) }
        let clinical = (0..<(scans * n)).map { Float(cos(0.7 * Double($0)) * 1.5) }
        let batch = TensorBatch([NamedTensor(name: "volumes", shape: shape, values: volumes), NamedTensor(name: "clinical", shape: [scans, n], values: clinical)])
        let ct = try model.embed(batch)
        XCTAssertEqual(ct.count, reference.ct_embedding.count)
        for (index, (got, expected)) in zip(ct, reference.ct_embedding).enumerated() {
            XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)), "CT embedding value \(index)")
        }
        let predicted = try model.predict(batch)
        var clinicalEmbedding: [Float] = []
        for scan in 0..<scans {
            let row = scan * 2 * width
            let expectedCT = Self.normalized(reference.ct_embedding[(scan * width)..<((scan + 1) * width)])
            let expectedClinical = Self.normalized(reference.clinical_embedding[(scan * width)..<((scan + 1) * width)])
            for index in 0..<width {
                XCTAssertEqual(predicted[row + index], expectedCT[index], accuracy: 1e-4, "scan \(scan) normalised CT value \(index)")
                XCTAssertEqual(predicted[row + width + index], expectedClinical[index], accuracy: 1e-4, "scan \(scan) normalised clinical value \(index)")
            }
            clinicalEmbedding += predicted[(row + width)..<(row + 2 * width)]
        }
        let loss = try InfoNCELoss.compute(ct: ct, clinical: clinicalEmbedding, pairs: scans, dimension: width, temperature: reference.temperature)
        XCTAssertEqual(loss, reference.loss, accuracy: 1e-4 * max(1, abs(reference.loss)))
    }
}
