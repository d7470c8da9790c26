// JobDatabase+LegacyImport: a state folder from before the database (one JSON job record per file) is imported once.
import FedCTCore
import FedCTProto
import Foundation
import SwiftProtobuf

extension JobDatabase {
    /// Imports the JSON job records of `folder` (`<state>/jobs/*.json`, protobuf JSON of `JobStatus`, written by
    /// coordinators before the database), oldest job id first, then moves each file to `<folder>.imported/`.
    ///
    /// Each job is committed before its file moves, and a job the database already holds is not imported again,
    /// so a coordinator killed half-way through imports the rest on its next start. Returns the imported job ids.
    @discardableResult
    public func importLegacyRecords(from folder: URL) throws -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        guard !names.isEmpty else { return [] }
        let done = folder.deletingLastPathComponent().appending(path: folder.lastPathComponent + ".imported")
        try FileManager.default.createDirectory(at: done, withIntermediateDirectories: true)
        var imported: [String] = []
        for name in names {
            let file = folder.appending(path: name)
            guard let data = FileManager.default.contents(atPath: file.path) else { throw FedCTError(.io, "cannot read \(file.path)") }
            var status: Fedct_V1_JobStatus
            do {
                status = try Fedct_V1_JobStatus(jsonUTF8Data: data)
            } catch {
                throw FedCTError(.invalidData, "\(file.path): job record is not valid JSON (\(error)); move it out of \(folder.path) "
                    + "to start without it")
            }
            if try !contains(status.jobID) {
                let modified = (try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date) ?? Date()
                status.submittedUnixSeconds = modified.timeIntervalSince1970
                try save(status)
                imported.append(status.jobID)
            }
            let target = done.appending(path: name)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.moveItem(at: file, to: target)
        }
        return imported
    }
}
