// PretrainingExperiment: the experiment table — one encoder trained five ways on the same sites, scored on their held-out patients.
public import FedCTCore
public import FedCTData
public import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation

/// Trains the job spec's encoder — of any pretraining objective (TTE, HLIP) — five ways: random init, local-only at each
/// site, federated FedAvg, federated with secure aggregation (the spec's DP applied), centralised on the pooled data;
/// beside the oracle, any pre-trained models and encoders of other objectives (`companions`), and scores every one
/// with the same probes on frozen embeddings (and, for a model with a text tower, its zero-shot and retrieval scores)
/// on the same held-out examples (`ExperimentScorer`).
///
/// Everything runs in this process and is deterministic given the spec's seed: round r's local training uses seed
/// `spec.seed + 7919·r` at every site, as `fedct-site` does.
public struct PretrainingExperiment {
    /// One site's data.
    public struct Site: Sendable {
        public var name: String
        public var dataset: SiteDataset

        public init(name: String, dataset: SiteDataset) {
            self.name = name
            self.dataset = dataset
        }
    }

    /// The job spec: encoder, head, training settings, rounds, strategy, secure aggregation and privacy.
    public var spec: Fedct_V1_JobSpec
    public var sites: [Site]
    /// The generator's true hazards, for the oracle row (nil: no oracle).
    public var groundTruth: SyntheticGroundTruth?
    /// Models trained elsewhere (e.g. by the daemons), scored like the arms, in this order.
    public var pretrained: [(label: String, state: ModelState)] = []
    /// Encoders of other objectives scored beside the arms on the same examples, in this order (e.g. the TTE encoder in
    /// HLIP's table; the TTE and HLIP encoders in MEDFORM's); labels distinct from the arms' and each other's.
    public var companions: [Companion] = []
    /// A first stage (MEDFORM's stage 1): when set, every arm is first trained the same way with this spec (its seed moved
    /// by the seed index like `spec`'s), and the arm's model of `spec` starts from that model through the objective's
    /// `initialModel(for:fetch:)` — as a stage-2 job starts from the stage-1 job's committed model. The arm's training
    /// seconds include both stages.
    public var firstStage: Fedct_V1_JobSpec?
    /// Each arm's first-stage model and its training seconds, by arm label (set while the arms train).
    var firstStageModels: [String: (state: ModelState, seconds: Double)] = [:]
    /// Which statements the table checks.
    public var checks = ExperimentChecks.timeToEvent
    /// The tasks to score (default: the paper's eight binary tasks and four time-to-event tasks).
    public var tasks = ExperimentTask.paper
    /// The trained arms to run (default: all five); the checks and gains that need a left-out arm read N/A.
    public var arms = Set(ExperimentArmKind.allCases)
    /// Training seeds per arm: seed index s trains every arm from the spec with seed `spec.seed + s`, so arms are
    /// paired by seed (the same initial model and round seeds).
    public var seeds = 5
    public var bootstrapReplicates = 1000
    /// The half-width the checks' paired differences aim for (their precision lines say what would reach it).
    public var targetHalfWidth = 0.02
    /// Record the federated arms' learning curves (train loss every seed; pooled C of the first seed's round models).
    public var learningCurves = true
    /// Scans per inference batch when embedding.
    public var embeddingBatchSize = 32
    /// Torch threads: the centralised arm and scoring use them all; the sites' local training runs one site per
    /// thread, `threads` sites at a time, each with one Torch thread (as one `fedct-site` per core would).
    public var threads = 1
    /// Called with one line per arm and round (the command prints them to stderr); called from several threads.
    public var progress: @Sendable (String) -> Void = { _ in }
    /// Where finished seeds are kept and restored from (nil: nowhere); see ``ExperimentCheckpoints``.
    public var checkpointFolder: URL?

    public init(spec: Fedct_V1_JobSpec, sites: [Site]) {
        self.spec = spec
        self.sites = sites
    }

    /// An encoder of another objective (its own job spec, same volume size): trained federated with FedAvg on the same
    /// sites' train examples for every seed (seed index s: its spec's seed + s), or, when `model` is given, that model.
    /// The examples must carry the targets its objective trains on (load them with its recipe's targets).
    public struct Companion {
        public var label: String
        public var spec: Fedct_V1_JobSpec
        public var model: ModelState?

        public init(label: String, spec: Fedct_V1_JobSpec, model: ModelState? = nil) {
            self.label = label
            self.spec = spec
            self.model = model
        }
    }

    /// Labels of the federated arms.
    public static let randomInitLabel = "random-init"
    public static let fedAvgLabel = "federated-fedavg"
    public static let centralisedLabel = "centralised"
    public static let oracleLabel = "oracle"
    public static let localOnlyPrefix = "local-only:"

    /// The secure arm's label: "federated-secure", with "+site-dp" or "+patient-dp" when the spec asks for DP.
    public var secureLabel: String {
        switch spec.privacyLevel {
        case .site, .patient: "federated-secure+\(spec.privacyLevel.rawValue)-dp"
        case .none: "federated-secure"
        }
    }

    /// Seed index `index`'s experiment (`seeded(index)`) for `companion`: its spec, its seed moved by `index`.
    func companionRun(_ companion: Companion, _ index: Int) -> PretrainingExperiment {
        var other = seeded(index)
        other.spec = companion.spec
        other.spec.seed = companion.spec.seed &+ UInt64(index)
        return other
    }

    /// The experiment with seed index `index`: the spec's seed moved by `index`.
    func seeded(_ index: Int) -> PretrainingExperiment {
        var copy = self
        copy.spec.seed = spec.seed &+ UInt64(index)
        copy.firstStage?.seed = (firstStage?.seed ?? 0) &+ UInt64(index)
        return copy
    }

    /// Trains and scores every arm over the seeds, then the pre-trained models and the oracle.
    public func run() throws -> ExperimentTable {
        guard !sites.isEmpty else { throw FedCTError(.invalidConfiguration, "the experiment needs at least one --data site folder") }
        guard seeds >= 1 else { throw FedCTError(.invalidConfiguration, "the experiment needs at least one seed") }
        for site in sites where site.dataset.train.isEmpty || site.dataset.heldout.isEmpty {
            throw FedCTError(.invalidData, "\(site.name): the experiment needs train and held-out scans with follow-up (cohort.csv split column)")
        }
        for companion in companions where companion.spec.training.volumeSize != spec.training.volumeSize {
            throw FedCTError(.invalidConfiguration, "\(companion.label): its job spec's training.volume_size \(companion.spec.training.volumeSize) differs from the experiment's \(spec.training.volumeSize); both encoders read the same preprocessed examples")
        }
        let trainedLabels = [Self.randomInitLabel, Self.fedAvgLabel, secureLabel, Self.centralisedLabel, Self.oracleLabel] + sites.map { Self.localOnlyPrefix + $0.name }
        let otherLabels = companions.map(\.label) + pretrained.map(\.label)
        guard Set(otherLabels).count == otherLabels.count, Set(otherLabels).isDisjoint(with: trainedLabels) else {
            throw FedCTError(.invalidConfiguration, "pre-trained models and encoders of other objectives need distinct labels, none an arm's, got \(otherLabels.joined(separator: ", "))")
        }
        Torch.setThreadCount(threads)
        let started = Date()
        let scorer = try ExperimentScorer(sites: sites, tasks: tasks, seeds: seeds, replicates: bootstrapReplicates, seed: spec.seed, groundTruth: groundTruth)
        let clock = ExperimentClock()
        var arms = ExperimentArms()
        var curves: [ExperimentCurvePoint] = []
        let curveTask = tasks.first { $0.kind == .survival }
        let checkpoints = try checkpointFolder.map { ExperimentCheckpoints(folder: $0, fingerprint: try trainingFingerprint()) }
        for index in 0..<seeds {
            let run = seeded(index)
            if let checkpoints, let restored = try checkpoints.load(seed: index) {
                progress("seed \(index + 1)/\(seeds) (spec seed \(run.spec.seed)): restored from \(checkpoints.recordURL(seed: index).path)")
                for arm in restored.arms {
                    let scoring = companions.first { $0.label == arm.label && $0.model == nil }.map { companionRun($0, index) } ?? run
                    let model = try scoring.pretrainedModel(arm.model, spec: scoring.spec, label: arm.label)
                    arms.add(arm.label, try scoring.predictions(of: model, scorer: scorer, clock: clock), seconds: arm.seconds)
                }
                curves += restored.curves
                continue
            }
            progress("seed \(index + 1)/\(seeds) (spec seed \(run.spec.seed))")
            var finished = ExperimentCheckpoints.Seed(arms: [], curves: [])
            func add(_ label: String, _ model: TorchModel, seconds: Double, scoring: PretrainingExperiment) throws {
                arms.add(label, try scoring.predictions(of: model, scorer: scorer, clock: clock), seconds: seconds)
                if checkpoints != nil { finished.arms.append(.init(label: label, model: try model.state(), seconds: seconds)) }
            }
            try run.trainArms(clock: clock) { label, model, seconds in
                try add(label, model, seconds: seconds, scoring: run)
            } afterRound: { label, round, model, loss in
                var point = ExperimentCurvePoint(arm: label, seed: index, round: round, trainLoss: loss)
                if index == 0, learningCurves, let curveTask {
                    let features = try clock.time("learning curves") { try run.embeddings(of: model) }
                    let predictions = scorer.predictions(trainFeatures: features.train, heldoutFeatures: features.heldout)
                    point.pooledHarrellC = predictions.byTask[curveTask.name].flatMap { try? scorer.pooledHarrellC($0, task: curveTask) }
                }
                finished.curves.append(point)
            }
            for companion in companions where companion.model == nil {
                let other = companionRun(companion, index)
                let started = Date()
                let model = try clock.time("training") { try other.federate(secure: false, label: companion.label) }
                try add(companion.label, model, seconds: Date().timeIntervalSince(started), scoring: other)
            }
            curves += finished.curves
            try checkpoints?.save(seed: index, specSeed: run.spec.seed, description: checkpointDescription, finished)
        }
        for model in pretrained {
            let scored = try predictions(of: try pretrainedModel(model.state, spec: spec, label: model.label), scorer: scorer, clock: clock)
            for _ in 0..<seeds { arms.add(model.label, scored, seconds: 0) }
        }
        for companion in companions {
            guard let state = companion.model else { continue }
            var other = self
            other.spec = companion.spec
            let scored = try other.predictions(of: try pretrainedModel(state, spec: companion.spec, label: companion.label), scorer: scorer, clock: clock)
            for _ in 0..<seeds { arms.add(companion.label, scored, seconds: 0) }
        }
        if let groundTruth {
            let predictions = scorer.oraclePredictions(groundTruth)
            for _ in 0..<seeds { arms.add(Self.oracleLabel, predictions, seconds: 0) }
        }
        var table = ExperimentTable(tasks: tasks, cohorts: scorer.cohorts.map(\.name), seeds: seeds)
        for label in arms.order {
            let perSeed = arms.predictions[label]!
            let samples = clock.time("bootstrap") { scorer.samples(perSeed: perSeed) }
            var notes: [String: String] = [:]
            for predictions in perSeed { notes.merge(predictions.notes) { first, _ in first } }
            table.add(arm: label, samples: samples, notes: notes, scorer: scorer, trainingSeconds: arms.seconds[label]!)
            progress("\(label): scored")
        }
        table.addGains(over: Self.randomInitLabel)
        table.addChecks(checks, scorer: scorer, target: targetHalfWidth)
        table.curves = curves
        table.phases = clock.phases
        table.seconds = Date().timeIntervalSince(started)
        return table
    }
}

/// The ways an experiment trains the spec's encoder (its arms), as `--arms` names them.
public enum ExperimentArmKind: String, CaseIterable, Sendable {
    case randomInit = "random-init"
    case localOnly = "local-only"
    case fedAvg = "fedavg"
    case secure
    case centralised
}

/// Every arm's predictions per seed, in the order the arms were first added, and their training seconds summed over seeds.
struct ExperimentArms {
    var order: [String] = []
    var predictions: [String: [ExperimentPredictions]] = [:]
    var seconds: [String: Double] = [:]

    mutating func add(_ label: String, _ prediction: ExperimentPredictions, seconds: Double) {
        if predictions[label] == nil { order.append(label) }
        predictions[label, default: []].append(prediction)
        self.seconds[label, default: 0] += seconds
    }
}

/// Wall time per phase of the experiment; a phase timed inside another is taken out of the outer one.
final class ExperimentClock {
    private(set) var phases: [(name: String, seconds: Double)] = []
    private var nested: [Double] = []

    /// Runs `body`, adding its wall time (less that of phases timed inside it) to `phase`.
    func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let started = Date()
        nested.append(0)
        defer {
            let elapsed = Date().timeIntervalSince(started)
            let inner = nested.removeLast()
            if !nested.isEmpty { nested[nested.count - 1] += elapsed }
            if let index = phases.firstIndex(where: { $0.name == phase }) {
                phases[index].seconds += elapsed - inner
            } else {
                phases.append((phase, elapsed - inner))
            }
        }
        return try body()
    }
}
