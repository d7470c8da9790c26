// JobRun+Setup: a job run's setup stage — the sites' answers checked and combined, the derived spec committed with its model.
public import FedCTProto

/// What a job's setup stage has gathered so far (kept in memory: a restarted coordinator redoes the stage). The objective's
/// `SetupDerivation` holds what its steps derived; this holds what the coordinator collects for the open step.
public struct SetupProgress: Sendable {
    /// The objective's half of the stage; nil for a job without one.
    public internal(set) var derivation: (any SetupDerivation)?
    /// Each site's signed names for the open names step, with the certificate that signed them; after that step, those
    /// of the sites whose names were combined, relayed with every counting step (`SetupProposals`) until the stage ends.
    public internal(set) var proposals: [String: Fedct_V1_SiteCandidates] = [:]
    /// The running sum of plain count vectors (jobs without secure aggregation).
    public internal(set) var plainSum: [UInt64]?
    /// When the first step was handed out (coordinator monotonic seconds).
    public internal(set) var startedAt: Double?

    /// The list `step` counts over (its secure sum is bound to this list's hash).
    public func listSHA256(of step: SetupStep) -> String { step.listSHA256(derivation?.request(for: step).names ?? []) }

    /// True when `step` is a setup step whose answers are summed, not collected.
    public func isSummed(_ step: JobStep) -> Bool { step.setupStep?.answer == .counts }

    /// The signed lists relayed with `step`'s task: all of them for a counting step, none for a names step.
    public func relayedProposals(for step: SetupStep) -> [Fedct_V1_SiteCandidates] {
        step.answer == .counts ? proposals.keys.sorted().map { proposals[$0]! } : []
    }
}

extension JobRun {
    /// A site's answer to the open setup step: checked against the step, then kept (names, whose signature by
    /// `certificatePEM`, the certificate of the site's call, `verify` checks), added to the plain sum, or added to the
    /// secure round's masked sum.
    public mutating func onSetupSubmission(_ submission: Fedct_V1_SetupSubmission, from site: String, certificatePEM: String,
                                           verify: SecAggSiteSession.Verifier, now: Double) throws -> [Directive] {
        guard ending == nil, jobID == submission.jobID, let derivation = setup.derivation else {
            throw FedCTError(.failedPrecondition, "\(site) sent setup statistics for job \(submission.jobID), which is not the running job or has no setup stage")
        }
        guard let step = JobStep(wireRound: Int(submission.round), setupSteps: machine.setupSteps)?.setupStep else {
            throw FedCTError(.protocolViolation, "\(site) sent setup statistics for round \(submission.round), which is not a step of this job's setup stage (0 to \(1 - machine.setupSteps.count))")
        }
        guard Int(submission.attempt) == machine.attempt else {
            throw FedCTError(.failedPrecondition, "\(site) sent statistics for attempt \(submission.attempt) of the \(step); attempt \(machine.attempt) is open")
        }
        try machine.validateSetupSubmission(from: site, stage: step)
        guard submission.listSha256 == setup.listSHA256(of: step) else {
            throw FedCTError(.integrity, "\(site)'s statistics for the \(step) count a different list than the one published; they are discarded")
        }
        let noise = record.spec.privacy.setupNoiseMultiplier
        guard step.answer == .names || submission.noiseMultiplier == noise else {
            throw FedCTError(.failedPrecondition, noise > 0
                ? "\(site)'s '\(step.name)' counts carry noise multiplier \(submission.noiseMultiplier), but job \(jobID) asks for setup noise \(noise) (privacy.setup_noise_multiplier); they are discarded. Upgrade the site agent if it is older than noised setup counts"
                : "\(site)'s '\(step.name)' counts say they are noised (multiplier \(submission.noiseMultiplier)), but job \(jobID) asks for exact setup counts; they are discarded")
        }
        let expected = derivation.valueCount(for: step)
        switch (step.answer, submission.statistics) {
        case (.names, .candidates(let proposal)):
            try derivation.checkNames(proposal.codes, from: site)
            let message = SetupProposals.signedMessage(jobID: jobID, step: step, names: proposal.codes)
            do {
                try verify(certificatePEM, site, message, Array(proposal.signature))
            } catch {
                throw FedCTError(.permissionDenied, "\(site)'s candidate list is not signed by its certificate key for job \(jobID) (\(error)); update the site agent")
            }
            var signed = Fedct_V1_SiteCandidates()
            signed.site = site
            signed.candidates = proposal
            signed.certificatePem = certificatePEM
            setup.proposals[site] = signed
        case (.counts, .counts(let counts)):
            guard secure == nil else {
                throw FedCTError(.failedPrecondition, "\(site) sent plain counts, but this job sums its setup statistics with secure aggregation; update the site agent")
            }
            guard counts.values.count == expected else {
                throw FedCTError(.integrity, "\(site)'s '\(step.name)' counts have \(counts.values.count) values; this step needs \(expected)")
            }
            try SetupEncoding.checkBound(counts.values) { "\(site)'s '\(step.name)' value \($0)" }
            setup.plainSum = zip(setup.plainSum ?? Array(repeating: 0, count: expected), counts.values).map { $0 + $1 }
        case (.counts, .maskedWords(let data)):
            guard let round = secure else {
                throw FedCTError(.failedPrecondition, "\(site) sent masked words, but the \(step) is not securely aggregated")
            }
            let words = try SetupEncoding.encoding(sites: round.server.keyHolders.count).wordCount(values: expected)
            guard data.count == words * 4 else {
                throw FedCTError(.integrity, "\(site)'s masked '\(step.name)' input has \(data.count) bytes; this step needs \(words) words (\(words * 4) bytes)")
            }
            try addMaskedInput(from: site, round: submission.round, wordCount: words) { sum in
                try data.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            }
        default:
            throw FedCTError(.protocolViolation, "\(site) sent the wrong kind of statistics for the \(step)")
        }
        let actions = try machine.setupSubmissionAccepted(from: site, stage: step, now: now)
        logger.info("setup statistics received", metadata: ["job": "\(jobID)", "step": "\(step.name)", "site": "\(site)"])
        return apply(actions, now: now) + afterEvent(now: now)
    }

    /// Hands the combined answers of `step` to the objective's derivation and moves the job on; after the last step, the
    /// derived spec waits for its initial model to be stored. A derivation that cannot succeed on this data (no
    /// candidates, no events) fails the job with the reason.
    mutating func combineSetupStep(_ step: SetupStep, sites: [String], sum: [UInt64]?, secure isSecure: Bool, now: Double) -> [Directive] {
        guard var derivation = setup.derivation else { return [] }
        do {
            if step.answer == .names {
                // Only the lists that were combined are relayed: each counting step's names come from them.
                setup.proposals = setup.proposals.filter { sites.contains($0.key) }
            }
            try derivation.combine(step, names: sites.compactMap { setup.proposals[$0]?.candidates.codes }, sum: sum)
            setup.derivation = derivation
            if step == machine.setupSteps.last { setup.proposals = [:] }  // no site's list is kept once the last step is combined
            guard step == machine.setupSteps.last else {
                return finishSetupStep(step, sites: sites, secure: isSecure, actions: machine.setupStepCommitted(step, now: now), now: now)
            }
            var spec = record.spec
            var setupRecord = record.setup
            try derivation.derive(into: &spec, record: &setupRecord)
            try spec.validate(source: "job \(jobID) after its setup stage")
            pendingModel = PendingModel(kind: .setup(step: step, sites: sites, secure: isSecure, spec: spec, setupRecord: setupRecord))
            return [.storeInitialModel(spec: spec)]
        } catch {
            logger.error("setup stage failed", metadata: ["job": "\(jobID)", "step": "\(step.name)", "error": "\(error)"])
            return dropSecureRound(now: now) + apply(machine.stepFailed(.setup(step), reason: "\(error)"), now: now)
        }
    }

    /// A setup step is combined (and, after the last, committed): its answers are cleared and the next step or round 1 may open.
    mutating func finishSetupStep(_ step: SetupStep, sites: [String], secure isSecure: Bool, actions: [JobStateMachine.Action], now: Double) -> [Directive] {
        setup.plainSum = nil
        let directives = dropSecureRound(now: now)
        logger.info("setup step combined", metadata: ["job": "\(jobID)", "step": "\(step.name)", "sites": "\(sites.joined(separator: ","))", "secure": "\(isSecure)"])
        return directives + apply(actions, now: now) + afterEvent(now: now)
    }
}
