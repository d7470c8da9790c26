// Coordinator: the coordinator's state — jobs, the active job's rounds, model blobs, and aggregation of uploaded updates.
import FedCTCore
public import FedCTProto
import Crypto
import FedCTIdentity
import FedCTTorch
import FedCTTraining
import Foundation
public import Logging

/// Runs federated jobs one at a time: hands out tasks, receives updates, aggregates and commits rounds.
///
/// Protocol decisions come from `JobStateMachine`; this actor carries out its actions (store models,
/// aggregate spooled updates, persist job records) and answers the RPC layer.
public actor Coordinator {
    /// The active job and what its open round has gathered so far.
    struct ActiveJob {
        var id: String
        var machine: JobStateMachine
        var uploads: [String: (url: URL, header: Fedct_V1_UpdateHeader)] = [:]
        var bytesDown: Int64 = 0
        var bytesUp: Int64 = 0
        /// The open round's bytes per site: model downloaded, update accepted.
        var siteBytesDown: [String: Int64] = [:]
        var siteBytesUp: [String: Int64] = [:]
        var roundStartedAt: Double?
        /// The job's setup stage (its objective's derivation and what the open step collected), if it has one to run.
        var setup = SetupProgress()
        /// The open round's secure aggregation, when the job uses it.
        var secure: SecureRound? {
            didSet {
                if secure == nil { SecureRound.noteEnded(oldValue) } else { secure!.notePhase(after: oldValue) }
            }
        }
    }

    public static let version = "0.1.0"

    let config: CoordinatorConfig
    let models: ModelStore
    let jobs: JobDatabase
    let logger: Logger
    /// Checks sites' key advertisements against the consortium CA.
    let verifier: ConsortiumSignatureVerifier
    private let started = ContinuousClock.now
    var statuses: [String: Fedct_V1_JobStatus] = [:]
    private var order: [String] = []
    var active: ActiveJob?
    private var coordinateCounts: [String: Int] = [:]

    public init(config: CoordinatorConfig, logger: Logger) throws {
        let state = URL(fileURLWithPath: config.stateDirectory)
        self.config = config
        self.logger = logger
        self.models = try ModelStore(folder: state.appending(path: "blobs"))
        self.jobs = try JobDatabase(url: state.appending(path: "coordinator.sqlite"))
        let imported = try jobs.importLegacyRecords(from: state.appending(path: "jobs"))
        if !imported.isEmpty { logger.info("imported JSON job records into the job database", metadata: ["jobs": "\(imported.joined(separator: ","))"]) }
        let caPEM: String
        do {
            caPEM = try String(contentsOfFile: config.caFile, encoding: .utf8)
        } catch {
            throw FedCTError(.invalidConfiguration, "cannot read tls.ca \(config.caFile): \(error.localizedDescription)")
        }
        self.verifier = try ConsortiumSignatureVerifier(caCertificatePEM: caPEM, source: config.caFile)
        let stored = try jobs.loadAll()
        statuses = Dictionary(uniqueKeysWithValues: stored.map { ($0.jobID, $0) })
        order = stored.map(\.jobID)
        active = Self.resumableJob(in: stored)
        if let active { logger.info("resuming job", metadata: ["job": "\(active.id)", "completed_rounds": "\(active.machine.completedRounds)"]) }
    }

    /// Monotonic seconds since this coordinator started.
    func now() -> Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    // MARK: Admin

    /// Completes `submitted` with the defaults of the settings it leaves out (as job.yaml is), validates and queues it;
    /// creates its initial global model (encoder + the objective's parts) from the job's seed. A job whose objective has a
    /// setup stage to run (time-to-event with `tte.derive_tasks`) gets its model after it. The stored spec holds every
    /// setting, so it never depends on a later coordinator's defaults.
    public func submit(_ submitted: Fedct_V1_JobSpec, by admin: String) throws -> Fedct_V1_JobStatus {
        let spec = submitted.applyingDefaults()
        _ = try JobPlan(spec: spec, source: "job from \(admin)")
        let objective = try PretrainingObjectives.of(spec, source: "job from \(admin)")
        try PretrainingObjectives.validate(spec, source: "job from \(admin)")
        var status = Fedct_V1_JobStatus()
        status.jobID = String(format: "job-%04d", order.count + 1)
        status.spec = spec
        status.state = .queued
        var parameters = "derived after the setup stage"
        if !objective.awaitsSetup(spec) {
            let model = try initialModel(spec)
            status.initialModelSha256 = model.sha256
            parameters = "\(model.parameters)"
        }
        status.submittedUnixSeconds = Date().timeIntervalSince1970
        try persist(&status)
        statuses[status.jobID] = status
        order.append(status.jobID)
        logger.info("job submitted", metadata: ["job": "\(status.jobID)", "by": "\(admin)", "parameters": "\(parameters)"])
        activateNextJobIfIdle()
        return statuses[status.jobID]!
    }

    /// Stores the seeded initial model of `spec` (round 0) and returns its blob's SHA-256 and parameter count.
    func initialModel(_ spec: Fedct_V1_JobSpec) throws -> (sha256: String, parameters: Int) {
        let model = try TorchModel(spec: spec)
        let blob = SafeTensors.encode(try model.state(metadata: ["job": spec.name, "round": "0"]))
        return (try models.put(blob), model.parameterCount)
    }

    public func listJobs() -> [Fedct_V1_JobStatus] { order.compactMap { statuses[$0] }.map(withLiveFields) }

    public func job(_ id: String) throws -> Fedct_V1_JobStatus {
        guard let status = statuses[id] else { throw FedCTError(.notFound, "no job \(id)") }
        return withLiveFields(status)
    }

    /// Cancels a queued or running job: its open round is discarded, its committed rounds stay.
    public func cancel(_ id: String, by admin: String) throws -> Fedct_V1_JobStatus {
        guard var status = statuses[id] else { throw FedCTError(.notFound, "no job \(id)") }
        switch status.state {
        case .succeeded, .failed, .cancelled:
            throw FedCTError(.failedPrecondition, "job \(id) has already ended (\(status.state))")
        default:
            break
        }
        logger.info("job cancelled", metadata: ["job": "\(id)", "by": "\(admin)"])
        if active?.id == id {
            for upload in active?.uploads.values.map(\.url) ?? [] { try? FileManager.default.removeItem(at: upload) }
            endActiveJob(state: .cancelled, message: "cancelled by \(admin)")
        } else {
            status.state = .cancelled
            status.message = "cancelled by \(admin)"
            try persist(&status)
            statuses[id] = status
        }
        return try job(id)
    }

    // MARK: Sites

    public func join(site: String, _ request: Fedct_V1_JoinRequest) -> Fedct_V1_JoinResponse {
        logger.info("site joined", metadata: ["site": "\(site)", "train_scans": "\(request.trainScans)", "heldout_scans": "\(request.heldoutScans)"])
        active?.machine.siteSeen(site, now: now())
        refreshActiveStatus()
        var response = Fedct_V1_JoinResponse()
        response.siteID = site
        response.coordinatorVersion = Self.version
        response.maxMessageBytes = Int64(config.maxMessageBytes)
        return response
    }

    public func pullTask(site: String) -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        guard var job = active else {
            // Idle: tell the site the last job is over, so agents run with --exit-after-job can stop.
            if let last = order.last, [.succeeded, .failed, .cancelled].contains(statuses[last]?.state) {
                task.kind = .jobFinished
                task.jobID = last
            } else {
                task.kind = .wait
                task.retryAfterMs = 500
            }
            return task
        }
        let decision = job.machine.taskRequested(by: site, now: now())
        if job.roundStartedAt == nil, case .training = job.machine.phase { job.roundStartedAt = now() }
        active = job
        openSecureRoundIfNeeded()
        refreshActiveStatus()
        task.jobID = job.id
        switch decision {
        case .wait where job.machine.setupStep(for: site) != nil:
            task = setupTask(for: site, job: job)
        case .wait(let delay):
            task.kind = .wait
            task.retryAfterMs = Int64(delay)
        case .train(let round, let sha):
            task.kind = .train
            task.round = Int32(round)
            task.modelSha256 = sha
            task.modelBytes = Int64(models.size(sha) ?? 0)
            task.spec = statuses[job.id]!.spec
            task.attempt = Int32(job.machine.attempt)
        case .evaluate(let round, let sha):
            task = evaluationTask(round: round, modelSHA256: sha, job: job)
        case .finished:
            task.kind = .jobFinished
        }
        return task
    }

    public func heartbeat(site: String) {
        active?.machine.siteSeen(site, now: now())
    }

    /// The file of a model blob a site or admin may fetch.
    public func modelBlob(_ sha256: String) throws -> URL {
        guard models.size(sha256) != nil else { throw FedCTError(.notFound, "no model blob \(sha256)") }
        return models.url(for: sha256)
    }

    /// A site fetched `bytes` of a model: counted in the open round's traffic.
    public func recordDownload(site: String, bytes: Int) {
        active?.bytesDown += Int64(bytes)
        active?.siteBytesDown[site, default: 0] += Int64(bytes)
    }

    /// Checks an upload header before its payload is read; returns where to spool it, its byte length
    /// and whether it is a masked input (words, not floats).
    public func beginUpload(site: String, header: Fedct_V1_UpdateHeader) throws -> (url: URL, bytes: Int, masked: Bool) {
        guard let job = active, job.id == header.jobID else {
            throw FedCTError(.failedPrecondition, "\(site) uploaded for job \(header.jobID), which is not the running job")
        }
        try job.machine.validateUpload(from: site, round: Int(header.round), baseModelSHA256: header.baseModelSha256)
        if job.secure != nil || header.hasMasked {
            let words = try checkMaskedUpload(site: site, header: header)
            let url = URL(fileURLWithPath: config.stateDirectory).appending(path: "spool/\(job.id)/round-\(header.round)/\(site).u32")
            return (url, words * 4, true)
        }
        let expected = try coordinateCount(of: header.baseModelSha256)
        guard header.coordinateCount == expected else {
            throw FedCTError(.integrity, "\(site)'s update has \(header.coordinateCount) coordinates; the model has \(expected)")
        }
        guard header.exampleCount > 0 else {
            throw FedCTError(.invalidData, "\(site)'s update has example_count \(header.exampleCount); it must be positive")
        }
        guard SHA256.isHexDigest(header.payloadSha256) else {
            throw FedCTError(.invalidData, "\(site)'s update header has a malformed payload_sha256")
        }
        let url = URL(fileURLWithPath: config.stateDirectory).appending(path: "spool/\(job.id)/round-\(header.round)/\(site).f32")
        return (url, Int(header.coordinateCount) * 4, false)
    }

    /// A verified update is on disk: hand it to the state machine, and aggregate when the round is complete.
    public func finishUpload(site: String, header: Fedct_V1_UpdateHeader, spooled url: URL) throws {
        guard active?.id == header.jobID else {
            throw FedCTError(.failedPrecondition, "job \(header.jobID) is no longer running; the update is discarded")
        }
        if header.hasMasked {
            defer { try? FileManager.default.removeItem(at: url) }
            try addMaskedInput(site: site, header: header, spooled: url)
        }
        guard var job = active else { return }
        let actions = try job.machine.uploadAccepted(from: site, round: Int(header.round), baseModelSHA256: header.baseModelSha256, now: now())
        if !header.hasMasked { job.uploads[site] = (url, header) }
        job.bytesUp += Int64(header.coordinateCount) * 4
        job.siteBytesUp[site, default: 0] += Int64(header.coordinateCount) * 4
        active = job
        CoordinatorMetrics.updateAccepted(site: site, bytes: Int(header.coordinateCount) * 4)
        logger.info("update received", metadata: ["job": "\(job.id)", "round": "\(header.round)", "site": "\(site)", "loss": "\(header.meanTrainLoss)"])
        perform(actions)
    }

    /// Time passed: lets the state machine close rounds at their deadline.
    public func tick() {
        publishJobMetrics()
        guard var job = active else { return }
        if job.machine.globalModelSHA256.isEmpty && job.setup.derivation == nil {
            let objective = statuses[job.id]?.spec.objectiveKind.rawValue ?? "?"
            return endActiveJob(state: .failed, message: "job \(job.id) has no initial model and this coordinator has no setup stage for its objective '\(objective)' (registered: \(PretrainingObjectives.names.joined(separator: ", "))); resubmit it to a coordinator that has the objective")
        }
        let actions = job.machine.tick(now: now())
        active = job
        perform(actions)
        tickSecureRound()
    }

    // MARK: Carrying out actions

    func perform(_ actions: [JobStateMachine.Action]) {
        for action in actions {
            switch action {
            case .aggregate(let step, _) where active?.secure != nil:
                closeSecureMasking(step: step)
            case .aggregate(.setup(let step), let sites):
                commitPlainSetupStep(step, sites: sites)
            case .aggregate(.round(let round), let sites):
                do {
                    try aggregate(round: round, sites: sites)
                } catch {
                    logger.error("aggregation failed", metadata: ["round": "\(round)", "error": "\(error)"])
                    guard var job = active else { return }
                    CoordinatorMetrics.roundEnded(job: job.id, .failed)
                    let more = job.machine.stepFailed(.round(round), reason: "\(error)")
                    active = job
                    perform(more)
                }
            case .finish:
                endActiveJob(state: .succeeded, message: "completed \(active?.machine.completedRounds ?? 0) rounds")
            case .fail(let reason):
                endActiveJob(state: .failed, message: reason)
            }
        }
        openSecureRoundIfNeeded()
        refreshActiveStatus()
    }

    /// Combines the spooled updates of `sites` into their weighted mean Σ nᵢΔᵢ / Σ nᵢ and commits it.
    private func aggregate(round: Int, sites: [String]) throws {
        guard let job = active else { return }
        let base = try SafeTensors.decode(try models.get(job.machine.globalModelSHA256), source: "global model of round \(round - 1)")
        var aggregator = PlainAggregator(coordinateCount: base.values.count)
        for site in sites {
            guard let upload = job.uploads[site] else { throw FedCTError(.failedPrecondition, "no spooled update for \(site)") }
            try aggregator.begin(site: site, weight: upload.header.exampleCount)
            let handle = try FileHandle(forReadingFrom: upload.url)
            defer { try? handle.close() }
            var decoder = Float32Stream()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                try decoder.feed(chunk) { try aggregator.add($0) }
            }
            try aggregator.end()
        }
        let weights = sites.map { Double(job.uploads[$0]!.header.exampleCount) }
        let loss = zip(sites, weights).reduce(0) { $0 + job.uploads[$1.0]!.header.meanTrainLoss * $1.1 } / weights.reduce(0, +)
        var record = Fedct_V1_RoundRecord()
        record.round = Int32(round)
        record.sites = sites
        record.meanTrainLoss = loss
        record.exampleCount = aggregator.totalWeight
        try commit(round: round, meanDelta: try aggregator.weightedMean(), base: base, record: record)
    }

    /// Applies the job's strategy to the mean update (FedAvg adds it; FedAdam/FedYogi step a server
    /// optimiser), stores the new global model and commits the round record atomically.
    func commit(round: Int, meanDelta: [Float], base: ModelState, record: Fedct_V1_RoundRecord) throws {
        guard var job = active, var status = statuses[job.id] else { return }
        guard meanDelta.allSatisfy(\.isFinite) else {
            throw FedCTError(.invalidData, "the aggregated update of round \(round) has non-finite values; the round is not committed")
        }
        let strategy = try ServerStrategy(spec: status.spec.strategy, source: "job \(job.id)")
        var optimizerState = try status.rounds.last.flatMap { $0.optimizerStateSha256.isEmpty ? nil : $0.optimizerStateSha256 }
            .map { try ServerOptimizerState(modelState: SafeTensors.decode(try models.get($0), source: "server optimiser state")) }
        var next = base
        next.values = try strategy.apply(meanUpdate: meanDelta, to: base.values, state: &optimizerState)
        next.metadata = ["job": status.spec.name, "round": "\(round)"]
        let sha = try models.put(SafeTensors.encode(next))

        var record = record
        record.bytesDown = job.bytesDown
        record.bytesUp = job.bytesUp
        record.seconds = now() - (job.roundStartedAt ?? now())
        record.modelSha256 = sha
        if let optimizerState { record.optimizerStateSha256 = try models.put(SafeTensors.encode(optimizerState.modelState())) }
        status.rounds.append(record)
        status.currentRound = Int32(round)
        try persist(&status)
        statuses[job.id] = status
        CoordinatorMetrics.roundEnded(job: job.id, .committed, seconds: record.seconds)
        for upload in job.uploads.values { try? FileManager.default.removeItem(at: upload.url) }
        logger.info("round committed", metadata: ["job": "\(job.id)", "round": "\(round)", "sites": "\(record.sites.joined(separator: ","))",
                                                  "secure": "\(record.securelyAggregated)", "model": "\(sha.prefix(12))"])

        job.uploads = [:]
        job.secure = nil
        job.bytesDown = 0
        job.bytesUp = 0
        job.siteBytesDown = [:]
        job.siteBytesUp = [:]
        let actions = job.machine.roundCommitted(round, modelSHA256: sha, now: now())
        job.roundStartedAt = job.machine.phase == .training(round: round + 1) ? now() : nil
        active = job
        perform(actions)
    }

    private func endActiveJob(state: Fedct_V1_JobStatus.State, message: String) {
        guard let job = active, var status = statuses[job.id] else { return }
        status.state = state
        status.message = message
        try? persist(&status)
        statuses[job.id] = status
        logger.info("job ended", metadata: ["job": "\(job.id)", "state": "\(state)", "message": "\(message)"])
        active = nil
        activateNextJobIfIdle()
    }

    /// Stamps the record's update time and writes it to the job database.
    func persist(_ status: inout Fedct_V1_JobStatus) throws {
        status.updatedUnixSeconds = Date().timeIntervalSince1970
        try jobs.save(status)
    }

    private func activateNextJobIfIdle() {
        guard active == nil, let next = order.first(where: { statuses[$0]?.state == .queued }), var status = statuses[next] else { return }
        status.state = .waitingForSites
        status.startedUnixSeconds = Date().timeIntervalSince1970
        try? persist(&status)
        statuses[next] = status
        active = Self.resumableJob(in: [status])
    }

    private func refreshActiveStatus() {
        guard let job = active, var status = statuses[job.id] else { return }
        let state: Fedct_V1_JobStatus.State = job.machine.phase == .waitingForSites ? .waitingForSites : .running
        guard status.state != state else { return }
        status.state = state
        try? persist(&status)
        statuses[job.id] = status
    }

    /// The number of float coordinates of a stored model, decoded once per blob.
    func coordinateCount(of sha256: String) throws -> Int {
        if let count = coordinateCounts[sha256] { return count }
        let count = try SafeTensors.decode(try models.get(sha256)).values.count
        coordinateCounts[sha256] = count
        return count
    }

    /// The job to run after a restart: one that was waiting or running, resumed after its last committed round.
    static func resumableJob(in statuses: [Fedct_V1_JobStatus]) -> ActiveJob? {
        guard let status = statuses.first(where: { $0.state == .waitingForSites || $0.state == .running }) else { return nil }
        let secure = status.spec.secureAggregation
        let policy = JobStateMachine.Policy(rounds: Int(status.spec.rounds), minSites: Int(status.spec.minSites),
                                            roundDeadline: Double(status.spec.roundDeadlineSeconds),
                                            minUploads: secure.enabled ? Int(secure.minCohort) : nil,
                                            evaluate: status.spec.evaluation.enabled, evaluateEveryRounds: Int(status.spec.evaluation.everyRounds))
        let sha = status.rounds.last?.modelSha256 ?? status.initialModelSha256
        // A job whose objective's setup stage had not committed (a derived job without tasks yet) redoes the setup from its
        // first step (an objective this build does not have leaves it with no steps and no model; `tick` fails it). An
        // evaluation a restart may have cut short is redone (a site's new report replaces its earlier one).
        let objective = try? PretrainingObjectives.of(status.spec)
        let awaitsSetup = objective?.awaitsSetup(status.spec) ?? status.initialModelSha256.isEmpty
        let derivation = awaitsSetup ? objective?.setupDerivation(for: status.spec) : nil
        var job = ActiveJob(id: status.jobID, machine: JobStateMachine(policy: policy, globalModelSHA256: sha, completedRounds: status.rounds.count,
                                                                       setupSteps: derivation?.steps ?? [], pendingEvaluation: true))
        job.setup.derivation = derivation
        return job
    }
}
