// TimeDependentAUC: the cumulative/dynamic AUC at given times with inverse-probability-of-censoring weights.

/// The cumulative/dynamic AUC (Uno et al. 2007; Hung & Chiang 2010) as scikit-survival's `cumulative_dynamic_auc`.
public enum TimeDependentAUC {
    /// AUC(t) for each time and their mean weighted by the drop in survival.
    public struct Result: Sendable, Equatable {
        /// The time points, as given.
        public var times: [Double]
        /// AUC(t) at each time.
        public var auc: [Double]
        /// Σ AUC(t_k)·(Ŝ(t_{k−1}) − Ŝ(t_k)) / (1 − Ŝ(t_last)) with Ŝ the Kaplan–Meier estimate of the
        /// outcomes and Ŝ(t₀) = 1; AUC(t) itself for a single time.
        public var mean: Double
    }

    /// At each time t, cases are subjects with an event at or before t, weighted by 1 / G(time_i) (G the
    /// Kaplan–Meier censoring distribution), controls are subjects still event-free after t, weight 1;
    /// AUC(t) is the weighted probability that a case has the higher risk, ties counting ½.
    ///
    /// - Parameters:
    ///   - times: strictly increasing, within [min time, max time) of the subjects.
    ///   - censoringTime, censoringEvent: the outcomes G is estimated from; nil uses `time` and `event`.
    /// - Throws: `FedCTError(.invalidData)` for invalid inputs, times outside the follow-up, a time with
    ///   no case, or G = 0 at an event time up to the last of `times`.
    public static func cumulativeDynamic(time: [Double], event: [Bool], risk: [Double], at times: [Double],
                                         censoringTime: [Double]? = nil, censoringEvent: [Bool]? = nil) throws -> Result {
        try SurvivalInput.validate(time: time, event: event, scores: risk, scoreName: "risk")
        try validateTimes(times, within: time)
        // Only events up to the last time are cases anywhere, so only their weights must be finite
        // (scikit-survival refuses when G = 0 at any event time, even a later one).
        let cases = time.indices.filter { event[$0] && time[$0] <= times[times.count - 1] }
        let censoring = try KaplanMeier.censoringDistribution(time: censoringTime ?? time, event: censoringEvent ?? event,
                                                              evaluatedAt: cases.map { time[$0] })
        var inverseG = [Double](repeating: 0, count: time.count)
        for index in cases {
            let g = censoring(time[index])
            guard g > 0 else {
                throw FedCTError(.invalidData, "the censoring survival function is 0 at event time \(time[index]), so its inverse-probability weight is infinite")
            }
            inverseG[index] = 1 / g
        }
        var auc: [Double] = []
        for t in times {
            let caseWeight = time.indices.map { event[$0] && time[$0] <= t ? inverseG[$0] : 0 }
            let controlWeight = time.map { $0 > t ? 1.0 : 0 }
            guard caseWeight.contains(where: { $0 > 0 }) else {
                throw FedCTError(.invalidData, "AUC(\(t)) is undefined: no subject has an event at or before time \(t)")
            }
            auc.append(AUROC.weightedMannWhitney(scores: risk, positiveWeight: caseWeight, negativeWeight: controlWeight))
        }
        guard times.count > 1 else { return Result(times: times, auc: auc, mean: auc[0]) }
        let survival = try KaplanMeier(time: time, event: event)
        var previous = 1.0
        var integral = 0.0
        for (k, t) in times.enumerated() {
            let s = survival(t)
            integral += auc[k] * (previous - s)
            previous = s
        }
        guard previous < 1 else {
            throw FedCTError(.invalidData, "the mean AUC is undefined: the Kaplan–Meier estimate has not dropped by the last time \(times[times.count - 1])")
        }
        return Result(times: times, auc: auc, mean: integral / (1 - previous))
    }

    /// Checks that `times` is non-empty, strictly increasing and within [min, max) of the follow-up
    /// (scikit-survival's rule: after the last time there is no control left).
    static func validateTimes(_ times: [Double], within time: [Double]) throws {
        guard let first = times.first, let last = times.last else { throw FedCTError(.invalidData, "no time points given") }
        guard zip(times, times.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw FedCTError(.invalidData, "time points must be strictly increasing, got \(times)")
        }
        let low = time.min() ?? 0
        let high = time.max() ?? 0
        guard first >= low, last < high else {
            throw FedCTError(.invalidData, "time points must lie within the follow-up [\(low), \(high)), got \(first)…\(last)")
        }
    }
}
