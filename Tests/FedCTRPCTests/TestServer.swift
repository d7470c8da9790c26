// Test support: the fixture certificates, a server with one method per call shape, and a recorder of what its
// handlers saw.
import Crypto
import FedCTRPC
import Foundation
import Synchronization
import XCTest

/// PEM files under Fixtures/tls (see its README for how they were made).
enum Fixture {
    static func path(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/tls/\(name)", withExtension: "pem") else {
            fatalError("missing test fixture Fixtures/tls/\(name).pem")
        }
        return url.path
    }

    /// The TLS material of `certificate` (with `<certificate>-key.pem`), trusting `ca`.
    static func tls(_ certificate: String, trusting ca: String = "ca") throws -> TLSConfig {
        try TLSConfig.load(caFile: path(ca), certificateFile: path(certificate), keyFile: path("\(certificate)-key"))
    }
}

/// What the test server's handlers saw, across tasks.
final class Recorder: Sendable {
    struct Entry: Sendable {
        var method: String
        var peer: PeerInfo
        var deadline: ContinuousClock.Instant?
        var notes: [String] = []
    }

    private let entries = Mutex<[Entry]>([])

    func begin(_ call: ServerCall) -> Int {
        entries.withLock { entries in
            entries.append(Entry(method: call.method, peer: call.peer, deadline: call.deadline))
            return entries.count - 1
        }
    }

    func note(_ index: Int, _ note: String) { entries.withLock { $0[index].notes.append(note) } }

    var all: [Entry] { entries.withLock { $0 } }

    /// Waits (briefly) until some handler noted `note`.
    func waitForNote(_ note: String, timeout: Duration = .seconds(5)) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if all.contains(where: { $0.notes.contains(note) }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// A latch a test opens to let a stuck handler go.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Big-endian helpers for the test protocol.
extension Array where Element == UInt8 {
    init(uint32 value: UInt32) { self = Swift.withUnsafeBytes(of: value.bigEndian, Array.init) }
    var uint32: UInt32 { prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
}

/// Test methods, one per call shape and failure:
/// - `Unary`: replies with the request reversed.
/// - `Count`: request n (UInt32); replies with n messages, message i being i (UInt32).
/// - `Digest`: reads every message; replies SHA-256 of their concatenation + message count (UInt32) + byte count (UInt64 as two UInt32).
/// - `Echo`: bidi; echoes each message with 0xFF appended.
/// - `Slow`: sleeps 1 s, then replies OK.
/// - `Deny`: finishes with PERMISSION_DENIED "no".
/// - `Big`: request n (UInt32); replies with n bytes.
/// - `Stuck`: waits for the latch, ignoring everything.
/// - `Hangup`: finishes with OK while another task of the handler waits in `read()`; notes how that read ended.
/// - `Quit`: reads one message, then finishes with ABORTED "enough" while the client may still be writing.
enum TestService {
    static func start(
        tls: TLSConfig? = nil, plaintext: Bool = false, maxMessageBytes: Int = 16 << 20, recorder: Recorder = Recorder(),
        latch: Latch = Latch(), address: String = "127.0.0.1:0"
    ) throws -> GRPCServer {
        var options = ServerOptions(address: address, tls: plaintext ? nil : try (tls ?? Fixture.tls("server")))
        options.maxMessageBytes = maxMessageBytes
        return try GRPCServer(options: options) { call in
            let index = recorder.begin(call)
            await handle(call, index: index, recorder: recorder, latch: latch)
            recorder.note(index, "returned")
        }
    }

    private static func handle(_ call: ServerCall, index: Int, recorder: Recorder, latch: Latch) async {
        switch call.method {
        case "/test.Echo/Unary":
            await call.respondUnary { Array($0.reversed()) }
        case "/test.Echo/Count":
            let count = await call.read()?.uint32 ?? 0
            for value in 0..<count {
                do { try await call.write([UInt8](uint32: value)) } catch { return await call.finish(error as? RPCError) }
            }
            await call.finish(nil)
        case "/test.Echo/Digest":
            var hasher = SHA256()
            var messages: UInt32 = 0
            var bytes: UInt64 = 0
            while let message = await call.read() {
                hasher.update(data: message)
                messages += 1
                bytes += UInt64(message.count)
            }
            recorder.note(index, "read \(messages) messages")
            do {
                try await call.write(Array(hasher.finalize()) + [UInt8](uint32: messages) + [UInt8](uint32: UInt32(bytes >> 32))
                                     + [UInt8](uint32: UInt32(truncatingIfNeeded: bytes)))
                await call.finish(nil)
            } catch let error as RPCError {
                recorder.note(index, "write failed: \(error.code)")
                await call.finish(error)
            } catch {}
        case "/test.Echo/Echo":
            while let message = await call.read() {
                do { try await call.write(message + [0xFF]) } catch { break }
            }
            await call.finish(nil)
        case "/test.Echo/Slow":
            try? await Task.sleep(for: .seconds(1))
            try? await call.write([1])
            await call.finish(nil)
        case "/test.Echo/Deny":
            _ = await call.read()
            await call.finish(RPCError(code: .permissionDenied, message: "no"))
        case "/test.Echo/Big":
            let count = await call.read()?.uint32 ?? 0
            do {
                try await call.write([UInt8](repeating: 7, count: Int(count)))
                await call.finish(nil)
            } catch {
                await call.finish(error as? RPCError)
            }
        case "/test.Echo/Hangup":
            let reader = Task { await call.read() }
            try? await Task.sleep(for: .milliseconds(50))
            await call.finish(nil)
            let read = await reader.value
            recorder.note(index, read == nil ? "pending read ended" : "pending read got a message")
        case "/test.Echo/Quit":
            _ = await call.read()
            await call.finish(RPCError(code: .aborted, message: "enough"))
        case "/test.Echo/Stuck":
            recorder.note(index, "stuck")
            await latch.wait()
        default:
            await call.finish(RPCError(code: .unimplemented, message: "no method \(call.method)"))
        }
    }

    static func channel(
        to server: GRPCServer, certificate: String = "site-a", trusting ca: String = "ca", plaintext: Bool = false,
        host: String = "localhost", maxMessageBytes: Int = 16 << 20
    ) throws -> GRPCChannel {
        var options = ChannelOptions(target: "\(host):\(server.port)", tls: plaintext ? nil : try Fixture.tls(certificate, trusting: ca))
        options.maxMessageBytes = maxMessageBytes
        return try GRPCChannel(options: options)
    }
}

extension XCTestCase {
    /// Runs `body`, expecting it to throw an RPCError, and returns it.
    func expectRPCError<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> RPCError? {
        do {
            let value = try await body()
            XCTFail("expected an RPCError, got \(value)", file: file, line: line)
        } catch let error as RPCError {
            return error
        } catch {
            XCTFail("expected an RPCError, got \(error)", file: file, line: line)
        }
        return nil
    }
}
