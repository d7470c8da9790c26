// WebServer: runs a Hummingbird 2 application on one address, over HTTPS when given a certificate, until stopped.
import FedCTCore
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL

/// The certificate and key (PEM files) a page is served over HTTPS with.
public struct WebTLS: Sendable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    func configuration() throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            return configuration
        } catch {
            throw FedCTError(.invalidConfiguration, "cannot load the web page's certificate \(certificateFile) or key \(keyFile): \(error)")
        }
    }
}

/// A running web application; `stop()` ends it.
public final class WebServer: Sendable {
    /// The bound port (useful when the configured port is 0).
    public let port: Int
    private let task: Task<Void, any Error>

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    /// Request headers larger than this are refused (400, by the HTTP parser) before any route runs.
    public static let maxHeaderBytes = 16 << 10

    /// Binds `address` (`host:port`) and serves `router`; `setting` names the configuration key in errors.
    public static func start(address: String, setting: String, tls: WebTLS?, router: Router<BasicRequestContext>,
                             logger: Logger) async throws -> WebServer {
        let (host, port) = try split(address, setting: setting)
        let http = HTTP1Channel.Configuration(
            idleTimeout: .seconds(60),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes, maxHeaderFieldCount: 100))
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(configuration: http), tlsConfiguration: $0.configuration()) }
            ?? .http1(configuration: http)
        let (bound, continuation) = AsyncThrowingStream<Int, any Error>.makeStream()
        let application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 64),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? port) },
            logger: logger)
        let task = Task {
            do {
                try await application.run()
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
                throw error
            }
        }
        do {
            for try await port in bound { return WebServer(port: port, task: task) }
        } catch {
            throw FedCTError(.io, "\(setting) \(address): cannot listen (\(error)); is the port already in use?")
        }
        throw FedCTError(.io, "\(setting) \(address): the web server stopped before it listened")
    }

    /// Stops listening and closes open connections.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// `host:port` → host and port; brackets around an IPv6 host are removed.
    public static func split(_ address: String, setting: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw FedCTError(.invalidConfiguration, "\(setting) '\(address)' must be host:port, e.g. 127.0.0.1:8443")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
