// LoginKey: the secret that signs a daemon's login links and session cookies, kept in a 0600 file or only in memory.
import FedCTCore
public import Crypto
public import Foundation

/// Loads or creates the 32-byte HMAC key in `file` (mode 0600), so that a tool run by the same operator
/// (`fedctl dashboard login`) can sign a login link the daemon accepts.
public enum LoginKey {
    /// Reads the key in `file`, creating it with fresh random bytes when it does not exist.
    public static func loadOrCreate(_ file: URL) throws -> SymmetricKey {
        if FileManager.default.fileExists(atPath: file.path) { return try load(file) }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: file.path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw FedCTError(.io, "cannot create the login key \(file.path); is the state folder writable?")
        }
        return key
    }

    /// Reads an existing key; the error says which file and what to do.
    public static func load(_ file: URL) throws -> SymmetricKey {
        guard let bytes = FileManager.default.contents(atPath: file.path) else {
            throw FedCTError(.notFound, "cannot read the login key \(file.path); run this on the daemon's host as its user, after the daemon has started with its web page enabled")
        }
        guard bytes.count == 32 else {
            throw FedCTError(.invalidData, "the login key \(file.path) holds \(bytes.count) bytes, not 32; delete it and restart the daemon")
        }
        return SymmetricKey(data: bytes)
    }
}
