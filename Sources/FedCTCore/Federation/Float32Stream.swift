// Float32Stream: turns a byte stream of little-endian float32 values, cut anywhere, into float chunks.

/// Decodes little-endian float32 coordinates from byte chunks whose boundaries need not fall on
/// a value, carrying at most three bytes from one chunk to the next.
public struct Float32Stream: Sendable {
    private var carry: [UInt8] = []
    public private(set) var valueCount = 0

    public init() {}

    /// Decodes the whole values available after appending `bytes`, and hands them to `body`.
    public mutating func feed(_ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        var joined = carry
        joined.append(contentsOf: bytes)
        let whole = joined.count / 4
        let values = [Float](unsafeUninitializedCapacity: whole) { buffer, count in
            joined.withUnsafeBytes { raw in
                for index in 0..<whole {
                    buffer[index] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian)
                }
            }
            count = whole
        }
        carry = Array(joined[(whole * 4)...])
        valueCount += whole
        try values.withUnsafeBufferPointer(body)
    }

    /// Whether the stream ended on a value boundary.
    public var isAligned: Bool { carry.isEmpty }

    /// Encodes `values` as little-endian float32 bytes.
    public static func encode(_ values: ArraySlice<Float>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 4)
        out.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
        return out
    }
}
