// Coordinator+SecureAggregation: the coordinator's secure rounds — relaying keys and shares, summing masked inputs, unmasking, committing.
public import FedCTCore
public import FedCTProto
import FedCTIdentity
import Foundation

/// The open round's secure aggregation: the protocol state and the running masked sum.
struct SecureRound {
    var server: SecAggServerRound
    var encoding: FixedPointEncoding?
    var sum: MaskedSum?
    var losses: [String: Double] = [:]
    /// When the server's current phase began (for the step-duration metric).
    var phaseStarted = ContinuousClock.now
}

extension Coordinator {
    /// Starts the secure-aggregation session of a round or summed setup step that just opened (or restarted); a
    /// setup step's session is bound to the hash of the code list it counts instead of a model.
    func openSecureRoundIfNeeded() {
        guard var job = active, let spec = statuses[job.id]?.spec, spec.secureAggregation.enabled, let step = job.machine.openStep,
              step.setupStep == nil || job.setup.isSummed(step)
        else { return }
        let binding = step.setupStep.map { job.setup.listSHA256(of: $0) } ?? job.machine.globalModelSHA256
        let context = SecAggContext(jobID: job.id, round: step.wireRound, binding: binding, attempt: job.machine.attempt)
        guard job.secure?.server.context != context else { return }
        job.secure = SecureRound(server: SecAggServerRound(context: context, participants: job.machine.participants.sorted(),
                                                           settings: spec.secureParameters, now: now()))
        active = job
        logger.info("secure aggregation started", metadata: ["job": "\(job.id)", "round": "\(step.wireRound)", "attempt": "\(context.attempt)",
                                                             "participants": "\(job.machine.participants.sorted().joined(separator: ","))"])
    }

    // MARK: Site calls

    public func advertiseKeys(site: String, certificatePEM: String, _ advertisement: Fedct_V1_KeyAdvertisement) throws {
        var secure = try secureRound(site: site, jobID: advertisement.jobID, round: advertisement.round, attempt: advertisement.attempt)
        let verifier = self.verifier
        let actions = try secure.server.receiveAdvertisement(advertisement, from: site, certificatePEM: certificatePEM, now: now()) {
            do {
                try verifier.verify(certificatePEM: $0, site: $1, message: $2, signature: $3)
            } catch let error as IdentityError {
                throw FedCTError(.permissionDenied, error.message)
            }
        }
        active?.secure = secure
        performSecure(actions)
    }

    public func shareKeys(site: String, _ request: Fedct_V1_ShareKeysRequest) throws {
        var secure = try secureRound(site: site, jobID: request.jobID, round: request.round, attempt: request.attempt)
        let actions = try secure.server.receiveShares(request.shares, from: site, now: now())
        active?.secure = secure
        logStepChange(from: .sharing, to: secure.server)
        performSecure(actions)
    }

    public func unmask(site: String, _ request: Fedct_V1_UnmaskRequest) throws {
        var secure = try secureRound(site: site, jobID: request.jobID, round: request.round, attempt: request.attempt)
        let actions = try secure.server.receiveUnmask(request.shares, from: site, now: now())
        active?.secure = secure
        performSecure(actions)
    }

    /// What a site's secure-aggregation session should do next; ABORTED when its round is gone.
    public func secAggStep(site: String, _ request: Fedct_V1_SecAggStepRequest) -> Fedct_V1_SecAggStepResponse {
        active?.machine.siteSeen(site, now: now())
        guard let secure = active?.secure, active?.id == request.jobID, secure.server.context.round == request.round,
              secure.server.context.attempt == request.attempt
        else {
            var response = Fedct_V1_SecAggStepResponse()
            response.step = .aborted
            response.reason = "job \(request.jobID) round \(request.round) attempt \(request.attempt) is no longer open at the coordinator"
            return response
        }
        return secure.server.step(for: site)
    }

    private func secureRound(site: String, jobID: String, round: Int32, attempt: Int32) throws -> SecureRound {
        guard let job = active, job.id == jobID, let secure = job.secure,
              secure.server.context.round == Int(round), secure.server.context.attempt == Int(attempt)
        else {
            throw FedCTError(.failedPrecondition, "\(site) sent a secure-aggregation message for job \(jobID) round \(round) attempt \(attempt), which is not open")
        }
        return secure
    }

    // MARK: Masked inputs

    /// Checks a masked upload's header; returns its word count.
    func checkMaskedUpload(site: String, header: Fedct_V1_UpdateHeader) throws -> Int {
        guard var secure = active?.secure, let spec = active.flatMap({ statuses[$0.id]?.spec }) else {
            throw FedCTError(.failedPrecondition, "\(site) sent a masked input, but round \(header.round) does not use secure aggregation")
        }
        guard header.hasMasked else {
            throw FedCTError(.failedPrecondition, "\(site) sent a plain update, but round \(header.round) uses secure aggregation; update the site agent")
        }
        guard Int(header.masked.attempt) == secure.server.context.attempt else {
            throw FedCTError(.failedPrecondition, "\(site)'s masked input is for attempt \(header.masked.attempt) of round \(header.round); attempt \(secure.server.context.attempt) is open")
        }
        try secure.server.checkMaskedInput(from: site)
        let encoding = try secure.encoding ?? spec.secureEncoding(keyHolders: secure.server.keyHolders.count, threshold: secure.server.threshold)
        secure.encoding = encoding
        active?.secure = secure
        guard header.masked.modulusBits == 32, header.masked.scale == encoding.scale else {
            throw FedCTError(.integrity, "\(site)'s masked input uses modulus 2^\(header.masked.modulusBits) and scale \(header.masked.scale); this round uses 2^32 and \(encoding.scale)")
        }
        let words = try coordinateCount(of: header.baseModelSha256) + 1
        guard header.coordinateCount == words else {
            throw FedCTError(.integrity, "\(site)'s masked input has \(header.coordinateCount) words; this round needs \(words) (the model's coordinates and the weight)")
        }
        return words
    }

    /// Adds a verified, spooled masked input to the round's running sum.
    func addMaskedInput(site: String, header: Fedct_V1_UpdateHeader, spooled url: URL) throws {
        try addMaskedWords(site: site, round: header.round, wordCount: Int(header.coordinateCount), loss: header.meanTrainLoss) { sum in
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                try chunk.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            }
        }
    }

    /// Adds one site's masked words (fed by `feed`, `wordCount` in all) to the open secure round's running sum.
    func addMaskedWords(site: String, round: Int32, wordCount: Int, loss: Double? = nil, feed: (inout MaskedSum) throws -> Void) throws {
        guard var secure = active?.secure else { throw FedCTError(.failedPrecondition, "round \(round) is no longer open; the masked input is discarded") }
        try secure.server.checkMaskedInput(from: site)
        var sum = secure.sum ?? MaskedSum(wordCount: wordCount)
        try sum.begin(site: site)
        try feed(&sum)
        try sum.end()
        try secure.server.maskedInputAccepted(from: site)
        secure.sum = sum
        secure.losses[site] = loss
        active?.secure = secure
    }

    // MARK: Driving the protocol

    /// The job's round machine closed the round: no more masked inputs, ask the survivors to unmask.
    func closeSecureMasking(step: JobStep) {
        guard var secure = active?.secure else { return }
        let actions = secure.server.closeMasking(now: now())
        active?.secure = secure
        logger.info("secure aggregation unmasking", metadata: ["job": "\(secure.server.context.jobID)", "round": "\(step.wireRound)", "survivors": "\(secure.server.survivors.joined(separator: ","))"])
        performSecure(actions)
    }

    func tickSecureRound() {
        guard var secure = active?.secure else { return }
        let before = secure.server.phase
        let actions = secure.server.tick(now: now())
        active?.secure = secure
        logStepChange(from: before, to: secure.server)
        performSecure(actions)
    }

    /// Logs the start of the masking step with its share senders (U2): from then on, a lost site is a recoverable dropout.
    private func logStepChange(from before: SecAggServerRound.Phase, to server: SecAggServerRound) {
        guard before == .sharing, server.phase == .masking else { return }
        logger.info("secure aggregation keys shared; masked inputs open", metadata: [
            "job": "\(server.context.jobID)", "round": "\(server.context.round)", "share_senders": "\(server.shareSenders.joined(separator: ","))", "threshold": "\(server.threshold)",
        ])
    }

    private func performSecure(_ actions: [SecAggServerRound.Action]) {
        for action in actions {
            guard let job = active, let secure = job.secure else { return }
            let round = secure.server.context.round
            switch action {
            case .exclude(let sites):
                logger.notice("sites left the round before masking", metadata: ["job": "\(job.id)", "round": "\(round)", "sites": "\(sites.joined(separator: ","))"])
                guard let step = JobStep(wireRound: round, setupSteps: job.machine.setupSteps) else { return }
                let more = active!.machine.participantsLeft(sites, step: step)
                perform(more)
            case .unmaskingComplete:
                do {
                    try commitSecureRound()
                } catch {
                    abortSecureRound("unmasking failed: \(error)")
                }
            case .abort(let reason):
                abortSecureRound(reason)
            }
        }
    }

    private func abortSecureRound(_ reason: String) {
        guard var job = active, let secure = job.secure else { return }
        logger.error("secure round aborted", metadata: ["job": "\(job.id)", "round": "\(secure.server.context.round)", "reason": "\(reason)"])
        CoordinatorMetrics.roundEnded(job: job.id, .aborted)
        job.secure = nil
        let step = JobStep(wireRound: secure.server.context.round, setupSteps: job.machine.setupSteps)
        let actions = step.map { job.machine.stepAborted($0, reason: reason, now: now()) } ?? []
        active = job
        perform(actions)
    }

    /// Removes the masks with the rebuilt secrets, decodes the weighted mean and commits the round.
    private func commitSecureRound() throws {
        guard let job = active, let secure = job.secure, let sum = secure.sum else {
            throw FedCTError(.failedPrecondition, "no masked inputs to unmask")
        }
        let round = secure.server.context.round
        let plain = try sum.unmasked(with: try secure.server.recovery())
        if let step = JobStep(wireRound: round, setupSteps: job.machine.setupSteps)?.setupStep {
            let sums = try SetupEncoding.encoding(sites: secure.server.keyHolders.count).decode(sum: plain)
            return commitSetupStep(step, sites: secure.server.survivors, sum: sums, secure: true)
        }
        guard let encoding = secure.encoding else { throw FedCTError(.failedPrecondition, "no masked inputs to unmask") }
        let decoded = try encoding.decode(sum: plain)
        let base = try SafeTensors.decode(try models.get(job.machine.globalModelSHA256), source: "global model of round \(round - 1)")
        guard decoded.mean.count == base.values.count else {
            throw FedCTError(.integrity, "the unmasked sum has \(decoded.mean.count) coordinates; the model has \(base.values.count)")
        }
        var record = Fedct_V1_RoundRecord()
        record.round = Int32(round)
        record.sites = secure.server.survivors
        record.meanTrainLoss = secure.server.survivors.compactMap { secure.losses[$0] }.reduce(0, +) / Double(max(1, secure.server.survivors.count))
        record.exampleCount = decoded.weight
        record.securelyAggregated = true
        record.droppedSites = secure.server.shareSenders.filter { !secure.server.survivors.contains($0) }
        record.threshold = Int32(secure.server.threshold)
        try commit(round: round, meanDelta: decoded.mean, base: base, record: record)
    }
}
