// UpdateSpool: writes an incoming update stream to disk, hashing, counting and checking it, so only complete, finite, verified updates are aggregated.
import FedCTCore
import Crypto
import Foundation

/// One site's update being received into `<state>/spool/<job>/<round>/<site>.f32` (or `.u32` for a masked input).
public final class UpdateSpool {
    public let url: URL
    public let expectedBytes: Int
    /// Plain updates are float32 and must be finite; masked inputs are uniformly random words.
    public let checksFloats: Bool
    private let handle: FileHandle
    private var hasher = SHA256()
    private var values = Float32Stream()
    public private(set) var bytesWritten = 0

    public init(url: URL, expectedBytes: Int, checksFloats: Bool = true) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FedCTError(.io, "cannot create spool file \(url.path) (disk full or not writable?)")
        }
        self.url = url
        self.expectedBytes = expectedBytes
        self.checksFloats = checksFloats
        self.handle = try FileHandle(forWritingTo: url)
    }

    public func append(_ bytes: [UInt8]) throws {
        guard bytesWritten + bytes.count <= expectedBytes else {
            throw FedCTError(.integrity, "update is longer than the \(expectedBytes) bytes its header announced")
        }
        if checksFloats {
            let start = values.valueCount
            var nonFinite: Int?
            values.feed(bytes) { chunk in nonFinite = chunk.firstIndex { !$0.isFinite } }
            if let nonFinite {
                throw FedCTError(.invalidData, "update has a non-finite value (NaN or infinity) at coordinate \(start + nonFinite); it is discarded")
            }
        }
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw FedCTError(.io, "cannot write spool file \(url.path): \(error.localizedDescription) (disk full?)")
        }
        hasher.update(data: bytes)
        bytesWritten += bytes.count
    }

    /// Closes the file and checks length and hash against the header.
    public func finish(expectedSHA256: String) throws -> URL {
        try? handle.synchronize()
        try? handle.close()
        guard bytesWritten == expectedBytes else {
            throw FedCTError(.integrity, "update ended after \(bytesWritten) of \(expectedBytes) bytes")
        }
        let digest = hasher.finalize().hex
        guard digest == expectedSHA256 else {
            throw FedCTError(.integrity, "update hash \(digest.prefix(12)) does not match its header's \(expectedSHA256.prefix(12))")
        }
        return url
    }

    /// Closes and deletes a spool that will not be used.
    public func discard() {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}
