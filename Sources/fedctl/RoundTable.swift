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
    /// One row per committed round: sites, mean train loss, bytes moved, seconds.
    static func render(_ status: Fedct_V1_JobStatus) -> String {
        let rows = status.rounds.map { record in
            [
                "\(record.round)", "\(record.sites.count)", String(format: "%.4f", record.meanTrainLoss),
                ByteCountFormatter.string(fromByteCount: record.bytesDown + record.bytesUp, countStyle: .binary),
                String(format: "%.1f", record.seconds),
            ]
        }
        let title = "job \(status.jobID) (\(status.spec.name)): \(status.state), \(status.rounds.count)/\(status.spec.rounds) rounds"
        return title + "\n" + TextTable.render(header: ["round", "sites", "mean train loss", "bytes moved", "seconds"], rows: rows)
    }
}
