// ExperimentTable+Checks: the statements the issues ask of the table (TTE's three, HLIP's per finding), as pure decisions on intervals.
public import FedCTCore
import FedCTTraining
import Foundation

/// Which statements an experiment table checks.
public enum ExperimentChecks: Sendable {
    /// TTE (issue 13), on the first time-to-event task's Harrell's C: federated non-inferior to centralised (margin
    /// 0.02), superior to random init, above the best local-only model on the smallest site.
    case timeToEvent
    /// HLIP (issue 14), on the zero-shot AUROC of each of `findings`: federated above chance (interval above 0.5),
    /// superior to random init, non-inferior to centralised (margin 0.03).
    case languageImage(findings: [String])
    /// MEDFORM (issue 16), on the AUROC of the few-shot task `task`: federated superior to random init, non-inferior to
    /// centralised (margin `margin`).
    case fewShot(task: String, margin: Double)

    /// HLIP's checks on effusion and nodule/mass, the findings issue 14's acceptance names.
    public static let hlip = ExperimentChecks.languageImage(findings: ["effusion", "nodule_mass"])

    /// MEDFORM's checks on the few-shot (k = 10) lung-cancer AUROC, margin 0.03 (issue 16's acceptance).
    public static let medform = ExperimentChecks.fewShot(task: ExperimentTask.fewShotName(.outcome(.lungCancer), shots: 10), margin: 0.03)

    /// HLIP's non-inferiority margin (issue 14's acceptance).
    public static let languageImageMargin = 0.03
}

extension ExperimentCheck {
    /// The non-inferiority margin of federated against centralised, in the checked metric.
    public static let nonInferiorityMargin = 0.02

    /// Federated non-inferior to centralised: the lower end of the 95 % interval of the paired difference
    /// federated − centralised lies above −`margin`. Federated *above* centralised passes (it is not a two-sided
    /// equivalence test); nil interval: N/A.
    public static func nonInferiority(_ difference: BootstrapInterval?, margin: Double = nonInferiorityMargin, scope: String) -> ExperimentCheck {
        let statement = "federated non-inferior to centralised: lower end of the 95 % interval of federated − centralised above −\(margin) (\(scope))"
        guard let difference else { return ExperimentCheck(statement: statement, detail: "the difference is undefined", passed: nil) }
        return ExperimentCheck(statement: statement, detail: "difference \(format(difference)); lower end \(f3(difference.lower)) vs −\(margin)",
                               passed: difference.lower > -margin)
    }

    /// Federated above chance: the lower end of the 95 % interval of its AUROC lies above 0.5.
    public static func aboveChance(_ interval: BootstrapInterval?, scope: String) -> ExperimentCheck {
        let statement = "federated above chance: lower end of the 95 % interval of its AUROC above 0.5 (\(scope))"
        guard let interval else { return ExperimentCheck(statement: statement, detail: "the AUROC is undefined", passed: nil) }
        return ExperimentCheck(statement: statement, detail: "AUROC \(format(interval)); lower end \(f3(interval.lower)) vs 0.5", passed: interval.lower > 0.5)
    }

    /// Federated superior to random init: the 95 % interval of the paired difference federated − random init lies above 0.
    public static func superiority(_ difference: BootstrapInterval?, scope: String) -> ExperimentCheck {
        let statement = "federated superior to random init: 95 % interval of federated − random init above 0 (\(scope))"
        guard let difference else { return ExperimentCheck(statement: statement, detail: "the difference is undefined", passed: nil) }
        return ExperimentCheck(statement: statement, detail: "difference \(format(difference))", passed: difference.lower > 0)
    }

    /// Federated above the best local-only model on the smallest site: federated's estimate exceeds every local-only
    /// estimate there (`locals`: label → estimate). `difference`, federated − that best local-only model with its
    /// interval, is printed beside it when known. N/A without a federated estimate or any local-only one.
    public static func aboveBestLocal(federated: Double?, locals: [(label: String, estimate: Double)], difference: BootstrapInterval?,
                                      site: String, scope: String) -> ExperimentCheck {
        let statement = "federated above the best local-only model on the smallest site (\(site), \(scope))"
        guard let federated, let best = locals.max(by: { $0.estimate < $1.estimate }) else {
            return ExperimentCheck(statement: statement, detail: "needs two or more sites and their estimates", passed: nil)
        }
        let paired = difference.map { "; difference \(format($0))" } ?? ""
        return ExperimentCheck(statement: statement, detail: "federated \(f3(federated)), best local-only \(best.label) \(f3(best.estimate))\(paired)",
                               passed: federated > best.estimate)
    }

    static func f3(_ value: Double) -> String { String(format: "%.3f", value) }
    static func format(_ interval: BootstrapInterval) -> String { "\(f3(interval.estimate)) [\(f3(interval.lower)), \(f3(interval.upper))]" }
}

extension ExperimentTable {
    /// The checks `kind` names, with the paired differences they read.
    mutating func addChecks(_ kind: ExperimentChecks, scorer: ExperimentScorer, target: Double) {
        switch kind {
        case .timeToEvent: addTimeToEventChecks(scorer: scorer, target: target)
        case .languageImage(let findings): addLanguageImageChecks(findings: findings, scorer: scorer, target: target)
        case .fewShot(let task, let margin): addFewShotChecks(task: task, margin: margin, scorer: scorer, target: target)
        }
    }

    /// MEDFORM's checks on a few-shot task's AUROC, federated FedAvg over the pooled held-out examples: superior to random
    /// init, non-inferior to centralised within `margin` — each paired difference with its precision against ±`target`.
    mutating func addFewShotChecks(task: String, margin: Double, scorer: ExperimentScorer, target: Double) {
        let federated = PretrainingExperiment.fedAvgLabel
        let scope = "pooled, \(task), AUROC"
        let key = ExperimentScoreKey(cohort: "pooled", task: task, metric: .auroc)
        let patients = scorer.cohorts[0].rows.count
        let random = difference(federated, PretrainingExperiment.randomInitLabel, key, patients: patients, target: target)
        let central = difference(federated, PretrainingExperiment.centralisedLabel, key, patients: patients, target: target)
        differences += [random, central]
        checks += [.superiority(random.interval, scope: scope), .nonInferiority(central.interval, margin: margin, scope: scope)]
    }

    /// HLIP's checks per finding, on the zero-shot AUROC of federated FedAvg over the pooled held-out studies: above
    /// chance, superior to random init, non-inferior to centralised within `ExperimentChecks.languageImageMargin` — each
    /// paired difference with its precision against ±`target`. A finding without its zero-shot task is skipped.
    mutating func addLanguageImageChecks(findings: [String], scorer: ExperimentScorer, target: Double) {
        let federated = PretrainingExperiment.fedAvgLabel
        let patients = scorer.cohorts[0].rows.count
        for name in findings {
            guard let task = tasks.first(where: { if case .finding(let finding, zeroShot: true) = $0.kind { finding.name == name } else { false } }) else { continue }
            let scope = "pooled, \(task.name), AUROC"
            let key = ExperimentScoreKey(cohort: "pooled", task: task.name, metric: .auroc)
            let random = difference(federated, PretrainingExperiment.randomInitLabel, key, patients: patients, target: target)
            let central = difference(federated, PretrainingExperiment.centralisedLabel, key, patients: patients, target: target)
            differences += [random, central]
            checks += [.aboveChance(row(arm: federated, cohort: "pooled", task: task.name, metric: .auroc)?.interval, scope: scope),
                       .superiority(random.interval, scope: scope),
                       .nonInferiority(central.interval, margin: ExperimentChecks.languageImageMargin, scope: scope)]
        }
    }

    /// The checks on the headline metric of the first time-to-event task (Harrell's C of DEATH by default): federated
    /// FedAvg non-inferior to centralised and superior to random init on the pooled held-out patients (paired two-level
    /// bootstrap differences, each with its precision against ±`target`), and above the best local-only model on the
    /// smallest site's held-out patients.
    mutating func addTimeToEventChecks(scorer: ExperimentScorer, target: Double) {
        guard let task = tasks.first(where: { $0.kind == .survival }) ?? tasks.first else { return }
        let metric = task.headline
        let scope = "pooled, \(task.name), \(metric.title)"
        let pooled = ExperimentScoreKey(cohort: "pooled", task: task.name, metric: metric)
        let patients = scorer.cohorts[0].rows.count
        let federated = PretrainingExperiment.fedAvgLabel
        let central = difference(federated, PretrainingExperiment.centralisedLabel, pooled, patients: patients, target: target)
        let random = difference(federated, PretrainingExperiment.randomInitLabel, pooled, patients: patients, target: target)
        differences = [central, random]
        checks = [.nonInferiority(central.interval, scope: scope), .superiority(random.interval, scope: scope)]
        guard let site = scorer.smallestSiteName, let cohort = scorer.cohorts.first(where: { $0.name == site }) else {
            checks.append(.aboveBestLocal(federated: nil, locals: [], difference: nil, site: "none", scope: "\(task.name), \(metric.title)"))
            return
        }
        let locals = arms.map(\.label).filter { $0.hasPrefix(PretrainingExperiment.localOnlyPrefix) }.compactMap { label in
            estimate(arm: label, cohort: site, task: task.name, metric: metric).map { (label: label, estimate: $0) }
        }
        let key = ExperimentScoreKey(cohort: site, task: task.name, metric: metric)
        let best = locals.max { $0.estimate < $1.estimate }.map { difference(federated, $0.label, key, patients: cohort.rows.count, target: target) }
        if let best { differences.append(best) }
        checks.append(.aboveBestLocal(federated: estimate(arm: federated, cohort: site, task: task.name, metric: metric), locals: locals,
                                      difference: best?.interval, site: site, scope: "\(task.name), \(metric.title)"))
    }
}
