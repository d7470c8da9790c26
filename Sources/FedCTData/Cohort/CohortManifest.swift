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
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let columns = try ["scan_id", "subject_id", "image_path", "index_time", "split"].map(table.column)
        var seen = Set<String>()
        entries = try table.rows.map { row in
            let field = { (index: Int) in row.fields[columns[index]] }
            let scanID = field(0)
            guard !scanID.isEmpty, seen.insert(scanID).inserted else {
                throw FedCTError(.invalidData, "\(path):\(row.line): scan_id '\(scanID)' is empty or repeated")
            }
            guard let indexDay = EventTime.days(field(3)) else {
                throw FedCTError(.invalidData, "\(path):\(row.line): index_time '\(field(3))' is not an ISO 8601 date or date-time")
            }
            guard let split = CohortEntry.Split(rawValue: field(4)) else {
                throw FedCTError(.invalidData, "\(path):\(row.line): split '\(field(4))' must be train or heldout")
            }
            let image = field(2)
            let imagePath = image.hasPrefix("/") ? image : folder.appending(path: image).path
            return CohortEntry(scanID: scanID, subjectID: field(1), imagePath: imagePath, indexDay: indexDay, split: split, line: row.line)
        }
    }
}
