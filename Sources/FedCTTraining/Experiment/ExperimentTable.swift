// ExperimentTable: the experiment's results — one row per arm × cohort × task × metric, with intervals, counts and the shape checks.
public import FedCTCore
import Foundation

/// One metric of one arm on one cohort and task.
public struct ExperimentRow: Sendable, Equatable {
    public var arm: String
    public var cohort: String
    public var task: String
    public var metric: ExperimentMetric
    /// The metric and its 95 % bootstrap interval; nil when it is undefined on this cohort (see `note`).
    public var interval: BootstrapInterval?
    public var patients: Int
    public var events: Int
    /// Why the metric is missing (e.g. no patient with a known one-year status had the event).
    public var note: String?
}

/// A trained (or loaded) arm and the seconds its training took (0 for random init, pre-trained models and the oracle).
public struct ExperimentArm: Sendable, Equatable {
    public var label: String
    public var trainingSeconds: Double
}

/// One of the "expected shape" statements, with the numbers behind it.
public struct ExperimentCheck: Sendable, Equatable {
    public var statement: String
    public var detail: String
    /// nil when the numbers needed are missing.
    public var passed: Bool?

    /// "PASS", "NOT MET" or "N/A".
    public var verdict: String { passed.map { $0 ? "PASS" : "NOT MET" } ?? "N/A" }
}

/// The experiment table.
public struct ExperimentTable: Sendable {
    public var tasks: [String]
    public var cohorts: [String]
    public var arms: [ExperimentArm] = []
    public var rows: [ExperimentRow] = []
    public var checks: [ExperimentCheck] = []
    /// Wall time of the whole experiment.
    public var seconds = 0.0

    public init(tasks: [String], cohorts: [String]) {
        self.tasks = tasks
        self.cohorts = cohorts
    }

    /// Scores `predictions` (task → prediction) on every cohort with every metric and appends the rows.
    mutating func add(arm label: String, predictions: [String: ExperimentPrediction], scorer: ExperimentScorer, trainingSeconds: Double) {
        arms.append(ExperimentArm(label: label, trainingSeconds: trainingSeconds))
        for cohort in cohorts {
            for task in tasks {
                let counts = scorer.counts(cohort: cohort, task: task)
                for metric in ExperimentMetric.allCases {
                    var row = ExperimentRow(arm: label, cohort: cohort, task: task, metric: metric, patients: counts.patients, events: counts.events)
                    do {
                        row.interval = try scorer.interval(metric, predictions[task]!, cohort: cohort, task: task)
                    } catch {
                        row.note = (error as? FedCTError)?.message ?? "\(error)"
                    }
                    rows.append(row)
                }
            }
        }
    }

    /// The row of `arm`, `cohort`, `task` and `metric`.
    public func row(arm: String, cohort: String, task: String, metric: ExperimentMetric) -> ExperimentRow? {
        rows.first { $0.arm == arm && $0.cohort == cohort && $0.task == task && $0.metric == metric }
    }

    /// The estimate of a row, when it has one.
    public func estimate(arm: String, cohort: String, task: String, metric: ExperimentMetric) -> Double? {
        row(arm: arm, cohort: cohort, task: task, metric: metric)?.interval?.estimate
    }

    // MARK: Rendering

    /// The summary's columns: arm, cohort, task, one per metric, patients, events.
    public var summaryHeader: [String] { ["arm", "cohort", "task"] + ExperimentMetric.allCases.map(\.title) + ["n", "events"] }

    /// One summary line per arm × cohort × task; each metric as "estimate [lower, upper]", "n/a" when undefined.
    public var summaryCells: [[String]] {
        arms.flatMap { arm in
            cohorts.flatMap { cohort in
                tasks.compactMap { task -> [String]? in
                    let metricRows = ExperimentMetric.allCases.compactMap { row(arm: arm.label, cohort: cohort, task: task, metric: $0) }
                    guard let first = metricRows.first else { return nil }
                    let cells = metricRows.map { row in
                        row.interval.map { String(format: "%.3f [%.3f, %.3f]", $0.estimate, $0.lower, $0.upper) } ?? "n/a"
                    }
                    return [arm.label, cohort, task] + cells + ["\(first.patients)", "\(first.events)"]
                }
            }
        }
    }

    /// The summary as a Markdown table, followed by the checks.
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        var text = line(summaryHeader) + line(summaryHeader.map { _ in "---" }) + summaryCells.map(line).joined()
        text += "\nEstimates with 95 % bootstrap intervals over held-out patients (IBS: lower is better).\n\n"
        text += line(["expected shape", "numbers", "verdict"]) + line(["---", "---", "---"])
        text += checks.map { line([$0.statement, $0.detail, $0.verdict]) }.joined()
        return text
    }

    /// The CSV header of ``csv``.
    public static let csvHeader = "arm,cohort,task,metric,estimate,lower,upper,n,events,note"

    /// One CSV line per arm × cohort × task × metric; an undefined metric has empty numbers and a note.
    public var csv: String {
        func quoted(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        let lines = rows.map { row in
            let numbers = row.interval.map { [$0.estimate, $0.lower, $0.upper].map { String(format: "%.6f", $0) } } ?? ["", "", ""]
            return ([row.arm, row.cohort, row.task, row.metric.rawValue] + numbers + ["\(row.patients)", "\(row.events)", row.note ?? ""]).map(quoted)
                .joined(separator: ",")
        }
        return ([Self.csvHeader] + lines).joined(separator: "\n") + "\n"
    }
}
