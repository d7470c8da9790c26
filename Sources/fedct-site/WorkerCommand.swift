// fedct-site worker: one data-parallel worker of a site (site.yaml `workers`), started by the agent or on another machine.
import ArgumentParser
import FedCTCore
import FedCTObservability
import FedCTSite
import Foundation
import Logging

/// `fedct-site worker --config site.yaml --rank N`: trains rank N's share of the site's rounds. The agent starts its own
/// machine's workers itself (with `--agent-pipe`); on another machine, run it there (for example as a systemd unit) with
/// the rank of that machine's entry in `workers.remote`.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Trains one worker's share of the site's rounds (site.yaml workers); never contacts the coordinator.")

    @OptionGroup var site: SiteConfigOption

    @Option(name: .long, help: "This worker's rank: on another machine, workers.local + its position in workers.remote (0 is the agent).")
    var rank: Int

    @Flag(name: .long, help: "Started by the agent: take each round from standard input and exit when it closes.")
    var agentPipe = false

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    func run() throws {
        let settings = try SiteConfig(contentsOf: site.config, forWorker: true)
        ProcessLogging.bootstrap(level: logLevel, format: settings.observability.logFormat)
        var logger = Logger(label: "fedct.site.worker")
        logger[metadataKey: "worker"] = "\(rank)"
        let worker = try SiteWorker(config: settings, rank: rank, logger: logger)
        if agentPipe { worker.followAgent() }
        guard case .remote = settings.workers.placement(ofRank: rank) else {
            throw ValidationError("rank \(rank) is a worker on the agent's machine (workers.local is \(settings.workers.local)); the agent starts those itself")
        }
        worker.serveRemote()
    }
}
