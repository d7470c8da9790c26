// Coordinator+Setup: a job's setup stage — hands out its objective's setup steps, combines the sites' answers, commits what it derives.
import FedCTCore
public import FedCTProto
import FedCTTraining
import Foundation

/// What a job's setup stage has gathered so far (kept in memory: a restarted coordinator redoes the stage). The objective's
/// `SetupDerivation` holds what its steps derived; this holds what the coordinator collects for the open step.
struct SetupProgress {
    /// The objective's half of the stage; nil for a job without one.
    var derivation: (any SetupDerivation)?
    /// Each site's names for the open names step.
    var names: [String: [String]] = [:]
    /// The running sum of plain count vectors (jobs without secure aggregation).
    var plainSum: [UInt64]?
    /// When the first step opened (coordinator monotonic seconds).
    var startedAt: Double?

    /// The list `step` counts over (its secure sum is bound to this list's hash).
    func listSHA256(of step: SetupStep) -> String { step.listSHA256(derivation?.request(for: step).names ?? []) }

    /// True when `step` is a setup step whose answers are summed, not collected.
    func isSummed(_ step: JobStep) -> Bool { step.setupStep?.answer == .counts }
}

extension Coordinator {
    /// The SETUP task telling `site` which step to compute, over which names.
    func setupTask(for site: String, job: ActiveJob) -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        guard let step = job.machine.setupStep(for: site), let derivation = job.setup.derivation else { return task }
        let request = derivation.request(for: step)
        task.kind = .setup
        task.jobID = job.id
        task.round = Int32(step.wireRound)
        task.attempt = Int32(job.machine.attempt)
        task.spec = statuses[job.id]!.spec
        task.setup.stage = step.name
        task.setup.codes = request.names
        task.setup.listSha256 = step.listSHA256(request.names)
        if let grid = request.grid {
            task.setup.firstEdgeDays = grid.firstEdgeDays
            task.setup.lastEdgeDays = grid.lastEdgeDays
            task.setup.bins = Int32(grid.bins)
        }
        if active?.setup.startedAt == nil { active?.setup.startedAt = now() }
        return task
    }

    /// A site's answer to the open setup step: checked against the step, then kept (names), added to the plain sum, or
    /// added to the secure round's masked sum.
    public func submitSetup(site: String, _ submission: Fedct_V1_SetupSubmission) throws -> Fedct_V1_SetupReceipt {
        guard let job = active, job.id == submission.jobID, let derivation = job.setup.derivation else {
            throw FedCTError(.failedPrecondition, "\(site) sent setup statistics for job \(submission.jobID), which is not the running job or has no setup stage")
        }
        guard let step = JobStep(wireRound: Int(submission.round), setupSteps: job.machine.setupSteps)?.setupStep else {
            throw FedCTError(.protocolViolation, "\(site) sent setup statistics for round \(submission.round), which is not a step of this job's setup stage (0 to \(1 - job.machine.setupSteps.count))")
        }
        guard Int(submission.attempt) == job.machine.attempt else {
            throw FedCTError(.failedPrecondition, "\(site) sent statistics for attempt \(submission.attempt) of the \(step); attempt \(job.machine.attempt) is open")
        }
        try job.machine.validateSetupSubmission(from: site, stage: step)
        guard submission.listSha256 == job.setup.listSHA256(of: step) else {
            throw FedCTError(.integrity, "\(site)'s statistics for the \(step) count a different list than the one published; they are discarded")
        }
        let expected = derivation.valueCount(for: step)
        switch (step.answer, submission.statistics) {
        case (.names, .candidates(let proposal)):
            try derivation.checkNames(proposal.codes, from: site)
            active?.setup.names[site] = proposal.codes
        case (.counts, .counts(let counts)):
            guard job.secure == nil else {
                throw FedCTError(.failedPrecondition, "\(site) sent plain counts, but this job sums its setup statistics with secure aggregation; update the site agent")
            }
            guard counts.values.count == expected else {
                throw FedCTError(.integrity, "\(site)'s '\(step.name)' counts have \(counts.values.count) values; this step needs \(expected)")
            }
            try SetupEncoding.checkBound(counts.values) { "\(site)'s '\(step.name)' value \($0)" }
            active?.setup.plainSum = zip(job.setup.plainSum ?? Array(repeating: 0, count: expected), counts.values).map { $0 + $1 }
        case (.counts, .maskedWords(let data)):
            guard let secure = job.secure else {
                throw FedCTError(.failedPrecondition, "\(site) sent masked words, but the \(step) is not securely aggregated")
            }
            let words = try SetupEncoding.encoding(sites: secure.server.keyHolders.count).wordCount(values: expected)
            guard data.count == words * 4 else {
                throw FedCTError(.integrity, "\(site)'s masked '\(step.name)' input has \(data.count) bytes; this step needs \(words) words (\(words * 4) bytes)")
            }
            try addMaskedWords(site: site, round: submission.round, wordCount: words) { sum in
                try data.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            }
        default:
            throw FedCTError(.protocolViolation, "\(site) sent the wrong kind of statistics for the \(step)")
        }
        let actions = try active!.machine.setupSubmissionAccepted(from: site, stage: step, now: now())
        logger.info("setup statistics received", metadata: ["job": "\(job.id)", "step": "\(step.name)", "site": "\(site)"])
        perform(actions)
        var receipt = Fedct_V1_SetupReceipt()
        receipt.bytesReceived = Int64((try submission.serializedBytes() as [UInt8]).count)
        return receipt
    }

    /// Closes a setup step of a job without secure aggregation.
    func commitPlainSetupStep(_ step: SetupStep, sites: [String]) {
        commitSetupStep(step, sites: sites, sum: active?.setup.plainSum, secure: false)
    }

    /// Hands the combined answers of `step` to the objective's derivation and moves the job on; after the last step,
    /// commits the derived spec and the initial model. A derivation that cannot succeed on this data (no candidates,
    /// no events) fails the job with the reason.
    func commitSetupStep(_ step: SetupStep, sites: [String], sum: [UInt64]?, secure: Bool) {
        guard var job = active, var status = statuses[job.id], var derivation = job.setup.derivation else { return }
        let now = now()
        do {
            try derivation.combine(step, names: sites.compactMap { job.setup.names[$0] }, sum: sum)
            job.setup.derivation = derivation
            var actions: [JobStateMachine.Action]
            if step == job.machine.setupSteps.last {
                var record = status.setup
                try derivation.derive(into: &status.spec, record: &record)
                status.setup = record
                try status.spec.validate(source: "job \(job.id) after its setup stage")
                let model = try initialModel(status.spec)
                status.initialModelSha256 = model.sha256
                status.setup.sites = sites
                status.setup.securelyAggregated = secure
                status.setup.seconds = now - (job.setup.startedAt ?? now)
                try persist(&status)
                statuses[job.id] = status
                logger.info("setup stage committed", metadata: ["job": "\(job.id)", "sites": "\(sites.joined(separator: ","))", "secure": "\(secure)",
                                                                "parameters": "\(model.parameters)"])
                actions = job.machine.setupCommitted(modelSHA256: model.sha256, now: now)
            } else {
                actions = job.machine.setupStepCommitted(step, now: now)
            }
            job.setup.names = [:]
            job.setup.plainSum = nil
            job.secure = nil
            active = job
            logger.info("setup step combined", metadata: ["job": "\(job.id)", "step": "\(step.name)", "sites": "\(sites.joined(separator: ","))", "secure": "\(secure)"])
            perform(actions)
        } catch {
            logger.error("setup stage failed", metadata: ["job": "\(job.id)", "step": "\(step.name)", "error": "\(error)"])
            job.secure = nil
            let actions = job.machine.stepFailed(.setup(step), reason: "\(error)")
            active = job
            perform(actions)
        }
    }
}
