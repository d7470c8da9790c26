// Coordinator+Metrics: the coordinator's periodic gauges (jobs by state).
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
