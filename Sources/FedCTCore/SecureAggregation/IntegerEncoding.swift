// IntegerEncoding: exact secure sums of non-negative integers — each value split into limbs narrow enough that n sites cannot overflow a word.

/// Encodes non-negative integers as words mod 2^32 whose sum over `sites` inputs decodes exactly.
///
/// Unlike `FixedPointEncoding` (model updates: clipped, scaled, rounded), nothing is clipped or rounded:
/// scale 1. Each value is split into `limbsPerValue` limbs of `limbBits` bits, the widest for which
/// `sites` × (2^limbBits − 1) < 2^32, so a limb's sum over all sites never wraps; the decoded value is
/// Σₖ limbSumₖ · 2^(k·limbBits). A value above `maxValue` (agreed in advance by everyone) is refused.
/// Word layout: value i's limbs at i·limbsPerValue …, least significant first.
public struct IntegerEncoding: Sendable, Equatable {
    public let maxValue: UInt64
    public let sites: Int
    public let limbBits: Int
    public let limbsPerValue: Int

    /// An encoding for `sites` inputs of values at most `maxValue`; refuses what could overflow the decoded sum.
    public init(maxValue: UInt64, sites: Int) throws {
        guard sites >= 1, sites < 1 << 16 else {
            throw FedCTError(.invalidConfiguration, "integer secure sum: \(sites) sites; between 1 and 65535 can be summed exactly")
        }
        let (total, overflow) = maxValue.multipliedReportingOverflow(by: UInt64(sites))
        guard maxValue >= 1, !overflow, total < 1 << 63 else {
            throw FedCTError(.invalidConfiguration, "integer secure sum: \(sites) sites × bound \(maxValue) exceeds 2^63; lower the bound")
        }
        var bits = 32
        while UInt64(sites) * ((UInt64(1) << UInt64(bits)) - 1) > UInt64(UInt32.max) { bits -= 1 }
        self.maxValue = maxValue
        self.sites = sites
        self.limbBits = bits
        self.limbsPerValue = max(1, (maxValue.bitWidth - maxValue.leadingZeroBitCount + bits - 1) / bits)
    }

    /// Words of `values.count × limbsPerValue`; `name` says what value i is, for the error of one above `maxValue`.
    public func encode(_ values: [UInt64], name: (Int) -> String = { "value \($0)" }) throws -> [UInt32] {
        var words: [UInt32] = []
        words.reserveCapacity(values.count * limbsPerValue)
        let mask = (UInt64(1) << UInt64(limbBits)) - 1
        for (index, value) in values.enumerated() {
            guard value <= maxValue else {
                throw FedCTError(.invalidData, "\(name(index)) is \(value), above the bound \(maxValue) every site agreed to; nothing was sent")
            }
            for limb in 0..<limbsPerValue { words.append(UInt32((value >> UInt64(limb * limbBits)) & mask)) }
        }
        return words
    }

    /// The sums of the values from the (unmasked) sum of every site's words.
    public func decode(sum words: [UInt32]) throws -> [UInt64] {
        guard words.count % limbsPerValue == 0 else {
            throw FedCTError(.integrity, "integer secure sum: \(words.count) words is not a multiple of \(limbsPerValue) limbs per value")
        }
        return stride(from: 0, to: words.count, by: limbsPerValue).map { start in
            (0..<limbsPerValue).reduce(UInt64(0)) { $0 + (UInt64(words[start + $1]) << UInt64($1 * limbBits)) }
        }
    }

    /// The word count of `values` values.
    public func wordCount(values: Int) -> Int { values * limbsPerValue }
}
