// ExperimentTable+Checks: the expected shape of the table, checked on the first task's Harrell's C.
import FedCTCore
import Foundation

extension ExperimentTable {
    /// How close federated must come to centralised, in Harrell's C.
    public static let centralisedTolerance = 0.02

    /// The three statements, on the first task's Harrell's C:
    /// 1. federated (FedAvg) within 0.02 of centralised on the pooled held-out patients;
    /// 2. federated above the best local-only model on the smallest site's held-out patients;
    /// 3. TTE pretraining (federated FedAvg) clearly above random init: the lower end of the 95 % paired bootstrap
    ///    interval of C(federated) − C(random init) on the pooled held-out patients is above 0.
    func expectedShapeChecks(predictions: [String: [String: ExperimentPrediction]], scorer: ExperimentScorer) -> [ExperimentCheck] {
        let task = tasks[0]
        let c = { (arm: String, cohort: String) in self.estimate(arm: arm, cohort: cohort, task: task, metric: .harrellC) }
        let federated = TTEExperiment.fedAvgLabel
        let f3 = { (value: Double) in String(format: "%.3f", value) }
        var checks: [ExperimentCheck] = []

        let statement1 = "federated within \(Self.centralisedTolerance) C-index of centralised (pooled, \(task))"
        if let fed = c(federated, "pooled"), let central = c(TTEExperiment.centralisedLabel, "pooled") {
            let gap = abs(fed - central)
            checks.append(ExperimentCheck(statement: statement1, detail: "federated \(f3(fed)), centralised \(f3(central)), |difference| \(f3(gap))",
                                          passed: gap <= Self.centralisedTolerance))
        } else {
            checks.append(ExperimentCheck(statement: statement1, detail: "a C-index is missing", passed: nil))
        }

        let smallest = scorer.smallestSiteName
        let statement2 = "federated above the best local-only model on the smallest site (\(smallest), \(task))"
        let locals = arms.map(\.label).filter { $0.hasPrefix(TTEExperiment.localOnlyPrefix) }.compactMap { label in c(label, smallest).map { (label, $0) } }
        if cohorts.contains(smallest), let fed = c(federated, smallest), let best = locals.max(by: { $0.1 < $1.1 }) {
            checks.append(ExperimentCheck(statement: statement2, detail: "federated \(f3(fed)), best local-only \(best.0) \(f3(best.1))", passed: fed > best.1))
        } else {
            checks.append(ExperimentCheck(statement: statement2, detail: "needs two or more sites and their C-indices", passed: nil))
        }

        let statement3 = "TTE pretraining clearly above random init: 95 % paired bootstrap interval of C(federated) − C(random-init) above 0 (pooled, \(task))"
        if let fed = predictions[federated]?[task], let random = predictions[TTEExperiment.randomInitLabel]?[task],
           let difference = try? scorer.difference(.harrellC, fed, random, cohort: "pooled", task: task)
        {
            checks.append(ExperimentCheck(statement: statement3,
                                          detail: "difference \(f3(difference.estimate)) [\(f3(difference.lower)), \(f3(difference.upper))]",
                                          passed: difference.lower > 0))
        } else {
            checks.append(ExperimentCheck(statement: statement3, detail: "the difference is undefined on the pooled cohort", passed: nil))
        }
        return checks
    }
}
