// ModelStore: content-addressed model blobs on disk (SHA-256 names), written atomically.
public import FedCTCore
import Crypto
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

/// Crash-safe file replacement: readers see the old or the new content, never a torn file.
public enum AtomicFile {
    public static func write(_ bytes: some Collection<UInt8>, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appending(path: ".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FedCTError(.io, "cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        let array = Array(bytes)
        var written = 0
        let failure: String? = array.withUnsafeBytes { raw in
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 { return String(cString: strerror(errno)) }
                written += result
            }
            return fsync(descriptor) == 0 ? nil : String(cString: strerror(errno))
        }
        close(descriptor)
        if let failure {
            unlink(temporary.path)
            throw FedCTError(.io, "cannot write \(url.path): \(failure) (disk full?); nothing was replaced")
        }
        guard rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw FedCTError(.io, "cannot move \(temporary.path) to \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}
