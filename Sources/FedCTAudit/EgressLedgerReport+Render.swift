// EgressLedgerReport+Render: the report as plain text and as one self-contained HTML page (inline CSS, no scripts).
import Foundation

extension EgressLedgerReport {
    /// The report as text for a terminal.
    public var text: String {
        var lines: [String] = []
        lines.append("egress ledger of \(site ?? "an unknown site"): \(entries) entries, \(firstTime ?? "–") to \(lastTime ?? "–")")
        lines.append(valid ? "verification: VALID (chain, signatures, \(receiptsVerified) coordinator receipts, spends, policy, masking)"
                           : "verification: FAILED — \(problem ?? "")")
        lines.append("policy in force: " + policy.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        lines.append("")
        for round in rounds {
            lines.append(round.job == "—" ? "job-agnostic calls" : "job \(round.job), round \(round.round.map(String.init) ?? "–")")
            lines += round.spends.map { "  privacy spend, \($0)" }
            for kind in round.kinds {
                lines.append("  \(kind.kind): \(kind.calls) call(s), \(kind.sent) sent, \(kind.failed) failed, \(kind.bytes) bytes, \(kind.receipts) receipt(s); sha256 \(kind.hashes.prefix(3).joined(separator: " "))\(kind.hashes.count > 3 ? " …" : "")")
                for content in kind.contents.prefix(5) { lines.append("    \(content)") }
            }
        }
        lines.append("")
        lines.append("differential privacy (ε at δ = \(delta)): " + (jobEpsilon.isEmpty ? "no spends" :
            jobEpsilon.map { String(format: "%@ (%@, %d spends) ε = %.4g", $0.job, $0.level, $0.spends, $0.epsilon) }.joined(separator: "; ")
            + String(format: "; total ε = %.4g", totalEpsilon)))
        if !declines.isEmpty { lines.append("declined jobs:"); lines += declines.map { "  \($0)" } }
        if !uniformity.isEmpty { lines.append("masked payloads (χ² uniformity):"); lines += uniformity.map { "  \($0)" } }
        lines.append(warnings.isEmpty ? "warnings: none" : "warnings (\(warnings.count)):")
        lines += warnings.map { "  \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The report as one self-contained HTML page a reviewer can file.
    public var html: String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var body = "<h1>Egress ledger of \(escape(site ?? "an unknown site"))</h1>\n"
        body += "<p>\(entries) entries, \(escape(firstTime ?? "–")) to \(escape(lastTime ?? "–")).</p>\n"
        body += valid ? "<p class=\"ok\">Verification: VALID — chain, signatures, \(receiptsVerified) coordinator receipts, spends, policy, masking.</p>\n"
                      : "<p class=\"bad\">Verification: FAILED — \(escape(problem ?? ""))</p>\n"
        body += "<h2>Policy in force</h2>\n<table><tr><th>setting</th><th>value</th></tr>\n"
        body += policy.sorted { $0.key < $1.key }.map { "<tr><td>\(escape($0.key))</td><td>\(escape($0.value))</td></tr>" }.joined(separator: "\n")
        body += "</table>\n<h2>What left the site</h2>\n<table><tr><th>job</th><th>round</th><th>kind</th><th>calls</th><th>sent</th><th>failed</th><th>bytes</th><th>receipts</th><th>sha256</th><th>content</th></tr>\n"
        for round in rounds {
            for spend in round.spends {
                body += "<tr><td>\(escape(round.job))</td><td>\(round.round.map(String.init) ?? "")</td><td>privacy spend</td><td colspan=\"6\"></td><td>\(escape(spend))</td></tr>\n"
            }
            for kind in round.kinds {
                body += "<tr><td>\(escape(round.job))</td><td>\(round.round.map(String.init) ?? "")</td><td>\(escape(kind.kind))</td><td>\(kind.calls)</td><td>\(kind.sent)</td><td>\(kind.failed)</td><td>\(kind.bytes)</td><td>\(kind.receipts)</td><td><code>\(escape(kind.hashes.prefix(3).joined(separator: " ")))</code></td><td>\(kind.contents.prefix(5).map(escape).joined(separator: "<br>"))</td></tr>\n"
            }
        }
        body += "</table>\n<h2>Differential privacy (ε at δ = \(delta))</h2>\n<table><tr><th>job</th><th>level</th><th>spends</th><th>ε</th></tr>\n"
        body += jobEpsilon.map { String(format: "<tr><td>%@</td><td>%@</td><td>%d</td><td>%.4g</td></tr>", escape($0.job), $0.level, $0.spends, $0.epsilon) }.joined(separator: "\n")
        body += String(format: "<tr><th colspan=\"3\">total</th><th>%.4g</th></tr></table>\n", totalEpsilon)
        for (title, items) in [("Declined jobs", declines), ("Masked payloads (χ² uniformity)", uniformity), ("Warnings", warnings)] {
            body += "<h2>\(title)</h2>\n" + (items.isEmpty ? "<p>none</p>\n" : "<ul>\n" + items.map { "<li>\(escape($0))</li>" }.joined(separator: "\n") + "\n</ul>\n")
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>FedCT egress ledger — \(escape(site ?? ""))</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin:1em 0}\
            td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#eee}\
            code{font-size:.85em}.ok{color:#075;font-weight:bold}.bad{color:#b00;font-weight:bold}</style></head>
            <body>
            \(body)</body></html>

            """
    }
}
