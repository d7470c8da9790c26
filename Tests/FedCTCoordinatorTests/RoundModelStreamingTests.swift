// Tests of the coordinator's range-by-range round model: the same blob as the whole-model computation, nothing stored on failure.
import Crypto
@testable import FedCTCoordinator
@testable import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class RoundModelStreamingTests: XCTestCase {
    private var folder: URL!
    private var store: ModelStore!
    /// Three ranges, the last one partial.
    private let coordinates = 2 * Coordinator.roundModelPartValues + 1234

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-round-model-\(UUID().uuidString)")
        store = try ModelStore(folder: folder.appending(path: "models"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Deterministic values of mixed signs and magnitudes, different for each seed.
    private func values(_ seed: Double, scale: Float) -> [Float] {
        (0..<coordinates).map { Float(sin(Double($0) * 0.618 + seed) * cos(Double($0) * 0.0137 * seed)) * scale }
    }

    /// A base model of two tensors (a split not on a range boundary), stored; returns its state and hash.
    private func storeBase() throws -> (state: ModelState, sha: String) {
        let layout = [TensorLayout(name: "encoder.weight", shape: [1000, 300]), TensorLayout(name: "head.bias", shape: [coordinates - 300_000])]
        let state = try ModelState(layout: layout, values: values(1, scale: 1), metadata: ["job": "old", "round": "0"])
        return (state, try store.put(SafeTensors.encode(state)))
    }

    private func spec(strategy: String) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec()
        spec.name = "streaming"
        spec.strategy.name = strategy
        return spec
    }

    private func spool(_ update: [Float], _ name: String) throws -> String {
        let url = folder.appending(path: "spool/\(name).f32")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(Float32Stream.encode(update[...])).write(to: url)
        return url.path
    }

    /// The whole-model computation the coordinator did before: pooled mean, strategy on arrays, one encode.
    private func reference(base: ModelState, mean: [Float], strategy: String, round: Int, state: inout ServerOptimizerState?) throws -> String {
        var next = base
        next.values = try ServerStrategy(spec: spec(strategy: strategy).strategy).apply(meanUpdate: mean, to: base.values, state: &state)
        next.metadata = ["job": "streaming", "round": "\(round)"]
        return SHA256.hex(SafeTensors.encode(next))
    }

    func testPlainRoundsEqualTheWholeModelComputationBitForBit() throws {
        for strategy in ["fedavg", "fedadam"] {
            let base = try storeBase()
            let updates = [(values(2, scale: 0.01), Int64(7)), (values(3, scale: 0.01), Int64(20)), (values(4, scale: 0.01), Int64(3))]
            var pooled = PlainAggregator(coordinateCount: coordinates)
            var spooled: [JobRun.SpooledUpdate] = []
            for (index, (update, weight)) in updates.enumerated() {
                try pooled.begin(site: "site-\(index)", weight: weight)
                try update.withUnsafeBufferPointer { try pooled.add($0) }
                try pooled.end()
                spooled.append(JobRun.SpooledUpdate(site: "site-\(index)", path: try spool(update, "\(strategy)-\(index)"), exampleCount: weight, meanTrainLoss: 1))
            }
            var referenceState: ServerOptimizerState?
            let expected = try reference(base: base.state, mean: try pooled.weightedMean(), strategy: strategy, round: 1, state: &referenceState)
            let request = RoundModelRequest(round: 1, spec: spec(strategy: strategy), baseModelSHA256: base.sha, optimizerStateSHA256: nil, input: .plain(spooled))
            let stored = try Coordinator.roundModel(request, jobID: "job-1", blobs: store)
            XCTAssertEqual(stored.modelSHA256, expected, strategy)
            XCTAssertEqual(stored.exampleCount, 30)
            XCTAssertNil(stored.meanTrainLoss)
            if strategy == "fedadam" {
                let moments = try ServerOptimizerState(modelState: SafeTensors.decode(store.get(try XCTUnwrap(stored.optimizerStateSHA256))))
                XCTAssertEqual(moments, referenceState)
            } else {
                XCTAssertNil(stored.optimizerStateSHA256)
            }
        }
    }

    func testSecureRoundsUnmaskRangeByRangeAndEqualTheWholeSum() throws {
        let base = try storeBase()
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 100, sites: 2, carriesLoss: true)
        let keys = [SymmetricKey(size: .bits256), SymmetricKey(size: .bits256)]
        var sum = MaskedSum(wordCount: coordinates + 2)
        for (index, (update, weight, loss)) in [(values(5, scale: 0.001), Int64(9), 2.5), (values(6, scale: 0.001), Int64(4), 1.0)].enumerated() {
            var words = try encoding.encode(update, weight: weight, loss: loss)
            try words.withUnsafeMutableBufferPointer { try MaskExpansion(key: keys[index]).apply(.add, to: $0) }
            try sum.begin(site: "site-\(index)")
            try words.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            try sum.end()
        }
        let recovery = SecAggServerRound.Recovery(selfMaskKeys: keys, pairwiseCorrections: [])
        let whole = try encoding.decode(sum: sum.unmasked(with: recovery))
        var state: ServerOptimizerState?
        let expected = try reference(base: base.state, mean: whole.mean, strategy: "fedavg", round: 4, state: &state)
        let request = RoundModelRequest(round: 4, spec: spec(strategy: "fedavg"), baseModelSHA256: base.sha, optimizerStateSHA256: nil,
                                        input: .masked(sum, recovery, encoding))
        let stored = try Coordinator.roundModel(request, jobID: "job-1", blobs: store)
        XCTAssertEqual(stored.modelSHA256, expected)
        XCTAssertEqual(stored.exampleCount, 13)
        XCTAssertEqual(try XCTUnwrap(stored.meanTrainLoss), (9 * 2.5 + 4 * 1.0) / 13, accuracy: 1e-4)
        XCTAssertEqual(stored.meanTrainLoss, whole.loss)
    }

    func testNothingIsStoredWhenARangeFails() throws {
        let base = try storeBase()
        let blobs = { try FileManager.default.contentsOfDirectory(atPath: self.store.folder.path) }
        XCTAssertEqual(try blobs().count, 1)
        // A non-finite coordinate in the last range (a spool written without UpdateSpool's check).
        var update = values(7, scale: 0.01)
        update[coordinates - 5] = .nan
        let request = RoundModelRequest(round: 1, spec: spec(strategy: "fedavg"), baseModelSHA256: base.sha, optimizerStateSHA256: nil,
                                        input: .plain([JobRun.SpooledUpdate(site: "site-1", path: try spool(update, "nan"), exampleCount: 5, meanTrainLoss: 1)]))
        XCTAssertThrowsError(try Coordinator.roundModel(request, jobID: "job-1", blobs: store)) { error in
            XCTAssertTrue("\(error)".contains("non-finite values (coordinate \(coordinates - 5))"), "\(error)")
        }
        XCTAssertEqual(try blobs(), ["\(base.sha).safetensors"])
        // A base model whose last bytes changed on disk: found once every range was read; nothing stored either.
        let good = RoundModelRequest(round: 1, spec: spec(strategy: "fedavg"), baseModelSHA256: base.sha, optimizerStateSHA256: nil,
                                     input: .plain([JobRun.SpooledUpdate(site: "site-1", path: try spool(values(8, scale: 0.01), "good"), exampleCount: 5, meanTrainLoss: 1)]))
        let handle = try FileHandle(forWritingTo: store.url(for: base.sha))
        try handle.seekToEnd()
        try handle.seek(toOffset: try handle.offset() - 4)
        try handle.write(contentsOf: Data([1, 2, 3, 4]))
        try handle.close()
        XCTAssertThrowsError(try Coordinator.roundModel(good, jobID: "job-1", blobs: store)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .integrity)
            XCTAssertTrue("\(error)".contains("is corrupt (hash mismatch)"), "\(error)")
        }
        XCTAssertEqual(try blobs(), ["\(base.sha).safetensors"])
    }

    func testAnUpdateOfTheWrongSizeIsRefusedNamingTheSite() throws {
        let base = try storeBase()
        let request = RoundModelRequest(round: 1, spec: spec(strategy: "fedavg"), baseModelSHA256: base.sha, optimizerStateSHA256: nil,
                                        input: .plain([JobRun.SpooledUpdate(site: "site-9", path: try spool([1, 2, 3], "short"), exampleCount: 5, meanTrainLoss: 1)]))
        XCTAssertThrowsError(try Coordinator.roundModel(request, jobID: "job-1", blobs: store)) { error in
            XCTAssertTrue("\(error)".contains("update from site-9 has 3 coordinates; the model has \(coordinates)"), "\(error)")
        }
    }
}
