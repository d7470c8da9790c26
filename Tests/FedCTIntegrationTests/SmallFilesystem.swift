// SmallFilesystem: a size-limited tmpfs mounted for a test, so writes really fail with ENOSPC (needs root; tests skip otherwise).
import Foundation
import XCTest

/// A tmpfs of `bytes` mounted on a fresh folder; `fill()` takes all its free space, `free()` gives it back.
final class SmallFilesystem {
    let folder: URL
    private var filler: URL { folder.appending(path: ".filler") }

    /// Mounts the filesystem, or throws `XCTSkip` naming why it cannot be mounted here (not root, no mount permission).
    init(bytes: Int) throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-small-fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (status, output) = Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: folder)
            throw XCTSkip("mounting a \(bytes)-byte tmpfs is not permitted here (needs root with CAP_SYS_ADMIN): \(output)")
        }
    }

    /// Writes a filler file until the filesystem refuses with ENOSPC; returns the filler's size.
    @discardableResult
    func fill() throws -> Int {
        let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw HarnessError("cannot create \(filler.path)") }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0x5a, count: 512)
        var total = 0
        while true {
            let written = block.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 { total += written; continue }
            guard errno == ENOSPC else { throw HarnessError("filling \(folder.path): \(String(cString: strerror(errno)))") }
            return total
        }
    }

    /// Deletes the filler.
    func free() throws { try FileManager.default.removeItem(at: filler) }

    /// Unmounts and removes the folder.
    func unmount() {
        _ = Self.run("/bin/umount", [folder.path])
        try? FileManager.default.removeItem(at: folder)
    }

    private static func run(_ tool: String, _ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(tool): \(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
