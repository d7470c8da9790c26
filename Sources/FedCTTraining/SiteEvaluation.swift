// SiteEvaluation: a site's probes on frozen embeddings — logistic (AUROC) per binary outcome, Cox (Harrell's C) per TTE task — with the minimum cohort applied.
import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

/// Evaluates a trained encoder at one site: probes fitted on the site's training scans, scored on its held-out scans;
/// for an objective with a text tower (HLIP) also zero-shot finding AUROC and report→study retrieval on the held-out
/// studies (`LanguageImageEvaluation`); for an objective with few-shot labels (MEDFORM) also few-shot probes
/// (`FewShotEvaluation`) of its outcomes and of its report findings, a scan's finding as its own report states it
/// (a scan without a report has unknown status, so without reports these scores are suppressed).
///
/// Only metrics and their counts come out. A metric whose held-out scans, positives (events) or negatives fall below
/// `minCohort`, or whose probe cannot be fitted or scored (e.g. one class in the training scans), is left out and its
/// name listed in `suppressed`.
public enum SiteEvaluation {
    /// The report (metrics, counts, suppressed names, held-out cohort size) for `model` on `dataset`; the caller sets
    /// the job, round and model hash.
    public static func evaluate(model: TorchModel, trainer: LocalTrainer, dataset: SiteDataset, minCohort: Int, l2: Double) throws -> Fedct_V1_MetricsReport {
        var report = Fedct_V1_MetricsReport()
        report.cohortSize = Int64(dataset.heldout.count)
        let train = try trainer.embed(model, dataset.train)
        let heldout = try trainer.embed(model, dataset.heldout)
        func record(_ name: String, scans: Int, positives: Int, _ score: () throws -> Double?) {
            guard EvaluationReport.meetsMinimumCohort(scans: Int64(scans), positives: Int64(positives), minCohort: minCohort, name: name),
                  let value = try? score(), value.isFinite
            else {
                report.suppressed.append(name)
                return
            }
            report.metrics[name] = value
            var counts = Fedct_V1_MetricCounts()
            counts.scans = Int64(scans)
            counts.positives = Int64(positives)
            report.counts[name] = counts
        }
        for outcome in BinaryOutcome.standard {
            let trainLabels = dataset.train.map { outcome.label(firstEventDays: $0.firstEventDays, followUpDays: $0.followUpDays) }
            let heldoutLabels = dataset.heldout.map { outcome.label(firstEventDays: $0.firstEventDays, followUpDays: $0.followUpDays) }
            let known = heldoutLabels.indices.filter { heldoutLabels[$0] != nil }
            record(EvaluationReport.aurocName(outcome), scans: known.count, positives: known.filter { heldoutLabels[$0]! }.count) {
                let fitted = trainLabels.indices.filter { trainLabels[$0] != nil }
                let probe = try LogisticRegression.fit(features: fitted.map { train[$0] }, labels: fitted.map { trainLabels[$0]! }, l2: l2)
                return try AUROC.value(labels: known.map { heldoutLabels[$0]! }, scores: known.map { probe.logit(heldout[$0]) })
            }
        }
        for code in BinaryOutcome.survivalCodes {
            let trainOutcomes = dataset.train.map { $0.outcome(task: code) }
            let heldoutOutcomes = dataset.heldout.map { $0.outcome(task: code) }
            record(EvaluationReport.harrellName(code), scans: heldoutOutcomes.count, positives: heldoutOutcomes.filter(\.event).count) {
                let probe = try CoxRegression.fit(features: train, time: trainOutcomes.map(\.days), event: trainOutcomes.map(\.event), l2: l2)
                return ConcordanceIndex.harrell(time: heldoutOutcomes.map(\.days), event: heldoutOutcomes.map(\.event), risk: heldout.map(probe.risk))
            }
        }
        let objective = try? PretrainingObjectives.named(model.objective.name)
        var fewShotLabels: [(name: String, of: (SiteExample) -> Bool?)] = (objective?.fewShotOutcomes ?? []).map { outcome in
            (outcome.name, { outcome.label(firstEventDays: $0.firstEventDays, followUpDays: $0.followUpDays) })
        }
        fewShotLabels += (objective?.fewShotFindings ?? []).map { finding in (finding.name, { $0.report.map { LanguageImageEvaluation.states(finding, in: $0) } }) }
        for label in fewShotLabels {
            for score in FewShotEvaluation.scores(train: train, trainLabels: dataset.train.map(label.of), heldout: heldout,
                                                  heldoutLabels: dataset.heldout.map(label.of), label: label.name, l2: l2) {
                record(score.name, scans: score.scans, positives: score.positives) { score.value }
            }
        }
        if model.objective.reportTokens != nil {
            for metric in try LanguageImageEvaluation.metrics(model: model, trainer: trainer, heldout: dataset.heldout) {
                record(metric.name, scans: metric.studies, positives: metric.positives) { metric.value }
            }
        }
        return report
    }
}
