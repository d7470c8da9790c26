// The feature cache across micro-batches (open_clip's accum_freq): one step over micro-batches with cached features equals
// one step over the whole batch at once.
import FedCTTorch
import Foundation
import XCTest

final class HLIPFeatureCacheTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    static let reports = ["effusion on the left", "clear lungs", "nodule in the right upper lobe", "cardiomegaly", "emphysema in both apices",
                          "small right effusion", "no acute finding", "mass in the left lower lobe"]

    /// Eight studies of one 4×8×8 scan, each a different smooth pattern, with eight different reports.
    static func batch() -> TensorBatch {
        let voxels = 4 * 64
        let volumes = (0..<8 * voxels).map { (index: Int) -> Float in
            let study = Double(index / voxels), voxel = Double(index % voxels)
            return Float(sin(voxel * 0.05 * (study + 1)) + 0.1 * study)
        }
        return .studies(volumes, studies: 8, scans: 1, depth: 4, height: 8, width: 8, tokens: reports.flatMap { ByteTokenizer.encode($0, length: 16) })
    }

    /// One SGD step (learning rate 1, no momentum, no weight decay: the parameters move by minus the gradient) over the
    /// batch of 8 in micro-batches of `microBatch` (nil: at once), with or without the feature cache. Returns the loss
    /// and the parameter change, which is minus the step's gradient. SigLIP's bias starts at 0 instead of −10, so the
    /// negative pairs weigh as much as the positive ones (at −10 their terms are ~e⁻¹⁰ and a loss without the pairs across
    /// micro-batches would hardly differ).
    static func step(_ loss: HLIPConfig.Loss, microBatch: Int?, cache: Bool) throws -> (loss: Float, change: [Float]) {
        let model = try HLIPBridgeTests.model(HLIPBridgeTests.tinyConfig(loss: loss))
        try model.resetOptimizer(.sgd, learningRate: 1, weightDecay: 0, betas: (0, 0))
        try model.setMicroBatchSize(microBatch)
        try model.setFeatureCache(cache)
        var state = try model.exportState()
        var offset = 0
        for tensor in model.tensors {
            if tensor.name == "logit_bias" { state[offset] = 0 }
            offset += tensor.count
        }
        try model.importState(state)
        let before = try model.exportState()
        let value = try model.trainStep(batch())
        return (value, zip(try model.exportState(), before).map { $0 - $1 })
    }

    func testCachedMicroBatchesGiveTheWholeBatchStep() throws {
        for loss in HLIPConfig.Loss.allCases {
            let whole = try Self.step(loss, microBatch: nil, cache: false)
            let cached = try Self.step(loss, microBatch: 2, cache: true)
            let separate = try Self.step(loss, microBatch: 2, cache: false)
            let scale = whole.change.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 1e-3, "\(loss): the step moves the parameters")
            // Relative to the largest gradient coordinate: the passes sum the same float32 terms in another order.
            let difference = (zip(whole.change, cached.change).map { abs($0 - $1) }.max() ?? .infinity) / scale
            XCTAssertLessThan(difference, 1e-5, "\(loss): 4 cached micro-batches of 2 against the batch of 8 (largest gradient \(scale))")
            XCTAssertEqual(cached.loss, whole.loss, accuracy: 1e-5 * max(1, abs(whole.loss)), "\(loss): the step reports the whole batch's loss")
            // Without the cache each micro-batch is its own contrastive batch: a different loss and gradient.
            let apart = (zip(whole.change, separate.change).map { abs($0 - $1) }.max() ?? 0) / scale
            XCTAssertGreaterThan(apart, 1e-2, "\(loss): separate micro-batch losses differ from the whole batch's")
        }
    }

    func testUnevenMicroBatchesAndTheLogitParametersCountOnce() throws {
        // 3 + 3 + 2: the last micro-batch is smaller; logit_scale and logit_bias (the last two tensors) move as at once.
        let whole = try Self.step(.siglip, microBatch: nil, cache: false)
        let cached = try Self.step(.siglip, microBatch: 3, cache: true)
        let scale = whole.change.map(abs).max() ?? 0
        let difference = (zip(whole.change, cached.change).map { abs($0 - $1) }.max() ?? .infinity) / scale
        XCTAssertLessThan(difference, 1e-5, "relative to the largest gradient \(scale)")
        let tensors = try HLIPBridgeTests.model(HLIPBridgeTests.tinyConfig()).tensors
        var offset = 0
        for tensor in tensors {
            if tensor.name.hasPrefix("logit_") {
                XCTAssertEqual(cached.change[offset], whole.change[offset], accuracy: 1e-5 * max(1, abs(whole.change[offset])), tensor.name)
                XCTAssertGreaterThan(abs(whole.change[offset]), 1e-4, "\(tensor.name) moves")
            }
            offset += tensor.shape.reduce(1, *)
        }
    }

    func testObjectivesWithoutFeaturesRefuseTheCache() throws {
        let model = try TorchModel(encoder: EncoderConfig(depth: 10, width: 4, stemStride: 2, norm: .group), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 3), seed: 4)
        XCTAssertThrowsError(try model.setFeatureCache(true)) { XCTAssertTrue("\($0)".contains("per-example features"), "\($0)") }
        XCTAssertNoThrow(try model.setFeatureCache(false))
    }
}
