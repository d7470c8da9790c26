// DataPreflight+Reports: checks the manifest's optional links — report files and clinical rows — and the clinical table's values.
import FedCTCore
import Foundation

extension DataPreflight {
    /// Warns, per manifest line, about a `report_path` that is not a readable file and a `clinical_row` that is not a
    /// `scan_id` in `clinical.csv` (or when that table is missing or has no `scan_id` column), and the table's own
    /// problems (`ClinicalTable.problems`: values that are not finite numbers in range, by line and column; repeated
    /// keys; mostly empty columns). None blocks training; a job that reads clinical columns refuses the bad values.
    func checkReportsAndClinicalRows(_ entries: [CohortEntry], manifestPath: String, into report: inout PreflightReport) {
        for entry in entries {
            guard let reportPath = entry.reportPath else { continue }
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: reportPath, isDirectory: &isFolder) || isFolder.boolValue
                || !FileManager.default.isReadableFile(atPath: reportPath)
            {
                report.problems.append(PreflightProblem(.warning, file: manifestPath, line: entry.line,
                                                        "scan \(entry.scanID): report \(reportPath) is missing or unreadable; export the report there or empty report_path"))
            }
        }
        let linked = entries.filter { $0.clinicalRow != nil }
        guard !linked.isEmpty else { return }
        let clinicalPath = "\(directory)/\(CohortManifest.clinicalTableName)"
        let keys: Set<String>
        do {
            let table = try CSVTable(path: clinicalPath)
            let column = try table.column("scan_id")
            keys = Set(table.rows.map { $0.fields[column] })
            report.problems += ClinicalTable.problems(table)
        } catch {
            let text = (error as? FedCTError)?.message ?? "\(error)"
            report.problems.append(PreflightProblem(.warning, file: clinicalPath,
                                                    "\(linked.count) manifest rows name a clinical_row, but the table cannot be used: \(text)"))
            return
        }
        for entry in linked where !keys.contains(entry.clinicalRow!) {
            report.problems.append(PreflightProblem(.warning, file: manifestPath, line: entry.line,
                                                    "scan \(entry.scanID): clinical_row '\(entry.clinicalRow!)' is not a scan_id in \(clinicalPath); add the row or empty clinical_row"))
        }
    }
}
