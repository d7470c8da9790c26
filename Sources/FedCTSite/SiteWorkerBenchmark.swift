// SiteWorkerBenchmark: a site's local epoch alone and with its data-parallel workers, timed in one run (`fedct-site bench-workers`).
import FedCTCore
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
public import Logging

/// Times one round's local training of `spec` on the site's data the way the agent runs it: alone (one process), and
/// data-parallel through the site's `workers` (the agent as rank 0, its worker processes started by a `SiteWorkerPool`,
/// the order broadcast, every rank's preparation checked). The two alternate, after one untimed run each (the workers
/// start and read the data then), so other load on a shared machine biases neither.
public enum SiteWorkerBenchmark {
    /// Seconds of each timed run, alone and data-parallel, in the order they ran.
    public struct Figures: Sendable {
        public var alone: [Double]
        public var parallel: [Double]
    }

    public static func run(config: SiteConfig, spec: Fedct_V1_JobSpec, runs: Int, executable: URL, logger: Logger) throws -> Figures {
        guard config.workers.isDataParallel else {
            throw FedCTError(.invalidConfiguration, "\(config.path): field 'workers' must name more than one process to compare with one")
        }
        Torch.setThreadCount(config.threads)
        var task = Fedct_V1_Task()
        task.jobID = "bench-workers"
        task.round = 1
        task.spec = spec
        let dataset = try SiteRoundTraining.loadDataset(for: spec, config: config, logger: logger)
        let model = try TorchModel(spec: spec)
        let start = try model.exportState()
        let trainer = SiteRoundTraining.trainer(for: spec, dpSGDSeed: 1, textEncoder: nil)
        let seed = SiteRoundTraining.seed(of: task)
        let pool = try SiteWorkerPool(config: config, executable: executable, logger: logger)
        defer { pool.stop() }
        let order = WorkerOrder(task: task, start: start, seed: seed, dpSGDSeed: 1, examplesSHA256: SiteRoundTraining.fingerprint(dataset.train))

        func alone() throws -> Double {
            try model.importState(start)
            return try timed { _ = try trainer.train(model, on: dataset.train, seed: seed, round: 1, rounds: Int(spec.rounds)) }
        }
        func parallel() throws -> Double {
            try model.importState(start)
            return try timed {
                let rendezvous = try pool.announceRound()
                _ = try pool.train(order, model: model, trainer: trainer, examples: dataset.train, at: rendezvous)
            }
        }
        _ = try alone()
        _ = try parallel()
        var figures = Figures(alone: [], parallel: [])
        for _ in 0..<runs {
            figures.alone.append(try alone())
            figures.parallel.append(try parallel())
        }
        return figures
    }

    private static func timed(_ body: () throws -> Void) throws -> Double {
        let started = ContinuousClock.now
        try body()
        let elapsed = started.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
