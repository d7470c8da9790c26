// TLSConfig: the PEM material of one side of a mutual-TLS connection, and loading it from files.
internal import CGRPCBridge
import Foundation

/// PEM material for mutual TLS: the CA that must have signed the peer, and this side's certificate and key.
public struct TLSConfig: Sendable, Equatable {
    /// The CA certificate(s) the peer's certificate must chain to.
    public var trustRootsPEM: String
    /// This side's certificate, leaf first, optionally followed by intermediates.
    public var certificateChainPEM: String
    /// This side's private key (PKCS#8 or SEC1/PKCS#1 PEM).
    public var privateKeyPEM: String

    public init(trustRootsPEM: String, certificateChainPEM: String, privateKeyPEM: String) {
        self.trustRootsPEM = trustRootsPEM
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads the three PEM files. A failure is an ``RPCError`` with code `invalidArgument` whose message names the
    /// file and what is wrong with it (missing, unreadable, not the expected PEM).
    public static func load(caFile: String, certificateFile: String, keyFile: String) throws -> TLSConfig {
        TLSConfig(
            trustRootsPEM: try readPEM(caFile, what: "CA certificate", marker: "CERTIFICATE"),
            certificateChainPEM: try readPEM(certificateFile, what: "certificate", marker: "CERTIFICATE"),
            privateKeyPEM: try readPEM(keyFile, what: "private key", marker: "PRIVATE KEY"))
    }

    private static func readPEM(_ path: String, what: String, marker: String) throws -> String {
        func failure(_ problem: String) -> RPCError {
            RPCError(code: .invalidArgument, message: "\(what) file \(path) \(problem)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw failure("does not exist") }
        guard !isDirectory.boolValue else { throw failure("is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("cannot be read (permissions?)") }
        guard let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN"), text.contains(marker) else {
            throw failure("is not a PEM \(what) (expected a -----BEGIN …\(marker)----- block)")
        }
        return text
    }
}

extension Optional where Wrapped == TLSConfig {
    /// Runs `body` with the C view of the TLS material (nil for plaintext); the pointers live only during `body`.
    func withBridge<R>(_ body: (UnsafePointer<fct_grpc_tls>?) throws -> R) rethrows -> R {
        guard let tls = self else { return try body(nil) }
        return try tls.trustRootsPEM.withCString { roots in
            try tls.certificateChainPEM.withCString { chain in
                try tls.privateKeyPEM.withCString { key in
                    var bridge = fct_grpc_tls(root_certs_pem: roots, cert_chain_pem: chain, private_key_pem: key)
                    return try body(&bridge)
                }
            }
        }
    }
}
