// Tests of JobRun's setup stage (combined answers, the derived spec committed with its model, restarts) and evaluation.
@testable import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class JobRunSetupAndEvaluationTests: XCTestCase {
    private func setupRun(state: Fedct_V1_JobStatus.State = .waitingForSites) -> JobRunHarness {
        JobRunHarness(spec: JobRunHarness.spec(rounds: 1), state: state, initialModel: "", derivation: PooledNamesDerivation())
    }

    /// A stand-in for certificate signatures: site s's "certificate" is "cert-s" and its signature of m is "s:" + m.
    static let verify: SecAggSiteSession.Verifier = { certificate, site, message, signature in
        guard certificate == "cert-\(site)", signature == Array("\(site):".utf8) + message else { throw FedCTError(.permissionDenied, "not \(site)'s signature") }
    }

    static func sign(_ site: String, jobID: String, step: SetupStep, names: [String]) -> Data {
        Data(Array("\(site):".utf8) + SetupProposals.signedMessage(jobID: jobID, step: step, names: names))
    }

    /// `site`'s answer to the open setup step: names for the first step (signed), counts for the second (noised at `noise`).
    private func submit(_ harness: inout JobRunHarness, _ site: String, names: [String] = [], counts: [UInt64] = [], noise: Double = 0,
                        now: Double) throws {
        guard case .setup(let step, let request, let attempt) = harness.pull([site], now: now)[site] else {
            return XCTFail("\(site) gets the open setup step")
        }
        var submission = Fedct_V1_SetupSubmission()
        submission.jobID = harness.run.jobID
        submission.round = Int32(step.wireRound)
        submission.attempt = Int32(attempt)
        submission.listSha256 = step.listSHA256(request.names)
        if step.answer == .names {
            var proposal = Fedct_V1_SetupCandidates()
            proposal.codes = names
            proposal.signature = Self.sign(site, jobID: harness.run.jobID, step: step, names: names)
            submission.candidates = proposal
        } else {
            var vector = Fedct_V1_SetupCounts()
            vector.values = counts
            submission.counts = vector
            submission.noiseMultiplier = noise
        }
        harness.take(try harness.run.onSetupSubmission(submission, from: site, certificatePEM: "cert-\(site)", verify: Self.verify, now: now))
    }

    func testSetupStageCombinesTheAnswersThenCommitsTheDerivedSpecWithItsModel() throws {
        var harness = setupRun()
        XCTAssertTrue(harness.run.canRun, "a setup stage will build the model")
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        XCTAssertEqual(harness.run.phaseDescription, "setup: names")
        try submit(&harness, "a", names: ["x", "y"], now: 1)
        try submit(&harness, "b", names: ["y", "z"], now: 2)
        XCTAssertEqual(harness.run.machine.setupStage?.name, "counts")
        XCTAssertEqual(harness.run.machine.attempt, 1)
        guard case .setup(_, let request, _) = harness.pull(["a"], now: 3)["a"] else { return XCTFail("the counts step is handed out") }
        XCTAssertEqual(request.names, ["x", "y", "z"], "the pooled names")
        try submit(&harness, "a", counts: [1, 2, 3], now: 3)
        try submit(&harness, "b", counts: [10, 20, 30], now: 4)
        let spec = try XCTUnwrap(harness.directives.initialModelSpecs.last)
        XCTAssertEqual(spec.name, "derived from x=11,y=22,z=33")
        XCTAssertEqual(harness.pull(["a"], now: 5)["a"], .wait(retryAfterMilliseconds: 250), "no round before the model is stored")

        XCTAssertTrue(harness.take(harness.run.onInitialModelFailed(error: diskFull, now: 6)).isEmpty, "a full disk waits")
        XCTAssertEqual(harness.take(harness.run.tick(now: 11)).initialModelSpecs.count, 1, "and retries")
        let saved = harness.take(harness.run.onInitialModelStored(modelSHA256: "m0", now: 12))
        let (record, version) = try XCTUnwrap(saved.savedRecords.last)
        XCTAssertEqual(record.initialModelSha256, "m0")
        XCTAssertEqual(record.spec.name, spec.name)
        XCTAssertEqual(record.setup.sites, ["a", "b"])
        XCTAssertEqual(record.setup.seconds, 11, accuracy: 1e-9, "from the first setup task")
        XCTAssertEqual(harness.run.machine.globalModelSHA256, "", "not committed before the record is stored")
        harness.take(harness.run.onRecordSaved(version: version, now: 13))
        XCTAssertEqual(harness.pull(["a"], now: 14)["a"], .train(round: 1, modelSHA256: "m0", attempt: 1))
    }

    func testCountingStepsRelayTheSignedListsSoSitesCountOnlyProposedNames() throws {
        var harness = setupRun()
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        let namesStep = try XCTUnwrap(harness.run.machine.setupSteps.first)
        guard case .setup(let step, _, let attempt) = harness.pull(["a"], now: 1)["a"] else { return XCTFail("a gets the names step") }
        XCTAssertEqual(harness.run.setup.relayedProposals(for: step), [], "no lists with a names step")
        var forged = Fedct_V1_SetupSubmission()
        forged.jobID = harness.run.jobID
        forged.round = Int32(step.wireRound)
        forged.attempt = Int32(attempt)
        forged.listSha256 = step.listSHA256([])
        forged.candidates.codes = ["secret"]
        forged.candidates.signature = Self.sign("a", jobID: "job-other", step: step, names: ["secret"])
        XCTAssertThrowsError(try harness.run.onSetupSubmission(forged, from: "a", certificatePEM: "cert-a", verify: Self.verify, now: 1), "signed for another job") {
            XCTAssertEqual(($0 as? FedCTError)?.code, .permissionDenied)
        }
        try submit(&harness, "a", names: ["x", "y"], now: 1)
        try submit(&harness, "b", names: ["y", "z"], now: 2)
        guard case .setup(let counts, let request, _) = harness.pull(["a"], now: 201)["a"] else { return XCTFail("the counts step is handed out") }
        let relayed = harness.run.setup.relayedProposals(for: counts)
        XCTAssertEqual(relayed.map(\.site), ["a", "b"])
        XCTAssertEqual(relayed.map(\.certificatePem), ["cert-a", "cert-b"], "each with the certificate of the site's call")
        let jobID = harness.run.jobID
        XCTAssertNoThrow(try SetupProposals.check(names: request.names, proposals: relayed, jobID: jobID, namesStep: namesStep, verify: Self.verify))
        XCTAssertNoThrow(try SetupProposals.check(names: ["z"], proposals: relayed, jobID: jobID, namesStep: namesStep, verify: Self.verify), "a subset (a later step's tasks)")
        XCTAssertThrowsError(try SetupProposals.check(names: request.names + ["secret"], proposals: relayed, jobID: jobID, namesStep: namesStep, verify: Self.verify)) {
            XCTAssertEqual(($0 as? FedCTError)?.code, .protocolViolation)
            XCTAssertTrue("\($0)".contains("'secret'"), "\($0)")
        }
        var altered = relayed
        altered[0].candidates.codes.append("secret")
        XCTAssertThrowsError(try SetupProposals.check(names: ["secret"], proposals: altered, jobID: jobID, namesStep: namesStep, verify: Self.verify), "a list changed after signing") {
            XCTAssertTrue("\($0)".contains("not signed for job"), "\($0)")
        }
        XCTAssertThrowsError(try SetupProposals.check(names: ["x"], proposals: relayed, jobID: "job-other", namesStep: namesStep, verify: Self.verify), "lists of another job")
        XCTAssertThrowsError(try SetupProposals.check(names: ["x"], proposals: relayed + [relayed[0]], jobID: jobID, namesStep: namesStep, verify: Self.verify)) {
            XCTAssertTrue("\($0)".contains("two candidate lists for a"), "\($0)")
        }
        try submit(&harness, "a", counts: [1, 2, 3], now: 202)
        try submit(&harness, "b", counts: [10, 20, 30], now: 203)
        XCTAssertEqual(harness.directives.initialModelSpecs.last?.name, "derived from x=11,y=22,z=33")
        XCTAssertEqual(harness.run.setup.proposals, [:], "no site's list is kept past the setup stage")
    }

    func testSecureCountsStepIsSummedUnderMasksAndCommittedAsSecure() throws {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: 1, secure: true), initialModel: "", derivation: PooledNamesDerivation())
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        XCTAssertNil(harness.run.secure, "names are collected, not summed")
        try submit(&harness, "a", names: ["x"], now: 1)
        try submit(&harness, "b", names: ["y"], now: 1)
        let context = try XCTUnwrap(harness.run.secure?.server.context)
        XCTAssertEqual(context.round, -1)
        XCTAssertEqual(context.binding, harness.run.setup.listSHA256(of: harness.run.machine.setupStage!))
        var sessions = try harness.advertise(["a", "b"], now: 2)
        try harness.share(["a", "b"], sessions: &sessions, now: 3)
        let counts: [String: [UInt64]] = ["a": [1, 2], "b": [10, 20]]
        for site in ["a", "b"] {
            guard case .setup(let step, let request, let attempt) = harness.pull([site], now: 4)[site] else { return XCTFail("\(site) gets the counts step") }
            let secureStep = harness.run.secureStep(for: site, harness.stepRequest())
            var words = try SetupEncoding.encoding(sites: harness.run.secure!.server.keyHolders.count).encode(counts[site]!)
            try sessions[site]!.mask(&words, shareSenders: secureStep.shareSenders, inbound: secureStep.inboundShares)
            var submission = Fedct_V1_SetupSubmission()
            submission.jobID = harness.run.jobID
            submission.round = Int32(step.wireRound)
            submission.attempt = Int32(attempt)
            submission.listSha256 = step.listSHA256(request.names)
            submission.maskedWords = Data(words.flatMap { word in withUnsafeBytes(of: word.littleEndian) { Array($0) } })
            harness.take(try harness.run.onSetupSubmission(submission, from: site, certificatePEM: "cert-\(site)", verify: Self.verify, now: 4))
        }
        try harness.unmask(["a", "b"], sessions: &sessions, now: 5)
        XCTAssertEqual(harness.directives.initialModelSpecs.last?.name, "derived from x=11,y=22")
        let saved = harness.take(harness.run.onInitialModelStored(modelSHA256: "m0", now: 6))
        XCTAssertEqual(saved.savedRecords.last?.record.setup.securelyAggregated, true)
    }

    func testInitialModelThatCannotBeBuiltFailsTheJob() throws {
        var harness = setupRun()
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        try submit(&harness, "a", names: ["x"], now: 1)
        try submit(&harness, "b", names: ["y"], now: 1)
        try submit(&harness, "a", counts: [1, 1], now: 2)
        try submit(&harness, "b", counts: [2, 2], now: 2)
        let failed = harness.take(harness.run.onInitialModelFailed(error: FedCTError(.invalidConfiguration, "unknown encoder"), now: 3))
        XCTAssertEqual(failed.savedRecords.last?.record.state, .failed)
        XCTAssertTrue(failed.savedRecords.last?.record.message.contains("unknown encoder") == true)
    }

    func testRestartMidSetupRedoesTheStageFromItsFirstStep() throws {
        var before = setupRun()
        for site in ["a", "b"] { before.take(before.run.siteSeen(site, now: 0)) }
        try submit(&before, "a", names: ["x"], now: 1)
        try submit(&before, "b", names: ["y"], now: 1)
        XCTAssertEqual(before.run.machine.setupStage?.name, "counts")
        // The coordinator restarts: the stored record has no model and no derived spec; the run starts the stage over.
        var after = JobRunHarness(spec: before.run.record.spec, state: .running, initialModel: "", derivation: PooledNamesDerivation())
        for site in ["a", "b"] { after.take(after.run.siteSeen(site, now: 0)) }
        XCTAssertEqual(after.run.machine.setupStage?.name, "names")
        XCTAssertEqual(after.run.machine.attempt, 1)
        try submit(&after, "a", names: ["x"], now: 1)
        try submit(&after, "b", names: ["y"], now: 1)
        try submit(&after, "a", counts: [1, 1], now: 2)
        try submit(&after, "b", counts: [2, 2], now: 2)
        XCTAssertEqual(after.directives.initialModelSpecs.last?.name, "derived from x=3,y=3")
    }

    func testSetupDataThatCannotDeriveFailsTheJob() throws {
        var harness = setupRun()
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        try submit(&harness, "a", names: [], now: 1)
        try submit(&harness, "b", names: [], now: 1)
        XCTAssertEqual(harness.directives.savedRecords.last?.record.state, .failed)
        XCTAssertTrue(harness.directives.savedRecords.last?.record.message.contains("no site proposed a name") == true)
    }

    /// A job with noised setup counts takes counts only from sites that say they noised them at its multiplier: an agent
    /// that does not know the setting sends 0 and is refused, as is a site claiming noise in an exact job.
    func testCountsWithoutTheJobsSetupNoiseAreDiscarded() throws {
        var spec = JobRunHarness.spec(rounds: 1)
        spec.privacy.setupNoiseMultiplier = 1.5
        var harness = JobRunHarness(spec: spec, state: .waitingForSites, initialModel: "", derivation: PooledNamesDerivation())
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        try submit(&harness, "a", names: ["x"], now: 1)
        try submit(&harness, "b", names: ["x"], now: 1)
        XCTAssertThrowsError(try submit(&harness, "a", counts: [4], now: 2)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .failedPrecondition)
            XCTAssertTrue("\(error)".contains("asks for setup noise 1.5") && "\(error)".contains("Upgrade the site agent"), "\(error)")
        }
        try submit(&harness, "a", counts: [4], noise: 1.5, now: 2)
        try submit(&harness, "b", counts: [5], noise: 1.5, now: 3)
        XCTAssertEqual(try XCTUnwrap(harness.directives.initialModelSpecs.last).name, "derived from x=9")

        var exact = setupRun()
        for site in ["a", "b"] { exact.take(exact.run.siteSeen(site, now: 0)) }
        try submit(&exact, "a", names: ["x"], now: 1)
        try submit(&exact, "b", names: ["x"], now: 1)
        XCTAssertThrowsError(try submit(&exact, "a", counts: [4], noise: 1, now: 2)) { XCTAssertTrue("\($0)".contains("asks for exact setup counts"), "\($0)") }
    }

    func testWrongSetupAnswersAreRefused() throws {
        var harness = setupRun()
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        var submission = Fedct_V1_SetupSubmission()
        submission.jobID = "job-0001"
        submission.round = -1
        submission.attempt = 1
        XCTAssertThrowsError(try harness.run.onSetupSubmission(submission, from: "a", certificatePEM: "cert-a", verify: Self.verify, now: 1)) { XCTAssertEqual(($0 as? FedCTError)?.code, .failedPrecondition) }
        submission.round = 0
        submission.listSha256 = "other"
        XCTAssertThrowsError(try harness.run.onSetupSubmission(submission, from: "a", certificatePEM: "cert-a", verify: Self.verify, now: 1)) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
        submission.round = 5
        XCTAssertThrowsError(try harness.run.onSetupSubmission(submission, from: "a", certificatePEM: "cert-a", verify: Self.verify, now: 1)) { XCTAssertEqual(($0 as? FedCTError)?.code, .protocolViolation) }
    }

    // MARK: Evaluation

    /// A one-round job with evaluation whose round 1 is committed with model m1.
    private func evaluating() throws -> JobRunHarness {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: 1, evaluate: true))
        harness.pull(["a", "b"], now: 0)
        try harness.uploadPlain("a", round: 1, now: 1)
        try harness.uploadPlain("b", round: 1, now: 1)
        let saved = harness.take(harness.run.onRoundModelStored(round: 1, StoredRoundModel(modelSHA256: "m1", optimizerStateSHA256: nil, exampleCount: 20), now: 2))
        harness.take(harness.run.onRecordSaved(version: saved.savedRecords.last!.version, now: 2))
        return harness
    }

    private func report(round: Int32 = 1, model: String = "m1") -> Fedct_V1_MetricsReport {
        var report = Fedct_V1_MetricsReport()
        report.jobID = "job-0001"
        report.round = round
        report.modelSha256 = model
        report.cohortSize = 5
        return report
    }

    func testEvaluationStoresEachReportAndEndsTheJobWhenAllReported() throws {
        var harness = try evaluating()
        XCTAssertEqual(harness.run.machine.phase, .evaluating(round: 1))
        XCTAssertEqual(harness.pull(["a"], now: 3)["a"], .evaluate(round: 1, modelSHA256: "m1"))
        XCTAssertThrowsError(try harness.run.onEvaluationReport(report(model: "m0"), from: "a", reportedAt: 100, now: 4)) {
            XCTAssertEqual(($0 as? FedCTError)?.code, .integrity)
        }
        let first = harness.take(try harness.run.onEvaluationReport(report(), from: "a", reportedAt: 100, now: 4))
        XCTAssertEqual(first.savedRecords.last?.record.evaluations.first?.sites.map(\.site), ["a"])
        XCTAssertThrowsError(try harness.run.onEvaluationReport(report(), from: "a", reportedAt: 101, now: 5), "one report per site")
        let last = harness.take(try harness.run.onEvaluationReport(report(), from: "b", reportedAt: 102, now: 5))
        let (record, version) = try XCTUnwrap(last.savedRecords.last)
        XCTAssertEqual(record.state, .succeeded)
        XCTAssertEqual(record.evaluations.first?.sites.map(\.site), ["a", "b"])
        XCTAssertEqual(harness.take(harness.run.onRecordSaved(version: version, now: 6)).endedJobs, [.succeeded])
    }

    func testEvaluationDeadlineEndsTheJobWithWhoeverReported() throws {
        var harness = try evaluating()
        harness.take(try harness.run.onEvaluationReport(report(), from: "a", reportedAt: 100, now: 3))
        XCTAssertTrue(harness.take(harness.run.tick(now: 101)).savedRecords.isEmpty)
        XCTAssertEqual(harness.take(harness.run.tick(now: 102)).savedRecords.last?.record.state, .succeeded)
    }

    func testRestartRedoesAnEvaluationCutShort() throws {
        var harness = JobRunHarness(spec: JobRunHarness.spec(rounds: 1, evaluate: true), state: .running, committedRounds: 1)
        XCTAssertEqual(harness.run.machine.phase, .evaluating(round: 1))
        for site in ["a", "b"] { harness.take(harness.run.siteSeen(site, now: 0)) }
        XCTAssertEqual(harness.pull(["b"], now: 1)["b"], .evaluate(round: 1, modelSHA256: String(repeating: "1", count: 64)))
    }
}
