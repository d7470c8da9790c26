// TimeToEventObjective: time-to-event pretraining (MOTOR head) as a pretraining objective — model parts, targets, setup.
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch

/// Time-to-event pretraining on EHR outcomes (Huo et al.; MOTOR head, Steinberg et al.): the `tte:` section, the
/// bridge's "tte" objective, targets from the follow-up by the job's labeler, and the task-derivation setup stage
/// (`TaskSetupDerivation` at the coordinator, `TimeToEventSiteSetup` at the sites) when `tte.derive_tasks` is set.
public struct TimeToEventObjective: PretrainingObjective {
    public static let name = "tte"
    public var name: String { Self.name }
    /// The loss is a mean over examples of per-example terms.
    public var supportsPatientLevelDP: Bool { true }

    public init() {}

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {}

    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { spec.tte.awaitsDerivation }

    public func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)? {
        spec.tte.deriveTasks ? TaskSetupDerivation(tte: spec.tte) : nil
    }

    public func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup {
        let loaded = try SiteDataset.setupFollowUps(directory: dataDirectory)
        return TimeToEventSiteSetup(followUps: loaded.followUps, skipped: loaded.skipped, minPatientsPerCode: Int(spec.tte.minPatientsPerCode))
    }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig { spec.headConfig.objective }

    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe {
        SiteExampleRecipe(trackedCodes: Set(spec.tte.taskCodes), targets: SiteDataset.timeToEventTargets(spec.labeler))
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String { "tte|\(spec.tte.taskCodes)|\(spec.tte.pieceEdgesDays)" }
}

extension Fedct_V1_JobSpec {
    /// The time-to-event head configuration the job's `tte:` section specifies.
    public var headConfig: TTEHeadConfig {
        TTEHeadConfig(tasks: tte.taskCodes.count, pieces: tte.pieceEdgesDays.count, rank: Int(tte.rank),
                      taskLog2BaseHazard: tte.taskLog2BaseHazard.isEmpty ? nil : tte.taskLog2BaseHazard)
    }

    /// The labeler that turns follow-up into this job's time-to-event targets.
    public var labeler: TTELabeler { TTELabeler(taskCodes: tte.taskCodes, pieceEdgesDays: tte.pieceEdgesDays) }
}

/// A site's half of the task-derivation setup stage: its train scans' follow-ups over every code, read once, answer
/// the candidates (code names held by at least `tte.min_patients_per_code` patients), prevalence and rates steps.
public struct TimeToEventSiteSetup: SiteSetup {
    let followUps: [ScanFollowUp]
    let skipped: Int
    let minPatientsPerCode: Int

    public var summary: String { "\(followUps.count) train scans, \(skipped) skipped without follow-up" }

    public func answer(_ step: SetupStep, request: SetupRequest) throws -> SetupAnswer {
        switch TaskSetupStage(step) {
        case .candidates:
            return .names(TaskStatistics.candidates(followUps, minPatients: minPatientsPerCode))
        case .prevalence:
            return .counts(TaskStatistics.prevalence(followUps, candidates: request.names))
        case .rates:
            guard let grid = request.grid else {
                throw FedCTError(.protocolViolation, "the coordinator sent the rates step without an event-time grid")
            }
            return .counts(TaskStatistics.rates(followUps, tasks: request.names, grid: grid))
        case nil:
            throw FedCTError(.protocolViolation, "the coordinator sent \(step), which the time-to-event setup stage does not have")
        }
    }

    /// Prevalence as it is (a patient counts once per code); rates over one scan per patient (`TaskStatistics.boundedRates`).
    public func boundedCounts(_ step: SetupStep, request: SetupRequest) throws -> BoundedCounts? {
        switch TaskSetupStage(step) {
        case .prevalence:
            return TaskStatistics.boundedPrevalence(followUps, candidates: request.names)
        case .rates:
            guard let grid = request.grid else {
                throw FedCTError(.protocolViolation, "the coordinator sent the rates step without an event-time grid")
            }
            return TaskStatistics.boundedRates(followUps, tasks: request.names, grid: grid)
        case .candidates, nil:
            return nil
        }
    }
}
