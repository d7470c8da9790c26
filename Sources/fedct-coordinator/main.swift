// fedct-coordinator: reads coordinator.yaml, serves the Site and Admin services over mTLS, runs jobs until SIGTERM.
import ArgumentParser
import FedCTCommandLine
import FedCTCoordinator
import FedCTCore
import FedCTRPC
import Foundation
import Logging

@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedct-coordinator",
        abstract: "Schedules federated rounds and aggregates the sites' updates.")

    static func main() async { await mainExitingQuickly() }

    @Option(name: .long, help: "Path of coordinator.yaml.")
    var config: String

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        ProcessLogging.bootstrap(level: logLevel)
        let logger = Logger(label: "fedct.coordinator")
        let settings = try CoordinatorConfig(contentsOf: config)
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

        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await coordinator.tick()
            }
        }
        let signal = await ShutdownSignals.next()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        ticker.cancel()
        await server.shutdown(gracePeriod: .seconds(5))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
