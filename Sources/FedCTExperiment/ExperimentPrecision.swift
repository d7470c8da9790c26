// ExperimentPrecision: how wide a paired difference's interval is, and how many seeds or held-out patients would make it ±target.
public import FedCTCore
import FedCTTraining
import Foundation

/// The half-width reached by a 95 % interval and, from its variance components, the seeds or held-out patients that
/// would bring it to ±`target`.
///
/// Model: Var(estimate) ≈ V_seed·S₀/S + V_patient·N₀/N (the mean of S seeds; N held-out patients shared by every
/// seed), with V_seed and V_patient from ``BootstrapSamples/varianceComponents`` at the run's S₀ and N₀; the
/// half-width is 1.96·√Var. Growing the training cohort is not modelled (it changes the models, not the noise).
public struct ExperimentPrecision: Sendable, Equatable {
    /// (upper − lower) / 2 of the interval.
    public var halfWidth: Double
    public var target: Double
    public var seeds: Int
    public var patients: Int
    public var seedVariance: Double
    public var patientVariance: Double

    public init(interval: BootstrapInterval, components: (seed: Double, patient: Double, total: Double), seeds: Int, patients: Int, target: Double) {
        halfWidth = (interval.upper - interval.lower) / 2
        self.target = target
        self.seeds = seeds
        self.patients = patients
        seedVariance = components.seed
        patientVariance = components.patient
    }

    /// The variance a ±target 95 % interval allows.
    var budget: Double { (target / 1.959964) * (target / 1.959964) }

    /// Whether the interval is already within ±target.
    public var reached: Bool { halfWidth <= target }

    /// Seeds needed at the run's held-out patients (at least the run's); nil when the patients' share alone exceeds the budget.
    public var seedsNeeded: Int? {
        guard patientVariance < budget else { return nil }
        return max(seeds, Self.ceiling(seedVariance * Double(seeds) / (budget - patientVariance)))
    }

    /// Held-out patients needed at the run's seeds (at least the run's); nil when the seeds' share alone exceeds the budget.
    public var patientsNeeded: Int? {
        guard seedVariance < budget else { return nil }
        return max(patients, Self.ceiling(patientVariance * Double(patients) / (budget - seedVariance)))
    }

    /// The smallest integer at or above `value`, ignoring a relative rounding error of 1e-12.
    static func ceiling(_ value: Double) -> Int { Int((value * (1 - 1e-12)).rounded(.up)) }

    /// The factor by which seeds and held-out patients together would have to grow (both by the same factor).
    public var bothFactor: Double { (seedVariance + patientVariance) / budget }

    /// One line: the width reached and, when it is wider than the target, what would reach it.
    public var summary: String {
        let reachedText = String(format: "±%.3f (target ±%.3f): ", halfWidth, target) + (reached ? "reached" : "not reached")
        let components = String(format: "variance from seeds %.2e, from patients %.2e", seedVariance, patientVariance)
        guard !reached else { return "\(reachedText); \(components)" }
        let bySeeds = seedsNeeded.map { "\($0) seeds at \(patients) held-out patients" } ?? "no number of seeds at \(patients) held-out patients"
        let byPatients = patientsNeeded.map { "\($0) held-out patients at \(seeds) seeds" } ?? "no number of held-out patients at \(seeds) seeds"
        let both = String(format: "or both ×%.1f (%d seeds, %d held-out patients)", bothFactor, Self.ceiling(Double(seeds) * bothFactor),
                          Self.ceiling(Double(patients) * bothFactor))
        return "\(reachedText); \(components); ±\(target) needs \(bySeeds), or \(byPatients), \(both)"
    }
}
