// Coordinator+Evaluation: EVALUATE tasks and the sites' evaluation reports — checked, stored in the job record, pooled.
import FedCTCore
import FedCTProto
import Foundation

extension Coordinator {
    /// The EVALUATE task for the global model committed after `round`.
    func evaluationTask(round: Int, modelSHA256: String, job: ActiveJob) -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        task.kind = .evaluate
        task.jobID = job.id
        task.round = Int32(round)
        task.modelSha256 = modelSHA256
        task.modelBytes = Int64(models.size(modelSHA256) ?? 0)
        task.spec = statuses[job.id]!.spec
        task.attempt = 1
        return task
    }

    /// A site's evaluation report: checked against the open evaluation (job, round, participant, once, model) and the
    /// job's rules (known metrics, values in [0, 1], counts at or above `evaluation.min_cohort`), then stored in the
    /// job record with the recomputed pooled values; the evaluation closes once every participant has reported.
    public func reportMetrics(site: String, _ report: Fedct_V1_MetricsReport) throws {
        guard var job = active, job.id == report.jobID, var status = statuses[job.id] else {
            throw FedCTError(.failedPrecondition, "\(site) reported metrics for job \(report.jobID), which is not the running job; the report is discarded")
        }
        let round = Int(report.round)
        try job.machine.validateEvaluationReport(from: site, round: round)
        guard report.modelSha256 == job.machine.globalModelSHA256 else {
            throw FedCTError(.integrity, "\(site) evaluated model \(report.modelSha256.prefix(12)), not round \(round)'s model \(job.machine.globalModelSHA256.prefix(12)); the report is discarded")
        }
        let minCohort = Int(status.spec.evaluation.minCohort)
        try EvaluationReport.validate(report, from: site, minCohort: minCohort)

        var evaluation = Fedct_V1_SiteEvaluation()
        evaluation.site = site
        evaluation.metrics = report.metrics
        evaluation.counts = report.counts
        evaluation.suppressed = report.suppressed.sorted()
        evaluation.cohortSize = report.cohortSize
        evaluation.reportedUnixSeconds = Date().timeIntervalSince1970
        let index = status.evaluations.firstIndex { $0.round == report.round } ?? {
            var record = Fedct_V1_EvaluationRecord()
            record.round = report.round
            record.modelSha256 = report.modelSha256
            record.minCohort = Int32(minCohort)
            status.evaluations.append(record)
            return status.evaluations.count - 1
        }()
        // A site's report replaces one it sent before a coordinator restart redid the evaluation.
        status.evaluations[index].sites.removeAll { $0.site == site }
        status.evaluations[index].sites.append(evaluation)
        status.evaluations[index].pooled = EvaluationReport.pooled(status.evaluations[index].sites)
        try persist(&status)
        statuses[job.id] = status
        let actions = try job.machine.evaluationReported(from: site, round: round, now: now())
        active = job
        logger.info("evaluation received", metadata: ["job": "\(job.id)", "round": "\(round)", "site": "\(site)",
                                                      "metrics": "\(report.metrics.count)", "suppressed": "\(report.suppressed.count)"])
        perform(actions)
    }
}
