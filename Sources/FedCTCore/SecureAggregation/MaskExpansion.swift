// MaskExpansion: expands a 256-bit key into a ChaCha20 keystream of mask words, added to or subtracted from a vector.
import Crypto
import Foundation
import _CryptoExtras

/// A pseudorandom mask: the ChaCha20 keystream (RFC 8439, zero nonce) of a 256-bit key, read as
/// little-endian words. Word i of the mask is the same whichever chunk of the vector it is applied in.
///
/// Every key is used for one mask only (keys are derived per round and per pair with HKDF), so the
/// fixed nonce never repeats under a key.
public struct MaskExpansion: Sendable {
    /// Keystream bytes per ChaCha20 call: 1 MiB (16384 blocks of 64 bytes).
    static let chunkBytes = 1 << 20
    static let nonce = try! Insecure.ChaCha20CTR.Nonce(data: [UInt8](repeating: 0, count: 12))
    /// The plaintext ChaCha20 encrypts into keystream, shared by every call (a sum is unmasked in many parts).
    static let zeros = [UInt8](repeating: 0, count: chunkBytes)

    public enum Sign: Sendable { case add, subtract }

    let key: SymmetricKey

    public init(key: SymmetricKey) throws {
        guard key.bitCount == 256 else { throw FedCTError(.invalidData, "mask key must be 256 bits (got \(key.bitCount))") }
        self.key = key
    }

    /// Applies mask words [offset, offset + vector.count) to `vector` modulo 2^32.
    public func apply(_ sign: Sign, to vector: UnsafeMutableBufferPointer<UInt32>, wordOffset offset: Int = 0) throws {
        guard !vector.isEmpty else { return }
        let wordBytes = 4
        var byte = offset * wordBytes
        let end = (offset + vector.count) * wordBytes
        while byte < end {
            // Keystream is generated from a 64-byte block boundary; skip into it when `byte` is mid-block.
            let block = byte / 64
            let skip = byte - block * 64
            let length = min(Self.chunkBytes, end - block * 64)
            guard block + (length + 63) / 64 <= Int(UInt32.max) else {
                throw FedCTError(.invalidData, "mask of \(end) bytes exceeds ChaCha20's 256 GiB counter range")
            }
            let stream = try Insecure.ChaCha20CTR.encrypt(Self.zeros[..<length], using: key,
                                                          counter: .init(offset: UInt32(block)), nonce: Self.nonce)
            let words = (length - skip) / wordBytes
            let first = byte / wordBytes - offset
            stream.withUnsafeBytes { raw in
                let source = raw.baseAddress! + skip
                switch sign {
                case .add:
                    for index in 0..<words {
                        vector[first + index] &+= UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * wordBytes, as: UInt32.self))
                    }
                case .subtract:
                    for index in 0..<words {
                        vector[first + index] &-= UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * wordBytes, as: UInt32.self))
                    }
                }
            }
            byte += words * wordBytes
        }
    }
}
