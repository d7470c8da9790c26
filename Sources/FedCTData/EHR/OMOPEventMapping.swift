// OMOPEventMapping: OMOP CDM rows to events — person to birth and gender, the other tables to one coded event each.

/// A row of an OMOP table other than `person`: `<prefix><concept_id>` (or the fixed code) at its date, person_id the subject.
struct OMOPRowMapping: EventRowMapping {
    private let table: OMOPTable
    private let prefix: [UInt8]
    private let person: Int
    private let concept: Int?
    private let date: Int
    private let datetime: Int?
    private let value: Int?

    /// Finds the table's columns (the datetime column is optional), naming a missing one.
    init(table: OMOPTable, header: [String], path: String) throws {
        self.table = table
        prefix = Array(table.codePrefix.utf8)
        person = try CSVTable.column("person_id", header: header, path: path)
        concept = try table.conceptColumn.map { try CSVTable.column($0, header: header, path: path) }
        date = try CSVTable.column(table.dateColumn, header: header, path: path)
        datetime = header.firstIndex(of: table.datetimeColumn)
        value = try table.valueColumn.map { try CSVTable.column($0, header: header, path: path) }
    }

    func map(_ row: CSVByteScanner, at place: EventRowPlace, parsesValues: Bool, vocabulary: inout EHRVocabulary,
             into events: inout [EHREvent]) throws(EventRowError) {
        if row.isEmpty(person) { throw EventRowError("empty person_id") }
        if let concept, row.isEmpty(concept) { throw EventRowError("empty \(table.conceptColumn ?? "")") }
        var day: Double?
        if let datetime { day = try row.day(datetime, column: table.datetimeColumn) }
        if day == nil { day = try row.day(date, column: table.dateColumn) }
        guard let day else { throw EventRowError("empty \(table.dateColumn)") }
        let numericValue = parsesValues ? try value.flatMap { index throws(EventRowError) in try row.number(index, column: table.valueColumn ?? "") } : nil
        let code = concept.map { row.intern($0, prefix: prefix, in: &vocabulary.codes) }
            ?? prefix.withUnsafeBufferPointer { vocabulary.codes.id(of: $0) }
        events.append(EHREvent(subject: row.intern(person, in: &vocabulary.subjects), code: code, day: day,
                               numericValue: numericValue, file: place.file, line: place.line))
    }
}

/// A `person` row: `MEDS_BIRTH` at `birth_datetime`, or at year/month/day of birth (a missing month or day counts as 1),
/// and a static `GENDER/<gender_concept_id>` when the gender is filled.
struct OMOPPersonMapping: EventRowMapping {
    private let person: Int
    private let gender: Int
    private let year: Int
    private let month: Int?
    private let day: Int?
    private let birthDatetime: Int?
    private static let birthCode = Array(OMOPTable.person.codePrefix.utf8)
    private static let genderPrefix = Array(OMOPTable.genderPrefix.utf8)

    /// Finds `person_id`, `gender_concept_id` and `year_of_birth` (month, day and birth_datetime are optional).
    init(header: [String], path: String) throws {
        person = try CSVTable.column("person_id", header: header, path: path)
        gender = try CSVTable.column("gender_concept_id", header: header, path: path)
        year = try CSVTable.column("year_of_birth", header: header, path: path)
        month = header.firstIndex(of: "month_of_birth")
        day = header.firstIndex(of: "day_of_birth")
        birthDatetime = header.firstIndex(of: "birth_datetime")
    }

    func map(_ row: CSVByteScanner, at place: EventRowPlace, parsesValues: Bool, vocabulary: inout EHRVocabulary,
             into events: inout [EHREvent]) throws(EventRowError) {
        if row.isEmpty(person) { throw EventRowError("empty person_id") }
        var birth: Double?
        if let birthDatetime { birth = try row.day(birthDatetime, column: "birth_datetime") }
        if birth == nil { birth = try birthDate(row) }
        let subject = row.intern(person, in: &vocabulary.subjects)
        let birthCode = Self.birthCode.withUnsafeBufferPointer { vocabulary.codes.id(of: $0) }
        events.append(EHREvent(subject: subject, code: birthCode, day: birth, file: place.file, line: place.line))
        if !row.isEmpty(gender) {
            events.append(EHREvent(subject: subject, code: row.intern(gender, prefix: Self.genderPrefix, in: &vocabulary.codes),
                                   day: nil, file: place.file, line: place.line))
        }
    }

    /// Days since the epoch of year/month/day of birth.
    private func birthDate(_ row: CSVByteScanner) throws(EventRowError) -> Double {
        func part(_ index: Int?, _ column: String, _ range: ClosedRange<Int>, default value: Int?) throws(EventRowError) -> Int {
            guard let index, !row.isEmpty(index) else {
                guard let value else { throw EventRowError("empty \(column)") }
                return value
            }
            guard let number = Int(row.string(index).trimmingCharacters(in: .whitespaces)), range.contains(number) else {
                throw EventRowError("\(column) '\(row.string(index))' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        let year = try part(year, "year_of_birth", 1800...2200, default: nil)
        let month = try part(month, "month_of_birth", 1...12, default: 1)
        let day = try part(day, "day_of_birth", 1...EventTime.daysIn(month: month, year: year), default: 1)
        return Double(EventTime.daysFromCivil(year: year, month: month, day: day))
    }
}
