// DataPreflight: reads a whole site data folder (manifest, MEDS events, every image) and collects every problem with its file and line.
import FedCTCore
import Foundation

/// One problem found by the preflight.
public struct PreflightProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `blocking` problems stop training (the loaders refuse the data); `warning`s are reported only.
    public enum Severity: String, Sendable, Hashable, Codable { case blocking, warning }

    public var severity: Severity
    /// The file (or folder) the problem is in.
    public var file: String
    /// The 1-based line in `file`; nil for a problem of the whole file.
    public var line: Int?
    /// What is wrong and what to do, without the file and line.
    public var message: String

    public init(_ severity: Severity, file: String, line: Int? = nil, _ message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, as compilers print it.
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Minimum, median and maximum of some values (the median of an even count is the mean of the middle two).
public struct PreflightDistribution: Sendable, Hashable, Codable {
    public var minimum: Double
    public var median: Double
    public var maximum: Double
    public var count: Int

    /// Nil for no values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
        median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        count = sorted.count
    }
}

/// What the preflight found in a site data folder: counts, distributions over the readable scans, and every problem.
/// Nothing in it leaves the site unless an operator copies it.
public struct PreflightReport: Sendable, Codable {
    public var directory: String
    /// Manifest rows read without a row error (`trainScans + heldoutScans`).
    public var scans = 0
    public var trainScans = 0
    public var heldoutScans = 0
    /// Distinct subjects among the manifest's scans.
    public var subjects = 0
    /// Scans whose image was read, whose subject has follow-up after the index time: what training would use.
    public var usableTrainScans = 0
    public var usableHeldoutScans = 0
    /// Event rows read without a row error, of which `staticEventRows` have no time.
    public var eventRows = 0
    public var staticEventRows = 0
    /// Distinct subjects and codes in the event table.
    public var eventSubjects = 0
    public var eventCodes = 0
    /// In-plane pixel spacing (x and y) in mm, over the readable scans.
    public var pixelSpacing: PreflightDistribution?
    /// Spacing between slices (z) in mm, over the readable scans.
    public var sliceThickness: PreflightDistribution?
    /// Each readable scan's minimum, mean and maximum HU, summarised over the scans.
    public var scanMinimumHU: PreflightDistribution?
    public var scanMeanHU: PreflightDistribution?
    public var scanMaximumHU: PreflightDistribution?
    /// Every problem, ordered by file, then line (a whole-file problem first).
    public var problems: [PreflightProblem] = []

    /// True when a problem would stop training: fix these before joining a job.
    public var isBlocking: Bool { problems.contains { $0.severity == .blocking } }
}

/// Checks a site data folder (`cohort.csv`, `events.csv`, every image) with the same parsers and image reader as
/// `SiteDataset.load`, but row by row, so one run lists every problem instead of stopping at the first.
public struct DataPreflight: Sendable {
    public var directory: String

    /// Checks the folder `directory` (the site config's `data.dir`).
    public init(directory: String) {
        self.directory = directory
    }

    /// Reads everything and returns the report. Reads files only; never throws: a problem becomes part of the report.
    public func run() -> PreflightReport {
        var report = PreflightReport(directory: directory)
        do {
            try SiteDataset.checkFolder(directory)
        } catch {
            report.problems.append(PreflightProblem(.blocking, file: directory, Self.message(error, dropping: "")))
            return report
        }
        let manifestPath = "\(directory)/\(SiteDataset.manifestName)"
        let entries = readManifest(manifestPath, into: &report)
        let events: EHRSource
        do {
            events = try EHRSource.find(in: directory)
        } catch {
            report.problems.append(PreflightProblem(.blocking, file: directory, Self.message(error, dropping: "")))
            return report
        }
        let recordEnd = readEvents(events, into: &report)
        if let entries { checkScans(entries, manifestPath: manifestPath, events: events, recordEnd: recordEnd, into: &report) }
        if let entries { checkReportsAndClinicalRows(entries, manifestPath: manifestPath, into: &report) }
        checkOntology(into: &report)
        report.problems = report.problems.enumerated().sorted {
            ($0.element.file, $0.element.line ?? 0, $0.offset) < ($1.element.file, $1.element.line ?? 0, $1.offset)
        }.map(\.element)
        return report
    }

    /// Manifest rows that parse (nil when the manifest cannot be read at all), reporting ragged, malformed and duplicate rows.
    private func readManifest(_ path: String, into report: inout PreflightReport) -> [CohortEntry]? {
        let table: CSVTable, ragged: [(line: Int, fieldCount: Int)], parser: CohortManifest.RowParser
        do {
            (table, ragged) = try CSVTable.lenient(path: path)
            parser = try CohortManifest.RowParser(table: table)
        } catch {
            report.problems.append(PreflightProblem(.blocking, file: path, Self.message(error, dropping: path)))
            return nil
        }
        var problems = ragged.map {
            PreflightProblem(.blocking, file: path, line: $0.line,
                             "\($0.fieldCount) fields, the header has \(table.header.count); fix the quoting or the commas on this line")
        }
        var entries: [CohortEntry] = []
        var firstLine: [String: (line: Int, fields: [String])] = [:]
        for row in table.rows {
            do {
                let entry = try parser.entry(line: row.line, fields: row.fields)
                if let first = firstLine[entry.scanID] {
                    let what = first.fields == row.fields ? "duplicates line \(first.line)" : "repeats scan_id '\(entry.scanID)' of line \(first.line) with different values"
                    problems.append(PreflightProblem(.blocking, file: path, line: row.line, "\(what); keep one row per scan"))
                    continue
                }
                firstLine[entry.scanID] = (row.line, row.fields)
                entries.append(entry)
            } catch {
                problems.append(PreflightProblem(.blocking, file: path, line: row.line, Self.message(error, dropping: "\(path):\(row.line)")))
            }
        }
        report.problems += problems
        report.scans = entries.count
        report.trainScans = entries.filter { $0.split == .train }.count
        report.heldoutScans = entries.count - report.trainScans
        report.subjects = Set(entries.map(\.subjectID).filter { !$0.isEmpty }).count
        return entries
    }

    /// Each subject's last event day (the end of follow-up, as `SubjectTimelines` computes it), reporting bad and
    /// duplicate rows of every file of the source; nil when a file cannot be read at all. Streams the rows: memory is
    /// the distinct subjects and codes plus 24–48 bytes a row for the duplicate check (`RowHashTable`).
    private func readEvents(_ source: EHRSource, into report: inout PreflightReport) -> [String: Double]? {
        var reader = EHREventReader(source: source)
        reader.detectsDuplicateRows = true
        var ends: [Double] = []
        var unreadable = false
        try? reader.forEachEvent(problems: { problem in
            switch problem.kind {
            case .fieldCount:
                report.problems.append(PreflightProblem(.blocking, file: problem.file, line: problem.line,
                                                        problem.message + "; fix the quoting or the commas on this line"))
            case .duplicate:
                report.problems.append(PreflightProblem(.warning, file: problem.file, line: problem.line,
                                                        problem.message + "; the event is counted once per row, so delete the copy if it is one"))
            case .invalid:
                unreadable = unreadable || problem.line == nil
                report.problems.append(PreflightProblem(.blocking, file: problem.file, line: problem.line,
                                                        problem.message + (problem.line == nil ? "" : "; fix or delete this row")))
            }
        }) { event, _ in
            report.eventRows += 1
            guard let day = event.day else {
                report.staticEventRows += 1
                return
            }
            let subject = Int(event.subject)
            if subject >= ends.count { ends += repeatElement(-.infinity, count: subject + 1 - ends.count) }
            ends[subject] = max(ends[subject], day)
        }
        report.eventSubjects = reader.vocabulary.subjects.count
        report.eventCodes = reader.vocabulary.codes.count
        guard !unreadable else { return nil }
        var recordEnd: [String: Double] = [:]
        for (subject, end) in ends.enumerated() where end > -.infinity { recordEnd[reader.vocabulary.subjects.string(Int32(subject))] = end }
        return recordEnd
    }

    /// Subjects without events, scans without follow-up, and every image read through `ScanImage.read(path:)`.
    private func checkScans(_ entries: [CohortEntry], manifestPath: String, events: EHRSource, recordEnd: [String: Double]?,
                            into report: inout PreflightReport) {
        var spacing: [Double] = [], thickness: [Double] = [], minimum: [Double] = [], mean: [Double] = [], maximum: [Double] = []
        var reportedSubjects = Set<String>()
        for entry in entries {
            var usable = true
            if entry.subjectID.isEmpty {
                report.problems.append(PreflightProblem(.warning, file: manifestPath, line: entry.line,
                                                        "scan \(entry.scanID) has no subject_id, so no outcomes; fill in the patient's id as in \(events)"))
                usable = false
            } else if let recordEnd {
                if let end = recordEnd[entry.subjectID] {
                    if end <= entry.indexDay {
                        report.problems.append(PreflightProblem(.warning, file: manifestPath, line: entry.line,
                                                                "scan \(entry.scanID): subject \(entry.subjectID) has no event after the index time \(EventTime.iso8601(days: entry.indexDay)) (last event \(EventTime.iso8601(days: end))), so the scan is skipped; check index_time or export later events"))
                        usable = false
                    }
                } else {
                    if reportedSubjects.insert(entry.subjectID).inserted {
                        report.problems.append(PreflightProblem(.warning, file: manifestPath, line: entry.line,
                                                                "subject \(entry.subjectID) (scan \(entry.scanID)) has no dated event in \(events), so its scans are skipped; export the patient's records or check the id"))
                    }
                    usable = false
                }
            }
            do {
                let volume = try ScanImage.read(path: entry.imagePath).volume
                let statistics = VoxelStatistics(volume.voxels)
                spacing += [volume.spacing.x, volume.spacing.y]
                thickness.append(volume.spacing.z)
                if statistics.count > 0 {
                    minimum.append(statistics.minimum)
                    mean.append(statistics.mean)
                    maximum.append(statistics.maximum)
                }
            } catch {
                report.problems.append(PreflightProblem(.blocking, file: manifestPath, line: entry.line,
                                                        "scan \(entry.scanID), image \(entry.imagePath): \(Self.message(error, dropping: entry.imagePath))"))
                usable = false
            }
            if usable, recordEnd != nil {
                switch entry.split {
                case .train: report.usableTrainScans += 1
                case .heldout: report.usableHeldoutScans += 1
                }
            }
        }
        if recordEnd != nil, report.usableTrainScans == 0 {
            report.problems.append(PreflightProblem(.blocking, file: manifestPath,
                                                    "no training scan is usable (split train, readable image, events after index_time); mark scans as train or fix the problems above"))
        }
        report.pixelSpacing = PreflightDistribution(spacing)
        report.sliceThickness = PreflightDistribution(thickness)
        report.scanMinimumHU = PreflightDistribution(minimum)
        report.scanMeanHU = PreflightDistribution(mean)
        report.scanMaximumHU = PreflightDistribution(maximum)
    }

    /// The error's message without a leading `prefix: ` (the problem carries the file and line itself).
    static func message(_ error: any Error, dropping prefix: String) -> String {
        let text = (error as? FedCTError)?.message ?? "\(error)"
        return !prefix.isEmpty && text.hasPrefix(prefix + ": ") ? String(text.dropFirst(prefix.count + 2)) : text
    }
}
