// fedct-site policy check: answers in advance, offline, whether this site's egress policy would accept a job, and why not.
import ArgumentParser
import FedCTCore
import FedCTProto
import FedCTSite
import FedCTStorage

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "The site's egress policy (site.yaml `policy` and `privacy`).", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Whether this site would accept the job in JOB_YAML, and if not the reason and the site.yaml setting that decides it. \
            Exit 0: accepted; 3: declined. Byte limits need the job's model size and are checked when the site receives the job.
            """)

        @OptionGroup var site: SiteConfigOption

        @Argument(help: "The job.yaml to check.")
        var job: String

        func run() throws {
            let config = try SiteConfig(contentsOf: site.config)
            let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(contentsOf: job))
            if let (reason, setting) = config.egressPolicy.refusal(of: spec, modelBytes: 0, delta: config.privacyDelta,
                                                                  requireSecureAggregation: config.requireSecureAggregation,
                                                                  maxEpsilon: config.maxEpsilon) {
                print("DECLINED: \(reason)\nsetting: \(setting) in \(site.config)")
                throw ExitCode(3)
            }
            print("ACCEPTED: job '\(spec.name)' meets this site's egress policy (\(site.config))")
        }
    }
}
