// TTEExperiment: the experiment table — one encoder trained five ways on the same sites, scored on their held-out patients.
public import FedCTCore
public import FedCTData
public import FedCTProto
import FedCTTorch
import Foundation

/// Trains the job spec's encoder five ways — random init, local-only at each site, federated FedAvg, federated with
/// secure aggregation (the spec's DP applied), centralised on the pooled data — beside the oracle and any pre-trained
/// models, and scores every one with the same Cox probe on frozen embeddings (`ExperimentScorer`).
///
/// Everything runs in this process and is deterministic given the spec's seed: round r's local training uses seed
/// `spec.seed + 7919·r` at every site, as `fedct-site` does.
public struct TTEExperiment {
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
    /// Outcome codes to score (each one of the spec's tasks).
    public var tasks = ["DEATH"]
    public var bootstrapReplicates = 1000
    /// Torch threads: the centralised arm and scoring use them all; the sites' local training runs one site per
    /// thread, `threads` sites at a time, each with one Torch thread (as one `fedct-site` per core would).
    public var threads = 1
    /// Called with one line per arm and round (the command prints them to stderr); called from several threads.
    public var progress: @Sendable (String) -> Void = { _ in }

    public init(spec: Fedct_V1_JobSpec, sites: [Site]) {
        self.spec = spec
        self.sites = sites
    }

    /// Labels of the federated arms.
    public static let randomInitLabel = "random-init"
    public static let fedAvgLabel = "federated-fedavg"
    public static let centralisedLabel = "centralised"
    public static let oracleLabel = "oracle"
    public static let localOnlyPrefix = "local-only:"

    /// The secure arm's label: "federated-secure", with "+site-dp" or "+patient-dp" when the spec asks for DP.
    public var secureLabel: String {
        switch spec.privacy.level {
        case "site", "patient": "federated-secure+\(spec.privacy.level)-dp"
        default: "federated-secure"
        }
    }

    /// Trains and scores every arm, then the pre-trained models and the oracle.
    public func run() throws -> ExperimentTable {
        guard !sites.isEmpty else { throw FedCTError(.invalidConfiguration, "the experiment needs at least one --data site folder") }
        for site in sites where site.dataset.train.isEmpty || site.dataset.heldout.isEmpty {
            throw FedCTError(.invalidData, "\(site.name): the experiment needs train and held-out scans with follow-up (cohort.csv split column)")
        }
        Torch.setThreadCount(threads)
        let started = Date()
        let scorer = try ExperimentScorer(spec: spec, sites: sites, tasks: tasks, replicates: bootstrapReplicates)
        var table = ExperimentTable(tasks: tasks, cohorts: scorer.cohorts.map(\.name))
        var predictions: [String: [String: ExperimentPrediction]] = [:]
        func add(_ label: String, _ model: TorchModel, seconds: Double) throws {
            let scoring = Date()
            predictions[label] = try scorer.predictions(of: model)
            table.add(arm: label, predictions: predictions[label]!, scorer: scorer, trainingSeconds: seconds)
            progress("\(label): scored (\(String(format: "%.1f", Date().timeIntervalSince(scoring))) s)")
        }
        try add(Self.randomInitLabel, try TorchModel(spec: spec), seconds: 0)
        let locals = try sites.map { _ in try TorchModel(spec: spec) }
        let (_, localSeconds) = try timed {
            try perSite(models: locals) { site, model in
                _ = try trainLocally(label: Self.localOnlyPrefix + sites[site].name, on: sites[site].dataset.train, model: model)
            }
        }
        for (site, model) in zip(sites, locals) { try add(Self.localOnlyPrefix + site.name, model, seconds: localSeconds) }
        let (fedAvg, fedAvgSeconds) = try timed { try federate(secure: false) }
        try add(Self.fedAvgLabel, fedAvg, seconds: fedAvgSeconds)
        let (secure, secureSeconds) = try timed { try federate(secure: true) }
        try add(secureLabel, secure, seconds: secureSeconds)
        let (central, centralSeconds) = try timed {
            try trainLocally(label: Self.centralisedLabel, on: sites.flatMap(\.dataset.train), model: try TorchModel(spec: spec))
        }
        try add(Self.centralisedLabel, central, seconds: centralSeconds)
        for model in pretrained {
            let network = try TorchModel(spec: spec)
            try network.load(model.state, source: model.label)
            try add(model.label, network, seconds: 0)
        }
        if let groundTruth {
            table.add(arm: Self.oracleLabel, predictions: try scorer.oraclePredictions(groundTruth), scorer: scorer, trainingSeconds: 0)
        }
        table.checks = table.expectedShapeChecks(predictions: predictions, scorer: scorer)
        table.seconds = Date().timeIntervalSince(started)
        return table
    }

    private func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let started = Date()
        let value = try body()
        return (value, Date().timeIntervalSince(started))
    }
}
