// FewShotEvaluation: few-shot logistic probes on frozen embeddings (MEDFORM's evaluation) — k scans per class, seeded folds, AUROC / balanced accuracy / F1.
import FedCTCore
import FedCTData

/// Few-shot probes as MEDFORM evaluates its embeddings: for a label (an outcome or a report finding) and each k in
/// `EvaluationReport.fewShots`, over
/// `folds` seeded draws of k positive and k negative training scans (scans whose status is unknown left out), a logistic
/// probe on the frozen embeddings is fitted and scored on every held-out scan with a known status: AUROC of its logits,
/// balanced accuracy and F1 of its predictions at logit 0. A score is the mean over the folds.
public enum FewShotEvaluation {
    public static let folds = 5

    /// One score with the held-out counts it rests on; `value` nil when it cannot be computed (too few training scans
    /// of a class for k, or one class only among the held-out scans).
    public struct Score: Sendable {
        public var name: String
        public var value: Double?
        public var scans: Int
        public var positives: Int
    }

    /// The scores of `EvaluationReport.fewShotLabelNames(label)` for embeddings `train` and `heldout` of the site's scans
    /// and their labels (nil: status unknown).
    public static func scores(train: [[Double]], trainLabels: [Bool?], heldout: [[Double]], heldoutLabels: [Bool?], label: String, l2: Double) -> [Score] {
        let positives = trainLabels.indices.filter { trainLabels[$0] == true }, negatives = trainLabels.indices.filter { trainLabels[$0] == false }
        let known = heldoutLabels.indices.filter { heldoutLabels[$0] != nil }
        let labels = known.map { heldoutLabels[$0]! }
        var scores: [Score] = []
        for shots in EvaluationReport.fewShots {
            var sums: [Double]? = [0, 0, 0]
            for fold in 0..<folds {
                let rows = draw(fold: fold, stream: "\(label)-k\(shots)", positives: positives, negatives: negatives, shots: shots)
                guard positives.count >= shots, negatives.count >= shots, let current = sums,
                      let values = try? score(rows: rows, train: train, trainLabels: trainLabels, heldout: known.map { heldout[$0] }, labels: labels, l2: l2)
                else {
                    sums = nil
                    break
                }
                sums = zip(current, values).map { $0 + $1 }
            }
            for (index, metric) in EvaluationReport.fewShotMetrics.enumerated() {
                scores.append(Score(name: EvaluationReport.fewShotName(metric, label, shots: shots), value: sums.map { $0[index] / Double(folds) },
                                    scans: labels.count, positives: labels.filter { $0 }.count))
            }
        }
        return scores
    }

    /// Fold `fold`'s training rows: `shots` of `positives` and `shots` of `negatives`, drawn by the generator seeded with
    /// the fold and `fewshot-<stream>` (`stream`: the label's name and k, e.g. `lung_cancer_12m-k10`).
    package static func draw(fold: Int, stream: String, positives: [Int], negatives: [Int], shots: Int) -> [Int] {
        var random = SeededGenerator(seed: UInt64(fold), stream: "fewshot-" + stream)
        return Array(positives.shuffled(using: &random).prefix(shots) + negatives.shuffled(using: &random).prefix(shots))
    }

    /// AUROC, balanced accuracy and F1 on the held-out scans of a probe fitted on training `rows`.
    static func score(rows: [Int], train: [[Double]], trainLabels: [Bool?], heldout: [[Double]], labels: [Bool], l2: Double) throws -> [Double] {
        let probe = try LogisticRegression.fit(features: rows.map { train[$0] }, labels: rows.map { trainLabels[$0]! }, l2: l2)
        let logits = heldout.map(probe.logit)
        return try [ExperimentMetric.auroc, .balancedAccuracy, .f1].map { try metric($0, labels: labels, logits: logits) }
    }

    /// A few-shot metric of log-odds `logits` against `labels`: AUROC, or balanced accuracy or F1 of the predictions at
    /// log-odds 0.
    package static func metric(_ metric: ExperimentMetric, labels: [Bool], logits: [Double]) throws -> Double {
        let predicted = logits.map { $0 > 0 }
        let truePositives = zip(predicted, labels).filter { $0 && $1 }.count, trueNegatives = zip(predicted, labels).filter { !$0 && !$1 }.count
        let positives = labels.filter { $0 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { throw FedCTError(.invalidData, "the held-out scans hold one class only") }
        let falsePositives = negatives - trueNegatives, falseNegatives = positives - truePositives
        switch metric {
        case .auroc: return try AUROC.value(labels: labels, scores: logits)
        case .balancedAccuracy: return (Double(truePositives) / Double(positives) + Double(trueNegatives) / Double(negatives)) / 2
        case .f1:
            let denominator = 2 * truePositives + falsePositives + falseNegatives
            return denominator == 0 ? 0 : Double(2 * truePositives) / Double(denominator)
        default: throw FedCTError(.invalidConfiguration, "\(metric.rawValue) is not a few-shot metric")
        }
    }
}
