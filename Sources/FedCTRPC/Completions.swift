// Completions: one-shot C callbacks from gRPC threads resuming Swift continuations, and the gate that keeps one
// read and one write in flight per call.
internal import CGRPCBridge
import Synchronization

/// Carries a continuation across the C boundary. `context` passes it retained; the trampoline that completes the
/// operation takes that retain back (the bridge calls each callback exactly once).
final class CompletionBox<Value: Sendable>: Sendable {
    let continuation: CheckedContinuation<Value, Never>
    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = continuation }

    /// The retained context pointer to hand to C; balanced by ``resume(_:with:)``.
    var context: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func resume(_ context: UnsafeMutableRawPointer?, with value: Value) {
        guard let context else { preconditionFailure("gRPC bridge callback without a context") }
        Unmanaged<CompletionBox<Value>>.fromOpaque(context).takeRetainedValue().continuation.resume(returning: value)
    }
}

/// C function pointers that resume a boxed continuation; one per callback type.
enum Trampoline {
    /// A read: the message (copied out of gRPC's buffer, which is valid only now), or nil.
    static let read: fct_grpc_read_done = { context, ok, data, length in
        let message: [UInt8]? = ok != 0 ? Array(UnsafeBufferPointer(start: data, count: length)) : nil
        CompletionBox<[UInt8]?>.resume(context, with: message)
    }

    /// A write, half-close or finish: whether it was carried out.
    static let operation: fct_grpc_op_done = { context, ok in
        CompletionBox<Bool>.resume(context, with: ok != 0)
    }

    /// A client call's final status: nil for OK.
    static let status: fct_grpc_status_done = { context, code, message in
        let error = code == 0 ? nil : RPCError(code: RPCError.Code(rawValue: code), message: message.map { String(cString: $0) } ?? "")
        CompletionBox<RPCError?>.resume(context, with: error)
    }
}

/// Starts one asynchronous bridge operation and suspends until its callback, without blocking a thread. `start`
/// receives the retained context; the callback may even run inside `start` (an operation refused at once).
func awaitCompletion<Value: Sendable>(_ start: (UnsafeMutableRawPointer) -> Void) async -> Value {
    await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
        start(CompletionBox(continuation).context)
    }
}

/// Lets one task at a time through; the others wait in order. gRPC allows one read and one write in flight per
/// call, so each call has a gate per direction and concurrent readers (or writers) simply take turns.
final class OperationGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        let free = state.withLock { state -> Bool in
            guard !state.busy else { return false }
            state.busy = true
            return true
        }
        if free { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    private func leave() {
        // The gate stays busy when handed straight to the next waiter.
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
