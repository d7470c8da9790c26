// fedct-site: reads site.yaml and runs the site agent (outbound connections only) until SIGTERM or the job ends.
import ArgumentParser
import FedCTCommandLine
import FedCTCore
import FedCTSite
import Logging

@main
struct SiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedct-site",
        abstract: "Trains the consortium's model on this site's data and sends back only model updates.")

    static func main() async { await mainExitingQuickly() }

    @Option(name: .long, help: "Path of site.yaml.")
    var config: String

    @Flag(name: .long, help: "Exit once a job this site trained in has finished.")
    var exitAfterJob = false

    @Option(name: .long, help: "Give up after this many failed connection attempts (default: retry forever).")
    var connectAttempts: Int?

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        ProcessLogging.bootstrap(level: logLevel)
        let agent = try SiteAgent(config: try SiteConfig(contentsOf: config), logger: Logger(label: "fedct.site"),
                                  connectAttempts: connectAttempts)
        let work = Task { try await agent.run(exitAfterJob: exitAfterJob) }
        let stop = Task {
            _ = await ShutdownSignals.next()
            work.cancel()
        }
        defer { stop.cancel() }
        do {
            try await work.value
        } catch is CancellationError {
            return
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
