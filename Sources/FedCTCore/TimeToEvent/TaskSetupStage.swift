// TaskSetupStage: the three steps of a job's setup stage, their round numbers and the list each one is bound to.
import Crypto

/// A step of the setup stage that derives a job's tasks before round 1.
///
/// Each step's messages carry a round number below 1 (training rounds start at 1), and a summed step's
/// secure aggregation is bound (`SecAggContext.modelSHA256`) to `listSHA256` of the code list it counts,
/// so a share or masked word of one step never opens in another step or a training round.
public enum TaskSetupStage: String, Sendable, CaseIterable {
    /// Sites propose code names (no counts).
    case candidates
    /// Secure sum: cohort size and patients per candidate.
    case prevalence
    /// Secure sum: events, censored, observed hours per task, and the event-time histogram.
    case rates

    /// The round number this step's messages carry: 0, −1, −2.
    public var round: Int {
        switch self {
        case .candidates: 0
        case .prevalence: -1
        case .rates: -2
        }
    }

    /// The step whose messages carry `round`, if any.
    public init?(round: Int) {
        guard let stage = Self.allCases.first(where: { $0.round == round }) else { return nil }
        self = stage
    }

    /// SHA-256 (hex) of the step's name and the published codes, length-prefixed.
    public func listSHA256(_ codes: [String]) -> String {
        SHA256.hex(SecAggContext.encode(["fedct/setup/v1", rawValue] + codes))
    }
}
