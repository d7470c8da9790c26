// BenchLoadCommand: `fedct-site bench-load` (hidden) — many site agents in one process, as load for the coordinator benchmark.
import ArgumentParser
import FedCTCore
import FedCTObservability
import FedCTSite
import Foundation
import Logging

/// Runs one `SiteAgent` per config file of a folder concurrently in this process until each has finished the job it
/// trained in. Each agent has its own channel, certificate, data folder and egress ledger, and follows the
/// real site protocol (Join, PullTask, FetchModel, secure-aggregation steps, UploadUpdate); only the
/// process is shared. Used by `Scripts/bench-coordinator-200.sh`.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-load",
        abstract: "Runs a site agent for every .yaml file in the --config folder, all in this process, until their job ends (benchmark load).",
        shouldDisplay: false)

    /// `--config` names the folder of site.yaml files here (the option is shared with the agent's own `--config`).
    @OptionGroup var folder: SiteConfigOption

    @Option(name: .long, help: "Give up after this many failed connection attempts per agent.")
    var connectAttempts: Int = 20

    @Option(name: .long, help: "Log level of the agents (warning keeps 200 agents quiet).")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        ProcessLogging.bootstrap(level: logLevel)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.config).filter { $0.hasSuffix(".yaml") }.sorted()
        guard !files.isEmpty else { throw FedCTError(.invalidConfiguration, "\(folder.config) holds no .yaml site configs; pass the folder of site.yaml files as --config") }
        let settings = try files.map { try SiteConfig(contentsOf: "\(folder.config)/\($0)") }
        let attempts = connectAttempts
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, config) in settings.enumerated() {
                group.addTask {
                    let agent = try SiteAgent(config: config, logger: Logger(label: "fedct.site.\(index + 1)"), connectAttempts: attempts)
                    try await agent.run(exitAfterJob: true)
                }
            }
            try await group.waitForAll()
        }
    }
}
