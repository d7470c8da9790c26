// Options: how a server listens and a channel connects, and who a server's caller is.

/// Where and how a ``GRPCServer`` listens.
public struct ServerOptions: Sendable {
    /// `host:port`; port 0 picks a free port (see ``GRPCServer/port``).
    public var address: String
    /// Mutual TLS: every client must present a certificate signed by `tls.trustRootsPEM`, and the server presents
    /// `tls.certificateChainPEM`. nil means plaintext, which exists only for tests that ask for it.
    public var tls: TLSConfig?
    /// Largest message the server accepts and sends; a larger one fails its call with `resourceExhausted`.
    /// 0 or less keeps gRPC's defaults (4 MiB received, no limit sent).
    public var maxMessageBytes: Int = 16 << 20
    /// Ping idle clients this often (0 keeps gRPC's 2 hours).
    public var keepaliveSeconds: Int = 30
    /// Drop a connection whose ping is not answered within this time.
    public var keepaliveTimeoutSeconds: Int = 20
    /// Accept client keepalive pings this often, even without calls (gRPC's default of 5 minutes would make the
    /// server hang up on clients that ping every 30 s). Keep it at or below the clients' `keepaliveSeconds`.
    public var minimumClientPingSeconds: Int = 10
    /// The receive window of each call, fixed: what gRPC buffers of each incoming stream (an upload) before the
    /// handler reads it. It caps one call's rate at this many bytes per round trip (4 MiB: 80 MB/s at 50 ms); 0 or
    /// less keeps gRPC's window, which grows with bandwidth-delay probes to many MiB per call.
    public var streamWindowBytes: Int = 4 << 20

    public init(address: String, tls: TLSConfig?) {
        self.address = address
        self.tls = tls
    }
}

/// Where and how a ``GRPCChannel`` connects.
public struct ChannelOptions: Sendable {
    /// gRPC target, e.g. `coordinator.example.org:7443`.
    public var target: String
    /// Mutual TLS: the server's certificate must chain to `tls.trustRootsPEM` and name the target host (or
    /// `serverNameOverride`); this side presents `tls.certificateChainPEM`. nil means plaintext (tests only).
    public var tls: TLSConfig?
    /// The name expected on the server's certificate when it differs from the target's host.
    public var serverNameOverride: String?
    /// Largest message the channel sends and accepts; 0 or less keeps gRPC's defaults (4 MiB received, no limit
    /// sent).
    public var maxMessageBytes: Int = 16 << 20
    /// Ping the server after this much idle time, also between calls (0 disables). The server must accept pings
    /// this often (``ServerOptions/minimumClientPingSeconds``).
    public var keepaliveSeconds: Int = 30
    /// Give up on a connection whose ping is not answered within this time.
    public var keepaliveTimeoutSeconds: Int = 20
    /// Upper bound of the pause between reconnection attempts after the server went away (gRPC's default is 120 s).
    public var maxReconnectBackoffSeconds: Int = 10

    public init(target: String, tls: TLSConfig?) {
        self.target = target
        self.tls = tls
    }
}

/// Who is calling a server, as TLS verified it.
public struct PeerInfo: Sendable, Equatable {
    /// The peer's address as gRPC reports it, e.g. `ipv4:10.0.0.7:51324`.
    public let address: String
    /// The identities gRPC verified from the client certificate: its subject alternative names, else its CN.
    public let identities: [String]
    /// The verified client certificate, PEM; nil without TLS.
    public let certificatePEM: String?

    public init(address: String, identities: [String], certificatePEM: String?) {
        self.address = address
        self.identities = identities
        self.certificatePEM = certificatePEM
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a short positive duration never becomes "no deadline".
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 > 0 ? milliseconds + 1 : milliseconds
    }
}

extension Int {
    /// Seconds as milliseconds for the bridge; 0 or less means "not set".
    var secondsAsMilliseconds: Int64 { self > 0 ? Int64(self) * 1000 : 0 }
}
