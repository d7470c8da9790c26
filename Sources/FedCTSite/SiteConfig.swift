// SiteConfig: the site agent's one YAML file — coordinator address, credentials, data folder, threads, workers, device, state folder.
public import FedCTCore
public import FedCTAudit
public import FedCTRPC
import FedCTStorage
public import FedCTTorch
import Foundation

/// `site.yaml`. Relative paths are resolved against the file's folder.
public struct SiteConfig: Sendable {
    public var coordinatorAddress: String
    /// TLS name to expect on the coordinator's certificate when it differs from the address's host.
    public var coordinatorServerName: String?
    /// How often the agent sends Heartbeat while it trains or evaluates (`coordinator.heartbeat_seconds`, default 15):
    /// well inside the coordinator's 60 s liveness window.
    public var heartbeatInterval: Duration
    public var caFile: String
    public var certificateFile: String
    public var keyFile: String
    public var dataDirectory: String
    /// `threads`: libtorch's threads in each training process (the agent and every worker alike); default: the cores.
    public var threads: Int
    /// `workers`: the processes (on this machine and others) that train each round data-parallel; default: the agent alone.
    public var workers: SiteWorkers
    /// The file this configuration was read from (workers the agent starts read it too).
    public var path: String
    /// `device`: where libtorch trains (`cpu`, the default, or `cuda[:N]`); checked against the linked libtorch at start-up.
    public var device: TorchDevice
    public var stateDirectory: String
    /// `data.cache_max_gib`: the most bytes the preprocessed-input cache (`<state_dir>/preprocessed`) keeps; nil: unbounded.
    public var preprocessedCacheMaxBytes: Int?
    /// `data.text_encoder`: a pretrained BERT checkpoint folder (config.json, vocab.txt, model.safetensors) for HLIP jobs
    /// with `hlip.text_tower: bert`; nil: none.
    public var textEncoderDirectory: String?
    /// Keep a copy of every update payload sent, beside the egress ledger (for audits and tests).
    public var archiveUpdates: Bool
    public var maxMessageBytes: Int
    /// The most differential privacy (ε at `privacyDelta`) this site spends across all jobs; nil: no DP required.
    public var maxEpsilon: Double?
    public var privacyDelta: Double
    /// `privacy.min_cohort`: the smallest held-out cohort (scans, positives, negatives) an evaluation metric may be reported
    /// on; a job's `evaluation.min_cohort` applies when larger. nil: the job's.
    public var minCohort: Int?
    /// Refuse jobs whose updates would leave the site unmasked.
    public var requireSecureAggregation: Bool
    /// `policy`: the rules a job must meet before anything of it leaves the site (`EgressPolicy`).
    public var egressPolicy: EgressPolicy
    /// `metrics.listen` (off when absent; keep it on loopback — the agent otherwise makes outbound connections only) and `logging.format`.
    public var observability: ObservabilitySettings
    /// `status.listen`: loopback `host:port` of the read-only status page; nil (the section absent) turns it off.
    public var statusListen: String?

    /// Reads `path`. For a data-parallel worker (`forWorker`) the `coordinator` and `tls` sections may be left out: a
    /// worker never calls the coordinator and needs no key, so another machine's copy of site.yaml can go without them.
    public init(contentsOf path: String, forWorker: Bool = false) throws {
        let yaml = try YAMLDocument(contentsOf: path)
        try yaml.rejectUnknownKeys(["coordinator", "tls", "data", "threads", "workers", "device", "state_dir", "egress", "max_message_mib", "privacy", "policy", "metrics", "logging", "status"])
        self.path = path
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String { value.hasPrefix("/") ? value : base.appending(path: value).path }
        func required(_ document: YAMLDocument, _ key: String) throws -> String {
            guard let value = try document.string(key), !value.isEmpty else { throw document.error(key, "is required") }
            return value
        }
        if let coordinator = try yaml.section("coordinator") {
            try coordinator.rejectUnknownKeys(["address", "server_name", "heartbeat_seconds"])
            coordinatorAddress = try required(coordinator, "address")
            guard coordinatorAddress.contains(":") else {
                throw coordinator.error("address", "must be host:port (got '\(coordinatorAddress)')")
            }
            coordinatorServerName = try coordinator.string("server_name")
            let heartbeat = try coordinator.double("heartbeat_seconds") ?? 15
            guard heartbeat >= 0.1 && heartbeat <= 45 else {
                throw coordinator.error("heartbeat_seconds", "must be between 0.1 and 45 (got \(heartbeat)): the coordinator takes a site silent for 60 s as gone")
            }
            heartbeatInterval = .milliseconds(Int((heartbeat * 1000).rounded()))
        } else if forWorker {
            (coordinatorAddress, coordinatorServerName, heartbeatInterval) = ("", nil, .seconds(15))
        } else {
            throw yaml.error("coordinator", "is required (address)")
        }
        if let tls = try yaml.section("tls") {
            try tls.rejectUnknownKeys(["ca", "cert", "key"])
            caFile = resolve(try required(tls, "ca"))
            certificateFile = resolve(try required(tls, "cert"))
            keyFile = resolve(try required(tls, "key"))
        } else if forWorker {
            (caFile, certificateFile, keyFile) = ("", "", "")
        } else {
            throw yaml.error("tls", "is required (ca, cert, key)")
        }
        guard let data = try yaml.section("data") else { throw yaml.error("data", "is required (dir)") }
        try data.rejectUnknownKeys(["dir", "cache_max_gib", "text_encoder"])
        dataDirectory = resolve(try required(data, "dir"))
        textEncoderDirectory = try data.string("text_encoder").map(resolve)
        if let gib = try data.double("cache_max_gib") {
            guard gib > 0, gib.isFinite else { throw data.error("cache_max_gib", "must be a positive number of GiB (got \(gib)); leave it out for no limit") }
            preprocessedCacheMaxBytes = Int(gib * Double(1 << 30))
        }
        threads = try yaml.int("threads") ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads >= 1 else { throw yaml.error("threads", "must be at least 1") }
        workers = try SiteWorkers(yaml)
        let deviceName = try yaml.string("device") ?? "cpu"
        guard let device = TorchDevice(deviceName) else {
            throw yaml.error("device", "must be cpu, cuda or cuda:N (got '\(deviceName)')")
        }
        // Checked here, at start-up, so a site asking for a GPU it cannot use stops before it joins any round.
        do {
            try device.checkAvailable()
        } catch let error as TorchError {
            throw yaml.error("device", "cannot be used here: \(error.message)")
        }
        self.device = device
        stateDirectory = resolve(try yaml.string("state_dir") ?? "state")
        archiveUpdates = try yaml.section("egress")?.bool("archive_updates") ?? false
        maxMessageBytes = (try yaml.int("max_message_mib") ?? 8) << 20
        let privacy = try yaml.section("privacy")
        try privacy?.rejectUnknownKeys(["max_epsilon", "delta", "require_secure_aggregation", "min_cohort"])
        maxEpsilon = try privacy?.double("max_epsilon")
        if let maxEpsilon, !(maxEpsilon > 0) { throw privacy!.error("max_epsilon", "must be a positive number (got \(maxEpsilon))") }
        privacyDelta = try privacy?.double("delta") ?? 1e-5
        guard privacyDelta > 0, privacyDelta < 1 else { throw privacy!.error("delta", "must be between 0 and 1") }
        requireSecureAggregation = try privacy?.bool("require_secure_aggregation") ?? true
        egressPolicy = try EgressPolicy(yaml.section("policy"))
        minCohort = try privacy?.int("min_cohort")
        if let minCohort, minCohort < 1 { throw privacy!.error("min_cohort", "must be at least 1 (got \(minCohort)); leave it out to use the job's") }
        observability = try ObservabilitySettings(yaml)
        if let status = try yaml.section("status") {
            try status.rejectUnknownKeys(["listen"])
            let listen = try status.string("listen") ?? ""
            let host = listen.lastIndex(of: ":").map { String(listen[..<$0]) } ?? ""
            guard ["127.0.0.1", "localhost", "[::1]"].contains(host), Int(listen.split(separator: ":").last ?? "").map({ (0...65535).contains($0) }) == true else {
                throw status.error("listen", "must be a loopback host:port, e.g. 127.0.0.1:8600 (got '\(listen)'); the status page shows the site's ledgers and is never served beyond this machine")
            }
            statusListen = listen
        }
    }

    public func tls() throws -> TLSConfig {
        try TLSConfig.load(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
    }

    /// The text of `path`, a file site.yaml names in `field` (e.g. tls.cert); one that cannot be read is a configuration
    /// error naming the field.
    static func readFile(_ path: String, _ field: String) throws -> String {
        do {
            return try TextFile.read(path: path)
        } catch {
            throw FedCTError(.invalidConfiguration, "cannot read \(field)", cause: error)
        }
    }
}
