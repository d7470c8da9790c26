// Data-parallel site training over c10d Gloo on loopback: two ranks train the same model as one process does.
import FedCTCore
import FedCTData
import FedCTTorch
import FedCTTraining
import Foundation
import XCTest

final class DataParallelTrainingTests: XCTestCase {
    private static let size = 8

    private func examples(_ count: Int) -> [SiteExample] {
        var random = SeededGenerator(seed: 21)
        return (0..<count).map { index in
            let volume = (0..<(Self.size * Self.size * Self.size)).map { _ in Float(random.uniform() * 2 - 1) }
            return SiteExample(scanID: "s\(index)", subjectID: "p\(index)", input: volume,
                               timeAtRisk: (0..<4).map { _ in Float(random.uniform()) }, events: (0..<4).map { $0 == index % 4 ? 1 : 0 },
                               firstEventDays: [:], followUpDays: 365)
        }
    }

    private static func model() throws -> TorchModel {
        try TorchModel(encoder: EncoderConfig(depth: 10, width: 2, stemStride: 1, norm: .group), head: TTEHeadConfig(tasks: 2, pieces: 2, rank: 2), seed: 3)
    }

    /// SGD with momentum: its steps move with the gradient, so the ranks' float rounding stays float rounding. (Adam's first
    /// steps are sign(g)·lr, and a gradient within rounding of 0 flips that sign whichever way the sums were ordered.)
    private static func trainer() -> LocalTrainer {
        var trainer = LocalTrainer(epochs: 2, batchSize: 4, learningRate: 3e-3, weightDecay: 1e-4, volumeSize: Self.size)
        trainer.gradientAccumulation = 2
        trainer.optimizer = .sgd
        trainer.augmentation = VolumeAugmentation(flipProbability: 0.5, rotate90Probability: 0, intensityScaleStd: 0.05, intensityShiftStd: 0.05)
        return trainer
    }

    /// The same under DP-SGD, with a fixed seed that every rank shares (as the agent sends its workers the round's).
    private static func dpSGDTrainer() -> LocalTrainer {
        var trainer = trainer()
        trainer.gradientAccumulation = 1
        trainer.dpSGD = DPSGDSettings(clipNorm: 0.5, noiseMultiplier: 1.0, seed: 17)
        return trainer
    }

    /// A free TCP port on loopback for the rendezvous store.
    private func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw XCTSkip("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func testTwoGlooRanksEqualOneProcessWithAccumulation() throws {
        Torch.setThreadCount(1)
        let data = examples(14)  // 2 epochs of 2 steps: 8 examples, then a partial step of 6
        let alone = try Self.model()
        let single = try Self.trainer().train(alone, on: data, seed: 5)
        let expected = try alone.exportState()

        let port = try freePort()
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 2) { rank in
            do {
                let group = try TorchProcessGroup(storeHost: "127.0.0.1", storePort: port, rank: rank, size: 2, interfaceHost: "127.0.0.1", timeout: 60)
                let replica = try Self.model()
                try replica.setProcessGroup(group)
                let result = try Self.trainer().train(replica, on: data, seed: 5)
                results.set(rank, (try replica.exportState(), result))
            } catch {
                results.fail(rank, error)
            }
        }
        let ranks = try results.values()
        XCTAssertEqual(ranks[0].state, ranks[1].state, "both ranks hold the same model after every step")
        XCTAssertEqual(ranks[0].result.steps, single.steps)
        XCTAssertEqual(ranks[0].result.examples, single.examples)
        XCTAssertEqual(ranks[0].result.meanLoss, single.meanLoss, accuracy: 1e-5 * abs(single.meanLoss), "the group's loss is the site's")
        var worst: Float = 0
        for (got, want) in zip(ranks[0].state, expected) { worst = max(worst, abs(got - want) / max(1, abs(want))) }
        XCTAssertLessThan(worst, 1e-4, "two ranks train the model one process trains with gradient accumulation (float rounding only)")
        XCTAssertNotEqual(expected, try Self.model().exportState(), "training moved the model")
    }

    /// Under DP-SGD the ranks add their clipped sums before the noise, which each draws alike from the round's shared seed:
    /// the site's step has one noise draw, as one process's has (a draw per rank would add √2 times the noise, elsewhere).
    /// The ranks meet through a rendezvous file, as an agent's workers on one machine do, and rank 0's bytes reach rank 1.
    func testDPSGDRanksThroughAFileRendezvousAddTheNoiseOncePerSite() throws {
        Torch.setThreadCount(1)
        let data = examples(10)
        let alone = try Self.model()
        let single = try Self.dpSGDTrainer().train(alone, on: data, seed: 5)
        let expected = try alone.exportState()

        let file = FileManager.default.temporaryDirectory.appending(path: "fedct-rendezvous-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let results = ResultBox()
        let received = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 2) { rank in
            do {
                let group = try TorchProcessGroup(fileStorePath: file, rank: rank, size: 2, interfaceHost: "127.0.0.1", timeout: 60)
                let bytes = try group.broadcast(rank == 0 ? Array("round 3".utf8) : nil)
                let sums = try group.sum([Double(rank), 1])
                received.set(rank, (bytes.map(Float.init) + sums.map(Float.init), single))
                let replica = try Self.model()
                try replica.setProcessGroup(group)
                let result = try Self.dpSGDTrainer().train(replica, on: data, seed: 5)
                results.set(rank, (try replica.exportState(), result))
            } catch {
                results.fail(rank, error)
            }
        }
        let ranks = try results.values()
        XCTAssertEqual(try received.values()[1].state, Array("round 3".utf8).map(Float.init) + [1, 2], "rank 1 got rank 0's bytes and the sums")
        XCTAssertEqual(ranks[0].state, ranks[1].state)
        XCTAssertEqual(ranks[0].result.steps, single.steps)
        XCTAssertEqual(ranks[0].result.noiseMultiplier, 1.0)
        var worst: Float = 0
        for (got, want) in zip(ranks[0].state, expected) { worst = max(worst, abs(got - want) / max(1, abs(want))) }
        XCTAssertLessThan(worst, 1e-4, "two DP-SGD ranks take one process's noisy steps: one noise draw per site")
    }

    func testAJoinWithoutThePeerTimesOutNamingIt() throws {
        let port = try freePort()
        XCTAssertThrowsError(try TorchProcessGroup(storeHost: "127.0.0.1", storePort: port, rank: 0, size: 2, interfaceHost: "127.0.0.1", timeout: 2))
        XCTAssertThrowsError(try TorchProcessGroup(storeHost: "127.0.0.1", storePort: port, rank: 2, size: 2, interfaceHost: "127.0.0.1", timeout: 2)) {
            XCTAssertTrue("\($0)".contains("rank 2 of 2"), "\($0)")
        }
    }
}

/// The two ranks' results, written from their threads.
private final class ResultBox: @unchecked Sendable {  // every access holds `lock`
    private let lock = NSLock()
    private var states: [Int: (state: [Float], result: LocalTrainingResult)] = [:]
    private var errors: [Int: any Error] = [:]

    func set(_ rank: Int, _ value: (state: [Float], result: LocalTrainingResult)) { lock.withLock { states[rank] = value } }
    func fail(_ rank: Int, _ error: any Error) { lock.withLock { errors[rank] = error } }
    func values() throws -> [(state: [Float], result: LocalTrainingResult)] {
        try lock.withLock {
            if let (rank, error) = errors.first { throw XCTSkip("rank \(rank) failed: \(error)") }
            return [states[0]!, states[1]!]
        }
    }
}
