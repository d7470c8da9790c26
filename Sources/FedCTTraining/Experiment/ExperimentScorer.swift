// ExperimentScorer: the experiment table's scoring — one Cox probe per model on frozen embeddings, four metrics with bootstrap intervals.
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch
import Foundation

/// The metrics of the experiment table.
public enum ExperimentMetric: String, CaseIterable, Sendable {
    /// Harrell's C of the risk score.
    case harrellC = "harrell_c"
    /// Uno's C (inverse-probability-of-censoring weights), truncated at the cohort's horizon τ.
    case unoC = "uno_c"
    /// The integrated Brier score of the survival curves (lower is better), with Kaplan–Meier censoring weights.
    case integratedBrier = "integrated_brier"
    /// AUROC of the risk score for the outcome within one year, among patients whose one-year status is known.
    case auroc1y = "auroc_1y"

    /// The column title.
    public var title: String {
        switch self {
        case .harrellC: "Harrell's C"
        case .unoC: "Uno's C"
        case .integratedBrier: "IBS"
        case .auroc1y: "AUROC 1y"
        }
    }
}

/// One model's predictions for one task, over the pooled held-out patients.
public struct ExperimentPrediction: Sendable {
    /// How survival curves follow from the risk score.
    public enum Curve: Sendable {
        /// A Cox probe: S(t) = exp(−H₀(t)·e^risk).
        case cox(BreslowBaseline)
        /// The oracle's constant hazard: risk = ln λ (per year), S(t) = exp(−λ·t / 365.25 days).
        case exponential
    }

    /// The risk score of each pooled held-out patient (higher: earlier event).
    public var risk: [Double]
    public var curve: Curve

    /// P(T > `days`) for pooled held-out patient `row`.
    public func survival(atDays days: Double, row: Int) -> Double {
        switch curve {
        case .cox(let baseline): baseline.survival(at: days, risk: risk[row])
        case .exponential: exp(-exp(risk[row]) * days / TTELabeler.daysPerYear)
        }
    }
}

/// A group of held-out patients the table reports on.
public struct ExperimentCohort: Sendable {
    /// "pooled" or a site's name.
    public var name: String
    /// Indices into the pooled held-out patients.
    public var rows: [Int]
}

/// Fits the probes and computes the metrics; the same for every arm, so their numbers compare.
///
/// Probe: Cox regression (ridge 1 on standardised features, as `ProbeEvaluation`) on the embeddings of the pooled train
/// scans of all sites, with a Breslow baseline for survival curves. Cohorts: all sites' held-out scans pooled, and the
/// smallest site's (fewest scans). Per cohort and task the evaluation times are fixed from the cohort's observed
/// times: τ = their 80th percentile (nearest rank) (Uno's truncation), the IBS grid 10 evenly spaced times from the 10th to the 80th
/// percentile. Bootstrap resamples patients of the cohort; the resamples of a cohort, task and metric are the same
/// for every arm (one seeded stream), so arms are compared on the same draws.
public struct ExperimentScorer {
    public let spec: Fedct_V1_JobSpec
    public let tasks: [String]
    public let replicates: Int
    public let train: [SiteExample]
    public let heldout: [SiteExample]
    public let cohorts: [ExperimentCohort]
    public let smallestSiteName: String
    let trainer: LocalTrainer
    /// Cohort name → task → outcomes and evaluation times.
    let outcomes: [String: [String: CohortOutcomes]]

    /// The one-year horizon of the AUROC, in days.
    public static let aurocHorizonDays = 365.0

    /// Observed outcomes of one cohort for one task, and its evaluation times.
    struct CohortOutcomes {
        var rows: [Int]
        var time: [Double]
        var event: [Bool]
        var tau: Double
        var grid: [Double]
    }

    public init(spec: Fedct_V1_JobSpec, sites: [TTEExperiment.Site], tasks: [String], replicates: Int) throws {
        let train = sites.flatMap(\.dataset.train)
        for task in tasks where !train.contains(where: { $0.outcome(task: task).event }) {
            throw FedCTError(.invalidData, "no train scan has an event of \(task), so no probe can be fit; is \(task) a code of the sites' events (and tracked when the data were loaded)?")
        }
        self.spec = spec
        self.tasks = tasks
        self.replicates = replicates
        let heldout = sites.flatMap(\.dataset.heldout)
        self.heldout = heldout
        self.train = train
        trainer = LocalTrainer(training: spec.training)
        var start = 0
        var perSite: [ExperimentCohort] = []
        for site in sites {
            perSite.append(ExperimentCohort(name: site.name, rows: Array(start..<(start + site.dataset.heldout.count))))
            start += site.dataset.heldout.count
        }
        let sizes = sites.map { $0.dataset.train.count + $0.dataset.heldout.count }
        let smallest = sizes.indices.min { sizes[$0] < sizes[$1] }!
        smallestSiteName = sites[smallest].name
        cohorts = [ExperimentCohort(name: "pooled", rows: Array(heldout.indices))] + (sites.count > 1 ? [perSite[smallest]] : [])
        var outcomes: [String: [String: CohortOutcomes]] = [:]
        for cohort in cohorts {
            for task in tasks {
                let observed = cohort.rows.map { heldout[$0].outcome(task: task) }
                let sorted = observed.map(\.days).sorted()
                let low = sorted[Int((0.1 * Double(sorted.count - 1)).rounded())]
                let tau = sorted[Int((0.8 * Double(sorted.count - 1)).rounded())]
                let grid = (0..<10).map { low + (tau - low) * Double($0) / 9 }
                outcomes[cohort.name, default: [:]][task] = CohortOutcomes(rows: cohort.rows, time: observed.map(\.days), event: observed.map(\.event),
                                                                           tau: tau, grid: grid)
            }
        }
        self.outcomes = outcomes
    }

    /// The Cox probe's predictions of `model` for each task: fit on the pooled train embeddings, applied to the held-out ones.
    public func predictions(of model: TorchModel) throws -> [String: ExperimentPrediction] {
        let trainFeatures = try trainer.embed(model, train)
        let heldoutFeatures = try trainer.embed(model, heldout)
        var result: [String: ExperimentPrediction] = [:]
        for task in tasks {
            let observed = train.map { $0.outcome(task: task) }
            let time = observed.map(\.days)
            let event = observed.map(\.event)
            let cox = try CoxRegression.fit(features: trainFeatures, time: time, event: event)
            let baseline = try cox.breslowBaseline(features: trainFeatures, time: time, event: event)
            result[task] = ExperimentPrediction(risk: heldoutFeatures.map(cox.risk), curve: .cox(baseline))
        }
        return result
    }

    /// The oracle's predictions: each held-out scan's true hazard from the generator's ground truth.
    public func oraclePredictions(_ truth: SyntheticGroundTruth) throws -> [String: ExperimentPrediction] {
        var result: [String: ExperimentPrediction] = [:]
        for task in tasks {
            result[task] = ExperimentPrediction(risk: try heldout.map { log(try truth.hazard(code: task, scanID: $0.scanID)) }, curve: .exponential)
        }
        return result
    }

    /// Patients and events of `cohort` for `task`.
    public func counts(cohort: String, task: String) -> (patients: Int, events: Int) {
        let observed = outcomes[cohort]![task]!
        return (observed.time.count, observed.event.filter { $0 }.count)
    }

    /// `metric` of `prediction` on `cohort` with its 95 % percentile bootstrap interval over the cohort's patients.
    public func interval(_ metric: ExperimentMetric, _ prediction: ExperimentPrediction, cohort: String, task: String) throws -> BootstrapInterval {
        let observed = outcomes[cohort]![task]!
        let scored = Scored(prediction, observed, metric)
        var generator = SeededGenerator(seed: spec.seed, stream: "experiment bootstrap \(cohort) \(task) \(metric.rawValue)")
        return try Bootstrap.percentileInterval(rows: observed.rows.count, replicates: replicates, generator: &generator) { try scored.value($0) }
    }

    /// `metric` of `a` minus that of `b` on `cohort`, with a paired bootstrap interval (both on the same resamples).
    public func difference(_ metric: ExperimentMetric, _ a: ExperimentPrediction, _ b: ExperimentPrediction, cohort: String, task: String) throws -> BootstrapInterval {
        let observed = outcomes[cohort]![task]!
        let (first, second) = (Scored(a, observed, metric), Scored(b, observed, metric))
        var generator = SeededGenerator(seed: spec.seed, stream: "experiment bootstrap \(cohort) \(task) \(metric.rawValue)")
        return try Bootstrap.percentileInterval(rows: observed.rows.count, replicates: replicates, generator: &generator) {
            try first.value($0) - second.value($0)
        }
    }

    /// One metric of one prediction on one cohort, with what the resamples reuse (risks, and survival at the IBS grid).
    struct Scored {
        let metric: ExperimentMetric
        let observed: CohortOutcomes
        /// Risk of each patient of the cohort.
        let risk: [Double]
        /// Survival of each patient of the cohort at each grid time (IBS only).
        let survival: [[Double]]

        init(_ prediction: ExperimentPrediction, _ observed: CohortOutcomes, _ metric: ExperimentMetric) {
            self.metric = metric
            self.observed = observed
            risk = observed.rows.map { prediction.risk[$0] }
            survival = metric == .integratedBrier ? observed.rows.map { row in observed.grid.map { prediction.survival(atDays: $0, row: row) } } : []
        }

        /// The metric on the cohort's patients at `indices` (positions in the cohort, repeats allowed).
        func value(_ indices: [Int]) throws -> Double {
            let time = indices.map { observed.time[$0] }
            let event = indices.map { observed.event[$0] }
            let risk = indices.map { self.risk[$0] }
            switch metric {
            case .harrellC:
                return try ConcordanceIndex.harrellConcordance(time: time, event: event, risk: risk).value
            case .unoC:
                return try ConcordanceIndex.uno(time: time, event: event, risk: risk, tau: observed.tau).value
            case .integratedBrier:
                return try BrierScore.integrated(time: time, event: event, survival: indices.map { survival[$0] }, at: observed.grid)
            case .auroc1y:
                let horizon = ExperimentScorer.aurocHorizonDays
                let known = time.indices.filter { (event[$0] && time[$0] <= horizon) || time[$0] > horizon }
                return try AUROC.value(labels: known.map { event[$0] && time[$0] <= horizon }, scores: known.map { risk[$0] })
            }
        }
    }
}
