// Coordinator+Progress: the live fields of a running job's status — phase, attempt, round time and bytes, per-site progress.
import FedCTCore
import FedCTProto
import Foundation

extension Coordinator {
    /// `status` with what only the running job has: phase, attempt, the open round's elapsed seconds and bytes so far,
    /// seconds since the job left the queue, each live or participating site's state, bytes and last contact, and a
    /// durable step waiting to be retried.
    func withLiveFields(_ status: Fedct_V1_JobStatus) -> Fedct_V1_JobStatus {
        var status = status
        guard let run, run.jobID == status.jobID else { return status }
        let now = now()
        status.connectedSites = run.machine.liveSites(now: now)
        status.phase = run.phaseDescription
        status.attempt = Int32(run.machine.attempt)
        status.roundElapsedSeconds = run.tally.startedAt.map { now - $0 } ?? 0
        status.roundBytesDown = run.tally.bytesDown
        status.roundBytesUp = run.tally.bytesUp
        if status.startedUnixSeconds > 0 { status.elapsedSeconds = max(0, Date().timeIntervalSince1970 - status.startedUnixSeconds) }
        status.siteProgress = run.siteProgress(now: now)
        if let failure = run.writeFailure { status.message = "waiting to write the job's state, retrying: \(failure)" }
        return status
    }
}
