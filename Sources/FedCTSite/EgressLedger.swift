// EgressLedger: the site's append-only record of every message it sends, written before the message leaves.
public import FedCTCore
public import FedCTProto
import Crypto
import Foundation

/// One outbound message as the ledger records it.
public struct EgressRecord: Codable, Sendable {
    public var time: String
    public var kind: String
    public var method: String
    public var bytes: Int
    public var sha256: String
    public var jobID: String?
    public var round: Int?
}

/// Appends one JSON line per outbound message to `<state>/egress.jsonl`, fsynced before sending.
///
/// Later work chains and signs these records; the single place that writes them is here.
public actor EgressLedger {
    public let url: URL
    private let archiveFolder: URL?
    private let handle: FileHandle

    public init(stateDirectory: String, archiveUpdates: Bool) throws {
        let folder = URL(fileURLWithPath: stateDirectory)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FedCTError(.io, "cannot create the state folder \(folder.path): \(error.localizedDescription); set state_dir to a writable folder")
        }
        url = folder.appending(path: "egress.jsonl")
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw FedCTError(.io, "cannot create the egress ledger \(url.path); set state_dir to a writable folder")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        archiveFolder = archiveUpdates ? folder.appending(path: "egress-archive") : nil
        if let archiveFolder { try FileManager.default.createDirectory(at: archiveFolder, withIntermediateDirectories: true) }
    }

    /// Records a message about to be sent; throws (and so stops the send) if the record cannot be written.
    public func record(kind: String, method: String, bytes: Int, sha256: String, jobID: String? = nil, round: Int? = nil) throws {
        let entry = EgressRecord(time: ISO8601DateFormatter().string(from: Date()), kind: kind, method: method,
                                 bytes: bytes, sha256: sha256, jobID: jobID, round: round)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(entry)
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw FedCTError(.io, "cannot append to the egress ledger \(url.path): \(error.localizedDescription) (disk full?); nothing was sent")
        }
    }

    /// Keeps a copy of an update as sent (payload — float32, or masked words `.u32` — and header, as JSON) when the site archives updates.
    public func archive(update bytes: [UInt8], header: Fedct_V1_UpdateHeader) throws {
        guard let archiveFolder else { return }
        let stem = "\(header.jobID)-round-\(header.round)"
        try Data(bytes).write(to: archiveFolder.appending(path: "\(stem).\(header.hasMasked ? "u32" : "f32")"), options: .atomic)
        try Data(try header.jsonString().utf8).write(to: archiveFolder.appending(path: "\(stem).json"), options: .atomic)
    }

    /// Keeps the local update behind a masked input — the delta before clipping and its FedAvg weight —
    /// when the site archives updates. It never leaves the site; reviewers can compare it with the round's aggregate.
    public func archive(localDelta delta: [Float], weight: Int64, jobID: String, round: Int) throws {
        guard let archiveFolder else { return }
        let stem = "\(jobID)-round-\(round)"
        try Data(Float32Stream.encode(delta[...])).write(to: archiveFolder.appending(path: "\(stem).local.f32"), options: .atomic)
        try Data("{\"example_weight\": \(weight)}\n".utf8).write(to: archiveFolder.appending(path: "\(stem).local.json"), options: .atomic)
    }
}
