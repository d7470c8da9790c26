// GRPCServer: a listening gRPC server that hands every call, whatever its method, to one Swift handler.
internal import CGRPCBridge
import Dispatch
import Synchronization

/// A gRPC server over libgrpc++. Each incoming call runs `handler` in a new task.
public final class GRPCServer: Sendable {
    /// Keeps the handler alive for the server's lifetime; its address is the C callback's context.
    private final class Dispatcher: Sendable {
        let handler: @Sendable (ServerCall) async -> Void
        init(_ handler: @escaping @Sendable (ServerCall) async -> Void) { self.handler = handler }

        func dispatch(_ call: ServerCall) {
            Task {
                await handler(call)
                if !call.isFinished {
                    await call.finish(RPCError(code: .internalError, message: "the handler of \(call.method) returned without a status"))
                }
            }
        }
    }

    // Safe to share: the C++ server is thread-safe; shutdown and free happen once, guarded below.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let dispatcher: Unmanaged<Dispatcher>
    private let stopped = Mutex(false)
    /// The port the server listens on.
    public let port: Int

    public init(options: ServerOptions, handler: @escaping @Sendable (ServerCall) async -> Void) throws {
        let dispatcher = Unmanaged.passRetained(Dispatcher(handler))
        var server: OpaquePointer?
        var bound: Int32 = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = options.tls.withBridge { tls in
            options.address.withCString { address in
                var bridge = fct_grpc_server_options(
                    address: address, tls: tls, max_message_bytes: Int64(options.maxMessageBytes),
                    keepalive_time_ms: Int64(options.keepaliveSeconds) * 1000, keepalive_timeout_ms: 20_000)
                return fct_grpc_server_start(&bridge, { context, call in
                    Unmanaged<Dispatcher>.fromOpaque(context!).takeUnretainedValue().dispatch(ServerCall(handle: call!))
                }, dispatcher.toOpaque(), &server, &bound, &error)
            }
        }
        guard status == 0, let server else {
            dispatcher.release()
            defer { fct_grpc_free_string(error) }
            throw RPCError(code: .unavailable, message: error.map { String(cString: $0) } ?? "cannot start the gRPC server")
        }
        handle = server
        self.dispatcher = dispatcher
        port = Int(bound)
    }

    deinit {
        if !stopped.withLock({ $0 }) { fct_grpc_server_shutdown(handle, 0) }
        fct_grpc_server_free(handle)
        dispatcher.release()
    }

    /// Stops accepting calls and waits up to `gracePeriod` for running calls before cancelling them.
    public func shutdown(gracePeriod: Duration) async {
        let milliseconds = gracePeriod.components.seconds * 1000 + gracePeriod.components.attoseconds / 1_000_000_000_000_000
        guard stopped.withLock({ stopped in defer { stopped = true }; return !stopped }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Shutdown blocks until calls end: run it off the cooperative pool.
            DispatchQueue.global().async {
                fct_grpc_server_shutdown(self.handle, milliseconds)
                continuation.resume()
            }
        }
    }
}
