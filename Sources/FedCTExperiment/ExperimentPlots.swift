// ExperimentPlots: the experiment table as pictures — a forest plot of every arm × task and the federated arms' learning curves (SVG).
import FedCTCore
import FedCTTraining
import Foundation

/// SVG plots of an ``ExperimentTable``.
public enum ExperimentPlots {
    /// A forest plot of the pooled held-out patients: per task (binary tasks by AUROC, time-to-event tasks by Harrell's
    /// C), one row per arm with its estimate (dot) and 95 % interval (bar); a dashed line at 0.5 (chance).
    public static func forest(_ table: ExperimentTable) -> String {
        let arms = table.arms.map(\.label)
        let rowHeight = 13.0
        let gap = 12.0
        let top = 58.0 + 16 * Double((arms.count + 2) / 3)
        let left = 240.0
        let right = 930.0
        let plotRight = right - 20
        let blocks = table.tasks.map { task in (task, arms.map { table.row(arm: $0, cohort: "pooled", task: task.name, metric: task.headline) }) }
        let intervals = blocks.flatMap { $0.1.compactMap { $0?.interval } }
        let low = min(0.45, intervals.map(\.lower).min() ?? 0.45)
        let high = max(0.55, intervals.map(\.upper).max() ?? 0.55)
        let span = high - low
        let (axisLow, axisHigh) = (low - 0.02 * span, high + 0.02 * span)
        let x = { (value: Double) in left + (value - axisLow) / (axisHigh - axisLow) * (plotRight - left) }
        let height = top + Double(blocks.count) * (Double(arms.count) * rowHeight + gap) + 50
        var svg = SVGDocument(width: right, height: height)
        svg.text(right / 2, 22, "Pooled held-out patients: estimate and 95 % interval (\(table.seeds) seed(s))", size: 15, anchor: "middle", bold: true)
        for (index, arm) in arms.enumerated() {
            let (column, line) = (index % 3, index / 3)
            let lx = 20 + Double(column) * 280
            let ly = 44 + Double(line) * 16
            svg.rect(lx, ly - 9, 10, 10, fill: colour(index))
            svg.text(lx + 15, ly, arm, size: 11)
        }
        let bottom = height - 40
        for tick in SVGDocument.ticks(axisLow, axisHigh) {
            svg.line(x(tick), top - 6, x(tick), bottom, stroke: "#e5e5e5")
            svg.text(x(tick), bottom + 16, String(format: "%.2f", tick == 0 ? 0 : tick), size: 11, anchor: "middle")
        }
        svg.line(x(0.5), top - 6, x(0.5), bottom, stroke: "#777", dashed: true)
        svg.line(left, bottom, plotRight, bottom, stroke: "#333")
        svg.text((left + plotRight) / 2, bottom + 32, "AUROC (binary and finding tasks) / Harrell's C (time-to-event tasks) / recall (retrieval)", size: 12, anchor: "middle")
        var y = top
        for (task, rows) in blocks {
            svg.text(left - 12, y + Double(arms.count) * rowHeight / 2 + 4, "\(task.name) (\(task.headline.title))", size: 12, anchor: "end", bold: true)
            for (index, row) in rows.enumerated() {
                let cy = y + Double(index) * rowHeight + rowHeight / 2
                if index % 2 == 0 { svg.rect(left, cy - rowHeight / 2, plotRight - left, rowHeight, fill: "#f6f6f6") }
                if let interval = row?.interval {
                    svg.line(x(interval.lower), cy, x(interval.upper), cy, stroke: colour(index), width: 2)
                    svg.circle(x(interval.estimate), cy, radius: 3.5, fill: colour(index))
                } else {
                    svg.text(left + 4, cy + 4, "n/a", size: 9, fill: colour(index))
                }
            }
            y += Double(arms.count) * rowHeight + gap
        }
        return svg.svg
    }

    /// Two panels for the federated arms: the pooled Harrell's C of the first time-to-event task's probe after each
    /// round (first seed), and the mean site train loss per round (mean over seeds).
    public static func learningCurves(_ table: ExperimentTable) -> String {
        let arms = table.curves.map(\.arm).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var svg = SVGDocument(width: 900, height: 400)
        let task = table.tasks.first { $0.kind == .survival }?.name ?? "?"
        svg.text(450, 22, "Federated arms per round", size: 15, anchor: "middle", bold: true)
        let cSeries = arms.map { arm in table.curves.filter { $0.arm == arm && $0.seed == 0 }.compactMap { p in p.pooledHarrellC.map { (Double(p.round), $0) } } }
        let lossSeries = arms.map { arm -> [(Double, Double)] in
            let points = table.curves.filter { $0.arm == arm }
            return Dictionary(grouping: points, by: \.round).keys.sorted().map { round in
                let losses = points.filter { $0.round == round }.map(\.trainLoss)
                return (Double(round), losses.reduce(0, +) / Double(losses.count))
            }
        }
        let colours = arms.map { arm in colour(table.arms.firstIndex { $0.label == arm } ?? 0) }
        panel(&svg, x: 60, width: 360, title: "pooled Harrell's C (\(task), seed 1)", series: cSeries, colours: colours)
        panel(&svg, x: 510, width: 360, title: "mean site train loss (mean over seeds)", series: lossSeries, colours: colours)
        for (index, arm) in arms.enumerated() {
            svg.rect(60 + Double(index) * 260, 376, 10, 10, fill: colours[index])
            svg.text(75 + Double(index) * 260, 385, arm, size: 11)
        }
        return svg.svg
    }

    /// One line panel at `x` (top 50, height 260) with round on the horizontal axis.
    private static func panel(_ svg: inout SVGDocument, x left: Double, width: Double, title: String, series: [[(Double, Double)]],
                              colours: [String]) {
        let (top, bottom) = (50.0, 310.0)
        svg.text(left + width / 2, top - 10, title, size: 13, anchor: "middle")
        let points = series.flatMap { $0 }
        guard let firstPoint = points.first else {
            svg.text(left + width / 2, (top + bottom) / 2, "no data", size: 12, anchor: "middle")
            return
        }
        let rounds = (points.map(\.0).min() ?? firstPoint.0, points.map(\.0).max() ?? firstPoint.0)
        let values = points.map(\.1)
        var (low, high) = (values.min()!, values.max()!)
        if high - low < 1e-9 { (low, high) = (low - 0.01, high + 0.01) }
        let pad = 0.05 * (high - low)
        (low, high) = (low - pad, high + pad)
        let x = { (round: Double) in rounds.1 > rounds.0 ? left + (round - rounds.0) / (rounds.1 - rounds.0) * width : left + width / 2 }
        let y = { (value: Double) in bottom - (value - low) / (high - low) * (bottom - top) }
        for tick in SVGDocument.ticks(low, high, count: 5) {
            svg.line(left, y(tick), left + width, y(tick), stroke: "#e5e5e5")
            svg.text(left - 6, y(tick) + 4, String(format: "%.3g", tick), size: 10, anchor: "end")
        }
        for tick in SVGDocument.ticks(rounds.0, max(rounds.1, rounds.0 + 1), count: 6) where tick == tick.rounded() && tick <= rounds.1 {
            svg.text(x(tick), bottom + 16, String(format: "%.0f", tick), size: 10, anchor: "middle")
        }
        svg.line(left, bottom, left + width, bottom, stroke: "#333")
        svg.line(left, top, left, bottom, stroke: "#333")
        svg.text(left + width / 2, bottom + 32, "round", size: 11, anchor: "middle")
        for (index, line) in series.enumerated() where !line.isEmpty {
            svg.polyline(line.map { (x($0.0), y($0.1)) }, stroke: colours[index])
            for point in line { svg.circle(x(point.0), y(point.1), radius: 2.5, fill: colours[index]) }
        }
    }

    private static func colour(_ index: Int) -> String { SVGDocument.palette[index % SVGDocument.palette.count] }
}
