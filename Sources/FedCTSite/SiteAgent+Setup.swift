// SiteAgent+Setup: the site's part in a job's setup stage — its objective's answers (names, or count vectors masked when the job masks).
import Crypto
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTraining
import Foundation
import Logging

extension SiteAgent {
    /// Computes and sends the site's answer to one setup step (`Docs/science.md`, "Deriving the tasks", for the
    /// time-to-event objective's).
    ///
    /// The job's objective computes the answer from the site's data (`PretrainingObjective.siteSetup`). Names leave as
    /// they are; count vectors are integer-encoded and masked when the job uses secure aggregation, so the coordinator
    /// learns only their sum over sites.
    func runSetupStep(_ task: Fedct_V1_Task) async throws {
        let spec = task.spec
        try checkPolicy(spec)
        let objective = try PretrainingObjectives.of(spec, source: "job \(task.jobID)")
        guard let steps = objective.setupDerivation(for: spec)?.steps else {
            throw FedCTError(.protocolViolation, "the coordinator sent a setup step for job \(task.jobID), whose objective '\(objective.name)' has no setup stage")
        }
        let setup = task.setup
        guard let step = steps.first(where: { $0.name == setup.stage }), JobStep(wireRound: Int(task.round), setupSteps: steps) == .setup(step) else {
            throw FedCTError(.protocolViolation, "the coordinator sent setup step '\(setup.stage)' for round \(task.round); objective '\(objective.name)' has \(steps.map { "\($0.name) (\($0.wireRound))" }.joined(separator: ", "))")
        }
        let listSHA256 = step.listSHA256(setup.codes)
        guard setup.listSha256 == listSHA256 else {
            throw FedCTError(.integrity, "\(step): the coordinator's list hash does not match the \(setup.codes.count) names it sent; nothing was sent")
        }
        if step.answer == .counts { try checkCountedNames(setup, jobID: task.jobID, steps: steps, objective: objective) }
        let siteSetup = try self.siteSetup(for: spec, jobID: task.jobID, objective: objective)
        let request = SetupRequest(names: setup.codes, grid: try Self.grid(of: setup))
        var submission = Fedct_V1_SetupSubmission()
        submission.jobID = task.jobID
        submission.round = task.round
        submission.attempt = task.attempt
        submission.listSha256 = listSHA256
        if step.answer == .counts { submission.noiseMultiplier = spec.privacy.setupNoiseMultiplier }
        let values: [UInt64]
        let noise = spec.privacy.setupNoiseMultiplier
        let answer = noise > 0 && step.answer == .counts
            ? try noisedCounts(step, request: request, siteSetup: siteSetup, objective: objective, task: task)
            : try siteSetup.answer(step, request: request)
        switch answer {
        case .names(let names):
            submission.candidates.codes = names
            let message = SetupProposals.signedMessage(jobID: task.jobID, step: step, names: names)
            _ = try await link.submitCandidates { privateKeyPEM in
                var signed = submission
                signed.candidates.signature = Data(try credentials.signer(privateKeyPEM: privateKeyPEM)(message))
                return signed
            }
            logger.info("setup names sent", metadata: ["job": "\(task.jobID)", "step": "\(step.name)", "names": "\(names.count)", "data": "\(siteSetup.summary)"])
            return
        case .counts(let counts):
            values = counts
        }
        let name: (Int) -> String = { "setup step '\(step.name)' value \($0)" }
        if spec.secureAggregation.enabled {
            var session = try await openSecureSession(task)
            _ = try await sendMasked(&session, task: task) { session in
                (try SetupEncoding.encoding(sites: session.keyHolders.count).encode(values, name: name), 1)
            } send: { words, _ in
                submission.maskedWords = Data(words.withUnsafeBytes { Array($0) })
                return try await link.submitSetup(submission)
            }
        } else {
            try SetupEncoding.checkBound(values, name: name)
            submission.counts.values = values
            _ = try await link.submitSetup(submission)
        }
        logger.info("setup statistics sent", metadata: ["job": "\(task.jobID)", "step": "\(step.name)", "values": "\(values.count)",
                                                        "secure": "\(spec.secureAggregation.enabled)", "noise_multiplier": "\(noise)"])
    }

    /// A counting step's answer in a job with noised setup counts (`privacy.setup_noise_multiplier`): the objective's
    /// counts with each patient's contribution bounded, plus Gaussian noise (`SetupNoise`), after the step's spend has been
    /// checked against this site's budget and recorded, so nothing of it leaves uncharged.
    func noisedCounts(_ step: SetupStep, request: SetupRequest, siteSetup: any SiteSetup, objective: any PretrainingObjective,
                      task: Fedct_V1_Task) throws -> SetupAnswer {
        let sigma = task.spec.privacy.setupNoiseMultiplier
        guard let bounded = try siteSetup.boundedCounts(step, request: request) else {
            throw FedCTError(.permissionDenied, "job \(task.jobID) asks for noised setup counts (privacy.setup_noise_multiplier \(sigma)), but objective '\(objective.name)' cannot bound a patient's part in \(step); nothing was sent. Run the job with privacy.setup_noise_multiplier: 0")
        }
        var generator = SystemRandomNumberGenerator()
        let noised = try SetupNoise.noised(bounded, noiseMultiplier: sigma, using: &generator)
        try recordPrivacySpend([SetupNoise.spend(jobID: task.jobID, step: step, noiseMultiplier: sigma, delta: config.privacyDelta)])
        return .counts(noised)
    }

    /// Before a counting step: every name to count must be in a site's signed candidate list of this job
    /// (`SetupProposals`), so the coordinator cannot pick what this site counts; an objective without a names step counts none.
    func checkCountedNames(_ setup: Fedct_V1_SetupTask, jobID: String, steps: [SetupStep], objective: any PretrainingObjective) throws {
        guard let namesStep = steps.first(where: { $0.answer == .names }) else {
            guard setup.codes.isEmpty else {
                throw FedCTError(.protocolViolation, "the coordinator asked this site to count \(setup.codes.count) name(s), but objective '\(objective.name)' has no step in which sites propose names; nothing was sent")
            }
            return
        }
        try SetupProposals.check(names: setup.codes, proposals: setup.proposals, jobID: jobID, namesStep: namesStep,
                                  verify: credentials.verify(what: "candidate list"))
    }

    /// The event-time grid the coordinator asked for (nil when the step has none), refused when it is not a valid grid.
    static func grid(of setup: Fedct_V1_SetupTask) throws -> EventTimeGrid? {
        if setup.bins == 0 && setup.firstEdgeDays == 0 && setup.lastEdgeDays == 0 { return nil }
        guard setup.firstEdgeDays > 0, setup.lastEdgeDays > setup.firstEdgeDays, (2...65_536).contains(setup.bins) else {
            throw FedCTError(.protocolViolation, "the coordinator sent an event-time grid of \(setup.bins) bins from \(setup.firstEdgeDays) to \(setup.lastEdgeDays) days; it needs 0 < first < last and 2 to 65536 bins")
        }
        return EventTimeGrid(firstEdgeDays: setup.firstEdgeDays, lastEdgeDays: setup.lastEdgeDays, bins: Int(setup.bins))
    }
}
