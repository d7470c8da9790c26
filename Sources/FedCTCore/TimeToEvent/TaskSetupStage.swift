// TaskSetupStage: the three steps of a job's setup stage, their numbers on the wire and the list each one is bound to.
import Crypto

/// A step of the setup stage that derives a job's tasks before round 1.
///
/// A step is a `JobStep.setup`; its wire messages carry a round number below 1 (`wireRound`; training rounds start
/// at 1), and a summed step's secure aggregation is bound (`SecAggContext.binding`) to `listSHA256` of the code list
/// it counts, so a share or masked word of one step never opens in another step or a training round.
public enum TaskSetupStage: String, Sendable, CaseIterable {
    /// Sites propose code names (no counts).
    case candidates
    /// Secure sum: cohort size and patients per candidate.
    case prevalence
    /// Secure sum: events, censored, observed hours per task, and the event-time histogram.
    case rates

    /// The round number this step's wire messages carry: 0, −1, −2.
    public var wireRound: Int {
        switch self {
        case .candidates: 0
        case .prevalence: -1
        case .rates: -2
        }
    }

    /// SHA-256 (hex) of the step's name and the published codes, length-prefixed.
    public func listSHA256(_ codes: [String]) -> String {
        SHA256.hex(SecAggContext.encode(["fedct/setup/v1", rawValue] + codes))
    }
}
