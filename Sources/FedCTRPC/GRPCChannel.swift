// GRPCChannel: a client connection to one gRPC target, with unary and streaming conveniences over ClientCall.
internal import CGRPCBridge

/// A channel to a server. Connections are made (and re-made) by gRPC as calls need them; calls fail fast with
/// UNAVAILABLE while the server cannot be reached. Thread-safe; share one channel per target.
public final class GRPCChannel: Sendable {
    // Safe to share: a gRPC channel and its generic stub are thread-safe; the handle is freed once, in `deinit`.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let maxMessageBytes: Int
    /// The target this channel connects to.
    public let target: String

    /// Creates the channel; nothing connects until the first call.
    public init(options: ChannelOptions) throws {
        var channel: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let status = options.tls.withBridge { tls in
            options.target.withCString { target in
                withOptionalCString(options.serverNameOverride) { serverName in
                    var bridge = fct_grpc_channel_options(
                        target: target, tls: tls, server_name_override: serverName,
                        max_receive_message_bytes: Int64(options.maxMessageBytes), max_send_message_bytes: Int64(options.maxMessageBytes),
                        keepalive_time_ms: options.keepaliveSeconds.secondsAsMilliseconds,
                        keepalive_timeout_ms: options.keepaliveTimeoutSeconds.secondsAsMilliseconds,
                        max_reconnect_backoff_ms: options.maxReconnectBackoffSeconds.secondsAsMilliseconds)
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
        maxMessageBytes = options.maxMessageBytes
    }

    deinit { fct_grpc_channel_free(handle) }

    /// Starts a call to `method` (e.g. `/fedct.v1.Site/Join`); nil `timeout` means no deadline.
    public func makeCall(method: String, timeout: Duration?) throws -> ClientCall {
        var call: OpaquePointer?
        var error: UnsafeMutablePointer<CChar>?
        let milliseconds = timeout.map { max($0.wholeMilliseconds, 1) } ?? 0
        guard fct_grpc_channel_start_call(handle, method, milliseconds, &call, &error) == 0, let call else {
            defer { fct_grpc_free_string(error) }
            throw RPCError(code: .internalError, message: error.map { String(cString: $0) } ?? "cannot start \(method)")
        }
        return ClientCall(handle: call, method: method, maxMessageBytes: maxMessageBytes)
    }
}

extension GRPCChannel {
    /// One request, one reply. Throws the call's status as an ``RPCError``; INTERNAL if the server sent no reply
    /// or more than one.
    public func unary(method: String, request: [UInt8], timeout: Duration?) async throws -> [UInt8] {
        let call = try makeCall(method: method, timeout: timeout)
        try await call.write(request)
        await call.closeSend()
        return try await Self.onlyReply(of: call)
    }

    /// One request, a stream of replies. The stream ends when the server ends the call with OK and throws its
    /// status otherwise; ending the iteration early cancels the call.
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

    /// A stream of requests, one reply. If the server ends the call early, the error is its status.
    public func clientStreaming<S: AsyncSequence>(method: String, requests: S, timeout: Duration?) async throws -> [UInt8]
    where S.Element == [UInt8] {
        let call = try makeCall(method: method, timeout: timeout)
        var iterator = requests.makeAsyncIterator()
        while true {
            let request: [UInt8]?
            do {
                request = try await iterator.next()
            } catch {
                call.cancel()  // the request sequence failed: the server must not take a partial stream as complete
                throw error
            }
            guard let request else { break }
            try await call.write(request)
        }
        await call.closeSend()
        return try await Self.onlyReply(of: call)
    }

    /// Reads the single reply of a call whose requests are sent, and checks that the call then ends with OK.
    private static func onlyReply(of call: ClientCall) async throws -> [UInt8] {
        guard let reply = try await call.read() else {
            throw RPCError(code: .internalError, message: "\(call.method): the server ended the call without a reply")
        }
        if try await call.read() != nil {
            call.cancel()
            throw RPCError(code: .internalError, message: "\(call.method): the server sent more than one reply")
        }
        return reply
    }
}

/// Runs `body` with a C string for `text`, or nil.
private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString(body)
}
