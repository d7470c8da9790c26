// ObjectiveKind: the name of a job's pretraining objective, and the one check of which objectives a job may name.
public import FedCTProto

/// A pretraining objective's name (`objective:` in job.yaml, `JobSpec.objective`). Extensible: an objective
/// defined outside FedCTCore declares its own `static let` beside its registration.
public struct ObjectiveKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Time-to-event pretraining over `tte.task_codes` (the default, and every spec stored before the field existed).
    public static let tte = ObjectiveKind(rawValue: "tte")

    public var description: String { rawValue }
}

extension Fedct_V1_JobSpec {
    /// The objective this spec runs: its `objective`, or TTE for a spec stored before the field existed (no presence).
    public var objectiveKind: ObjectiveKind { hasObjective ? ObjectiveKind(rawValue: objective) : .tte }

    /// The objectives a job may name, in the order error messages list them.
    public static var knownObjectives: [ObjectiveKind] { [.tte] }

    /// Refuses an objective no layer knows, naming the field; the single place that decides which names are
    /// objectives (to be answered by the objective registry once it exists).
    func validateObjective(_ fail: (String, String) -> FedCTError) throws {
        guard Self.knownObjectives.contains(objectiveKind) else {
            throw fail("objective", "'\(objective)' is not a known objective (known: \(Self.knownObjectives.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
