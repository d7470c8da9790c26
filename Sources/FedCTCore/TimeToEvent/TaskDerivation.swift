// TaskDerivation: the coordinator's side of the setup stage — the candidate union, entropy ranking, piece edges and base rates.
import Foundation

/// Turns the sites' pooled statistics into the job's task list, time pieces and head bias.
///
/// Formulas (Docs/science.md): prevalence p_j = patients with code j / patients; tasks are the codes
/// of highest entropy H(p) = −p ln p − (1 − p) ln(1 − p) (ties by code name), at most `maxTasks`;
/// the P − 1 inner piece edges are the pooled event times' percentiles 100·k/P, read from the
/// histogram as the upper edge of the bin where the cumulative count reaches k/P of all events, and
/// the last edge is the grid's end; the base rate of task j is events / (events + censored) / mean
/// observed time = events / total observed time, per year (TTELabeler's time at risk is in years), and
/// the head's initial bias is its log2.
public enum TaskDerivation {
    /// One ranked candidate.
    public struct RankedCode: Sendable, Equatable {
        public var code: String
        public var prevalence: Double
        public var entropy: Double
    }

    /// The sorted union of the sites' candidate lists.
    public static func union(_ proposals: [[String]]) -> [String] {
        Set(proposals.joined()).sorted()
    }

    /// The binary entropy of a prevalence, in nats.
    public static func entropy(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return 0 }
        return -p * log(p) - (1 - p) * log(1 - p)
    }

    /// The top `maxTasks` candidates by entropy of their pooled prevalence, from the summed prevalence
    /// vector (cohort size first). Codes every patient or no patient has carry no information and are left out.
    public static func rank(candidates: [String], prevalenceSum: [UInt64], maxTasks: Int) throws -> [RankedCode] {
        guard prevalenceSum.count == candidates.count + 1 else {
            throw FedCTError(.integrity, "setup: the prevalence sum has \(prevalenceSum.count) values for \(candidates.count) candidates and the cohort size")
        }
        let patients = Double(prevalenceSum[0])
        guard patients > 0 else {
            throw FedCTError(.invalidData, "setup: no site has a patient with follow-up after an index time; check the sites' cohort.csv index times and events.csv")
        }
        var ranked: [RankedCode] = []
        for (code, count) in zip(candidates, prevalenceSum.dropFirst()) {
            let p = Double(count) / patients
            if entropy(p) > 0 { ranked.append(RankedCode(code: code, prevalence: p, entropy: entropy(p))) }
        }
        ranked.sort { (a: RankedCode, b: RankedCode) -> Bool in a.entropy != b.entropy ? a.entropy > b.entropy : a.code < b.code }
        guard !ranked.isEmpty else {
            throw FedCTError(.invalidData, "setup: none of the \(candidates.count) candidate codes has a prevalence strictly between 0 and 1 among \(Int(patients)) patients; lower tte.min_patients_per_code or add sites")
        }
        return Array(ranked.prefix(max(1, maxTasks)))
    }

    /// Piece edges from the pooled event-time histogram: up to `pieces` − 1 inner edges at its
    /// percentiles, then the grid's last edge. Equal percentiles (few distinct event times) merge, so a
    /// job may get fewer pieces than asked.
    public static func pieceEdges(histogram: [UInt64], grid: EventTimeGrid, pieces: Int) throws -> [Double] {
        guard histogram.count == grid.bins else {
            throw FedCTError(.integrity, "setup: the event-time histogram has \(histogram.count) bins; the grid has \(grid.bins)")
        }
        let total = histogram.reduce(0, +)
        guard total > 0 else { throw FedCTError(.invalidData, "setup: the chosen tasks have no events at any site, so no time pieces can be cut") }
        var edges: [Double] = []
        var cumulative: UInt64 = 0
        var bin = 0
        for k in 1..<max(1, pieces) {
            // Smallest bin whose cumulative count reaches k/P of the events (integer arithmetic: exact).
            while bin < grid.bins, (cumulative + histogram[bin]) * UInt64(pieces) < UInt64(k) * total {
                cumulative += histogram[bin]
                bin += 1
            }
            let edge = grid.upperEdges[min(bin, grid.bins - 1)]
            if edge < grid.lastEdgeDays && edge > (edges.last ?? 0) { edges.append(edge) }
        }
        return edges + [grid.lastEdgeDays]
    }

    /// log2 of each task's base hazard per year from the summed rates vector.
    public static func log2BaseHazardPerYear(ratesSum: [UInt64], layout: TaskStatistics.RatesLayout, tasks: [String]) throws -> [Float] {
        guard ratesSum.count == layout.count, tasks.count == layout.tasks else {
            throw FedCTError(.integrity, "setup: the rates sum has \(ratesSum.count) values; \(tasks.count) tasks and \(layout.bins) bins need \(layout.count)")
        }
        return try tasks.enumerated().map { task, code in
            let events = Double(ratesSum[layout.events + task])
            let years = Double(ratesSum[layout.observedHours + task]) / TaskStatistics.hoursPerDay / TTELabeler.daysPerYear
            guard events > 0, years > 0 else {
                throw FedCTError(.invalidData, "setup: task \(code) has \(Int(events)) events over \(years) years of follow-up, so it has no base rate")
            }
            return Float(log2(events / years))
        }
    }
}
