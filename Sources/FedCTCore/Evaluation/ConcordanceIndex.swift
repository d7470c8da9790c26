// ConcordanceIndex: Harrell's C for right-censored outcomes and a risk score, in O(n log n).

/// The pair counts behind a concordance index, and its value.
public struct Concordance: Sendable, Equatable {
    /// Σ wᵢ·(concordantᵢ + ½·tiedRiskᵢ) / Σ wᵢ·comparableᵢ over subjects i with an event; every wᵢ = 1 for Harrell's C.
    public var value: Double
    /// Comparable pairs whose earlier subject has the higher risk.
    public var concordant: Int
    /// Comparable pairs whose earlier subject has the lower risk.
    public var discordant: Int
    /// Comparable pairs with equal risks (each counts ½).
    public var tiedRisk: Int
    /// Comparable pairs of an event and a censoring at the same time (scikit-survival's `tied_time`).
    public var tiedTime: Int

    /// All comparable pairs.
    public var comparable: Int { concordant + discordant + tiedRisk }
}

/// Harrell's concordance index and its weighted form (the core of Uno's C).
///
/// Conventions, those of scikit-survival's `concordance_index_censored` and lifelines'
/// `concordance_index` (with `predicted_scores = -risk`): a pair (i, j) is comparable when i had an
/// event and either time_i < time_j, or time_i == time_j and j is censored (a subject censored at the
/// time of an event is taken to have outlived it); two events at the same time are not comparable.
/// A comparable pair is concordant when risk_i > risk_j and counts ½ when the risks are equal.
/// Risks tie only when exactly equal (scikit-survival treats |Δ| ≤ 1e-8 as a tie; the two agree
/// whenever distinct risks differ by more than 1e-8).
public enum ConcordanceIndex {
    /// Harrell's C, or nil when it is undefined or the inputs are invalid (fewer than two subjects,
    /// no comparable pair, a NaN risk); ``harrellConcordance(time:event:risk:)`` throws an error saying which.
    public static func harrell(time: [Double], event: [Bool], risk: [Double]) -> Double? {
        try? harrellConcordance(time: time, event: event, risk: risk).value
    }

    /// Harrell's C with its pair counts, in O(n log n).
    ///
    /// - Throws: `FedCTError(.invalidData)` when the arrays differ in length, there are fewer than two
    ///   subjects, a time is not finite, a risk is NaN, or no pair is comparable (for instance every
    ///   subject is censored).
    public static func harrellConcordance(time: [Double], event: [Bool], risk: [Double]) throws -> Concordance {
        try SurvivalInput.validate(time: time, event: event, scores: risk, scoreName: "risk")
        return try weighted(time: time, event: event, risk: risk, weight: nil)
    }

    /// The concordance with each comparable pair weighted by its earlier subject's weight (nil: all 1).
    ///
    /// Subjects are visited from the latest time down while a Fenwick tree over risk ranks counts the
    /// risks of those still at risk, so each event's concordant, tied and discordant partners take
    /// O(log n) to count.
    static func weighted(time: [Double], event: [Bool], risk: [Double], weight: [Double]?) throws -> Concordance {
        let n = time.count
        guard event.contains(true) else {
            throw FedCTError(.invalidData, "no comparable pairs: every one of the \(n) subjects is censored, so no pair can be ordered")
        }
        let ranks = denseRanks(risk)
        let order = (0..<n).sorted { time[$0] < time[$1] }
        var tree = FenwickTree(size: ranks.distinctCount)
        var inserted = 0
        var concordant = 0
        var discordant = 0
        var tiedRisk = 0
        var tiedTime = 0
        var numerator = 0.0
        var denominator = 0.0
        var end = n
        while end > 0 {
            // The group of subjects sharing the time of order[end - 1].
            var start = end - 1
            while start > 0 && time[order[start - 1]] == time[order[end - 1]] { start -= 1 }
            let group = order[start..<end]
            var censoredHere = 0
            for index in group where !event[index] {
                tree.add(at: ranks.rank[index])
                inserted += 1
                censoredHere += 1
            }
            for index in group where event[index] {
                let rank = ranks.rank[index]
                let below = tree.prefixSum(through: rank - 1)
                let tied = tree.prefixSum(through: rank) - below
                let above = inserted - below - tied
                concordant += below
                tiedRisk += tied
                discordant += above
                tiedTime += censoredHere
                let w = weight?[index] ?? 1
                numerator += w * (Double(below) + 0.5 * Double(tied))
                denominator += w * Double(inserted)
            }
            for index in group where event[index] {
                tree.add(at: ranks.rank[index])
                inserted += 1
            }
            end = start
        }
        guard concordant + discordant + tiedRisk > 0 else {
            throw FedCTError(.invalidData, "no comparable pairs: no event occurs before another subject's time (every event is at or after the last follow-up)")
        }
        guard denominator > 0 else {
            throw FedCTError(.invalidData, "no comparable pairs carry weight: every event with a later subject has weight 0 (is the truncation time before the first event?)")
        }
        return Concordance(value: numerator / denominator, concordant: concordant, discordant: discordant, tiedRisk: tiedRisk, tiedTime: tiedTime)
    }

    /// 1-based dense ranks of `values` (equal values share a rank) and the number of distinct values.
    static func denseRanks(_ values: [Double]) -> (rank: [Int], distinctCount: Int) {
        var distinct = values.sorted()
        var count = 0
        for value in distinct where count == 0 || distinct[count - 1] != value {
            distinct[count] = value
            count += 1
        }
        let rank = values.map { value in
            var low = 0
            var high = count
            while low < high {
                let middle = (low + high) / 2
                if distinct[middle] < value { low = middle + 1 } else { high = middle }
            }
            return low + 1
        }
        return (rank, count)
    }
}

/// A Fenwick (binary indexed) tree of counts over ranks 1...size.
struct FenwickTree {
    private var counts: [Int]

    init(size: Int) { counts = [Int](repeating: 0, count: size + 1) }

    /// Adds one at `rank`.
    mutating func add(at rank: Int) {
        var position = rank
        while position < counts.count {
            counts[position] += 1
            position += position & -position
        }
    }

    /// The number added at ranks 1...rank (0 for rank 0).
    func prefixSum(through rank: Int) -> Int {
        var total = 0
        var position = rank
        while position > 0 {
            total += counts[position]
            position -= position & -position
        }
        return total
    }
}
