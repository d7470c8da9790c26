// PretrainingObjective: the seam every pretraining objective plugs into above the bridge, and the registry of objectives.
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch
import Foundation

/// A pretraining objective as the layers above the bridge see it: its model parts on the encoder (the bridge objective
/// and its batch layout), its site-side examples, whether it has a setup stage, and the privacy modes it allows.
/// The coordinator, secure aggregation, the ledger and the transport never see more than `name`.
///
/// Adding an objective (see Docs/architecture.md, "Adding an objective"): its parts in the torch bridge
/// (`Sources/CTorchBridge/fct_torch_<name>.cpp`, one line in `fct_torch_objectives.cpp`), a type conforming to this
/// protocol, and its registration (`PretrainingObjectives.register`, built-ins in `PretrainingObjectives.builtIn`).
public protocol PretrainingObjective: Sendable {
    /// The name a job gives in `objective:` (e.g. "tte").
    var name: String { get }
    /// False when the loss couples the examples of a batch (contrastive losses): patient-level DP-SGD cannot clip per
    /// example, and the plan refuses `privacy.level: patient` for it.
    var supportsPatientLevelDP: Bool { get }
    /// True when the objective's parts include their own image tower (HLIP's ViT): the job then names no shared encoder
    /// (`encoder.architecture: none`), and every other objective must name one.
    var carriesImageTower: Bool { get }
    /// The outcomes a site's evaluation also scores by few-shot probes (`FewShotEvaluation`); none by default.
    var fewShotOutcomes: [BinaryOutcome] { get }
    /// The report findings a site's evaluation also scores by few-shot probes, each scan labelled by its own report
    /// (`LanguageImageEvaluation.states`; a scan without a report has unknown status); none by default.
    var fewShotFindings: [LanguageImageEvaluation.Finding] { get }
    /// Checks the objective's own part of a job spec; errors name the field (`source` names the file or peer).
    func validate(_ spec: Fedct_V1_JobSpec, source: String) throws
    /// True while the job still has to run the objective's setup stage before its model can be built.
    func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool
    /// The coordinator's half of the objective's setup stage for `spec` (nil when the objective has none).
    func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)?
    /// A site's half of the setup stage: what it answers to each step, from its data folder (train scans only).
    func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup
    /// The model parts the bridge builds on the encoder for `spec` (objective name, settings, target shapes).
    func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig
    /// How a site builds the objective's examples for `spec`: the EHR codes whose first events the targets read (a site
    /// also tracks the evaluation's outcome codes), the unit of an example (scan or study) and its targets.
    func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe
    /// What determines the site's examples for `spec` besides the preprocessing (a site reloads its data when it changes).
    func exampleKey(for spec: Fedct_V1_JobSpec) -> String
    /// The job's initial model (round 0): the seeded model of `spec`, or one that starts from a stored model (MEDFORM
    /// stage 2 from its stage-1 model), read by SHA-256 through `fetch`. Errors name the field.
    func initialModel(for spec: Fedct_V1_JobSpec, fetch: (String) throws -> [UInt8]) throws -> TorchModel
    /// The stored models `initialModel` reads, by the job field naming each; the coordinator refuses a job naming one it
    /// does not store.
    func startingModels(for spec: Fedct_V1_JobSpec) -> [(field: String, sha256: String)]
}

/// A site's half of an objective's setup stage for one job: it reads what it needs from the data folder once and answers
/// each step's request.
public protocol SiteSetup: Sendable {
    /// The answer to `step` of `request`; names or counts as the step asks, counts at most `SetupEncoding.maxValue`.
    func answer(_ step: SetupStep, request: SetupRequest) throws -> SetupAnswer
    /// A line of context for the site's log (e.g. how many scans were read).
    var summary: String { get }
    /// The answer to counting step `step` with every patient's contribution bounded, for a job with noised setup counts
    /// (`privacy.setup_noise_multiplier`); nil when the objective cannot bound them (such a job is then refused).
    func boundedCounts(_ step: SetupStep, request: SetupRequest) throws -> BoundedCounts?
}

extension SiteSetup {
    /// By default an objective does not bound its setup counts.
    public func boundedCounts(_ step: SetupStep, request: SetupRequest) throws -> BoundedCounts? { nil }
}

/// The objectives this process knows, by name: the built-in ones, plus any registered at start-up (a test objective).
public enum PretrainingObjectives {
    /// The objectives every FedCT build has.
    public static let builtIn: [any PretrainingObjective] = [TimeToEventObjective(), HLIPObjective(), MEDFORMObjective()]

    private static let registry = Registry(builtIn)

    /// Adds (or replaces) an objective under its name; job specs may then name it.
    public static func register(_ objective: any PretrainingObjective) {
        registry.add(objective)
        ObjectiveKind.register(ObjectiveKind(rawValue: objective.name))
    }

    /// The registered objectives' names, sorted.
    public static var names: [String] { registry.names }

    /// The objective named `name`; an unknown name is an error that names the known ones.
    public static func named(_ name: String, source: String = "job") throws -> any PretrainingObjective {
        guard let objective = registry.objective(name) else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'objective' names '\(name)', which this FedCT build does not have (it has: \(names.joined(separator: ", ")))")
        }
        return objective
    }

    /// The objective of `spec` (`objective:`; a spec without one is time-to-event, as every job before the field).
    public static func of(_ spec: Fedct_V1_JobSpec, source: String = "job") throws -> any PretrainingObjective {
        try named(spec.objectiveKind.rawValue, source: source)
    }

    /// Checks `spec`'s objective exists, its own fields, that the job's privacy level is one the objective allows, and that
    /// noised setup counts are asked for only by a job with a setup stage.
    public static func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {
        let objective = try of(spec, source: source)
        if (spec.encoder.architecture == "none") != objective.carriesImageTower {
            throw FedCTError(.invalidConfiguration, objective.carriesImageTower
                ? "\(source): field 'encoder.architecture' must be none for objective '\(objective.name)', which carries its own image tower (sized by its '\(objective.name)' section)"
                : "\(source): field 'encoder.architecture' is none, but objective '\(objective.name)' needs a shared encoder (resnet3d or densenet121)")
        }
        try objective.validate(spec, source: source)
        if spec.privacy.setupNoiseMultiplier > 0 && objective.setupDerivation(for: spec) == nil {
            let why = objective.name == TimeToEventObjective.name ? "tte.derive_tasks is off" : "objective '\(objective.name)' has no setup stage"
            throw FedCTError(.invalidConfiguration, "\(source): field 'privacy.setup_noise_multiplier' is \(spec.privacy.setupNoiseMultiplier), but the job sends no setup counts to noise (\(why)); leave it out")
        }
        if spec.privacyLevel == .patient && !objective.supportsPatientLevelDP {
            throw FedCTError(.invalidConfiguration, "\(source): field 'privacy.level' is patient, but objective '\(objective.name)' has a loss that couples the examples of a batch (contrastive), so DP-SGD cannot clip per patient; use privacy.level: site")
        }
    }

    /// The objectives by name behind a lock: registration happens at start-up, look-ups from any task.
    private final class Registry: @unchecked Sendable {  // every access to `objectives` holds `lock`
        private let lock = NSLock()
        private var objectives: [String: any PretrainingObjective]

        init(_ builtIn: [any PretrainingObjective]) { objectives = Dictionary(uniqueKeysWithValues: builtIn.map { ($0.name, $0) }) }

        func add(_ objective: any PretrainingObjective) { lock.withLock { objectives[objective.name] = objective } }
        func objective(_ name: String) -> (any PretrainingObjective)? { lock.withLock { objectives[name] } }
        var names: [String] { lock.withLock { objectives.keys.sorted() } }
    }
}

extension PretrainingObjective {
    /// Objectives build on the job's shared encoder unless they say otherwise.
    public var carriesImageTower: Bool { false }

    public var fewShotOutcomes: [BinaryOutcome] { [] }

    public var fewShotFindings: [LanguageImageEvaluation.Finding] { [] }

    /// The seeded model of `spec`, unless the objective starts from a stored model.
    public func initialModel(for spec: Fedct_V1_JobSpec, fetch: (String) throws -> [UInt8]) throws -> TorchModel { try TorchModel(spec: spec) }

    public func startingModels(for spec: Fedct_V1_JobSpec) -> [(field: String, sha256: String)] { [] }
}
