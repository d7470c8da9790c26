// SiteAgent: the site's main loop — join, pull tasks, train locally on the site's data, upload the update.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTProtocol
import FedCTRPC
import FedCTStorage
import FedCTTorch
import FedCTTraining
import Foundation
public import Logging

/// Runs a site: connects out to the coordinator, and for every TRAIN task trains the job's model on
/// local data and sends back only the model delta (through `CoordinatorLink`, the egress point).
public final class SiteAgent {
    public static let version = "0.1.0"
    let config: SiteConfig
    let logger: Logger
    let link: CoordinatorLink
    let credentials: SecureAggregationCredentials
    /// Give up connecting after this many failed attempts (nil: keep retrying).
    let connectAttempts: Int?
    /// What the agent is doing now (read by the status page).
    public let status = AgentStatus()
    private var datasets: [String: SiteDataset] = [:]
    /// The site's half of the setup stage of the job `jobID`, which read its data once.
    private var setupInputs: (jobID: String, setup: any SiteSetup)?
    private var models: [SiteRoundTraining.ModelKey: TorchModel] = [:]
    /// Pretrained text encoders of HLIP jobs with `hlip.text_tower: bert`, by job.
    private var textEncoders: [String: PretrainedTextEncoder] = [:]
    /// FedBN: each job's layers that stay at the site (its normalisation layers, a pretrained text tower), by range, as
    /// the site last trained them.
    var localStates: [String: [Range<Int>: [Float]]] = [:]
    /// Rank 0 of data-parallel rounds (site.yaml `workers`); nil when the agent trains alone.
    let workerPool: SiteWorkerPool?

    /// `workerExecutable`: the fedct-site executable that worker processes on this machine run (`workers.local` > 1).
    public init(config: SiteConfig, logger: Logger, connectAttempts: Int? = nil, workerExecutable: URL? = nil) throws {
        try SiteDataset.checkFolder(config.dataDirectory)
        self.config = config
        self.logger = logger
        self.connectAttempts = connectAttempts
        self.credentials = try SecureAggregationCredentials(config: config)
        self.link = try CoordinatorLink(site: config, agentVersion: Self.version, logger: logger)
        Torch.setThreadCount(config.threads)
        workerPool = config.workers.isDataParallel ? try SiteWorkerPool(config: config, executable: workerExecutable, logger: logger) : nil
    }

    /// Works until cancelled, or until a job it took part in finishes when `exitAfterJob` is set.
    public func run(exitAfterJob: Bool) async throws {
        defer { workerPool?.stop() }
        status.set("joining")
        let joined = try await withRetries("join") { try await link.join(joinRequest()) }
        if let refusal = WireProtocolVersion.siteRefusal(coordinator: joined.protocolVersion, oldestSiteServed: joined.oldestSiteProtocolVersion,
                                                         coordinatorVersion: joined.coordinatorVersion, agentVersion: Self.version) {
            throw FedCTError(.failedPrecondition, "\(config.coordinatorAddress): \(refusal)")
        }
        logger.info("joined the coordinator", metadata: ["as": "\(joined.siteID)", "coordinator": "\(config.coordinatorAddress)"])
        var participated = Set<String>()
        while !Task.isCancelled {
            let task = try await withRetries("pull task") { try await link.pullTask() }
            if try await declined(task) { continue }  // the egress policy refuses the job: only a Decline left
            switch task.kind {
            case .train, .setup:
                status.set(task.kind == .setup ? "setup" : "training", jobID: task.jobID, round: Int(task.round))
                let outcome: SiteRound.Outcome
                if task.kind == .setup {
                    do {
                        try await runSetupStep(task)
                        outcome = .sent
                    } catch {
                        outcome = SiteRound.outcome(of: error)
                    }
                } else {
                    outcome = await train(task)
                }
                switch outcome {
                case .sent:
                    participated.insert(task.jobID)
                case .abandoned(let abandonment):
                    try await pause(after: abandonment, task: task)
                case .stopped(let error):
                    throw error
                }
            case .evaluate:
                status.set("evaluating", jobID: task.jobID, round: Int(task.round))
                do {
                    try await evaluate(task)
                } catch {
                    // The coordinator closed the evaluation, or this site cannot evaluate: nothing was sent; ask again later.
                    logger.error("evaluation not reported", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "error": "\(error)"])
                    status.problem("evaluation of job \(task.jobID) round \(task.round): \(error)")
                    try await Task.sleep(for: .seconds(5))
                }
            case .jobFinished:
                status.set("idle")
                if exitAfterJob && participated.contains(task.jobID) {
                    logger.info("job finished; exiting", metadata: ["job": "\(task.jobID)"])
                    return
                }
                try await Task.sleep(for: .seconds(1))
            default:
                status.set(task.jobID.isEmpty ? "idle" : "waiting", jobID: task.jobID.isEmpty ? nil : task.jobID)
                try await Task.sleep(for: .milliseconds(max(task.retryAfterMs, 100)))
            }
        }
    }

    /// Version and threads only: the scan counts (JoinRequest fields 3 and 4) are not sent, so nothing about the data
    /// leaves before a job the site's policy accepts.
    private func joinRequest() -> Fedct_V1_JoinRequest {
        var request = Fedct_V1_JoinRequest()
        request.agentVersion = Self.version
        request.protocolVersion = WireProtocolVersion.current
        request.threads = Int32(config.threads)
        return request
    }

    /// A round abandoned: nothing more is sent for it; the agent asks for new work after the abandonment's pause, as the
    /// same task may be handed out until the round moves on.
    private func pause(after abandonment: SiteRound.Abandonment, task: Fedct_V1_Task) async throws {
        let metadata: Logger.Metadata = ["job": "\(task.jobID)", "round": "\(task.round)", "error": "\(abandonment.error)"]
        switch abandonment.cause {
        case .coordinator:
            // The coordinator refused or lost this round (restart, deadline, new round).
            logger.warning("round abandoned; asking for new work", metadata: metadata)
        case .protocolFailure, .policyRefusal:
            // Secure aggregation aborted or misbehaved, or the job breaks this site's policy.
            logger.error("round abandoned", metadata: metadata)
        }
        status.problem("job \(task.jobID) round \(task.round): \(abandonment.error)")
        if abandonment.cause == .policyRefusal { SiteMetrics.policyRefusal() }
        try await Task.sleep(for: abandonment.pause)
    }

    /// Runs `work` (libtorch training or embedding, which blocks for as long as it takes) on the training executor, off the
    /// cooperative pool, while Heartbeat tells the coordinator every `coordinator.heartbeat_seconds` that the site is alive.
    func offThePool<T>(_ task: Fedct_V1_Task, _ work: () throws -> T) async throws -> T {
        var request = Fedct_V1_HeartbeatRequest()
        request.jobID = task.jobID
        request.round = task.round
        return try await offThePool(heartbeat: request, every: config.heartbeatInterval, work)
    }

    /// Runs `work` off the cooperative pool, sending `request` as Heartbeat every `interval` while it lasts.
    func offThePool<T>(heartbeat request: Fedct_V1_HeartbeatRequest, every interval: Duration, _ work: () throws -> T) async throws -> T {
        try await keepingAlive(every: interval, beat: { [link, logger, request] in
            do {
                _ = try await link.heartbeat(request)
            } catch {
                logger.warning("heartbeat not delivered; training goes on", metadata: ["job": "\(request.jobID)", "round": "\(request.round)", "error": "\(error)"])
            }
        }, on: Self.trainingExecutor, work)
    }

    /// One executor for every agent of the process: a site trains one round at a time.
    static let trainingExecutor = TrainingExecutor()

    /// The site's own rules (`SiteRound.policyRefusal`), checked before anything is fetched, trained or evaluated.
    func checkPolicy(_ spec: Fedct_V1_JobSpec) throws {
        if let refusal = SiteRound.policyRefusal(spec, policy: SiteRound.Policy(config: config)) { throw refusal }
    }

    var privacyLedgerURL: URL { URL(fileURLWithPath: config.stateDirectory).appending(path: "privacy-budget.json") }

    /// Checks a privacy spend against the site's budget and records it before any output of it leaves the site.
    func recordPrivacySpend(_ spends: [PrivacySpend]) throws {
        var ledger = try PrivacyBudgetLedger.open(at: privacyLedgerURL)
        if let limit = config.maxEpsilon { try ledger.check(planned: spends, limitEpsilon: limit, delta: config.privacyDelta) }
        try ledger.record(spends)
        try link.ledger.recordSpends(spends)
        let total = try ledger.spent(delta: config.privacyDelta)
        logger.info("privacy spent", metadata: ["epsilon_total": "\(String(format: "%.4g", total))",
                                                "delta": "\(config.privacyDelta)"])
    }

    /// `base` with the layers that stay at this site, and where they are: under FedBN (`strategy: fedbn`) its own
    /// normalisation layers; in an HLIP job with a pretrained text tower (`hlip.text_tower: bert`) that tower (all of
    /// `text.*` but the projection), from the site's checkpoint (`data.text_encoder`) until the site has trained it.
    /// Both are kept from the site's last training of the job.
    func withLocalLayers(_ base: ModelState, task: Fedct_V1_Task) throws -> (state: ModelState, localRanges: [Range<Int>]) {
        let strategy = try ServerStrategy(spec: task.spec.strategy, source: "job \(task.jobID)")
        var localRanges = strategy.kind == .fedbn ? NormalizationLayers.ranges(in: base.layout) : []
        var state = base
        let text = try textEncoder(for: task)
        if text != nil { localRanges += PretrainedTextEncoder.localRanges(in: base.layout) }
        if let kept = localStates[task.jobID] {
            for range in localRanges {
                if let values = kept[range] { state.values.replaceSubrange(range, with: values) }
            }
        } else if let text {
            try text.place(into: &state)
        }
        return (state, localRanges)
    }

    /// The site's pretrained text encoder for `task`'s job (nil unless its `hlip.text_tower` is bert), read once per job.
    func textEncoder(for task: Fedct_V1_Task) throws -> PretrainedTextEncoder? {
        if let loaded = textEncoders[task.jobID] { return loaded }
        let encoder = try PretrainedTextEncoder.forJob(task.spec, directory: config.textEncoderDirectory, source: "job \(task.jobID)")
        if let encoder { textEncoders[task.jobID] = encoder }
        return encoder
    }

    /// The site's data prepared for a job's objective and input size (its examples track the evaluation's outcome codes
    /// too), loaded once per distinct setting.
    func dataset(for spec: Fedct_V1_JobSpec) throws -> SiteDataset {
        let key = try SiteRoundTraining.datasetKey(for: spec)
        if let cached = datasets[key] { return cached }
        let dataset = try SiteRoundTraining.loadDataset(for: spec, config: config, logger: logger)
        datasets[key] = dataset
        return dataset
    }

    /// The site's half of the setup stage of `jobID`, which reads the data folder once per job.
    func siteSetup(for spec: Fedct_V1_JobSpec, jobID: String, objective: any PretrainingObjective) throws -> any SiteSetup {
        if let inputs = setupInputs, inputs.jobID == jobID { return inputs.setup }
        let setup = try objective.siteSetup(for: spec, dataDirectory: config.dataDirectory)
        setupInputs = (jobID, setup)
        return setup
    }

    func model(for spec: Fedct_V1_JobSpec) throws -> TorchModel {
        let key = try SiteRoundTraining.ModelKey(spec)
        if let cached = models[key] { return cached }
        let model = try TorchModel(spec: spec)
        models[key] = model
        return model
    }

    /// Retries calls that failed because the coordinator is unreachable, with exponential backoff and jitter.
    func withRetries<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as RPCError where error.code == .unavailable || error.code == .deadlineExceeded {
                attempt += 1
                SiteMetrics.reconnect()
                if let limit = connectAttempts, attempt >= limit {
                    throw FedCTError(.io, """
                        cannot reach the coordinator at \(config.coordinatorAddress) (\(what): \(error.connectionProblem?.what ?? error.message)). \
                        Check coordinator.address, that the coordinator is running and reachable through the firewall, \
                        and that tls.cert/tls.key were issued by the consortium CA in tls.ca
                        """)
                }
                let delay = min(30.0, 0.5 * pow(2, Double(min(attempt, 6)))) * Double.random(in: 0.5...1.0)
                logger.warning("coordinator unreachable; retrying", metadata: ["during": "\(what)", "attempt": "\(attempt)", "in_seconds": "\(String(format: "%.1f", delay))", "error": "\(error.message)"])
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }
}
