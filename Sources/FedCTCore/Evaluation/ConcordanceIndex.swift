// ConcordanceIndex: Harrell's C for right-censored outcomes and a risk score.

/// Harrell's concordance index.
public enum ConcordanceIndex {
    /// The fraction of comparable pairs ordered correctly by `risk` (higher risk, earlier event).
    ///
    /// A pair (i, j) is comparable when subject i had an event before time_j; it is concordant when
    /// risk_i > risk_j, and counts one half when the risks tie. Returns nil with no comparable pair.
    public static func harrell(time: [Double], event: [Bool], risk: [Double]) -> Double? {
        precondition(time.count == event.count && time.count == risk.count, "C-index inputs must have equal lengths")
        var concordant = 0.0
        var comparable = 0.0
        for i in time.indices where event[i] {
            for j in time.indices where time[i] < time[j] {
                comparable += 1
                if risk[i] > risk[j] {
                    concordant += 1
                } else if risk[i] == risk[j] {
                    concordant += 0.5
                }
            }
        }
        return comparable > 0 ? concordant / comparable : nil
    }
}
