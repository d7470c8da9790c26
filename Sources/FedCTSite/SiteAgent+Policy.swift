// SiteAgent+Policy: the egress policy at work — a job the site's policy refuses is declined before anything of it leaves.
import FedCTCore
import FedCTProto
import Foundation
import Logging

extension SiteAgent {
    /// Whether `task` belongs to a job this site declines. The first time, sends the Decline (the only message about
    /// that job that ever leaves), records it in the egress ledger and logs one line naming the setting to change;
    /// then waits a little, so the caller can skip the task and ask again.
    func declined(_ task: Fedct_V1_Task) async throws -> Bool {
        guard [.train, .setup, .evaluate].contains(task.kind) else { return false }
        if link.ledger.hasDeclined(task.jobID) {
            try await Task.sleep(for: .seconds(5))
            return true
        }
        guard let (reason, setting) = config.egressPolicy.refusal(of: task.spec, modelBytes: task.modelBytes, delta: config.privacyDelta,
                                                                 requireSecureAggregation: config.requireSecureAggregation,
                                                                 maxEpsilon: config.maxEpsilon) else { return false }
        try link.ledger.recordDecline(jobID: task.jobID, round: Int(task.round), reason: reason, setting: setting)
        logger.error("job declined by this site's egress policy: \(reason); change \(setting) in site.yaml to accept such jobs",
                     metadata: ["job": "\(task.jobID)", "setting": "\(setting)"])
        SiteMetrics.policyRefusal()
        var request = Fedct_V1_DeclineRequest()
        request.jobID = task.jobID
        request.round = task.round
        request.reason = reason
        request.setting = setting
        do {
            try await link.decline(request)
        } catch {
            logger.warning("the coordinator did not acknowledge the decline; nothing else is sent for the job", metadata: ["job": "\(task.jobID)", "error": "\(error)"])
        }
        try await Task.sleep(for: .seconds(5))
        return true
    }
}
