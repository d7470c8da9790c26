// ExperimentTable: the experiment's results — rows per arm × cohort × task × metric, relative gains, paired differences, checks.
public import FedCTCore
import FedCTTraining
import Foundation

/// One metric of one arm on one cohort and task.
public struct ExperimentRow: Sendable, Equatable {
    public var arm: String
    public var cohort: String
    public var task: String
    public var metric: ExperimentMetric
    /// The mean over seeds and its 95 % two-level bootstrap interval; nil when undefined (see `note`).
    public var interval: BootstrapInterval?
    /// Patients and events (binary tasks: patients with a known status, and positives).
    public var patients: Int
    public var events: Int
    /// Why the metric is missing (e.g. no held-out patient with a known status had the outcome).
    public var note: String?
}

/// A trained (or loaded) arm and the seconds its training took over all seeds (0 for random init, pre-trained models, oracle).
public struct ExperimentArm: Sendable, Equatable {
    public var label: String
    public var trainingSeconds: Double
}

/// One of the table's statements, with the numbers behind it.
public struct ExperimentCheck: Sendable, Equatable {
    public var statement: String
    public var detail: String
    /// nil when the numbers needed are missing.
    public var passed: Bool?

    /// "PASS", "NOT MET" or "N/A".
    public var verdict: String { passed.map { $0 ? "PASS" : "NOT MET" } ?? "N/A" }
}

/// An arm's relative gain over random init, (arm − random init) / random init of a task's headline metric, or its
/// mean over the binary tasks (AUROC) or the time-to-event tasks (Harrell's C) — the paper's form.
public struct ExperimentGain: Sendable, Equatable {
    public var arm: String
    /// A task's name, or "mean of N binary tasks" / "mean of N time-to-event tasks".
    public var task: String
    public var metric: ExperimentMetric
    /// The gain as a fraction (0.1 = +10 %), with its paired two-level bootstrap interval.
    public var interval: BootstrapInterval?
    public var note: String?
}

/// A paired difference the checks use, with how precise it is.
public struct ExperimentDifference: Sendable, Equatable {
    /// "A − B".
    public var name: String
    public var cohort: String
    public var task: String
    public var metric: ExperimentMetric
    public var interval: BootstrapInterval?
    public var precision: ExperimentPrecision?
}

/// One round of a federated arm: its mean site loss, and the pooled Harrell's C of the first time-to-event task's probe
/// on the round's model (first seed only; nil otherwise).
public struct ExperimentCurvePoint: Sendable, Equatable, Codable {
    public var arm: String
    public var seed: Int
    public var round: Int
    public var trainLoss: Double
    public var pooledHarrellC: Double?
}

/// The experiment table.
public struct ExperimentTable: Sendable {
    public var tasks: [ExperimentTask]
    public var cohorts: [String]
    public var seeds: Int
    public var arms: [ExperimentArm] = []
    public var rows: [ExperimentRow] = []
    public var gains: [ExperimentGain] = []
    public var differences: [ExperimentDifference] = []
    public var checks: [ExperimentCheck] = []
    public var curves: [ExperimentCurvePoint] = []
    /// Wall time of the whole experiment, and of its phases (training, embedding, probes, bootstrap), in order.
    public var seconds = 0.0
    public var phases: [(name: String, seconds: Double)] = []
    /// Each arm's bootstrap samples, for differences and gains.
    var samples: [String: [ExperimentScoreKey: BootstrapSamples]] = [:]

    public init(tasks: [ExperimentTask], cohorts: [String], seeds: Int) {
        self.tasks = tasks
        self.cohorts = cohorts
        self.seeds = seeds
    }

    /// Adds an arm's rows from its samples; a task missing from them gets its note (or "undefined") on every metric.
    mutating func add(arm label: String, samples armSamples: [ExperimentScoreKey: BootstrapSamples], notes: [String: String],
                      scorer: ExperimentScorer, trainingSeconds: Double) {
        arms.append(ExperimentArm(label: label, trainingSeconds: trainingSeconds))
        samples[label] = armSamples
        for cohort in cohorts {
            for task in tasks {
                let counts = scorer.counts(cohort: cohort, task: task)
                for metric in task.metrics {
                    var row = ExperimentRow(arm: label, cohort: cohort, task: task.name, metric: metric, patients: counts.patients, events: counts.events)
                    if let samples = armSamples[ExperimentScoreKey(cohort: cohort, task: task.name, metric: metric)] {
                        do { row.interval = try samples.interval() } catch { row.note = (error as? FedCTError)?.message ?? "\(error)" }
                    } else {
                        row.note = notes[task.name] ?? "no prediction"
                    }
                    rows.append(row)
                }
            }
        }
    }

    /// The row of `arm`, `cohort`, `task` and `metric`.
    public func row(arm: String, cohort: String, task: String, metric: ExperimentMetric) -> ExperimentRow? {
        rows.first { $0.arm == arm && $0.cohort == cohort && $0.task == task && $0.metric == metric }
    }

    /// The estimate of a row, when it has one.
    public func estimate(arm: String, cohort: String, task: String, metric: ExperimentMetric) -> Double? {
        row(arm: arm, cohort: cohort, task: task, metric: metric)?.interval?.estimate
    }

    /// The paired samples of `a` − `b`, when both arms have the metric.
    func differenceSamples(_ a: String, _ b: String, _ key: ExperimentScoreKey) -> BootstrapSamples? {
        guard let first = samples[a]?[key], let second = samples[b]?[key] else { return nil }
        return first.combined(with: second, -)
    }

    /// The paired difference `a` − `b` with its interval and precision (target ±`target`).
    func difference(_ a: String, _ b: String, _ key: ExperimentScoreKey, patients: Int, target: Double) -> ExperimentDifference {
        var result = ExperimentDifference(name: "\(a) − \(b)", cohort: key.cohort, task: key.task, metric: key.metric)
        if let samples = differenceSamples(a, b, key), let interval = try? samples.interval() {
            result.interval = interval
            result.precision = ExperimentPrecision(interval: interval, components: samples.varianceComponents, seeds: seeds, patients: patients, target: target)
        }
        return result
    }

    /// Relative gains over `baseline` of every other arm on the pooled cohort: per task on its headline metric, and
    /// their means over the binary tasks (AUROC) and over the time-to-event tasks where the gain is defined (on the same
    /// resamples). Retrieval tasks have none: random init's recall is near 0, so a ratio to it says nothing.
    mutating func addGains(over baseline: String) {
        for arm in arms.map(\.label) where arm != baseline {
            var perKind: [ExperimentMetric: [BootstrapSamples]] = [:]
            var missing: [ExperimentMetric: [String]] = [:]
            for task in tasks where task.headline != .recall {
                let kind = task.headline
                let key = ExperimentScoreKey(cohort: "pooled", task: task.name, metric: task.headline)
                guard let a = samples[arm]?[key], let b = samples[baseline]?[key] else {
                    gains.append(ExperimentGain(arm: arm, task: task.name, metric: task.headline, note: "undefined for \(arm) or \(baseline)"))
                    missing[kind, default: []].append(task.name)
                    continue
                }
                let gain = a.combined(with: b) { ($0 - $1) / $1 }
                do {
                    gains.append(ExperimentGain(arm: arm, task: task.name, metric: task.headline, interval: try gain.interval()))
                    perKind[kind, default: []].append(gain)
                } catch {
                    gains.append(ExperimentGain(arm: arm, task: task.name, metric: task.headline, note: (error as? FedCTError)?.message ?? "\(error)"))
                    missing[kind, default: []].append(task.name)
                }
            }
            for (metric, kind) in [(ExperimentMetric.auroc, "binary"), (.harrellC, "time-to-event")] {
                guard let samples = perKind[metric] else { continue }
                let note = missing[metric].map { "without \($0.joined(separator: ", ")) (undefined)" }
                var gain = ExperimentGain(arm: arm, task: "mean of \(samples.count) \(kind) tasks", metric: metric, note: note)
                gain.interval = try? BootstrapSamples.mean(samples).interval()
                gains.append(gain)
            }
        }
    }
}
