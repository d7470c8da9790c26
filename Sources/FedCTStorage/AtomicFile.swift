// AtomicFile: crash-safe file replacement (write a temporary file, fsync, rename, fsync the folder) for every durable record.
import FedCTCore
import Foundation

/// Crash-safe file replacement: readers see the old or the new content, never a torn file, and the new content
/// survives a power cut once `write` returns.
public enum AtomicFile {
    /// Replaces `url` with `bytes`. On failure nothing is replaced and the error (`.io`) names the file and the reason.
    public static func write(_ bytes: some Collection<UInt8>, to url: URL) throws {
        let writer = try AtomicFileWriter(folder: url.deletingLastPathComponent(), name: url.lastPathComponent)
        let array = Array(bytes)
        try array.withUnsafeBytes { try writer.write($0, naming: url) }
        try writer.commit(to: url)
    }
}

/// A file written in pieces into a temporary file beside its destination and put in place by `commit(to:)` (fsync,
/// rename, fsync of the folder), so a file whose name is known only at the end (a blob named by its hash) is
/// replaced as atomically as `AtomicFile.write`. A writer never committed removes its temporary file.
public final class AtomicFileWriter {
    private let folder: URL
    private let temporary: URL
    private var descriptor: Int32

    /// Creates the temporary file in `folder`; `name` only labels it.
    public init(folder: URL, name: String) throws {
        self.folder = folder
        temporary = folder.appending(path: ".\(name).\(UUID().uuidString).tmp")
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw FedCTError(.io, "cannot create \(temporary.path): \(String(cString: strerror(errno))); check the folder is writable")
        }
    }

    /// Appends `bytes`; a failure (`.io`) names `destination`, the file being written, and the reason.
    public func write(_ bytes: UnsafeRawBufferPointer, naming destination: URL) throws {
        guard descriptor >= 0 else { throw FedCTError(.failedPrecondition, "\(temporary.path) was already committed or abandoned") }
        var written = 0
        while written < bytes.count {
            let result = Foundation.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                abandon()
                throw FedCTError(.io, "cannot write \(destination.path): \(reason) (disk full?); nothing was replaced")
            }
            written += result
        }
    }

    /// Makes the written bytes durable and moves them to `url`, replacing what was there.
    public func commit(to url: URL) throws {
        guard descriptor >= 0 else { throw FedCTError(.failedPrecondition, "\(temporary.path) was already committed or abandoned") }
        if fsync(descriptor) != 0 {
            let reason = String(cString: strerror(errno))
            abandon()
            throw FedCTError(.io, "cannot write \(url.path): \(reason) (disk full?); nothing was replaced")
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FedCTError(.io, "cannot move \(temporary.path) to \(url.path): \(reason); nothing was replaced")
        }
        // Make the rename itself durable.
        let folderDescriptor = open(folder.path, O_RDONLY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Drops the temporary file; nothing is replaced.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporary.path)
    }

    deinit { abandon() }
}
