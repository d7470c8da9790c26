// MEDSRowMapping: one MEDS row (subject_id, time, code, numeric_value) to one event.

/// The columns of a MEDS event table; a row is one event, static when its time is empty.
struct MEDSRowMapping: EventRowMapping {
    private let subject: Int
    private let time: Int
    private let code: Int
    private let value: Int?

    /// Finds `subject_id`, `time`, `code` (and `numeric_value` if present), naming a missing column.
    init(header: [String], path: String) throws {
        subject = try CSVTable.column("subject_id", header: header, path: path)
        time = try CSVTable.column("time", header: header, path: path)
        code = try CSVTable.column("code", header: header, path: path)
        value = header.firstIndex(of: "numeric_value")
    }

    func map(_ row: CSVByteScanner, at place: EventRowPlace, parsesValues: Bool, vocabulary: inout EHRVocabulary,
             into events: inout [EHREvent]) throws(EventRowError) {
        if row.isEmpty(subject) { throw EventRowError("empty subject_id") }
        // MEDS allows static rows with no time; they do not extend follow-up.
        let day = try row.day(time, column: "time")
        let numericValue = parsesValues ? try value.flatMap { index throws(EventRowError) in try row.number(index, column: "numeric_value") } : nil
        events.append(EHREvent(subject: row.intern(subject, in: &vocabulary.subjects), code: row.intern(code, in: &vocabulary.codes),
                               day: day, numericValue: numericValue, file: place.file, line: place.line))
    }
}
