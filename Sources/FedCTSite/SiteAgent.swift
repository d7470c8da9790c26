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
import Crypto

/// Runs a site: connects out to the coordinator, and for every TRAIN task trains the job's model on
/// local data and sends back only the model delta (through `CoordinatorLink`, the egress point).
public final class SiteAgent {
    public static let version = "0.1.0"
    /// Failures that end the site's part in a round but not the agent.
    static let abandonsRound: Set<FedCTError.Code> = [.failedPrecondition, .protocolViolation, .permissionDenied, .integrity]
    /// How long an agent waits before asking for work again after abandoning a round (without it, a round the
    /// coordinator keeps offering but no longer accepts from this site was asked for hundreds of times a second).
    static let pauseAfterAbandonedRound = Duration.seconds(2)

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
    /// FedBN: each job's last locally trained state, whose normalisation layers stay at the site.
    private var localStates: [String: [Float]] = [:]
    /// Rank 0 of data-parallel rounds (site.yaml `workers`); nil when the agent trains alone.
    private let workerPool: SiteWorkerPool?

    /// `workerExecutable`: the fedct-site executable that worker processes on this machine run (`workers.local` > 1).
    public init(config: SiteConfig, logger: Logger, connectAttempts: Int? = nil, workerExecutable: URL? = nil) throws {
        try SiteDataset.checkFolder(config.dataDirectory)
        var options = ChannelOptions(target: config.coordinatorAddress, tls: nil)  // TLS material: read by the link, renewals included
        options.serverNameOverride = config.coordinatorServerName
        options.maxMessageBytes = config.maxMessageBytes
        self.config = config
        self.logger = logger
        self.connectAttempts = connectAttempts
        self.credentials = try SecureAggregationCredentials(config: config)
        self.link = try CoordinatorLink(options: options, loadTLS: { [config] in try config.tls() },
                                        ledger: try EgressLedger(config: config, agentVersion: Self.version, policy: config.ledgerPolicy, logger: logger),
                                        logger: logger)
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
                do {
                    if task.kind == .setup { try await runSetupStep(task) } else { try await train(task) }
                    participated.insert(task.jobID)
                } catch let error as RPCError {
                    // The coordinator refused or lost this round (restart, deadline, new round): ask again after a pause,
                    // as the same task may be handed out until the round moves on.
                    logger.warning("round abandoned; asking for new work", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "error": "\(error)"])
                    status.problem("job \(task.jobID) round \(task.round): \(error)")
                    try await Task.sleep(for: Self.pauseAfterAbandonedRound)
                } catch let error as FedCTError where Self.abandonsRound.contains(error.code) {
                    // Secure aggregation aborted or misbehaved, or the job breaks this site's policy: nothing more is sent for it.
                    logger.error("round abandoned", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "error": "\(error)"])
                    status.problem("job \(task.jobID) round \(task.round): \(error)")
                    if error.code == .permissionDenied { SiteMetrics.policyRefusal() }
                    try await Task.sleep(for: error.code == .permissionDenied ? .seconds(5) : Self.pauseAfterAbandonedRound)
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

    private func train(_ task: Fedct_V1_Task) async throws {
        let spec = task.spec
        let started = ContinuousClock.now
        try checkPolicy(spec)
        let dataset = try dataset(for: spec)
        guard !dataset.train.isEmpty else {
            throw FedCTError(.invalidData, "\(config.dataDirectory): no training scans with follow-up; check cohort.csv splits and events.csv")
        }
        // Keys first (they bind to the task's model hash, not its bytes): the key steps close after step_timeout_seconds,
        // while the download, like training, may take until the round deadline on a slow link.
        let secureSession = spec.secureAggregation.enabled ? try await openSecureSession(task) : nil
        let blob = try await withRetries("fetch model") { try await link.fetchModel(sha256: task.modelSha256, expectedBytes: task.modelBytes) }
        let base = try SafeTensors.decode(blob, source: "global model \(task.modelSha256.prefix(12))")
        let model = try model(for: spec)
        let strategy = try ServerStrategy(spec: spec.strategy, source: "job \(task.jobID)")
        let (start, localRanges) = try withLocalLayers(base, task: task)
        try model.load(start, source: "global model \(task.modelSha256.prefix(12))")
        try model.setProximal(mu: strategy.proximalMu)
        // Data-parallel ranks must draw the same DP-SGD batches and noise: the round's secret seed is drawn here and sent to
        // the workers only (alone, the trainer draws it).
        let dpSGDSeed = spec.privacyLevel == .patient && workerPool != nil ? UInt64.random(in: .min ... .max) : nil
        let trainer = SiteRoundTraining.trainer(for: spec, dpSGDSeed: dpSGDSeed, textEncoder: try textEncoder(for: task))
        try checkPrivacyBudget(task, trainer: trainer, patients: Set(dataset.train.map(\.subjectID)).count)
        let trainingStarted = ContinuousClock.now
        let seed = SiteRoundTraining.seed(of: task)
        let result: LocalTrainingResult
        if let workerPool {
            let order = WorkerOrder(task: task, start: start.values, seed: seed, dpSGDSeed: dpSGDSeed,
                                    examplesSHA256: SiteRoundTraining.fingerprint(dataset.train))
            let rendezvous = try workerPool.announceRound()
            result = try await offThePool(task) {
                try workerPool.train(order, model: model, trainer: trainer, examples: dataset.train, at: rendezvous)
            }
        } else {
            result = try await offThePool(task) {
                try trainer.train(model, on: dataset.train, seed: seed, round: Int(task.round), rounds: Int(spec.rounds))
            }
        }
        let trainingSeconds = trainingStarted.duration(to: .now)
        if let rate = result.samplingRate, let sigma = result.noiseMultiplier {
            try recordPrivacySpend([PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .patient, samplingRate: rate,
                                                 noiseMultiplier: sigma, steps: result.steps, delta: config.privacyDelta)])
        }
        let trained = try model.exportState()
        var delta = zip(trained, base.values).map { $0 - $1 }
        if !localRanges.isEmpty {
            // FedBN: normalisation layers stay here; so does a pretrained text tower. The coordinator's copies get no update.
            localStates[task.jobID] = trained
            for range in localRanges { delta.replaceSubrange(range, with: repeatElement(0, count: range.count)) }
        }
        guard delta.allSatisfy(\.isFinite) else {
            throw FedCTError(.invalidData, "round \(task.round): the local update has non-finite values; nothing was sent")
        }
        var header = Fedct_V1_UpdateHeader()
        header.jobID = task.jobID
        header.round = task.round
        header.baseModelSha256 = task.modelSha256
        let receipt: Fedct_V1_UploadReceipt
        if var session = secureSession {
            // The loss goes inside the secure sum (not at all under DP), the step count (≈ training-set size) nowhere.
            receipt = try await sendMaskedUpdate(&session, task: task, delta: delta, examples: dataset.train.count, loss: result.meanLoss, header: header)
        } else {
            header.meanTrainLoss = result.meanLoss
            header.localSteps = Int32(result.steps)
            let payload = Float32Stream.encode(delta[...])
            header.coordinateCount = Int64(delta.count)
            header.exampleCount = Int64(dataset.train.count)
            header.payloadSha256 = SHA256.hex(payload)
            receipt = try await link.upload(header: header, payload: payload)
        }
        let seconds = (ContinuousClock.now - started).components.seconds
        SiteMetrics.roundTrained(trainingSeconds: Double(trainingSeconds.components.seconds) + Double(trainingSeconds.components.attoseconds) * 1e-18)
        logger.info("round trained and uploaded", metadata: [
            "job": "\(task.jobID)", "round": "\(task.round)", "loss": "\(String(format: "%.4f", result.meanLoss))",
            "steps": "\(result.steps)", "bytes": "\(receipt.bytesReceived)", "seconds": "\(seconds)",
            "secure": "\(spec.secureAggregation.enabled)",
        ])
    }

    /// Runs `work` (libtorch training or embedding, which blocks for as long as it takes) on the training executor, off the
    /// cooperative pool, while Heartbeat tells the coordinator every `coordinator.heartbeat_seconds` that the site is alive.
    func offThePool<T>(_ task: Fedct_V1_Task, _ work: () throws -> T) async throws -> T {
        var request = Fedct_V1_HeartbeatRequest()
        request.jobID = task.jobID
        request.round = task.round
        return try await keepingAlive(every: config.heartbeatInterval, beat: { [link, logger, request] in
            do {
                _ = try await link.heartbeat(request)
            } catch {
                logger.warning("heartbeat not delivered; training goes on", metadata: ["job": "\(request.jobID)", "round": "\(request.round)", "error": "\(error)"])
            }
        }, on: Self.trainingExecutor, work)
    }

    /// One executor for every agent of the process: a site trains one round at a time.
    static let trainingExecutor = TrainingExecutor()

    /// The site's own rules, checked before anything is fetched or trained: secure aggregation and the privacy budget.
    func checkPolicy(_ spec: Fedct_V1_JobSpec) throws {
        if config.requireSecureAggregation && !spec.secureAggregation.enabled {
            throw FedCTError(.permissionDenied, "job '\(spec.name)' sends updates unmasked (secure_aggregation.enabled: false); this site requires secure aggregation (privacy.require_secure_aggregation in site.yaml)")
        }
        if config.maxEpsilon != nil && spec.privacyLevel == .none {
            throw FedCTError(.permissionDenied, "job '\(spec.name)' has no differential privacy (privacy.level: none); this site sets privacy.max_epsilon and takes only DP jobs")
        }
    }

    /// Before training a DP round: would this round and the job's remaining ones take the site over its budget?
    private func checkPrivacyBudget(_ task: Fedct_V1_Task, trainer: LocalTrainer, patients: Int) throws {
        let spec = task.spec
        guard let limit = config.maxEpsilon, spec.privacyLevel != .none else { return }
        let remaining = Int(spec.rounds - task.round) + 1
        let perRound: PrivacySpend
        if spec.privacyLevel == .site {
            perRound = siteLevelSpend(task)
        } else {
            let schedule = trainer.dpSGDSchedule(patients: patients)
            perRound = PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .patient, samplingRate: schedule.samplingRate,
                                    noiseMultiplier: spec.privacy.noiseMultiplier, steps: schedule.steps, delta: config.privacyDelta)
        }
        let ledger = try PrivacyBudgetLedger.open(at: privacyLedgerURL)
        try ledger.check(planned: Array(repeating: perRound, count: remaining), limitEpsilon: limit, delta: config.privacyDelta)
    }

    /// One round of site-level DP: the noised secure sum, a Gaussian mechanism with q = 1.
    func siteLevelSpend(_ task: Fedct_V1_Task) -> PrivacySpend {
        PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .site, samplingRate: 1,
                     noiseMultiplier: task.spec.privacy.noiseMultiplier, steps: 1, delta: config.privacyDelta)
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
            for range in localRanges { state.values.replaceSubrange(range, with: kept[range]) }
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
