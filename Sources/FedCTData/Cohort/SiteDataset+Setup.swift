// SiteDataset+Setup: a site's train scans' follow-ups over every code, the input of its setup-stage statistics.
public import FedCTCore

extension SiteDataset {
    /// The follow-up of every train scan in `directory` over every code (counted also for its ancestors in the
    /// folder's `ontology.csv`), and how many train scans had no follow-up after their index time and were skipped.
    /// Held-out scans are left out, so the choice of tasks never sees the patients the encoder is scored on.
    public static func setupFollowUps(directory: String) throws -> (followUps: [ScanFollowUp], skipped: Int) {
        try checkFolder(directory)
        let manifest = try CohortManifest(path: "\(directory)/\(manifestName)")
        let timelines = try SubjectTimelines(source: EHRSource.find(in: directory), trackedCodes: nil,
                                             ontology: TaskOntology.load(directory: directory))
        var followUps: [ScanFollowUp] = []
        var skipped = 0
        for entry in manifest.entries where entry.split == .train {
            if let followUp = timelines.followUp(subject: entry.subjectID, indexDay: entry.indexDay) {
                followUps.append(followUp)
            } else {
                skipped += 1
            }
        }
        return (followUps, skipped)
    }
}
