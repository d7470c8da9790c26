// SiteRound: the site's part in one training round as a pure value — what the last step did in, the next step out.
import FedCTCore
import FedCTProto
import FedCTRPC

/// One training round as the site runs it: policy → (secure session) → global model → local layers → privacy budget →
/// training → privacy spend → delta → finite check → header → masked or plain upload → report.
///
/// Like the coordinator's `JobRun` and swift-cluster-membership's SWIM instance, it owns no files, sockets, models or
/// clocks. `SiteAgent` carries out each `Directive` (link calls, the data and model loads, libtorch off the cooperative
/// pool with heartbeats, ledger writes) and reports how it went with the matching `on…` event; a step that fails reports
/// `onFailed`. Every round ends with one `.finish` directive, whose `Outcome` says whether the site sent its update,
/// abandoned the round (and how long to wait before asking for work again), or must stop.
struct SiteRound: Sendable {
    /// The site's settings the round's decisions read (site.yaml).
    struct Policy: Sendable, Equatable {
        /// `privacy.require_secure_aggregation`.
        var requireSecureAggregation: Bool
        /// `privacy.max_epsilon`: the site's budget; nil when it has none.
        var maxEpsilon: Double?
        /// `privacy.delta`, the δ every spend is charged at.
        var privacyDelta: Double
        /// `coordinator.heartbeat_seconds`: at most 45 s, below the coordinator's liveness window.
        var heartbeatInterval: Duration

        init(requireSecureAggregation: Bool = false, maxEpsilon: Double? = nil, privacyDelta: Double = 1e-5,
             heartbeatInterval: Duration = .seconds(15)) {
            self.requireSecureAggregation = requireSecureAggregation
            self.maxEpsilon = maxEpsilon
            self.privacyDelta = privacyDelta
            self.heartbeatInterval = heartbeatInterval
        }

        init(config: SiteConfig) {
            self.init(requireSecureAggregation: config.requireSecureAggregation, maxEpsilon: config.maxEpsilon,
                      privacyDelta: config.privacyDelta, heartbeatInterval: config.heartbeatInterval)
        }
    }

    /// A masked upload: secure-aggregation steps 2 and 3 for the round's delta.
    struct MaskedUpload: Sendable {
        /// Job, round and base model; the interpreter adds the masked fields, size and hash.
        var header: Fedct_V1_UpdateHeader
        /// Training examples (the FedAvg weight is derived from them inside the secure sum).
        var examples: Int
        /// The mean training loss, carried inside the secure sum when the encoding has room for it.
        var loss: Double
        /// Under site-level DP, the spend of the noised sum, recorded after the masking step opens and before the
        /// encoded update exists.
        var siteLevelSpend: PrivacySpend?
    }

    /// What local training reports (`LocalTrainingResult`'s part the round needs).
    struct Trained: Sendable, Equatable {
        var meanLoss: Double
        var steps: Int
        /// DP-SGD's Poisson sampling rate and noise multiplier; nil without DP-SGD.
        var samplingRate: Double?
        var noiseMultiplier: Double?
    }

    /// What the round reports when its update has been received.
    struct Report: Sendable, Equatable {
        var meanLoss: Double
        var steps: Int
        var bytesReceived: Int64
        var secure: Bool
    }

    /// A round the site gave up: nothing more is sent for it, and the agent asks for work again after `pause`.
    struct Abandonment: Sendable {
        enum Cause: Sendable, Equatable {
            /// The coordinator refused or lost the round (restart, deadline, a new round): an `RPCError`.
            case coordinator
            /// Secure aggregation aborted or misbehaved, or the coordinator broke the protocol.
            case protocolFailure
            /// The job breaks this site's policy (secure aggregation required, DP required, budget spent).
            case policyRefusal
        }

        var cause: Cause
        var error: any Error
        var pause: Duration
    }

    /// How a round ended.
    enum Outcome: Sendable {
        /// The update (or setup answer) was received.
        case sent
        case abandoned(Abandonment)
        /// An error the agent cannot work past (no training data, a non-finite update, a ledger it cannot write,
        /// the coordinator out of reach): the agent stops with it.
        case stopped(any Error)
    }

    /// What the agent must carry out next.
    enum Directive: Sendable {
        /// Read the site's data for the job; report `onDataLoaded`.
        case loadData
        /// Secure aggregation steps 0 and 1 (fresh keys advertised, shares sent); report `onSecureSessionOpened`.
        case openSecureSession
        /// Download the global model and check its hash; report `onModelFetched`.
        case fetchModel(sha256: String, bytes: Int64)
        /// Load the global model with the layers that stay at this site into the job's model and set up its trainer;
        /// report `onModelLoaded`.
        case loadModel
        /// Check that `planned` (this round and the job's remaining ones) stays within `limitEpsilon` at δ = `delta`;
        /// report `onBudgetChecked`.
        case checkBudget(planned: [PrivacySpend], limitEpsilon: Double, delta: Double)
        /// Train off the cooperative pool, sending `heartbeat` every `every` while training lasts; report `onTrained`.
        case train(heartbeat: Fedct_V1_HeartbeatRequest, every: Duration)
        /// Check the spend against the budget and record it in the privacy and egress ledgers; report `onSpendRecorded`.
        case recordSpend([PrivacySpend])
        /// Trained − global, with `zeroing` (the layers that stay here, kept for the next round) set to 0; report
        /// `onDeltaComputed`.
        case computeDelta(zeroing: [Range<Int>])
        /// Encode the delta, complete the header (coordinate count, payload hash) and upload; report `onUploaded`.
        case uploadPlain(Fedct_V1_UpdateHeader)
        /// Secure aggregation steps 2 and 3 for the delta; report `onUploaded`.
        case uploadMasked(MaskedUpload)
        /// Log the round and count it.
        case report(Report)
        /// The round is over.
        case finish(Outcome)
    }

    /// Where the round is: the directive it waits to hear about.
    enum Step: Sendable, Equatable {
        case notStarted, loadingData, openingSecureSession, fetchingModel, loadingModel, checkingBudget, training,
             recordingSpend, computingDelta, uploading, ended
    }

    /// Failures that end the site's part in a round but not the agent.
    static let abandonsRound: Set<FedCTError.Code> = [.failedPrecondition, .protocolViolation, .permissionDenied, .integrity]
    /// How long an agent waits before asking for work again after abandoning a round (without it, a round the
    /// coordinator keeps offering but no longer accepts from this site was asked for hundreds of times a second).
    static let pauseAfterAbandonedRound = Duration.seconds(2)
    /// After a policy refusal: the job will be offered again, and refused again.
    static let pauseAfterPolicyRefusal = Duration.seconds(5)

    let task: Fedct_V1_Task
    let policy: Policy
    private(set) var step = Step.notStarted
    /// Training examples and distinct patients in them.
    private(set) var examples = 0
    private(set) var patients = 0
    /// Coordinates that stay at this site (FedBN's normalisation layers, a pretrained text tower).
    private(set) var localRanges: [Range<Int>] = []
    private(set) var trained: Trained?

    init(task: Fedct_V1_Task, policy: Policy) {
        self.task = task
        self.policy = policy
    }

    private var spec: Fedct_V1_JobSpec { task.spec }
    private var secure: Bool { spec.secureAggregation.enabled }

    /// The site's own rules come first: nothing is read, fetched or trained for a job they refuse.
    mutating func start() -> [Directive] {
        expect(.notStarted)
        if let refusal = Self.policyRefusal(spec, policy: policy) { return finish(Self.outcome(of: refusal)) }
        step = .loadingData
        return [.loadData]
    }

    /// The data is read: `examples` training examples of `patients` patients.
    mutating func onDataLoaded(examples: Int, patients: Int, dataDirectory: String) -> [Directive] {
        expect(.loadingData)
        guard examples > 0 else {
            return finish(.stopped(FedCTError(.invalidData, "\(dataDirectory): no training scans with follow-up; check cohort.csv splits and events.csv")))
        }
        self.examples = examples
        self.patients = patients
        // Keys first (they bind to the task's model hash, not its bytes): the key steps close after step_timeout_seconds,
        // while the download, like training, may take until the round deadline on a slow link.
        if secure {
            step = .openingSecureSession
            return [.openSecureSession]
        }
        return fetch()
    }

    mutating func onSecureSessionOpened() -> [Directive] {
        expect(.openingSecureSession)
        return fetch()
    }

    mutating func onModelFetched() -> [Directive] {
        expect(.fetchingModel)
        step = .loadingModel
        return [.loadModel]
    }

    /// The model is loaded; `localRanges` stay here, and `dpSGDSchedule` is what DP-SGD would take over the site's patients.
    mutating func onModelLoaded(localRanges: [Range<Int>], dpSGDSchedule: (samplingRate: Double, steps: Int)) -> [Directive] {
        expect(.loadingModel)
        self.localRanges = localRanges
        guard let limit = policy.maxEpsilon, spec.privacyLevel != .none else { return train() }
        let perRound = spec.privacyLevel == .site
            ? siteLevelSpend
            : PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .patient, samplingRate: dpSGDSchedule.samplingRate,
                           noiseMultiplier: spec.privacy.noiseMultiplier, steps: dpSGDSchedule.steps, delta: policy.privacyDelta)
        let remaining = Int(spec.rounds - task.round) + 1
        step = .checkingBudget
        return [.checkBudget(planned: Array(repeating: perRound, count: remaining), limitEpsilon: limit, delta: policy.privacyDelta)]
    }

    mutating func onBudgetChecked() -> [Directive] {
        expect(.checkingBudget)
        return train()
    }

    /// Training ended: under DP-SGD its spend is recorded before anything of it leaves.
    mutating func onTrained(_ result: Trained) -> [Directive] {
        expect(.training)
        trained = result
        if let rate = result.samplingRate, let sigma = result.noiseMultiplier {
            step = .recordingSpend
            return [.recordSpend([PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .patient, samplingRate: rate,
                                               noiseMultiplier: sigma, steps: result.steps, delta: policy.privacyDelta)])]
        }
        return computeDelta()
    }

    mutating func onSpendRecorded() -> [Directive] {
        expect(.recordingSpend)
        return computeDelta()
    }

    /// The delta is computed: a non-finite one is never sent.
    mutating func onDeltaComputed(allFinite: Bool) -> [Directive] {
        expect(.computingDelta)
        guard allFinite, let trained else {
            return finish(.stopped(FedCTError(.invalidData, "round \(task.round): the local update has non-finite values; nothing was sent")))
        }
        var header = Fedct_V1_UpdateHeader()
        header.jobID = task.jobID
        header.round = task.round
        header.baseModelSha256 = task.modelSha256
        step = .uploading
        if secure {
            // The loss goes inside the secure sum (not at all under DP), the step count (≈ training-set size) nowhere.
            return [.uploadMasked(MaskedUpload(header: header, examples: examples, loss: trained.meanLoss,
                                               siteLevelSpend: spec.privacyLevel == .site ? siteLevelSpend : nil))]
        }
        header.meanTrainLoss = trained.meanLoss
        header.localSteps = Int32(trained.steps)
        header.exampleCount = Int64(examples)
        return [.uploadPlain(header)]
    }

    /// The coordinator received the update (`bytesReceived` of it).
    mutating func onUploaded(bytesReceived: Int64) -> [Directive] {
        expect(.uploading)
        let report = Report(meanLoss: trained?.meanLoss ?? 0, steps: trained?.steps ?? 0, bytesReceived: bytesReceived, secure: secure)
        return [.report(report)] + finish(.sent)
    }

    /// The step under way failed with `error`; the round ends as that error asks (`outcome(of:)`).
    mutating func onFailed(_ error: any Error) -> [Directive] {
        precondition(step != .ended && step != .notStarted, "SiteRound: a failure reported in step \(step)")
        return finish(Self.outcome(of: error))
    }

    /// How a failed round (training or setup step) ends: the coordinator refusing or losing it, and secure aggregation
    /// or policy failures, abandon it; anything else stops the agent.
    static func outcome(of error: any Error) -> Outcome {
        if error is RPCError { return .abandoned(Abandonment(cause: .coordinator, error: error, pause: pauseAfterAbandonedRound)) }
        if let error = error as? FedCTError, abandonsRound.contains(error.code) {
            return error.code == .permissionDenied
                ? .abandoned(Abandonment(cause: .policyRefusal, error: error, pause: pauseAfterPolicyRefusal))
                : .abandoned(Abandonment(cause: .protocolFailure, error: error, pause: pauseAfterAbandonedRound))
        }
        return .stopped(error)
    }

    /// What a site waiting for secure-aggregation step `wanted` of `round` does with the coordinator's answer `response`.
    enum SecureStepPoll: Sendable {
        /// The session is at `wanted`: take the step.
        case reached
        /// Not yet: ask again after the delay.
        case poll(after: Duration)
        /// The session ended (aborted, or done without this site): the round is abandoned with this error.
        case ended(FedCTError)
    }

    static func secureStepPoll(_ response: Fedct_V1_SecAggStepResponse, wanted: Fedct_V1_SecAggStepResponse.Step, round: Int32) -> SecureStepPoll {
        switch response.step {
        case wanted:
            return .reached
        case .aborted, .done:
            return .ended(FedCTError(.failedPrecondition, "secure aggregation of round \(round) ended before this site's \(wanted) step: \(response.reason)"))
        default:
            return .poll(after: .milliseconds(max(response.retryAfterMs, 50)))
        }
    }

    /// The site's own rules, checked before anything is fetched or trained: secure aggregation and differential privacy.
    static func policyRefusal(_ spec: Fedct_V1_JobSpec, policy: Policy) -> FedCTError? {
        if policy.requireSecureAggregation && !spec.secureAggregation.enabled {
            return FedCTError(.permissionDenied, "job '\(spec.name)' sends updates unmasked (secure_aggregation.enabled: false); this site requires secure aggregation (privacy.require_secure_aggregation in site.yaml)")
        }
        if policy.maxEpsilon != nil && spec.privacyLevel == .none {
            return FedCTError(.permissionDenied, "job '\(spec.name)' has no differential privacy (privacy.level: none); this site sets privacy.max_epsilon and takes only DP jobs")
        }
        return nil
    }

    /// One round of site-level DP: the noised secure sum, a Gaussian mechanism with q = 1.
    var siteLevelSpend: PrivacySpend {
        PrivacySpend(jobID: task.jobID, round: Int(task.round), level: .site, samplingRate: 1,
                     noiseMultiplier: spec.privacy.noiseMultiplier, steps: 1, delta: policy.privacyDelta)
    }

    private mutating func fetch() -> [Directive] {
        step = .fetchingModel
        return [.fetchModel(sha256: task.modelSha256, bytes: task.modelBytes)]
    }

    private mutating func train() -> [Directive] {
        var heartbeat = Fedct_V1_HeartbeatRequest()
        heartbeat.jobID = task.jobID
        heartbeat.round = task.round
        step = .training
        return [.train(heartbeat: heartbeat, every: policy.heartbeatInterval)]
    }

    private mutating func computeDelta() -> [Directive] {
        step = .computingDelta
        return [.computeDelta(zeroing: localRanges)]
    }

    private mutating func finish(_ outcome: Outcome) -> [Directive] {
        step = .ended
        return [.finish(outcome)]
    }

    private func expect(_ wanted: Step, function: StaticString = #function) {
        precondition(step == wanted, "SiteRound: \(function) in step \(step), expected \(wanted)")
    }
}
