// SiteWorker: one data-parallel worker of a site (`fedct-site worker`) — joins each round's group, trains its share, sends nothing anywhere else.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import Glibc
public import Logging

/// Rank `rank` of a site's data-parallel training (site.yaml `workers`). It never contacts the coordinator and holds no
/// key: each round it receives the agent's `WorkerOrder` over the group, prepares the same examples from its own copy of
/// the data folder, reports whether it could, and trains its share of every step; the agent (rank 0) holds the same model
/// afterwards and is the only one that uploads.
public final class SiteWorker {
    let config: SiteConfig
    let rank: Int
    let logger: Logger
    private var datasets: [String: SiteDataset] = [:]
    private var models: [SiteRoundTraining.ModelKey: TorchModel] = [:]

    /// Checks that `rank` is a worker of `config.workers` (not the agent's rank 0) and sets libtorch's threads.
    public init(config: SiteConfig, rank: Int, logger: Logger) throws {
        guard let placement = config.workers.placement(ofRank: rank), placement != .agent else {
            throw FedCTError(.invalidConfiguration, "\(config.path): --rank \(rank) is not a worker of field 'workers' (ranks 1 to \(config.workers.size - 1); rank 0 is the agent)")
        }
        self.config = config
        self.rank = rank
        self.logger = logger
        Torch.setThreadCount(config.threads)
    }

    /// A worker the agent started: one line on standard input per round says where to meet ("round file PATH" or
    /// "round tcp"). When the input ends — the agent stopped or died — the process exits at once, even mid-round.
    public func followAgent() -> Never {
        let orders = LineQueue()
        let logger = logger
        Thread.detachNewThread {
            while let line = readLine() { orders.push(line) }
            logger.info("the agent closed this worker's input; exiting")
            _exit(0)
        }
        while true {
            let line = orders.pop()
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            do {
                let group: TorchProcessGroup
                switch (words.first, words.dropFirst().first) {
                case ("round", "file") where words.count == 3:
                    group = try TorchProcessGroup(fileStorePath: words[2], rank: rank, size: config.workers.size,
                                                  interfaceHost: config.workers.interfaceHost(ofRank: rank), timeout: config.workers.timeoutSeconds)
                case ("round", "tcp"):
                    group = try joinTCP()
                default:
                    logger.error("unknown order from the agent (is it the same fedct-site version?)", metadata: ["order": "\(line)"])
                    continue
                }
                try round(in: group)
            } catch {
                logger.error("round not trained", metadata: ["worker": "\(rank)", "error": "\(error)"])
            }
        }
    }

    /// A worker on another machine: joins every round the agent opens at `workers.rendezvous`, until stopped.
    public func serveRemote() -> Never {
        logger.info("waiting for the agent's rounds", metadata: [
            "worker": "\(rank)", "rendezvous": "\(config.workers.rendezvous.map { "\($0.host):\($0.port)" } ?? "none")",
            "address": "\(config.workers.interfaceHost(ofRank: rank))"])
        while true {
            let group: TorchProcessGroup
            do {
                group = try joinTCP()
            } catch {
                // The agent serves the rendezvous only while a round trains: no answer within the timeout is normal.
                logger.debug("no round to join yet", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            do {
                try round(in: group)
            } catch {
                logger.error("round not trained", metadata: ["worker": "\(rank)", "error": "\(error)"])
            }
        }
    }

    private func joinTCP() throws -> TorchProcessGroup {
        guard let rendezvous = config.workers.rendezvous else {
            throw FedCTError(.invalidConfiguration, "\(config.path): field 'workers.rendezvous' is needed to join the agent's rounds over the network")
        }
        return try TorchProcessGroup(storeHost: rendezvous.host, storePort: rendezvous.port, rank: rank, size: config.workers.size,
                                     interfaceHost: config.workers.interfaceHost(ofRank: rank), timeout: config.workers.timeoutSeconds)
    }

    /// One round: the order from rank 0, this worker's preparation (same data as the agent's, the start state), the
    /// group's verdict on every rank's preparation, then this rank's share of every step.
    func round(in group: TorchProcessGroup) throws {
        let order = try WorkerOrder(decoding: try group.broadcast(nil), source: "worker \(rank)")
        let task = order.task
        var readiness = [Double](repeating: 0, count: group.size)
        var prepared: (model: TorchModel, trainer: LocalTrainer, examples: [SiteExample])?
        do {
            let dataset = try dataset(for: task.spec)
            if SiteRoundTraining.fingerprint(dataset.train) == order.examplesSHA256 {
                let model = try model(for: task.spec)
                try model.importState(order.start)
                try model.setProximal(mu: try ServerStrategy(spec: task.spec.strategy, source: "job \(task.jobID)").proximalMu)
                let text = try PretrainedTextEncoder.forJob(task.spec, directory: config.textEncoderDirectory, source: "job \(task.jobID)")
                prepared = (model, SiteRoundTraining.trainer(for: task.spec, dpSGDSeed: order.dpSGDSeed, textEncoder: text), dataset.train)
            } else {
                readiness[rank] = 2
                logger.error("this worker's training examples differ from the agent's: give every worker the same data folder (data.dir) and site.yaml data section",
                             metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "examples": "\(dataset.train.count)", "data": "\(config.dataDirectory)"])
            }
        } catch {
            readiness[rank] = 1
            logger.error("cannot prepare the round", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "error": "\(error)"])
        }
        let verdict = try group.sum(readiness)
        guard verdict.allSatisfy({ $0 == 0 }), let prepared else { return }  // the agent reports the round's failure
        try prepared.model.setProcessGroup(group)
        defer { try? prepared.model.setProcessGroup(nil) }
        let result = try prepared.trainer.train(prepared.model, on: prepared.examples, seed: order.seed, round: Int(task.round), rounds: Int(task.spec.rounds))
        logger.info("round trained", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "worker": "\(rank)",
                                               "loss": "\(String(format: "%.4f", result.meanLoss))", "steps": "\(result.steps)"])
    }

    private func dataset(for spec: Fedct_V1_JobSpec) throws -> SiteDataset {
        let key = try SiteRoundTraining.datasetKey(for: spec)
        if let cached = datasets[key] { return cached }
        let dataset = try SiteRoundTraining.loadDataset(for: spec, config: config, logger: logger)
        datasets[key] = dataset
        return dataset
    }

    private func model(for spec: Fedct_V1_JobSpec) throws -> TorchModel {
        let key = try SiteRoundTraining.ModelKey(spec)
        if let cached = models[key] { return cached }
        let model = try TorchModel(spec: spec)
        models[key] = model
        return model
    }
}

/// Lines from the agent, handed from the thread that reads standard input to the worker's loop.
private final class LineQueue: @unchecked Sendable {  // every access holds `condition`
    private let condition = NSCondition()
    private var lines: [String] = []

    func push(_ line: String) {
        condition.withLock {
            lines.append(line)
            condition.signal()
        }
    }

    func pop() -> String {
        condition.withLock {
            while lines.isEmpty { condition.wait() }
            return lines.removeFirst()
        }
    }
}
