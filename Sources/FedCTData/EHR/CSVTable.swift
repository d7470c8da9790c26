// CSVTable: a small CSV file (the cohort manifest) read whole into rows with line numbers, for errors that point at the line.
import FedCTCore
import Foundation

/// A CSV file with a header row; rows are read with their 1-based line numbers (parsed by `CSVByteScanner`).
/// For small tables only: event tables stream through `EHREventReader` instead.
public struct CSVTable: Sendable {
    public let path: String
    public let header: [String]
    public let rows: [(line: Int, fields: [String])]

    public init(path: String) throws {
        let (table, ragged) = try Self.lenient(path: path)
        try self.init(strict: table, ragged: ragged)
    }

    public init(text: String, path: String) throws {
        let (table, ragged) = try Self.lenient(scanner: CSVByteScanner(bytes: Array(text.utf8), path: path))
        try self.init(strict: table, ragged: ragged)
    }

    private init(strict table: CSVTable, ragged: [(line: Int, fieldCount: Int)]) throws {
        if let record = ragged.first {
            throw FedCTError(.invalidData, "\(table.path):\(record.line): \(record.fieldCount) fields, the header has \(table.header.count)")
        }
        self = table
    }

    /// Reads `path` like `init(path:)`, but rows whose field count differs from the header's do not stop it:
    /// they are left out of `rows` and returned with their lines, so a check can report every one of them.
    public static func lenient(path: String) throws -> (table: CSVTable, raggedRows: [(line: Int, fieldCount: Int)]) {
        try lenient(scanner: CSVByteScanner(path: path))
    }

    private static func lenient(scanner: CSVByteScanner) throws -> (table: CSVTable, raggedRows: [(line: Int, fieldCount: Int)]) {
        var scanner = scanner
        guard try scanner.nextRecord() else { throw FedCTError(.invalidData, "\(scanner.path): empty file; expected a header row") }
        let header = scanner.strings.map { $0.trimmingCharacters(in: .whitespaces) }
        var rows: [(line: Int, fields: [String])] = [], ragged: [(line: Int, fieldCount: Int)] = []
        while try scanner.nextRecord() {
            if scanner.fieldCount == header.count {
                rows.append((scanner.recordLine, scanner.strings))
            } else {
                ragged.append((scanner.recordLine, scanner.fieldCount))
            }
        }
        return (CSVTable(path: scanner.path, header: header, rows: rows), ragged)
    }

    private init(path: String, header: [String], rows: [(line: Int, fields: [String])]) {
        self.path = path
        self.header = header
        self.rows = rows
    }

    /// The index of column `name`, or an error naming the file and the columns it has.
    public func column(_ name: String) throws -> Int {
        try Self.column(name, header: header, path: path)
    }

    /// The index of column `name` in `header`, or an error naming the file `path` and the columns it has.
    static func column(_ name: String, header: [String], path: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw FedCTError(.invalidData, "\(path): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return index
    }
}
