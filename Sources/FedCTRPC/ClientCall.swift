// ClientCall: one outgoing RPC — write requests, half-close, read replies, and learn the final status.
internal import CGRPCBridge
import Synchronization

/// One call to a server, as a bidirectional stream; ``GRPCChannel``'s `unary`, `serverStreaming` and
/// `clientStreaming` are patterns on it. Reads and writes may run concurrently; concurrent reads (or writes) take
/// turns. Cancelling the task that awaits an operation cancels the call.
///
/// Dropping the call before it is over cancels it.
public final class ClientCall: Sendable {
    // Safe to share: the bridge serialises operations on the call under its own mutex, and the handle stays valid
    // until `deinit` releases it.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let reads = OperationGate()
    private let writes = OperationGate()
    private let sendClosed = Mutex(false)
    private let maxMessageBytes: Int

    /// The full method path, e.g. `/fedct.v1.Site/Join`.
    public let method: String

    init(handle: OpaquePointer, method: String, maxMessageBytes: Int) {
        self.handle = handle
        self.method = method
        self.maxMessageBytes = maxMessageBytes
    }

    deinit { fct_grpc_call_release(handle) }

    /// Sends a message. If the call has already ended, throws its status (or `failedPrecondition` if it ended with
    /// OK); throws `resourceExhausted` without sending for a message over the channel's limit, and
    /// `failedPrecondition` after ``closeSend()``.
    public func write(_ message: [UInt8]) async throws {
        guard maxMessageBytes <= 0 || message.count <= maxMessageBytes else {
            throw RPCError(code: .resourceExhausted,
                           message: "\(method): a message of \(message.count) bytes exceeds the channel's limit of \(maxMessageBytes) bytes")
        }
        guard !sendClosed.withLock({ $0 }) else {
            throw RPCError(code: .failedPrecondition, message: "\(method): write after closeSend")
        }
        let ok: Bool = await writes.run {
            await cancellingOnTaskCancellation {
                await awaitCompletion { context in
                    message.withUnsafeBufferPointer { fct_grpc_call_write(handle, $0.baseAddress, $0.count, context, Trampoline.operation) }
                }
            }
        }
        guard !ok else { return }
        throw await status() ?? RPCError(code: .failedPrecondition, message: "\(method): the server ended the call (OK) before this message was sent")
    }

    /// Tells the server no more messages will come (half-close). Waits for a write in flight; later calls do nothing.
    public func closeSend() async {
        let first = sendClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        let _: Bool = await writes.run {
            await cancellingOnTaskCancellation {
                await awaitCompletion { fct_grpc_call_writes_done(handle, $0, Trampoline.operation) }
            }
        }
    }

    /// The next reply; nil when the server ended the call with OK; throws the call's status (an ``RPCError``) when
    /// it ended otherwise (including DEADLINE_EXCEEDED, CANCELLED, and UNAVAILABLE when the server is unreachable).
    public func read() async throws -> [UInt8]? {
        let message: [UInt8]? = await reads.run {
            await cancellingOnTaskCancellation {
                await awaitCompletion { fct_grpc_call_read(handle, $0, Trampoline.read) }
            }
        }
        if let message { return message }
        if let error = await status() { throw error }
        return nil
    }

    /// Waits for the end of the call: nil for OK, else the status. After asking, new reads and writes fail (ones in
    /// flight complete). May be asked any number of times.
    public func status() async -> RPCError? {
        await cancellingOnTaskCancellation {
            await awaitCompletion { fct_grpc_call_status(handle, $0, Trampoline.status) }
        }
    }

    /// Cancels the call: both sides see CANCELLED, operations in flight fail.
    public func cancel() { fct_grpc_call_cancel(handle) }

    /// Runs `operation`, cancelling the call if the current task is (or gets) cancelled meanwhile.
    private func cancellingOnTaskCancellation<T: Sendable>(_ operation: () async -> T) async -> T {
        await withTaskCancellationHandler(operation: operation, onCancel: { cancel() })
    }
}
