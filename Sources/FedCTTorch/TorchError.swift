// TorchError: the error type of FedCTTorch — a code, and a message from the Swift checks or from libtorch.
internal import CTorchBridge

/// An error raised by the libtorch bridge or by the wrapper's own argument checks.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Extensible: new codes are static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An argument was wrong: a count that does not match a shape, an unsupported configuration.
        public static let invalidArgument = Code("invalid-argument")
        /// libtorch itself raised an error (for example a volume too small for the network).
        public static let torch = Code("torch")
        /// Any other failure inside the C++ bridge (out of memory, ...).
        public static let internalError = Code("internal")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What was wrong, and where possible what to do about it.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An argument error with `message`.
    public init(_ message: String) { self.init(.invalidArgument, message) }

    public var description: String { "torch error (\(code)): \(message)" }

    /// Calls a bridge function that returns a status and, on failure, a malloc'd message (freed here).
    static func check(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = body(&message)
        guard status != Int32(FCT_TORCH_OK) else { return }
        let text = message.map { String(cString: $0) } ?? "no message"
        fct_torch_free_string(message)
        switch status {
        case Int32(FCT_TORCH_INVALID_ARGUMENT): throw TorchError(.invalidArgument, text)
        case Int32(FCT_TORCH_TORCH_ERROR): throw TorchError(.torch, text)
        default: throw TorchError(.internalError, "\(text) (status \(status))")
        }
    }
}
