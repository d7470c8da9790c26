// EvaluationReport: the metric names an evaluation report may carry, the minimum-cohort rule, the coordinator's checks and pooling.
public import FedCTProto

/// What a site's evaluation report may say, and how the coordinator combines the reports of several sites.
public enum EvaluationReport {
    /// `auroc/<outcome>`: AUROC of the logistic probe for a binary outcome.
    public static func aurocName(_ outcome: BinaryOutcome) -> String { "auroc/\(outcome.name)" }
    /// `harrell_c/<code>`: Harrell's C of the Cox probe for a time-to-event task.
    public static func harrellName(_ code: String) -> String { "harrell_c/\(code)" }

    /// `zeroshot_auroc/<finding>`: AUROC of a language–image model's zero-shot classification of a report finding.
    public static func zeroShotName(_ finding: String) -> String { "zeroshot_auroc/\(finding)" }
    /// `recall_at_<k>/report_to_study`: share of held-out reports whose own study ranks in the top k of all held-out studies.
    public static func recallName(_ cutoff: Int) -> String { "recall_at_\(cutoff)/report_to_study" }
    /// The findings a language–image objective is scored on zero-shot, and its retrieval cut-offs.
    public static let zeroShotFindings = ["effusion", "emphysema", "nodule_mass", "cardiomegaly"]
    public static let recallCutoffs = [1, 5]

    /// `fewshot_<metric>/<label>/k<k>`: a few-shot probe's score (`auroc`, `balanced_accuracy` or `f1`) for a label — an
    /// outcome's name (`BinaryOutcome.name`) or a report finding's (`fewShotFindings`) — its mean over seeded folds of k
    /// training scans per class.
    public static func fewShotName(_ metric: String, _ label: String, shots: Int) -> String { "fewshot_\(metric)/\(label)/k\(shots)" }
    /// The few-shot probes' scores, their outcomes and shots (MEDFORM's evaluation, as the paper's).
    public static let fewShotMetrics = ["auroc", "balanced_accuracy", "f1"]
    public static let fewShotOutcomes = [BinaryOutcome.lungCancer]
    public static let fewShots = [1, 5, 10]
    /// The report findings a MEDFORM site also scores by few-shot probes, labelled from its own reports as the zero-shot
    /// evaluation labels them (the same four findings).
    public static let fewShotFindings = zeroShotFindings
    /// The labels of the few-shot probes: the outcomes' names, then the findings.
    public static let fewShotLabels = fewShotOutcomes.map(\.name) + fewShotFindings

    /// The few-shot scores of one label, by k then metric.
    public static func fewShotLabelNames(_ label: String) -> [String] {
        fewShots.flatMap { shots in fewShotMetrics.map { fewShotName($0, label, shots: shots) } }
    }

    /// The probes' metrics, which every site reports (values or suppressed) for every objective: binary outcomes in the
    /// order of `BinaryOutcome.standard`, then the time-to-event tasks.
    public static let probeNames = BinaryOutcome.standard.map(aurocName) + BinaryOutcome.survivalCodes.map(harrellName)
    /// A language–image objective's zero-shot and retrieval scores, reported besides the probes' by its sites.
    public static let languageImageNames = zeroShotFindings.map(zeroShotName) + recallCutoffs.map(recallName)
    /// A MEDFORM objective's few-shot scores, reported besides the probes' by its sites.
    public static let fewShotNames = fewShotLabels.flatMap(fewShotLabelNames)
    /// Every metric name a report may carry (values or suppressed): the probes', the language–image and the few-shot scores.
    public static let orderedNames = probeNames + languageImageNames + fewShotNames
    /// The same names as a set.
    public static let names = Set(orderedNames)

    /// A metric may leave the site only when its held-out scans, positives (events) and negatives each reach `minCohort`;
    /// a retrieval recall (`recallName`, where every query has its one right answer) when its scans do.
    public static func meetsMinimumCohort(scans: Int64, positives: Int64, minCohort: Int, name: String = "") -> Bool {
        let least = Int64(minCohort)
        if isRetrieval(name) { return scans >= least }
        return scans >= least && positives >= least && scans - positives >= least
    }

    /// True for the retrieval recalls, whose counts are queries rather than positives and negatives.
    public static func isRetrieval(_ name: String) -> Bool { name.hasSuffix("/report_to_study") }

    /// The minimum cohort a site applies: the job's, or the site's own policy when that is larger.
    public static func effectiveMinimumCohort(job: Fedct_V1_EvaluationSpec, site: Int?) -> Int {
        max(Int(job.minCohort), site ?? 0, 1)
    }

    /// The coordinator's checks of a report from `site` against the job's minimum cohort: known metric names, a finite
    /// value in [0, 1] and counts at or above the minimum for every metric, suppressed names known and not also valued.
    public static func validate(_ report: Fedct_V1_MetricsReport, from site: String, minCohort: Int) throws {
        func refuse(_ problem: String) -> FedCTError {
            FedCTError(.invalidData, "\(site)'s evaluation report for job \(report.jobID) round \(report.round) \(problem); the report is discarded")
        }
        guard report.cohortSize >= 0 else { throw refuse("has a negative cohort_size \(report.cohortSize)") }
        for (name, value) in report.metrics.sorted(by: { $0.key < $1.key }) {
            guard names.contains(name) else { throw refuse("names an unknown metric '\(name)' (known: \(names.sorted().joined(separator: ", ")))") }
            guard value.isFinite, (0...1).contains(value) else { throw refuse("has \(name) = \(value), outside [0, 1]") }
            guard let counts = report.counts[name] else { throw refuse("has no counts for \(name)") }
            guard counts.positives >= 0, counts.scans <= report.cohortSize else {
                throw refuse("has counts for \(name) (\(counts.scans) scans, \(counts.positives) positives) that do not fit its cohort of \(report.cohortSize)")
            }
            guard meetsMinimumCohort(scans: counts.scans, positives: counts.positives, minCohort: minCohort, name: name) else {
                throw refuse("has \(name) on \(counts.scans) scans with \(counts.positives) positives, below the job's minimum cohort of \(minCohort)")
            }
        }
        for name in report.counts.keys where report.metrics[name] == nil {
            throw refuse("has counts for \(name) but no value")
        }
        for name in report.suppressed {
            guard names.contains(name) else { throw refuse("suppresses an unknown metric '\(name)'") }
            guard report.metrics[name] == nil else { throw refuse("both reports and suppresses \(name)") }
        }
    }

    /// Each metric over the sites that reported it: the mean of their values weighted by their held-out scans, with the
    /// summed counts. (An exact pooled AUROC or C-index needs every prediction, which never leaves a site.)
    public static func pooled(_ sites: [Fedct_V1_SiteEvaluation]) -> [Fedct_V1_PooledMetric] {
        var pooled: [String: Fedct_V1_PooledMetric] = [:]
        var weighted: [String: Double] = [:]
        for site in sites {
            for (name, value) in site.metrics {
                let counts = site.counts[name] ?? Fedct_V1_MetricCounts()
                var metric = pooled[name] ?? Fedct_V1_PooledMetric()
                metric.name = name
                metric.scans += counts.scans
                metric.positives += counts.positives
                metric.sites += 1
                pooled[name] = metric
                weighted[name, default: 0] += value * Double(counts.scans)
            }
        }
        return pooled.keys.sorted().map { name in
            var metric = pooled[name]!
            metric.value = metric.scans > 0 ? weighted[name]! / Double(metric.scans) : 0
            return metric
        }
    }
}
