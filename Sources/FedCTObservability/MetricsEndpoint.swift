// MetricsEndpoint: a small SwiftNIO HTTP/1.1 server answering `GET /metrics` (Prometheus text format) and `GET /healthz`, 404 otherwise.
public import FedCTCore
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus

/// Serves a registry's metrics on one address for as long as the daemon runs.
///
/// It listens only on the configured address (normally loopback), answers `GET /metrics` (and `HEAD`)
/// with `text/plain; version=0.0.4`, `GET /healthz` with 200 `ok` while the process serves (the container health
/// check and Kubernetes probes) and every other request with 404. Requests are parsed by NIOHTTP1.
public final class MetricsEndpoint: Sendable {
    /// The bound port (useful when the configured port is 0).
    public let port: Int
    private let channel: any Channel

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Binds `address` (`host:port`, `[v6]:port`) and starts answering scrapes of `registry`.
    public static func start(address: String, registry: PrometheusCollectorRegistry) async throws -> MetricsEndpoint {
        let (host, port) = try split(address)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(registry: registry))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw FedCTError(.io, "metrics.listen \(address): cannot listen (\(error)); is the port already in use?")
        }
        return MetricsEndpoint(channel: channel, port: channel.localAddress?.port ?? port)
    }

    /// Bootstraps the Prometheus backend and serves it on `metrics.listen`; nil (and no backend) when that is not set.
    public static func startIfConfigured(_ settings: ObservabilitySettings, logger: Logger) async throws -> MetricsEndpoint? {
        guard let address = settings.metricsListen else { return nil }
        let endpoint = try await start(address: address, registry: ProcessMetrics.bootstrap())
        logger.info("serving metrics", metadata: ["address": "\(address)", "port": "\(endpoint.port)", "path": "/metrics"])
        return endpoint
    }

    /// Stops listening; a scrape already being answered finishes on its own connection.
    public func close() async {
        try? await channel.close()
    }

    /// `host:port` → host and port; brackets around an IPv6 host are removed.
    static func split(_ address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw FedCTError(.invalidConfiguration, "metrics.listen '\(address)' must be host:port, e.g. 127.0.0.1:9464")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

/// Answers one HTTP/1.1 connection's requests, keeping it open when the client asks to.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var request: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let readable = head.method == .GET || head.method == .HEAD
        let metrics = readable && path == "/metrics"
        let health = readable && path == "/healthz"
        let found = metrics || health
        let body: [UInt8] = metrics ? registry.emitToBuffer()
            : Array((health ? "ok\n" : "not found; metrics are at GET /metrics, health at GET /healthz\n").utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: metrics ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let status: HTTPResponseStatus = found ? .ok : .notFound
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = head.isKeepAlive
        let connection = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { connection.value.close(promise: nil) }
        }
    }
}
