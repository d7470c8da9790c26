// Coordinator+Progress: the live fields of a running job's status — phase, attempt, round time and bytes, per-site progress.
import FedCTCore
import FedCTProto
import Foundation

extension Coordinator {
    /// `status` with what only the running job has: phase, attempt, the open round's elapsed seconds and bytes so far,
    /// seconds since the job left the queue, and each live or participating site's state, bytes and last contact.
    func withLiveFields(_ status: Fedct_V1_JobStatus) -> Fedct_V1_JobStatus {
        var status = status
        guard let job = active, job.id == status.jobID else { return status }
        let now = now()
        let live = job.machine.liveSites(now: now)
        status.connectedSites = live
        status.phase = Self.phase(of: job)
        status.attempt = Int32(job.machine.attempt)
        status.roundElapsedSeconds = job.roundStartedAt.map { now - $0 } ?? 0
        status.roundBytesDown = job.bytesDown
        status.roundBytesUp = job.bytesUp
        if status.startedUnixSeconds > 0 { status.elapsedSeconds = max(0, Date().timeIntervalSince1970 - status.startedUnixSeconds) }
        let evaluating = if case .evaluating = job.machine.phase { true } else { false }
        status.siteProgress = Set(live).union(job.machine.participants).sorted().map { site in
            var progress = Fedct_V1_SiteProgress()
            progress.site = site
            progress.state = job.machine.uploaded.contains(site) ? (evaluating ? "reported" : "uploaded")
                : job.machine.participants.contains(site) ? (evaluating ? "evaluating" : "training") : "waiting"
            progress.bytesDown = job.siteBytesDown[site] ?? 0
            progress.bytesUp = job.siteBytesUp[site] ?? 0
            progress.secondsSinceSeen = job.machine.lastSeen[site].map { now - $0 } ?? 0
            return progress
        }
        return status
    }

    /// What the coordinator is doing for the job: waiting for sites, a setup step, training, a secure-aggregation step, aggregating.
    static func phase(of job: ActiveJob) -> String {
        switch job.machine.phase {
        case .waitingForSites:
            guard let stage = job.machine.setupStage, job.machine.openStep != nil else { return "waiting for sites" }
            return job.secure == nil ? "setup: \(stage.name)" : "setup: \(stage.name), \(secureStep(of: job))"
        case .training:
            return job.secure == nil ? "training" : secureStep(of: job)
        case .aggregating:
            return "aggregating"
        case .evaluating:
            return "evaluating"
        case .evaluating:
            return "evaluating"
        case .finished:
            return "finished"
        case .failed:
            return "failed"
        }
    }

    /// The open secure-aggregation session's step, as `phase` shows it.
    private static func secureStep(of job: ActiveJob) -> String {
        guard let secure = job.secure else { return "" }
        switch secure.server.phase {
        case .advertising: return "secure aggregation: advertising keys"
        case .sharing: return "secure aggregation: sharing keys"
        case .masking: return "secure aggregation: masked inputs"
        case .unmasking: return "secure aggregation: unmasking"
        case .completed: return "aggregating"
        case .aborted: return "secure aggregation: aborted, restarting"
        }
    }
}
