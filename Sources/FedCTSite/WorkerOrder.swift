// WorkerOrder: what the agent (rank 0) broadcasts to its workers at the start of a data-parallel round, as bytes.
import FedCTCore
import FedCTProto
import Foundation

/// A data-parallel round's instructions for the workers: the task (job, round, spec), the model to start from (the
/// global model with the site's own layers in place, as flat float32 values), the training seed, and the round's secret
/// DP-SGD seed under patient-level DP (every rank must draw the same batches and the same noise), and the SHA-256 of
/// the agent's training examples (`SiteWorkers.fingerprint`), which every worker's must equal.
///
/// Layout: "FCTWORK1", seed (u64), DP flag (u8), DP seed (u64), examples' SHA-256 (32 bytes), task length (u32), the
/// task (protobuf), then the start values as little-endian float32 to the end. Integers little-endian.
struct WorkerOrder: Equatable {
    var task: Fedct_V1_Task
    var start: [Float]
    var seed: UInt64
    var dpSGDSeed: UInt64?
    var examplesSHA256: [UInt8]

    static let magic = Array("FCTWORK1".utf8)

    func encoded() throws -> [UInt8] {
        let taskBytes: [UInt8] = try task.serializedBytes()
        var bytes = Self.magic
        bytes.reserveCapacity(bytes.count + 53 + taskBytes.count + 4 * start.count)
        append(seed, to: &bytes)
        bytes.append(dpSGDSeed == nil ? 0 : 1)
        append(dpSGDSeed ?? 0, to: &bytes)
        precondition(examplesSHA256.count == 32, "a SHA-256 has 32 bytes")
        bytes += examplesSHA256
        append(UInt32(taskBytes.count), to: &bytes)
        bytes += taskBytes
        bytes += Float32Stream.encode(start[...])
        return bytes
    }

    /// Decodes an order; errors name `source` (the rank that received it) and what was wrong.
    init(decoding bytes: [UInt8], source: String) throws {
        func bad(_ problem: String) -> FedCTError { FedCTError(.protocolViolation, "\(source): the agent's round order \(problem)") }
        let header = Self.magic.count + 53
        guard bytes.count >= header, Array(bytes[..<Self.magic.count]) == Self.magic else {
            throw bad("is not one (\(bytes.count) bytes without the FCTWORK1 header); are the agent and the worker the same fedct-site version?")
        }
        var offset = Self.magic.count
        func read<T: FixedWidthInteger>(_: T.Type) -> T {
            var value: T = 0
            for index in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
            offset += MemoryLayout<T>.size
            return value
        }
        seed = read(UInt64.self)
        let hasDP = read(UInt8.self)
        let dpSeed = read(UInt64.self)
        guard hasDP <= 1 else { throw bad("has a DP flag of \(hasDP)") }
        dpSGDSeed = hasDP == 1 ? dpSeed : nil
        examplesSHA256 = Array(bytes[offset..<(offset + 32)])
        offset += 32
        let taskLength = Int(read(UInt32.self))
        guard bytes.count - offset >= taskLength, (bytes.count - offset - taskLength) % 4 == 0 else {
            throw bad("is cut short or misaligned (\(bytes.count) bytes, task \(taskLength))")
        }
        task = try Fedct_V1_Task(serializedBytes: Array(bytes[offset..<(offset + taskLength)]))
        offset += taskLength
        var values: [Float] = []
        values.reserveCapacity((bytes.count - offset) / 4)
        var stream = Float32Stream()
        stream.feed(bytes[offset...]) { values.append(contentsOf: $0) }
        start = values
    }

    init(task: Fedct_V1_Task, start: [Float], seed: UInt64, dpSGDSeed: UInt64?, examplesSHA256: [UInt8]) {
        self.task = task
        self.start = start
        self.seed = seed
        self.dpSGDSeed = dpSGDSeed
        self.examplesSHA256 = examplesSHA256
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
