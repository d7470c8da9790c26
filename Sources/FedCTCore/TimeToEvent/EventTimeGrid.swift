// EventTimeGrid: the fixed log-spaced grid of event times the sites histogram, from which the pieces' edges are cut.
import Foundation

/// Log-spaced bins of days after the index time, identical at every site and the coordinator.
///
/// Bin 0 covers (0, `firstEdgeDays`]; bin i covers (edge i−1, edge i] with edge i = first · r^i and
/// r = (last / first)^(1 / (bins − 1)); the last bin ends at `lastEdgeDays`, which is also the last
/// piece edge of a derived job (TTELabeler censors there). The standard grid has 512 bins from 1 day
/// to 100 years: each bin is 2.1 % wider than the one before.
public struct EventTimeGrid: Sendable, Equatable {
    public let firstEdgeDays: Double
    public let lastEdgeDays: Double
    public let bins: Int
    /// Upper edge of every bin, in days.
    public let upperEdges: [Double]

    /// 512 bins from 1 day to 100 years (36 525 days).
    public static let standard = EventTimeGrid(firstEdgeDays: 1, lastEdgeDays: 36_525, bins: 512)

    public init(firstEdgeDays: Double, lastEdgeDays: Double, bins: Int) {
        precondition(firstEdgeDays > 0 && lastEdgeDays > firstEdgeDays && bins >= 2, "an event-time grid needs 0 < first < last and 2 bins")
        self.firstEdgeDays = firstEdgeDays
        self.lastEdgeDays = lastEdgeDays
        self.bins = bins
        let ratio = log(lastEdgeDays / firstEdgeDays) / Double(bins - 1)
        var edges = (0..<bins).map { firstEdgeDays * exp(ratio * Double($0)) }
        edges[bins - 1] = lastEdgeDays
        upperEdges = edges
    }

    /// The bin of a time after the index (times beyond the last edge fall in the last bin).
    public func bin(of days: Double) -> Int {
        guard days > firstEdgeDays else { return 0 }
        guard days < lastEdgeDays else { return bins - 1 }
        var index = min(bins - 1, max(1, Int((log(days / firstEdgeDays) / log(upperEdges[1] / firstEdgeDays)).rounded(.up))))
        // Rounding in the logarithm may land one bin off; the edges decide.
        while index > 0, days <= upperEdges[index - 1] { index -= 1 }
        while days > upperEdges[index] { index += 1 }
        return index
    }
}
