// JobStep: one open/close cycle of a job — a step of its setup stage or a training round — and its number on the wire.

/// What a job opens, collects and closes: a step of its objective's setup stage, or a training round.
///
/// Inside the coordinator and the state machine a step is this type. Only wire messages (their `round` field) and the
/// secure-aggregation context carry it as a number, `wireRound`: training rounds from 1, setup steps 0, −1, −2, ….
public enum JobStep: Hashable, Sendable, CustomStringConvertible {
    case setup(SetupStep)
    case round(Int)

    /// The step a wire message's `round` number names among a stage's `setupSteps`: a training round from 1, a setup
    /// step at 0, −1, −2, …; nil otherwise.
    public init?(wireRound: Int, setupSteps: [SetupStep]) {
        if wireRound >= 1 {
            self = .round(wireRound)
        } else if let step = setupSteps.first(where: { $0.wireRound == wireRound }) {
            self = .setup(step)
        } else {
            return nil
        }
    }

    /// The number wire messages and the secure-aggregation context carry for this step.
    public var wireRound: Int {
        switch self {
        case .setup(let step): step.wireRound
        case .round(let round): round
        }
    }

    /// The setup step, if this is one.
    public var setupStep: SetupStep? {
        if case .setup(let step) = self { return step }
        return nil
    }

    /// "round 3" or "setup step 'rates'".
    public var description: String {
        switch self {
        case .setup(let step): step.description
        case .round(let round): "round \(round)"
        }
    }
}
