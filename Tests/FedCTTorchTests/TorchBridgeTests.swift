// Tests of the bridge's contract beyond the model maths: error codes, deterministic concurrent creation, version.
import FedCTTorch
import Foundation
import XCTest

final class TorchBridgeTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private func tiny(seed: UInt64, norm: EncoderConfig.Norm = .group) throws -> TorchModel { try Self.tiny(seed: seed, norm: norm) }

    private static func tiny(seed: UInt64, norm: EncoderConfig.Norm = .group) throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 2, stemStride: 2, norm: norm),
                     head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: seed)
    }

    func testErrorsCarryTheirKind() throws {
        // Rejected by the bridge's own checks.
        XCTAssertThrowsError(try TorchModel(encoder: EncoderConfig(depth: 12), head: TTEHeadConfig(tasks: 1, pieces: 1), seed: 1)) {
            XCTAssertEqual(($0 as? TorchError)?.code, .invalidArgument, "\($0)")
        }
        // Rejected by the Swift checks before reaching C.
        let model = try tiny(seed: 1, norm: .batch)
        XCTAssertThrowsError(try model.importState([])) {
            XCTAssertEqual(($0 as? TorchError)?.code, .invalidArgument, "\($0)")
        }
        // Raised inside libtorch: BatchNorm in training mode sees one value per channel (batch 1, 1 voxel).
        XCTAssertThrowsError(try model.trainStep(volumes: [1], shape: VolumeShape(batch: 1, depth: 1, height: 1, width: 1),
                                                 timeAtRisk: [1, 1, 1, 1], events: [0, 0, 0, 0])) {
            XCTAssertEqual(($0 as? TorchError)?.code, .torch, "\($0)")
            XCTAssertTrue("\($0)".contains("value per channel"), "\($0)")
        }
    }

    func testConcurrentCreationIsDeterministic() throws {
        // Creation seeds libtorch's global generator; without the bridge's lock, threads interleave draws.
        let reference = try tiny(seed: 7).exportState()
        let lock = NSLock()
        nonisolated(unsafe) var states: [[Float]] = []
        DispatchQueue.concurrentPerform(iterations: 6) { index in
            let state = try? Self.tiny(seed: index.isMultiple(of: 2) ? 7 : 8).exportState()
            lock.withLock { if index.isMultiple(of: 2), let state { states.append(state) } }
        }
        XCTAssertEqual(states.count, 3)
        for state in states {
            let differing = zip(state, reference).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "\(differing) of \(reference.count) floats differ from a model created alone")
        }
    }

    func testEveryNormBuildsTrainsAndRoundTrips() throws {
        let shape = VolumeShape(batch: 2, depth: 8, height: 8, width: 8)
        let volumes = (0..<shape.voxelCount).map { Float($0 % 13) / 13 }
        for norm in [EncoderConfig.Norm.batch, .group, .instance] {
            let model = try tiny(seed: 3, norm: norm)
            XCTAssertEqual(model.tensors.contains { $0.name == "bn1.running_mean" }, norm == .batch, "\(norm)")
            let loss = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: [Float](repeating: 1, count: 8),
                                           events: [1, 0, 0, 0, 0, 0, 0, 1])
            XCTAssertTrue(loss.isFinite, "\(norm): loss \(loss)")
            let state = try model.exportState()
            try model.importState(state)
            XCTAssertEqual(try model.exportState().map(\.bitPattern), state.map(\.bitPattern), "\(norm)")
            XCTAssertEqual(try model.embed(volumes: volumes, shape: shape).count, 2 * model.embeddingDimension, "\(norm)")
        }
    }

    func testLayoutCountsAddUp() throws {
        let model = try tiny(seed: 1, norm: .batch)
        XCTAssertEqual(model.tensors.reduce(0) { $0 + $1.count }, model.parameterCount)
        XCTAssertFalse(model.tensors.contains { $0.name.hasSuffix("num_batches_tracked") }, "int64 counters are not state")
        XCTAssertEqual(try model.exportState().count, model.parameterCount)
        XCTAssertTrue(Torch.version.hasPrefix("1."), Torch.version)
    }
}
