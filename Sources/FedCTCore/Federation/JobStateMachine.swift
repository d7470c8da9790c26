// JobStateMachine: the rounds of one federated job as a pure value — events in, decisions and actions out.

/// Drives one job's rounds: when a round opens, which sites train in it, when it closes.
///
/// It owns no sockets, clocks or files: the coordinator feeds it events with the current time (in
/// monotonic seconds) and carries out the actions it returns. A round opens when at least
/// `minSites` sites are live; its participants are the live sites at that moment. It closes when all
/// participants have uploaded, or at the deadline with those that did if they are at least
/// `minSites`; otherwise the job fails with the reason.
///
/// A job whose objective has a setup stage (e.g. `tte.derive_tasks`) starts with it: its steps
/// (`JobStep.setup`, in `setupStage`; the phase stays `waitingForSites`) open, collect and close like rounds (same participants
/// rule, deadline, dropouts and restarts), and round 1 opens only once the coordinator has committed the
/// derived spec and the initial model (`setupCommitted`). A coordinator restarted before that commit
/// redoes the setup stage from its first step.
///
/// With evaluation (`Policy.evaluate`), the global model committed after the last round (and after every
/// `evaluateEveryRounds`-th round) is evaluated before the job goes on: the evaluation opens with the round's contributors
/// still live (any number; after a restart, the live sites once `minSites` are), each is handed an evaluate task once, and it closes
/// when all have reported or `roundDeadline` after it began with whoever did (never failing the job, even with no
/// report); the job then finishes or opens the next round.
public struct JobStateMachine: Sendable {
    public struct Policy: Sendable, Equatable {
        public var rounds: Int
        public var minSites: Int
        /// Seconds a round stays open before it closes with whoever uploaded.
        public var roundDeadline: Double
        /// A site not heard from for this long is not counted as live.
        public var livenessTimeout: Double
        /// How long a site is told to wait before asking again.
        public var retryAfterMilliseconds: Int
        /// How often one round may be started before the job fails (aborted attempts are restarted).
        public var maxRoundAttempts: Int
        /// Uploads a round needs to close at its deadline: `minSites`, or secure aggregation's minimum
        /// cohort when sites may drop out after the round opened (its threshold is enforced separately).
        public var minUploads: Int
        /// Evaluate the global model after the last round, and after every `evaluateEveryRounds`-th round when positive.
        public var evaluate: Bool
        public var evaluateEveryRounds: Int

        public init(rounds: Int, minSites: Int, roundDeadline: Double, livenessTimeout: Double = 60, retryAfterMilliseconds: Int = 250,
                    maxRoundAttempts: Int = 3, minUploads: Int? = nil, evaluate: Bool = false, evaluateEveryRounds: Int = 0) {
            self.rounds = rounds
            self.minSites = minSites
            self.roundDeadline = roundDeadline
            self.livenessTimeout = livenessTimeout
            self.retryAfterMilliseconds = retryAfterMilliseconds
            self.maxRoundAttempts = maxRoundAttempts
            self.minUploads = minUploads ?? minSites
            self.evaluate = evaluate
            self.evaluateEveryRounds = evaluateEveryRounds
        }

        /// Whether the global model committed after `round` is evaluated.
        public func evaluates(afterRound round: Int) -> Bool {
            evaluate && round >= 1 && (round == rounds || (evaluateEveryRounds > 0 && round % evaluateEveryRounds == 0))
        }
    }

    public enum Phase: Sendable, Equatable {
        case waitingForSites
        case training(round: Int)
        case aggregating(round: Int)
        /// The model committed after `round` is being evaluated at the sites.
        case evaluating(round: Int)
        case finished
        case failed(String)
    }

    /// What a site asking for work should do.
    public enum TaskDecision: Sendable, Equatable {
        case wait(retryAfterMilliseconds: Int)
        case train(round: Int, modelSHA256: String)
        /// Evaluate the global model committed after `round` and report the metrics.
        case evaluate(round: Int, modelSHA256: String)
        case finished
    }

    /// What the coordinator must do next.
    public enum Action: Sendable, Equatable {
        /// Combine the uploads of `sites` for a training round and commit the new global model; for a setup step,
        /// combine the step's statistics instead.
        case aggregate(step: JobStep, sites: [String])
        case finish
        case fail(String)
    }

    public let policy: Policy
    public private(set) var phase: Phase = .waitingForSites
    public private(set) var completedRounds: Int
    public private(set) var globalModelSHA256: String
    public private(set) var participants: Set<String> = []
    public private(set) var uploaded: Set<String> = []
    /// Which start of the open (or next) round this is: 1, then 2, … after aborted attempts.
    public private(set) var attempt = 1
    /// When each site was last heard from (monotonic seconds, as passed in `now`).
    public private(set) var lastSeen: [String: Double] = [:]
    /// The setup stage's steps, in order (empty for a job without one).
    public let setupSteps: [SetupStep]
    /// The setup step under way (the phase stays `waitingForSites` until the setup is committed); nil once
    /// the derived spec is committed, or for a job without a setup stage.
    public private(set) var setupStage: SetupStep?
    private var roundStartedAt: Double = 0
    /// The open setup step was handed to the coordinator to combine.
    private var closedSetupStep = false

    /// A job resuming after `completedRounds` committed rounds whose latest global model is `globalModelSHA256`;
    /// with `setupSteps` (a setup stage still to run: nothing derived committed yet) it starts with the first of them and
    /// has no model yet;
    /// with `pendingEvaluation` (a restart may have cut short the evaluation of the last committed round) it starts with
    /// that round's evaluation when the policy evaluates it.
    public init(policy: Policy, globalModelSHA256: String, completedRounds: Int = 0, setupSteps: [SetupStep] = [], pendingEvaluation: Bool = false) {
        self.policy = policy
        self.globalModelSHA256 = globalModelSHA256
        self.completedRounds = completedRounds
        self.setupSteps = setupSteps
        setupStage = setupSteps.first
        if pendingEvaluation && policy.evaluates(afterRound: completedRounds) {
            phase = .evaluating(round: completedRounds)
        } else if completedRounds >= policy.rounds {
            phase = .finished
        }
    }

    /// The open training round or setup step, nil when none is open.
    public var openStep: JobStep? {
        switch phase {
        case .training(let round): .round(round)
        case .waitingForSites where !participants.isEmpty: setupStage.map(JobStep.setup)
        default: nil
        }
    }

    /// Sites heard from within the liveness timeout.
    public func liveSites(now: Double) -> [String] {
        lastSeen.filter { now - $0.value <= policy.livenessTimeout }.map(\.key).sorted()
    }

    /// A site made contact (join, task request, heartbeat, upload).
    public mutating func siteSeen(_ site: String, now: Double) {
        lastSeen[site] = now
        openRoundIfReady(now: now)
    }

    /// A site asks what to do.
    public mutating func taskRequested(by site: String, now: Double) -> TaskDecision {
        siteSeen(site, now: now)
        switch phase {
        case .finished, .failed:
            return .finished
        case .training(let round) where participants.contains(site) && !uploaded.contains(site):
            return .train(round: round, modelSHA256: globalModelSHA256)
        case .evaluating(let round) where participants.contains(site) && !uploaded.contains(site):
            return .evaluate(round: round, modelSHA256: globalModelSHA256)
        default:
            return .wait(retryAfterMilliseconds: policy.retryAfterMilliseconds)
        }
    }

    /// The setup step `site` should compute and send now, if any (during setup, `taskRequested` answers wait).
    public func setupStep(for site: String) -> SetupStep? {
        guard phase == .waitingForSites, participants.contains(site), !uploaded.contains(site), !closedSetupStep else { return nil }
        return setupStage
    }

    /// Checks that `site` may send its statistics for setup step `stage`.
    public func validateSetupSubmission(from site: String, stage: SetupStep) throws {
        guard setupStage == stage, phase == .waitingForSites, !participants.isEmpty, !closedSetupStep else {
            throw FedCTError(.failedPrecondition, "\(site) sent statistics for the \(stage), but \(describe(phase)); they are discarded")
        }
        try checkParticipant(site, of: "the \(stage)", alreadySent: "sent statistics for the \(stage)")
    }

    /// A site's statistics for setup step `stage` arrived and were taken in.
    public mutating func setupSubmissionAccepted(from site: String, stage: SetupStep, now: Double) throws -> [Action] {
        try validateSetupSubmission(from: site, stage: stage)
        lastSeen[site] = now
        uploaded.insert(site)
        guard uploaded == participants else { return [] }
        return close(.setup(stage))
    }

    /// The coordinator combined setup step `stage`: the next step opens (with the sites live then).
    public mutating func setupStepCommitted(_ stage: SetupStep, now: Double) -> [Action] {
        guard setupStage == stage, closedSetupStep, let index = setupSteps.firstIndex(of: stage), index + 1 < setupSteps.count
        else { return [] }
        setupStage = setupSteps[index + 1]
        resetOpenRound()
        openRoundIfReady(now: now)
        return []
    }

    /// The derived spec and the initial model `modelSHA256` are committed: the setup stage is over, round 1 may open.
    public mutating func setupCommitted(modelSHA256: String, now: Double) -> [Action] {
        guard setupStage == setupSteps.last, closedSetupStep else { return [] }
        globalModelSHA256 = modelSHA256
        setupStage = nil
        resetOpenRound()
        openRoundIfReady(now: now)
        return []
    }

    /// Checks, before its payload is read, that `site` may upload for `round` from `baseModel`.
    public func validateUpload(from site: String, round: Int, baseModelSHA256: String) throws {
        guard case .training(let open) = phase, open == round else {
            throw FedCTError(.failedPrecondition, "\(site) uploaded for round \(round), but \(describe(phase)); the update is discarded")
        }
        try checkParticipant(site, of: "round \(round)", alreadySent: "uploaded for round \(round)")
        guard baseModelSHA256 == globalModelSHA256 else {
            throw FedCTError(.integrity, "\(site)'s update for round \(round) was computed from model \(baseModelSHA256.prefix(12)), not the round's model \(globalModelSHA256.prefix(12))")
        }
    }

    /// A site's upload for `round` arrived complete and verified.
    public mutating func uploadAccepted(from site: String, round: Int, baseModelSHA256: String, now: Double) throws -> [Action] {
        try validateUpload(from: site, round: round, baseModelSHA256: baseModelSHA256)
        lastSeen[site] = now
        uploaded.insert(site)
        guard uploaded == participants else { return [] }
        phase = .aggregating(round: round)
        return [.aggregate(step: .round(round), sites: uploaded.sorted())]
    }

    /// The coordinator committed `round` with the new global model `modelSHA256`.
    public mutating func roundCommitted(_ round: Int, modelSHA256: String, now: Double) -> [Action] {
        guard case .aggregating(let open) = phase, open == round else { return [] }
        completedRounds = round
        globalModelSHA256 = modelSHA256
        let contributors = uploaded
        resetOpenRound()
        if policy.evaluates(afterRound: round) {
            // The sites whose updates formed the round evaluate it (those still live), even if fewer than minSites.
            phase = .evaluating(round: round)
            participants = contributors.intersection(liveSites(now: now))
            roundStartedAt = now
            return []
        }
        return continueAfterRound(now: now)
    }

    /// Checks that `site` may report the evaluation of the model committed after `round`.
    public func validateEvaluationReport(from site: String, round: Int) throws {
        guard case .evaluating(let open) = phase, open == round, !participants.isEmpty else {
            throw FedCTError(.failedPrecondition, "\(site) reported an evaluation of round \(round), but \(describe(phase)); the report is discarded")
        }
        try checkParticipant(site, of: "the evaluation of round \(round)", alreadySent: "reported its evaluation of round \(round); one report per site")
    }

    /// `site` takes part in the open round, setup step or evaluation (`step`) and has not sent for it yet.
    private func checkParticipant(_ site: String, of step: String, alreadySent: String) throws {
        guard participants.contains(site) else { throw FedCTError(.permissionDenied, "\(site) is not a participant of \(step)") }
        guard !uploaded.contains(site) else { throw FedCTError(.protocolViolation, "\(site) already \(alreadySent)") }
    }

    /// A site's evaluation report for `round` was checked and stored; the evaluation closes once every participant reported.
    public mutating func evaluationReported(from site: String, round: Int, now: Double) throws -> [Action] {
        try validateEvaluationReport(from: site, round: round)
        lastSeen[site] = now
        uploaded.insert(site)
        guard uploaded == participants else { return [] }
        resetOpenRound()
        return continueAfterRound(now: now)
    }

    /// After round `completedRounds` (and its evaluation, if any): the job finishes, or the next round may open.
    private mutating func continueAfterRound(now: Double) -> [Action] {
        if completedRounds >= policy.rounds {
            phase = .finished
            return [.finish]
        }
        phase = .waitingForSites
        openRoundIfReady(now: now)
        return []
    }

    /// Combining `step` failed (for example, an update could not be read back, or the setup data cannot derive tasks); the job fails.
    public mutating func stepFailed(_ step: JobStep, reason: String) -> [Action] {
        phase = .failed("\(step): \(reason)")
        return [.fail("\(step): \(reason)")]
    }

    /// Sites that left the open round before uploading (they did not take part in secure aggregation's
    /// key steps): the round no longer waits for them, and closes if everyone left has uploaded.
    public mutating func participantsLeft(_ sites: [String], step: JobStep) -> [Action] {
        guard let open = openStep, open == step, !closedSetupStep else { return [] }
        participants.subtract(sites)
        guard !uploaded.isEmpty, uploaded == participants else { return [] }
        return close(step)
    }

    /// The open round cannot finish (for example, too few sites stayed for secure aggregation): it is
    /// started again with fresh participants, up to `maxRoundAttempts` times; then the job fails.
    public mutating func stepAborted(_ step: JobStep, reason: String, now: Double) -> [Action] {
        switch (phase, step) {
        case (.training(let open), .round(let round)) where open == round, (.aggregating(let open), .round(let round)) where open == round: break
        case (.waitingForSites, .setup(let stage)) where setupStage == stage && !participants.isEmpty: break
        default: return []
        }
        guard attempt < policy.maxRoundAttempts else {
            let message = "\(step) failed \(attempt) times; last: \(reason)"
            phase = .failed(message)
            return [.fail(message)]
        }
        attempt += 1
        phase = .waitingForSites
        participants = []
        uploaded = []
        openRoundIfReady(now: now)
        return []
    }

    /// Time passed: closes a round at its deadline.
    public mutating func tick(now: Double) -> [Action] {
        if case .evaluating = phase {
            // An evaluation closes at its deadline with whoever reported (if it opened at all); it never fails the job.
            guard now - roundStartedAt >= policy.roundDeadline else { return [] }
            resetOpenRound()
            return continueAfterRound(now: now)
        }
        guard let step = openStep, !closedSetupStep, now - roundStartedAt >= policy.roundDeadline else { return [] }
        if uploaded.count >= policy.minUploads {
            return close(step)
        }
        let reason = "\(step) reached its \(Int(policy.roundDeadline)) s deadline with \(uploaded.count) of the \(policy.minUploads) required updates (participants: \(participants.sorted().joined(separator: ", ")))"
        phase = .failed(reason)
        return [.fail(reason)]
    }

    private mutating func openRoundIfReady(now: Double) {
        if case .evaluating = phase, participants.isEmpty {
            let live = liveSites(now: now)
            guard live.count >= policy.minSites else { return }
            participants = Set(live)
            uploaded = []
            return
        }
        guard phase == .waitingForSites, setupStage == nil || participants.isEmpty else { return }
        let live = liveSites(now: now)
        guard live.count >= policy.minSites else { return }
        if setupStage == nil { phase = .training(round: completedRounds + 1) }
        participants = Set(live)
        uploaded = []
        closedSetupStep = false
        roundStartedAt = now
    }

    /// Closes the open round or setup step with the sites that uploaded. A setup step stays in its phase while the
    /// coordinator combines it; it takes no more statistics.
    private mutating func close(_ step: JobStep) -> [Action] {
        switch step {
        case .setup: closedSetupStep = true
        case .round(let round): phase = .aggregating(round: round)
        }
        return [.aggregate(step: step, sites: uploaded.sorted())]
    }

    private mutating func resetOpenRound() {
        attempt = 1
        participants = []
        uploaded = []
        closedSetupStep = false
    }

    private func describe(_ phase: Phase) -> String {
        switch phase {
        case .waitingForSites where setupStage != nil:
            participants.isEmpty ? "the \(setupStage!) is waiting for sites" : "the \(setupStage!) is open"
        case .waitingForSites: "the job is waiting for sites"
        case .training(let round): "round \(round) is open"
        case .aggregating(let round): "round \(round) is being aggregated"
        case .evaluating(let round): participants.isEmpty ? "the evaluation of round \(round) is waiting for sites" : "the evaluation of round \(round) is open"
        case .finished: "the job has finished"
        case .failed(let reason): "the job failed (\(reason))"
        }
    }
}
