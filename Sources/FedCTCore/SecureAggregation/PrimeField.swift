// PrimeField: arithmetic in GF(2^61 − 1), the field of FedCT's Shamir secret sharing.

/// An element of the prime field of order p = 2^61 − 1 (a Mersenne prime, so reduction is a shift and an add).
public struct FieldElement: Hashable, Sendable, CustomStringConvertible {
    public static let modulus: UInt64 = (1 << 61) - 1

    /// The canonical representative, in 0..<p.
    public let value: UInt64

    /// `value` reduced modulo p.
    public init(_ value: UInt64) {
        let folded = (value & Self.modulus) &+ (value >> 61)
        self.value = folded >= Self.modulus ? folded - Self.modulus : folded
    }

    public static let zero = FieldElement(0)
    public static let one = FieldElement(1)

    public static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(a.value &+ b.value)
    }

    public static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(a.value &+ (modulus - b.value))
    }

    public static func * (a: FieldElement, b: FieldElement) -> FieldElement {
        let (high, low) = a.value.multipliedFullWidth(by: b.value)
        // a·b = high·2^64 + low; 2^61 ≡ 1, so fold the product's bits above 61 onto its low 61 bits.
        let upper = (high << 3) | (low >> 61)
        return FieldElement((low & modulus) &+ upper)
    }

    /// a^exponent by square-and-multiply.
    public func power(_ exponent: UInt64) -> FieldElement {
        var result = FieldElement.one
        var base = self
        var remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result = result * base }
            base = base * base
            remaining >>= 1
        }
        return result
    }

    /// The multiplicative inverse (Fermat: a^(p−2)); zero has none.
    public func inverse() throws -> FieldElement {
        guard value != 0 else { throw FedCTError(.invalidData, "shamir: zero has no inverse (two shares with the same x?)") }
        return power(Self.modulus - 2)
    }

    /// A uniformly random element, by rejection sampling 61-bit draws.
    public static func random(using generator: inout some RandomNumberGenerator) -> FieldElement {
        while true {
            let draw = generator.next() >> 3
            if draw < modulus { return FieldElement(draw) }
        }
    }

    public var description: String { "\(value)" }
}
