// ExperimentMetric: the metrics of the experiment tables (FedCTExperiment), which the few-shot probes of the site evaluation report too.

/// The metrics of the experiment tables; `FewShotEvaluation` reports three of them.
public enum ExperimentMetric: String, CaseIterable, Sendable {
    /// AUROC of a binary task's logistic probe, among held-out patients whose status at the horizon is known.
    case auroc
    /// Harrell's C of the Cox probe's risk score.
    case harrellC = "harrell_c"
    /// Uno's C (inverse-probability-of-censoring weights), truncated at the cohort's τ.
    case unoC = "uno_c"
    /// The mean cumulative/dynamic AUC over the cohort's evaluation times (scikit-survival's `cumulative_dynamic_auc`).
    case timeDependentAUC = "td_auc"
    /// The integrated Brier score of the Cox probe's survival curves (lower is better), Kaplan–Meier censoring weights.
    case integratedBrier = "integrated_brier"
    /// Report→study retrieval: the share of held-out reports whose own study ranks within the task's cutoff among the
    /// held-out studies of the report's site.
    case recall
    /// A few-shot probe's balanced accuracy at log-odds 0, its mean over the draws (MEDFORM's evaluation).
    case balancedAccuracy = "balanced_accuracy"
    /// A few-shot probe's F1 at log-odds 0, its mean over the draws (MEDFORM's evaluation).
    case f1

    /// The column title.
    public var title: String {
        switch self {
        case .auroc: "AUROC"
        case .harrellC: "Harrell's C"
        case .unoC: "Uno's C"
        case .timeDependentAUC: "td-AUC"
        case .integratedBrier: "IBS"
        case .recall: "recall"
        case .balancedAccuracy: "bal. acc."
        case .f1: "F1"
        }
    }

    /// False for the IBS, where lower is better.
    public var higherIsBetter: Bool { self != .integratedBrier }
}
