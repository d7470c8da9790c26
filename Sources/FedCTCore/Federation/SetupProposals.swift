// SetupProposals: sites sign their names answers; a site counts only names that some site of the job signed.
public import FedCTProto

/// The signed names answers of a setup stage (candidate codes, for time-to-event).
///
/// A site signs its names answer with its certificate key, bound to the job and the list's hash. The coordinator relays
/// every site's signed list with each counting step (`SetupTask.proposals`), and a site counts only when every name it
/// is asked to count is in one of those lists: the coordinator can publish the union of what sites proposed, or less,
/// but never a name of its own choosing (a rare code no site named, whose consortium-wide count it wants to learn).
public enum SetupProposals {
    /// The bytes a site signs for its names answer `names` to `step` of job `jobID`.
    public static func signedMessage(jobID: String, step: SetupStep, names: [String]) -> [UInt8] {
        Array("fedct-setup-candidates/1\n\(jobID)\n\(step.listSHA256(names))".utf8)
    }

    /// Checks the signed lists relayed with a counting step and that each of `names` is in one of them. `namesStep` is
    /// the stage's names step (what the lists answered). Throws a `protocolViolation` naming the first problem: a list
    /// not signed for this job by a site certificate of the consortium, two lists for one site, or a name no list has.
    public static func check(names: [String], proposals: [Fedct_V1_SiteCandidates], jobID: String, namesStep: SetupStep,
                             verify: SecAggSiteSession.Verifier) throws {
        var proposed = Set<String>()
        var sites = Set<String>()
        for proposal in proposals {
            guard sites.insert(proposal.site).inserted else {
                throw FedCTError(.protocolViolation, "the coordinator relayed two candidate lists for \(proposal.site); nothing was counted or sent")
            }
            let message = signedMessage(jobID: jobID, step: namesStep, names: proposal.candidates.codes)
            do {
                try verify(proposal.certificatePem, proposal.site, message, Array(proposal.candidates.signature))
            } catch {
                throw FedCTError(.protocolViolation, "the candidate list relayed for \(proposal.site) is not signed for job \(jobID) by that site's certificate (\(error)); nothing was counted or sent")
            }
            proposed.formUnion(proposal.candidates.codes)
        }
        let unproposed = names.filter { !proposed.contains($0) }
        guard unproposed.isEmpty else {
            throw FedCTError(.protocolViolation, "the coordinator asked this site to count \(unproposed.count) name(s) that no site's signed candidate list of job \(jobID) has (first: '\(unproposed[0])', \(proposals.count) signed list(s) relayed); nothing was counted or sent. Update the coordinator if it relays no lists; otherwise report it to the consortium")
        }
    }
}
