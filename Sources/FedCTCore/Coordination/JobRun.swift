// JobRun: the coordinator's run of one job as a pure value — site calls and durable results in, directives out.
public import FedCTProto
public import Logging

/// One job as the coordinator runs it: its round machine (`JobStateMachine`), the open secure-aggregation session
/// (`SecAggServerRound` and the masked sum), the setup stage's progress, the spooled plain updates, the round's byte
/// tallies, and the job record it wants stored.
///
/// Like swift-cluster-membership's SWIM instance, it owns no files, sockets or clocks: the `Coordinator` actor feeds it
/// events with the current monotonic time (`now`, seconds) and carries out the `Directive`s it returns. Every durable
/// step (a round's model, the initial model, the job record) is a directive whose outcome comes back as an event
/// (`onRoundModelStored` / `onRoundModelFailed`, `onRecordSaved` / `onRecordSaveFailed`, …), so the run never assumes a
/// write succeeded: a round counts as committed, and the job as ended, only once the record saying so is stored. A
/// write that fails for lack of space or permissions (`FedCTError.Code.io`) is retried every `retryDelay` seconds while
/// the round waits; it never counts toward the round's attempts.
public struct JobRun: Sendable {
    /// A plain (unmasked) update spooled on disk, kept until its round is committed.
    public struct SpooledUpdate: Sendable, Equatable {
        public var site: String
        /// The spool file's path.
        public var path: String
        public var exampleCount: Int64
        public var meanTrainLoss: Double

        public init(site: String, path: String, exampleCount: Int64, meanTrainLoss: Double) {
            self.site = site
            self.path = path
            self.exampleCount = exampleCount
            self.meanTrainLoss = meanTrainLoss
        }
    }

    /// The open round's traffic and start.
    public struct RoundTally: Sendable, Equatable {
        public var bytesDown: Int64 = 0
        public var bytesUp: Int64 = 0
        /// Per site: model bytes downloaded, update bytes accepted.
        public var siteBytesDown: [String: Int64] = [:]
        public var siteBytesUp: [String: Int64] = [:]
        /// When the open round began (monotonic seconds).
        public var startedAt: Double?
    }

    /// What the coordinator must carry out.
    public enum Directive: Sendable {
        /// Compute round `request.round`'s global model from its inputs, apply the job's strategy and store the model (and
        /// any server optimiser state) durably; report `onRoundModelStored` or `onRoundModelFailed`.
        case storeRoundModel(RoundModelRequest)
        /// Build the initial model of the derived `spec` and store it durably; report `onInitialModelStored` or
        /// `onInitialModelFailed`.
        case storeInitialModel(spec: Fedct_V1_JobSpec)
        /// Write the job record (`version` counts the run's changes); report `onRecordSaved` or `onRecordSaveFailed`.
        case saveRecord(Fedct_V1_JobStatus, version: Int)
        /// Delete spool files that are no longer needed.
        case deleteSpools([String])
        /// A round or setup step ended (for metrics); committed ones with their duration.
        case roundEnded(RoundOutcome, seconds: Double?)
        /// A secure-aggregation step ended after `seconds` (for metrics).
        case secureStepEnded(SecAggServerRound.Phase, seconds: Double)
        /// The job's end state is stored: drop the run and start the next queued job.
        case jobEnded(Fedct_V1_JobStatus)
    }

    /// How a round ended.
    public enum RoundOutcome: String, Sendable {
        case committed, failed, aborted
    }

    /// What a site asking for work is told.
    public enum Assignment: Sendable, Equatable {
        case wait(retryAfterMilliseconds: Int)
        case train(round: Int, modelSHA256: String, attempt: Int)
        case evaluate(round: Int, modelSHA256: String)
        case setup(step: SetupStep, request: SetupRequest, attempt: Int)
        case finished
    }

    public let jobID: String
    /// The job record as the run wants it stored (its latest change may not be stored yet).
    public internal(set) var record: Fedct_V1_JobStatus
    public internal(set) var machine: JobStateMachine
    /// The open round's secure aggregation, when the job uses it.
    public internal(set) var secure: SecureRound?
    public internal(set) var setup: SetupProgress
    /// The open round's plain updates, by site.
    public internal(set) var uploads: [String: SpooledUpdate] = [:]
    public internal(set) var tally = RoundTally()
    /// The end state being stored (cancelled, failed, succeeded); the run takes no more events but durable results.
    public internal(set) var ending: Fedct_V1_JobStatus.State?
    /// The latest error of a durable step that is waiting to be retried, for the operator.
    public internal(set) var writeFailure: String?
    /// Seconds between retries of a failed durable step.
    public let retryDelay: Double
    let logger: Logger

    /// Changes to `record`: issued, and stored.
    public internal(set) var version = 0
    public internal(set) var storedVersion = 0
    /// What to do once the record of a version is stored.
    var completions: [(version: Int, completion: Completion)] = []
    /// When the last failed record save failed (a retry is due `retryDelay` later).
    var saveFailedAt: Double?
    /// The round model or initial model being stored, kept to retry it.
    var pendingModel: PendingModel?

    /// A run of the job `record` (waiting or running) resuming after its last committed round. `derivation` is its
    /// objective's setup stage when the stage is still to run (then the job has no model yet). An evaluation of the last
    /// committed round that a restart may have cut short is redone (a site's new report replaces its earlier one).
    public init(record: Fedct_V1_JobStatus, derivation: (any SetupDerivation)?, logger: Logger, retryDelay: Double = 5) {
        let spec = record.spec
        let secure = spec.secureAggregation
        let policy = JobStateMachine.Policy(rounds: Int(spec.rounds), minSites: Int(spec.minSites),
                                            roundDeadline: Double(spec.roundDeadlineSeconds),
                                            minUploads: secure.enabled ? Int(secure.minCohort) : nil,
                                            evaluate: spec.evaluation.enabled, evaluateEveryRounds: Int(spec.evaluation.everyRounds))
        let sha = record.rounds.last?.modelSha256 ?? record.initialModelSha256
        jobID = record.jobID
        self.record = record
        machine = JobStateMachine(policy: policy, globalModelSHA256: sha, completedRounds: record.rounds.count,
                                  setupSteps: derivation?.steps ?? [], pendingEvaluation: true)
        setup = SetupProgress(derivation: derivation)
        self.logger = logger
        self.retryDelay = retryDelay
    }

    /// Whether the run has a global model or a setup stage that will build one.
    public var canRun: Bool { !machine.globalModelSHA256.isEmpty || setup.derivation != nil }

    // MARK: Starting and ending

    /// The job left the queue at `unixSeconds`: it waits for sites.
    public mutating func activate(unixSeconds: Double) -> [Directive] {
        record.state = .waitingForSites
        record.startedUnixSeconds = unixSeconds
        return save()
    }

    /// Ends the job with `state` (cancelled or failed) and `message`: the open round is discarded, its committed rounds
    /// stay; the run reports `jobEnded` once the record is stored.
    public mutating func end(_ state: Fedct_V1_JobStatus.State, message: String, now: Double) -> [Directive] {
        guard ending == nil else { return [] }
        ending = state
        record.state = state
        record.message = message
        pendingModel = nil
        var directives: [Directive] = []
        if !uploads.isEmpty { directives.append(.deleteSpools(uploads.values.map(\.path).sorted())) }
        uploads = [:]
        directives += dropSecureRound(now: now)
        logger.info("job ending", metadata: ["job": "\(jobID)", "state": "\(state)", "message": "\(message)"])
        return directives + save(then: .ended)
    }

    // MARK: Sites

    /// A site made contact (join, heartbeat, secure-aggregation poll).
    public mutating func siteSeen(_ site: String, now: Double) -> [Directive] {
        guard ending == nil else { return [] }
        machine.siteSeen(site, now: now)
        return afterEvent(now: now)
    }

    /// A site asks what to do. While the job's end is being stored it waits: the job is over only once that is stored.
    public mutating func taskRequested(by site: String, now: Double) -> (Assignment, [Directive]) {
        guard ending == nil else { return (.wait(retryAfterMilliseconds: machine.policy.retryAfterMilliseconds), []) }
        let decision = machine.taskRequested(by: site, now: now)
        if tally.startedAt == nil, case .training = machine.phase { tally.startedAt = now }
        let directives = afterEvent(now: now)
        switch decision {
        case .wait where machine.setupStep(for: site) != nil && setup.derivation != nil:
            let step = machine.setupStep(for: site)!
            if setup.startedAt == nil { setup.startedAt = now }
            return (.setup(step: step, request: setup.derivation!.request(for: step), attempt: machine.attempt), directives)
        case .wait(let delay):
            return (.wait(retryAfterMilliseconds: delay), directives)
        case .train(let round, let sha):
            return (.train(round: round, modelSHA256: sha, attempt: machine.attempt), directives)
        case .evaluate(let round, let sha):
            return (.evaluate(round: round, modelSHA256: sha), directives)
        case .finished:
            return (.finished, directives)
        }
    }

    /// A site fetched `bytes` of a model: counted in the open round's traffic.
    public mutating func recordDownload(site: String, bytes: Int) {
        tally.bytesDown += Int64(bytes)
        tally.siteBytesDown[site, default: 0] += Int64(bytes)
    }

    /// Time passed: closes rounds, setup steps, evaluations and secure-aggregation steps at their deadlines, and retries a
    /// failed durable step once `retryDelay` has passed.
    public mutating func tick(now: Double) -> [Directive] {
        var directives = retryDurableSteps(now: now)
        guard ending == nil else { return directives }
        // While a masked input is being added to the sum, the round's deadline waits for it.
        if !isSumming { directives += apply(machine.tick(now: now), now: now) }
        directives += tickSecureRound(now: now)
        return directives + afterEvent(now: now)
    }

    // MARK: Carrying out the round machine's actions

    /// Turns the round machine's actions into directives: combine a closed round or setup step, finish or fail the job.
    mutating func apply(_ actions: [JobStateMachine.Action], now: Double) -> [Directive] {
        var directives: [Directive] = []
        for action in actions {
            guard ending == nil else { break }
            switch action {
            case .aggregate(let step, _) where secure != nil:
                directives += closeSecureMasking(step: step, now: now)
            case .aggregate(.setup(let step), let sites):
                directives += combineSetupStep(step, sites: sites, sum: setup.plainSum, secure: false, now: now)
            case .aggregate(.round(let round), let sites):
                directives += storeRoundModel(round: round, input: .plain(sites.compactMap { uploads[$0] }), sites: sites, now: now)
            case .finish:
                directives += finish(now: now)
            case .fail(let reason):
                directives += end(.failed, message: reason, now: now)
            }
        }
        return directives
    }

    /// After any event: a round or setup step that just opened gets its secure session, and the record follows the phase.
    mutating func afterEvent(now: Double) -> [Directive] {
        guard ending == nil else { return [] }
        var directives = openSecureRoundIfNeeded(now: now)
        let state: Fedct_V1_JobStatus.State = machine.phase == .waitingForSites ? .waitingForSites : .running
        if record.state != state, record.state == .waitingForSites || record.state == .running {
            record.state = state
            directives += save()
        }
        return directives
    }

    private mutating func finish(now: Double) -> [Directive] {
        guard ending == nil else { return [] }
        ending = .succeeded
        record.state = .succeeded
        record.message = "completed \(machine.completedRounds) rounds"
        return save(then: .ended)
    }
}
