// CodeTimelines: every code's occurrence days per subject and each record's end — the input of task derivation at a site.

/// One scan's follow-up for task derivation: the first day (after the index) of every code, counted
/// with its ancestors, and the days from the index to the end of the record.
public struct ScanFollowUp: Sendable, Equatable {
    public var subject: String
    /// Days from the index time to the first occurrence strictly after it, per code (ancestors included).
    public var firstEventDays: [String: Double]
    public var followUpDays: Double

    public init(subject: String, firstEventDays: [String: Double], followUpDays: Double) {
        self.subject = subject
        self.firstEventDays = firstEventDays
        self.followUpDays = followUpDays
    }
}

/// What a MEDS event table says about every code of every subject, fed one event at a time.
///
/// Unlike the labeler's timelines, which track only the job's task codes, this keeps every code: the
/// setup stage does not know the tasks yet. Static rows (no time) neither add occurrences nor extend the record.
public struct CodeTimelines: Sendable {
    /// Occurrence days per subject and code.
    public private(set) var occurrences: [String: [String: [Double]]] = [:]
    /// The last dated event of each subject's record.
    public private(set) var recordEnd: [String: Double] = [:]

    public init() {}

    /// Adds one event; `day` is days since the epoch, nil for a static row.
    public mutating func add(subject: String, day: Double?, code: String) {
        guard let day else { return }
        extendRecord(subject: subject, to: day)
        occurrences[subject, default: [:]][code, default: []].append(day)
    }

    /// Extends the subject's record to `day` without keeping an occurrence (an event of a code nobody tracks).
    public mutating func extendRecord(subject: String, to day: Double) {
        recordEnd[subject] = max(recordEnd[subject] ?? day, day)
    }

    /// The follow-up of a scan of `subject` indexed at `indexDay`, with each code's occurrence also
    /// counted for its ancestors in `ontology`; nil when the record ends at or before the index.
    public func followUp(subject: String, indexDay: Double, ontology: TaskOntology = .none) -> ScanFollowUp? {
        guard let end = recordEnd[subject], end > indexDay else { return nil }
        var first: [String: Double] = [:]
        for (code, days) in occurrences[subject] ?? [:] {
            guard let day = days.lazy.filter({ $0 > indexDay }).min() else { continue }
            for counted in ontology.expand(code) { first[counted] = min(first[counted] ?? .infinity, day - indexDay) }
        }
        return ScanFollowUp(subject: subject, firstEventDays: first, followUpDays: end - indexDay)
    }

    /// The follow-ups of `scans` (subject, index day), and how many had none and were skipped.
    public func followUps(scans: [(subject: String, indexDay: Double)], ontology: TaskOntology) -> (followUps: [ScanFollowUp], skipped: Int) {
        var followUps: [ScanFollowUp] = []
        var skipped = 0
        for scan in scans {
            if let followUp = followUp(subject: scan.subject, indexDay: scan.indexDay, ontology: ontology) {
                followUps.append(followUp)
            } else {
                skipped += 1
            }
        }
        return (followUps, skipped)
    }
}
