// AgentStatus: what the site agent is doing now (state, job, round, since when, last problem), for the site's status page.
import Foundation

/// The agent's current activity, written by `SiteAgent` as it works and read by the status page.
///
/// `@unchecked Sendable`: every field is read and written under `lock`.
public final class AgentStatus: @unchecked Sendable {
    /// One reading of the agent's activity.
    public struct Snapshot: Sendable, Codable, Equatable {
        /// "starting", "joining", "idle" (no job), "waiting" (the job has no work for it now), "setup", "training", "evaluating".
        public var state: String
        public var jobID: String?
        public var round: Int?
        /// When the agent entered this state.
        public var sinceUnix: Double
        /// The last round or evaluation the agent gave up on, and why.
        public var lastProblem: String?
    }

    private let lock = NSLock()
    private var current = Snapshot(state: "starting", jobID: nil, round: nil, sinceUnix: Date().timeIntervalSince1970, lastProblem: nil)

    public init() {}

    /// The agent's activity now.
    public var snapshot: Snapshot { lock.withLock { current } }

    /// The agent moved to `state` (working on `jobID`'s `round`, if any); the time changes only when the state or work does.
    func set(_ state: String, jobID: String? = nil, round: Int? = nil) {
        lock.withLock {
            guard current.state != state || current.jobID != jobID || current.round != round else { return }
            current.state = state
            current.jobID = jobID
            current.round = round
            current.sinceUnix = Date().timeIntervalSince1970
        }
    }

    /// The agent gave up on a round or evaluation.
    func problem(_ text: String) {
        lock.withLock { current.lastProblem = text }
    }
}
