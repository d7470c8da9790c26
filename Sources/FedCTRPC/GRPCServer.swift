// GRPCServer: a listening gRPC server that hands every call, whatever its method, to one Swift handler.
internal import CGRPCBridge
import Dispatch
import Synchronization

/// A gRPC server over libgrpc++. Each incoming call runs `handler` in a new task; the handler routes on
/// ``ServerCall/method``. Unary, server-streaming, client-streaming and bidirectional methods are all served this
/// way, so stock gRPC clients (grpcio, grpcurl) can call any of them.
///
/// Call ``shutdown(gracePeriod:)`` before dropping the server; a server dropped while running is shut down with no
/// grace on a background thread.
public final class GRPCServer: Sendable {
    /// Holds the handler for the bridge: passed retained as the C callback's context, released after the C server is
    /// freed, when no more calls can arrive.
    private final class Dispatcher: Sendable {
        let handler: @Sendable (ServerCall) async -> Void
        let maxMessageBytes: Int

        init(handler: @escaping @Sendable (ServerCall) async -> Void, maxMessageBytes: Int) {
            self.handler = handler
            self.maxMessageBytes = maxMessageBytes
        }

        /// Runs on a gRPC thread: only starts the task.
        func dispatch(_ handle: OpaquePointer) {
            let call = ServerCall(handle: handle, maxMessageBytes: maxMessageBytes)
            let handler = handler
            Task {
                await handler(call)
                if !call.isFinished {
                    await call.finish(RPCError(code: .internalError, message: "the handler of \(call.method) returned without a status"))
                }
            }
        }
    }

    /// The C server handle; `@unchecked Sendable` because the C server is thread-safe and is freed exactly once
    /// (in `deinit`, or by the background shutdown `deinit` starts).
    private struct Handle: @unchecked Sendable {
        let server: OpaquePointer
        let dispatcher: Unmanaged<Dispatcher>

        func free() {
            fct_grpc_server_free(server)
            dispatcher.release()
        }
    }

    private enum Phase {
        case running
        case stopping([CheckedContinuation<Void, Never>])
        case stopped
    }

    private let handle: Handle
    private let phase = Mutex(Phase.running)
    /// The port the server listens on (the one the system picked when the address asked for port 0).
    public let port: Int

    /// Starts listening. Throws ``RPCError`` (`unavailable`) if the address cannot be bound or the TLS material is
    /// unusable.
    public init(options: ServerOptions, handler: @escaping @Sendable (ServerCall) async -> Void) throws {
        let dispatcher = Unmanaged.passRetained(Dispatcher(handler: handler, maxMessageBytes: options.maxMessageBytes))
        var server: OpaquePointer?
        var bound: Int32 = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = options.tls.withBridge { tls in
            options.address.withCString { address in
                var bridge = fct_grpc_server_options(
                    address: address, tls: tls,
                    max_receive_message_bytes: Int64(options.maxMessageBytes), max_send_message_bytes: Int64(options.maxMessageBytes),
                    keepalive_time_ms: options.keepaliveSeconds.secondsAsMilliseconds,
                    keepalive_timeout_ms: options.keepaliveTimeoutSeconds.secondsAsMilliseconds,
                    min_client_ping_interval_ms: options.minimumClientPingSeconds.secondsAsMilliseconds,
                    stream_window_bytes: Int64(options.streamWindowBytes))
                return fct_grpc_server_start(&bridge, { context, call in
                    guard let context, let call else { return }
                    Unmanaged<Dispatcher>.fromOpaque(context).takeUnretainedValue().dispatch(call)
                }, dispatcher.toOpaque(), &server, &bound, &error)
            }
        }
        guard status == 0, let server else {
            dispatcher.release()
            defer { fct_grpc_free_string(error) }
            throw RPCError(code: .unavailable, message: error.map { String(cString: $0) } ?? "cannot start a gRPC server on \(options.address)")
        }
        handle = Handle(server: server, dispatcher: dispatcher)
        port = Int(bound)
    }

    deinit {
        let running = phase.withLock { phase in
            if case .running = phase { return true }
            return false
        }
        let handle = handle
        if running {
            // Shutting down blocks until every call is over: never on the thread that dropped the server.
            DispatchQueue.global().async { handle.free() }
        } else {
            handle.free()
        }
    }

    /// Stops accepting calls, lets running calls continue for `gracePeriod`, then cancels the rest (clients see
    /// UNAVAILABLE) and returns once every call is over. Calling it again waits for the first shutdown.
    public func shutdown(gracePeriod: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let first = phase.withLock { phase -> Bool in
                switch phase {
                case .running:
                    phase = .stopping([continuation])
                    return true
                case .stopping(var waiters):
                    waiters.append(continuation)
                    phase = .stopping(waiters)
                    return false
                case .stopped:
                    continuation.resume()
                    return false
                }
            }
            guard first else { return }
            let milliseconds = gracePeriod.wholeMilliseconds
            // The C shutdown blocks until calls end: run it off the cooperative pool. It captures `self`, so the
            // server cannot be freed while it runs.
            DispatchQueue.global().async {
                fct_grpc_server_shutdown(self.handle.server, milliseconds)
                let waiters = self.phase.withLock { phase -> [CheckedContinuation<Void, Never>] in
                    defer { phase = .stopped }
                    if case .stopping(let waiters) = phase { return waiters }
                    return []
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }
}
