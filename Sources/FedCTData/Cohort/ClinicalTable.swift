// ClinicalTable: a site's clinical.csv read for an objective that uses clinical numeric features, with file:line:column errors.
import FedCTCore
import Foundation

/// The clinical features table beside the manifest (`clinical.csv`: `scan_id` and numeric columns), read for named
/// columns. An empty field is a missing value; any other field must be a finite number of magnitude at most
/// `maxMagnitude`. Each scan finds its row through the manifest's `clinical_row`.
public struct ClinicalTable: Sendable {
    /// The largest magnitude a clinical value may have (it bounds the setup stage's exact secure sums).
    public static let maxMagnitude = 1e6

    public let path: String
    /// The columns read, in the order asked for.
    public let columns: [String]
    /// Each row's values (nil: missing) by its `scan_id`.
    public let rows: [String: [Double?]]

    /// Reads `columns` of `directory/clinical.csv`; the first problem is an error naming the file, line and column.
    public init(directory: String, columns: [String]) throws {
        let path = "\(directory)/\(CohortManifest.clinicalTableName)"
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw FedCTError(.invalidConfiguration, "\(path) does not exist; the job reads clinical columns \(columns.joined(separator: ", ")) from it (see Docs/data.md, clinical table)")
        }
        let table = try CSVTable(path: path)
        let key = try table.column("scan_id")
        let indices = try columns.map { try table.column($0) }
        self.columns = columns
        var values: [String: [Double?]] = [:]
        for row in table.rows {
            let id = row.fields[key]
            guard !id.isEmpty, values[id] == nil else { throw FedCTError(.invalidData, "\(path):\(row.line): scan_id '\(id)' is empty or repeated") }
            values[id] = try zip(columns, indices).map { column, index in
                let field = row.fields[index]
                if let problem = Self.problem(field) { throw FedCTError(.invalidData, "\(path):\(row.line): column '\(column)' \(problem)") }
                return Self.value(field)
            }
        }
        rows = values
    }

    /// The values of `entry`'s clinical row (nil: missing); a scan without `clinical_row` has every value missing. A
    /// `clinical_row` that is not a `scan_id` of the table is an error naming the manifest line.
    public func values(for entry: CohortEntry, manifest: String) throws -> [Double?] {
        guard let key = entry.clinicalRow else { return Array(repeating: nil, count: columns.count) }
        guard let values = rows[key] else {
            throw FedCTError(.invalidData, "\(manifest):\(entry.line): scan \(entry.scanID): clinical_row '\(key)' is not a scan_id in \(path); add the row or empty clinical_row")
        }
        return values
    }

    /// The value of a field that passed `problem` (nil: empty, missing).
    static func value(_ field: String) -> Double? {
        let text = field.trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : Double(text)
    }

    /// What is wrong with a field as a clinical value (nil: a number in range, or empty).
    public static func problem(_ field: String) -> String? {
        let text = field.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        guard let value = Double(text), value.isFinite else { return "is '\(field)', not a finite number; write a number or leave the field empty (missing)" }
        guard abs(value) <= maxMagnitude else { return "is \(text), beyond ±\(Int(maxMagnitude)); convert it to a unit whose values are smaller" }
        return nil
    }

    /// Every problem of a clinical table `table` for the preflight: non-numeric and out-of-range values by line and
    /// column, repeated `scan_id`s, and columns empty in more than half the rows.
    public static func problems(_ table: CSVTable) -> [PreflightProblem] {
        guard let key = table.header.firstIndex(of: "scan_id") else { return [] }
        var problems: [PreflightProblem] = []
        var seen = Set<String>()
        for row in table.rows where !seen.insert(row.fields[key]).inserted {
            problems.append(PreflightProblem(.warning, file: table.path, line: row.line, "scan_id '\(row.fields[key])' is repeated; give each row its own key"))
        }
        for (index, column) in table.header.enumerated() where index != key {
            var empty = 0
            for row in table.rows {
                if value(row.fields[index]) == nil && problem(row.fields[index]) == nil { empty += 1 }
                if let problem = problem(row.fields[index]) {
                    problems.append(PreflightProblem(.warning, file: table.path, line: row.line, "column '\(column)' \(problem) (a job using clinical features stops here)"))
                }
            }
            if !table.rows.isEmpty && 2 * empty > table.rows.count {
                problems.append(PreflightProblem(.warning, file: table.path, "column '\(column)' is empty (missing) in \(empty) of \(table.rows.count) rows"))
            }
        }
        return problems
    }
}
