// JobSpecSummary: the only place the dashboard reads JobSpec fields (so a change of the spec's shape is ported here alone).
import FedCTProto

/// What the dashboard shows of a job's spec.
struct JobSpecSummary: Codable, Sendable, Equatable {
    var name: String
    /// The training objective, e.g. "time-to-event (12 tasks)" or "time-to-event (derived tasks, up to 600)".
    var objective: String
    /// "resnet3d depth 18, width 32".
    var encoder: String
    var plannedRounds: Int
    var minSites: Int
    var strategy: String
    var secureAggregation: Bool
    /// "none", "site", "patient".
    var privacy: String
    /// Rounds after which the model is evaluated (empty: only after the last, or never).
    var evaluation: String
    /// The time-to-event task codes in spec order (after a setup stage: the derived ones).
    var taskCodes: [String]
    /// (label, value) pairs of the setup summary's spec facts, in display order.
    var facts: [[String]]

    init(_ spec: Fedct_V1_JobSpec) {
        name = spec.name
        taskCodes = spec.tte.taskCodes
        let tasks = spec.tte.derivedTasksDescription
        objective = "time-to-event (\(tasks))"
        encoder = "\(spec.encoder.architecture.isEmpty ? "resnet3d" : spec.encoder.architecture) depth \(spec.encoder.depth), width \(spec.encoder.width)"
        plannedRounds = Int(spec.rounds)
        minSites = Int(spec.minSites)
        strategy = spec.strategy.name.isEmpty ? "fedavg" : spec.strategy.name
        secureAggregation = spec.secureAggregation.enabled
        privacy = spec.privacy.level.isEmpty ? "none" : spec.privacy.level
        evaluation = !spec.evaluation.enabled ? "off" : spec.evaluation.everyRounds > 0 ? "every \(spec.evaluation.everyRounds) rounds and after the last" : "after the last round"
        facts = [
            ["objective", objective], ["encoder", encoder], ["rounds", "\(spec.rounds)"], ["minimum sites", "\(spec.minSites)"],
            ["strategy", strategy], ["secure aggregation", secureAggregation ? "on" : "off"], ["differential privacy", privacy],
            ["local training", "\(spec.training.localEpochs) epoch(s), batch \(spec.training.batchSize), lr \(spec.training.learningRate), \(spec.training.volumeSize)³ voxels"],
            ["evaluation", evaluation], ["round deadline", "\(spec.roundDeadlineSeconds) s"], ["seed", "\(spec.seed)"],
            ["task codes", spec.tte.taskCodes.isEmpty ? "–" : spec.tte.taskCodes.prefix(12).joined(separator: ", ") + (spec.tte.taskCodes.count > 12 ? " … (\(spec.tte.taskCodes.count))" : "")],
        ]
    }
}

extension Fedct_V1_TTESpec {
    fileprivate var derivedTasksDescription: String {
        if deriveTasks && taskCodes.isEmpty { return "tasks derived at setup, up to \(maxTasks)" }
        return "\(taskCodes.count) task\(taskCodes.count == 1 ? "" : "s")\(deriveTasks ? ", derived at setup" : "")"
    }
}
