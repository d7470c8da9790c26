// FollowUpAccumulator: streams events into the follow-ups of a fixed set of scans, keeping only each code's first day after each index.
import FedCTCore

/// The follow-up of given scans over every code, built from events as they stream past.
///
/// Memory grows with the codes each scan's patient has after its index (the result), not with the rows: earlier
/// events, repeats of a code and patients without a scan are not kept. An event counts for its code and every
/// ancestor in `ontology`. Semantics are `CodeTimelines.followUp`'s: the first occurrence strictly after the index,
/// the record's end at the last dated event, and no follow-up when the record ends at or before the index.
struct FollowUpAccumulator {
    private let scans: [(subject: String, indexDay: Double)]
    private let ontology: TaskOntology
    private let scansBySubject: [String: [Int]]
    /// Per interned subject id: the indices of its scans (empty for a patient without one).
    private var scansOfSubject: [[Int]] = []
    /// Per interned code id: the codes its events count for (itself and its ancestors).
    private var countsFor: [[String]] = []
    private var recordEnd: [Double]
    private var firstDays: [[String: Double]]

    init(scans: [(subject: String, indexDay: Double)], ontology: TaskOntology) {
        self.scans = scans
        self.ontology = ontology
        scansBySubject = Dictionary(grouping: scans.indices, by: { scans[$0].subject })
        recordEnd = Array(repeating: -.infinity, count: scans.count)
        firstDays = Array(repeating: [:], count: scans.count)
    }

    /// Takes one event; `vocabulary` resolves its interned subject and code (ids are dense, in order of appearance).
    mutating func add(_ event: EHREvent, _ vocabulary: EHRVocabulary) {
        guard let day = event.day else { return }
        let subject = Int(event.subject)
        while subject >= scansOfSubject.count {
            scansOfSubject.append(scansBySubject[vocabulary.subjects.string(Int32(scansOfSubject.count))] ?? [])
        }
        guard !scansOfSubject[subject].isEmpty else { return }
        let code = Int(event.code)
        while code >= countsFor.count { countsFor.append(ontology.expand(vocabulary.codes.string(Int32(countsFor.count))).sorted()) }
        for scan in scansOfSubject[subject] {
            recordEnd[scan] = max(recordEnd[scan], day)
            let after = day - scans[scan].indexDay
            guard after > 0 else { continue }
            for counted in countsFor[code] where after < firstDays[scan][counted] ?? .infinity { firstDays[scan][counted] = after }
        }
    }

    /// The scans with follow-up, in the order given, and how many had none.
    func result() -> (followUps: [ScanFollowUp], skipped: Int) {
        var followUps: [ScanFollowUp] = []
        for (scan, entry) in scans.enumerated() where recordEnd[scan] > entry.indexDay {
            followUps.append(ScanFollowUp(subject: entry.subject, firstEventDays: firstDays[scan], followUpDays: recordEnd[scan] - entry.indexDay))
        }
        return (followUps, scans.count - followUps.count)
    }
}
