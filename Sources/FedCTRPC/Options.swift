// Options: TLS material and the settings of servers and channels.
internal import CGRPCBridge
import Foundation

/// PEM material for mutual TLS.
public struct TLSConfig: Sendable {
    /// The CA that must have signed the peer's certificate.
    public var trustRootsPEM: String
    public var certificateChainPEM: String
    public var privateKeyPEM: String

    public init(trustRootsPEM: String, certificateChainPEM: String, privateKeyPEM: String) {
        self.trustRootsPEM = trustRootsPEM
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads the three PEM files; an error names the one that cannot be read.
    public static func load(caFile: String, certificateFile: String, keyFile: String) throws -> TLSConfig {
        func read(_ path: String, _ what: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
                text.contains("-----BEGIN")
            else {
                throw RPCError(code: .invalidArgument, message: "\(path): cannot read the \(what) (a PEM file is expected)")
            }
            return text
        }
        return TLSConfig(trustRootsPEM: try read(caFile, "CA certificate"), certificateChainPEM: try read(certificateFile, "certificate"),
                         privateKeyPEM: try read(keyFile, "private key"))
    }
}

/// Where and how a server listens.
public struct ServerOptions: Sendable {
    /// host:port; port 0 picks a free port.
    public var address: String
    /// nil only in tests that want plaintext; otherwise clients must present a certificate from `tls.trustRootsPEM`.
    public var tls: TLSConfig?
    public var maxMessageBytes: Int = 16 << 20
    public var keepaliveSeconds: Int = 30

    public init(address: String, tls: TLSConfig?) {
        self.address = address
        self.tls = tls
    }
}

/// Where and how a channel connects.
public struct ChannelOptions: Sendable {
    public var target: String
    public var tls: TLSConfig?
    /// The name expected on the server's certificate when it differs from the target's host.
    public var serverNameOverride: String?
    public var maxMessageBytes: Int = 16 << 20
    public var keepaliveSeconds: Int = 30

    public init(target: String, tls: TLSConfig?) {
        self.target = target
        self.tls = tls
    }
}

/// Who is calling, as TLS verified it.
public struct PeerInfo: Sendable {
    public let address: String
    /// The identities gRPC verified (certificate SANs, else CN).
    public let identities: [String]
    /// The verified client certificate, PEM; nil without TLS.
    public let certificatePEM: String?
}

extension Optional where Wrapped == TLSConfig {
    /// Runs `body` with the C view of the TLS material (nil for plaintext).
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
