// AUROC: the area under the ROC curve as a (weighted) Mann–Whitney statistic, ties counting one half, in O(n log n).

/// The area under the receiver operating characteristic curve.
public enum AUROC {
    /// The probability that a random positive scores above a random negative, ties counting ½
    /// (the Mann–Whitney U / (n₊·n₋); equal to scikit-learn's `roc_auc_score`).
    ///
    /// - Throws: `FedCTError(.invalidData)` when the lengths differ, a score is NaN, or there is no
    ///   positive or no negative.
    public static func value(labels: [Bool], scores: [Double]) throws -> Double {
        guard labels.count == scores.count else {
            throw FedCTError(.invalidData, "AUROC inputs differ in length: \(labels.count) labels, \(scores.count) scores")
        }
        try SurvivalInput.validateScores(scores, name: "score")
        let positives = labels.filter { $0 }.count
        guard positives > 0, positives < labels.count else {
            throw FedCTError(.invalidData, "AUROC needs both classes: \(positives) of \(labels.count) labels are positive")
        }
        return weightedMannWhitney(scores: scores, positiveWeight: labels.map { $0 ? 1 : 0 }, negativeWeight: labels.map { $0 ? 0 : 1 })
    }

    /// Σ_{i,j} p_i·q_j·(1[s_i > s_j] + ½·1[s_i = s_j]) / (Σ p · Σ q): positives weighted by p, negatives by q.
    ///
    /// The caller guarantees both weight sums are positive.
    static func weightedMannWhitney(scores: [Double], positiveWeight: [Double], negativeWeight: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var negativesBelow = 0.0
        var numerator = 0.0
        var start = 0
        while start < order.count {
            var end = start
            var positives = 0.0
            var negatives = 0.0
            while end < order.count && scores[order[end]] == scores[order[start]] {
                positives += positiveWeight[order[end]]
                negatives += negativeWeight[order[end]]
                end += 1
            }
            numerator += positives * (negativesBelow + 0.5 * negatives)
            negativesBelow += negatives
            start = end
        }
        return numerator / (positiveWeight.reduce(0, +) * negativesBelow)
    }
}
