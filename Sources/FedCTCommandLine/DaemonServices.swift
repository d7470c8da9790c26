// DaemonServices: runs a daemon's long-running parts as one swift-service-lifecycle ServiceGroup, stopped gracefully on SIGTERM or SIGINT.
public import Logging
public import ServiceLifecycle
import UnixSignals

/// A daemon's long-running parts (the coordinator's RPC server, tick loop, dashboard and metrics endpoint; the site's
/// agent, status page and metrics endpoint) run as one `ServiceGroup`. SIGTERM or SIGINT, or a part that ends
/// (the site's agent after its job) or fails, shuts the group down gracefully: the parts stop in the reverse of their
/// order, each once the one after it has finished, so the listeners close after the work they serve.
public enum DaemonServices {
    /// Runs `services` (in start order) until a termination signal or until one of them ends; logs "shutting down" when
    /// the group starts to stop and "stopped" once every part has stopped. Rethrows the error of a part that failed.
    public static func run(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger) async throws {
        let announcer = ServiceGroupConfiguration.ServiceConfiguration(service: ShutdownAnnouncer(logger: logger), serviceName: "shutdown log")
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services + [announcer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// A part already started (a listener, a web page, the metrics endpoint) that has one thing to do when the daemon
/// stops: `stop` (close it). It runs until its graceful shutdown, or until the group is cancelled, then stops the part.
public struct StopOnShutdown: Service {
    private let stop: @Sendable () async -> Void

    /// A part closed by `stop`.
    public init(_ stop: @escaping @Sendable () async -> Void) {
        self.stop = stop
    }

    public func run() async throws {
        // Returns at graceful shutdown and throws CancellationError when the group is cancelled: either way, close.
        try? await gracefulShutdown()
        await stop()
    }
}

/// The last part of every daemon's group, so the first to be told to stop: it logs that the daemon is stopping.
struct ShutdownAnnouncer: Service {
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("shutting down")
    }
}
