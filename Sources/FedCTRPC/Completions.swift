// Completions: one-shot C callbacks from gRPC threads resuming Swift continuations (one trampoline per callback type).
internal import CGRPCBridge

/// Holds a continuation across the C boundary: passed retained as the callback context, released by the trampoline.
final class CompletionBox<Value: Sendable>: @unchecked Sendable {
    // Safe: the continuation is written once at creation and resumed exactly once by the trampoline.
    let continuation: CheckedContinuation<Value, Never>
    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = continuation }

    /// The retained context pointer to hand to C; the trampoline balances the retain.
    var context: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func resume(_ context: UnsafeMutableRawPointer?, with value: Value) {
        Unmanaged<CompletionBox<Value>>.fromOpaque(context!).takeRetainedValue().continuation.resume(returning: value)
    }
}

/// Trampolines: C function pointers that resume the boxed continuation.
enum Trampoline {
    static let read: fct_grpc_read_done = { context, ok, data, length in
        let message: [UInt8]? = ok != 0 ? Array(UnsafeBufferPointer(start: data, count: length)) : nil
        CompletionBox<[UInt8]?>.resume(context, with: message)
    }

    static let operation: fct_grpc_op_done = { context, ok in
        CompletionBox<Bool>.resume(context, with: ok != 0)
    }

    static let status: fct_grpc_status_done = { context, code, message in
        let error = code == 0 ? nil : RPCError(code: RPCError.Code(rawValue: code), message: message.map { String(cString: $0) } ?? "")
        CompletionBox<RPCError?>.resume(context, with: error)
    }
}

/// Runs one asynchronous bridge operation and waits for its completion without blocking a thread.
func awaitCompletion<Value: Sendable>(_ start: (UnsafeMutableRawPointer) -> Void) async -> Value {
    await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
        start(CompletionBox(continuation).context)
    }
}
