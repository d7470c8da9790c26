// ExperimentTask: the tasks of the experiment table — TTE's binary and time-to-event tasks, HLIP's finding and retrieval tasks, MEDFORM's few-shot tasks.
public import FedCTCore
import FedCTData
import FedCTTraining

/// One task the arms are scored on.
public struct ExperimentTask: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The code within `horizonDays` of the index time (unknown status left out): a logistic probe, AUROC.
        case binary(horizonDays: Double)
        /// Time to the code's first event, censored at the end of the record: a Cox probe, four survival metrics.
        case survival
        /// Whether the study's report states the finding (`LanguageImageEvaluation.states`): AUROC of the text tower's
        /// prompt pair (`zeroShot`) or of a logistic probe on the frozen image embeddings.
        case finding(LanguageImageEvaluation.Finding, zeroShot: Bool)
        /// Report→study retrieval within each site's held-out studies: recall at `cutoff`.
        case retrieval(cutoff: Int)
        /// MEDFORM's few-shot probe (`FewShotEvaluation`): over `FewShotEvaluation.folds` seeded draws of `shots`
        /// positive and `shots` negative train examples (of all sites pooled), a logistic probe on the frozen
        /// embeddings, scored on the held-out examples with a known label; each metric the mean over the draws.
        case fewShot(FewShotLabel, shots: Int)
    }

    /// Where a few-shot task's label comes from.
    public enum FewShotLabel: Sendable, Hashable {
        /// An outcome in the example's follow-up (unknown status left out), e.g. lung cancer within a year.
        case outcome(BinaryOutcome)
        /// A chest finding of the synthetic generator's ground truth (`SyntheticGroundTruth.findings`): the biomarker at
        /// or above the threshold its report states it at.
        case groundTruthFinding(String)

        /// The label's name in task names: the outcome's (`lung_cancer_12m`) or the finding's (`effusion`).
        public var name: String {
            switch self {
            case .outcome(let outcome): outcome.name
            case .groundTruthFinding(let finding): finding
            }
        }

        /// The task's code: the outcome's EHR code, or the finding's name.
        public var code: String {
            switch self {
            case .outcome(let outcome): outcome.code
            case .groundTruthFinding(let finding): finding
            }
        }
    }

    /// The row name: a binary outcome's name (`mortality_6m`) or the survival task's code (`DEATH`).
    public var name: String
    public var code: String
    public var kind: Kind

    /// A binary task of the evaluation (`BinaryOutcome.standard`).
    public static func binary(_ outcome: BinaryOutcome) -> ExperimentTask {
        ExperimentTask(name: outcome.name, code: outcome.code, kind: .binary(horizonDays: outcome.horizonDays))
    }

    /// A time-to-event task on `code`.
    public static func survival(_ code: String) -> ExperimentTask { ExperimentTask(name: code, code: code, kind: .survival) }

    /// The paper's eight binary tasks (mortality and readmission at 30/182/365 days, PE and PH within 365 days) and
    /// the four time-to-event tasks (`DEATH`, `PE`, `PH`, `READMISSION`).
    public static let paper: [ExperimentTask] = BinaryOutcome.standard.map(binary) + BinaryOutcome.survivalCodes.map(survival)

    /// HLIP's held-out tasks (issue 14): per chest finding the zero-shot AUROC of its prompt pair (`zero_shot_<finding>`)
    /// and the AUROC of a logistic probe on frozen image embeddings (`probe_<finding>`), report→study recall@1 and @5,
    /// and DEATH as a time-to-event task (an image encoder's embeddings predict survival or not, whatever its objective).
    public static let languageImage: [ExperimentTask] =
        LanguageImageEvaluation.chestFindings.map { ExperimentTask(name: zeroShotName($0), code: $0.name, kind: .finding($0, zeroShot: true)) }
        + LanguageImageEvaluation.chestFindings.map { ExperimentTask(name: "probe_" + $0.name, code: $0.name, kind: .finding($0, zeroShot: false)) }
        + EvaluationReport.recallCutoffs.map { ExperimentTask(name: "recall@\($0)", code: "", kind: .retrieval(cutoff: $0)) }
        + [survival("DEATH")]

    /// MEDFORM's held-out tasks (issue 16): few-shot probes with k = 1, 5, 10 per class on lung cancer within a year
    /// (`BinaryOutcome.lungCancer`, from the follow-up) and on the four chest findings of the generator's ground truth
    /// (`fewshot_<label>_k<k>`), and DEATH as a time-to-event task, on which every objective's encoder meets.
    public static let fewShotTasks: [ExperimentTask] =
        ([FewShotLabel.outcome(.lungCancer)] + SyntheticGroundTruth.findingNames.map(FewShotLabel.groundTruthFinding)).flatMap { label in
            EvaluationReport.fewShots.map { ExperimentTask(name: fewShotName(label, shots: $0), code: label.code, kind: .fewShot(label, shots: $0)) }
        } + [survival("DEATH")]

    /// The name of a few-shot task: `fewshot_<label>_k<k>`.
    public static func fewShotName(_ label: FewShotLabel, shots: Int) -> String { "fewshot_\(label.name)_k\(shots)" }

    /// The name of a finding's zero-shot task.
    public static func zeroShotName(_ finding: LanguageImageEvaluation.Finding) -> String { "zero_shot_" + finding.name }

    /// The metrics of the task, its headline (the paper's) first.
    public var metrics: [ExperimentMetric] {
        switch kind {
        case .binary, .finding: [.auroc]
        case .fewShot: [.auroc, .balancedAccuracy, .f1]
        case .survival: [.harrellC, .unoC, .timeDependentAUC, .integratedBrier]
        case .retrieval: [.recall]
        }
    }

    /// True for a task scored by a probe fit on the train examples' labels (binary outcomes, findings by linear probe).
    var isProbedClassification: Bool {
        switch kind {
        case .binary, .finding(_, zeroShot: false): true
        default: false
        }
    }

    /// AUROC for a binary task, Harrell's C for a time-to-event one: what the paper's relative gains are on.
    public var headline: ExperimentMetric { metrics[0] }

    /// A binary task's label from an example's follow-up (nil when the status at the horizon is unknown), a finding's
    /// from its report (nil without one); nil for other tasks.
    func label(of record: ExperimentRecord) -> Bool? {
        switch kind {
        case .binary(let horizon):
            BinaryOutcome(name: name, code: code, horizonDays: horizon).label(firstEventDays: record.firstEventDays, followUpDays: record.followUpDays)
        case .finding(let finding, _):
            record.report.map { LanguageImageEvaluation.states(finding, in: $0) }
        case .fewShot(.outcome(let outcome), _):
            outcome.label(firstEventDays: record.firstEventDays, followUpDays: record.followUpDays)
        case .fewShot(.groundTruthFinding(let finding), _):
            record.findings?.contains(finding)
        case .survival, .retrieval:
            nil
        }
    }
}

/// What the scorer keeps of an example: its follow-up, its report and its findings by the generator's ground truth.
struct ExperimentRecord: Sendable {
    var firstEventDays: [String: Double]
    var followUpDays: Double
    var report: String?
    /// The chest findings the example has by `ground_truth.csv` (nil without one, or when it has no row of the example).
    var findings: Set<String>?

    init(_ example: SiteExample, groundTruth: SyntheticGroundTruth? = nil) {
        firstEventDays = example.firstEventDays
        followUpDays = example.followUpDays
        report = example.report
        findings = groundTruth?.findings[example.scanID]
    }

    /// The observed (time, event) of `code`.
    func outcome(_ code: String) -> (days: Double, event: Bool) {
        if let day = firstEventDays[code], day <= followUpDays { return (day, true) }
        return (followUpDays, false)
    }
}
