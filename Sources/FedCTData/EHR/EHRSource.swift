// EHRSource: where a site's health records are — a MEDS event table or a folder of OMOP CDM tables — and which files that means.
import FedCTCore
import Foundation

/// The event source of a site data folder: `events.csv` (MEDS) or `omop/` (OMOP CDM v5.4 tables as CSV).
public enum EHRSource: Sendable, Hashable, CustomStringConvertible {
    /// A MEDS event table (`subject_id,time,code,numeric_value[,text_value]`).
    case meds(path: String)
    /// A folder holding `person.csv` and any of the other tables in `OMOPTable.all`.
    case omop(folder: String)

    /// The MEDS table's name in a data folder.
    public static let medsName = "events.csv"
    /// The OMOP folder's name in a data folder.
    public static let omopName = "omop"

    /// The source in data folder `directory`, or an error naming both `events.csv` and `omop/` when neither (or both) is there.
    public static func find(in directory: String) throws -> EHRSource {
        let meds = "\(directory)/\(medsName)", omop = "\(directory)/\(omopName)"
        var isDirectory: ObjCBool = false
        let hasMEDS = FileManager.default.fileExists(atPath: meds)
        let hasOMOP = FileManager.default.fileExists(atPath: omop, isDirectory: &isDirectory) && isDirectory.boolValue
        switch (hasMEDS, hasOMOP) {
        case (true, true):
            throw FedCTError(.invalidConfiguration, "data folder \(directory) has both \(medsName) (MEDS) and \(omopName)/ (OMOP CDM); keep the one to train on and move the other away")
        case (true, false):
            return .meds(path: meds)
        case (false, true):
            guard FileManager.default.fileExists(atPath: "\(omop)/\(OMOPTable.person.fileName)") else {
                throw FedCTError(.invalidConfiguration, "\(omop) has no \(OMOPTable.person.fileName); OMOP tables need person.csv (plus any of \(OMOPTable.all.dropFirst().map(\.fileName).joined(separator: ", ")))")
            }
            return .omop(folder: omop)
        case (false, false):
            throw FedCTError(.invalidConfiguration, "data folder \(directory) has neither \(medsName) (a MEDS event table) nor \(omopName)/ (OMOP CDM tables); export the patients' records as one of them")
        }
    }

    /// The files that will be read, in reading order: the MEDS table, or the OMOP tables present (person first).
    public var files: [String] {
        switch self {
        case .meds(let path): return [path]
        case .omop(let folder):
            return OMOPTable.all.map { "\(folder)/\($0.fileName)" }.filter { FileManager.default.fileExists(atPath: $0) }
        }
    }

    /// `events.csv` or `omop/`, for messages.
    public var description: String {
        switch self {
        case .meds(let path): return path
        case .omop(let folder): return "\(folder)/"
        }
    }
}
