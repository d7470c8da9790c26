// CSVTable: reads a CSV file (RFC 4180 quoting) row by row with line numbers, for errors that point at the line.
import FedCTCore
import Foundation

/// A CSV file with a header row; rows are read with their 1-based line numbers.
public struct CSVTable: Sendable {
    public let path: String
    public let header: [String]
    public let rows: [(line: Int, fields: [String])]

    public init(path: String) throws {
        try self.init(text: try Self.text(path: path), path: path)
    }

    public init(text: String, path: String) throws {
        let (table, ragged) = try Self.lenient(text: text, path: path)
        if let record = ragged.first {
            throw FedCTError(.invalidData, "\(path):\(record.line): \(record.fieldCount) fields, the header has \(table.header.count)")
        }
        self = table
    }

    /// Reads `path` like `init(path:)`, but rows whose field count differs from the header's do not stop it:
    /// they are left out of `rows` and returned with their lines, so a check can report every one of them.
    public static func lenient(path: String) throws -> (table: CSVTable, raggedRows: [(line: Int, fieldCount: Int)]) {
        try lenient(text: try text(path: path), path: path)
    }

    private static func lenient(text: String, path: String) throws -> (table: CSVTable, raggedRows: [(line: Int, fieldCount: Int)]) {
        var records = try parse(text, path: path)
        guard !records.isEmpty else { throw FedCTError(.invalidData, "\(path): empty file; expected a header row") }
        let header = records.removeFirst().fields.map { $0.trimmingCharacters(in: .whitespaces) }
        let ragged = records.filter { $0.fields.count != header.count }.map { (line: $0.line, fieldCount: $0.fields.count) }
        let table = CSVTable(path: path, header: header, rows: ragged.isEmpty ? records : records.filter { $0.fields.count == header.count })
        return (table, ragged)
    }

    private init(path: String, header: [String], rows: [(line: Int, fields: [String])]) {
        self.path = path
        self.header = header
        self.rows = rows
    }

    private static func text(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FedCTError(.io, "\(path): cannot read the file (does it exist and is it readable?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FedCTError(.invalidData, "\(path): not UTF-8 text")
        }
        return text
    }

    /// The index of column `name`, or an error naming the file and the columns it has.
    public func column(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw FedCTError(.invalidData, "\(path): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return index
    }

    private static func parse(_ text: String, path: String) throws -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = iterator.next()
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: inQuotes = true
            case ",": fields.append(field); field = ""
            case "\r": continue
            case "\n":
                fields.append(field)
                if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
                fields = []
                field = ""
                line += 1
                recordLine = line
            default: field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes { throw FedCTError(.invalidData, "\(path):\(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append((recordLine, fields))
        }
        return records
    }
}
