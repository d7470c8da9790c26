// JobRun+Durability: a job run's durable steps — round models, the initial model, the job record — and their retries.
public import FedCTProto

/// What the coordinator computes and stores for a closed training round.
public struct RoundModelRequest: Sendable {
    /// Where the round's mean update comes from.
    public enum Input: Sendable {
        /// The spooled float32 updates, weighted by their example counts (`PlainAggregator`).
        case plain([JobRun.SpooledUpdate])
        /// The masked sum, the secrets that remove its masks, and the fixed-point encoding of its words.
        case masked(MaskedSum, SecAggServerRound.Recovery, FixedPointEncoding)
    }

    public var round: Int
    /// The job's spec (strategy, name for the blob's metadata).
    public var spec: Fedct_V1_JobSpec
    /// The global model the round's updates were computed from.
    public var baseModelSHA256: String
    /// The server optimiser state committed with the previous round (FedAdam, FedYogi), if any.
    public var optimizerStateSHA256: String?
    public var input: Input
}

/// What the coordinator stored for a round.
public struct StoredRoundModel: Sendable, Equatable {
    public var modelSHA256: String
    public var optimizerStateSHA256: String?
    /// Σ nᵢ over the round's contributors.
    public var exampleCount: Int64
    /// A secure round's weighted mean training loss, decoded from the unmasked sum (nil: plain rounds, whose loss comes
    /// from the update headers, and DP jobs, whose loss is not sent).
    public var meanTrainLoss: Double?

    public init(modelSHA256: String, optimizerStateSHA256: String?, exampleCount: Int64, meanTrainLoss: Double? = nil) {
        self.modelSHA256 = modelSHA256
        self.optimizerStateSHA256 = optimizerStateSHA256
        self.exampleCount = exampleCount
        self.meanTrainLoss = meanTrainLoss
    }
}

extension JobRun {
    /// What to do once a version of the record is stored.
    enum Completion: Sendable {
        case roundCommitted(round: Int, modelSHA256: String, seconds: Double)
        case setupCommitted(step: SetupStep, sites: [String], secure: Bool, modelSHA256: String)
        case ended
    }

    /// A model being computed and stored, kept so that a failed write is retried.
    struct PendingModel: Sendable {
        enum Kind: Sendable {
            /// A training round: its record's fields known before the model is (sites, loss, secure fields).
            case round(RoundModelRequest, record: Fedct_V1_RoundRecord)
            /// The last setup step: the derived spec and setup record to commit with the initial model.
            case setup(step: SetupStep, sites: [String], secure: Bool, spec: Fedct_V1_JobSpec, setupRecord: Fedct_V1_SetupRecord)
        }

        var kind: Kind
        /// Set while the directive is out; nil after a failure, until the retry.
        var inFlight = true
        var failedAt: Double?

        var directive: Directive {
            switch kind {
            case .round(let request, _): .storeRoundModel(request)
            case .setup(_, _, _, let spec, _): .storeInitialModel(spec: spec)
            }
        }
    }

    /// Whether a write the run issued has not been stored yet.
    public var hasUnsavedChanges: Bool { storedVersion < version }

    /// Records a change to `record` and asks for it to be saved; `completion` runs once a save of it is stored.
    mutating func save(then completion: Completion? = nil) -> [Directive] {
        version += 1
        if let completion { completions.append((version, completion)) }
        return [.saveRecord(record, version: version)]
    }

    // MARK: Events: the job record

    /// The record of `version` (and so every earlier one) is stored.
    public mutating func onRecordSaved(version saved: Int, now: Double) -> [Directive] {
        guard saved > storedVersion else { return [] }
        storedVersion = saved
        if storedVersion == version {
            saveFailedAt = nil
            if pendingModel == nil { writeFailure = nil }
        }
        let due = completions.filter { $0.version <= saved }.map(\.completion)
        completions.removeAll { $0.version <= saved }
        var directives: [Directive] = []
        for completion in due { directives += complete(completion, now: now) }
        return directives + afterEvent(now: now)
    }

    /// Saving the record of `version` failed: nothing of that version counts; the save is retried after `retryDelay`.
    public mutating func onRecordSaveFailed(version failed: Int, error: any Error, now: Double) -> [Directive] {
        guard failed > storedVersion else { return [] }
        saveFailedAt = now
        writeFailure = "\(error)"
        return []
    }

    private mutating func complete(_ completion: Completion, now: Double) -> [Directive] {
        switch completion {
        case .ended:
            return [.jobEnded(record)]
        case .roundCommitted(let round, let sha, let seconds):
            guard ending == nil else { return [] }
            var directives: [Directive] = [.roundEnded(.committed, seconds: seconds)]
            if !uploads.isEmpty { directives.append(.deleteSpools(uploads.values.map(\.path).sorted())) }
            logger.info("round committed", metadata: ["job": "\(jobID)", "round": "\(round)", "sites": "\(record.rounds.last?.sites.joined(separator: ",") ?? "")",
                                                      "secure": "\(record.rounds.last?.securelyAggregated ?? false)", "model": "\(sha.prefix(12))"])
            uploads = [:]
            directives += dropSecureRound(now: now)
            tally = RoundTally()
            let actions = machine.roundCommitted(round, modelSHA256: sha, now: now)
            tally.startedAt = machine.phase == .training(round: round + 1) ? now : nil
            return directives + apply(actions, now: now)
        case .setupCommitted(let step, let sites, let secure, let sha):
            guard ending == nil else { return [] }
            logger.info("setup stage committed", metadata: ["job": "\(jobID)", "sites": "\(sites.joined(separator: ","))", "secure": "\(secure)"])
            return finishSetupStep(step, sites: sites, secure: secure, actions: machine.setupCommitted(modelSHA256: sha, now: now), now: now)
        }
    }

    // MARK: Events: models

    /// Asks for round `round`'s model to be computed from `input` and stored; its record waits for the result.
    mutating func storeRoundModel(round: Int, input: RoundModelRequest.Input, sites: [String], secureRecord: (dropped: [String], threshold: Int)? = nil,
                                  now: Double) -> [Directive] {
        let request = RoundModelRequest(round: round, spec: record.spec, baseModelSHA256: machine.globalModelSHA256,
                                        optimizerStateSHA256: record.rounds.last.flatMap { $0.optimizerStateSha256.isEmpty ? nil : $0.optimizerStateSha256 },
                                        input: input)
        var roundRecord = Fedct_V1_RoundRecord()
        roundRecord.round = Int32(round)
        roundRecord.sites = sites
        if secureRecord == nil {
            // Plain rounds: from the headers. A secure round's loss is decoded from its sum (`onRoundModelStored`).
            let updates = sites.compactMap { uploads[$0] }
            let weight = updates.reduce(0) { $0 + Double($1.exampleCount) }
            roundRecord.meanTrainLoss = updates.reduce(0) { $0 + $1.meanTrainLoss * Double($1.exampleCount) } / max(weight, 1)
            for update in updates { roundRecord.siteTrainLosses[update.site] = update.meanTrainLoss }
        }
        if let secureRecord {
            roundRecord.securelyAggregated = true
            roundRecord.droppedSites = secureRecord.dropped
            roundRecord.threshold = Int32(secureRecord.threshold)
        }
        pendingModel = PendingModel(kind: .round(request, record: roundRecord))
        return [.storeRoundModel(request)]
    }

    /// Round `round`'s model is stored: its record is appended and saved; the round counts as committed once that is stored.
    public mutating func onRoundModelStored(round: Int, _ stored: StoredRoundModel, now: Double) -> [Directive] {
        guard ending == nil, let pending = pendingModel, case .round(let request, var roundRecord) = pending.kind, request.round == round else { return [] }
        pendingModel = nil
        roundRecord.exampleCount = stored.exampleCount
        if let loss = stored.meanTrainLoss { roundRecord.meanTrainLoss = loss }
        roundRecord.bytesDown = tally.bytesDown
        roundRecord.bytesUp = tally.bytesUp
        roundRecord.seconds = now - (tally.startedAt ?? now)
        roundRecord.modelSha256 = stored.modelSHA256
        if let optimizer = stored.optimizerStateSHA256 { roundRecord.optimizerStateSha256 = optimizer }
        record.rounds.append(roundRecord)
        record.currentRound = Int32(round)
        return save(then: .roundCommitted(round: round, modelSHA256: stored.modelSHA256, seconds: roundRecord.seconds))
    }

    /// Computing or storing round `round`'s model failed. A write failure (`.io`: disk full, permissions) keeps the round
    /// waiting and retries; any other error fails the round: a secure attempt restarts, a plain round fails the job.
    public mutating func onRoundModelFailed(round: Int, error: any Error, now: Double) -> [Directive] {
        guard ending == nil, let pending = pendingModel, case .round(let request, _) = pending.kind, request.round == round else { return [] }
        if waitsToRetry(after: error, now: now) { return [] }
        pendingModel = nil
        logger.error("aggregation failed", metadata: ["job": "\(jobID)", "round": "\(round)", "error": "\(error)"])
        if secure != nil { return abortSecureRound("unmasking failed: \(error)", now: now) }
        return [.roundEnded(.failed, seconds: nil)] + apply(machine.stepFailed(.round(round), reason: "\(error)"), now: now)
    }

    /// The initial model of the derived spec is stored: the derived spec, the setup record and the model are saved together.
    public mutating func onInitialModelStored(modelSHA256: String, now: Double) -> [Directive] {
        guard ending == nil, let pending = pendingModel, case .setup(let step, let sites, let secure, let spec, var setupRecord) = pending.kind else { return [] }
        pendingModel = nil
        record.spec = spec
        setupRecord.sites = sites
        setupRecord.securelyAggregated = secure
        setupRecord.seconds = now - (setup.startedAt ?? now)
        record.setup = setupRecord
        record.initialModelSha256 = modelSHA256
        return save(then: .setupCommitted(step: step, sites: sites, secure: secure, modelSHA256: modelSHA256))
    }

    /// Building or storing the initial model failed: a write failure is retried, anything else fails the setup stage.
    public mutating func onInitialModelFailed(error: any Error, now: Double) -> [Directive] {
        guard ending == nil, let pending = pendingModel, case .setup(let step, _, _, _, _) = pending.kind else { return [] }
        if waitsToRetry(after: error, now: now) { return [] }
        pendingModel = nil
        logger.error("setup stage failed", metadata: ["job": "\(jobID)", "step": "\(step.name)", "error": "\(error)"])
        return dropSecureRound(now: now) + apply(machine.stepFailed(.setup(step), reason: "\(error)"), now: now)
    }

    /// Reissues a failed model store or record save once `retryDelay` has passed since it failed.
    mutating func retryDurableSteps(now: Double) -> [Directive] {
        var directives: [Directive] = []
        if var pending = pendingModel, !pending.inFlight, let failedAt = pending.failedAt, now - failedAt >= retryDelay {
            pending.inFlight = true
            pending.failedAt = nil
            pendingModel = pending
            directives.append(pending.directive)
        }
        if let failedAt = saveFailedAt, storedVersion < version, now - failedAt >= retryDelay {
            saveFailedAt = nil
            directives.append(.saveRecord(record, version: version))
        }
        return directives
    }

    /// When `error` is a failed write the operator can fix (`.io`: disk full, permissions) rather than bad data, the pending
    /// model waits to be retried after `retryDelay`, and true is returned.
    private mutating func waitsToRetry(after error: any Error, now: Double) -> Bool {
        guard (error as? FedCTError)?.code == .io, var pending = pendingModel else { return false }
        pending.inFlight = false
        pending.failedAt = now
        pendingModel = pending
        writeFailure = "\(error)"
        return true
    }
}
