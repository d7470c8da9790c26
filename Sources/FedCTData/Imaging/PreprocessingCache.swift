// PreprocessingCache: preprocessed network inputs stored once per (scan, pipeline) on disk, so later epochs and jobs skip decoding.
import Crypto
import FedCTCore
import FedCTStorage
import Foundation
public import Logging

/// A folder of preprocessed inputs, one file per (source scan, pipeline).
///
/// The key is the SHA-256 of the pipeline's `parameters` and `Preprocessing.version`, the image path as the manifest
/// gives it (so each volume of a 4D NIfTI, `scan.nii.gz#1`, has its own key) and the source's identity: for a file its
/// absolute path, size, modification time and the SHA-256 of its first and last 64 KiB; for a DICOM
/// series folder the same for every file under it, in sorted order. A changed pipeline or a touched, replaced or
/// resized source therefore never meets an old entry. An entry (`<key>.fctpre`) is a 124-byte header — magic
/// `FCTPRE01`, the key in hex, the shape (3 × UInt32), the value count (UInt64) and the SHA-256 of the values —
/// then float32 values, little-endian; it is written to a temporary file, fsynced and renamed into place. An entry
/// whose header, length or checksum does not match is rebuilt from the source with a warning. With `maxBytes`, the
/// least recently used entries (by modification time, refreshed on each hit) are deleted after each write.
public final class PreprocessingCache: @unchecked Sendable {  // mutable state is `counts`, guarded by `lock`
    /// What the cache did since it was opened.
    public struct Statistics: Sendable, Equatable {
        /// Inputs read from entries.
        public var hits = 0
        /// Inputs computed from their source because no entry existed.
        public var misses = 0
        /// Inputs recomputed because their entry was corrupt or truncated.
        public var rebuilt = 0
        /// Entries deleted to stay under `maxBytes`.
        public var evicted = 0
        /// Source scans decoded (misses and rebuilds).
        public var sourceReads: Int { misses + rebuilt }
    }

    public let directory: String
    public let maxBytes: Int?
    private let logger: Logger
    private let lock = NSLock()
    private var counts = Statistics()

    static let magic = Array("FCTPRE01".utf8)
    static let headerSize = 8 + 64 + 12 + 8 + 32
    static let entryExtension = "fctpre"
    static let sampledBytes = 64 << 10

    /// Opens (creating if needed) the cache folder; `maxBytes` bounds the entries' total size (nil: unbounded).
    public init(directory: String, maxBytes: Int? = nil, logger: Logger = Logger(label: "fedct.preprocessing-cache")) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FedCTError(.io, "\(directory): cannot create the preprocessing cache folder (\(error.localizedDescription)); check state_dir is writable")
        }
        self.directory = directory
        self.maxBytes = maxBytes
        self.logger = logger
    }

    /// What the cache did so far.
    public var statistics: Statistics { lock.withLock { counts } }

    /// The preprocessed input of the scan at `path`: from its entry if one is valid, else decoded, preprocessed and stored
    /// (when the entry cannot be written, e.g. on a full disk, a warning names it and the input is returned uncached).
    public func input(path: String, pipeline: Preprocessing) throws -> [Float] {
        let key = try Self.key(path: path, pipeline: pipeline)
        let entry = entryPath(key: key)
        var corrupt = false
        if let data = FileManager.default.contents(atPath: entry) {
            if let values = Self.decode(data, key: key, count: pipeline.shape.reduce(1, *)) {
                try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: entry)
                lock.withLock { counts.hits += 1 }
                return values
            }
            corrupt = true
            logger.warning("preprocessed entry is corrupt or truncated; rebuilding it from the scan", metadata: ["entry": "\(entry)", "scan": "\(path)"])
        }
        let values = pipeline.apply(try ScanImage.read(path: path))
        lock.withLock { if corrupt { counts.rebuilt += 1 } else { counts.misses += 1 } }
        do {
            try write(Self.encode(values, key: key, shape: pipeline.shape), to: entry)
        } catch {
            // A cache that cannot store (a full disk) costs time, not the scan: the input is used uncached, nothing
            // partial is left behind, and the entry is written on a later load once there is space.
            logger.warning("\(ErrorText.describe(error)); using the scan uncached", metadata: ["entry": "\(entry)", "scan": "\(path)"])
            return values
        }
        if let maxBytes { evict(above: maxBytes, keeping: entry) }
        return values
    }

    /// The entry file of `key`.
    public func entryPath(key: String) -> String { "\(directory)/\(key).\(Self.entryExtension)" }

    /// The hex cache key of the scan at `path` under `pipeline`.
    public static func key(path: String, pipeline: Preprocessing) throws -> String {
        var hash = SHA256()
        hash.update(data: Array("fedct-preprocessed v\(Preprocessing.version)\n\(pipeline.parameters)\n\(path)\n".utf8))
        for file in try sourceFiles(path) {
            let attributes: [FileAttributeKey: Any]
            do { attributes = try FileManager.default.attributesOfItem(atPath: file) } catch {
                throw FedCTError(.notFound, "\(file): cannot read its size and time (\(error.localizedDescription)); check the manifest's image path")
            }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            hash.update(data: Array("\(file)\n\(size)\n\(modified.bitPattern)\n".utf8))
            guard let handle = FileHandle(forReadingAtPath: file) else { throw FedCTError(.io, "\(file): cannot be opened for reading") }
            defer { try? handle.close() }
            hash.update(data: try handle.read(upToCount: sampledBytes) ?? Data())
            if size > sampledBytes {
                try handle.seek(toOffset: UInt64(max(sampledBytes, size - sampledBytes)))
                hash.update(data: try handle.readToEnd() ?? Data())
            }
        }
        return hash.finalize().hex
    }

    /// The absolute paths whose bytes make up the source: the file (without a 4D NIfTI's `#<volume index>`, which the
    /// key holds as part of the path), or every visible regular file under a folder, sorted.
    static func sourceFiles(_ path: String) throws -> [String] {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        if !FileManager.default.fileExists(atPath: url.path), let hash = path.lastIndex(of: "#"), Int(path[path.index(after: hash)...]) != nil {
            url = URL(fileURLWithPath: String(path[..<hash])).standardizedFileURL
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FedCTError(.notFound, "\(path): no such file or folder; give a NIfTI file, a DICOM file or a DICOM series folder")
        }
        guard isDirectory.boolValue else { return [url.path] }
        let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        var files: [String] = []
        while let item = walker?.nextObject() as? URL {
            if (try? item.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(item.standardizedFileURL.path) }
        }
        return files.sorted()
    }

    static func encode(_ values: [Float], key: String, shape: [Int]) -> Data {
        var data = Data(capacity: headerSize + values.count * 4)
        data.append(contentsOf: magic)
        data.append(contentsOf: Array(key.utf8))
        for size in shape { withUnsafeBytes(of: UInt32(size).littleEndian) { data.append(contentsOf: $0) } }
        withUnsafeBytes(of: UInt64(values.count).littleEndian) { data.append(contentsOf: $0) }
        let payload = values.withUnsafeBytes { Data($0) }  // float32 little-endian on every supported platform
        data.append(contentsOf: SHA256.hash(data: payload))
        data.append(payload)
        return data
    }

    /// The values of an entry, or nil when its header, length or checksum is not that of a complete entry for `key`.
    static func decode(_ data: Data, key: String, count: Int) -> [Float]? {
        guard data.count == headerSize + count * 4, data.prefix(8).elementsEqual(magic),
              data.dropFirst(8).prefix(64).elementsEqual(key.utf8) else { return nil }
        let storedCount = data.dropFirst(84).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let payload = data.dropFirst(headerSize)
        guard UInt64(littleEndian: storedCount) == UInt64(count),
              data.dropFirst(92).prefix(32).elementsEqual(SHA256.hash(data: payload)) else { return nil }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialised in
            _ = payload.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            initialised = count
        }
    }

    /// Writes `data` over `path` atomically (see `AtomicFile`).
    private func write(_ data: Data, to path: String) throws {
        do {
            try AtomicFile.write(data, to: URL(fileURLWithPath: path))
        } catch let error as FedCTError {
            throw FedCTError(.io, "cannot store the preprocessed entry: \(error.message); check the disk under state_dir has space", cause: error)
        }
    }

    /// Deletes the least recently used entries until their total size is at most `limit`, never `keeping`.
    private func evict(above limit: Int, keeping: String) {
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey]
        guard let files = try? FileManager.default.contentsOfDirectory(at: URL(fileURLWithPath: directory), includingPropertiesForKeys: keys) else { return }
        var entries = files.filter { $0.pathExtension == Self.entryExtension }.compactMap { url -> (path: String, size: Int, used: Date)? in
            guard let values = try? url.resourceValues(forKeys: Set(keys)) else { return nil }
            return (url.path, values.fileSize ?? 0, values.contentModificationDate ?? .distantPast)
        }
        var total = entries.reduce(0) { $0 + $1.size }
        entries.sort { $0.used < $1.used }
        for entry in entries where total > limit && entry.path != keeping {
            guard (try? FileManager.default.removeItem(atPath: entry.path)) != nil else { continue }
            total -= entry.size
            lock.withLock { counts.evicted += 1 }
        }
    }
}
