// CoordinatorLink+Site: the link a site.yaml describes — the coordinator's address and server name, the message limit, the TLS files and the egress ledger.
import FedCTAudit
import FedCTRPC
public import Logging

extension CoordinatorLink {
    /// The link to the coordinator `config` names, presenting the site's certificate (renewals included) and recording
    /// every call in the site's egress ledger under `agentVersion`.
    public init(site config: SiteConfig, agentVersion: String, logger: Logger) throws {
        var options = ChannelOptions(target: config.coordinatorAddress, tls: nil)  // TLS material: read by the link, renewals included
        options.serverNameOverride = config.coordinatorServerName
        options.maxMessageBytes = config.maxMessageBytes
        try self.init(options: options, loadTLS: { [config] in try config.tls() },
                      ledger: try EgressLedger(config: config, agentVersion: agentVersion, policy: config.ledgerPolicy, logger: logger),
                      logger: logger)
    }
}
