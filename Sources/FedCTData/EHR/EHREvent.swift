// EHREvent: the small, text-free event the streaming EHR readers deliver, the interned ids it refers to, and row problems.

/// One event from a site's health records: ids into an `EHRVocabulary`, a day and where the row is.
///
/// MEDS rows give one event each; OMOP CDM rows give one (or two, for `person`) mapped events.
public struct EHREvent: Sendable, Hashable {
    /// The subject's id in `EHRVocabulary.subjects`.
    public var subject: Int32
    /// The code's id in `EHRVocabulary.codes`.
    public var code: Int32
    /// Days since 1970-01-01 (UTC), fractional; nil for a static fact (a MEDS row without time, an OMOP gender).
    public var day: Double?
    /// `numeric_value` (MEDS) or `value_as_number` (OMOP) when the reader parses values and the field is not empty.
    public var numericValue: Double?
    /// The row's file, an index into `EHREventReader.files`.
    public var file: Int
    /// The row's 1-based line in its file.
    public var line: Int
}

/// The distinct subject ids and codes an `EHREventReader` has read, each stored once.
public struct EHRVocabulary: Sendable {
    /// Subject ids (MEDS `subject_id`, OMOP `person_id`).
    public var subjects = InternTable()
    /// Codes (MEDS `code`, or the OMOP mapping's codes such as `CONDITION/201826`).
    public var codes = InternTable()

    /// An empty vocabulary.
    public init() {}
}

/// A row (or a whole file, when `line` is nil) an `EHREventReader` could not turn into events.
public struct EHRRowProblem: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The row has `fields` fields where the header has `header`; the row is skipped.
        case fieldCount(fields: Int, header: Int)
        /// The row or file cannot be read; the message says why, without the file and line.
        case invalid(String)
        /// The row repeats the fields of `firstLine` in the same file (found by a 64-bit hash); it is still read.
        case duplicate(firstLine: Int)
    }

    public var file: String
    public var line: Int?
    public var kind: Kind

    /// What is wrong, without the file and line.
    public var message: String {
        switch kind {
        case .fieldCount(let fields, let header): return "\(fields) fields, the header has \(header)"
        case .invalid(let message): return message
        case .duplicate(let firstLine): return "duplicates line \(firstLine)"
        }
    }
}
