// Tests of DP-SGD in the bridge: per-sample clipping, division by the expected batch, seeded noise, FedProx, BatchNorm refusal.
import FedCTTorch
import XCTest

final class DPSGDTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private static let side = 16

    private func tiny(norm: EncoderConfig.Norm = .group) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 2, norm: norm), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 3), seed: 4)
    }

    /// Sample `index`: a distinct volume and targets (2 pieces × 2 tasks).
    private func sample(_ index: Int) -> (volume: [Float], time: [Float], events: [Float]) {
        let voxels = Self.side * Self.side * Self.side
        let volume = (0..<voxels).map { Float(($0 * (7 + 2 * index) + 5 * index) % 23) / 23 - 0.4 }
        let time: [Float] = [1, 0.5 + 0.25 * Float(index), 0.3, Float(index % 2)]
        let events: [Float] = index.isMultiple(of: 2) ? [0, 1, 0, 0] : [0, 0, 1, 0]
        return (volume, time, events)
    }

    /// One training step from the model's current state on samples `indices`, then the state is put back.
    ///
    /// With learning rate 1, weight decay 0 and ε = 0.01, AdamW's first step moves each coordinate by
    /// −g / (|g| + ε), so the gradient the step used is recovered exactly: g = −ε·Δ / (1 − |Δ|).
    private func gradient(_ model: TorchModel, _ indices: [Int]) throws -> [Double] {
        let start = try model.exportState()
        try model.resetOptimizer(learningRate: 1, weightDecay: 0, epsilon: 0.01)
        let batch = indices.map(sample)
        _ = try model.trainStep(volumes: batch.flatMap(\.volume), shape: VolumeShape(batch: indices.count, depth: Self.side, height: Self.side, width: Self.side),
                                timeAtRisk: batch.flatMap(\.time), events: batch.flatMap(\.events))
        let end = try model.exportState()
        try model.importState(start)
        return zip(end, start).map { after, before in
            let delta = Double(after) - Double(before)
            return -0.01 * delta / (1 - abs(delta))
        }
    }

    private func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    private func distance(_ a: [Double], _ b: [Double]) -> Double { norm(zip(a, b).map { $0 - $1 }) }

    func testWithoutClippingOrNoiseDPSGDIsTheOrdinaryGradientOverTheExpectedBatch() throws {
        let model = try tiny()
        let ordinary = try gradient(model, [0, 1, 2])
        XCTAssertGreaterThan(norm(ordinary), 1e-3)
        try model.setDPSGD(clipNorm: 1e6, noiseMultiplier: 0, expectedBatchSize: 3, seed: 1)
        let private3 = try gradient(model, [0, 1, 2])
        XCTAssertLessThan(distance(private3, ordinary), 1e-3 * norm(ordinary), "per-sample gradients summed over 3 = the batch gradient")
        // Poisson sampling: the sum is divided by the expected batch size, not by the batch drawn.
        try model.setDPSGD(clipNorm: 1e6, noiseMultiplier: 0, expectedBatchSize: 6, seed: 1)
        let private6 = try gradient(model, [0, 1, 2])
        XCTAssertLessThan(distance(private6, ordinary.map { $0 / 2 }), 1e-3 * norm(ordinary))
        model.disableDPSGD()
        XCTAssertLessThan(distance(try gradient(model, [0, 1, 2]), ordinary), 1e-6 * norm(ordinary), "off again: the ordinary step")
    }

    func testEachSampleGradientIsClippedToTheBound() throws {
        let model = try tiny()
        let clip = 1e-3
        let perSample = try (0..<3).map { try gradient(model, [$0]) }
        for g in perSample { XCTAssertGreaterThan(norm(g), 20 * clip, "the test needs gradients well above the bound") }
        try model.setDPSGD(clipNorm: clip, noiseMultiplier: 0, expectedBatchSize: 1, seed: 1)
        let single = try gradient(model, [0])
        XCTAssertEqual(norm(single), clip, accuracy: clip * 1e-2, "one sample: scaled to norm C exactly")
        let direction = zip(single, perSample[0]).reduce(0) { $0 + $1.0 * $1.1 } / (norm(single) * norm(perSample[0]))
        XCTAssertGreaterThan(direction, 0.999, "clipping scales the gradient without turning it")

        try model.setDPSGD(clipNorm: clip, noiseMultiplier: 0, expectedBatchSize: 3, seed: 1)
        let batch = try gradient(model, [0, 1, 2])
        let scales = perSample.map { clip / norm($0) / 3 }
        let expected = (0..<batch.count).map { k in (0..<3).reduce(0) { $0 + perSample[$1][k] * scales[$1] } }
        XCTAssertLessThan(distance(batch, expected), 2e-2 * clip, "(Σ C·g_i/‖g_i‖) / 3")
        XCTAssertLessThanOrEqual(norm(batch), clip * 1.01)
    }

    func testFedProxGradientIsAddedUnclipped() throws {
        let model = try tiny()
        let anchor = try model.exportState()
        try model.setProximal(mu: 1)
        let shift = anchor.indices.map { Float(sin(Double($0))) * 0.01 }
        try model.importState(zip(anchor, shift).map { $0 + $1 })
        try model.setDPSGD(clipNorm: 1e-7, noiseMultiplier: 0, expectedBatchSize: 2, seed: 1)
        let g = try gradient(model, [0, 1])
        let proximal = shift.map(Double.init)
        XCTAssertGreaterThan(norm(proximal), 0.1)
        XCTAssertLessThan(distance(g, proximal), 1e-3 * norm(proximal), "μ(w − w₀), far above the clipping bound")
    }

    func testNoiseFollowsTheSeedAndHasTheRightScale() throws {
        let model = try tiny()
        let (sigma, clip, expected) = (2.0, 1e-2, 4.0)
        try model.setDPSGD(clipNorm: clip, noiseMultiplier: sigma, expectedBatchSize: expected, seed: 11)
        let first = try gradient(model, [0, 1])
        try model.setDPSGD(clipNorm: clip, noiseMultiplier: sigma, expectedBatchSize: expected, seed: 11)
        XCTAssertEqual(try gradient(model, [0, 1]), first, "the same seed gives the same noise")
        try model.setDPSGD(clipNorm: clip, noiseMultiplier: sigma, expectedBatchSize: expected, seed: 12)
        let other = try gradient(model, [0, 1])
        XCTAssertGreaterThan(distance(other, first), norm(first) / 2, "another seed gives other noise")
        // The clipped sum has norm ≤ 2C / 4, spread over every coordinate: the per-coordinate spread is the noise's, σC/E.
        let rms = (first.reduce(0) { $0 + $1 * $1 } / Double(first.count)).squareRoot()
        XCTAssertEqual(rms, sigma * clip / expected, accuracy: 0.05 * sigma * clip / expected)
    }

    func testEmptyBatchIsANoiseOnlyStepUnderDPSGDOnly() throws {
        let model = try tiny()
        let empty = VolumeShape(batch: 0, depth: Self.side, height: Self.side, width: Self.side)
        XCTAssertThrowsError(try model.trainStep(volumes: [], shape: empty, timeAtRisk: [], events: [])) {
            XCTAssertTrue("\($0)".contains("only under DP-SGD"), "\($0)")
        }
        try model.setDPSGD(clipNorm: 0.1, noiseMultiplier: 1, expectedBatchSize: 2, seed: 3)
        let start = try model.exportState()
        let loss = try model.trainStep(volumes: [], shape: empty, timeAtRisk: [], events: [])
        XCTAssertTrue(loss.isNaN, "no samples, no loss: \(loss)")
        XCTAssertNotEqual(try model.exportState(), start, "the noise still moves the model")
    }

    func testBatchNormEncoderIsRefused() throws {
        let model = try tiny(norm: .batch)
        XCTAssertThrowsError(try model.setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, seed: 1)) { error in
            XCTAssertEqual((error as? TorchError)?.code, .invalidArgument)
            XCTAssertTrue("\(error)".contains("use encoder norm: group or instance with privacy.level patient"), "\(error)")
        }
        model.disableDPSGD()
        XCTAssertNoThrow(try tiny(norm: .instance).setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, seed: 1))
        XCTAssertThrowsError(try tiny().setDPSGD(clipNorm: -1, noiseMultiplier: 1, expectedBatchSize: 4, seed: 1))
        XCTAssertThrowsError(try tiny().setDPSGD(clipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 0, seed: 1))
    }
}
