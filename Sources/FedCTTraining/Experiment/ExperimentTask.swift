// ExperimentTask: the tasks and metrics of the experiment table — the paper's eight binary tasks and the time-to-event tasks.
public import FedCTCore

/// The metrics of the experiment table.
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

    /// The column title.
    public var title: String {
        switch self {
        case .auroc: "AUROC"
        case .harrellC: "Harrell's C"
        case .unoC: "Uno's C"
        case .timeDependentAUC: "td-AUC"
        case .integratedBrier: "IBS"
        }
    }

    /// False for the IBS, where lower is better.
    public var higherIsBetter: Bool { self != .integratedBrier }
}

/// One task the arms are scored on.
public struct ExperimentTask: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The code within `horizonDays` of the index time (unknown status left out): a logistic probe, AUROC.
        case binary(horizonDays: Double)
        /// Time to the code's first event, censored at the end of the record: a Cox probe, four survival metrics.
        case survival
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

    /// The metrics of the task, its headline (the paper's) first.
    public var metrics: [ExperimentMetric] {
        switch kind {
        case .binary: [.auroc]
        case .survival: [.harrellC, .unoC, .timeDependentAUC, .integratedBrier]
        }
    }

    /// AUROC for a binary task, Harrell's C for a time-to-event one: what the paper's relative gains are on.
    public var headline: ExperimentMetric { metrics[0] }

    /// A binary task's label from a scan's follow-up: true/false, nil when the status at the horizon is unknown.
    func label(firstEventDays: [String: Double], followUpDays: Double) -> Bool? {
        guard case .binary(let horizon) = kind else { return nil }
        return BinaryOutcome(name: name, code: code, horizonDays: horizon).label(firstEventDays: firstEventDays, followUpDays: followUpDays)
    }
}
