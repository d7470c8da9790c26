// JobStep: one open/close cycle of a job — a step of its setup stage or a training round — and its number on the wire.

/// What a job opens, collects and closes: a step of the setup stage that derives its tasks, or a training round.
///
/// Inside the coordinator and the state machine a step is this type. Only wire messages (their `round` field) and the
/// secure-aggregation context carry it as a number, `wireRound`: training rounds from 1, setup steps 0, −1, −2.
public enum JobStep: Hashable, Sendable, CustomStringConvertible {
    case setup(TaskSetupStage)
    case round(Int)

    /// The step a wire message's `round` number names: a training round from 1, a setup step at 0, −1, −2; nil otherwise.
    public init?(wireRound: Int) {
        if wireRound >= 1 {
            self = .round(wireRound)
        } else if let stage = TaskSetupStage.allCases.first(where: { $0.wireRound == wireRound }) {
            self = .setup(stage)
        } else {
            return nil
        }
    }

    /// The number wire messages and the secure-aggregation context carry for this step.
    public var wireRound: Int {
        switch self {
        case .setup(let stage): stage.wireRound
        case .round(let round): round
        }
    }

    /// The setup step, if this is one.
    public var setupStage: TaskSetupStage? {
        if case .setup(let stage) = self { return stage }
        return nil
    }

    /// "round 3" or "setup step 'rates'".
    public var description: String {
        switch self {
        case .setup(let stage): "setup step '\(stage.rawValue)'"
        case .round(let round): "round \(round)"
        }
    }
}
