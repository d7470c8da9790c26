// SiteDataset: a site's scans turned into network inputs and time-to-event targets, ready for local training.
import FedCTCore
import Foundation

/// One scan prepared for training and evaluation.
public struct TTEExample: Sendable {
    public var scanID: String
    public var subjectID: String
    /// The preprocessed `size³` input.
    public var input: [Float]
    /// Targets laid out [piece][task].
    public var timeAtRisk: [Float]
    public var events: [Float]
    /// Days from the index time to each task's first event (absent: none within follow-up).
    public var firstEventDays: [String: Double]
    public var followUpDays: Double

    /// The observed (time, event) of one task, for survival metrics.
    public func outcome(task code: String) -> (days: Double, event: Bool) {
        if let day = firstEventDays[code], day <= followUpDays { return (day, true) }
        return (followUpDays, false)
    }
}

/// A site's data folder — `cohort.csv` and `events.csv` (MEDS) or `omop/` (OMOP CDM) — loaded for one job.
public struct SiteDataset: Sendable {
    public var train: [TTEExample]
    public var heldout: [TTEExample]
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

    /// Loads every scan of the cohort, preprocessed, with targets from `labeler` (a task code also counts the events of
    /// its descendants in the folder's `ontology.csv`, if any); with a `cache`, inputs already
    /// preprocessed by the same pipeline from the unchanged scan are read from it instead of decoding the scan.
    /// `extraCodes` are tracked besides the task codes (their first events land in `firstEventDays`, not in the targets),
    /// e.g. the evaluation's outcome codes (`BinaryOutcome.trackedCodes`).
    public static func load(directory: String, labeler: TTELabeler, preprocessing: Preprocessing,
                            cache: PreprocessingCache? = nil, alsoTracking extraCodes: Set<String> = []) throws -> SiteDataset {
        try checkFolder(directory)
        let manifest = try CohortManifest(path: "\(directory)/\(manifestName)")
        let timelines = try SubjectTimelines(source: EHRSource.find(in: directory), trackedCodes: Set(labeler.taskCodes).union(extraCodes),
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
            let targets = labeler.labels(firstEventDays: followUp.firstEventDays, followUpDays: followUp.followUpDays)
            let example = TTEExample(
                scanID: entry.scanID, subjectID: entry.subjectID, input: input,
                timeAtRisk: targets.timeAtRisk, events: targets.events,
                firstEventDays: followUp.firstEventDays, followUpDays: followUp.followUpDays)
            switch entry.split {
            case .train: dataset.train.append(example)
            case .heldout: dataset.heldout.append(example)
            }
        }
        return dataset
    }
}
