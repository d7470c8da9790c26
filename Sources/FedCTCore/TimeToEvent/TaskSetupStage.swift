// TaskSetupStage: the three steps of the time-to-event objective's setup stage, which derives a job's tasks.

/// A step of the setup stage that derives a job's tasks before round 1 (`TaskSetupDerivation`); as a generic step it is
/// `step` (`JobStep.setup(step)`, numbered 0, −1, −2 on the wire).
public enum TaskSetupStage: String, Sendable, CaseIterable {
    /// Sites propose code names (no counts).
    case candidates
    /// Secure sum: cohort size and patients per candidate.
    case prevalence
    /// Secure sum: events, censored, observed hours per task, and the event-time histogram.
    case rates

    /// The generic step: its position, name and how sites answer it.
    public var step: SetupStep {
        SetupStep(index: Self.allCases.firstIndex(of: self)!, name: rawValue, answer: self == .candidates ? .names : .counts)
    }

    /// The stage's steps, in order.
    public static var steps: [SetupStep] { allCases.map(\.step) }

    /// The stage of a generic step of this objective, by name.
    public init?(_ step: SetupStep) { self.init(rawValue: step.name) }

    /// The round number this step's wire messages carry: 0, −1, −2.
    public var wireRound: Int { step.wireRound }

    /// SHA-256 (hex) of the step's name and the published codes, length-prefixed (`SetupStep.listSHA256`).
    public func listSHA256(_ codes: [String]) -> String { step.listSHA256(codes) }
}
