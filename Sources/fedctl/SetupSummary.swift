// SetupSummary: the lines `fedctl job status` prints about a job's setup stage (derived tasks, MEDFORM's clinical statistics) and its start.
import FedCTProto
import Foundation

enum SetupSummary {
    /// How many tasks shown by name (the JSON status has all of them).
    static let shownTasks = 12

    /// Nothing for a job with fixed tasks; "setup: pending" before the stage commits; then what it derived.
    static func render(_ status: Fedct_V1_JobStatus) -> [String] {
        if status.spec.objective == "medform" && status.spec.medform.stage == 2 { return medform(status) }
        let tte = status.spec.tte
        guard tte.deriveTasks else { return [] }
        guard !tte.taskCodes.isEmpty else { return ["setup: tasks not derived yet (the setup stage runs before round 1)"] }
        let setup = status.setup
        let edges = tte.pieceEdgesDays.map { String(format: "%.0f", $0) }.joined(separator: ", ")
        var lines = [
            "setup: \(tte.taskCodes.count) tasks from \(setup.candidates) candidate codes over \(setup.patients) patients at "
                + "\(setup.sites.joined(separator: ", ")) (\(setup.securelyAggregated ? "secure sums" : "plain sums"), \(String(format: "%.1f", setup.seconds)) s)",
            "time pieces end at \(edges) days",
        ]
        let rows = tte.taskCodes.prefix(shownTasks).enumerated().map { index, code in
            [code, index < setup.taskPrevalence.count ? String(format: "%.3f", setup.taskPrevalence[index]) : "",
             index < tte.taskLog2BaseHazard.count ? String(format: "%.3f", pow(2, Double(tte.taskLog2BaseHazard[index]))) : ""]
        }
        lines.append(TextTable.render(header: ["task (by entropy)", "prevalence", "base hazard / year"], rows: rows))
        if tte.taskCodes.count > shownTasks { lines.append("… and \(tte.taskCodes.count - shownTasks) more (--json lists all)") }
        return lines
    }

    /// A MEDFORM stage-2 job: the stage-1 model (and job) it starts from, then its clinical columns' consortium statistics.
    static func medform(_ status: Fedct_V1_JobStatus) -> [String] {
        let medform = status.spec.medform
        let job = medform.stage1Job.isEmpty ? "" : " (job \(medform.stage1Job))"
        var lines = ["starts from stage-1 model \(medform.stage1ModelSha256)\(job)"]
        guard medform.clinicalMean.count == medform.clinicalColumns.count else {
            return lines + ["setup: clinical statistics not derived yet (the setup stage runs before round 1)"]
        }
        let setup = status.setup
        lines.append("setup: clinical standardisation over \(setup.patients) train scans at \(setup.sites.joined(separator: ", ")) "
            + "(\(setup.securelyAggregated ? "secure sums" : "plain sums"), \(String(format: "%.1f", setup.seconds)) s)")
        let rows = medform.clinicalColumns.indices.map { [medform.clinicalColumns[$0], String(format: "%.4g", medform.clinicalMean[$0]), String(format: "%.4g", medform.clinicalStd[$0])] }
        lines.append(TextTable.render(header: ["clinical column", "mean", "standard deviation"], rows: rows))
        return lines
    }
}
