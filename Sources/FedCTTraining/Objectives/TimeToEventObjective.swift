// TimeToEventObjective: time-to-event pretraining (MOTOR head) as a pretraining objective — model parts, targets, setup.
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

/// Time-to-event pretraining on EHR outcomes (Huo et al.; MOTOR head, Steinberg et al.): the `tte:` section, the
/// bridge's "tte" objective, targets from the follow-up by the job's labeler, and the task-derivation setup stage
/// (Coordinator+Setup, SiteAgent+Setup) when `tte.derive_tasks` is set.
public struct TimeToEventObjective: PretrainingObjective {
    public static let name = "tte"
    public var name: String { Self.name }
    /// The loss is a mean over examples of per-example terms.
    public var supportsPatientLevelDP: Bool { true }

    public init() {}

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {}

    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { spec.tte.awaitsDerivation }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig { spec.headConfig.objective }

    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> (trackedCodes: Set<String>, targets: ExampleTargets) {
        (Set(spec.tte.taskCodes), SiteDataset.timeToEventTargets(spec.labeler))
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String { "tte|\(spec.tte.taskCodes)|\(spec.tte.pieceEdgesDays)" }
}
