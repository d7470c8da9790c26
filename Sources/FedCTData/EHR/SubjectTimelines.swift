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
        let subjectColumn = try table.column("subject_id")
        let timeColumn = try table.column("time")
        let codeColumn = try table.column("code")
        for row in table.rows {
            let subject = row.fields[subjectColumn]
            guard !subject.isEmpty else { throw FedCTError(.invalidData, "\(path):\(row.line): empty subject_id") }
            // MEDS allows static rows with no time; they do not extend follow-up.
            let timeText = row.fields[timeColumn]
            if timeText.isEmpty { continue }
            guard let day = EventTime.days(timeText) else {
                throw FedCTError(.invalidData, "\(path):\(row.line): time '\(timeText)' is not an ISO 8601 date or date-time")
            }
            recordEnd[subject] = max(recordEnd[subject] ?? day, day)
            let code = row.fields[codeColumn]
            if trackedCodes.contains(code) { occurrences[subject, default: [:]][code, default: []].append(day) }
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
