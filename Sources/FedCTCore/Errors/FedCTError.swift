// FedCTError: the error type of the FedCT libraries — a code, a message that says what to do, an optional cause.

/// An error raised by FedCT's libraries and services.
///
/// Messages name the file, field or peer at fault and say what to do about it; `code` lets callers
/// branch without parsing text.
public struct FedCTError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Extensible: new codes are static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration file or option is missing, malformed or inconsistent.
        public static let invalidConfiguration = Code("invalid-configuration")
        /// Input data (volumes, tables, manifests, model blobs) is malformed.
        public static let invalidData = Code("invalid-data")
        /// A file could not be read or written.
        public static let io = Code("io")
        /// A peer sent something the protocol does not allow at this point.
        public static let protocolViolation = Code("protocol-violation")
        /// A hash, size or count did not match what was announced.
        public static let integrity = Code("integrity")
        /// The requested object does not exist.
        public static let notFound = Code("not-found")
        /// The caller is not allowed to do this.
        public static let permissionDenied = Code("permission-denied")
        /// The operation cannot run in the current state.
        public static let failedPrecondition = Code("failed-precondition")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        guard let cause else { return message }
        return "\(message) (\(ErrorText.describe(cause)))"
    }
}
