// Tests of the libtorch bridge: exact state round trips, the TTE loss by hand, learning, MONAI names, size errors.
import FedCTTorch
import XCTest

final class TorchModelTTETests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private func tiny(seed: UInt64 = 1, norm: EncoderConfig.Norm = .group) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 1, norm: norm), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 3), seed: seed)
    }

    func testStateRoundTripIsBitExact() throws {
        let model = try tiny(norm: .batch)
        let state = try model.exportState()
        XCTAssertEqual(state.count, model.parameterCount)
        XCTAssertTrue(model.tensors.contains { $0.name == "bn1.running_var" }, "BatchNorm statistics are part of the state")
        let other = try tiny(seed: 99, norm: .batch)
        XCTAssertNotEqual(try other.exportState(), state, "a different seed gives a different model")
        try other.importState(state)
        XCTAssertEqual(try other.exportState().map(\.bitPattern), state.map(\.bitPattern))
        let volumes: [Float] = (0..<(2 * 16 * 16 * 16)).map { (index: Int) -> Float in Float((index * 37) % 101) / 50 - 1 }
        let shape = VolumeShape(batch: 2, depth: 16, height: 16, width: 16)
        XCTAssertEqual(try other.embed(volumes: volumes, shape: shape), try model.embed(volumes: volumes, shape: shape))
    }

    func testSameSeedSameInitialState() throws {
        XCTAssertEqual(try tiny(seed: 5).exportState(), try tiny(seed: 5).exportState())
    }

    func testTTELossMatchesHandComputation() throws {
        // batch 2 × pieces 2 × tasks 2, laid out [b][p][t].
        // z (log2 hazard):  b0: p0 [0, 1],  p1 [-1, 0];   b1: p0 [1, 0], p1 [0, -1]  → λ = 2^z: [1,2,.5,1, 2,1,1,.5]
        // t (years at risk): b0: [1, 1, 0.5, 0];          b1: [2, 0.25, 1, 1]
        // δ (event):         b0: [0, 0, 1, 0];            b1: [0, 1, 0, 0]
        // mean(λ t) = (1 + 2 + 0.25 + 0 + 4 + 0.25 + 1 + 0.5) / 8 = 9 / 8
        // mean(δ ln λ) = (ln 0.5 + ln 1) / 8 = −ln 2 / 8      → loss = 9/8 + ln 2 / 8
        let loss = try TTELoss.compute(log2Hazard: [0, 1, -1, 0, 1, 0, 0, -1], timeAtRisk: [1, 1, 0.5, 0, 2, 0.25, 1, 1],
                                       events: [0, 0, 1, 0, 0, 1, 0, 0], batch: 2, pieces: 2, tasks: 2)
        XCTAssertEqual(loss, 9.0 / 8 + log(2.0) / 8, accuracy: 1e-6)
    }

    func testLossFallsOnAFixedBatch() throws {
        let model = try tiny()
        try model.resetOptimizer(learningRate: 3e-3, weightDecay: 0)
        let shape = VolumeShape(batch: 2, depth: 16, height: 16, width: 16)
        let half = shape.voxelCount / 2
        let volumes: [Float] = (0..<shape.voxelCount).map { (index: Int) -> Float in index < half ? Float(index % 7) / 7 : -Float(index % 5) / 5 }
        let time: [Float] = [1, 1, 0.5, 0.5, 0.2, 0.2, 0, 0]
        let events: [Float] = [0, 0, 0, 0, 1, 0, 0, 0]
        let first = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
        var last = first
        for _ in 0..<30 { last = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events) }
        XCTAssertLessThan(last, first * 0.8, "loss \(first) → \(last)")
        XCTAssertEqual(try model.evalLoss(volumes: volumes, shape: shape, timeAtRisk: time, events: events), last, accuracy: abs(last))
    }

    func testParameterNamesFollowMONAI() throws {
        let model = try TorchModel(encoder: EncoderConfig(depth: 18, width: 8), head: TTEHeadConfig(tasks: 3, pieces: 8, rank: 16), seed: 1)
        let shapes = Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["conv1.weight"], [8, 1, 7, 7, 7])
        XCTAssertEqual(shapes["bn1.weight"], [8])
        XCTAssertEqual(shapes["layer1.0.conv1.weight"], [8, 8, 3, 3, 3])
        XCTAssertEqual(shapes["layer1.1.bn2.bias"], [8])
        XCTAssertEqual(shapes["layer2.0.downsample.0.weight"], [16, 8, 1, 1, 1])
        XCTAssertEqual(shapes["layer2.0.downsample.1.weight"], [16])
        XCTAssertEqual(shapes["layer4.1.conv2.weight"], [64, 64, 3, 3, 3])
        XCTAssertEqual(shapes["head.proj.weight"], [8 * 16, 64])
        XCTAssertEqual(shapes["head.beta"], [3, 16])
        XCTAssertEqual(shapes["head.task_bias"], [3])
        XCTAssertEqual(model.embeddingDimension, 64)
    }

    func testWrongSizesAreClearErrors() throws {
        let model = try tiny()
        let shape = VolumeShape(batch: 1, depth: 8, height: 8, width: 8)
        XCTAssertThrowsError(try model.embed(volumes: [0, 1], shape: shape)) { error in
            XCTAssertTrue("\(error)".contains("512") && "\(error)".contains("got 2"), "\(error)")
        }
        XCTAssertThrowsError(try model.trainStep(volumes: [Float](repeating: 0, count: 512), shape: shape, timeAtRisk: [1], events: [0])) { error in
            XCTAssertTrue("\(error)".contains("4 values"), "\(error)")
        }
        XCTAssertThrowsError(try model.importState([1, 2, 3])) { XCTAssertTrue("\($0)".contains("got 3"), "\($0)") }
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(depth: 11), head: TTEHeadConfig(tasks: 1, pieces: 1), seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("depth 11"), "\(error)")
        }
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(), head: TTEHeadConfig(tasks: 2, pieces: 1, taskLog2BaseHazard: [0]), seed: 1))
    }

    func testBaseHazardInitialisesTheTaskBias() throws {
        let model = try TorchModel(encoder: EncoderConfig(depth: 10, width: 2), head: TTEHeadConfig(tasks: 2, pieces: 1, rank: 2, taskLog2BaseHazard: [-3, 1.5]), seed: 1)
        let state = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name == "head.task_bias" { XCTAssertEqual(Array(state[offset..<(offset + 2)]), [-3, 1.5]) }
            offset += tensor.count
        }
    }

    func testProximalTermKeepsParametersNearTheAnchor() throws {
        let shape = VolumeShape(batch: 2, depth: 16, height: 16, width: 16)
        let volumes: [Float] = (0..<shape.voxelCount).map { (index: Int) -> Float in Float(index % 11) / 11 - 0.5 }
        let time: [Float] = [1, 1, 0.5, 0.5, 0.2, 0.2, 0, 0]
        let events: [Float] = [0, 0, 0, 0, 1, 0, 0, 0]
        func drift(mu: Double) throws -> Double {
            let model = try tiny(seed: 3)
            let start = try model.exportState()
            try model.resetOptimizer(learningRate: 1e-2, weightDecay: 0)
            try model.setProximal(mu: mu)
            for _ in 0..<15 { _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events) }
            return zip(try model.exportState(), start).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        }
        let free = try drift(mu: 0)
        let anchored = try drift(mu: 50)
        XCTAssertGreaterThan(free, 0)
        XCTAssertLessThan(anchored, free * 0.8, "mu = 50 must keep the weights closer to the anchor (\(anchored) vs \(free))")
        XCTAssertThrowsError(try tiny().setProximal(mu: -1))
    }
}
