// LearningRateSchedule: the local learning rate at each step — constant or a cosine over the job's rounds, with warm-up.
import Foundation

/// The learning rate of a site's local step. `cosine` decays from `baseRate` to `minimumRate` along half a cosine over
/// the whole job: at local step s of S in round r of R the position is p = (r − 1 + s/S) / R and the rate is
/// min + (base − min)·(1 + cos πp)/2. Each round starts a fresh optimiser, so the first `warmupSteps` steps of every
/// round scale the rate linearly by (s + 1)/warmupSteps (either kind).
public struct LearningRateSchedule: Sendable, Hashable, Codable {
    /// The raw values are the job spec's `training.lr_schedule`.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case constant
        case cosine
    }

    public var kind: Kind
    public var baseRate: Double
    /// The rate the cosine ends at (after the job's last step); unused by `constant`.
    public var minimumRate: Double
    /// Steps of linear warm-up at the start of each round (0: none).
    public var warmupSteps: Int

    public init(kind: Kind = .constant, baseRate: Double, minimumRate: Double = 0, warmupSteps: Int = 0) {
        self.kind = kind
        self.baseRate = baseRate
        self.minimumRate = minimumRate
        self.warmupSteps = warmupSteps
    }

    /// The rate of local step `step` (0-based) of `stepsInRound`, in round `round` (1-based) of `rounds`.
    public func rate(step: Int, stepsInRound: Int, round: Int, rounds: Int) -> Double {
        var rate = baseRate
        if kind == .cosine {
            let position = (Double(max(0, round - 1)) + Double(step) / Double(max(1, stepsInRound))) / Double(max(1, rounds))
            rate = minimumRate + (baseRate - minimumRate) * (1 + cos(.pi * min(1, position))) / 2
        }
        if step < warmupSteps { rate *= Double(step + 1) / Double(warmupSteps) }
        return rate
    }
}
