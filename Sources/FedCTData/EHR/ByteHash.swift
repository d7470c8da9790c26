// ByteHash: a 64-bit FNV-1a hash over byte strings with a final avalanche, for interning and duplicate-row detection.

/// Hashes bytes to 64 bits, deterministically across runs and machines (unlike `Hasher`).
struct ByteHash {
    private(set) var state: UInt64

    /// Starts a hash; different seeds give independent hashes of the same bytes.
    init(seed: UInt64 = 0) {
        state = 0xcbf2_9ce4_8422_2325 ^ (seed &* 0x9e37_79b9_7f4a_7c15)
    }

    /// Adds `bytes` followed by their length, so ("ab", "c") and ("a", "bc") hash differently.
    mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        combine(length: bytes.count)
    }

    /// Adds a length or an index.
    mutating func combine(length: Int) {
        state = (state ^ UInt64(truncatingIfNeeded: length)) &* 0x0000_0100_0000_01b3
    }

    /// The hash, mixed so that every bit of the state reaches the low bits used to pick a slot.
    var value: UInt64 {
        var x = state
        x = (x ^ (x >> 33)) &* 0xff51_afd7_ed55_8ccd
        x = (x ^ (x >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return x ^ (x >> 33)
    }

    /// The hash of one byte string.
    static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = ByteHash()
        hash.combine(bytes)
        return hash.value
    }
}
