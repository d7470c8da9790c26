// RoundTable, TextTable and JobProgress: plain-text tables and the live job view for fedctl's terminal output.
import FedCTProto
import Foundation

enum TextTable {
    /// Left-aligned columns separated by two spaces, with a rule under the header.
    static func render(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}

enum RoundTable {
    /// One row per committed round: sites, how the sum was formed, mean train loss, bytes moved, seconds.
    static func render(_ status: Fedct_V1_JobStatus) -> String {
        let rows = status.rounds.map { record in
            [
                "\(record.round)", "\(record.sites.count)", aggregation(record), record.hasMeanTrainLoss ? String(format: "%.4f", record.meanTrainLoss) : "–",
                ByteCountFormatter.string(fromByteCount: record.bytesDown + record.bytesUp, countStyle: .binary),
                String(format: "%.1f", record.seconds),
            ]
        }
        let title = "job \(status.jobID) (\(status.spec.name)): \(status.state), \(status.rounds.count)/\(status.spec.rounds) rounds"
        return ([title] + SetupSummary.render(status)).joined(separator: "\n") + "\n" + TextTable.render(header: ["round", "sites", "aggregation", "mean train loss", "bytes moved", "seconds"], rows: rows)
    }

    /// The committed rounds, then the evaluations (per site and pooled) if any: what `job status` and `job wait` print.
    static func renderWithEvaluations(_ status: Fedct_V1_JobStatus) -> String {
        status.evaluations.isEmpty ? render(status) : render(status) + "\n\n" + EvaluationTable.render(status)
    }

    /// "secure, t=2", with the sites that dropped after sharing keys, or "plain".
    static func aggregation(_ record: Fedct_V1_RoundRecord) -> String {
        guard record.securelyAggregated else { return "plain" }
        let dropped = record.droppedSites.isEmpty ? "" : ", dropped \(record.droppedSites.joined(separator: " "))"
        return "secure, t=\(record.threshold)\(dropped)"
    }
}

enum JobProgress {
    /// The full view: state, round, phase, elapsed and ETA, the open round's bytes, a table of sites, the committed rounds.
    static func render(_ status: Fedct_V1_JobStatus) -> String {
        let committed = status.rounds.count
        var lines = ["job \(status.jobID) (\(status.spec.name)): \(status.state), \(committed)/\(status.spec.rounds) rounds committed"]
        if isLive(status.state) {
            lines.append("round \(committed + 1)\(status.attempt > 1 ? " (attempt \(status.attempt))" : ""): \(status.phase), "
                + "\(seconds(status.roundElapsedSeconds)) in, ↓ \(bytes(status.roundBytesDown)) ↑ \(bytes(status.roundBytesUp))")
            lines.append("elapsed \(seconds(status.elapsedSeconds))" + (eta(status).map { ", ETA \(seconds($0)) (\(seconds(meanRoundSeconds(status) ?? 0)) per round)" } ?? ""))
        }
        if !status.message.isEmpty { lines.append(status.message) }
        if !status.siteProgress.isEmpty {
            lines.append("")
            lines.append(TextTable.render(header: ["site", "round \(committed + 1)", "down", "up", "last heard"], rows: status.siteProgress.map {
                [$0.site, $0.state, bytes($0.bytesDown), bytes($0.bytesUp), "\(seconds($0.secondsSinceSeen)) ago"]
            }))
        }
        if committed > 0 {
            lines.append("")
            lines.append(RoundTable.render(status).split(separator: "\n", maxSplits: 1).last.map(String.init) ?? "")
        }
        return lines.joined(separator: "\n")
    }

    /// One line for logs and pipes: state, round, phase, bytes, each site's state, ETA.
    static func line(_ status: Fedct_V1_JobStatus) -> String {
        var parts = ["\(status.jobID) \(status.state) \(status.rounds.count)/\(status.spec.rounds) rounds"]
        if isLive(status.state) {
            parts.append("round \(status.rounds.count + 1) attempt \(max(status.attempt, 1)): \(status.phase)")
            parts.append("↓ \(bytes(status.roundBytesDown)) ↑ \(bytes(status.roundBytesUp))")
            if !status.siteProgress.isEmpty { parts.append(status.siteProgress.map { "\($0.site) \($0.state)" }.joined(separator: ", ")) }
            if let eta = eta(status) { parts.append("ETA \(seconds(eta))") }
        } else if !status.message.isEmpty {
            parts.append(status.message)
        }
        return parts.joined(separator: "; ")
    }

    /// Mean seconds of the committed rounds, if any.
    static func meanRoundSeconds(_ status: Fedct_V1_JobStatus) -> Double? {
        status.rounds.isEmpty ? nil : status.rounds.reduce(0) { $0 + $1.seconds } / Double(status.rounds.count)
    }

    /// Seconds until the last round commits: the mean committed round time for each round left, less the open round's time so far.
    static func eta(_ status: Fedct_V1_JobStatus) -> Double? {
        guard isLive(status.state), let mean = meanRoundSeconds(status) else { return nil }
        let remaining = Int(status.spec.rounds) - status.rounds.count
        return remaining > 0 ? max(0, mean * Double(remaining) - status.roundElapsedSeconds) : nil
    }

    /// The exit status for a job that ended (0 succeeded, 1 failed, 2 cancelled), or nil while it is queued or live.
    static func exitCode(_ state: Fedct_V1_JobStatus.State) -> Int32? {
        switch state {
        case .succeeded: 0
        case .failed: 1
        case .cancelled: 2
        default: nil
        }
    }

    static func isLive(_ state: Fedct_V1_JobStatus.State) -> Bool { state == .running || state == .waitingForSites }

    static func bytes(_ count: Int64) -> String { ByteCountFormatter.string(fromByteCount: count, countStyle: .binary) }

    static func seconds(_ value: Double) -> String {
        value < 120 ? String(format: "%.0f s", value) : value < 7200 ? String(format: "%.0f min %02.0f s", (value / 60).rounded(.down), value.truncatingRemainder(dividingBy: 60))
            : String(format: "%.0f h %02.0f min", (value / 3600).rounded(.down), (value / 60).truncatingRemainder(dividingBy: 60).rounded(.down))
    }
}
