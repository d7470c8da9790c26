// SiteWorkerPool: the agent's side of data-parallel rounds — starts and watches its worker processes, opens each round's group as rank 0.
import FedCTCore
import FedCTData
import FedCTTorch
import FedCTTraining
import Foundation
import Glibc
import Logging

/// Rank 0 of a site's data-parallel training (site.yaml `workers`). It starts the `local` − 1 worker processes of this
/// machine (`fedct-site worker --agent-pipe`), each reading a pipe from the agent as its standard input: one line per
/// round says where to meet, and when the agent ends — however it ends — the pipe closes and the worker exits. For each
/// round it opens the group (a fresh rendezvous file in `state_dir/workers`, or with remote workers the TCP store at
/// `workers.rendezvous`), broadcasts the round's `WorkerOrder`, learns whether every rank could prepare the same data,
/// and trains its own share. Any failure becomes one error naming the workers concerned (a local worker's exit status
/// and log); the local workers are then stopped and started afresh for the next round.
final class SiteWorkerPool {
    /// Where a round's ranks meet.
    enum Rendezvous {
        case file(String)
        case tcp(SiteWorkers.Endpoint)
    }

    private struct Child {
        var process: Process
        var input: FileHandle
        var log: URL
    }

    let workers: SiteWorkers
    let configPath: String
    /// The fedct-site executable the local workers run (nil: none may be started).
    let executable: URL?
    let folder: URL
    let logger: Logger
    private var children: [Int: Child] = [:]

    init(config: SiteConfig, executable: URL?, logger: Logger) throws {
        workers = config.workers
        configPath = config.path
        self.executable = executable
        folder = URL(fileURLWithPath: config.stateDirectory).appending(path: "workers")
        self.logger = logger
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // A write to the pipe of a worker that just died must fail as an error, not kill the agent.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { stop() }

    /// Before a round: starts every local worker that is not running and tells each where the round's group meets.
    func announceRound() throws -> Rendezvous {
        for stale in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where stale.hasPrefix("rendezvous-") {
            try? FileManager.default.removeItem(at: folder.appending(path: stale))
        }
        let rendezvous: Rendezvous = workers.rendezvous.map { .tcp($0) }
            ?? .file(folder.appending(path: "rendezvous-\(UUID().uuidString)").path)
        let line: String
        switch rendezvous {
        case .file(let path): line = "round file \(path)\n"
        case .tcp: line = "round tcp\n"
        }
        for rank in 1..<workers.local {
            if let child = children[rank], !child.process.isRunning {
                logger.warning("a worker process had exited; starting it again", metadata: [
                    "worker": "\(rank)", "exit": "\(Self.describeExit(child.process))", "log": "\(child.log.path)"])
                children[rank] = nil
            }
            if children[rank] == nil { children[rank] = try start(rank: rank) }
            do {
                try children[rank]!.input.write(contentsOf: Data(line.utf8))
            } catch {
                throw FedCTError(.failedPrecondition, "\(workers.name(ofRank: rank)) does not take orders (\(error)); its log: \(children[rank]!.log.path)")
            }
        }
        return rendezvous
    }

    /// Rank 0's part of a round, blocking (run it off the cooperative pool): joins the group, broadcasts `order`, checks
    /// that every rank prepared the round, and trains `model` (already loaded with the order's start state) on this rank's
    /// share of every step. Returns the site's result; every rank then holds the same model.
    func train(_ order: WorkerOrder, model: TorchModel, trainer: LocalTrainer, examples: [SiteExample], at rendezvous: Rendezvous) throws -> LocalTrainingResult {
        let task = order.task
        let group: TorchProcessGroup
        do {
            group = try join(rendezvous)
        } catch {
            throw failure(of: order, while: "waiting \(Int(workers.timeoutSeconds)) s for every worker to join", error)
        }
        do {
            _ = try group.broadcast(try order.encoded())
            let reports = try group.sum([Double](repeating: 0, count: workers.size))
            let unready = reports.indices.filter { reports[$0] != 0 }
            guard unready.isEmpty else {
                let reasons = unready.map { rank in
                    "\(workers.name(ofRank: rank)) \(reports[rank] == 2 ? "read other training data than the agent (every worker needs the same data folder)" : "could not prepare the round")"
                }
                throw FedCTError(.failedPrecondition, reasons.joined(separator: "; ") + " — see the worker's log")
            }
            try model.setProcessGroup(group)
            defer { try? model.setProcessGroup(nil) }
            return try trainer.train(model, on: examples, seed: order.seed, round: Int(task.round), rounds: Int(task.spec.rounds))
        } catch {
            throw failure(of: order, while: "training", error)
        }
    }

    /// Stops the local workers: closes their pipes (they exit at once), then terminates any still running after 5 s.
    func stop() {
        for child in children.values { try? child.input.close() }
        let deadline = Date().addingTimeInterval(5)
        while children.values.contains(where: \.process.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        for child in children.values where child.process.isRunning {
            child.process.terminate()
            child.process.waitUntilExit()
        }
        children = [:]
    }

    private func join(_ rendezvous: Rendezvous) throws -> TorchProcessGroup {
        let host = workers.interfaceHost(ofRank: 0)
        switch rendezvous {
        case .file(let path):
            return try TorchProcessGroup(fileStorePath: path, rank: 0, size: workers.size, interfaceHost: host, timeout: workers.timeoutSeconds)
        case .tcp(let endpoint):
            return try TorchProcessGroup(storeHost: endpoint.host, storePort: endpoint.port, rank: 0, size: workers.size,
                                         interfaceHost: host, timeout: workers.timeoutSeconds)
        }
    }

    private func start(rank: Int) throws -> Child {
        guard let executable else {
            throw FedCTError(.invalidConfiguration, "\(configPath): field 'workers.local' asks for worker processes, but this agent was not given the fedct-site executable to start them")
        }
        let log = folder.appending(path: "worker-\(rank).log")
        if !FileManager.default.fileExists(atPath: log.path), !FileManager.default.createFile(atPath: log.path, contents: nil) {
            throw FedCTError(.io, "cannot create \(log.path) for worker \(rank)'s log; check that \(folder.path) is writable and not full")
        }
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        try output.seekToEnd()
        let pipe = Pipe()
        // Only this worker may hold its pipe: a sibling started later must not keep it open after the agent is gone.
        for end in [pipe.fileHandleForReading, pipe.fileHandleForWriting] { _ = fcntl(end.fileDescriptor, F_SETFD, FD_CLOEXEC) }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["worker", "--config", configPath, "--rank", "\(rank)", "--agent-pipe"]
        process.standardInput = pipe
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw FedCTError(.failedPrecondition, "cannot start \(workers.name(ofRank: rank)) (\(executable.path) worker): \(error)")
        }
        try? pipe.fileHandleForReading.close()
        logger.info("worker started", metadata: ["worker": "\(rank)", "pid": "\(process.processIdentifier)", "log": "\(log.path)"])
        return Child(process: process, input: pipe.fileHandleForWriting, log: log)
    }

    /// The round's failure as one error naming what happened to the workers; the local workers are stopped, to be started
    /// afresh for the next round.
    private func failure(of order: WorkerOrder, while what: String, _ error: any Error) -> FedCTError {
        // A crashed local worker drops its connections at once; give its exit a moment to be seen.
        let deadline = Date().addingTimeInterval(2)
        while children.values.allSatisfy(\.process.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        var parts = ["data-parallel training of job \(order.task.jobID) round \(order.task.round) failed while \(what): \(error)"]
        for (rank, child) in children.sorted(by: { $0.key < $1.key }) where !child.process.isRunning {
            parts.append("\(workers.name(ofRank: rank)) exited (\(Self.describeExit(child.process))); its log: \(child.log.path)")
        }
        if let rendezvous = workers.rendezvous {
            let remote = (workers.local..<workers.size).map { "rank \($0) on \(workers.remote[$0 - workers.local])" }
            parts.append("the remote workers (\(remote.joined(separator: ", "))) must each run `fedct-site worker --config site.yaml --rank N` and reach \(rendezvous.host):\(rendezvous.port)")
        }
        parts.append("the round is abandoned (nothing of it was sent); the workers on this machine restart for the next round")
        stop()
        return FedCTError(.failedPrecondition, parts.joined(separator: "; "))
    }

    private static func describeExit(_ process: Process) -> String {
        process.terminationReason == .uncaughtSignal ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
    }
}
