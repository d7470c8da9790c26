// ServerCall: one incoming RPC — read the client's messages, write replies, finish with a status.
internal import CGRPCBridge
import Synchronization

/// One incoming call, whatever its shape: a unary call is one read, one write and `finish(nil)`; streaming calls
/// read or write more. Reads and writes may run concurrently (e.g. in two child tasks); concurrent reads (or
/// writes) take turns. Every call must be finished once; ``GRPCServer`` finishes it with INTERNAL if the handler
/// returns without doing so.
///
/// Server operations ignore Swift task cancellation: a call ends when the client goes away, its deadline passes,
/// or the handler finishes it.
public final class ServerCall: Sendable {
    // Safe to share: the bridge serialises operations on the call under its own mutex, and the handle stays valid
    // until `deinit` releases it.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let reads = OperationGate()
    private let writes = OperationGate()
    private let finished = Mutex(false)
    private let maxMessageBytes: Int

    /// The full method path, e.g. `/fedct.v1.Site/Join`.
    public let method: String
    /// The caller, as TLS verified it.
    public let peer: PeerInfo
    /// The client's deadline, if it set one.
    public let deadline: ContinuousClock.Instant?

    init(handle: OpaquePointer, maxMessageBytes: Int) {
        self.handle = handle
        self.maxMessageBytes = maxMessageBytes
        var info = fct_grpc_call_info()
        fct_grpc_call_get_info(handle, &info)
        method = String(cString: info.method)
        let identities = (0..<info.peer_identity_count).compactMap { info.peer_identities[$0].map { String(cString: $0) } }
        let certificate = String(cString: info.peer_certificate_pem)
        peer = PeerInfo(address: String(cString: info.peer_address), identities: identities,
                        certificatePEM: certificate.isEmpty ? nil : certificate)
        deadline = info.deadline_remaining_ms >= 0 ? .now + .milliseconds(info.deadline_remaining_ms) : nil
    }

    deinit { fct_grpc_call_release(handle) }

    /// The next message from the client; nil once the client has finished sending, or the call is over
    /// (cancelled, deadline passed, finished).
    public func read() async -> [UInt8]? {
        await reads.run {
            await awaitCompletion { fct_grpc_call_read(handle, $0, Trampoline.read) }
        }
    }

    /// Sends a message to the client. Throws `resourceExhausted` for a message over the server's limit (nothing is
    /// sent), `deadlineExceeded` or `cancelled` when the client is gone, `failedPrecondition` after `finish`.
    public func write(_ message: [UInt8]) async throws {
        guard maxMessageBytes <= 0 || message.count <= maxMessageBytes else {
            throw RPCError(code: .resourceExhausted,
                           message: "\(method): a reply of \(message.count) bytes exceeds the server's limit of \(maxMessageBytes) bytes")
        }
        let ok: Bool = await writes.run {
            await awaitCompletion { context in
                message.withUnsafeBufferPointer { fct_grpc_call_write(handle, $0.baseAddress, $0.count, context, Trampoline.operation) }
            }
        }
        guard !ok else { return }
        if isFinished { throw RPCError(code: .failedPrecondition, message: "\(method): write after finish") }
        if let deadline, deadline <= .now { throw RPCError(code: .deadlineExceeded, message: "\(method): the client's deadline passed") }
        throw RPCError(code: .cancelled, message: "\(method): the client cancelled the call or went away")
    }

    /// Ends the call: OK when `error` is nil, else its code and message. Waits until the call is over (the status
    /// is on its way, or the client is gone). Only the first call has an effect.
    public func finish(_ error: RPCError?) async {
        let first = finished.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let code = error?.code.rawValue ?? 0
        let _: Bool = await awaitCompletion { context in
            fct_grpc_call_finish(handle, code, error?.message ?? "", context, Trampoline.operation)
        }
    }

    /// Whether ``finish(_:)`` has been called.
    public var isFinished: Bool { finished.withLock { $0 } }
}

extension ServerCall {
    /// Every message until the client stops sending.
    public func readAll() async -> [[UInt8]] {
        var messages: [[UInt8]] = []
        while let message = await read() { messages.append(message) }
        return messages
    }

    /// Serves a unary call: reads the one request, writes `body`'s reply and finishes with OK. If `body` throws,
    /// the call finishes with that ``RPCError`` (any other error becomes INTERNAL with its description); a call
    /// without a request finishes with INVALID_ARGUMENT.
    public func respondUnary(_ body: @Sendable ([UInt8]) async throws -> [UInt8]) async {
        guard let request = await read() else {
            await finish(RPCError(code: .invalidArgument, message: "\(method): no request message"))
            return
        }
        do {
            let reply = try await body(request)
            try await write(reply)
            await finish(nil)
        } catch let error as RPCError {
            await finish(error)
        } catch {
            await finish(RPCError(code: .internalError, message: "\(method): \(error)"))
        }
    }
}
