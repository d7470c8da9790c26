// RDPAccountant: Rényi-DP accounting of the Poisson-subsampled Gaussian mechanism and its conversion to (ε, δ).
import Foundation

/// Rényi differential privacy (RDP) of composed Poisson-subsampled Gaussian mechanisms.
///
/// Keeps one RDP value per order α; composing a mechanism adds its RDP at every order (RDP composes
/// additively). ``epsilon(delta:)`` converts the totals to an (ε, δ) guarantee at the best order.
///
/// The computation follows Google's `dp-accounting` package (`dp_accounting.rdp.RdpAccountant` with
/// `PoissonSampledDpEvent(q, GaussianDpEvent(σ))`, add-or-remove-one neighbours): the same default
/// orders, the same series for integer and fractional orders (Mironov, Talwar and Zhang 2019,
/// arXiv:1908.10530) and the same RDP → (ε, δ) conversion (Canonne, Kamath and Steinke 2020,
/// arXiv:2004.00010, Proposition 12). All sums are taken in log space, so the accountant stays
/// finite and accurate for σ from 0.3 to 100, q from 1e-5 to 1 and millions of steps.
public struct RDPAccountant: Sendable, Codable, Equatable {
    /// The orders `dp-accounting` uses by default: 1.1, 1.2, …, 10.9, then 11, 12, …, 63, then 128, 256, 512, 1024.
    public static let defaultOrders: [Double] = {
        let fractional: [Double] = (1..<100).map { 1 + Double($0) / 10 }
        let integer: [Double] = (11..<64).map { Double($0) }
        return fractional + integer + [128, 256, 512, 1024]
    }()

    /// The Rényi orders α at which privacy is tracked.
    public let orders: [Double]

    /// The accumulated RDP ε(α) at each of ``orders``, in nats; `+∞` where a mechanism gives no bound.
    public private(set) var rdp: [Double]

    /// An accountant with nothing spent yet. Orders must be finite and greater than 1; ``compose(samplingRate:noiseMultiplier:steps:)`` checks them.
    public init(orders: [Double] = RDPAccountant.defaultOrders) {
        self.orders = orders
        self.rdp = Array(repeating: 0, count: orders.count)
    }

    /// Adds `steps` applications of the Gaussian mechanism with noise multiplier `sigma` (noise standard
    /// deviation over the L2 sensitivity) to a Poisson sample drawn with probability `q`.
    ///
    /// `q = 1` is the plain Gaussian mechanism (RDP α / 2σ² per step); `q = 0` spends nothing; `σ = 0`
    /// (no noise) makes ε infinite.
    public mutating func compose(samplingRate q: Double, noiseMultiplier sigma: Double, steps: Int) throws {
        try Self.validate(orders: orders)
        guard q.isFinite, q >= 0, q <= 1 else {
            throw FedCTError(.invalidConfiguration, "sampling rate q = \(q) is not in [0, 1]; use 1 when every site takes part in every round, or batch size / number of patients for patient-level DP-SGD")
        }
        guard sigma.isFinite, sigma >= 0 else {
            throw FedCTError(.invalidConfiguration, "noise multiplier σ = \(sigma) is not a finite number ≥ 0; set privacy.noise_multiplier to the noise standard deviation divided by the clip norm (e.g. 1.0)")
        }
        guard steps >= 0 else {
            throw FedCTError(.invalidConfiguration, "step count \(steps) is negative; pass the number of noised releases (rounds, or DP-SGD steps)")
        }
        guard steps > 0 else { return }
        let count = Double(steps)
        for index in orders.indices {
            rdp[index] += count * Self.rdpPerStep(q: q, sigma: sigma, order: orders[index])
        }
    }

    /// The smallest ε over all orders such that the composed mechanisms are (ε, δ)-DP, and the order that gives it.
    ///
    /// Uses ε(α) = RDP(α) + log(1 − 1/α) − log(δα) / (α − 1) for α > 1.01, and ε = 0 where the KL bound
    /// δ ≥ √(1 − e^{−RDP(α)}) already holds, exactly as `dp-accounting`'s `compute_epsilon`.
    /// Returns `(+∞, orders[0])` when no order gives a finite bound (for example σ = 0).
    public func epsilon(delta: Double) throws -> (epsilon: Double, order: Double) {
        guard delta.isFinite, delta > 0, delta < 1 else {
            throw FedCTError(.invalidConfiguration, "δ = \(delta) is not in (0, 1); set privacy.delta to a small probability, typically below 1 / number of patients (e.g. 1e-5)")
        }
        try Self.validate(orders: orders)
        var best: (epsilon: Double, order: Double)?
        for (alpha, r) in zip(orders, rdp) {
            let candidate: Double
            if r < 0 {
                // Only numerical noise from extreme parameters makes RDP negative; dp-accounting reads it as ε = 0.
                candidate = 0
            } else if delta * delta + expm1(-r) > 0 {
                candidate = 0
            } else if alpha > 1.01 {
                candidate = r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1)
            } else {
                candidate = .infinity
            }
            // Strict comparison keeps the first minimum, as numpy's argmin does.
            if best == nil || candidate < best!.epsilon {
                best = (candidate, alpha)
            }
        }
        // validate(orders:) guarantees at least one order.
        let (epsilon, order) = best!
        return (max(0, epsilon), order)
    }

    /// Decodes `orders` and `rdp`, refusing unequal lengths, NaN values and orders that are not finite and greater than 1.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let orders = try container.decode([Double].self, forKey: .orders)
        let rdp = try container.decode([Double].self, forKey: .rdp)
        guard orders.count == rdp.count else {
            throw DecodingError.dataCorruptedError(forKey: .rdp, in: container, debugDescription: "\(rdp.count) RDP values for \(orders.count) orders")
        }
        guard !rdp.contains(where: \.isNaN) else {
            throw DecodingError.dataCorruptedError(forKey: .rdp, in: container, debugDescription: "an RDP value is NaN")
        }
        do {
            try Self.validate(orders: orders)
        } catch let error as FedCTError {
            throw DecodingError.dataCorruptedError(forKey: .orders, in: container, debugDescription: error.message)
        }
        self.orders = orders
        self.rdp = rdp
    }

    private enum CodingKeys: String, CodingKey {
        case orders, rdp
    }

    private static func validate(orders: [Double]) throws {
        guard !orders.isEmpty else {
            throw FedCTError(.invalidConfiguration, "the RDP accountant has no orders; use RDPAccountant.defaultOrders")
        }
        if let bad = orders.first(where: { !($0.isFinite && $0 > 1) }) {
            throw FedCTError(.invalidConfiguration, "RDP order \(bad) is not a finite number greater than 1; use RDPAccountant.defaultOrders")
        }
    }
}

// MARK: - RDP of one step

extension RDPAccountant {
    /// RDP at `order` of one Poisson-subsampled Gaussian step (`_compute_rdp_poisson_subsampled_gaussian`).
    static func rdpPerStep(q: Double, sigma: Double, order alpha: Double) -> Double {
        if q == 0 { return 0 }
        if alpha.isInfinite || sigma == 0 { return .infinity }
        if q == 1 { return alpha / (2 * (sigma * sigma)) }
        let logA = alpha.rounded() == alpha
            ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
            : logAFractional(q: q, sigma: sigma, alpha: alpha)
        return logA / (alpha - 1)
    }

    /// log A_α for integer α and 0 < q < 1: the binomial expansion Σᵢ C(α,i) qⁱ(1−q)^{α−i} e^{(i²−i)/2σ²}.
    private static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        var logA = -Double.infinity
        let logQ = log(q)
        let log1mq = log1p(-q)
        let twoSigmaSquared = 2 * (sigma * sigma)
        for i in 0...alpha {
            let logCoefficient = logBinomial(Double(alpha), Double(i)) + Double(i) * logQ + Double(alpha - i) * log1mq
            logA = logAdd(logA, logCoefficient + Double(i * i - i) / twoSigmaSquared)
        }
        return logA
    }

    /// The iteration cap of the fractional-order series; dp-accounting uses the same.
    private static let fractionalSeriesMaxTerms = 1000

    /// log A_α for fractional α and 0 < q < 1: the two-sided series of arXiv:1908.10530 §3.3, split at
    /// z₀ = σ² log(1/q − 1) + ½. Returns +∞ (the order then gives no bound) if the series does not converge.
    private static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var logA0 = -Double.infinity
        var logA1 = -Double.infinity
        let sigmaSquared = sigma * sigma
        let z0 = sigmaSquared * log(1 / q - 1) + 0.5
        let logQ = log(q)
        let log1mq = log1p(-q)
        let sqrt2Sigma = 2.0.squareRoot() * sigma
        var lastS0 = -Double.infinity
        var lastS1 = -Double.infinity
        for step in 0..<fractionalSeriesMaxTerms {
            let i = Double(step)
            let logCoefficient = logBinomial(alpha, i)
            let j = alpha - i
            let logT0 = logCoefficient + i * logQ + j * log1mq
            let logT1 = logCoefficient + j * logQ + i * log1mq
            let logE0 = log(0.5) + logErfc((i - z0) / sqrt2Sigma)
            let logE1 = log(0.5) + logErfc((z0 - j) / sqrt2Sigma)
            let logS0 = logT0 + (i * i - i) / (2 * sigmaSquared) + logE0
            let logS1 = logT1 + (j * j - j) / (2 * sigmaSquared) + logE1
            logA0 = logAdd(logA0, logS0)
            logA1 = logAdd(logA1, logS1)
            let total = logAdd(logA0, logA1)
            // Stop once both tails shrink and are negligible (e^{−30}) against the total.
            if logS0 < lastS0, logS1 < lastS1, max(logS0, logS1) < total - 30 {
                return total
            }
            lastS0 = logS0
            lastS1 = logS1
        }
        return .infinity
    }
}

// MARK: - Log-space numerics

extension RDPAccountant {
    /// log(eˣ + eʸ) without overflow.
    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (a, b) = (min(x, y), max(x, y))
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log of the (generalised) binomial coefficient, log|Γ(n+1) / (Γ(k+1) Γ(n−k+1))|.
    static func logBinomial(_ n: Double, _ k: Double) -> Double {
        logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
    }

    /// log|Γ(x)|, through the reentrant `lgamma_r` (plain `lgamma` writes the global `signgam`).
    static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// log(erfc(x)), accurate where erfc(x) underflows: log 2 + log Φ(−x√2).
    static func logErfc(_ x: Double) -> Double {
        log(2) + logNormalCDF(-x * 2.0.squareRoot())
    }

    /// log Φ(a) for the standard normal CDF Φ, as SciPy's `log_ndtr`: log1p for a > 6, the
    /// asymptotic series for a < −20, log Φ(a) in between.
    static func logNormalCDF(_ a: Double) -> Double {
        if a > 6 { return -normalCDF(-a) }
        if a > -20 { return log(normalCDF(a)) }
        // Φ(a) ≈ φ(a)/|a| · Σₙ (−1)ⁿ (2n−1)!! / a²ⁿ, summed until it stops changing.
        let logLeft = -0.5 * a * a - log(-a) - 0.5 * log(2 * Double.pi)
        let inverseSquare = 1 / (a * a)
        var rightSide = 1.0
        var lastTotal = 0.0
        var numerator = 1.0
        var denominatorFactor = 1.0
        var sign = 1.0
        var n = 0.0
        while abs(lastTotal - rightSide) > Double.ulpOfOne {
            n += 1
            lastTotal = rightSide
            sign = -sign
            denominatorFactor *= inverseSquare
            numerator *= 2 * n - 1
            rightSide += sign * numerator * denominatorFactor
        }
        return logLeft + log(rightSide)
    }

    /// Φ(a) from erf/erfc, keeping relative accuracy in the lower tail (Cephes `ndtr`).
    private static func normalCDF(_ a: Double) -> Double {
        let x = a * 0.5.squareRoot()
        let z = abs(x)
        if z < 0.5.squareRoot() { return 0.5 + 0.5 * erf(x) }
        let tail = 0.5 * erfc(z)
        return x > 0 ? 1 - tail : tail
    }
}
