// CohortManifest: the CSV that links each scan to its subject, index time, image file and split (and optionally study, report and clinical row).
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
    /// The study (imaging session) the scan belongs to; nil when the manifest has no `study_id` column or the field is empty.
    public var studyID: String? = nil
    /// Absolute path of the scan's radiology report (plain text); nil when the manifest has no `report_path` or the field is empty.
    public var reportPath: String? = nil
    /// The key of the scan's row in the site's `clinical.csv` (its `scan_id` column); nil when there is none.
    public var clinicalRow: String? = nil
}

/// A cohort manifest: `scan_id,subject_id,image_path,index_time,split`, plus the optional columns `study_id`,
/// `report_path` and `clinical_row`; image and report paths relative to the manifest's folder or absolute.
public struct CohortManifest: Sendable {
    /// The clinical features table beside the manifest: `scan_id` and numeric columns, keyed by the manifest's `clinical_row`.
    public static let clinicalTableName = "clinical.csv"

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

    /// The text of `entry`'s report; nil when it has none. Throws `FedCTError` (`.io`) naming the manifest line and the
    /// report's path when the file cannot be read.
    public func reportText(_ entry: CohortEntry) throws -> String? {
        guard let reportPath = entry.reportPath else { return nil }
        guard let data = FileManager.default.contents(atPath: reportPath), let text = String(data: data, encoding: .utf8) else {
            throw FedCTError(.io, "\(path):\(entry.line): report_path \(reportPath) of scan \(entry.scanID) cannot be read as UTF-8 text; fix the path or delete it from the row")
        }
        return text
    }

    /// Turns one manifest row into an entry, with the checks `init(path:)` applies to each row (all but the
    /// uniqueness of `scan_id`, which needs the other rows); for checks that report every bad row.
    public struct RowParser: Sendable {
        public let path: String
        private let columns: [Int]
        /// Indices of `study_id`, `report_path` and `clinical_row` (nil: no such column).
        private let optionalColumns: [Int?]
        private let folder: URL

        /// Finds the manifest's columns in `table`, naming any that is missing.
        public init(table: CSVTable) throws {
            path = table.path
            columns = try ["scan_id", "subject_id", "image_path", "index_time", "split"].map(table.column)
            optionalColumns = ["study_id", "report_path", "clinical_row"].map { table.header.firstIndex(of: $0) }
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
            let optional = optionalColumns.map { column in column.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } }
            return CohortEntry(scanID: scanID, subjectID: field(1), imagePath: resolved(field(2)), indexDay: indexDay, split: split, line: line,
                               studyID: optional[0], reportPath: optional[1].map(resolved), clinicalRow: optional[2])
        }

        /// `path` relative to the manifest's folder, unless absolute.
        private func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : folder.appending(path: path).path }
    }
}
