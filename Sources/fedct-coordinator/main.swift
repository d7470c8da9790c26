// fedct-coordinator: reads coordinator.yaml, serves the Site and Admin services over mTLS, runs jobs until SIGTERM or SIGINT (a swift-service-lifecycle ServiceGroup).
import ArgumentParser
import FedCTAdmin
import FedCTCommandLine
import FedCTCoordinator
import FedCTCore
import FedCTDashboard
import FedCTObservability
import FedCTReconstructionObjective
import FedCTRPC
import FedCTStorage
import Foundation
import Logging
import ServiceLifecycle

@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedct-coordinator",
        abstract: "Schedules federated rounds and aggregates the sites' updates.")

    static func main() async {
        ReconstructionObjective.registerIfRequested()
        await mainExitingQuickly()
    }

    @Option(name: .long, help: "Path of coordinator.yaml.")
    var config: String

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format: text (readable lines) or json (one object per line); default: logging.format, else text.")
    var logFormat: LogFormat?

    func run() async throws {
        let settings = try CoordinatorConfig(contentsOf: config)
        ProcessLogging.bootstrap(level: logLevel, format: logFormat ?? settings.observability.logFormat)
        let logger = Logger(label: "fedct.coordinator")
        let metrics = try await MetricsEndpoint.startIfConfigured(settings.observability, logger: logger)
        let revocations = try settings.revocationListFile.map {
            try RevocationWatcher(listFile: $0, caFile: settings.caFile, stateDirectory: settings.stateDirectory,
                                  maxAgeDays: settings.revocationMaxAgeDays, logger: logger)
        }
        let coordinator = try Coordinator(config: settings, logger: logger)
        let service = CoordinatorService(coordinator: coordinator, chunkBytes: settings.chunkBytes, revocations: revocations, logger: logger)
        var options = ServerOptions(address: settings.listen, tls: try settings.tls())
        options.maxMessageBytes = settings.maxMessageBytes
        let server: GRPCServer
        do {
            server = try GRPCServer(options: options) { call in await service.handle(call) }
        } catch {
            throw FedCTError(.io, "cannot listen on \(settings.listen): \(error); is the port already in use?")
        }
        if let portFile = settings.portFile {
            try AtomicFile.write(Array("\(server.port)\n".utf8), to: URL(fileURLWithPath: portFile))
        }
        logger.info("listening", metadata: ["address": "\(settings.listen)", "port": "\(server.port)", "state": "\(settings.stateDirectory)"])
        // The long-running parts, in start order; they stop in reverse (ticks, then the listener, then the pages).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics {
            services.append(.init(service: StopOnShutdown { await metrics.close() }, serviceName: "metrics endpoint"))
        }
        if let listen = settings.dashboardListen {
            let dashboard = try await Dashboard.start(
                listen: listen, publicURL: settings.dashboardURL, certificateFile: settings.certificateFile, keyFile: settings.keyFile,
                stateDirectory: settings.stateDirectory, source: CoordinatorDashboardSource(coordinator: coordinator, service: service), logger: logger)
            let stateDirectory = settings.stateDirectory
            services.append(.init(service: StopOnShutdown { await dashboard.stop(stateDirectory: stateDirectory) }, serviceName: "dashboard"))
        }
        // In-flight calls get 5 s to finish; committed rounds are already on disk and an open round restarts on the next start.
        services.append(.init(service: StopOnShutdown { await server.shutdown(gracePeriod: .seconds(5)) }, serviceName: "RPC server"))
        let ticks = ClosureService {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await coordinator.tick()
                    service.publishSitesConnected()
                }
            }
        }
        services.append(.init(service: ticks, serviceName: "tick loop"))
        try await DaemonServices.run(services, logger: logger)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
