// Coordinator+Setup: a derived job's setup stage — hands out setup steps, sums the sites' statistics, derives and commits the tasks.
public import FedCTCore
public import FedCTProto
import Foundation

/// What a job's setup stage has gathered and derived so far (kept in memory: a restarted coordinator redoes the stage).
struct SetupProgress {
    /// Each site's candidate codes (step 1).
    var proposals: [String: [String]] = [:]
    /// The union of the proposals, published for the prevalence step.
    var candidates: [String] = []
    /// The chosen tasks and their pooled prevalence, published for the rates step.
    var tasks: [String] = []
    var taskPrevalence: [Double] = []
    var patients: UInt64 = 0
    /// The running sum of plain count vectors (jobs without secure aggregation).
    var plainSum: [UInt64]?
    /// When the first step opened (coordinator monotonic seconds).
    var startedAt: Double?

    /// The code list a step counts over and publishes: none, the candidates, the tasks.
    func codes(for stage: TaskSetupStage) -> [String] {
        switch stage {
        case .candidates: []
        case .prevalence: candidates
        case .rates: tasks
        }
    }

    func listSHA256(of stage: TaskSetupStage) -> String { stage.listSHA256(codes(for: stage)) }

    /// True when `step` is a setup step whose statistics are summed (prevalence, rates), not collected.
    func isSummed(_ step: JobStep) -> Bool { step.setupStage.map { $0 != .candidates } ?? false }

    /// How many values a step's count vector holds.
    func valueCount(for stage: TaskSetupStage) -> Int {
        switch stage {
        case .candidates: 0
        case .prevalence: candidates.count + 1
        case .rates: TaskStatistics.RatesLayout(tasks: tasks.count, grid: .standard).count
        }
    }
}

extension Coordinator {
    /// Most candidate codes one site may propose, and the longest code name.
    static let maxCandidatesPerSite = 1_000_000
    static let maxCodeLength = 256

    /// The SETUP task telling `site` which step to compute, over which codes.
    func setupTask(for site: String, job: ActiveJob) -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        guard let stage = job.machine.setupStep(for: site) else { return task }
        let codes = job.setup.codes(for: stage)
        task.kind = .setup
        task.jobID = job.id
        task.round = Int32(JobStep.setup(stage).wireRound)
        task.attempt = Int32(job.machine.attempt)
        task.spec = statuses[job.id]!.spec
        task.setup.stage = stage.rawValue
        task.setup.codes = codes
        task.setup.listSha256 = stage.listSHA256(codes)
        task.setup.firstEdgeDays = EventTimeGrid.standard.firstEdgeDays
        task.setup.lastEdgeDays = EventTimeGrid.standard.lastEdgeDays
        task.setup.bins = Int32(EventTimeGrid.standard.bins)
        if active?.setup.startedAt == nil { active?.setup.startedAt = now() }
        return task
    }

    /// A site's statistics for the open setup step: checked against the step, then kept (candidates), added to the
    /// plain sum, or added to the secure round's masked sum.
    public func submitSetup(site: String, _ submission: Fedct_V1_SetupSubmission) throws -> Fedct_V1_SetupReceipt {
        guard let job = active, job.id == submission.jobID else {
            throw FedCTError(.failedPrecondition, "\(site) sent setup statistics for job \(submission.jobID), which is not the running job")
        }
        guard let stage = JobStep(wireRound: Int(submission.round))?.setupStage else {
            throw FedCTError(.protocolViolation, "\(site) sent setup statistics for round \(submission.round), which is not a setup step (0, -1, -2)")
        }
        guard Int(submission.attempt) == job.machine.attempt else {
            throw FedCTError(.failedPrecondition, "\(site) sent statistics for attempt \(submission.attempt) of setup step '\(stage.rawValue)'; attempt \(job.machine.attempt) is open")
        }
        try job.machine.validateSetupSubmission(from: site, stage: stage)
        guard submission.listSha256 == job.setup.listSHA256(of: stage) else {
            throw FedCTError(.integrity, "\(site)'s statistics for setup step '\(stage.rawValue)' count a different code list than the one published; they are discarded")
        }
        let expected = job.setup.valueCount(for: stage)
        switch (stage, submission.statistics) {
        case (.candidates, .candidates(let proposal)):
            try Self.checkCandidates(proposal.codes, from: site)
            active?.setup.proposals[site] = proposal.codes
        case (.prevalence, .counts(let counts)), (.rates, .counts(let counts)):
            guard job.secure == nil else {
                throw FedCTError(.failedPrecondition, "\(site) sent plain counts, but this job sums its setup statistics with secure aggregation; update the site agent")
            }
            guard counts.values.count == expected else {
                throw FedCTError(.integrity, "\(site)'s '\(stage.rawValue)' counts have \(counts.values.count) values; this step needs \(expected)")
            }
            try TaskStatistics.checkBound(counts.values) { "\(site)'s '\(stage.rawValue)' value \($0)" }
            active?.setup.plainSum = zip(job.setup.plainSum ?? Array(repeating: 0, count: expected), counts.values).map { $0 + $1 }
        case (.prevalence, .maskedWords(let data)), (.rates, .maskedWords(let data)):
            guard let secure = job.secure else {
                throw FedCTError(.failedPrecondition, "\(site) sent masked words, but setup step '\(stage.rawValue)' is not securely aggregated")
            }
            let words = try TaskStatistics.encoding(sites: secure.server.keyHolders.count).wordCount(values: expected)
            guard data.count == words * 4 else {
                throw FedCTError(.integrity, "\(site)'s masked '\(stage.rawValue)' input has \(data.count) bytes; this step needs \(words) words (\(words * 4) bytes)")
            }
            try addMaskedWords(site: site, round: submission.round, wordCount: words) { sum in
                try data.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            }
        default:
            throw FedCTError(.protocolViolation, "\(site) sent the wrong kind of statistics for setup step '\(stage.rawValue)'")
        }
        let actions = try active!.machine.setupSubmissionAccepted(from: site, stage: stage, now: now())
        logger.info("setup statistics received", metadata: ["job": "\(job.id)", "step": "\(stage.rawValue)", "site": "\(site)"])
        perform(actions)
        var receipt = Fedct_V1_SetupReceipt()
        receipt.bytesReceived = Int64((try submission.serializedBytes() as [UInt8]).count)
        return receipt
    }

    static func checkCandidates(_ codes: [String], from site: String) throws {
        guard codes.count <= maxCandidatesPerSite else {
            throw FedCTError(.invalidData, "\(site) proposed \(codes.count) candidate codes; at most \(maxCandidatesPerSite) are taken")
        }
        if let bad = codes.first(where: { $0.isEmpty || $0.utf8.count > maxCodeLength }) {
            throw FedCTError(.invalidData, "\(site) proposed a candidate code of \(bad.utf8.count) bytes; codes are 1 to \(maxCodeLength) bytes")
        }
    }

    /// Closes a setup step of a job without secure aggregation.
    func commitPlainSetupStep(_ stage: TaskSetupStage, sites: [String]) {
        commitSetupStep(stage, sites: sites, sum: active?.setup.plainSum, secure: false)
    }

    /// Derives what `stage` decides from the combined statistics and moves the job on; a derivation that cannot
    /// succeed on this data (no candidates, no events) fails the job with the reason.
    func commitSetupStep(_ stage: TaskSetupStage, sites: [String], sum: [UInt64]?, secure: Bool) {
        guard var job = active, var status = statuses[job.id] else { return }
        let now = now()
        do {
            var actions: [JobStateMachine.Action]
            switch stage {
            case .candidates:
                job.setup.candidates = TaskDerivation.union(sites.compactMap { job.setup.proposals[$0] })
                guard !job.setup.candidates.isEmpty else {
                    throw FedCTError(.invalidData, "no site has a code held by at least tte.min_patients_per_code (\(status.spec.tte.minPatientsPerCode)) of its patients after an index time; lower it or check the sites' events")
                }
                actions = job.machine.setupStepCommitted(.candidates, now: now)
            case .prevalence:
                let prevalence = try Self.sum(sum, stage)
                let ranked = try TaskDerivation.rank(candidates: job.setup.candidates, prevalenceSum: prevalence, maxTasks: Int(status.spec.tte.maxTasks))
                job.setup.tasks = ranked.map(\.code)
                job.setup.taskPrevalence = ranked.map(\.prevalence)
                job.setup.patients = prevalence[0]
                actions = job.machine.setupStepCommitted(.prevalence, now: now)
            case .rates:
                let rates = try Self.sum(sum, stage)
                let layout = TaskStatistics.RatesLayout(tasks: job.setup.tasks.count, grid: .standard)
                status.spec.tte.taskCodes = job.setup.tasks
                status.spec.tte.pieceEdgesDays = try TaskDerivation.pieceEdges(histogram: Array(rates[layout.histogram...]), grid: .standard,
                                                                                pieces: Int(status.spec.tte.pieces))
                status.spec.tte.taskLog2BaseHazard = try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: layout, tasks: job.setup.tasks)
                try status.spec.validate(source: "job \(job.id) after its setup stage")
                let model = try initialModel(status.spec)
                status.initialModelSha256 = model.sha256
                status.setup.sites = sites
                status.setup.candidates = Int32(job.setup.candidates.count)
                status.setup.patients = Int64(job.setup.patients)
                status.setup.securelyAggregated = secure
                status.setup.seconds = now - (job.setup.startedAt ?? now)
                status.setup.taskPrevalence = job.setup.taskPrevalence
                try persist(&status)
                statuses[job.id] = status
                logger.info("setup stage committed", metadata: ["job": "\(job.id)", "tasks": "\(job.setup.tasks.count)", "pieces": "\(status.spec.tte.pieceEdgesDays.count)",
                                                                "candidates": "\(job.setup.candidates.count)", "patients": "\(job.setup.patients)",
                                                                "secure": "\(secure)", "parameters": "\(model.parameters)"])
                actions = job.machine.setupCommitted(modelSHA256: model.sha256, now: now)
            }
            job.setup.plainSum = nil
            job.secure = nil
            active = job
            logger.info("setup step combined", metadata: ["job": "\(job.id)", "step": "\(stage.rawValue)", "sites": "\(sites.joined(separator: ","))", "secure": "\(secure)"])
            perform(actions)
        } catch {
            logger.error("setup stage failed", metadata: ["job": "\(job.id)", "step": "\(stage.rawValue)", "error": "\(error)"])
            job.secure = nil
            let actions = job.machine.stepFailed(.setup(stage), reason: "\(error)")
            active = job
            perform(actions)
        }
    }

    private static func sum(_ sum: [UInt64]?, _ stage: TaskSetupStage) throws -> [UInt64] {
        guard let sum else { throw FedCTError(.failedPrecondition, "setup step '\(stage.rawValue)' closed with no statistics") }
        return sum
    }
}
