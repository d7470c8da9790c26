// ProcessHarness: starts the real fedct executables as child processes for multi-process tests, and cleans up after them.
import Foundation
import Glibc
import XCTest

/// Locates the built executables and runs them with captured output.
final class ProcessHarness {
    let folder: URL
    private var running: [Process] = []

    init() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// The folder holding the test bundle also holds the package's executables (`swift build --build-tests`).
    static func executable(_ name: String) throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../.build/debug").standardized,
        ]
        for folder in candidates where FileManager.default.isExecutableFile(atPath: folder.appending(path: name).path) {
            return folder.appending(path: name)
        }
        throw HarnessError("\(name) is not built next to the tests; run `swift build --build-tests` first (Scripts/test.sh does)")
    }

    /// Starts `name` with `arguments`; stdout and stderr go to `<folder>/logs/<label>.log`.
    @discardableResult
    func start(_ name: String, _ arguments: [String], label: String) throws -> Process {
        let process = Process()
        process.executableURL = try Self.executable(name)
        process.arguments = arguments
        let logs = folder.appending(path: "logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try Data().write(to: logs.appending(path: "\(label).log"))
        let log = try FileHandle(forWritingTo: logs.appending(path: "\(label).log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        running.append(process)
        return process
    }

    /// Runs `name` to completion and returns its exit status and combined output.
    func run(_ name: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        let label = "\(name)-\(UUID().uuidString.prefix(8))"
        let process = try start(name, arguments, label: label)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(name) \(arguments) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, log(label))
    }

    func log(_ label: String) -> String {
        (try? String(contentsOf: folder.appending(path: "logs/\(label).log"), encoding: .utf8)) ?? ""
    }

    /// Waits until `file` exists and is non-empty, and returns its trimmed content.
    func waitForFile(_ file: URL, timeout: TimeInterval = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), !text.isEmpty {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("timed out waiting for \(file.path)")
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (for a server that must come back on the same port).
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func write(_ text: String, to name: String) throws -> String {
        let url = folder.appending(path: name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    deinit {
        for process in running where process.isRunning { process.terminate() }
        for process in running { process.waitUntilExit() }
        if ProcessInfo.processInfo.environment["FEDCT_KEEP_TEST_FILES"] == nil { try? FileManager.default.removeItem(at: folder) }
    }
}

/// A multi-process test could not set up its processes.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
