// ModelStore+Streaming: model blobs read and written in pieces, so a round's model never has to be in memory whole.
import Crypto
import FedCTCore
import FedCTStorage
import Foundation

/// A new blob written in pieces to a temporary file, hashed as it goes, and named by its hash by `finish()`.
public final class ModelBlobWriter {
    private let store: ModelStore
    private let file: AtomicFileWriter
    private var hasher = SHA256()
    private var pending = [UInt8]()
    /// Bytes gathered before each write to the file.
    private static let bufferBytes = 1 << 20

    init(store: ModelStore) throws {
        self.store = store
        file = try AtomicFileWriter(folder: store.folder, name: "new.safetensors")
        pending.reserveCapacity(Self.bufferBytes)
    }

    /// Appends raw bytes (a header).
    public func write(_ bytes: [UInt8]) throws {
        pending.append(contentsOf: bytes)
        if pending.count >= Self.bufferBytes { try flush() }
    }

    /// Appends values as little-endian float32.
    public func write(_ values: UnsafeBufferPointer<Float>) throws {
        SafeTensors.appendLittleEndian(values, to: &pending)
        if pending.count >= Self.bufferBytes { try flush() }
    }

    /// Puts the blob in place under its SHA-256 (kept as it is when a blob of that hash exists) and returns the hash.
    public func finish() throws -> String {
        try flush()
        let sha = hasher.finalize().hex
        let target = store.url(for: sha)
        if FileManager.default.fileExists(atPath: target.path) {
            file.abandon()
        } else {
            try file.commit(to: target)
        }
        return sha
    }

    private func flush() throws {
        hasher.update(data: pending)
        try pending.withUnsafeBytes { try file.write($0, naming: store.folder.appending(path: "new.safetensors")) }
        pending.removeAll(keepingCapacity: true)
    }
}

/// A stored blob read in pieces: its safetensors header at once, then its values in order; `finish()` checks that
/// the bytes read hash to the blob's name.
public final class ModelBlobReader {
    public let header: SafeTensorsHeader
    private let url: URL
    private let sha256: String
    private let handle: FileHandle
    private var hasher = SHA256()
    private var valuesRead = 0

    init(store: ModelStore, sha256: String) throws {
        url = store.url(for: sha256)
        self.sha256 = sha256
        guard SHA256.isHexDigest(sha256), let handle = FileHandle(forReadingAtPath: url.path) else {
            throw FedCTError(.notFound, "no model blob \(sha256)")
        }
        self.handle = handle
        let size = Int((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0)
        let source = "model blob \(url.path)"
        let lengthBytes = try Self.read(handle, 8, hashing: &hasher, source: source)
        let dataOffset = try SafeTensors.dataOffset(lengthBytes: lengthBytes, fileSize: size, source: source)
        let json = try Self.read(handle, dataOffset - 8, hashing: &hasher, source: source)
        header = try SafeTensorsHeader(json: json, dataOffset: dataOffset, fileSize: size, source: source)
    }

    deinit { try? handle.close() }

    /// Reads the next `values.count` values (from the file 1 MiB at a time).
    public func read(into values: UnsafeMutableBufferPointer<Float>) throws {
        guard valuesRead + values.count <= header.valueCount else {
            throw FedCTError(.failedPrecondition, "model blob \(url.path): reading past its \(header.valueCount) values")
        }
        var done = 0
        while done < values.count {
            let count = min(1 << 18, values.count - done)
            let bytes = try Self.read(handle, count * 4, hashing: &hasher, source: "model blob \(url.path)")
            bytes.withUnsafeBytes { raw in
                for index in 0..<count {
                    values[done + index] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian)
                }
            }
            done += count
        }
        valuesRead += values.count
    }

    /// Checks that every value was read and that the blob's bytes hash to its name.
    public func finish() throws {
        guard valuesRead == header.valueCount else {
            throw FedCTError(.failedPrecondition, "model blob \(url.path): \(valuesRead) of its \(header.valueCount) values were read")
        }
        guard hasher.finalize().hex == sha256 else {
            throw FedCTError(.integrity, "model blob \(url.path) is corrupt (hash mismatch); restore it from backup")
        }
    }

    private static func read(_ handle: FileHandle, _ count: Int, hashing hasher: inout SHA256, source: String) throws -> [UInt8] {
        guard count > 0 else { return [] }
        guard let data = try handle.read(upToCount: count), data.count == count else {
            throw FedCTError(.integrity, "\(source) ends early (truncated); restore it from backup")
        }
        hasher.update(data: data)
        return [UInt8](data)
    }
}

extension ModelStore {
    /// Starts a blob written in pieces.
    public func writer() throws -> ModelBlobWriter { try ModelBlobWriter(store: self) }

    /// Opens the blob `sha256` for reading in pieces.
    public func reader(_ sha256: String) throws -> ModelBlobReader { try ModelBlobReader(store: self, sha256: sha256) }
}
