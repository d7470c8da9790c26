// SiteDataset+Setup: a site's train scans' follow-ups over every code, the input of its setup-stage statistics.
public import FedCTCore

extension SiteDataset {
    /// The follow-up of every train scan in `directory` over every code (counted also for its ancestors in the
    /// folder's `ontology.csv`), and how many train scans had no follow-up after their index time and were skipped.
    /// Held-out scans are left out, so the choice of tasks never sees the patients the encoder is scored on. The event
    /// source streams past once; only each train scan's first day of each code after its index is kept.
    public static func setupFollowUps(directory: String) throws -> (followUps: [ScanFollowUp], skipped: Int) {
        try checkFolder(directory)
        let manifest = try CohortManifest(path: "\(directory)/\(manifestName)")
        let train = manifest.entries.filter { $0.split == .train }.map { (subject: $0.subjectID, indexDay: $0.indexDay) }
        var accumulator = FollowUpAccumulator(scans: train, ontology: try TaskOntology.load(directory: directory))
        var reader = EHREventReader(source: try EHRSource.find(in: directory))
        try reader.forEachEvent { accumulator.add($0, $1) }
        return accumulator.result()
    }
}
