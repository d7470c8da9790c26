// ObjectiveKind: the name of a job's pretraining objective, and the one check of which objectives a job may name.
public import FedCTProto
import Foundation

/// A pretraining objective's name (`objective:` in job.yaml, `JobSpec.objective`). Extensible: an objective
/// defined outside FedCTCore declares its own `static let` beside its registration.
public struct ObjectiveKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Time-to-event pretraining over `tte.task_codes` (the default, and every spec stored before the field existed).
    public static let tte = ObjectiveKind(rawValue: "tte")
    /// Language–image pretraining on whole studies against their reports (HLIP; `hlip:` section).
    public static let hlip = ObjectiveKind(rawValue: "hlip")
    /// MEDFORM: SimCLR on CT slices, then attention-MIL aligned with clinical data (`medform:` section).
    public static let medform = ObjectiveKind(rawValue: "medform")

    public var description: String { rawValue }

    /// Makes `kind` a name jobs may use (the objective registry, `PretrainingObjectives.register`, calls it).
    public static func register(_ kind: ObjectiveKind) { registry.add(kind) }

    /// The registered names: the built-in objectives (time-to-event, HLIP, MEDFORM) and any registered since start-up.
    public static var registered: [ObjectiveKind] { registry.kinds }

    private static let registry = Registry()

    /// The registered names behind a lock: registration happens at start-up, look-ups from any task.
    private final class Registry: @unchecked Sendable {  // every access to `names` holds `lock`
        private let lock = NSLock()
        private var names: [String] = [ObjectiveKind.tte.rawValue, ObjectiveKind.hlip.rawValue, ObjectiveKind.medform.rawValue]

        func add(_ kind: ObjectiveKind) { lock.withLock { if !names.contains(kind.rawValue) { names.append(kind.rawValue) } } }
        var kinds: [ObjectiveKind] { lock.withLock { names.map(ObjectiveKind.init(rawValue:)) } }
    }
}

extension Fedct_V1_JobSpec {
    /// The objective this spec runs: its `objective`, or TTE for a spec stored before the field existed (no presence).
    public var objectiveKind: ObjectiveKind { hasObjective ? ObjectiveKind(rawValue: objective) : .tte }

    /// The objectives a job may name (the registered ones), in the order error messages list them.
    public static var knownObjectives: [ObjectiveKind] { ObjectiveKind.registered }

    /// Refuses an objective no layer knows, naming the field; the single place that decides which names are
    /// objectives (answered by the registry `PretrainingObjectives` fills).
    func validateObjective(_ fail: (String, String) -> FedCTError) throws {
        guard Self.knownObjectives.contains(objectiveKind) else {
            throw fail("objective", "'\(objective)' is not a known objective (known: \(Self.knownObjectives.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
