// ExperimentTable+Checks: the three statements about the table, as pure decisions on intervals and estimates.
public import FedCTCore
import Foundation

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
    /// The checks on the headline metric of the first time-to-event task (Harrell's C of DEATH by default): federated
    /// FedAvg non-inferior to centralised and superior to random init on the pooled held-out patients (paired two-level
    /// bootstrap differences, each with its precision against ±`target`), and above the best local-only model on the
    /// smallest site's held-out patients.
    mutating func addChecks(scorer: ExperimentScorer, target: Double) {
        guard let task = tasks.first(where: { $0.kind == .survival }) ?? tasks.first else { return }
        let metric = task.headline
        let scope = "pooled, \(task.name), \(metric.title)"
        let pooled = ExperimentScoreKey(cohort: "pooled", task: task.name, metric: metric)
        let patients = scorer.cohorts[0].rows.count
        let federated = TTEExperiment.fedAvgLabel
        let central = difference(federated, TTEExperiment.centralisedLabel, pooled, patients: patients, target: target)
        let random = difference(federated, TTEExperiment.randomInitLabel, pooled, patients: patients, target: target)
        differences = [central, random]
        checks = [.nonInferiority(central.interval, scope: scope), .superiority(random.interval, scope: scope)]
        guard let site = scorer.smallestSiteName, let cohort = scorer.cohorts.first(where: { $0.name == site }) else {
            checks.append(.aboveBestLocal(federated: nil, locals: [], difference: nil, site: "none", scope: "\(task.name), \(metric.title)"))
            return
        }
        let locals = arms.map(\.label).filter { $0.hasPrefix(TTEExperiment.localOnlyPrefix) }.compactMap { label in
            estimate(arm: label, cohort: site, task: task.name, metric: metric).map { (label: label, estimate: $0) }
        }
        let key = ExperimentScoreKey(cohort: site, task: task.name, metric: metric)
        let best = locals.max { $0.estimate < $1.estimate }.map { difference(federated, $0.label, key, patients: cohort.rows.count, target: target) }
        if let best { differences.append(best) }
        checks.append(.aboveBestLocal(federated: estimate(arm: federated, cohort: site, task: task.name, metric: metric), locals: locals,
                                      difference: best?.interval, site: site, scope: "\(task.name), \(metric.title)"))
    }
}
