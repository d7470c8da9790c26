// KaplanMeier: the product-limit estimate of a survival function, and of the censoring distribution for IPCW weights.

/// A Kaplan–Meier estimate: a right-continuous step function that drops at each distinct time.
public struct KaplanMeier: Sendable, Equatable {
    /// The distinct observed times, ascending.
    public let times: [Double]
    /// The estimate just after each time: S(times[k]) = Π_{m ≤ k} (1 − d_m / n_m).
    public let survival: [Double]

    /// The survival function P(T > t) of event times, censored subjects leaving the risk set after
    /// their time (scikit-survival `kaplan_meier_estimator`, lifelines `KaplanMeierFitter`).
    public init(time: [Double], event: [Bool]) throws {
        try SurvivalInput.validate(time: time, event: event)
        self.init(time: time, event: event, reverse: false)
    }

    /// The censoring distribution G(t) = P(C > t), censorings counted as the "events": at a time with
    /// both, events are taken to precede the censorings and leave the risk set first (scikit-survival
    /// `kaplan_meier_estimator(reverse=True)`, used by its `CensoringDistributionEstimator`).
    public static func censoringDistribution(time: [Double], event: [Bool]) throws -> KaplanMeier {
        try SurvivalInput.validate(time: time, event: event)
        return KaplanMeier(time: time, event: event, reverse: true)
    }

    private init(time: [Double], event: [Bool], reverse: Bool) {
        let order = time.indices.sorted { time[$0] < time[$1] }
        var times: [Double] = []
        var survival: [Double] = []
        var atRisk = time.count
        var current = 1.0
        var start = 0
        while start < order.count {
            var end = start
            var events = 0
            while end < order.count && time[order[end]] == time[order[start]] {
                if event[order[end]] { events += 1 }
                end += 1
            }
            let total = end - start
            let (drops, exposed) = reverse ? (total - events, atRisk - events) : (events, atRisk)
            if drops > 0 { current *= 1 - Double(drops) / Double(exposed) }
            times.append(time[order[start]])
            survival.append(current)
            atRisk -= total
            start = end
        }
        self.times = times
        self.survival = survival
    }

    /// The estimate at `t`: 1 before the first time, the value of the last time ≤ t after it (carried
    /// forward beyond the last time, where scikit-survival refuses unless the estimate reached 0).
    public func callAsFunction(_ t: Double) -> Double {
        var low = 0
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] <= t { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? 1 : survival[low - 1]
    }
}

extension KaplanMeier {
    /// The censoring distribution of `time` and `event`, refusing if it is to be evaluated beyond its last
    /// time while still positive there (the estimate is undefined there; scikit-survival refuses too).
    static func censoringDistribution(time: [Double], event: [Bool], evaluatedAt points: [Double]) throws -> KaplanMeier {
        let censoring = try KaplanMeier.censoringDistribution(time: time, event: event)
        if let latest = points.max(), let last = censoring.times.last, latest > last, censoring(last) > 0 {
            throw FedCTError(.invalidData, "time \(latest) is beyond the last time (\(last)) of the data the censoring distribution is estimated from")
        }
        return censoring
    }
}
