// EHREventReader: streams a site's health records (MEDS or OMOP CDM CSV) as small interned events, strictly or listing every bad row.
import FedCTCore
import Foundation

/// Reads an `EHRSource` row by row from bytes and hands each event to a closure; keeps no row text, only the
/// distinct subject ids and codes (`vocabulary`) and, when asked, a 64-bit hash per row for duplicate checks.
///
/// ```swift
/// var reader = EHREventReader(source: try EHRSource.find(in: dataDirectory))
/// try reader.forEachEvent { event, vocabulary in
///     counts[event.code, default: 0] += 1          // ids; vocabulary.codes.string(event.code) for the text
/// }
/// ```
public struct EHREventReader {
    public let source: EHRSource
    /// The files read, in order; `EHREvent.file` indexes this.
    public let files: [String]
    /// Parse `numeric_value` / `value_as_number` into `EHREvent.numericValue` (a value that is not a number is then a
    /// row error). Off by default: follow-up needs no values.
    public var parsesNumericValues = false
    /// Report rows that repeat an earlier row of the same file (`EHRRowProblem.Kind.duplicate`), lenient reading only.
    public var detectsDuplicateRows = false
    /// Every subject id and code read so far.
    public private(set) var vocabulary = EHRVocabulary()

    /// A reader of `source`; nothing is read until `forEachEvent`.
    public init(source: EHRSource) {
        self.source = source
        files = source.files
    }

    /// Calls `body` with every event, in file order; throws `FedCTError` at the first bad row, naming its file and line
    /// (`events.csv:12: time '01/02/2020' is not an ISO 8601 date or date-time`), or at an unreadable file.
    public mutating func forEachEvent(_ body: (EHREvent, EHRVocabulary) throws -> Void) throws {
        try read(problems: nil, body)
    }

    /// Calls `body` with every event of the good rows and `problems` with every bad row or unreadable file, reading on
    /// after each; throws only what `body` throws.
    public mutating func forEachEvent(problems: (EHRRowProblem) -> Void, _ body: (EHREvent, EHRVocabulary) throws -> Void) throws {
        try withoutActuallyEscaping(problems) { problems in try read(problems: problems, body) }
    }

    private mutating func read(problems: ((EHRRowProblem) -> Void)?, _ body: (EHREvent, EHRVocabulary) throws -> Void) throws {
        /// Reports `problem` when listing, else throws it as `FedCTError(code)` with the file and line in front.
        func report(_ problem: EHRRowProblem, code: FedCTError.Code = .invalidData) throws {
            guard let problems else {
                throw FedCTError(code, "\(problem.file)\(problem.line.map { ":\($0)" } ?? ""): \(problem.message)")
            }
            problems(problem)
        }
        var events: [EHREvent] = []
        for (fileIndex, path) in files.enumerated() {
            var scanner: CSVByteScanner
            let mapping: any EventRowMapping
            let headerCount: Int
            do {
                scanner = try CSVByteScanner(path: path)
                guard try scanner.nextRecord() else { throw FedCTError(.invalidData, "\(path): empty file; expected a header row") }
                let header = scanner.strings.map { $0.trimmingCharacters(in: .whitespaces) }
                headerCount = header.count
                mapping = try Self.mapping(source: source, path: path, header: header)
            } catch let error as FedCTError {
                try report(EHRRowProblem(file: path, line: nil, kind: .invalid(error.message.dropping(prefix: path))), code: error.code)
                continue
            }
            var firstLines = detectsDuplicateRows && problems != nil ? RowHashTable() : nil
            while true {
                do {
                    guard try scanner.nextRecord() else { break }
                } catch let error as FedCTError {
                    // A quote never closed swallows the rest of the file: report it and go on with the next file.
                    try report(EHRRowProblem(file: path, line: scanner.recordLine,
                                             kind: .invalid(error.message.dropping(prefix: "\(path):\(scanner.recordLine)"))), code: error.code)
                    break
                }
                let line = scanner.recordLine
                guard scanner.fieldCount == headerCount else {
                    try report(EHRRowProblem(file: path, line: line, kind: .fieldCount(fields: scanner.fieldCount, header: headerCount)))
                    continue
                }
                if let first = firstLines?.firstLine(of: scanner.recordHash(), line: line) {
                    try report(EHRRowProblem(file: path, line: line, kind: .duplicate(firstLine: first)))
                }
                events.removeAll(keepingCapacity: true)
                if let error = mapRow(mapping, scanner, place: EventRowPlace(file: fileIndex, line: line), into: &events) {
                    try report(EHRRowProblem(file: path, line: line, kind: .invalid(error.message)))
                    continue
                }
                for event in events { try body(event, vocabulary) }
            }
        }
    }

    /// The row's events appended to `events`, or why it has none.
    private mutating func mapRow(_ mapping: any EventRowMapping, _ row: CSVByteScanner, place: EventRowPlace,
                                 into events: inout [EHREvent]) -> EventRowError? {
        do {
            try mapping.map(row, at: place, parsesValues: parsesNumericValues, vocabulary: &vocabulary, into: &events)
            return nil
        } catch {
            return error
        }
    }

    private static func mapping(source: EHRSource, path: String, header: [String]) throws -> any EventRowMapping {
        switch source {
        case .meds: return try MEDSRowMapping(header: header, path: path)
        case .omop:
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            guard let table = OMOPTable.all.first(where: { $0.name == name }) else {
                throw FedCTError(.invalidData, "\(path): not an OMOP table FedCT reads")
            }
            return table == .person ? try OMOPPersonMapping(header: header, path: path) : try OMOPRowMapping(table: table, header: header, path: path)
        }
    }
}

/// Where a row is, for the events made from it.
struct EventRowPlace {
    var file: Int
    var line: Int
}

/// Why a row gives no events, without the file and line (the reader adds them).
struct EventRowError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Turns one CSV row of a table into events; made once per file from its header.
protocol EventRowMapping {
    /// Appends the row's events to `events`, interning its subject and codes only when the whole row is good.
    func map(_ row: CSVByteScanner, at place: EventRowPlace, parsesValues: Bool, vocabulary: inout EHRVocabulary,
             into events: inout [EHREvent]) throws(EventRowError)
}

extension CSVByteScanner {
    /// True when field `index` is empty.
    func isEmpty(_ index: Int) -> Bool { withField(index) { $0.isEmpty } }

    /// Field `index` as days since the epoch; nil when empty; an error naming `column` when it is not a date or date-time.
    func day(_ index: Int, column: String) throws(EventRowError) -> Double? {
        if isEmpty(index) { return nil }
        guard let day = withField(index, { EventTime.days(utf8: $0) }) else {
            throw EventRowError("\(column) '\(string(index))' is not an ISO 8601 date or date-time")
        }
        return day
    }

    /// Field `index` as a number; nil when empty; an error naming `column` when it is not a number.
    func number(_ index: Int, column: String) throws(EventRowError) -> Double? {
        if isEmpty(index) { return nil }
        guard let value = Double(string(index).trimmingCharacters(in: .whitespaces)) else {
            throw EventRowError("\(column) '\(string(index))' is not a number")
        }
        return value
    }

    /// The id of field `index` (after `prefix`) in `table`, without making a `String`.
    func intern(_ index: Int, prefix: [UInt8] = [], in table: inout InternTable) -> Int32 {
        withField(index) { field in
            guard !prefix.isEmpty else { return table.id(of: field) }
            return (prefix + field).withUnsafeBufferPointer { table.id(of: $0) }
        }
    }
}

extension String {
    /// The string without a leading `prefix: `.
    func dropping(prefix: String) -> String {
        hasPrefix(prefix + ": ") ? String(dropFirst(prefix.count + 2)) : self
    }
}
