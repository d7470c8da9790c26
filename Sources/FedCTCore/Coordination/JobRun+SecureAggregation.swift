// JobRun+SecureAggregation: a job run's secure rounds — relaying keys and shares, summing masked inputs, unmasking.
import Crypto
public import FedCTProto

/// The open round's secure aggregation: the protocol state and the running masked sum.
public struct SecureRound: Sendable {
    public internal(set) var server: SecAggServerRound
    public internal(set) var encoding: FixedPointEncoding?
    public internal(set) var sum: MaskedSum?
    /// The site whose masked input is being added to the sum outside the run (`JobRun.takeMaskedSum`); `sum` is out meanwhile.
    public internal(set) var summing: String?
    /// When the server's current phase began (monotonic seconds, for the step-duration metric).
    var phaseStarted: Double
}

/// What an upload's header announces, once checked: a masked input of `words` words, or a plain update of `coordinates` floats.
public enum UploadKind: Sendable, Equatable {
    case masked(words: Int)
    case plain(coordinates: Int)
}

extension JobRun {
    /// Starts the secure-aggregation session of a round or summed setup step that just opened (or restarted); a setup
    /// step's session is bound to the hash of the code list it counts instead of a model.
    mutating func openSecureRoundIfNeeded(now: Double) -> [Directive] {
        guard record.spec.secureAggregation.enabled, let step = machine.openStep, step.setupStep == nil || setup.isSummed(step) else { return [] }
        let binding = step.setupStep.map { setup.listSHA256(of: $0) } ?? machine.globalModelSHA256
        let context = SecAggContext(jobID: jobID, round: step.wireRound, binding: binding, attempt: machine.attempt)
        guard secure?.server.context != context else { return [] }
        let directives = dropSecureRound(now: now)
        let participants = machine.participants.sorted()
        secure = SecureRound(server: SecAggServerRound(context: context, participants: participants, settings: record.spec.secureParameters, now: now),
                             phaseStarted: now)
        logger.info("secure aggregation started", metadata: ["job": "\(jobID)", "round": "\(step.wireRound)", "attempt": "\(context.attempt)",
                                                             "participants": "\(participants.joined(separator: ","))"])
        return directives
    }

    /// Ends the open secure session, timing its last step.
    mutating func dropSecureRound(now: Double) -> [Directive] {
        guard let old = secure else { return [] }
        secure = nil
        return [.secureStepEnded(old.server.phase, seconds: now - old.phaseStarted)]
    }

    // MARK: Site messages

    /// A participant's signed key advertisement; `verify` checks its signature against the consortium CA.
    public mutating func onKeyAdvertisement(_ advertisement: Fedct_V1_KeyAdvertisement, from site: String, certificatePEM: String, now: Double,
                                            verify: SecAggSiteSession.Verifier) throws -> [Directive] {
        var round = try openSecureRound(site: site, jobID: advertisement.jobID, round: advertisement.round, attempt: advertisement.attempt)
        let actions = try round.server.receiveAdvertisement(advertisement, from: site, certificatePEM: certificatePEM, now: now, verify: verify)
        return updateSecure(round, now: now) + performSecure(actions, now: now) + afterEvent(now: now)
    }

    /// A key holder's sealed shares.
    public mutating func onShares(_ request: Fedct_V1_ShareKeysRequest, from site: String, now: Double) throws -> [Directive] {
        var round = try openSecureRound(site: site, jobID: request.jobID, round: request.round, attempt: request.attempt)
        let actions = try round.server.receiveShares(request.shares, from: site, now: now)
        return updateSecure(round, now: now) + performSecure(actions, now: now) + afterEvent(now: now)
    }

    /// A survivor's unmasking shares.
    public mutating func onUnmask(_ request: Fedct_V1_UnmaskRequest, from site: String, now: Double) throws -> [Directive] {
        var round = try openSecureRound(site: site, jobID: request.jobID, round: request.round, attempt: request.attempt)
        let actions = try round.server.receiveUnmask(request.shares, from: site, now: now)
        return updateSecure(round, now: now) + performSecure(actions, now: now) + afterEvent(now: now)
    }

    /// What a site's secure-aggregation session should do next; ABORTED when its round is gone.
    public func secureStep(for site: String, _ request: Fedct_V1_SecAggStepRequest) -> Fedct_V1_SecAggStepResponse {
        guard ending == nil, let secure, jobID == request.jobID, secure.server.context.round == request.round,
              secure.server.context.attempt == request.attempt
        else {
            var response = Fedct_V1_SecAggStepResponse()
            response.step = .aborted
            response.reason = "job \(request.jobID) round \(request.round) attempt \(request.attempt) is no longer open at the coordinator"
            return response
        }
        return secure.server.step(for: site)
    }

    private func openSecureRound(site: String, jobID: String, round: Int32, attempt: Int32) throws -> SecureRound {
        guard ending == nil, self.jobID == jobID, let secure, secure.server.context.round == Int(round), secure.server.context.attempt == Int(attempt) else {
            throw FedCTError(.failedPrecondition, "\(site) sent a secure-aggregation message for job \(jobID) round \(round) attempt \(attempt), which is not open")
        }
        return secure
    }

    /// Replaces the secure session with `round`, timing the step that closed and logging the start of masking.
    private mutating func updateSecure(_ round: SecureRound, now: Double) -> [Directive] {
        var round = round
        let before = secure?.server.phase
        var directives: [Directive] = []
        if let before, before != round.server.phase {
            directives.append(.secureStepEnded(before, seconds: now - round.phaseStarted))
            round.phaseStarted = now
            if before == .sharing, round.server.phase == .masking {
                // From now on, a lost site is a recoverable dropout.
                logger.info("secure aggregation keys shared; masked inputs open", metadata: [
                    "job": "\(jobID)", "round": "\(round.server.context.round)", "share_senders": "\(round.server.shareSenders.joined(separator: ","))",
                    "threshold": "\(round.server.threshold)",
                ])
            }
        }
        secure = round
        return directives
    }

    // MARK: Masked inputs

    /// Checks an upload's header against the open round before its payload is read. `coordinates` reads the number of
    /// coordinates of the header's base model (once the header names the round's model).
    public mutating func checkUpload(from site: String, header: Fedct_V1_UpdateHeader, coordinates: () throws -> Int) throws -> UploadKind {
        guard ending == nil, jobID == header.jobID else {
            throw FedCTError(.failedPrecondition, "\(site) uploaded for job \(header.jobID), which is not the running job")
        }
        try machine.validateUpload(from: site, round: Int(header.round), baseModelSHA256: header.baseModelSha256)
        let modelCoordinates = try coordinates()
        if secure != nil || header.hasMasked { return .masked(words: try checkMaskedUpload(site: site, header: header, modelCoordinates: modelCoordinates)) }
        guard header.coordinateCount == modelCoordinates else {
            throw FedCTError(.integrity, "\(site)'s update has \(header.coordinateCount) coordinates; the model has \(modelCoordinates)")
        }
        guard header.exampleCount > 0 else {
            throw FedCTError(.invalidData, "\(site)'s update has example_count \(header.exampleCount); it must be positive")
        }
        guard SHA256.isHexDigest(header.payloadSha256) else {
            throw FedCTError(.invalidData, "\(site)'s update header has a malformed payload_sha256")
        }
        return .plain(coordinates: modelCoordinates)
    }

    /// Checks a masked upload's header; returns its word count.
    private mutating func checkMaskedUpload(site: String, header: Fedct_V1_UpdateHeader, modelCoordinates: Int) throws -> Int {
        guard var round = secure else {
            throw FedCTError(.failedPrecondition, "\(site) sent a masked input, but round \(header.round) does not use secure aggregation")
        }
        guard header.hasMasked else {
            throw FedCTError(.failedPrecondition, "\(site) sent a plain update, but round \(header.round) uses secure aggregation; update the site agent")
        }
        guard Int(header.masked.attempt) == round.server.context.attempt else {
            throw FedCTError(.failedPrecondition, "\(site)'s masked input is for attempt \(header.masked.attempt) of round \(header.round); attempt \(round.server.context.attempt) is open")
        }
        try round.server.checkMaskedInput(from: site)
        let encoding = try round.encoding ?? record.spec.secureEncoding(keyHolders: round.server.keyHolders.count, threshold: round.server.threshold)
        round.encoding = encoding
        secure = round
        guard header.masked.modulusBits == 32, header.masked.scale == encoding.scale else {
            throw FedCTError(.integrity, "\(site)'s masked input uses modulus 2^\(header.masked.modulusBits) and scale \(header.masked.scale); this round uses 2^32 and \(encoding.scale)")
        }
        let lossScale = encoding.carriesLoss ? encoding.lossScale : 0
        guard header.masked.lossScale == lossScale else {
            throw FedCTError(.integrity, lossScale > 0
                ? "\(site)'s masked input does not carry its training loss inside the sum (loss scale \(header.masked.lossScale), this round uses \(lossScale)); update the site agent"
                : "\(site)'s masked input carries a training loss (loss scale \(header.masked.lossScale)), which a job with differential privacy does not send")
        }
        guard header.meanTrainLoss == 0, header.localSteps == 0 else {
            throw FedCTError(.protocolViolation, "\(site)'s masked input sends its training loss or local steps in the clear; update the site agent")
        }
        let words = encoding.wordCount(coordinates: modelCoordinates)
        guard header.coordinateCount == words else {
            throw FedCTError(.integrity, "\(site)'s masked input has \(header.coordinateCount) words; this round needs \(words) (the model's coordinates, the weight\(encoding.carriesLoss ? " and the loss" : ""))")
        }
        return words
    }

    /// Adds one site's masked words (fed by `feed`, `wordCount` in all) to the open secure round's running sum, for a
    /// setup step's small vectors. On any error the sum is unchanged (the words go into a copy that replaces it once complete).
    public mutating func addMaskedInput(from site: String, round: Int32, wordCount: Int, feed: (inout MaskedSum) throws -> Void) throws {
        guard ending == nil, var open = secure, open.summing == nil else {
            throw FedCTError(.failedPrecondition, "round \(round) is no longer open; the masked input is discarded")
        }
        try open.server.checkMaskedInput(from: site)
        var sum = open.sum ?? MaskedSum(wordCount: wordCount)
        try sum.begin(site: site)
        try feed(&sum)
        try sum.end()
        try open.server.maskedInputAccepted(from: site)
        open.sum = sum
        secure = open
    }

    /// Whether a masked input is being added to the round's sum outside the run (another must wait for it).
    public var isSumming: Bool { secure?.summing != nil }

    /// Takes the open round's masked sum out of the run so that `site`'s model-sized masked input (announced by `header`,
    /// checked by `checkUpload`) can be added to it in place, off the coordinator's actor, without a copy. Until
    /// `onMaskedInputSummed` or `onMaskedInputFailed` returns it, no other input is taken and the round's deadline waits
    /// (`tick`), so an input being added is never cut off.
    public mutating func takeMaskedSum(for site: String, header: Fedct_V1_UpdateHeader) throws -> MaskedSum {
        guard ending == nil, jobID == header.jobID, var round = secure, round.server.context.round == Int(header.round),
              round.server.context.attempt == Int(header.masked.attempt)
        else { throw FedCTError(.failedPrecondition, "round \(header.round) is no longer open; the masked input is discarded") }
        guard round.summing == nil else {
            throw FedCTError(.failedPrecondition, "\(round.summing!)'s masked input is being added; \(site)'s must wait for it")
        }
        try round.server.checkMaskedInput(from: site)
        let sum = round.sum ?? MaskedSum(wordCount: Int(header.coordinateCount))
        round.sum = nil
        round.summing = site
        secure = round
        return sum
    }

    /// `sum` (taken with `takeMaskedSum`) now holds `site`'s masked input: it goes back into the round and the upload is
    /// accepted.
    public mutating func onMaskedInputSummed(_ sum: MaskedSum, from site: String, header: Fedct_V1_UpdateHeader, now: Double) throws -> [Directive] {
        guard ending == nil, jobID == header.jobID, var round = secure, round.summing == site else {
            throw FedCTError(.failedPrecondition, "round \(header.round) is no longer open; the masked input is discarded")
        }
        round.summing = nil
        round.sum = sum
        do {
            try round.server.maskedInputAccepted(from: site)
        } catch {
            secure = round
            return abortSecureRound("\(site)'s masked input was summed but not accepted (\(error))", now: now)
        }
        secure = round
        return try onUploadAccepted(from: site, header: header, spooledPath: nil, now: now)
    }

    /// Adding `site`'s input to the sum taken with `takeMaskedSum` failed part-way: the sum is lost, so the attempt is
    /// aborted (nothing is revealed) and the round restarts with fresh keys.
    public mutating func onMaskedInputFailed(from site: String, error: any Error, now: Double) -> [Directive] {
        guard var round = secure, round.summing == site else { return [] }
        round.summing = nil
        secure = round
        return abortSecureRound("the masked sum could not take \(site)'s input (\(error))", now: now)
    }

    // MARK: Driving the protocol

    /// The round machine closed the round: no more masked inputs, ask the survivors to unmask.
    mutating func closeSecureMasking(step: JobStep, now: Double) -> [Directive] {
        guard var round = secure else { return [] }
        let actions = round.server.closeMasking(now: now)
        let directives = updateSecure(round, now: now)
        logger.info("secure aggregation unmasking", metadata: ["job": "\(jobID)", "round": "\(step.wireRound)", "survivors": "\(round.server.survivors.joined(separator: ","))"])
        return directives + performSecure(actions, now: now)
    }

    /// Closes a secure-aggregation step whose timeout passed.
    mutating func tickSecureRound(now: Double) -> [Directive] {
        guard var round = secure else { return [] }
        let actions = round.server.tick(now: now)
        return updateSecure(round, now: now) + performSecure(actions, now: now)
    }

    private mutating func performSecure(_ actions: [SecAggServerRound.Action], now: Double) -> [Directive] {
        var directives: [Directive] = []
        for action in actions {
            guard ending == nil, let round = secure else { break }
            switch action {
            case .exclude(let sites):
                logger.notice("sites left the round before masking", metadata: ["job": "\(jobID)", "round": "\(round.server.context.round)", "sites": "\(sites.joined(separator: ","))"])
                guard let step = JobStep(wireRound: round.server.context.round, setupSteps: machine.setupSteps) else { break }
                directives += apply(machine.participantsLeft(sites, step: step), now: now)
            case .unmaskingComplete:
                do {
                    directives += try unmask(round, now: now)
                } catch {
                    directives += abortSecureRound("unmasking failed: \(error)", now: now)
                }
            case .abort(let reason):
                directives += abortSecureRound(reason, now: now)
            }
        }
        return directives
    }

    /// The attempt cannot finish: nothing of it is revealed; the round machine restarts the step or fails the job.
    mutating func abortSecureRound(_ reason: String, now: Double) -> [Directive] {
        guard let round = secure else { return [] }
        logger.error("secure round aborted", metadata: ["job": "\(jobID)", "round": "\(round.server.context.round)", "reason": "\(reason)"])
        let step = JobStep(wireRound: round.server.context.round, setupSteps: machine.setupSteps)
        var directives: [Directive] = [.roundEnded(.aborted, seconds: nil)] + dropSecureRound(now: now)
        directives += apply(step.map { machine.stepAborted($0, reason: reason, now: now) } ?? [], now: now)
        return directives + afterEvent(now: now)
    }

    /// Every needed share is in: a setup step's small sum is unmasked here and combined; a training round's model-sized
    /// sum goes to the coordinator with the rebuilt secrets.
    private mutating func unmask(_ round: SecureRound, now: Double) throws -> [Directive] {
        guard let sum = round.sum else { throw FedCTError(.failedPrecondition, "no masked inputs to unmask") }
        let recovery = try round.server.recovery()
        let wireRound = round.server.context.round
        if let step = JobStep(wireRound: wireRound, setupSteps: machine.setupSteps)?.setupStep {
            let sums = try SetupEncoding.encoding(sites: round.server.keyHolders.count).decode(sum: try sum.unmasked(with: recovery))
            return combineSetupStep(step, sites: round.server.survivors, sum: sums, secure: true, now: now)
        }
        guard let encoding = round.encoding else { throw FedCTError(.failedPrecondition, "no masked inputs to unmask") }
        let survivors = round.server.survivors
        return storeRoundModel(round: wireRound, input: .masked(sum, recovery, encoding), sites: survivors,
                               secureRecord: (round.server.shareSenders.filter { !survivors.contains($0) }, round.server.threshold), now: now)
    }
}
