// GRPCChannel: a client connection to one gRPC target, with unary and streaming conveniences over ClientCall.
internal import CGRPCBridge

/// A channel to a server. Connections are made (and re-made) by gRPC as calls need them.
public final class GRPCChannel: Sendable {
    // Safe to share: a gRPC channel and its generic stub are thread-safe.
    private nonisolated(unsafe) let handle: OpaquePointer
    public let target: String

    public init(options: ChannelOptions) throws {
        var channel: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let status = options.tls.withBridge { tls in
            options.target.withCString { target in
                withOptionalCString(options.serverNameOverride) { serverName in
                    var bridge = fct_grpc_channel_options(
                        target: target, tls: tls, server_name_override: serverName, max_message_bytes: Int64(options.maxMessageBytes),
                        keepalive_time_ms: Int64(options.keepaliveSeconds) * 1000, keepalive_timeout_ms: 20_000)
                    return fct_grpc_channel_create(&bridge, &channel, &error)
                }
            }
        }
        guard status == 0, let channel else {
            defer { fct_grpc_free_string(error) }
            throw RPCError(code: .invalidArgument, message: error.map { String(cString: $0) } ?? "cannot create a channel to \(options.target)")
        }
        handle = channel
        target = options.target
    }

    deinit { fct_grpc_channel_free(handle) }

    /// Starts a call; nil timeout means no deadline.
    public func makeCall(method: String, timeout: Duration?) throws -> ClientCall {
        var call: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let milliseconds = timeout.map { $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 } ?? 0
        guard fct_grpc_channel_start_call(handle, method, max(milliseconds, timeout == nil ? 0 : 1), &call, &error) == 0, let call else {
            defer { fct_grpc_free_string(error) }
            throw RPCError(code: .internalError, message: error.map { String(cString: $0) } ?? "cannot start \(method)")
        }
        return ClientCall(handle: call, method: method)
    }

    /// One request, one reply.
    public func unary(method: String, request: [UInt8], timeout: Duration?) async throws -> [UInt8] {
        let call = try makeCall(method: method, timeout: timeout)
        try await call.write(request)
        await call.closeSend()
        guard let reply = try await call.read() else {
            throw RPCError(code: .internalError, message: "\(method): the server ended the call without a reply")
        }
        if let error = await call.status() { throw error }
        return reply
    }

    /// One request, a stream of replies.
    public func serverStreaming(method: String, request: [UInt8], timeout: Duration?) -> AsyncThrowingStream<[UInt8], Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let call = try makeCall(method: method, timeout: timeout)
                    try await call.write(request)
                    await call.closeSend()
                    while let reply = try await call.read() {
                        if case .terminated = continuation.yield(reply) {
                            call.cancel()
                            break
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A stream of requests, one reply.
    public func clientStreaming<S: AsyncSequence>(method: String, requests: S, timeout: Duration?) async throws -> [UInt8]
    where S.Element == [UInt8] {
        let call = try makeCall(method: method, timeout: timeout)
        for try await request in requests { try await call.write(request) }
        await call.closeSend()
        guard let reply = try await call.read() else {
            throw RPCError(code: .internalError, message: "\(method): the server ended the call without a reply")
        }
        if let error = await call.status() { throw error }
        return reply
    }
}

/// Runs `body` with a C string for `text`, or nil.
private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString(body)
}
