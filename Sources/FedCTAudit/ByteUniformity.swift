// ByteUniformity: Pearson's chi-square test that a masked payload's bytes look uniformly distributed, as masking makes them.
import Foundation

/// The χ² goodness-of-fit test of byte values against the uniform distribution on 0…255 (255 degrees of freedom).
///
/// Masked words are sums with pseudorandom masks mod 2³², so every byte of them is uniform; an unmasked fixed-point
/// or float32 vector has heavily skewed bytes (zeros, sign and exponent bytes) and fails by a wide margin.
/// The threshold is the χ²₍₂₅₅₎ quantile at 1 − 10⁻⁶ (Wilson–Hilferty approximation, ≈ 377.2): a truly masked
/// payload fails with probability 10⁻⁶.
public struct ByteUniformity: Sendable, Equatable {
    /// Degrees of freedom.
    public static let degreesOfFreedom = 255
    /// The false-alarm probability the threshold is set at.
    public static let falseAlarm = 1e-6
    /// The χ² value above which the bytes are judged not uniform.
    public static let threshold: Double = {
        let k = Double(degreesOfFreedom)
        let z = 4.753424308822899  // standard normal quantile at 1 − 10⁻⁶
        let c = 2 / (9 * k)
        return k * pow(1 - c + z * c.squareRoot(), 3)
    }()
    /// Fewer bytes than this (5 expected per value) are not tested.
    public static let minimumBytes = 256 * 5

    /// The χ² statistic.
    public var statistic: Double
    /// Bytes tested.
    public var count: Int

    /// Whether the bytes pass (statistic at or below ``threshold``).
    public var looksUniform: Bool { statistic <= Self.threshold }

    /// Tests `bytes`; nil when there are fewer than ``minimumBytes``.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.minimumBytes else { return nil }
        var histogram = [Int](repeating: 0, count: 256)
        for byte in bytes { histogram[Int(byte)] += 1 }
        let expected = Double(bytes.count) / 256
        statistic = histogram.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        count = bytes.count
    }
}
