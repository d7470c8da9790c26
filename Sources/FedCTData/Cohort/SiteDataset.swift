// SiteDataset: a site's scans turned into network inputs and an objective's targets, ready for local training.
import FedCTCore
import Foundation

/// One scan prepared for training and evaluation: its network input, the objective's targets, and its follow-up in the
/// site's records (the evaluation's outcomes).
public struct SiteExample: Sendable {
    public var scanID: String
    public var subjectID: String
    /// The preprocessed `size³` input.
    public var input: [Float]
    /// The objective's per-example targets by batch-tensor name, flat (the objective knows their shapes).
    public var targets: [String: [Float]]
    /// Days from the index time to each tracked code's first event (absent: none within follow-up).
    public var firstEventDays: [String: Double]
    public var followUpDays: Double

    public init(scanID: String, subjectID: String, input: [Float], targets: [String: [Float]], firstEventDays: [String: Double], followUpDays: Double) {
        self.scanID = scanID
        self.subjectID = subjectID
        self.input = input
        self.targets = targets
        self.firstEventDays = firstEventDays
        self.followUpDays = followUpDays
    }

    /// The observed (time, event) of one code, for survival metrics.
    public func outcome(task code: String) -> (days: Double, event: Bool) {
        if let day = firstEventDays[code], day <= followUpDays { return (day, true) }
        return (followUpDays, false)
    }
}

/// An objective's targets for one scan, from its preprocessed input and its follow-up (first event days of the tracked
/// codes, days of follow-up); the site-side half of an objective.
public typealias ExampleTargets = @Sendable (_ input: [Float], _ firstEventDays: [String: Double], _ followUpDays: Double) throws -> [String: [Float]]

/// A site's data folder — `cohort.csv` and `events.csv` (MEDS) or `omop/` (OMOP CDM) — loaded for one job.
public struct SiteDataset: Sendable {
    public var train: [SiteExample]
    public var heldout: [SiteExample]
    /// Scans skipped because their subject has no follow-up after the index time.
    public var skippedWithoutFollowUp: [String]

    public static let manifestName = "cohort.csv"
    public static let eventsName = EHRSource.medsName

    /// Checks the folder holds a cohort manifest and an event source (`events.csv` or `omop/`), naming what is missing.
    public static func checkFolder(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FedCTError(.invalidConfiguration, "data folder \(directory) does not exist; set data.dir in the site config to the folder holding \(manifestName) and \(eventsName) (or \(EHRSource.omopName)/)")
        }
        guard FileManager.default.fileExists(atPath: "\(directory)/\(manifestName)") else {
            throw FedCTError(.invalidConfiguration, "data folder \(directory) has no \(manifestName)")
        }
        _ = try EHRSource.find(in: directory)
    }

    /// Loads every scan of the cohort, preprocessed, with the objective's `targets`; `trackedCodes` are the codes whose
    /// first events land in each example's `firstEventDays` (counted also for their descendants in the folder's
    /// `ontology.csv`, if any). With a `cache`, inputs already preprocessed by the same pipeline from the unchanged scan are
    /// read from it instead of decoding the scan. Scans whose subject has no follow-up after the index time are skipped.
    public static func load(directory: String, trackedCodes: Set<String>, preprocessing: Preprocessing, cache: PreprocessingCache? = nil,
                            targets: ExampleTargets) throws -> SiteDataset {
        try checkFolder(directory)
        let manifest = try CohortManifest(path: "\(directory)/\(manifestName)")
        let timelines = try SubjectTimelines(source: EHRSource.find(in: directory), trackedCodes: trackedCodes,
                                             ontology: TaskOntology.load(directory: directory))
        var dataset = SiteDataset(train: [], heldout: [], skippedWithoutFollowUp: [])
        for entry in manifest.entries {
            guard let followUp = timelines.followUp(subject: entry.subjectID, indexDay: entry.indexDay) else {
                dataset.skippedWithoutFollowUp.append(entry.scanID)
                continue
            }
            let input: [Float]
            do {
                input = try cache?.input(path: entry.imagePath, pipeline: preprocessing) ?? preprocessing.apply(ScanImage.read(path: entry.imagePath))
            } catch let error as FedCTError {
                throw FedCTError(error.code, "\(manifest.path):\(entry.line): scan \(entry.scanID), image \(entry.imagePath): \(error.message)")
            }
            let example = SiteExample(
                scanID: entry.scanID, subjectID: entry.subjectID, input: input,
                targets: try targets(input, followUp.firstEventDays, followUp.followUpDays),
                firstEventDays: followUp.firstEventDays, followUpDays: followUp.followUpDays)
            switch entry.split {
            case .train: dataset.train.append(example)
            case .heldout: dataset.heldout.append(example)
            }
        }
        return dataset
    }
}
