// ExperimentTable+Rendering: the table as text cells, Markdown and CSV (rows, gains, learning curves).
import FedCTCore
import FedCTTraining
import Foundation

extension ExperimentTable {
    /// The summary's columns: arm, cohort, task, one per metric some task has, patients, events.
    public var summaryHeader: [String] { ["arm", "cohort", "task"] + metrics.map(\.title) + ["n", "events"] }

    /// The metrics some task of the table has, in `ExperimentMetric` order.
    var metrics: [ExperimentMetric] { ExperimentMetric.allCases.filter { metric in tasks.contains { $0.metrics.contains(metric) } } }

    /// One summary line per arm × cohort × task (only `cohort`'s when given); each metric of the task as
    /// "estimate [lower, upper]", "n/a" when undefined, empty for metrics the task does not have.
    public func summaryCells(cohort only: String? = nil) -> [[String]] {
        arms.flatMap { arm in
            cohorts.filter { only == nil || $0 == only }.flatMap { cohort in
                tasks.compactMap { task -> [String]? in
                    let taskRows = task.metrics.compactMap { row(arm: arm.label, cohort: cohort, task: task.name, metric: $0) }
                    guard let first = taskRows.first else { return nil }
                    let cells = metrics.map { metric in
                        taskRows.first { $0.metric == metric }.map { row in row.interval.map(Self.format) ?? "n/a" } ?? ""
                    }
                    return [arm.label, cohort, task.name] + cells + ["\(first.patients)", "\(first.events)"]
                }
            }
        }
    }

    /// The gains' columns.
    public static let gainHeader = ["arm", "task", "metric", "gain over random init"]

    /// One line per arm × task and per arm × mean: "+12.3 % [+4.1 %, +20.0 %]".
    public var gainCells: [[String]] {
        gains.map { gain in
            let text = gain.interval.map { String(format: "%+.1f %% [%+.1f %%, %+.1f %%]", 100 * $0.estimate, 100 * $0.lower, 100 * $0.upper) } ?? "n/a"
            return [gain.arm, gain.task, gain.metric.title, text + (gain.interval != nil && gain.note != nil ? " (\(gain.note!))" : "")]
        }
    }

    /// One line per paired difference the checks use: its interval and its precision against the target.
    public var differenceLines: [String] {
        differences.map { difference in
            let value = difference.interval.map(Self.format) ?? "undefined"
            let precision = difference.precision.map { "; half-width \($0.summary)" } ?? ""
            return "\(difference.name) (\(difference.cohort), \(difference.task), \(difference.metric.title)): \(value)\(precision)"
        }
    }

    /// "training 120.3 s, embedding 10.2 s, …".
    public var phaseLine: String { phases.map { $0.name + String(format: " %.1f s", $0.seconds) }.joined(separator: ", ") }

    /// The summary (every cohort), the gains, the checks and the differences' precision, as Markdown.
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        func table(_ header: [String], _ cells: [[String]]) -> String { line(header) + line(header.map { _ in "---" }) + cells.map(line).joined() }
        var text = table(summaryHeader, summaryCells())
        text += "\nMeans over \(seeds) training seed(s) with 95 % two-level bootstrap intervals (seeds, then held-out patients); IBS: lower is better.\n\n"
        text += table(Self.gainHeader, gainCells)
        text += "\nRelative gain (arm − random init) / random init on the pooled held-out patients, paired intervals.\n\n"
        text += table(["check", "numbers", "verdict"], checks.map { [$0.statement, $0.detail, $0.verdict] })
        text += "\n" + differenceLines.map { "- \($0)\n" }.joined()
        text += "\nWall time \(String(format: "%.0f", seconds)) s: \(phaseLine).\n"
        return text
    }

    /// The CSV header of ``csv``.
    public static let csvHeader = "arm,cohort,task,metric,estimate,lower,upper,n,events,seeds,note"

    /// One CSV line per arm × cohort × task × metric, then one per gain (cohort `pooled`, metric `gain_<metric>`, as a
    /// fraction); an undefined value has empty numbers and a note.
    public var csv: String {
        let metricLines = rows.map { row in
            Self.csvLine([row.arm, row.cohort, row.task, row.metric.rawValue], row.interval, ["\(row.patients)", "\(row.events)", "\(seeds)", row.note ?? ""])
        }
        let gainLines = gains.map { gain in
            Self.csvLine([gain.arm, "pooled", gain.task, "gain_" + gain.metric.rawValue], gain.interval, ["", "", "\(seeds)", gain.note ?? ""])
        }
        return ([Self.csvHeader] + metricLines + gainLines).joined(separator: "\n") + "\n"
    }

    /// The CSV header of ``curvesCSV``.
    public static let curvesCSVHeader = "arm,seed,round,train_loss,pooled_harrell_c"

    /// The federated arms' learning curves, one line per arm × seed × round.
    public var curvesCSV: String {
        let lines = curves.map { point in
            "\(Self.quoted(point.arm)),\(point.seed),\(point.round),\(String(format: "%.6f", point.trainLoss)),"
                + (point.pooledHarrellC.map { String(format: "%.6f", $0) } ?? "")
        }
        return ([Self.curvesCSVHeader] + lines).joined(separator: "\n") + "\n"
    }

    static func format(_ interval: BootstrapInterval) -> String { String(format: "%.3f [%.3f, %.3f]", interval.estimate, interval.lower, interval.upper) }

    static func quoted(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func csvLine(_ head: [String], _ interval: BootstrapInterval?, _ tail: [String]) -> String {
        let numbers = interval.map { [$0.estimate, $0.lower, $0.upper].map { String(format: "%.6f", $0) } } ?? ["", "", ""]
        return (head + numbers + tail).map(quoted).joined(separator: ",")
    }
}
