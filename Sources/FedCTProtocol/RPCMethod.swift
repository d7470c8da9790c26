// RPCMethod: one typed definition per method of the fedct.v1 services — path, message types, caller role, ledger kind.
public import SwiftProtobuf

/// Who may call a method: the coordinator serves Site methods to site certificates and Admin methods to admin ones.
public enum RPCCaller: String, Sendable {
    case site, admin
}

/// What the coordinator, the site's link, the admin client and the egress ledger need to know of a method, without its types.
public struct RPCMethodInfo: Sendable, Hashable {
    /// The gRPC path, `/fedct.v1.<Service>/<Method>`.
    public let path: String
    public let caller: RPCCaller
    /// The egress ledger's kind of a site call, when every call of the method has the same one (nil for `SubmitSetup` and
    /// `UploadUpdate`, whose kind depends on the message: see `EgressKind`; nil for Admin methods, which sites never call).
    public let ledgerKind: String?
    /// The protobuf names of the request and response messages (of each streamed message for streaming methods).
    public let requestMessage: String
    public let responseMessage: String

    /// The method's name without its service, as metrics label it (`Site/Join`).
    public var shortName: String { String(path.dropFirst("/fedct.v1.".count)) }
}

/// A method with its request and response message types (for streaming methods, the type of each streamed message), so
/// a server handler, a client call and the path they use come from one definition and a mismatch does not compile.
public struct RPCMethod<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable {
    public let info: RPCMethodInfo
    public var path: String { info.path }

    init(_ service: RPCCaller, _ name: String, ledgerKind: String? = nil) {
        info = RPCMethodInfo(path: "/fedct.v1.\(service == .site ? "Site" : "Admin")/\(name)", caller: service, ledgerKind: ledgerKind,
                             requestMessage: Request.protoMessageName, responseMessage: Response.protoMessageName)
    }
}

extension RPCMethod {
    /// Decodes one request message, or throws naming the method and the message type.
    public func decodeRequest(_ bytes: [UInt8]) throws(MalformedMessage) -> Request {
        do { return try Request(serializedBytes: bytes) } catch { throw MalformedMessage(path: path, message: info.requestMessage, cause: "\(error)") }
    }

    /// Decodes one response message, or throws naming the method and the message type.
    public func decodeResponse(_ bytes: [UInt8]) throws(MalformedMessage) -> Response {
        do { return try Response(serializedBytes: bytes) } catch { throw MalformedMessage(path: path, message: info.responseMessage, cause: "\(error)") }
    }
}

/// Bytes that do not decode as the message a method carries.
public struct MalformedMessage: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public let cause: String
    public var description: String { "\(path): malformed \(message) (\(cause))" }
}
