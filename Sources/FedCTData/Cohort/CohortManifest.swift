// CohortManifest: the CSV that links each scan to its subject, index time, image file and split.
import FedCTCore
import Foundation

/// One scan of a cohort.
public struct CohortEntry: Sendable, Hashable {
    public enum Split: String, Sendable, Hashable { case train, heldout }

    public var scanID: String
    public var subjectID: String
    /// Absolute path of the image: a NIfTI file, a DICOM file or a DICOM series folder (see `ScanImage`).
    public var imagePath: String
    public var indexDay: Double
    public var split: Split
    /// The entry's 1-based line in the manifest, for errors.
    public var line: Int
}

/// A cohort manifest: `scan_id,subject_id,image_path,index_time,split`, image paths relative to the manifest.
public struct CohortManifest: Sendable {
    public let path: String
    public let entries: [CohortEntry]

    public init(path: String) throws {
        self.path = path
        let table = try CSVTable(path: path)
        let parser = try RowParser(table: table)
        var seen = Set<String>()
        entries = try table.rows.map { row in
            let entry = try parser.entry(line: row.line, fields: row.fields)
            guard seen.insert(entry.scanID).inserted else {
                throw FedCTError(.invalidData, "\(path):\(row.line): scan_id '\(entry.scanID)' is empty or repeated")
            }
            return entry
        }
    }

    /// Turns one manifest row into an entry, with the checks `init(path:)` applies to each row (all but the
    /// uniqueness of `scan_id`, which needs the other rows); for checks that report every bad row.
    public struct RowParser: Sendable {
        public let path: String
        private let columns: [Int]
        private let folder: URL

        /// Finds the manifest's columns in `table`, naming any that is missing.
        public init(table: CSVTable) throws {
            path = table.path
            columns = try ["scan_id", "subject_id", "image_path", "index_time", "split"].map(table.column)
            folder = URL(fileURLWithPath: table.path).deletingLastPathComponent()
        }

        /// The entry on `line`; throws `FedCTError` (`.invalidData`) naming the file and line.
        public func entry(line: Int, fields: [String]) throws -> CohortEntry {
            let field = { (index: Int) in fields[columns[index]] }
            let scanID = field(0)
            guard !scanID.isEmpty else {
                throw FedCTError(.invalidData, "\(path):\(line): scan_id '\(scanID)' is empty or repeated")
            }
            guard let indexDay = EventTime.days(field(3)) else {
                throw FedCTError(.invalidData, "\(path):\(line): index_time '\(field(3))' is not an ISO 8601 date or date-time")
            }
            guard let split = CohortEntry.Split(rawValue: field(4)) else {
                throw FedCTError(.invalidData, "\(path):\(line): split '\(field(4))' must be train or heldout")
            }
            let image = field(2)
            let imagePath = image.hasPrefix("/") ? image : folder.appending(path: image).path
            return CohortEntry(scanID: scanID, subjectID: field(1), imagePath: imagePath, indexDay: indexDay, split: split, line: line)
        }
    }
}
