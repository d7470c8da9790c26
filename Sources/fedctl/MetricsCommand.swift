// fedctl metrics: survival and classification metrics with bootstrap intervals from a CSV of predictions.
import ArgumentParser
import FedCTCore
import FedCTData
import Foundation

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Score predictions: Harrell's and Uno's C, time-dependent AUC, Brier score and IBS, AUROC, with bootstrap intervals.",
        discussion: """
            The CSV has a header row. Columns time,event,risk (event 1/0 or true/false, higher risk = earlier \
            event) give Harrell's C and Uno's C, and AUC(t) at --times; optional columns survival@T (the predicted \
            P(T > t) at time T, e.g. survival@365) add the Brier score at each T and the integrated Brier score \
            (and AUC(t) at those T when --times is not given). Columns label,score (label 1/0) give the AUROC. \
            Other columns are ignored; numbers only, no quoting.
            """)

    @Option(name: .long, help: "The predictions CSV.") var input: String
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Option(name: .long, help: "Bootstrap resamples for the 95% intervals (0: none).") var bootstrap = 1000
    @Option(name: .long, help: "Seed of the bootstrap resampling.") var seed: UInt64 = 1
    @Option(name: .long, help: "Truncation time τ of Uno's C, in the CSV's time unit (default: none).") var tau: Double?
    @Option(name: .long, help: "Comma-separated times for AUC(t) (default: the survival@T times).") var times: String?
    @Option(name: .long, help: .hidden) var benchmarkRepeats: Int?

    func run() throws {
        let table = try PredictionsTable(contentsOf: input)
        if let benchmarkRepeats {
            return try benchmark(table, repeats: benchmarkRepeats)
        }
        var results: [MetricResult] = []
        if let survival = table.survival {
            results += try survivalMetrics(survival)
        }
        if let classification = table.classification {
            results.append(evaluate("auroc", "AUROC", rows: classification.label.count) { rows in
                try AUROC.value(labels: rows.map { classification.label[$0] }, scores: rows.map { classification.score[$0] })
            })
        }
        json ? try printJSON(table, results) : printTable(table, results)
        if !results.contains(where: { $0.value != nil }) { throw ExitCode.failure }
    }

    private func survivalMetrics(_ data: PredictionsTable.Survival) throws -> [MetricResult] {
        let n = data.time.count
        func pick<T>(_ values: [T], _ rows: [Int]) -> [T] { rows.map { values[$0] } }
        var results = [
            evaluate("harrell_c", "Harrell's C", rows: n) { rows in
                try ConcordanceIndex.harrellConcordance(time: pick(data.time, rows), event: pick(data.event, rows), risk: pick(data.risk, rows)).value
            },
            evaluate("uno_c", tau.map { "Uno's C (τ = \(Self.format($0)))" } ?? "Uno's C (no τ)", rows: n) { rows in
                try ConcordanceIndex.uno(time: pick(data.time, rows), event: pick(data.event, rows), risk: pick(data.risk, rows), tau: tau).value
            },
        ]
        let aucTimes = try times.map(Self.parseTimes) ?? data.survivalTimes
        for (k, t) in aucTimes.enumerated() {
            results.append(evaluate("auc@\(Self.format(t))", "AUC(\(Self.format(t)))", rows: n) { rows in
                try TimeDependentAUC.cumulativeDynamic(time: pick(data.time, rows), event: pick(data.event, rows), risk: pick(data.risk, rows), at: [t]).auc[0]
            })
            if k == aucTimes.count - 1, k > 0 {
                results.append(evaluate("mean_auc", "mean AUC(t)", rows: n) { rows in
                    try TimeDependentAUC.cumulativeDynamic(time: pick(data.time, rows), event: pick(data.event, rows), risk: pick(data.risk, rows), at: aucTimes).mean
                })
            }
        }
        for (k, t) in data.survivalTimes.enumerated() {
            results.append(evaluate("brier@\(Self.format(t))", "Brier(\(Self.format(t)))", rows: n) { rows in
                try BrierScore.scores(time: pick(data.time, rows), event: pick(data.event, rows), survival: rows.map { [data.survival[$0][k]] }, at: [t])[0]
            })
        }
        if data.survivalTimes.count >= 2 {
            results.append(evaluate("ibs", "integrated Brier", rows: n) { rows in
                try BrierScore.integrated(time: pick(data.time, rows), event: pick(data.event, rows), survival: pick(data.survival, rows), at: data.survivalTimes)
            })
        }
        return results
    }

    /// The metric on all rows and, with --bootstrap > 0, its interval; an undefined metric becomes a row with the reason.
    private func evaluate(_ key: String, _ name: String, rows: Int, _ statistic: ([Int]) throws -> Double) -> MetricResult {
        var result = MetricResult(key: key, name: name)
        do {
            result.value = try statistic(Array(0..<rows))
        } catch {
            result.error = "\(error)"
            return result
        }
        guard bootstrap > 0 else { return result }
        var generator = SeededGenerator(seed: seed, stream: key)
        do {
            result.interval = try Bootstrap.percentileInterval(rows: rows, replicates: bootstrap, generator: &generator, statistic: statistic)
        } catch {
            result.error = "no interval: \(error)"
        }
        return result
    }

    private func printTable(_ table: PredictionsTable, _ results: [MetricResult]) {
        print(table.summary)
        let rows = results.map { result -> [String] in
            let value = result.value.map { String(format: "%.4f", $0) } ?? "undefined"
            let interval = result.interval.map { String(format: "%.4f–%.4f", $0.lower, $0.upper) } ?? "-"
            var note = result.error ?? ""
            if let failed = result.interval?.failed, failed > 0 { note = "\(failed) of \(bootstrap) resamples undefined, left out" }
            return [result.name, value, interval, note]
        }
        let intervalHeader = bootstrap > 0 ? "95% CI (\(bootstrap) bootstrap resamples, seed \(seed))" : "95% CI"
        print(TextTable.render(header: ["metric", "value", intervalHeader, "note"], rows: rows))
    }

    private func printJSON(_ table: PredictionsTable, _ results: [MetricResult]) throws {
        var object: [String: Any] = ["input": input, "rows": table.rowCount, "bootstrap": bootstrap, "seed": seed, "level": 0.95]
        if let survival = table.survival { object["events"] = survival.event.filter { $0 }.count }
        if let tau { object["tau"] = tau }
        object["metrics"] = results.map { result -> [String: Any] in
            var entry: [String: Any] = ["metric": result.key]
            if let value = result.value { entry["value"] = value }
            if let interval = result.interval {
                entry["ci_lower"] = interval.lower
                entry["ci_upper"] = interval.upper
                entry["resamples_used"] = interval.replicates
                entry["resamples_undefined"] = interval.failed
            }
            if let error = result.error { entry["error"] = error }
            return entry
        }
        try JSONOutput.print(object)
    }

    /// Times Harrell's C alone on the file's rows (for Scripts/bench-metrics.sh): the value and the best and median seconds.
    private func benchmark(_ table: PredictionsTable, repeats: Int) throws {
        guard let data = table.survival else { throw ValidationError("--benchmark-repeats needs time,event,risk columns") }
        var seconds: [Double] = []
        var value = 0.0
        for _ in 0..<max(repeats, 1) {
            let start = ContinuousClock.now
            value = try ConcordanceIndex.harrellConcordance(time: data.time, event: data.event, risk: data.risk).value
            let elapsed = ContinuousClock.now - start
            seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        seconds.sort()
        print(String(format: "harrell_c %.12f rows %d best_seconds %.4f median_seconds %.4f", value, data.time.count, seconds[0], seconds[seconds.count / 2]))
    }

    static func parseTimes(_ text: String) throws -> [Double] {
        try text.split(separator: ",").map { field in
            guard let t = Double(field.trimmingCharacters(in: .whitespaces)), t.isFinite else {
                throw ValidationError("--times must be comma-separated numbers, got '\(field)'")
            }
            return t
        }
    }

    /// A time as written in keys and names: 365 rather than 365.0.
    static func format(_ t: Double) -> String { t == t.rounded() && abs(t) < 1e15 ? String(Int(t)) : "\(t)" }
}

/// One metric's value, interval, or the reason it is undefined.
struct MetricResult {
    var key: String
    var name: String
    var value: Double?
    var interval: BootstrapInterval?
    var error: String?
}

/// The columns of a predictions CSV that fedctl metrics understands.
struct PredictionsTable {
    struct Survival {
        var time: [Double] = []
        var event: [Bool] = []
        var risk: [Double] = []
        /// The T of each survival@T column, ascending, and per row the probabilities in that order.
        var survivalTimes: [Double] = []
        var survival: [[Double]] = []
    }

    struct Classification {
        var label: [Bool] = []
        var score: [Double] = []
    }

    var path: String
    var rowCount = 0
    var survival: Survival?
    var classification: Classification?

    init(contentsOf path: String) throws {
        self.path = path
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FedCTError(.io, "cannot read \(path) as UTF-8 text", cause: error)
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        guard let headerLine = lines.next() else { throw FedCTError(.invalidData, "\(path) is empty; expected a header row") }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        let survivalColumns = header.enumerated().compactMap { index, name -> (time: Double, column: Int)? in
            guard name.hasPrefix("survival@") else { return nil }
            return Double(name.dropFirst("survival@".count)).map { ($0, index) }
        }.sorted { $0.time < $1.time }
        if let bad = header.first(where: { $0.hasPrefix("survival@") && Double($0.dropFirst("survival@".count)) == nil }) {
            throw FedCTError(.invalidData, "\(path):1: column '\(bad)' should be survival@T with T a number (e.g. survival@365)")
        }
        let timeColumn = column("time"), eventColumn = column("event"), riskColumn = column("risk")
        let labelColumn = column("label"), scoreColumn = column("score")
        var survival = timeColumn != nil && eventColumn != nil && riskColumn != nil ? Survival(survivalTimes: survivalColumns.map(\.time)) : nil
        var classification = labelColumn != nil && scoreColumn != nil ? Classification() : nil
        guard survival != nil || classification != nil else {
            throw FedCTError(.invalidData, "\(path):1: header \(header.joined(separator: ",")) has neither time,event,risk nor label,score columns")
        }
        if survival == nil, !survivalColumns.isEmpty {
            throw FedCTError(.invalidData, "\(path):1: survival@T columns need time,event,risk columns beside them")
        }

        var lineNumber = 1
        while let rawLine = lines.next() {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw FedCTError(.invalidData, "\(path):\(lineNumber): \(fields.count) fields, but the header has \(header.count)")
            }
            func number(_ column: Int) throws -> Double {
                let field = fields[column].trimmingCharacters(in: .whitespaces)
                guard let value = Double(field), value.isFinite else {
                    throw FedCTError(.invalidData, "\(path):\(lineNumber): \(header[column]) must be a finite number, got '\(field)'")
                }
                return value
            }
            func flag(_ column: Int) throws -> Bool {
                switch fields[column].trimmingCharacters(in: .whitespaces).lowercased() {
                case "1", "1.0", "true": return true
                case "0", "0.0", "false": return false
                case let other: throw FedCTError(.invalidData, "\(path):\(lineNumber): \(header[column]) must be 1 or 0 (or true/false), got '\(other)'")
                }
            }
            if survival != nil, let timeColumn, let eventColumn, let riskColumn {
                survival!.time.append(try number(timeColumn))
                survival!.event.append(try flag(eventColumn))
                survival!.risk.append(try number(riskColumn))
                survival!.survival.append(try survivalColumns.map { try number($0.column) })
            }
            if classification != nil, let labelColumn, let scoreColumn {
                classification!.label.append(try flag(labelColumn))
                classification!.score.append(try number(scoreColumn))
            }
            rowCount += 1
        }
        guard rowCount > 0 else { throw FedCTError(.invalidData, "\(path) has a header but no rows") }
        self.survival = survival
        self.classification = classification
    }

    /// One line saying what was read.
    var summary: String {
        var parts = ["\(path): \(rowCount) rows"]
        if let survival {
            var text = "\(survival.event.filter { $0 }.count) events"
            if !survival.survivalTimes.isEmpty { text += ", survival at \(survival.survivalTimes.map(MetricsCommand.format).joined(separator: ", "))" }
            parts.append(text)
        }
        if let classification { parts.append("\(classification.label.filter { $0 }.count) positive labels") }
        return parts.joined(separator: "; ")
    }
}
