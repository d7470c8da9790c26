// PretrainingExperiment+Training: the trained arms — local-only and centralised training, and federated rounds in one process.
import FedCTCore
import FedCTData
import FedCTProto
public import FedCTTorch
import FedCTTraining
import Foundation
import Synchronization

extension PretrainingExperiment {
    /// The seed of round `round`'s local training, the one `fedct-site` uses (the same at every site).
    static func roundSeed(_ jobSeed: UInt64, round: Int) -> UInt64 { jobSeed &+ UInt64(round) &* 7919 }

    /// `model` (the spec's initial model) trained on `examples` alone for the spec's rounds × local epochs, the
    /// optimiser restarted each round as at a site (local-only: one site's train split; centralised: all of them pooled).
    public func trainLocally(label: String, on examples: [SiteExample], model: TorchModel) throws -> TorchModel {
        let trainer = LocalTrainer(training: spec.training)
        let rounds = Int(spec.rounds)
        for round in 1...rounds {
            let started = Date()
            let result = try trainer.train(model, on: examples, seed: Self.roundSeed(spec.seed, round: round), round: round, rounds: rounds)
            progress("\(label) round \(round)/\(rounds): loss \(String(format: "%.4f", result.meanLoss)), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
        return model
    }

    /// Federated training as the daemons do it, in one process: each round every site loads the global model, trains
    /// its local epochs (LocalTrainer, FedProx's μ from the strategy) and forms its update Δ = trained − global; the
    /// coordinator's side combines the updates and applies the job's `ServerStrategy`.
    ///
    /// Plain (`secure` false): the example-weighted mean by `PlainAggregator`, as `Coordinator` aggregates spooled updates.
    /// Secure: each update goes through the spec's `FixedPointEncoding` (clipping, site-level DP noise under
    /// `privacy.level: site`, stochastic rounding to 32-bit words, the weight `secureWeight`), the words are added
    /// mod 2^32 and decoded, as the coordinator decodes the unmasked sum; under `privacy.level: patient` the sites
    /// train with DP-SGD. The pairwise and self masks are left out: they cancel exactly in the sum (pinned by the
    /// secure-aggregation tests), so the decoded mean is the one the daemons get. Randomness is seeded from the job.
    /// `afterRound(round, model, meanSiteLoss)`, when given, sees the global model after each round. `label` names the
    /// arm in the progress lines (default: `federated-fedavg` or the secure arm's label).
    public func federate(secure: Bool, label: String? = nil,
                         afterRound: (_ round: Int, _ model: TorchModel, _ meanLoss: Double) throws -> Void = { _, _, _ in }) throws -> TorchModel {
        let label = label ?? (secure ? secureLabel : Self.fedAvgLabel)
        let strategy = try ServerStrategy(spec: spec.strategy, source: "job spec")
        guard strategy.kind != .fedbn else {
            throw FedCTError(.invalidConfiguration, "the experiment does not simulate FedBN's site-local normalisation layers; use strategy.name fedavg, fedprox, fedadam or fedyogi")
        }
        // One model per site, made one after another: a model's initialisation seeds libtorch's global generator.
        let models = try sites.map { _ in try TorchModel(spec: spec) }
        let model = models[0]
        var global = try firstStageModels[label] == nil ? model.exportState() : initialModel(label: label).exportState()
        var serverState: ServerOptimizerState?
        let names = sites.map(\.name)
        let encoding = secure
            ? try spec.secureEncoding(keyHolders: sites.count,
                                      threshold: SecAggGraph(members: names, parameters: spec.secureParameters, seed: [UInt8](repeating: 0, count: 32)).threshold)
            : nil
        let rounds = Int(spec.rounds)
        for round in 1...rounds {
            let started = Date()
            let start = global
            let updates = try perSite(models: models) { index, model in
                let site = sites[index]
                var trainer = LocalTrainer(training: spec.training)
                if secure, spec.privacyLevel == .patient {
                    trainer.dpSGD = DPSGDSettings(clipNorm: spec.privacy.clipNorm, noiseMultiplier: spec.privacy.noiseMultiplier,
                                                  seed: Self.roundSeed(spec.seed, round: round) &+ UInt64(index))
                }
                try model.importState(start)
                try model.setProximal(mu: strategy.proximalMu)
                let result = try trainer.train(model, on: site.dataset.train, seed: Self.roundSeed(spec.seed, round: round), round: round, rounds: rounds)
                let delta = zip(try model.exportState(), start).map { $0 - $1 }
                guard delta.allSatisfy(\.isFinite) else {
                    throw FedCTError(.invalidData, "\(label) round \(round): \(site.name)'s update has non-finite values; lower training.learning_rate")
                }
                return (delta: delta, loss: result.meanLoss)
            }
            var plain = PlainAggregator(coordinateCount: global.count)
            var words = [UInt32](repeating: 0, count: encoding?.wordCount(coordinates: global.count) ?? 0)
            for (site, update) in zip(sites, updates) {
                if let encoding {
                    let encoded = try encoding.encode(update.delta, weight: spec.secureWeight(examples: site.dataset.train.count),
                                                      loss: encoding.carriesLoss ? update.loss : nil, seed: spec.seed, stream: "experiment round \(round) \(site.name)")
                    for index in words.indices { words[index] &+= encoded[index] }
                } else {
                    try plain.begin(site: site.name, weight: Int64(site.dataset.train.count))
                    try update.delta.withUnsafeBufferPointer { try plain.add($0) }
                    try plain.end()
                }
            }
            let mean = try encoding?.decode(sum: words).mean ?? plain.weightedMean()
            global = try strategy.apply(meanUpdate: mean, to: global, state: &serverState)
            let meanLoss = updates.map(\.loss).reduce(0, +) / Double(updates.count)
            progress("\(label) round \(round)/\(rounds): mean site loss \(String(format: "%.4f", meanLoss)), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            try model.importState(global)
            try afterRound(round, model, meanLoss)
        }
        try model.setProximal(mu: 0)
        try model.importState(global)
        return model
    }

    /// Trains this seed's arms of `arms` — random init (untrained), local-only at each site (in parallel), federated
    /// FedAvg, federated secure, centralised — handing each finished model to `scored(label, model, trainingSeconds)` and each
    /// federated round's global model to `afterRound(label, round, model, meanSiteLoss)`.
    func trainArms(clock: ExperimentClock, scored: (String, TorchModel, Double) throws -> Void,
                   afterRound: (String, Int, TorchModel, Double) throws -> Void) throws {
        if let firstStage {
            var first = self
            first.spec = firstStage
            first.firstStage = nil
            var second = self
            second.firstStage = nil
            try first.trainArms(clock: clock) { label, model, seconds in
                second.firstStageModels[label == first.secureLabel ? secureLabel : label] = (try model.state(), seconds)
            } afterRound: { label, round, model, loss in
                try afterRound(Self.firstStagePrefix + label, round, model, loss)
            }
            return try second.trainArms(clock: clock, scored: { label, model, seconds in
                try scored(label, model, seconds + (second.firstStageModels[label]?.seconds ?? 0))
            }, afterRound: afterRound)
        }
        func timed<T>(_ body: () throws -> T) throws -> (T, Double) {
            let started = Date()
            let value = try clock.time("training", body)
            return (value, Date().timeIntervalSince(started))
        }
        if arms.contains(.randomInit) { try scored(Self.randomInitLabel, try initialModel(label: Self.randomInitLabel), 0) }
        if arms.contains(.localOnly) {
            let locals = try sites.map { try initialModel(label: Self.localOnlyPrefix + $0.name) }
            let (_, localSeconds) = try timed {
                try perSite(models: locals) { site, model in
                    _ = try trainLocally(label: Self.localOnlyPrefix + sites[site].name, on: sites[site].dataset.train, model: model)
                }
            }
            for (site, model) in zip(sites, locals) { try scored(Self.localOnlyPrefix + site.name, model, localSeconds) }
        }
        for (secure, label) in [(false, Self.fedAvgLabel), (true, secureLabel)] where arms.contains(secure ? .secure : .fedAvg) {
            let (model, seconds) = try timed { try federate(secure: secure) { try afterRound(label, $0, $1, $2) } }
            try scored(label, model, seconds)
        }
        guard arms.contains(.centralised) else { return }
        let (central, centralSeconds) = try timed {
            try trainLocally(label: Self.centralisedLabel, on: sites.flatMap(\.dataset.train), model: try initialModel(label: Self.centralisedLabel))
        }
        try scored(Self.centralisedLabel, central, centralSeconds)
    }

    /// The prefix of a first stage's arms in progress lines and learning curves.
    static let firstStagePrefix = "stage-1 "

    /// The initial model (round 0) of arm `label`, as the coordinator makes it: the spec's seeded model, or, after a
    /// first stage, the objective's initial model started from the arm's first-stage model (handed over as the stored
    /// model the spec names).
    func initialModel(label: String) throws -> TorchModel {
        guard let start = firstStageModels[label] else { return try TorchModel(spec: spec) }
        let bytes = SafeTensors.encode(start.state)
        return try PretrainingObjectives.of(spec).initialModel(for: spec) { _ in bytes }
    }

    /// A model trained elsewhere, in `spec`'s architecture.
    func pretrainedModel(_ state: ModelState, spec: Fedct_V1_JobSpec, label: String) throws -> TorchModel {
        let model = try TorchModel(spec: spec)
        try model.load(state, source: label)
        return model
    }

    /// The embeddings of the pooled train and held-out scans (site order), in inference batches of
    /// `embeddingBatchSize` (evaluation mode: the batch does not change the values).
    func embeddings(of model: TorchModel) throws -> (train: [[Double]], heldout: [[Double]]) {
        var trainer = LocalTrainer(training: spec.training)
        trainer.batchSize = embeddingBatchSize
        return (try trainer.embed(model, sites.flatMap(\.dataset.train)), try trainer.embed(model, sites.flatMap(\.dataset.heldout)))
    }

    /// The scorer's predictions for `model`: probes on its embeddings and, when it has a text tower and a task needs
    /// it, its zero-shot scores and retrieval ranks on each site's held-out studies.
    func predictions(of model: TorchModel, scorer: ExperimentScorer, clock: ExperimentClock) throws -> ExperimentPredictions {
        let features = try clock.time("embedding") { try embeddings(of: model) }
        let languageImage = try languageImageScores(of: model, clock: clock)
        return clock.time("probes") { scorer.predictions(trainFeatures: features.train, heldoutFeatures: features.heldout, languageImage: languageImage) }
    }

    /// The zero-shot scores and retrieval ranks (within each site's held-out studies) of a model with a text tower, when
    /// a task asks for them (timed as the phase "zero-shot"); nil otherwise.
    func languageImageScores(of model: TorchModel, clock: ExperimentClock) throws -> LanguageImageEvaluation.Scores? {
        let needed = tasks.contains { task in
            switch task.kind {
            case .finding(_, zeroShot: true), .retrieval: true
            default: false
            }
        }
        guard needed, model.objective.reportTokens != nil else { return nil }
        var trainer = LocalTrainer(training: spec.training)
        trainer.batchSize = embeddingBatchSize
        return try clock.time("zero-shot") {
            .concatenated(try sites.map { try LanguageImageEvaluation.scores(model: model, trainer: trainer, heldout: $0.dataset.heldout) })
        }
    }

    /// `body(site, models[site])` for every site, `threads` sites at a time, each with one Torch thread (one thread
    /// per site also when run one after another, so the numbers do not depend on `threads`); results in site order.
    func perSite<T: Sendable>(models: [TorchModel], _ body: (Int, TorchModel) throws -> T) throws -> [T] {
        Torch.setThreadCount(1)
        defer { Torch.setThreadCount(threads) }
        guard threads > 1, models.count > 1 else { return try models.indices.map { try body($0, models[$0]) } }
        let results = Mutex<[Result<T, any Error>?]>(Array(repeating: nil, count: models.count))
        let shared = SiteModels(models: models)
        withoutActuallyEscaping(body) { body in
            let work = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: models.count) { index in
                let result = Result { try work.value(index, shared.models[index]) }
                results.withLock { $0[index] = result }
            }
        }
        return try results.withLock { $0 }.map { try $0!.get() }
    }
}

/// The per-site models of a parallel phase. `@unchecked Sendable`: iteration i of `perSite` is the only user of
/// `models[i]`, and the array itself is never mutated.
private final class SiteModels: @unchecked Sendable {
    let models: [TorchModel]
    init(models: [TorchModel]) { self.models = models }
}

/// The body of `perSite`. `@unchecked Sendable`: it reads only the experiment's immutable settings and data, and each
/// call touches only its own site's model.
private struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
