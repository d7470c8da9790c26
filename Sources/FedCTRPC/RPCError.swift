// RPCError: a gRPC status (code and message) as a Swift error.

/// A call's failure status, as gRPC reports it (or as a handler sets it with ``ServerCall/finish(_:)``).
public struct RPCError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A gRPC status code. Unknown raw values are kept as they are.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: 0)
        public static let cancelled = Code(rawValue: 1)
        public static let unknown = Code(rawValue: 2)
        public static let invalidArgument = Code(rawValue: 3)
        public static let deadlineExceeded = Code(rawValue: 4)
        public static let notFound = Code(rawValue: 5)
        public static let alreadyExists = Code(rawValue: 6)
        public static let permissionDenied = Code(rawValue: 7)
        public static let resourceExhausted = Code(rawValue: 8)
        public static let failedPrecondition = Code(rawValue: 9)
        public static let aborted = Code(rawValue: 10)
        public static let outOfRange = Code(rawValue: 11)
        public static let unimplemented = Code(rawValue: 12)
        public static let internalError = Code(rawValue: 13)
        public static let unavailable = Code(rawValue: 14)
        public static let dataLoss = Code(rawValue: 15)
        public static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
            "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]

        /// The gRPC name, e.g. `PERMISSION_DENIED`.
        public var description: String {
            Self.names.indices.contains(Int(rawValue)) ? Self.names[Int(rawValue)] : "code \(rawValue)"
        }
    }

    public var code: Code
    /// The status message, exactly as sent by the peer or produced by gRPC.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// One line: `PERMISSION_DENIED: site-b may not call /fedct.v1.Admin/ListJobs`.
    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }

    /// For a client-side UNAVAILABLE: what failed (connection refused, unknown host, TLS handshake, connection
    /// closed) and what to check, read from gRPC's own text (`failed to connect to all addresses; last error: …`);
    /// nil for other errors, for one already explained, and for an UNAVAILABLE whose message is not gRPC's (e.g. a
    /// server shutting down).
    public var connectionProblem: (what: String, hint: String)? {
        guard code == .unavailable, !message.hasPrefix("cannot reach ") else { return nil }
        if message.contains("Connection refused") || message.contains("No route") {
            return ("connection refused", "is the server running, and is the address right?")
        } else if message.contains("DNS resolution failed") || message.contains("Domain name not found") {
            return ("the host name does not resolve", "check the address")
        } else if message.lowercased().contains("handshake") || message.contains("CERTIFICATE_VERIFY_FAILED") {
            return ("the TLS handshake failed",
                    "do both sides' certificates come from the same CA, and does the server's certificate name the target host?")
        } else if message.contains("Socket closed") || message.contains("Connection reset") || message.contains("Broken pipe") {
            return ("the server closed the connection", "it may have refused this client's certificate, or be shutting down")
        } else if message.contains("failed to connect") || message.contains("last error") || message.isEmpty {
            return ("the connection failed", "is the server running, is the address right, and does a firewall let the connection through?")
        }
        return nil
    }

    /// For a client-side UNAVAILABLE: the same error with a readable message naming the target, what failed and what
    /// to check (``connectionProblem``), in place of gRPC's own text. Other errors are returned unchanged.
    public func explainingConnectionFailure(target: String) -> RPCError {
        guard code == .unavailable else { return self }
        guard let problem = connectionProblem else { return RPCError(code: code, message: "\(target): \(message)") }
        return RPCError(code: code, message: "cannot reach \(target): \(problem.what); \(problem.hint)")
    }
}
