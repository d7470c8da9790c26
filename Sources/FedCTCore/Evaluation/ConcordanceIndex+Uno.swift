// ConcordanceIndex+Uno: Uno's C, the concordance weighted by inverse probabilities of censoring up to a truncation time.

extension ConcordanceIndex {
    /// Uno's C (Uno et al., Stat Med 2011) as scikit-survival's `concordance_index_ipcw`.
    ///
    /// Each comparable pair (see ``ConcordanceIndex``) whose earlier subject i had its event before
    /// `tau` is weighted by 1 / G(time_i)², where G is the Kaplan–Meier estimate of the censoring
    /// distribution (``KaplanMeier/censoringDistribution(time:event:)``, evaluated at time_i itself);
    /// events at or after `tau` get weight 0. Unlike Harrell's C its limit does not depend on the
    /// censoring distribution.
    ///
    /// - Parameters:
    ///   - tau: the truncation time; nil uses every event (G must then stay positive at each event time).
    ///   - censoringTime, censoringEvent: the outcomes G is estimated from (scikit-survival's
    ///     `survival_train`); nil estimates it from `time` and `event` themselves.
    /// - Throws: `FedCTError(.invalidData)` for invalid inputs, no comparable pair before `tau`, an event
    ///   time beyond the censoring data's follow-up, or G = 0 at an event time before `tau`.
    public static func uno(time: [Double], event: [Bool], risk: [Double], tau: Double? = nil,
                           censoringTime: [Double]? = nil, censoringEvent: [Bool]? = nil) throws -> Concordance {
        try SurvivalInput.validate(time: time, event: event, scores: risk, scoreName: "risk")
        if let tau, !(tau > 0) { throw FedCTError(.invalidData, "truncation time tau must be positive, got \(tau)") }
        let early = time.indices.filter { event[$0] && time[$0] < tau ?? .infinity }
        let censoring = try KaplanMeier.censoringDistribution(time: censoringTime ?? time, event: censoringEvent ?? event,
                                                              evaluatedAt: early.map { time[$0] })
        var weight = [Double](repeating: 0, count: time.count)
        for index in early {
            let g = censoring(time[index])
            guard g > 0 else {
                throw FedCTError(.invalidData, "the censoring survival function is 0 at time \(time[index]) (every subject still followed is censored there), so Uno's weights are infinite; choose tau below \(time[index])")
            }
            weight[index] = 1 / (g * g)
        }
        return try weighted(time: time, event: event, risk: risk, weight: weight)
    }
}
