// SiteAgent+Setup: the site's part in a job's setup stage — candidate code names, then masked (or plain) count vectors.
import Crypto
import FedCTCore
import FedCTData
import FedCTProto
import Foundation
import Logging

extension SiteAgent {
    /// Computes and sends the statistics of one setup step (`Docs/science.md`, "Deriving the tasks").
    ///
    /// Only the train scans count. Candidates leave as code names (each held by at least
    /// tte.min_patients_per_code of the site's patients); the prevalence and rates vectors are integer-encoded
    /// and masked when the job uses secure aggregation, so the coordinator learns only their sum over sites.
    func runSetupStep(_ task: Fedct_V1_Task) async throws {
        let spec = task.spec
        try checkPolicy(spec)
        let setup = task.setup
        guard let stage = TaskSetupStage(rawValue: setup.stage), JobStep(wireRound: Int(task.round)) == .setup(stage) else {
            throw FedCTError(.protocolViolation, "the coordinator sent setup step '\(setup.stage)' for round \(task.round); this agent knows candidates (0), prevalence (-1) and rates (-2)")
        }
        let listSHA256 = stage.listSHA256(setup.codes)
        guard setup.listSha256 == listSHA256 else {
            throw FedCTError(.integrity, "setup step '\(stage.rawValue)': the coordinator's list hash does not match the \(setup.codes.count) codes it sent; nothing was sent")
        }
        let followUps = try setupFollowUps(jobID: task.jobID)
        var submission = Fedct_V1_SetupSubmission()
        submission.jobID = task.jobID
        submission.round = task.round
        submission.attempt = task.attempt
        submission.listSha256 = listSHA256
        let values: [UInt64]
        switch stage {
        case .candidates:
            submission.candidates.codes = TaskStatistics.candidates(followUps.followUps, minPatients: Int(spec.tte.minPatientsPerCode))
            _ = try await link.submitSetup(submission)
            logger.info("setup candidates sent", metadata: ["job": "\(task.jobID)", "codes": "\(submission.candidates.codes.count)",
                                                            "train_scans": "\(followUps.followUps.count)", "skipped_without_follow_up": "\(followUps.skipped)"])
            return
        case .prevalence:
            values = TaskStatistics.prevalence(followUps.followUps, candidates: setup.codes)
        case .rates:
            values = TaskStatistics.rates(followUps.followUps, tasks: setup.codes, grid: try Self.grid(of: setup))
        }
        let name: (Int) -> String = { "setup step '\(stage.rawValue)' value \($0)" }
        if spec.secureAggregation.enabled {
            var session = try await openSecureSession(task)
            _ = try await sendMasked(&session, task: task) { session in
                (try TaskStatistics.encoding(sites: session.keyHolders.count).encode(values, name: name), 1)
            } send: { words, _ in
                submission.maskedWords = Data(words.withUnsafeBytes { Array($0) })
                return try await link.submitSetup(submission)
            }
        } else {
            try TaskStatistics.checkBound(values, name: name)
            submission.counts.values = values
            _ = try await link.submitSetup(submission)
        }
        logger.info("setup statistics sent", metadata: ["job": "\(task.jobID)", "step": "\(stage.rawValue)", "values": "\(values.count)",
                                                        "secure": "\(spec.secureAggregation.enabled)"])
    }

    /// The event-time grid the coordinator asked for, refused when it is not a valid grid.
    static func grid(of setup: Fedct_V1_SetupTask) throws -> EventTimeGrid {
        guard setup.firstEdgeDays > 0, setup.lastEdgeDays > setup.firstEdgeDays, (2...65_536).contains(setup.bins) else {
            throw FedCTError(.protocolViolation, "the coordinator sent an event-time grid of \(setup.bins) bins from \(setup.firstEdgeDays) to \(setup.lastEdgeDays) days; it needs 0 < first < last and 2 to 65536 bins")
        }
        return EventTimeGrid(firstEdgeDays: setup.firstEdgeDays, lastEdgeDays: setup.lastEdgeDays, bins: Int(setup.bins))
    }
}
