// EvaluationTable: `fedctl job status`'s evaluation section — each metric per site and pooled, with its counts.
import FedCTCore
import FedCTProto
import Foundation

enum EvaluationTable {
    /// One table per evaluation: a row per metric, a column per site and the pooled value (scan-weighted mean of the sites').
    static func render(_ status: Fedct_V1_JobStatus) -> String {
        status.evaluations.map { record in
            let reports = record.sites.sorted { $0.site < $1.site }
            let names = EvaluationReport.orderedNames.filter { name in reports.contains { $0.metrics[name] != nil || $0.suppressed.contains(name) } }
            let pooled = Dictionary(uniqueKeysWithValues: record.pooled.map { ($0.name, $0) })
            let rows = names.map { name in
                [name] + reports.map { site in
                    guard let value = site.metrics[name] else { return site.suppressed.contains(name) ? "suppressed" : "-" }
                    return cell(value, scans: site.counts[name]?.scans ?? 0, positives: site.counts[name]?.positives ?? 0)
                } + [pooled[name].map { cell($0.value, scans: $0.scans, positives: $0.positives, sites: Int($0.sites)) } ?? "-"]
            }
            let title = """
                evaluation of round \(record.round) (model \(record.modelSha256.prefix(12)), min cohort \(record.minCohort)): \
                probes fitted on each site's train scans, scored on its held-out scans; n = held-out scans, + = positives (events); \
                pooled = mean of the sites' values weighted by their held-out scans (not an exact pooled AUROC or C-index)
                """
            return title + "\n" + TextTable.render(header: ["metric"] + reports.map(\.site) + ["pooled"], rows: rows)
        }.joined(separator: "\n\n")
    }

    /// "0.712 (n=25, +8)", or for a pooled value "0.712 (n=40, +13, 2 sites)".
    static func cell(_ value: Double, scans: Int64, positives: Int64, sites: Int? = nil) -> String {
        String(format: "%.3f (n=%lld, +%lld", value, scans, positives) + (sites.map { ", \($0) site\($0 == 1 ? "" : "s"))" } ?? ")")
    }
}
