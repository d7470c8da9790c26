// fedct-site: reads site.yaml and runs the site agent (outbound connections only) until SIGTERM/SIGINT or the job ends; `check` runs the data preflight.
import ArgumentParser
import FedCTCommandLine
import FedCTCore
import FedCTData
import FedCTObservability
import FedCTReconstructionObjective
import FedCTSite
import FedCTSiteStatus
import FedCTStorage
import FedCTTorch
import Foundation
import Logging
import ServiceLifecycle

@main
struct SiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedct-site",
        abstract: "Trains the consortium's model on this site's data and sends back only model updates.",
        subcommands: [CheckCommand.self, PolicyCommand.self, StatusLinkCommand.self, BenchLoadCommand.self, WorkerCommand.self, BenchWorkersCommand.self, BenchFetchCommand.self])

    static func main() async {
        Torch.useOneMallocArena()  // before any other thread allocates (Docs/torch-bridge.md, "One malloc arena")
        ReconstructionObjective.registerIfRequested()
        await mainExitingQuickly()
    }

    @OptionGroup var site: SiteConfigOption

    @Flag(name: .long, help: "Exit once a job this site trained in has finished.")
    var exitAfterJob = false

    @Option(name: .long, help: "Give up after this many failed connection attempts (default: retry forever).")
    var connectAttempts: Int?

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format: text (readable lines) or json (one object per line, for a SIEM); default: logging.format, else text.")
    var logFormat: LogFormat?

    func run() async throws {
        let settings = try SiteConfig(contentsOf: site.config)
        ProcessLogging.bootstrap(level: logLevel, format: logFormat ?? settings.observability.logFormat)
        let logger = Logger(label: "fedct.site")
        // Listens only on metrics.listen (normally loopback); everything else the agent does is outbound.
        let metrics = try await MetricsEndpoint.startIfConfigured(settings.observability, logger: logger)
        // Worker processes on this machine (workers.local > 1) run this same executable.
        let agent = try SiteAgent(config: settings, logger: logger, connectAttempts: connectAttempts,
                                  workerExecutable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
        // The long-running parts, in start order; they stop in reverse (the agent, then the status page, then metrics).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics {
            services.append(.init(service: StopOnShutdown { await metrics.close() }, serviceName: "metrics endpoint"))
        }
        // Loopback only (checked by SiteConfig): the read-only status page, behind a login link.
        if settings.statusListen != nil {
            let statusPage = try await SiteStatusPage.start(config: settings, status: agent.status, version: SiteAgent.version, logger: logger)
            services.append(.init(service: StopOnShutdown { await statusPage.stop() }, serviceName: "status page"))
        }
        // The agent's end (a job over with --exit-after-job) or failure stops the others too; its error is the exit status.
        services.append(.init(service: SiteAgentService(agent: agent, exitAfterJob: exitAfterJob),
                              successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup,
                              serviceName: "site agent"))
        try await DaemonServices.run(services, logger: logger)
    }
}

/// `--config`, shared by the agent and `check` (a subcommand's own `--config` would be taken by the agent's).
struct SiteConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of site.yaml.")
    var config: String
}

/// `fedct-site check`: the data preflight. Reads site.yaml's data folder, prints every problem, exits 2 when one blocks.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Checks the site's data folder (manifest, events, every image) and lists every problem; never connects.")

    @OptionGroup var site: SiteConfigOption

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let report = DataPreflight(directory: try SiteConfig(contentsOf: site.config).dataDirectory).run()
        print(json ? try report.json() : report.text)
        if report.isBlocking { throw ExitCode(2) }
    }
}

/// `fedct-site status-link`: a fresh login link for the running agent's status page.
struct StatusLinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-link",
        abstract: "Print a login link for the running agent's status page (status.listen), valid once within --minutes; run it as the agent's user.")

    @OptionGroup var site: SiteConfigOption

    @Option(name: .long, help: "Minutes the link stays valid (1–60).")
    var minutes = 10

    func validate() throws {
        guard (1...60).contains(minutes) else { throw ValidationError("--minutes must be from 1 to 60 (got \(minutes))") }
    }

    func run() throws {
        let settings = try SiteConfig(contentsOf: site.config)
        guard settings.statusListen != nil else {
            throw ValidationError("\(site.config) has no status section; add `status: {listen: 127.0.0.1:8600}` and restart fedct-site")
        }
        print(try LoginLink.siteStatus.make(stateDirectory: settings.stateDirectory, subject: "site operator", lifetime: Double(minutes) * 60))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
