// SiteAgent+Evaluation: an EVALUATE task — fetch the model, fit and score the probes on local data, report metrics and counts only.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTraining
import Foundation

extension SiteAgent {
    /// Checks the job against the site's policy first (a site that refused to train a job reports nothing about it), then
    /// embeds the site's scans with the task's model (its own normalisation layers under FedBN), fits the job's probes on the
    /// training scans, scores them on the held-out scans and sends the metrics whose cohorts reach the larger of the job's
    /// and this site's minimum cohort (through the link, so the report is in the egress ledger before it leaves).
    func evaluate(_ task: Fedct_V1_Task) async throws {
        let spec = task.spec
        let started = ContinuousClock.now
        try checkPolicy(spec)
        let dataset = try dataset(for: spec)
        let blob = try await withRetries("fetch model") { try await link.fetchModel(sha256: task.modelSha256, expectedBytes: task.modelBytes) }
        let base = try SafeTensors.decode(blob, source: "global model \(task.modelSha256.prefix(12))")
        let model = try model(for: spec)
        try model.load(try withLocalLayers(base, task: task).state, source: "global model \(task.modelSha256.prefix(12))")
        let minCohort = EvaluationReport.effectiveMinimumCohort(job: spec.evaluation, site: config.minCohort)
        var trainer = LocalTrainer(training: spec.training)
        if let text = try textEncoder(for: task) { trainer.tokenizer = .wordPiece(text.tokenizer) }
        var report = try await offThePool(task) {
            try SiteEvaluation.evaluate(model: model, trainer: trainer, dataset: dataset, minCohort: minCohort, l2: spec.evaluation.l2)
        }
        report.jobID = task.jobID
        report.round = task.round
        report.modelSha256 = task.modelSha256
        try await link.reportMetrics(report)
        logger.info("evaluation reported", metadata: [
            "job": "\(task.jobID)", "round": "\(task.round)", "metrics": "\(report.metrics.count)", "suppressed": "\(report.suppressed.count)",
            "min_cohort": "\(minCohort)", "seconds": "\((ContinuousClock.now - started).components.seconds)",
        ])
    }
}
