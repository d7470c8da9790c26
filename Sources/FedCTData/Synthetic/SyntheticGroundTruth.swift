// SyntheticGroundTruth: reads the generator's ground_truth.csv — each scan's true yearly hazard of each outcome — for oracle scores.
import FedCTCore
import Foundation

/// The true hazards of a synthetic consortium (`SyntheticConsortium.groundTruthName`), by outcome code and scan.
public struct SyntheticGroundTruth: Sendable {
    public let path: String
    /// Outcome code → scan ID → the true hazard per year (the `hazard_<name>` column of `SyntheticOutcome`).
    public let hazards: [String: [String: Double]]

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
        self.path = path
        self.hazards = hazards
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
