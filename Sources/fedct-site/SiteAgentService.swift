// SiteAgentService: the site agent as a swift-service-lifecycle Service — its work loop, cancelled at graceful shutdown.
import FedCTCore
import FedCTSite
import ServiceLifecycle
import Synchronization

/// Runs `SiteAgent.run(exitAfterJob:)` in fedct-site's service group. Graceful shutdown (SIGTERM, SIGINT) cancels the
/// work loop: the step in progress finishes or is abandoned, every ledger line written is whole and fsynced, and the
/// service returns. The end of a job (with `exitAfterJob`) returns too; the agent's error is rethrown.
final class SiteAgentService: Service {
    /// The agent, handed once to the task that runs it (it is not Sendable: one task at a time owns it).
    private let agent: Mutex<SiteAgent?>
    private let exitAfterJob: Bool

    init(agent: sending SiteAgent, exitAfterJob: Bool) {
        self.agent = Mutex(agent)
        self.exitAfterJob = exitAfterJob
    }

    func run() async throws {
        guard let agent = agent.withLock({ $0.take() }) else {
            throw FedCTError(.failedPrecondition, "the site agent's service was run twice; it runs once per process")
        }
        let exitAfterJob = exitAfterJob
        let work = Task { try await agent.run(exitAfterJob: exitAfterJob) }
        _ = await withTaskCancellationOrGracefulShutdownHandler {
            await work.result
        } onCancelOrGracefulShutdown: {
            work.cancel()
        }
        // Stopped by a signal: whatever the loop ended with, it ended because it was asked to.
        guard work.isCancelled else { return try await work.value }
    }
}
