// ClientCall: one outgoing RPC — write requests, half-close, read replies, and learn the final status.
internal import CGRPCBridge

/// One call to a server. Writes and reads are each used by one task at a time.
public final class ClientCall: Sendable {
    // Safe to share: the C++ call object serialises its operations under its own mutex.
    private nonisolated(unsafe) let handle: OpaquePointer
    public let method: String

    init(handle: OpaquePointer, method: String) {
        self.handle = handle
        self.method = method
    }

    deinit { fct_grpc_call_release(handle) }

    /// Sends a message; throws the call's status if it has already ended.
    public func write(_ message: [UInt8]) async throws {
        let ok: Bool = await awaitCompletion { context in
            message.withUnsafeBufferPointer { fct_grpc_call_write(handle, $0.baseAddress, $0.count, context, Trampoline.operation) }
        }
        if !ok { throw await status() ?? RPCError(code: .unknown, message: "\(method): the call ended before the write") }
    }

    /// Tells the server no more messages will come.
    public func closeSend() async {
        let _: Bool = await awaitCompletion { fct_grpc_call_writes_done(handle, $0, Trampoline.operation) }
    }

    /// The next reply; nil when the server ended the call with OK; throws its status when it failed.
    public func read() async throws -> [UInt8]? {
        let message: [UInt8]? = await awaitCompletion { fct_grpc_call_read(handle, $0, Trampoline.read) }
        if let message { return message }
        if let error = await status() { throw error }
        return nil
    }

    /// Waits for the end of the call: nil for OK, else the error status. No operation may follow.
    public func status() async -> RPCError? {
        await awaitCompletion { fct_grpc_call_status(handle, $0, Trampoline.status) }
    }

    /// Cancels the call; pending and later operations fail with CANCELLED.
    public func cancel() { fct_grpc_call_cancel(handle) }
}
