// ServerCall: one incoming RPC — read the client's messages, write replies, finish with a status.
internal import CGRPCBridge
import Synchronization

/// One incoming call. Read and write are each used by one task at a time (gRPC allows one of each in flight).
public final class ServerCall: Sendable {
    // Safe to share: the C++ call object serialises its operations under its own mutex.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let finished = Mutex(false)

    /// The full method path, e.g. `/fedct.v1.Site/Join`.
    public let method: String
    public let peer: PeerInfo

    init(handle: OpaquePointer) {
        self.handle = handle
        method = String(cString: fct_grpc_call_method(handle))
        let certificate = String(cString: fct_grpc_call_peer_certificate(handle))
        let identities = String(cString: fct_grpc_call_peer_identities(handle)).split(separator: "\n").map(String.init)
        peer = PeerInfo(address: String(cString: fct_grpc_call_peer_address(handle)), identities: identities,
                        certificatePEM: certificate.isEmpty ? nil : certificate)
    }

    deinit { fct_grpc_call_release(handle) }

    /// The next message from the client, or nil when the client has finished sending (or is gone).
    public func read() async -> [UInt8]? {
        await awaitCompletion { fct_grpc_call_read(handle, $0, Trampoline.read) }
    }

    /// Sends a message; throws if the client is gone.
    public func write(_ message: [UInt8]) async throws {
        let ok: Bool = await awaitCompletion { context in
            message.withUnsafeBufferPointer { fct_grpc_call_write(handle, $0.baseAddress, $0.count, context, Trampoline.operation) }
        }
        guard ok else { throw RPCError(code: .cancelled, message: "\(method): the client went away") }
    }

    /// Ends the call: OK when `error` is nil, else its code and message. Later calls are ignored.
    public func finish(_ error: RPCError?) async {
        let first = finished.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        fct_grpc_call_finish(handle, error?.code.rawValue ?? 0, error?.message ?? "")
    }

    /// Whether `finish` was called.
    public var isFinished: Bool { finished.withLock { $0 } }

    /// Every message until the client stops sending.
    public func readAll() async -> [[UInt8]] {
        var messages: [[UInt8]] = []
        while let message = await read() { messages.append(message) }
        return messages
    }
}
