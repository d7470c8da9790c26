// SetupNoise: the Gaussian mechanism a site applies to a setup step's count vector when the job asks for noised setup counts.
import Foundation

/// A setup step's counts with every patient's contribution bounded, and how much one patient can move each part of them.
///
/// The objective that computes the counts states the bound, because only it knows what a coordinate counts: a patient
/// adds at most 1 to each prevalence count, at most the grid's last edge in hours to an observed-time sum, and so on.
public struct BoundedCounts: Sendable, Equatable {
    /// One stretch of the vector whose coordinates share a scale, and its per-patient L2 sensitivity: the largest L2
    /// norm of the change to these coordinates when one patient is added or removed.
    public struct Part: Sendable, Equatable {
        /// What the coordinates count, for logs and errors (e.g. "patients per candidate").
        public var name: String
        public var range: Range<Int>
        public var sensitivity: Double

        public init(name: String, range: Range<Int>, sensitivity: Double) {
            self.name = name
            self.range = range
            self.sensitivity = sensitivity
        }
    }

    /// The counts, computed with each patient's contribution bounded as `parts` state.
    public var values: [UInt64]
    /// Parts covering every coordinate of `values` exactly once, in order.
    public var parts: [Part]

    public init(values: [UInt64], parts: [Part]) {
        self.values = values
        self.parts = parts
    }
}

/// The Gaussian mechanism on a bounded count vector (Dwork and Roth 2014, Theorem A.1; in Rényi DP, Mironov 2017,
/// Proposition 7: α / 2σ² for noise σ times the L2 sensitivity).
///
/// With P parts, part p gets noise of standard deviation σ · Δₚ · √P on each coordinate. Divided by those scales, the
/// vector has L2 sensitivity at most √(Σₚ 1/P) = 1 and unit noise per σ, so the whole release is one Gaussian mechanism
/// with noise multiplier σ, charged as one step with q = 1. Each site adds the full noise to its own counts, so its
/// guarantee does not depend on the other sites or on secure aggregation; rounding to integers and clamping to
/// [0, `SetupEncoding.maxValue`] afterwards is post-processing.
public enum SetupNoise {
    /// Each part's noise standard deviation at noise multiplier `sigma`; the parts must cover `count` coordinates in
    /// order with positive finite sensitivities (an objective's mistake otherwise).
    public static func standardDeviations(_ parts: [BoundedCounts.Part], count: Int, noiseMultiplier sigma: Double) throws -> [Double] {
        guard sigma.isFinite, sigma > 0 else {
            throw FedCTError(.invalidConfiguration, "setup noise multiplier \(sigma) is not a positive number; set privacy.setup_noise_multiplier (e.g. 1), or 0 for exact setup counts")
        }
        var next = 0
        for part in parts {
            guard part.range.lowerBound == next else {
                throw FedCTError(.invalidData, "setup noise: part '\(part.name)' covers \(part.range), expected it to start at \(next)")
            }
            guard part.sensitivity.isFinite, part.sensitivity > 0 else {
                throw FedCTError(.invalidData, "setup noise: part '\(part.name)' has sensitivity \(part.sensitivity); it must be positive and finite")
            }
            next = part.range.upperBound
        }
        guard next == count else {
            throw FedCTError(.invalidData, "setup noise: the parts cover \(next) of the \(count) counts")
        }
        let spread = Double(parts.count).squareRoot()
        return parts.map { sigma * $0.sensitivity * spread }
    }

    /// `counts` with Gaussian noise added (deviations from ``standardDeviations(_:count:noiseMultiplier:)``), rounded to
    /// integers and clamped to [0, `SetupEncoding.maxValue`].
    public static func noised(_ counts: BoundedCounts, noiseMultiplier sigma: Double,
                              using generator: inout some RandomNumberGenerator) throws -> [UInt64] {
        let deviations = try standardDeviations(counts.parts, count: counts.values.count, noiseMultiplier: sigma)
        var values = counts.values
        for (part, deviation) in zip(counts.parts, deviations) {
            for index in part.range {
                let noisy = (Double(values[index]) + deviation * gaussian(using: &generator)).rounded()
                values[index] = noisy <= 0 ? 0 : UInt64(min(noisy, Double(SetupEncoding.maxValue)))
            }
        }
        return values
    }

    /// The privacy spend of one noised setup step: one Gaussian mechanism on every patient (q = 1) at `sigma`, recorded
    /// under the step's wire round (0, −1, −2, …) so a reviewer tells it from the training rounds.
    public static func spend(jobID: String, step: SetupStep, noiseMultiplier sigma: Double, delta: Double) -> PrivacySpend {
        PrivacySpend(jobID: jobID, round: step.wireRound, level: .patient, samplingRate: 1, noiseMultiplier: sigma, steps: 1, delta: delta)
    }

    /// A standard normal draw (Box–Muller on two uniform draws from `generator`).
    static func gaussian(using generator: inout some RandomNumberGenerator) -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &generator)
        let v = Double.random(in: 0..<1, using: &generator)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
