// SubjectTimelines: per-subject occurrences of tracked codes and the end of each record, streamed from MEDS or OMOP tables.
import FedCTCore

/// What a site's event source says about each subject's follow-up.
///
/// Only codes in `trackedCodes` keep their occurrence times — an event counts for a tracked code when its own code
/// or one of that code's ancestors in the site's ontology is tracked (a task `ICD10/J44` is hit by an `ICD10/J44.1`
/// event); every dated event extends the subject's record end. The rows stream through `EHREventReader`, so memory
/// grows with subjects and tracked occurrences, not rows.
public struct SubjectTimelines: Sendable {
    public let trackedCodes: Set<String>
    private var timelines = CodeTimelines()
    var recordEnd: [String: Double] { timelines.recordEnd }
    var occurrences: [String: [String: [Double]]] { timelines.occurrences }

    /// Reads the MEDS event table at `path`; the first bad row stops it with an error naming the file and line.
    public init(medsCSV path: String, trackedCodes: Set<String>) throws {
        try self.init(source: .meds(path: path), trackedCodes: trackedCodes)
    }

    /// Reads `source` (MEDS or OMOP), counting each event for the tracked codes among its code and `ontology` ancestors;
    /// the first bad row stops it with an error naming the file and line.
    public init(source: EHRSource, trackedCodes: Set<String>, ontology: TaskOntology = .none) throws {
        self.trackedCodes = trackedCodes
        var reader = EHREventReader(source: source)
        var ends: [Double] = []
        // Per interned code: the tracked codes its events count for (usually none).
        var countsFor: [[String]] = []
        var found: [Int32: [Int32: [Double]]] = [:]
        try reader.forEachEvent { event, vocabulary in
            // Static facts (no time) do not extend follow-up.
            guard let day = event.day else { return }
            let subject = Int(event.subject), code = Int(event.code)
            if subject >= ends.count { ends += repeatElement(-.infinity, count: subject + 1 - ends.count) }
            ends[subject] = max(ends[subject], day)
            while code >= countsFor.count {
                countsFor.append(ontology.expand(vocabulary.codes.string(Int32(countsFor.count))).filter(trackedCodes.contains).sorted())
            }
            if !countsFor[code].isEmpty { found[event.subject, default: [:]][event.code, default: []].append(day) }
        }
        // Interned ids while streaming; strings once per subject and tracked occurrence afterwards.
        let vocabulary = reader.vocabulary
        for (subject, end) in ends.enumerated() where end > -.infinity {
            timelines.extendRecord(subject: vocabulary.subjects.string(Int32(subject)), to: end)
        }
        for (subject, codes) in found {
            for (code, days) in codes {
                for counted in countsFor[Int(code)] {
                    for day in days { timelines.add(subject: vocabulary.subjects.string(subject), day: day, code: counted) }
                }
            }
        }
    }

    /// The subject's follow-up after `indexDay`: days to the first occurrence of each tracked code
    /// strictly after the index, and days to the end of the record. Nil when there is no follow-up.
    public func followUp(subject: String, indexDay: Double) -> ScanFollowUp? {
        timelines.followUp(subject: subject, indexDay: indexDay)
    }
}
