// Content addresses: SHA-256 digests written as lowercase hex, as used for model blobs and updates.
public import Crypto
import Foundation

extension SHA256.Digest {
    /// The digest as 64 lowercase hex characters.
    public var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension SHA256 {
    /// The hex SHA-256 of `bytes`.
    public static func hex<D: DataProtocol>(_ bytes: D) -> String { hash(data: bytes).hex }

    /// Whether `text` looks like a hex SHA-256 digest (so it is safe to use as a file name).
    public static func isHexDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
