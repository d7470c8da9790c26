// CoxRegression+Breslow: the Breslow estimate of a Cox model's baseline cumulative hazard, for survival curves (IBS).
import Foundation

/// A Cox model's baseline cumulative hazard H₀(t), a step function over the distinct event times.
///
/// Kept in log space, so risks far beyond exp's range (a probe applied to embeddings unlike its training ones) still
/// give survival probabilities in [0, 1] instead of ∞ · 0.
public struct BreslowBaseline: Sendable, Equatable {
    /// The distinct event times, ascending.
    public let times: [Double]
    /// ln H₀ just after each of `times`.
    public let logCumulativeHazards: [Double]

    /// H₀ just after each of `times` (0 where it underflows).
    public var cumulativeHazards: [Double] { logCumulativeHazards.map(exp) }

    /// H₀(t): 0 before the first event time, the value of the last event time ≤ t after it.
    public func cumulativeHazard(at t: Double) -> Double { exp(logCumulativeHazard(at: t)) }

    /// ln H₀(t) (−∞ before the first event time).
    public func logCumulativeHazard(at t: Double) -> Double {
        times.lastIndex { $0 <= t }.map { logCumulativeHazards[$0] } ?? -.infinity
    }

    /// S(t | x) = exp(−H₀(t) · e^risk), risk the model's linear score of x.
    public func survival(at t: Double, risk: Double) -> Double {
        exp(-exp(logCumulativeHazard(at: t) + risk))
    }
}

extension CoxRegression {
    /// The Breslow (1972) estimate H₀(t) = Σ_{event times t_k ≤ t} d_k / Σ_{j: time_j ≥ t_k} e^{risk_j}, d_k the events
    /// at t_k. With the risks of ``risk(_:)`` (features centred at their training means) this is lifelines'
    /// `CoxPHFitter.baseline_cumulative_hazard_`. The sums run on e^{risk − max risk}, so large risks do not overflow.
    ///
    /// - Throws: `FedCTError(.invalidData)` when the lengths differ, a time or risk is not finite, or no subject has an event.
    public static func breslowBaseline(time: [Double], event: [Bool], risk: [Double]) throws -> BreslowBaseline {
        guard time.count == event.count, time.count == risk.count else {
            throw FedCTError(.invalidData, "Breslow baseline inputs differ in length: \(time.count) times, \(event.count) event flags, \(risk.count) risks")
        }
        guard time.allSatisfy(\.isFinite), risk.allSatisfy(\.isFinite) else {
            throw FedCTError(.invalidData, "Breslow baseline: every time and risk must be a finite number")
        }
        guard event.contains(true) else { throw FedCTError(.invalidData, "Breslow baseline needs at least one event; all \(time.count) subjects are censored") }
        let shift = risk.max()!
        let order = time.indices.sorted { time[$0] > time[$1] }
        // From the latest time down: the risk set of time t is everyone with time ≥ t.
        var atRisk = 0.0
        var reversed: [(time: Double, increment: Double)] = []
        var start = 0
        while start < order.count {
            var end = start
            var events = 0
            while end < order.count && time[order[end]] == time[order[start]] {
                atRisk += exp(risk[order[end]] - shift)
                if event[order[end]] { events += 1 }
                end += 1
            }
            if events > 0 { reversed.append((time[order[start]], Double(events) / atRisk)) }
            start = end
        }
        var total = 0.0
        var times: [Double] = []
        var logHazards: [Double] = []
        for step in reversed.reversed() {
            total += step.increment
            times.append(step.time)
            logHazards.append(log(total) - shift)
        }
        return BreslowBaseline(times: times, logCumulativeHazards: logHazards)
    }

    /// The Breslow baseline of this model on its training data (`features`, `time`, `event`).
    public func breslowBaseline(features: [[Double]], time: [Double], event: [Bool]) throws -> BreslowBaseline {
        try Self.breslowBaseline(time: time, event: event, risk: features.map(risk))
    }
}
