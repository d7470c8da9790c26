// SyntheticGroundTruth: reads the generator's ground_truth.csv — each scan's true yearly hazard of each outcome and its chest findings — for oracle scores and few-shot labels.
import FedCTCore
import Foundation

/// The true hazards of a synthetic consortium (`SyntheticConsortium.groundTruthName`), by outcome code and scan.
public struct SyntheticGroundTruth: Sendable {
    public let path: String
    /// Outcome code → scan ID → the true hazard per year (the `hazard_<name>` column of `SyntheticOutcome`).
    public let hazards: [String: [String: Double]]
    /// Scan ID → the chest findings the scan has by its biomarkers, at the thresholds its report states them at
    /// (`SyntheticReport`): `nodule_mass` (a lesion the phantom draws), `emphysema`, `effusion`, `cardiomegaly`.
    public let findings: [String: Set<String>]

    /// The findings' names, as the language–image evaluation names them.
    public static let findingNames = ["effusion", "emphysema", "nodule_mass", "cardiomegaly"]

    /// Reads `path`, a `ground_truth.csv` written by `fedctl synth` (header `SyntheticConsortium.groundTruthHeader`).
    public init(path: String) throws {
        let table = try CSVTable(path: path)
        let scan = try table.column("scan_id")
        var hazards: [String: [String: Double]] = [:]
        for outcome in SyntheticOutcome.all {
            let column = try table.column("hazard_\(outcome.name)")
            var byScan: [String: Double] = [:]
            for row in table.rows {
                guard let value = Double(row.fields[column]), value > 0, value.isFinite else {
                    throw FedCTError(.invalidData, "\(path):\(row.line): hazard_\(outcome.name) is '\(row.fields[column])'; expected a positive number")
                }
                byScan[row.fields[scan]] = value
            }
            hazards[outcome.code] = byScan
        }
        let markers = try ["lesion", "emphysema", "heart", "effusion"].map { try table.column($0) }
        var findings: [String: Set<String>] = [:]
        for row in table.rows {
            let values = try markers.map { column in
                guard let value = Double(row.fields[column]), value.isFinite else {
                    throw FedCTError(.invalidData, "\(path):\(row.line): \(table.header[column]) is '\(row.fields[column])'; expected a number")
                }
                return value
            }
            findings[row.fields[scan]] = Self.findings(lesion: values[0], emphysema: values[1], heart: values[2], effusion: values[3])
        }
        self.path = path
        self.hazards = hazards
        self.findings = findings
    }

    /// The findings of biomarkers as `SyntheticReport` states them: a lesion the phantom draws, emphysema, effusion and
    /// heart size at or above the report's thresholds.
    public static func findings(lesion: Double, emphysema: Double, heart: Double, effusion: Double) -> Set<String> {
        var result: Set<String> = []
        if ChestPhantom.lesionRadius(lesion) > 0 { result.insert("nodule_mass") }
        if emphysema >= SyntheticReport.emphysemaThreshold { result.insert("emphysema") }
        if effusion >= SyntheticReport.effusionThreshold { result.insert("effusion") }
        if heart >= SyntheticReport.cardiomegalyThreshold { result.insert("cardiomegaly") }
        return result
    }

    /// The true yearly hazard of outcome `code` for scan `scanID`.
    public func hazard(code: String, scanID: String) throws -> Double {
        guard let byScan = hazards[code] else {
            throw FedCTError(.invalidConfiguration, "\(path) has no true hazard for outcome \(code); it has \(hazards.keys.sorted().joined(separator: ", "))")
        }
        guard let value = byScan[scanID] else {
            throw FedCTError(.invalidData, "\(path) has no row for scan \(scanID); pass the ground_truth.csv of the same fedctl synth run as the data folders")
        }
        return value
    }
}
