// FixedPointEncoding+Seed: encodings whose rounding and noise come from a seed, for reproducible in-process experiments.
import Crypto

extension FixedPointEncoding {
    /// ``encode(_:weight:loss:randomKey:)`` with the ChaCha20 key SHA-256("fixed-point/<seed>/<stream>"): the same seed and
    /// stream give the same words. For experiments and tests only — the site agent draws a fresh key per update, since
    /// site-level DP noise must be secret.
    public func encode(_ update: [Float], weight: Int64, loss: Double? = nil, seed: UInt64, stream: String) throws -> [UInt32] {
        try encode(update, weight: weight, loss: loss, randomKey: SymmetricKey(data: SHA256.hash(data: Array("fixed-point/\(seed)/\(stream)".utf8))))
    }
}
