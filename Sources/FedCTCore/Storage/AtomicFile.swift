// AtomicFile: crash-safe file replacement (write a temporary file, fsync, rename, fsync the folder) for every durable record.
import Foundation

/// Crash-safe file replacement: readers see the old or the new content, never a torn file, and the new content
/// survives a power cut once `write` returns.
public enum AtomicFile {
    /// Replaces `url` with `bytes`. On failure nothing is replaced and the error (`.io`) names the file and the reason.
    public static func write(_ bytes: some Collection<UInt8>, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appending(path: ".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw FedCTError(.io, "cannot create \(temporary.path): \(String(cString: strerror(errno))); check the folder is writable")
        }
        let array = Array(bytes)
        let failure: String? = array.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
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
}
