// ProbeEvaluation: scores an encoder by a Cox probe on its frozen embeddings (fit on train scans, C-index on held-out).
public import FedCTCore
public import FedCTData
public import FedCTTorch
import Foundation

/// How well an encoder ranks held-out patients' risk of one outcome.
public struct ProbeResult: Sendable {
    public var task: String
    /// Harrell's C of a Cox probe fitted on the train scans' embeddings.
    public var cIndex: Double
    /// Harrell's C of the model's own time-to-event head (cumulative hazard over the pieces).
    public var headCIndex: Double
    public var trainSubjects: Int
    public var heldoutSubjects: Int
    public var heldoutEvents: Int
}

public enum ProbeEvaluation {
    /// Fits a Cox model for `task` on the embeddings of `train` and scores Harrell's C on `heldout`,
    /// beside the C-index of the model's own head for the same task.
    public static func evaluate(model: TorchModel, trainer: LocalTrainer, labeler: TTELabeler, train: [SiteExample], heldout: [SiteExample],
                                task: String, l2: Double = 1.0) throws -> ProbeResult {
        guard let taskIndex = labeler.taskCodes.firstIndex(of: task) else {
            throw FedCTError(.invalidConfiguration, "task \(task) is not one of the job's tasks (\(labeler.taskCodes.joined(separator: ", ")))")
        }
        let trainFeatures = try trainer.embed(model, train)
        let trainOutcomes = train.map { $0.outcome(task: task) }
        let cox = try CoxRegression.fit(features: trainFeatures, time: trainOutcomes.map(\.days), event: trainOutcomes.map(\.event), l2: l2)
        let heldoutOutcomes = heldout.map { $0.outcome(task: task) }
        let times = heldoutOutcomes.map(\.days)
        let events = heldoutOutcomes.map(\.event)
        let probeRisk = try trainer.embed(model, heldout).map(cox.risk)
        let headRisk = try trainer.predict(model, heldout).map { pieces in
            cumulativeHazard(log2Hazard: pieces, task: taskIndex, labeler: labeler)
        }
        guard let c = ConcordanceIndex.harrell(time: times, event: events, risk: probeRisk),
            let headC = ConcordanceIndex.harrell(time: times, event: events, risk: headRisk)
        else {
            throw FedCTError(.invalidData, "no comparable held-out pairs for \(task): the held-out set has no events before another subject's time")
        }
        return ProbeResult(task: task, cIndex: c, headCIndex: headC, trainSubjects: train.count, heldoutSubjects: heldout.count,
                           heldoutEvents: events.filter { $0 }.count)
    }

    /// Σ_p 2^{z_p} × (length of piece p in years): the head's cumulative hazard to the last edge.
    static func cumulativeHazard(log2Hazard: [Float], task: Int, labeler: TTELabeler) -> Double {
        var total = 0.0
        var lower = 0.0
        for (piece, upper) in labeler.pieceEdgesDays.enumerated() {
            total += pow(2, Double(log2Hazard[piece * labeler.tasks + task])) * (upper - lower) / TTELabeler.daysPerYear
            lower = upper
        }
        return total
    }
}
