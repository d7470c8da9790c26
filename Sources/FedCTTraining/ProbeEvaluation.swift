// ProbeEvaluation: scores an encoder by a Cox probe on its frozen embeddings (fit on train scans, C-index on held-out).
public import FedCTCore
public import FedCTData
public import FedCTTorch

/// The held-out concordance of a Cox probe on an encoder's embeddings.
public struct ProbeResult: Sendable {
    public var task: String
    public var cIndex: Double
    public var trainSubjects: Int
    public var heldoutSubjects: Int
    public var heldoutEvents: Int
}

public enum ProbeEvaluation {
    /// Fits a Cox model for `task` on the embeddings of `train` and scores Harrell's C on `heldout`.
    public static func evaluate(model: TTEModel, trainer: LocalTrainer, train: [TTEExample], heldout: [TTEExample], task: String, l2: Double = 1.0) throws -> ProbeResult {
        let trainFeatures = try trainer.embed(model, train)
        let trainOutcomes = train.map { $0.outcome(task: task) }
        let cox = try CoxRegression.fit(features: trainFeatures, time: trainOutcomes.map(\.days), event: trainOutcomes.map(\.event), l2: l2)
        let heldoutFeatures = try trainer.embed(model, heldout)
        let heldoutOutcomes = heldout.map { $0.outcome(task: task) }
        guard let c = ConcordanceIndex.harrell(time: heldoutOutcomes.map(\.days), event: heldoutOutcomes.map(\.event), risk: heldoutFeatures.map(cox.risk)) else {
            throw FedCTError(.invalidData, "no comparable held-out pairs for \(task): the held-out set has no events before another subject's time")
        }
        return ProbeResult(task: task, cIndex: c, trainSubjects: train.count, heldoutSubjects: heldout.count,
                           heldoutEvents: heldoutOutcomes.filter(\.event).count)
    }
}
