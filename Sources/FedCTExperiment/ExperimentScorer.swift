// ExperimentScorer: the experiment table's scoring — probes on frozen embeddings per task, metrics by a two-level bootstrap.
public import FedCTCore
public import FedCTData
import FedCTTraining
import Foundation
import Synchronization

/// One model's predictions for one task, over the pooled held-out patients.
public struct ExperimentPrediction: Sendable {
    /// How survival curves follow from the risk score.
    public enum Curve: Sendable {
        /// A Cox probe: S(t) = exp(−H₀(t)·e^risk).
        case cox(BreslowBaseline)
        /// The oracle's constant hazard: risk = ln λ (per year), S(t) = exp(−λ·t / 365.25 days).
        case exponential
        /// A binary task's logistic probe: no survival curve.
        case binary
    }

    /// The score of each pooled held-out patient (higher: earlier event, or the outcome more likely).
    public var risk: [Double]
    public var curve: Curve
    /// A few-shot task's log-odds of each draw's probe (each the length of `risk`, which is their mean); its metrics
    /// are the means over the draws. Empty for other tasks.
    public var draws: [[Double]] = []

    /// P(T > `days`) for pooled held-out patient `row` (1 for a binary probe, which has no curve).
    public func survival(atDays days: Double, row: Int) -> Double {
        switch curve {
        case .cox(let baseline): baseline.survival(at: days, risk: risk[row])
        case .exponential: exp(-exp(risk[row]) * days / TTELabeler.daysPerYear)
        case .binary: 1
        }
    }
}

/// One model's predictions for every task it could be probed on, and why the others are missing.
public struct ExperimentPredictions: Sendable {
    public var byTask: [String: ExperimentPrediction] = [:]
    public var notes: [String: String] = [:]

    public init() {}
}

/// A group of held-out patients the table reports on.
public struct ExperimentCohort: Sendable {
    /// "pooled" or a site's name.
    public var name: String
    /// Indices into the pooled held-out patients.
    public var rows: [Int]
}

/// Which cohort, task and metric a bootstrap sample belongs to.
public struct ExperimentScoreKey: Sendable, Hashable {
    public var cohort: String
    public var task: String
    public var metric: ExperimentMetric
}

/// Fits the probes and computes the metrics; the same for every arm, so their numbers compare.
///
/// Probes, on the embeddings of the pooled train examples of all sites: per binary task an L2 logistic regression
/// (`LogisticRegression`, λ = 1, standardised features) on the examples whose status at the horizon is known, and per
/// finding task scored by probe the same on the findings their reports state; per time-to-event task a Cox regression
/// (ridge 1, standardised) with a Breslow baseline. Zero-shot and retrieval tasks fit nothing: they score the text
/// tower's similarities (`LanguageImageEvaluation.Scores`), AUROC and recall@k. Cohorts: all sites' held-out
/// scans pooled, and each site's. Per cohort and survival task the evaluation times are fixed from the cohort's
/// observed times: τ = their 80th percentile (nearest rank) (Uno's truncation), and 10 evenly spaced times from the
/// 10th to the 80th percentile (IBS and the time-dependent AUC). Intervals: one ``TwoLevelBootstrap`` plan per cohort,
/// seeded from the job's seed and the cohort's name, shared by every arm, task and metric — so differences between
/// arms and gains averaged over tasks are paired.
public struct ExperimentScorer: Sendable {
    public let tasks: [ExperimentTask]
    public let seeds: Int
    public let cohorts: [ExperimentCohort]
    /// The site with the fewest scans (nil with one site).
    public let smallestSiteName: String?
    /// Pooled train examples' follow-up and reports.
    let train: [ExperimentRecord]
    let heldoutScanIDs: [String]
    /// Cohort name → task name → outcomes and evaluation times.
    let outcomes: [String: [String: CohortOutcomes]]
    let plans: [String: TwoLevelBootstrap]

    /// Observed outcomes of one cohort for one task, and its evaluation times.
    struct CohortOutcomes: Sendable {
        var rows: [Int]
        var time: [Double]
        var event: [Bool]
        /// Binary and finding tasks: the status at the horizon or the report's statement (nil unknown).
        var label: [Bool?]
        var tau: Double
        var grid: [Double]
    }

    /// `groundTruth` labels the few-shot tasks on the generator's findings (without it they are undefined).
    public init(sites: [PretrainingExperiment.Site], tasks: [ExperimentTask], seeds: Int, replicates: Int, seed: UInt64,
                groundTruth: SyntheticGroundTruth? = nil) throws {
        self.tasks = tasks
        self.seeds = seeds
        train = sites.flatMap(\.dataset.train).map { ExperimentRecord($0, groundTruth: groundTruth) }
        let heldout = sites.flatMap(\.dataset.heldout)
        heldoutScanIDs = heldout.map(\.scanID)
        var start = 0
        var perSite: [ExperimentCohort] = []
        for site in sites {
            perSite.append(ExperimentCohort(name: site.name, rows: Array(start..<(start + site.dataset.heldout.count))))
            start += site.dataset.heldout.count
        }
        let sizes = sites.map { $0.dataset.train.count + $0.dataset.heldout.count }
        smallestSiteName = sites.count > 1 ? sites[sizes.indices.min { sizes[$0] < sizes[$1] }!].name : nil
        cohorts = [ExperimentCohort(name: "pooled", rows: Array(heldout.indices))] + (sites.count > 1 ? perSite : [])
        var outcomes: [String: [String: CohortOutcomes]] = [:]
        var plans: [String: TwoLevelBootstrap] = [:]
        for cohort in cohorts {
            for task in tasks {
                let observed = cohort.rows.map { heldout[$0].outcome(task: task.code) }
                let sorted = observed.map(\.days).sorted()
                let low = sorted[Int((0.1 * Double(sorted.count - 1)).rounded())]
                let tau = sorted[Int((0.8 * Double(sorted.count - 1)).rounded())]
                outcomes[cohort.name, default: [:]][task.name] = CohortOutcomes(
                    rows: cohort.rows, time: observed.map(\.days), event: observed.map(\.event),
                    label: cohort.rows.map { task.label(of: ExperimentRecord(heldout[$0], groundTruth: groundTruth)) },
                    tau: tau, grid: (0..<10).map { low + (tau - low) * Double($0) / 9 })
            }
            var generator = SeededGenerator(seed: seed, stream: "experiment bootstrap \(cohort.name)")
            plans[cohort.name] = try TwoLevelBootstrap(seeds: seeds, patients: cohort.rows.count, replicates: replicates, generator: &generator)
        }
        self.outcomes = outcomes
        self.plans = plans
    }

    /// The probes' predictions from one model's embeddings of the pooled train and held-out examples (in site order);
    /// zero-shot and retrieval tasks take their scores from `languageImage` (the held-out studies' scores by the model's
    /// text tower, see `LanguageImageEvaluation.scores`), and are noted as undefined without it.
    public func predictions(trainFeatures: [[Double]], heldoutFeatures: [[Double]], languageImage: LanguageImageEvaluation.Scores? = nil) -> ExperimentPredictions {
        var result = ExperimentPredictions()
        for task in tasks {
            do {
                switch task.kind {
                case .binary, .finding(_, zeroShot: false):
                    let labelled = train.indices.compactMap { row in task.label(of: train[row]).map { (row, $0) } }
                    let positives = labelled.filter { $0.1 }.count
                    guard positives > 0, positives < labelled.count else {
                        throw FedCTError(.invalidData, "\(positives) of the \(labelled.count) train examples with a known status are positive; no probe")
                    }
                    let probe = try LogisticRegression.fit(features: labelled.map { trainFeatures[$0.0] }, labels: labelled.map { $0.1 })
                    result.byTask[task.name] = ExperimentPrediction(risk: heldoutFeatures.map(probe.logit), curve: .binary)
                case .finding(let finding, zeroShot: true):
                    guard let scores = languageImage?.zeroShot[finding.name] else { throw Self.noTextTower }
                    result.byTask[task.name] = ExperimentPrediction(risk: scores, curve: .binary)
                case .retrieval(let cutoff):
                    guard let ranks = languageImage?.ranks else { throw Self.noTextTower }
                    result.byTask[task.name] = ExperimentPrediction(risk: ranks.map { $0 < cutoff ? 1 : 0 }, curve: .binary)
                case .fewShot(let label, let shots):
                    result.byTask[task.name] = try fewShotPrediction(label: label, shots: shots, task: task, trainFeatures: trainFeatures, heldoutFeatures: heldoutFeatures)
                case .survival:
                    let time = train.map { $0.outcome(task.code).days }
                    let event = train.map { $0.outcome(task.code).event }
                    guard event.contains(true) else {
                        throw FedCTError(.invalidData, "no train scan has an event of \(task.code); is it a code of the sites' events?")
                    }
                    let cox = try CoxRegression.fit(features: trainFeatures, time: time, event: event)
                    let baseline = try cox.breslowBaseline(features: trainFeatures, time: time, event: event)
                    result.byTask[task.name] = ExperimentPrediction(risk: heldoutFeatures.map(cox.risk), curve: .cox(baseline))
                }
            } catch {
                result.notes[task.name] = (error as? FedCTError)?.message ?? "\(error)"
            }
        }
        return result
    }

    /// The oracle's predictions: each held-out scan's true hazard of the task's code from the generator's ground truth
    /// (for a binary task the hazard ranks patients as the true probability of the event by the horizon does).
    public func oraclePredictions(_ truth: SyntheticGroundTruth) -> ExperimentPredictions {
        var result = ExperimentPredictions()
        for task in tasks {
            do {
                let risk = try heldoutScanIDs.map { log(try truth.hazard(code: task.code, scanID: $0)) }
                result.byTask[task.name] = ExperimentPrediction(risk: risk, curve: task.kind == .survival ? .exponential : .binary)
            } catch {
                result.notes[task.name] = (error as? FedCTError)?.message ?? "\(error)"
            }
        }
        return result
    }

    /// Patients and events (binary and finding tasks: patients with a known status and positives; retrieval: the
    /// queries, twice) of `cohort` for `task`.
    public func counts(cohort: String, task: ExperimentTask) -> (patients: Int, events: Int) {
        let observed = outcomes[cohort]![task.name]!
        switch task.kind {
        case .binary, .finding, .fewShot: return (observed.label.compactMap { $0 }.count, observed.label.filter { $0 == true }.count)
        case .survival: return (observed.time.count, observed.event.filter { $0 }.count)
        case .retrieval: return (observed.rows.count, observed.rows.count)
        }
    }

    /// Every cohort × task × metric of one arm, from its predictions per seed (all seeds must have the task), on the
    /// cohort's two-level bootstrap plan; computed in parallel over cohort, task and metric.
    public func samples(perSeed predictions: [ExperimentPredictions]) -> [ExperimentScoreKey: BootstrapSamples] {
        let work = cohorts.flatMap { cohort in
            tasks.flatMap { task -> [(ExperimentScoreKey, [ExperimentPrediction])] in
                let seeds = predictions.compactMap { $0.byTask[task.name] }
                guard seeds.count == predictions.count else { return [] }
                return task.metrics.map { (ExperimentScoreKey(cohort: cohort.name, task: task.name, metric: $0), seeds) }
            }
        }
        let results = Mutex<[ExperimentScoreKey: BootstrapSamples]>([:])
        DispatchQueue.concurrentPerform(iterations: work.count) { index in
            let (key, seeds) = work[index]
            let observed = outcomes[key.cohort]![key.task]!
            let scored = seeds.map { Scored($0, observed, key.metric) }
            let samples = plans[key.cohort]!.samples { seed, patients in try scored[seed].value(patients) }
            results.withLock { $0[key] = samples }
        }
        return results.withLock { $0 }
    }

    static let noTextTower = FedCTError(.invalidConfiguration, "the encoder has no text tower (zero-shot and retrieval need one)")

    /// One metric of one prediction on one cohort, with what the resamples reuse (risks, and survival at the grid).
    struct Scored {
        let metric: ExperimentMetric
        let observed: CohortOutcomes
        /// Risk of each patient of the cohort.
        let risk: [Double]
        /// Survival of each patient of the cohort at each grid time (IBS only).
        let survival: [[Double]]
        /// Each few-shot draw's risk of each patient of the cohort (empty for other tasks).
        let draws: [[Double]]

        init(_ prediction: ExperimentPrediction, _ observed: CohortOutcomes, _ metric: ExperimentMetric) {
            self.metric = metric
            self.observed = observed
            risk = observed.rows.map { prediction.risk[$0] }
            draws = prediction.draws.map { draw in observed.rows.map { draw[$0] } }
            survival = metric == .integratedBrier ? observed.rows.map { row in observed.grid.map { prediction.survival(atDays: $0, row: row) } } : []
        }

        /// The metric on the cohort's patients at `indices` (positions in the cohort, repeats allowed).
        func value(_ indices: [Int]) throws -> Double {
            let time = { indices.map { observed.time[$0] } }
            let event = { indices.map { observed.event[$0] } }
            let risk = { indices.map { self.risk[$0] } }
            if !draws.isEmpty {
                let known = indices.filter { observed.label[$0] != nil }
                let labels = known.map { observed.label[$0]! }
                let values = try draws.map { draw in try FewShotEvaluation.metric(metric, labels: labels, logits: known.map { draw[$0] }) }
                return values.reduce(0, +) / Double(values.count)
            }
            switch metric {
            case .auroc:
                let known = indices.filter { observed.label[$0] != nil }
                return try AUROC.value(labels: known.map { observed.label[$0]! }, scores: known.map { self.risk[$0] })
            case .harrellC:
                return try ConcordanceIndex.harrellConcordance(time: time(), event: event(), risk: risk()).value
            case .unoC:
                return try ConcordanceIndex.uno(time: time(), event: event(), risk: risk(), tau: observed.tau).value
            case .timeDependentAUC:
                return try TimeDependentAUC.cumulativeDynamic(time: time(), event: event(), risk: risk(), at: observed.grid).mean
            case .integratedBrier:
                return try BrierScore.integrated(time: time(), event: event(), survival: indices.map { survival[$0] }, at: observed.grid)
            case .recall:
                guard !indices.isEmpty else { throw FedCTError(.invalidData, "no held-out study to retrieve") }
                return risk().reduce(0, +) / Double(indices.count)
            case .balancedAccuracy, .f1:
                throw FedCTError(.invalidConfiguration, "\(metric.rawValue) is a few-shot metric; this task has no few-shot draws")
            }
        }
    }
}

extension ExperimentScorer {
    /// A few-shot task's prediction: for each of `FewShotEvaluation.folds` draws (seeded as a site's few-shot
    /// evaluation seeds them), `shots` positive and `shots` negative train examples of all sites with a known label, a
    /// logistic probe (λ = 1) on their embeddings, and its log-odds on every held-out example.
    func fewShotPrediction(label: ExperimentTask.FewShotLabel, shots: Int, task: ExperimentTask, trainFeatures: [[Double]],
                           heldoutFeatures: [[Double]]) throws -> ExperimentPrediction {
        let labels = train.map { task.label(of: $0) }
        let positives = labels.indices.filter { labels[$0] == true }, negatives = labels.indices.filter { labels[$0] == false }
        guard positives.count >= shots, negatives.count >= shots else {
            let why = if case .groundTruthFinding = label, train.allSatisfy({ $0.findings == nil }) { " (no --ground-truth, or it has no row of these scans)" } else { "" }
            throw FedCTError(.invalidData, "\(positives.count) positive and \(negatives.count) negative train examples, fewer than k = \(shots) of a class\(why)")
        }
        let draws = try (0..<FewShotEvaluation.folds).map { fold in
            let rows = FewShotEvaluation.draw(fold: fold, stream: "\(label.name)-k\(shots)", positives: positives, negatives: negatives, shots: shots)
            let probe = try LogisticRegression.fit(features: rows.map { trainFeatures[$0] }, labels: rows.map { labels[$0]! })
            return heldoutFeatures.map(probe.logit)
        }
        let mean = heldoutFeatures.indices.map { row in draws.map { $0[row] }.reduce(0, +) / Double(draws.count) }
        return ExperimentPrediction(risk: mean, curve: .binary, draws: draws)
    }

    /// Harrell's C of `prediction` on all pooled held-out patients (the learning curves' value).
    public func pooledHarrellC(_ prediction: ExperimentPrediction, task: ExperimentTask) throws -> Double {
        try Scored(prediction, outcomes["pooled"]![task.name]!, .harrellC).value(Array(cohorts[0].rows.indices))
    }
}
