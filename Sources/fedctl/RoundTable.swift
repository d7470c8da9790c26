// RoundTable and TextTable: plain-text tables for fedctl's terminal output.
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
                "\(record.round)", "\(record.sites.count)", aggregation(record), String(format: "%.4f", record.meanTrainLoss),
                ByteCountFormatter.string(fromByteCount: record.bytesDown + record.bytesUp, countStyle: .binary),
                String(format: "%.1f", record.seconds),
            ]
        }
        let title = "job \(status.jobID) (\(status.spec.name)): \(status.state), \(status.rounds.count)/\(status.spec.rounds) rounds"
        return title + "\n" + TextTable.render(header: ["round", "sites", "aggregation", "mean train loss", "bytes moved", "seconds"], rows: rows)
    }

    /// "secure, t=2", with the sites that dropped after sharing keys, or "plain".
    static func aggregation(_ record: Fedct_V1_RoundRecord) -> String {
        guard record.securelyAggregated else { return "plain" }
        let dropped = record.droppedSites.isEmpty ? "" : ", dropped \(record.droppedSites.joined(separator: " "))"
        return "secure, t=\(record.threshold)\(dropped)"
    }
}

enum JobProgress {
    /// The job's state, the open round's sites and the committed rounds, with an ETA from the mean round time.
    static func render(_ status: Fedct_V1_JobStatus) -> String {
        let committed = status.rounds.count
        let remaining = Int(status.spec.rounds) - committed
        let meanSeconds = committed > 0 ? status.rounds.reduce(0) { $0 + $1.seconds } / Double(committed) : nil
        var lines = ["job \(status.jobID) (\(status.spec.name)): \(status.state), \(committed)/\(status.spec.rounds) rounds committed"]
        if let meanSeconds, remaining > 0, status.state == .running || status.state == .waitingForSites {
            lines.append(String(format: "ETA about %.0f s (%.1f s per round)", meanSeconds * Double(remaining), meanSeconds))
        }
        if !status.message.isEmpty { lines.append(status.message) }
        if !status.siteProgress.isEmpty {
            lines.append("")
            lines.append(TextTable.render(header: ["site", "round \(committed + 1)"], rows: status.siteProgress.map { [$0.site, $0.state] }))
        }
        if committed > 0 {
            lines.append("")
            lines.append(RoundTable.render(status).split(separator: "\n", maxSplits: 1).last.map(String.init) ?? "")
        }
        return lines.joined(separator: "\n")
    }
}
