// ShamirSecretSharing: t-of-n sharing of field elements and of 32-byte secrets over GF(2^61 − 1).

/// One party's share of a secret: the polynomial evaluated at `x`, one value per 56-bit limb.
public struct ShamirShare: Hashable, Sendable {
    public var x: UInt64
    public var limbs: [FieldElement]

    public init(x: UInt64, limbs: [FieldElement]) {
        self.x = x
        self.limbs = limbs
    }
}

/// Shamir's secret sharing (1979): a secret is the constant term of a random polynomial of degree
/// t − 1; any t evaluations at distinct non-zero points rebuild it, fewer reveal nothing.
///
/// 32-byte secrets (X25519 private keys, mask seeds) are split into five 56-bit limbs, each shared
/// with an independent polynomial, so every limb is far below the field order.
public enum ShamirSecretSharing {
    /// Bytes per limb; 7 bytes = 56 bits < 61.
    static let limbBytes = 7
    /// Limbs per 32-byte secret.
    public static let limbCount = 5

    /// Shares of `secret` (any byte count up to 35) for the points `xs`, any `threshold` of which rebuild it.
    public static func split(
        _ secret: [UInt8], threshold: Int, xs: [UInt64], using generator: inout some RandomNumberGenerator
    ) throws -> [ShamirShare] {
        guard secret.count <= limbCount * limbBytes else {
            throw FedCTError(.invalidData, "shamir: a secret of \(secret.count) bytes is longer than \(limbCount * limbBytes)")
        }
        try checkPoints(xs, threshold: threshold)
        let padded = secret + [UInt8](repeating: 0, count: limbCount * limbBytes - secret.count)
        var shares = xs.map { ShamirShare(x: $0, limbs: []) }
        for limb in 0..<limbCount {
            var value: UInt64 = 0
            for byte in padded[(limb * limbBytes)..<((limb + 1) * limbBytes)] { value = value << 8 | UInt64(byte) }
            let coefficients = [FieldElement(value)] + (1..<threshold).map { _ in FieldElement.random(using: &generator) }
            for index in shares.indices {
                shares[index].limbs.append(evaluate(coefficients, at: FieldElement(xs[index])))
            }
        }
        return shares
    }

    /// Rebuilds a secret of `byteCount` bytes from at least `threshold` shares (only the first
    /// `threshold` are used; shares must have distinct points).
    public static func combine(_ shares: [ShamirShare], threshold: Int, byteCount: Int) throws -> [UInt8] {
        guard shares.count >= threshold else {
            throw FedCTError(.failedPrecondition, "shamir: \(shares.count) shares cannot rebuild a secret that needs \(threshold)")
        }
        let used = Array(shares.prefix(threshold))
        try checkPoints(used.map(\.x), threshold: threshold)
        guard used.allSatisfy({ $0.limbs.count == limbCount }) else {
            throw FedCTError(.invalidData, "shamir: a share does not have \(limbCount) limbs")
        }
        let weights = try lagrangeWeightsAtZero(used.map { FieldElement($0.x) })
        var bytes: [UInt8] = []
        for limb in 0..<limbCount {
            var value = FieldElement.zero
            for (share, weight) in zip(used, weights) { value = value + share.limbs[limb] * weight }
            guard value.value < 1 << (limbBytes * 8) else {
                throw FedCTError(.integrity, "shamir: the shares are inconsistent (a rebuilt limb is out of range)")
            }
            for shift in stride(from: (limbBytes - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value.value >> UInt64(shift))) }
        }
        guard bytes[byteCount...].allSatisfy({ $0 == 0 }) else {
            throw FedCTError(.integrity, "shamir: the shares are inconsistent (padding of the rebuilt secret is not zero)")
        }
        return Array(bytes.prefix(byteCount))
    }

    /// p(x) for coefficients c₀, c₁, … by Horner's rule.
    static func evaluate(_ coefficients: [FieldElement], at x: FieldElement) -> FieldElement {
        coefficients.reversed().reduce(FieldElement.zero) { $0 * x + $1 }
    }

    /// λᵢ = Π_{j≠i} xⱼ / (xⱼ − xᵢ), so that p(0) = Σ λᵢ p(xᵢ).
    static func lagrangeWeightsAtZero(_ xs: [FieldElement]) throws -> [FieldElement] {
        try xs.indices.map { i in
            var numerator = FieldElement.one
            var denominator = FieldElement.one
            for j in xs.indices where j != i {
                numerator = numerator * xs[j]
                denominator = denominator * (xs[j] - xs[i])
            }
            return numerator * (try denominator.inverse())
        }
    }

    private static func checkPoints(_ xs: [UInt64], threshold: Int) throws {
        guard threshold >= 1, threshold <= xs.count else {
            throw FedCTError(.invalidConfiguration, "shamir: threshold \(threshold) must be between 1 and the \(xs.count) shares")
        }
        guard xs.allSatisfy({ $0 != 0 && $0 < FieldElement.modulus }), Set(xs).count == xs.count else {
            throw FedCTError(.invalidData, "shamir: share points must be distinct, non-zero field elements")
        }
    }
}
