// SiteAgent+Round: the interpreter of `SiteRound` — carries out each directive (link calls, loads, libtorch off the pool) and reports back.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import Logging

extension SiteAgent {
    /// What a round's steps have produced for the steps after them: the buffers and handles the `SiteRound` value does
    /// not hold. Each field is set by the directive that precedes its readers (the value orders them).
    struct RoundWork {
        let started = ContinuousClock.now
        var dataset: SiteDataset?
        var session: SecAggSiteSession?
        /// The global model, until the delta is computed.
        var base: ModelState?
        /// The global model with this site's local layers, as training started: kept for the workers' order only.
        var start: [Float] = []
        var model: TorchModel?
        var trainer: LocalTrainer?
        var dpSGDSeed: UInt64?
        var trainingSeconds = Duration.zero
        var delta: [Float] = []
    }

    /// Runs one TRAIN task: `SiteRound` decides each step, this carries it out and feeds its result (or failure) back,
    /// until the round's outcome.
    func train(_ task: Fedct_V1_Task) async -> SiteRound.Outcome {
        var round = SiteRound(task: task, policy: SiteRound.Policy(config: config))
        var work = RoundWork()
        var pending = round.start()
        while !pending.isEmpty {
            let directive = pending.removeFirst()
            if case .finish(let outcome) = directive { return outcome }
            do {
                pending += try await perform(directive, round: &round, work: &work)
            } catch {
                pending = round.onFailed(error)
            }
        }
        preconditionFailure("job \(task.jobID) round \(task.round): the site's round ended without an outcome")
    }

    /// Carries out `directive` and returns what `round` directs next.
    private func perform(_ directive: SiteRound.Directive, round: inout SiteRound, work: inout RoundWork) async throws -> [SiteRound.Directive] {
        let task = round.task
        let spec = task.spec
        switch directive {
        case .loadData:
            let dataset = try dataset(for: spec)
            work.dataset = dataset
            return round.onDataLoaded(examples: dataset.train.count, patients: Set(dataset.train.map(\.subjectID)).count,
                                      dataDirectory: config.dataDirectory)
        case .openSecureSession:
            work.session = try await openSecureSession(task)
            return round.onSecureSessionOpened()
        case .fetchModel(let sha256, let bytes):
            let blob = try await withRetries("fetch model") { try await link.fetchModel(sha256: sha256, expectedBytes: bytes) }
            work.base = try SafeTensors.decode(blob, source: "global model \(sha256.prefix(12))")
            return round.onModelFetched()
        case .loadModel:
            let base = Self.produced(work.base, "the global model")
            let model = try model(for: spec)
            let strategy = try ServerStrategy(spec: spec.strategy, source: "job \(task.jobID)")
            let (start, localRanges) = try withLocalLayers(base, task: task)
            try model.load(start, source: "global model \(task.modelSha256.prefix(12))")
            try model.setProximal(mu: strategy.proximalMu)
            // Data-parallel ranks must draw the same DP-SGD batches and noise: the round's secret seed is drawn here and sent
            // to the workers only (alone, the trainer draws it).
            let dpSGDSeed = spec.privacyLevel == .patient && workerPool != nil ? UInt64.random(in: .min ... .max) : nil
            let trainer = SiteRoundTraining.trainer(for: spec, dpSGDSeed: dpSGDSeed, textEncoder: try textEncoder(for: task))
            (work.model, work.trainer, work.dpSGDSeed) = (model, trainer, dpSGDSeed)
            if workerPool != nil { work.start = start.values }
            return round.onModelLoaded(localRanges: localRanges, dpSGDSchedule: trainer.dpSGDSchedule(patients: round.patients))
        case .checkBudget(let planned, let limit, let delta):
            let ledger = try PrivacyBudgetLedger.open(at: privacyLedgerURL)
            try ledger.check(planned: planned, limitEpsilon: limit, delta: delta)
            return round.onBudgetChecked()
        case .train(let heartbeat, let interval):
            let trainingStarted = ContinuousClock.now
            let result = try await trainLocally(task, work: work, heartbeat: heartbeat, every: interval)
            work.trainingSeconds = trainingStarted.duration(to: .now)
            return round.onTrained(SiteRound.Trained(meanLoss: result.meanLoss, steps: result.steps, samplingRate: result.samplingRate,
                                                     noiseMultiplier: result.noiseMultiplier))
        case .recordSpend(let spends):
            try recordPrivacySpend(spends)
            return round.onSpendRecorded()
        case .computeDelta(let localRanges):
            let model = Self.produced(work.model, "the trained model")
            let base = Self.produced(work.base, "the global model")
            // One model-sized buffer: the trained state becomes the delta in place, and the global model goes once it is used.
            var delta = try model.exportState()
            if !localRanges.isEmpty {
                // FedBN: normalisation layers stay here; so does a pretrained text tower. The coordinator's copies get no update.
                localStates[task.jobID] = Dictionary(localRanges.map { ($0, Array(delta[$0])) }, uniquingKeysWith: { first, _ in first })
            }
            let allFinite = try RoundDelta.subtract(base.values, from: &delta, zeroing: localRanges)
            (work.base, work.start, work.delta) = (nil, [], delta)
            return round.onDeltaComputed(allFinite: allFinite)
        case .uploadPlain(var header):
            // The delta's own bytes are the payload (little-endian float32), hashed in one pass.
            let payload = UpdatePayload(floats: work.delta)
            header.coordinateCount = Int64(work.delta.count)
            header.payloadSha256 = payload.sha256
            let receipt = try await link.upload(header: header, payload: payload)
            return round.onUploaded(bytesReceived: receipt.bytesReceived)
        case .uploadMasked(let upload):
            guard work.session != nil else { preconditionFailure("a masked upload without a secure session") }
            let receipt = try await sendMaskedUpdate(&work.session!, task: task, delta: work.delta, upload: upload)
            return round.onUploaded(bytesReceived: receipt.bytesReceived)
        case .report(let report):
            let seconds = (ContinuousClock.now - work.started).components.seconds
            let training = work.trainingSeconds.components
            SiteMetrics.roundTrained(trainingSeconds: Double(training.seconds) + Double(training.attoseconds) * 1e-18)
            logger.info("round trained and uploaded", metadata: [
                "job": "\(task.jobID)", "round": "\(task.round)", "loss": "\(String(format: "%.4f", report.meanLoss))",
                "steps": "\(report.steps)", "bytes": "\(report.bytesReceived)", "seconds": "\(seconds)", "secure": "\(report.secure)",
            ])
            return []
        case .finish:
            preconditionFailure("finish is the interpreter loop's to take")
        }
    }

    /// Trains the loaded model on the site's examples — alone, or as rank 0 of the site's workers — off the cooperative
    /// pool, with `heartbeat` sent every `interval` meanwhile.
    private func trainLocally(_ task: Fedct_V1_Task, work: RoundWork, heartbeat: Fedct_V1_HeartbeatRequest,
                              every interval: Duration) async throws -> LocalTrainingResult {
        let model = Self.produced(work.model, "the loaded model")
        let trainer = Self.produced(work.trainer, "the round's trainer")
        let examples = Self.produced(work.dataset, "the site's data").train
        let seed = SiteRoundTraining.seed(of: task)
        if let workerPool {
            let order = WorkerOrder(task: task, start: work.start, seed: seed, dpSGDSeed: work.dpSGDSeed,
                                    examplesSHA256: SiteRoundTraining.fingerprint(examples))
            let rendezvous = try workerPool.announceRound()
            return try await offThePool(heartbeat: heartbeat, every: interval) {
                try workerPool.train(order, model: model, trainer: trainer, examples: examples, at: rendezvous)
            }
        }
        return try await offThePool(heartbeat: heartbeat, every: interval) {
            try trainer.train(model, on: examples, seed: seed, round: Int(task.round), rounds: Int(task.spec.rounds))
        }
    }

    /// What an earlier step of the round produced; `SiteRound` orders the steps, so a missing one is a bug here.
    private static func produced<T>(_ value: T?, _ what: String) -> T {
        guard let value else { preconditionFailure("\(what) is read before the step that produces it") }
        return value
    }
}
