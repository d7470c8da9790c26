// ModelStore: content-addressed model blobs on disk (SHA-256 names), written atomically.
import FedCTCore
import Crypto
import FedCTStorage
import Foundation

/// Model blobs stored as `<folder>/<sha256>.safetensors`; a blob's name is the hash of its bytes.
public struct ModelStore: Sendable {
    public let folder: URL

    public init(folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    public func url(for sha256: String) -> URL { folder.appending(path: "\(sha256).safetensors") }

    /// Stores `bytes` (write to a temporary file, fsync, rename) and returns their SHA-256.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws -> String {
        let sha = SHA256.hex(bytes)
        let target = url(for: sha)
        if FileManager.default.fileExists(atPath: target.path) { return sha }
        try AtomicFile.write(bytes, to: target)
        return sha
    }

    /// Reads a blob back, checking its hash.
    public func get(_ sha256: String) throws -> [UInt8] {
        guard SHA256.isHexDigest(sha256), let data = FileManager.default.contents(atPath: url(for: sha256).path) else {
            throw FedCTError(.notFound, "no model blob \(sha256)")
        }
        let bytes = [UInt8](data)
        guard SHA256.hex(bytes) == sha256 else {
            throw FedCTError(.integrity, "model blob \(url(for: sha256).path) is corrupt (hash mismatch); restore it from backup")
        }
        return bytes
    }

    public func size(_ sha256: String) -> Int? {
        guard SHA256.isHexDigest(sha256) else { return nil }
        return (try? FileManager.default.attributesOfItem(atPath: url(for: sha256).path)[.size] as? Int) ?? nil
    }
}
