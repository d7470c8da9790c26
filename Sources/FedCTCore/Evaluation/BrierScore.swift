// BrierScore: the IPCW Brier score of predicted survival probabilities at given times, and its integral over time.
import Foundation

/// The Brier score for right-censored outcomes (Graf et al. 1999) as scikit-survival's `brier_score`
/// and `integrated_brier_score`.
public enum BrierScore {
    /// BS(t) = mean_i [ Ŝ(t|x_i)² · 1(time_i ≤ t, event_i) / G(time_i) + (1 − Ŝ(t|x_i))² · 1(time_i > t) / G(t) ]
    /// at each time, G the Kaplan–Meier censoring distribution; subjects censored before t contribute 0,
    /// and a term whose G is 0 is 0 (scikit-survival divides by ∞ there).
    ///
    /// - Parameters:
    ///   - survival: one row per subject, one column per time: the predicted P(T > t | x), in [0, 1].
    ///   - times: strictly increasing, within [min time, max time) of the subjects.
    ///   - censoringTime, censoringEvent: the outcomes G is estimated from; nil uses `time` and `event`.
    public static func scores(time: [Double], event: [Bool], survival: [[Double]], at times: [Double],
                              censoringTime: [Double]? = nil, censoringEvent: [Bool]? = nil) throws -> [Double] {
        try SurvivalInput.validate(time: time, event: event)
        guard survival.count == time.count else {
            throw FedCTError(.invalidData, "\(survival.count) rows of survival probabilities for \(time.count) subjects")
        }
        try TimeDependentAUC.validateTimes(times, within: time)
        for (row, values) in survival.enumerated() {
            guard values.count == times.count else {
                throw FedCTError(.invalidData, "subject \(row) has \(values.count) survival probabilities for \(times.count) time points")
            }
            if let bad = values.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                throw FedCTError(.invalidData, "survival probability of subject \(row) at time \(times[bad]) is \(values[bad]); it must lie in [0, 1]")
            }
        }
        let censoring = try KaplanMeier.censoringDistribution(time: censoringTime ?? time, event: censoringEvent ?? event, evaluatedAt: time)
        let inverseAtOwnTime = time.map { t in censoring(t) > 0 ? 1 / censoring(t) : 0 }
        return times.enumerated().map { k, t in
            let gt = censoring(t)
            let inverseAtT = gt > 0 ? 1 / gt : 0
            var total = 0.0
            for i in time.indices {
                let s = survival[i][k]
                if time[i] <= t, event[i] {
                    total += s * s * inverseAtOwnTime[i]
                } else if time[i] > t {
                    total += (1 - s) * (1 - s) * inverseAtT
                }
            }
            return total / Double(time.count)
        }
    }

    /// The integrated Brier score: the trapezoidal integral of ``scores(time:event:survival:at:censoringTime:censoringEvent:)``
    /// over `times`, divided by `times.last − times.first`. Needs at least two times.
    public static func integrated(time: [Double], event: [Bool], survival: [[Double]], at times: [Double],
                                  censoringTime: [Double]? = nil, censoringEvent: [Bool]? = nil) throws -> Double {
        guard times.count >= 2 else {
            throw FedCTError(.invalidData, "the integrated Brier score needs at least two time points, got \(times.count)")
        }
        let bs = try scores(time: time, event: event, survival: survival, at: times, censoringTime: censoringTime, censoringEvent: censoringEvent)
        var area = 0.0
        for k in 1..<times.count { area += (times[k] - times[k - 1]) * (bs[k] + bs[k - 1]) / 2 }
        return area / (times[times.count - 1] - times[0])
    }

    /// Survival probabilities of a Cox model: S(t | x) = S₀(t)^exp(risk), one row per risk, one column per
    /// baseline value.
    public static func coxSurvival(baseline: [Double], risk: [Double]) -> [[Double]] {
        risk.map { r in
            let hazardRatio = exp(r)
            return baseline.map { pow($0, hazardRatio) }
        }
    }
}
