// UpdatePayload: an update's bytes — the little-endian 32-bit values of the array they were computed in, hashed once, sent chunk by chunk.
import Crypto
import FedCTCore
import Foundation

/// The payload of an update upload: the float32 delta of a plain round or the masked uint32 words of a secure one, as
/// the little-endian bytes of the array that holds them — never copied whole. The SHA-256 the header carries is taken in
/// one pass over those bytes when the payload is made; the link copies out one chunk at a time as it sends.
struct UpdatePayload: Sendable {
    private enum Values: Sendable {
        case floats([Float])
        case words([UInt32])
    }

    private let values: Values
    /// Payload bytes (4 per value).
    let count: Int
    /// The payload's SHA-256, hex.
    let sha256: String

    /// The delta's float32 values as they lie (converted to little-endian first on a big-endian host).
    init(floats: [Float]) {
        #if _endian(big)
        self.init(.floats(floats.map { Float(bitPattern: $0.bitPattern.littleEndian) }), count: floats.count)
        #else
        self.init(.floats(floats), count: floats.count)
        #endif
    }

    /// Masked words as they lie (converted to little-endian first on a big-endian host).
    init(words: [UInt32]) {
        #if _endian(big)
        self.init(.words(words.map(\.littleEndian)), count: words.count)
        #else
        self.init(.words(words), count: words.count)
        #endif
    }

    private init(_ values: Values, count: Int) {
        self.values = values
        self.count = count * 4
        sha256 = Self.withBytes(of: values) { SHA256.hex($0) }
    }

    /// Calls `body` with the payload's bytes, where they lie.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Self.withBytes(of: values, body)
    }

    /// Bytes `range` of the payload, copied out as one chunk message's data.
    func chunk(_ range: Range<Int>) -> Data {
        withBytes { Data($0[range]) }
    }

    private static func withBytes<R>(of values: Values, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch values {
        case .floats(let floats): try floats.withUnsafeBytes(body)
        case .words(let words): try words.withUnsafeBytes(body)
        }
    }
}
