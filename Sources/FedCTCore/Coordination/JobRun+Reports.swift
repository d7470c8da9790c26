// JobRun+Reports: what sites hand in to a job run — verified updates and evaluation reports — and the run's live progress.
public import FedCTProto

extension JobRun {
    /// A verified update is complete: a plain update spooled at `spooledPath` is kept for aggregation (a masked input is
    /// already in the sum); the round closes when it was the last one awaited.
    public mutating func onUploadAccepted(from site: String, header: Fedct_V1_UpdateHeader, spooledPath: String?, now: Double) throws -> [Directive] {
        guard ending == nil, jobID == header.jobID else {
            throw FedCTError(.failedPrecondition, "job \(header.jobID) is no longer running; the update is discarded")
        }
        let actions = try machine.uploadAccepted(from: site, round: Int(header.round), baseModelSHA256: header.baseModelSha256, now: now)
        if let spooledPath {
            uploads[site] = SpooledUpdate(site: site, path: spooledPath, exampleCount: header.exampleCount, meanTrainLoss: header.meanTrainLoss)
        }
        countUpload(from: site, header: header)
        return apply(actions, now: now) + afterEvent(now: now)
    }

    /// Counts an accepted update in the round's traffic and logs it.
    mutating func countUpload(from site: String, header: Fedct_V1_UpdateHeader) {
        tally.bytesUp += Int64(header.coordinateCount) * 4
        tally.siteBytesUp[site, default: 0] += Int64(header.coordinateCount) * 4
        logger.info("update received", metadata: ["job": "\(jobID)", "round": "\(header.round)", "site": "\(site)", "loss": "\(header.meanTrainLoss)"])
    }

    /// A site's evaluation report: checked against the open evaluation (job, round, participant, once, model) and the
    /// job's rules (known metrics, values in [0, 1], counts at or above `evaluation.min_cohort`), then added to the job
    /// record with the recomputed pooled values (`reportedAt`: wall-clock seconds); the evaluation closes once every
    /// participant has reported.
    public mutating func onEvaluationReport(_ report: Fedct_V1_MetricsReport, from site: String, reportedAt: Double, now: Double) throws -> [Directive] {
        guard ending == nil, jobID == report.jobID else {
            throw FedCTError(.failedPrecondition, "\(site) reported metrics for job \(report.jobID), which is not the running job; the report is discarded")
        }
        let round = Int(report.round)
        try machine.validateEvaluationReport(from: site, round: round)
        guard report.modelSha256 == machine.globalModelSHA256 else {
            throw FedCTError(.integrity, "\(site) evaluated model \(report.modelSha256.prefix(12)), not round \(round)'s model \(machine.globalModelSHA256.prefix(12)); the report is discarded")
        }
        let minCohort = Int(record.spec.evaluation.minCohort)
        try EvaluationReport.validate(report, from: site, minCohort: minCohort)
        let actions = try machine.evaluationReported(from: site, round: round, now: now)

        var evaluation = Fedct_V1_SiteEvaluation()
        evaluation.site = site
        evaluation.metrics = report.metrics
        evaluation.counts = report.counts
        evaluation.suppressed = report.suppressed.sorted()
        evaluation.cohortSize = report.cohortSize
        evaluation.reportedUnixSeconds = reportedAt
        let index = record.evaluations.firstIndex { $0.round == report.round } ?? {
            var entry = Fedct_V1_EvaluationRecord()
            entry.round = report.round
            entry.modelSha256 = report.modelSha256
            entry.minCohort = Int32(minCohort)
            record.evaluations.append(entry)
            return record.evaluations.count - 1
        }()
        // A site's report replaces one it sent before a coordinator restart redid the evaluation.
        record.evaluations[index].sites.removeAll { $0.site == site }
        record.evaluations[index].sites.append(evaluation)
        record.evaluations[index].pooled = EvaluationReport.pooled(record.evaluations[index].sites)
        let saved = save()
        logger.info("evaluation received", metadata: ["job": "\(jobID)", "round": "\(round)", "site": "\(site)",
                                                      "metrics": "\(report.metrics.count)", "suppressed": "\(report.suppressed.count)"])
        return saved + apply(actions, now: now) + afterEvent(now: now)
    }

    // MARK: Progress

    /// What the coordinator is doing for the job: waiting for sites, a setup step, training, a secure-aggregation step, aggregating.
    public var phaseDescription: String {
        if let ending { return ending == .succeeded ? "finished" : "ending" }
        switch machine.phase {
        case .waitingForSites:
            guard let stage = machine.setupStage, machine.openStep != nil else { return "waiting for sites" }
            return secure == nil ? "setup: \(stage.name)" : "setup: \(stage.name), \(secureStepDescription)"
        case .training:
            return secure == nil ? "training" : secureStepDescription
        case .aggregating:
            return "aggregating"
        case .evaluating:
            return "evaluating"
        case .finished:
            return "finished"
        case .failed:
            return "failed"
        }
    }

    /// The open secure-aggregation session's step, as `phaseDescription` shows it.
    private var secureStepDescription: String {
        guard let secure else { return "" }
        switch secure.server.phase {
        case .advertising: return "secure aggregation: advertising keys"
        case .sharing: return "secure aggregation: sharing keys"
        case .masking: return "secure aggregation: masked inputs"
        case .unmasking: return "secure aggregation: unmasking"
        case .completed: return "aggregating"
        case .aborted: return "secure aggregation: aborted, restarting"
        }
    }

    /// Each live or participating site's progress in the open round or evaluation: its state, bytes and last contact.
    public func siteProgress(now: Double) -> [Fedct_V1_SiteProgress] {
        let evaluating = if case .evaluating = machine.phase { true } else { false }
        return Set(machine.liveSites(now: now)).union(machine.participants).sorted().map { site in
            var progress = Fedct_V1_SiteProgress()
            progress.site = site
            progress.state = machine.uploaded.contains(site) ? (evaluating ? "reported" : "uploaded")
                : machine.participants.contains(site) ? (evaluating ? "evaluating" : "training") : "waiting"
            progress.bytesDown = tally.siteBytesDown[site] ?? 0
            progress.bytesUp = tally.siteBytesUp[site] ?? 0
            progress.secondsSinceSeen = machine.lastSeen[site].map { now - $0 } ?? 0
            return progress
        }
    }
}
