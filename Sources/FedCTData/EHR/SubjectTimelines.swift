// SubjectTimelines: per-subject occurrences of tracked codes and the end of each record, read from a MEDS event table.
import FedCTCore

/// What a MEDS event table says about each subject's follow-up.
///
/// MEDS rows are `subject_id,time,code,numeric_value[,text_value]`. Only codes in `trackedCodes`
/// keep their occurrence times; every row extends the subject's record end.
public struct SubjectTimelines: Sendable {
    public let trackedCodes: Set<String>
    private(set) var recordEnd: [String: Double] = [:]
    private(set) var occurrences: [String: [String: [Double]]] = [:]

    public init(medsCSV path: String, trackedCodes: Set<String>) throws {
        self.trackedCodes = trackedCodes
        let table = try CSVTable(path: path)
        let parser = try MEDSRowParser(table: table)
        for row in table.rows {
            // MEDS allows static rows with no time; they do not extend follow-up.
            let event = try parser.event(line: row.line, fields: row.fields)
            guard let day = event.day else { continue }
            recordEnd[event.subject] = max(recordEnd[event.subject] ?? day, day)
            if trackedCodes.contains(event.code) { occurrences[event.subject, default: [:]][event.code, default: []].append(day) }
        }
    }

    /// The subject's follow-up after `indexDay`: days to the first occurrence of each tracked code
    /// strictly after the index, and days to the end of the record. Nil when there is no follow-up.
    public func followUp(subject: String, indexDay: Double) -> (firstEventDays: [String: Double], followUpDays: Double)? {
        guard let end = recordEnd[subject], end > indexDay else { return nil }
        var first: [String: Double] = [:]
        for (code, days) in occurrences[subject] ?? [:] {
            if let day = days.filter({ $0 > indexDay }).min() { first[code] = day - indexDay }
        }
        return (first, end - indexDay)
    }
}

/// One row of a MEDS event table as `SubjectTimelines` reads it.
public struct MEDSEvent: Sendable, Hashable {
    public var subject: String
    /// Days since the epoch; nil for a static row (empty time).
    public var day: Double?
    public var code: String
}

/// Reads MEDS rows one at a time with the checks `SubjectTimelines` applies, for checks that report every bad row.
public struct MEDSRowParser: Sendable {
    public let path: String
    private let subjectColumn: Int
    private let timeColumn: Int
    private let codeColumn: Int

    /// Finds the `subject_id`, `time` and `code` columns in `table`, naming any that is missing.
    public init(table: CSVTable) throws {
        path = table.path
        subjectColumn = try table.column("subject_id")
        timeColumn = try table.column("time")
        codeColumn = try table.column("code")
    }

    /// The event on `line`; throws `FedCTError` (`.invalidData`) naming the file and line for an empty subject or
    /// an unparsable time.
    public func event(line: Int, fields: [String]) throws -> MEDSEvent {
        let subject = fields[subjectColumn]
        guard !subject.isEmpty else { throw FedCTError(.invalidData, "\(path):\(line): empty subject_id") }
        let timeText = fields[timeColumn]
        if timeText.isEmpty { return MEDSEvent(subject: subject, day: nil, code: fields[codeColumn]) }
        guard let day = EventTime.days(timeText) else {
            throw FedCTError(.invalidData, "\(path):\(line): time '\(timeText)' is not an ISO 8601 date or date-time")
        }
        return MEDSEvent(subject: subject, day: day, code: fields[codeColumn])
    }
}
