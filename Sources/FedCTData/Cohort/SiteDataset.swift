// SiteDataset: a site's scans turned into network inputs and an objective's targets, ready for local training.
import FedCTCore
import Foundation

/// One example prepared for training and evaluation — a scan, or a study of several scans (`ExampleUnit`): its network
/// input(s), the objective's targets, its report (a study's; a scan's when the objective asks for it), and its follow-up in the site's
/// records (the evaluation's outcomes).
public struct SiteExample: Sendable {
    /// The scan's ID; for a study example, the study's ID.
    public var scanID: String
    public var subjectID: String
    /// The preprocessed `size³` inputs: the scan, or the study's scans in manifest order.
    public var inputs: [[Float]]
    /// The objective's per-example targets by batch-tensor name, flat (the objective knows their shapes).
    public var targets: [String: [Float]]
    /// Days from the index time to each tracked code's first event (absent: none within follow-up).
    public var firstEventDays: [String: Double]
    public var followUpDays: Double
    /// The radiology report the manifest row names (`report_path`): a study's (required), or a scan's when the recipe
    /// reads scan reports (`SiteExampleRecipe.readsScanReports`); nil otherwise.
    public var report: String?

    public init(scanID: String, subjectID: String, input: [Float], targets: [String: [Float]], firstEventDays: [String: Double], followUpDays: Double) {
        self.init(scanID: scanID, subjectID: subjectID, inputs: [input], targets: targets, firstEventDays: firstEventDays, followUpDays: followUpDays)
    }

    public init(scanID: String, subjectID: String, inputs: [[Float]], targets: [String: [Float]], firstEventDays: [String: Double], followUpDays: Double,
                report: String? = nil) {
        precondition(!inputs.isEmpty, "an example has at least one scan")
        self.scanID = scanID
        self.subjectID = subjectID
        self.inputs = inputs
        self.targets = targets
        self.firstEventDays = firstEventDays
        self.followUpDays = followUpDays
        self.report = report
    }

    /// The first input: the scan of a scan example, a study's first scan.
    public var input: [Float] { inputs[0] }

    /// The observed (time, event) of one code, for survival metrics.
    public func outcome(task code: String) -> (days: Double, event: Bool) {
        if let day = firstEventDays[code], day <= followUpDays { return (day, true) }
        return (followUpDays, false)
    }
}

/// An objective's targets for one example, from its (first) preprocessed input and its follow-up (first event days of
/// the tracked codes, days of follow-up); the site-side half of an objective.
public typealias ExampleTargets = @Sendable (_ input: [Float], _ firstEventDays: [String: Double], _ followUpDays: Double) throws -> [String: [Float]]

/// What one training example of an objective is.
public enum ExampleUnit: String, Sendable, Hashable {
    /// One manifest row: a scan.
    case scan
    /// One study: the manifest rows sharing a `study_id` (a row without one is a study of its own), their scans in
    /// manifest order, with the study's report (`report_path`, required).
    case study
}

/// How an objective turns a site's data folder into examples: the codes whose first events it reads, the unit of an
/// example, and each example's targets.
public struct SiteExampleRecipe: Sendable {
    public var trackedCodes: Set<String>
    public var unit: ExampleUnit
    public var targets: ExampleTargets
    /// Targets read from the data folder by manifest row (MEDFORM's clinical vector), added to `targets`'; nil: none.
    public var rowTargets: RowTargets?
    /// Scan examples carry the report their manifest row names, when it names a readable one (MEDFORM's evaluation
    /// labels the chest findings by them); otherwise scans carry none. Study examples always carry theirs.
    public var readsScanReports: Bool

    public init(trackedCodes: Set<String>, unit: ExampleUnit = .scan, rowTargets: RowTargets? = nil, readsScanReports: Bool = false,
                targets: @escaping ExampleTargets) {
        self.trackedCodes = trackedCodes
        self.unit = unit
        self.rowTargets = rowTargets
        self.readsScanReports = readsScanReports
        self.targets = targets
    }
}

/// An objective's targets from files of the data folder besides the images and events: read once from the folder
/// (`directory`) and the manifest's path, it returns each example's targets from its (first) manifest row.
public typealias RowTargets = @Sendable (_ directory: String, _ manifest: String) throws -> @Sendable (_ entry: CohortEntry) throws -> [String: [Float]]

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
                            targets: @escaping ExampleTargets) throws -> SiteDataset {
        try load(directory: directory, recipe: SiteExampleRecipe(trackedCodes: trackedCodes, targets: targets), preprocessing: preprocessing, cache: cache)
    }

    /// Loads the cohort as `recipe` says: one example per scan, or per study (its scans in manifest order, its report
    /// read); otherwise as `load(directory:trackedCodes:preprocessing:cache:targets:)`. A study's follow-up starts at its
    /// first row's index time; its rows must share subject and split, and name the same report.
    public static func load(directory: String, recipe: SiteExampleRecipe, preprocessing: Preprocessing, cache: PreprocessingCache? = nil) throws -> SiteDataset {
        try checkFolder(directory)
        let manifest = try CohortManifest(path: "\(directory)/\(manifestName)")
        let timelines = try SubjectTimelines(source: EHRSource.find(in: directory), trackedCodes: recipe.trackedCodes,
                                             ontology: TaskOntology.load(directory: directory))
        let rowTargets = try recipe.rowTargets?(directory, manifest.path)
        var dataset = SiteDataset(train: [], heldout: [], skippedWithoutFollowUp: [])
        for group in try groups(of: manifest, unit: recipe.unit) {
            let first = group[0]
            guard let followUp = timelines.followUp(subject: first.subjectID, indexDay: first.indexDay) else {
                dataset.skippedWithoutFollowUp.append(contentsOf: group.map(\.scanID))
                continue
            }
            let inputs = try group.map { entry in
                do {
                    return try cache?.input(path: entry.imagePath, pipeline: preprocessing) ?? preprocessing.apply(ScanImage.read(path: entry.imagePath))
                } catch let error as FedCTError {
                    throw FedCTError(error.code, "\(manifest.path):\(entry.line): scan \(entry.scanID), image \(entry.imagePath): \(error.message)")
                }
            }
            // A study's report is required; a scan's is read only when the recipe asks for it, and optional (unreadable
            // counts as absent: the preflight warns of it).
            let report: String?
            if recipe.unit == .study {
                guard let text = try manifest.reportText(first) else {
                    throw FedCTError(.invalidData, "\(manifest.path):\(first.line): study \(first.studyID ?? first.scanID) has no report_path; the job's objective trains on studies with their reports")
                }
                report = text
            } else {
                report = recipe.readsScanReports ? try? manifest.reportText(first) : nil
            }
            let example = SiteExample(
                scanID: recipe.unit == .study ? first.studyID ?? first.scanID : first.scanID, subjectID: first.subjectID, inputs: inputs,
                targets: try recipe.targets(inputs[0], followUp.firstEventDays, followUp.followUpDays).merging(try rowTargets?(first) ?? [:]) { $1 },
                firstEventDays: followUp.firstEventDays, followUpDays: followUp.followUpDays, report: report)
            switch first.split {
            case .train: dataset.train.append(example)
            case .heldout: dataset.heldout.append(example)
            }
        }
        return dataset
    }

    /// The manifest's rows as examples: one row each, or one study each (in order of each study's first row), checking
    /// that a study's rows share subject, split and report.
    static func groups(of manifest: CohortManifest, unit: ExampleUnit) throws -> [[CohortEntry]] {
        guard unit == .study else { return manifest.entries.map { [$0] } }
        var order: [String] = []
        var studies: [String: [CohortEntry]] = [:]
        for entry in manifest.entries {
            let study = entry.studyID ?? entry.scanID
            if let first = studies[study]?.first {
                for (field, same) in [("subject_id", first.subjectID == entry.subjectID), ("split", first.split == entry.split),
                                      ("report_path", first.reportPath == entry.reportPath)] where !same {
                    throw FedCTError(.invalidData, "\(manifest.path):\(entry.line): scan \(entry.scanID) of study \(study) has a different \(field) from the study's first row (line \(first.line)); a study's rows must agree")
                }
            } else {
                order.append(study)
            }
            studies[study, default: []].append(entry)
        }
        return order.map { studies[$0]! }
    }
}
