// Coordinator+Metrics: the coordinator's periodic gauges (jobs by state) and the timing of secure-aggregation steps.
import FedCTCore
import FedCTProto
import Foundation

extension Coordinator {
    /// The job states the `fedct_coordinator_jobs` gauge reports.
    static let reportedJobStates: [Fedct_V1_JobStatus.State] = [.queued, .waitingForSites, .running, .succeeded, .failed, .cancelled]

    /// Sets the jobs-by-state gauge from the job records (called every tick).
    func publishJobMetrics() {
        let names = Self.reportedJobStates.map { "\($0)" }
        let counts = Dictionary(grouping: statuses.values, by: { "\($0.state)" }).mapValues(\.count)
        CoordinatorMetrics.jobs(byState: counts, states: names)
    }
}

extension SecureRound {
    /// Called whenever the active job's secure round is replaced: when its phase moved on (or the round
    /// ended), the step that just closed is timed from `phaseStarted`.
    mutating func notePhase(after old: SecureRound?) {
        guard let old, old.server.context == server.context, old.server.phase != server.phase else { return }
        CoordinatorMetrics.secureStep(old.server.phase, seconds: phaseStarted.duration(to: .now).inSeconds)
        phaseStarted = .now
    }

    /// The last step of a round that ended (committed or aborted), timed when the round is dropped.
    static func noteEnded(_ old: SecureRound?) {
        guard let old else { return }
        CoordinatorMetrics.secureStep(old.server.phase, seconds: old.phaseStarted.duration(to: .now).inSeconds)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
