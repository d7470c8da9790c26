// JobStore: each job's status and round records kept as a JSON file per job, replaced atomically on every change.
public import FedCTCore
public import FedCTProto
import Foundation
import SwiftProtobuf

/// Job records under `<state>/jobs/<job-id>.json` (the wire `JobStatus`, in protobuf JSON).
public struct JobStore: Sendable {
    public let folder: URL

    public init(folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    public func save(_ status: Fedct_V1_JobStatus) throws {
        let text = try status.jsonString()
        try AtomicFile.write(Array(text.utf8), to: folder.appending(path: "\(status.jobID).json"))
    }

    /// Every stored job, oldest first.
    public func loadAll() throws -> [Fedct_V1_JobStatus] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        return try names.map { name in
            let path = folder.appending(path: name).path
            guard let data = FileManager.default.contents(atPath: path) else { throw FedCTError(.io, "cannot read \(path)") }
            do {
                return try Fedct_V1_JobStatus(jsonUTF8Data: data)
            } catch {
                throw FedCTError(.invalidData, "\(path): job record is not valid JSON (\(error)); move it aside to start without it")
            }
        }
    }
}
