// SiteRoundTests: the site's training round as a value — every directive in order, and every failure path, without sockets or processes.
import FedCTCore
import FedCTProto
import FedCTRPC
@testable import FedCTSite
import Foundation
import Synchronization
import XCTest

final class SiteRoundTests: XCTestCase {
    private let sha = String(repeating: "ab", count: 32)

    private func task(secure: Bool = false, level: String = "none", rounds: Int32 = 5, round: Int32 = 2) -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        task.kind = .train
        task.jobID = "job-7"
        task.round = round
        task.modelSha256 = sha
        task.modelBytes = 4096
        task.spec.name = "tte-demo"
        task.spec.rounds = rounds
        task.spec.secureAggregation.enabled = secure
        task.spec.privacy.level = level
        task.spec.privacy.noiseMultiplier = 1.1
        return task
    }

    /// The one directive of `directives`, which must be `.finish`, as its outcome.
    private func outcome(_ directives: [SiteRound.Directive], file: StaticString = #filePath, line: UInt = #line) -> SiteRound.Outcome? {
        guard directives.count == 1, case .finish(let outcome) = directives[0] else {
            XCTFail("expected only .finish, got \(directives)", file: file, line: line)
            return nil
        }
        return outcome
    }

    private func abandonment(_ directives: [SiteRound.Directive], file: StaticString = #filePath, line: UInt = #line) -> SiteRound.Abandonment? {
        guard case .abandoned(let abandonment)? = outcome(directives, file: file, line: line) else {
            XCTFail("expected the round abandoned, got \(directives)", file: file, line: line)
            return nil
        }
        return abandonment
    }

    private func stopped(_ directives: [SiteRound.Directive], file: StaticString = #filePath, line: UInt = #line) -> (any Error)? {
        guard case .stopped(let error)? = outcome(directives, file: file, line: line) else {
            XCTFail("expected the agent stopped, got \(directives)", file: file, line: line)
            return nil
        }
        return error
    }

    private let trained = SiteRound.Trained(meanLoss: 0.75, steps: 6, samplingRate: nil, noiseMultiplier: nil)

    // MARK: The sequence

    func testAPlainRoundLoadsFetchesTrainsComputesTheDeltaUploadsAndReports() throws {
        var round = SiteRound(task: task(), policy: SiteRound.Policy())
        guard case .loadData = try XCTUnwrap(round.start().first) else { return XCTFail("the data is read first") }
        guard case .fetchModel(let sha256, let bytes) = try XCTUnwrap(round.onDataLoaded(examples: 12, patients: 9, dataDirectory: "/data").first) else {
            return XCTFail("a plain round fetches the model after the data")
        }
        XCTAssertEqual(sha256, sha)
        XCTAssertEqual(bytes, 4096)
        guard case .loadModel = try XCTUnwrap(round.onModelFetched().first) else { return XCTFail("then loads it") }
        // No budget: no check before training.
        guard case .train(let heartbeat, let every) = try XCTUnwrap(round.onModelLoaded(localRanges: [], dpSGDSchedule: (0.3, 4)).first) else {
            return XCTFail("a site without privacy.max_epsilon trains at once")
        }
        XCTAssertEqual(heartbeat.jobID, "job-7")
        XCTAssertEqual(heartbeat.round, 2)
        XCTAssertEqual(every, .seconds(15))
        guard case .computeDelta(let zeroing) = try XCTUnwrap(round.onTrained(trained).first) else { return XCTFail("no DP-SGD: no spend") }
        XCTAssertEqual(zeroing, [])
        guard case .uploadPlain(let header) = try XCTUnwrap(round.onDeltaComputed(allFinite: true).first) else { return XCTFail("uploads plain") }
        XCTAssertEqual(header.jobID, "job-7")
        XCTAssertEqual(header.round, 2)
        XCTAssertEqual(header.baseModelSha256, sha)
        XCTAssertEqual(header.meanTrainLoss, 0.75)
        XCTAssertEqual(header.localSteps, 6)
        XCTAssertEqual(header.exampleCount, 12)
        XCTAssertFalse(header.hasMasked)
        let last = round.onUploaded(bytesReceived: 1234)
        XCTAssertEqual(last.count, 2)
        guard case .report(let report) = last[0], case .finish(.sent) = last[1] else { return XCTFail("reports, then ends sent: \(last)") }
        XCTAssertEqual(report, SiteRound.Report(meanLoss: 0.75, steps: 6, bytesReceived: 1234, secure: false))
        XCTAssertEqual(round.step, .ended)
    }

    func testASecureSiteLevelDPRoundOpensItsSessionBeforeTheDownloadChecksTheBudgetAndUploadsMasked() throws {
        let policy = SiteRound.Policy(requireSecureAggregation: true, maxEpsilon: 8, privacyDelta: 1e-6)
        var round = SiteRound(task: task(secure: true, level: "site", rounds: 5, round: 2), policy: policy)
        guard case .loadData = try XCTUnwrap(round.start().first) else { return XCTFail("a secure job passes the policy") }
        guard case .openSecureSession = try XCTUnwrap(round.onDataLoaded(examples: 12, patients: 9, dataDirectory: "/data").first) else {
            return XCTFail("keys first: the key steps close long before the round deadline")
        }
        guard case .fetchModel = try XCTUnwrap(round.onSecureSessionOpened().first) else { return XCTFail("then the download") }
        guard case .loadModel = try XCTUnwrap(round.onModelFetched().first) else { return XCTFail("then the load") }
        let fedBN = [0..<4, 10..<12]
        guard case .checkBudget(let planned, let limit, let delta) = try XCTUnwrap(round.onModelLoaded(localRanges: fedBN, dpSGDSchedule: (0.3, 4)).first) else {
            return XCTFail("a site with a budget checks it before training")
        }
        // This round and the job's remaining ones (2 to 5), each one Gaussian mechanism on the noised sum.
        let spend = PrivacySpend(jobID: "job-7", round: 2, level: .site, samplingRate: 1, noiseMultiplier: 1.1, steps: 1, delta: 1e-6)
        XCTAssertEqual(planned, Array(repeating: spend, count: 4))
        XCTAssertEqual(limit, 8)
        XCTAssertEqual(delta, 1e-6)
        guard case .train = try XCTUnwrap(round.onBudgetChecked().first) else { return XCTFail("then trains") }
        guard case .computeDelta(let zeroing) = try XCTUnwrap(round.onTrained(trained).first) else { return XCTFail("site-level DP spends at the mask") }
        XCTAssertEqual(zeroing, fedBN, "the layers that stay here get no update")
        guard case .uploadMasked(let upload) = try XCTUnwrap(round.onDeltaComputed(allFinite: true).first) else { return XCTFail("uploads masked") }
        XCTAssertEqual(upload.siteLevelSpend, spend)
        XCTAssertEqual(upload.examples, 12)
        XCTAssertEqual(upload.loss, 0.75)
        XCTAssertEqual(upload.header.baseModelSha256, sha)
        XCTAssertEqual(upload.header.meanTrainLoss, 0, "the loss goes inside the secure sum, not in the header")
        XCTAssertEqual(upload.header.localSteps, 0, "the step count (≈ training-set size) goes nowhere")
        XCTAssertEqual(upload.header.exampleCount, 0)
        let last = round.onUploaded(bytesReceived: 99)
        guard case .report(let report)? = last.first, report.secure else { return XCTFail("a secure report: \(last)") }
    }

    func testPatientLevelDPChecksTheScheduleAndRecordsTheSpendBeforeTheDelta() throws {
        var round = SiteRound(task: task(level: "patient", rounds: 3, round: 3), policy: SiteRound.Policy(maxEpsilon: 4, privacyDelta: 1e-5))
        _ = round.start()
        _ = round.onDataLoaded(examples: 12, patients: 9, dataDirectory: "/data")
        _ = round.onModelFetched()
        guard case .checkBudget(let planned, _, _) = try XCTUnwrap(round.onModelLoaded(localRanges: [], dpSGDSchedule: (0.25, 8)).first) else {
            return XCTFail("checks the budget")
        }
        XCTAssertEqual(planned, [PrivacySpend(jobID: "job-7", round: 3, level: .patient, samplingRate: 0.25, noiseMultiplier: 1.1, steps: 8, delta: 1e-5)],
                       "the last round: only itself is planned")
        _ = round.onBudgetChecked()
        let dpSGD = SiteRound.Trained(meanLoss: 0.5, steps: 7, samplingRate: 0.25, noiseMultiplier: 1.1)
        guard case .recordSpend(let spends) = try XCTUnwrap(round.onTrained(dpSGD).first) else { return XCTFail("DP-SGD's spend is recorded first") }
        XCTAssertEqual(spends, [PrivacySpend(jobID: "job-7", round: 3, level: .patient, samplingRate: 0.25, noiseMultiplier: 1.1, steps: 7, delta: 1e-5)],
                       "charged for the steps actually taken")
        guard case .computeDelta = try XCTUnwrap(round.onSpendRecorded().first) else { return XCTFail("then the delta") }
        guard case .uploadPlain = try XCTUnwrap(round.onDeltaComputed(allFinite: true).first) else { return XCTFail("plain upload") }
    }

    // MARK: Failure paths

    func testPolicyRefusalsAbandonTheRoundBeforeAnythingIsReadOrSent() throws {
        var unmasked = SiteRound(task: task(secure: false), policy: SiteRound.Policy(requireSecureAggregation: true))
        let refusal = try XCTUnwrap(abandonment(unmasked.start()))
        XCTAssertEqual(refusal.cause, .policyRefusal)
        XCTAssertEqual(refusal.pause, .seconds(5))
        XCTAssertTrue("\(refusal.error)".contains("privacy.require_secure_aggregation"), "\(refusal.error)")

        var noDP = SiteRound(task: task(secure: true, level: "none"), policy: SiteRound.Policy(maxEpsilon: 8))
        let dpRefusal = try XCTUnwrap(abandonment(noDP.start()))
        XCTAssertEqual(dpRefusal.cause, .policyRefusal)
        XCTAssertTrue("\(dpRefusal.error)".contains("privacy.max_epsilon"), "\(dpRefusal.error)")
    }

    func testNoTrainingDataStopsTheAgentNamingTheFolder() throws {
        var round = SiteRound(task: task(), policy: SiteRound.Policy())
        _ = round.start()
        let error = try XCTUnwrap(stopped(round.onDataLoaded(examples: 0, patients: 0, dataDirectory: "/srv/site-a")))
        XCTAssertTrue("\(error)".contains("/srv/site-a") && "\(error)".contains("cohort.csv"), "\(error)")
    }

    func testANonFiniteUpdateIsNeverSent() throws {
        var round = SiteRound(task: task(), policy: SiteRound.Policy())
        _ = round.start()
        _ = round.onDataLoaded(examples: 3, patients: 3, dataDirectory: "/data")
        _ = round.onModelFetched()
        _ = round.onModelLoaded(localRanges: [], dpSGDSchedule: (1, 1))
        _ = round.onTrained(trained)
        let error = try XCTUnwrap(stopped(round.onDeltaComputed(allFinite: false)))
        XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
        XCTAssertTrue("\(error)".contains("non-finite") && "\(error)".contains("nothing was sent"), "\(error)")
    }

    /// A round of a secure, patient-level DP job with a budget, driven to `step`.
    private func round(at step: SiteRound.Step) -> SiteRound {
        var round = SiteRound(task: task(secure: true, level: "patient"), policy: SiteRound.Policy(maxEpsilon: 8))
        let events: [(inout SiteRound) -> Void] = [
            { _ = $0.start() },
            { _ = $0.onDataLoaded(examples: 3, patients: 3, dataDirectory: "/data") },
            { _ = $0.onSecureSessionOpened() },
            { _ = $0.onModelFetched() },
            { _ = $0.onModelLoaded(localRanges: [], dpSGDSchedule: (1, 1)) },
            { _ = $0.onBudgetChecked() },
            { _ = $0.onTrained(SiteRound.Trained(meanLoss: 1, steps: 1, samplingRate: 1, noiseMultiplier: 1)) },
            { _ = $0.onSpendRecorded() },
            { _ = $0.onDeltaComputed(allFinite: true) },
        ]
        for event in events where round.step != step { event(&round) }
        XCTAssertEqual(round.step, step)
        return round
    }

    func testAFailureAtEveryStepEndsTheRoundAsItsErrorAsksAndDirectsNothingElse() throws {
        let steps: [SiteRound.Step] = [.loadingData, .openingSecureSession, .fetchingModel, .loadingModel, .checkingBudget, .training,
                                       .recordingSpend, .computingDelta, .uploading]
        let coordinatorRefused = RPCError(code: .failedPrecondition, message: "round 2 is closed")
        let secureAborted = FedCTError(.failedPrecondition, "secure aggregation of round 2 ended before this site's maskedInput step: too few sites")
        let ledgerUnwritable = FedCTError(.io, "cannot write the privacy budget ledger")
        for step in steps {
            var refused = round(at: step)
            let byCoordinator = try XCTUnwrap(abandonment(refused.onFailed(coordinatorRefused)), "\(step)")
            XCTAssertEqual(byCoordinator.cause, .coordinator, "\(step)")
            XCTAssertEqual(byCoordinator.pause, .seconds(2), "\(step)")
            XCTAssertEqual(refused.step, .ended)

            var aborted = round(at: step)
            let abort = try XCTUnwrap(abandonment(aborted.onFailed(secureAborted)), "\(step)")
            XCTAssertEqual(abort.cause, .protocolFailure, "\(step)")
            XCTAssertEqual(abort.pause, .seconds(2), "\(step)")

            var unwritable = round(at: step)
            let stop = try XCTUnwrap(stopped(unwritable.onFailed(ledgerUnwritable)), "\(step)")
            XCTAssertEqual((stop as? FedCTError)?.code, .io, "\(step)")
        }
    }

    func testEachNamedFailureEndsTheRoundAsTheAgentAlwaysHas() throws {
        // Fetch: a model that arrives with another hash is refused, the round abandoned; an unreachable coordinator stops the agent.
        var fetch = round(at: .fetchingModel)
        XCTAssertEqual(try XCTUnwrap(abandonment(fetch.onFailed(FedCTError(.integrity, "model abcd arrived with a different hash")))).cause, .protocolFailure)
        var unreachable = round(at: .fetchingModel)
        XCTAssertNotNil(stopped(unreachable.onFailed(FedCTError(.io, "cannot reach the coordinator at coordinator:7443"))))
        // Budget: the ledger's refusal is a policy refusal, with the longer pause.
        var budget = round(at: .checkingBudget)
        let overBudget = try XCTUnwrap(abandonment(budget.onFailed(FedCTError(.permissionDenied, "this round would take the site to ε = 9.1 > 8"))))
        XCTAssertEqual(overBudget.cause, .policyRefusal)
        XCTAssertEqual(overBudget.pause, .seconds(5))
        // Training: a worker that died abandons the round (the job goes on without the site); a corrupt data file stops the agent.
        var worker = round(at: .training)
        XCTAssertEqual(try XCTUnwrap(abandonment(worker.onFailed(FedCTError(.failedPrecondition, "worker 1 exited on signal 9")))).cause, .protocolFailure)
        var corrupt = round(at: .training)
        XCTAssertNotNil(stopped(corrupt.onFailed(FedCTError(.invalidData, "scan-3.nii.gz is truncated"))))
        // Upload: the coordinator rejecting the update abandons the round.
        var upload = round(at: .uploading)
        XCTAssertEqual(try XCTUnwrap(abandonment(upload.onFailed(RPCError(code: .invalidArgument, message: "update for round 1, open round is 2")))).cause, .coordinator)
        // Cancellation (the agent shutting down) is never taken for a failed round.
        var cancelled = round(at: .training)
        XCTAssertTrue(try XCTUnwrap(stopped(cancelled.onFailed(CancellationError()))) is CancellationError)
    }

    func testSetupStepErrorsAreClassifiedLikeTrainingRounds() {
        guard case .abandoned(let protocolViolation) = SiteRound.outcome(of: FedCTError(.protocolViolation, "the coordinator sent setup step 'x'")) else {
            return XCTFail("a protocol violation abandons the step")
        }
        XCTAssertEqual(protocolViolation.cause, .protocolFailure)
        guard case .stopped = SiteRound.outcome(of: FedCTError(.invalidConfiguration, "tls.key")) else { return XCTFail("a bad configuration stops the agent") }
    }

    func testTheSecureSessionEndingAtEachStepAbandonsTheRoundNamingTheStepAndReason() throws {
        for wanted in [Fedct_V1_SecAggStepResponse.Step.shareKeys, .maskedInput, .unmask] {
            var response = Fedct_V1_SecAggStepResponse()
            response.step = wanted
            guard case .reached = SiteRound.secureStepPoll(response, wanted: wanted, round: 4) else { return XCTFail("\(wanted) reached") }
            response.step = .wait
            response.retryAfterMs = 10
            guard case .poll(let after) = SiteRound.secureStepPoll(response, wanted: wanted, round: 4) else { return XCTFail("earlier step: poll") }
            XCTAssertEqual(after, .milliseconds(50), "polls no faster than every 50 ms")
            for end in [Fedct_V1_SecAggStepResponse.Step.aborted, .done] {
                response.step = end
                response.reason = "2 sites left, below min_cohort 3"
                guard case .ended(let error) = SiteRound.secureStepPoll(response, wanted: wanted, round: 4) else { return XCTFail("\(end) ends the round") }
                XCTAssertTrue(error.message.contains("round 4") && error.message.contains("\(wanted)") && error.message.contains("below min_cohort 3"), error.message)
                guard case .abandoned(let abandonment) = SiteRound.outcome(of: error) else { return XCTFail("abandoned") }
                XCTAssertEqual(abandonment.cause, .protocolFailure)
            }
        }
    }

    // MARK: Liveness

    /// Heartbeats received by the fake link (they run on the cooperative pool while the work blocks the executor).
    final class Heartbeats: Sendable {
        private let requests = Mutex<[(request: Fedct_V1_HeartbeatRequest, at: Date)]>([])
        var received: [Fedct_V1_HeartbeatRequest] { requests.withLock { $0.map(\.request) } }
        var times: [Date] { requests.withLock { $0.map(\.at) } }
        func receive(_ request: Fedct_V1_HeartbeatRequest) { requests.withLock { $0.append((request, Date())) } }
    }

    /// Training that outlasts the coordinator's liveness window (60 s, here scaled down 120 times to 0.5 s): the round asks
    /// for heartbeats on the site's period, carrying its job and round, and carrying out its `.train` directive with
    /// `keepingAlive` sends them throughout — no gap longer than the window — while the round waits as long as training takes.
    func testTrainingLongerThanTheLivenessWindowIsCarriedByHeartbeats() async throws {
        let window = 0.5
        var round = SiteRound(task: task(), policy: SiteRound.Policy(heartbeatInterval: .milliseconds(125)))
        _ = round.start()
        _ = round.onDataLoaded(examples: 3, patients: 3, dataDirectory: "/data")
        _ = round.onModelFetched()
        guard case .train(let request, let every) = try XCTUnwrap(round.onModelLoaded(localRanges: [], dpSGDSchedule: (1, 1)).first) else {
            return XCTFail("trains")
        }
        XCTAssertLessThan(every, .milliseconds(Int(window * 1000)))
        let heartbeats = Heartbeats()
        let started = Date()
        let result = try await keepingAlive(every: every, beat: { heartbeats.receive(request) }, on: TrainingExecutor()) { () -> SiteRound.Trained in
            Thread.sleep(forTimeInterval: 3 * window)  // blocks its thread, as libtorch does
            return SiteRound.Trained(meanLoss: 0.5, steps: 4, samplingRate: nil, noiseMultiplier: nil)
        }
        let ended = Date()
        let contacts = [started] + heartbeats.times + [ended]
        let longestSilence = zip(contacts, contacts.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .infinity
        XCTAssertLessThan(longestSilence, window, "the coordinator heard from the site at least once per liveness window")
        XCTAssertGreaterThanOrEqual(heartbeats.received.count, 6)
        XCTAssertTrue(heartbeats.received.allSatisfy { $0.jobID == "job-7" && $0.round == 2 })
        guard case .computeDelta = try XCTUnwrap(round.onTrained(result).first) else { return XCTFail("a long training goes on to the upload") }
    }

    func testTheSiteHeartbeatPeriodIsTheRoundsPeriod() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-site-round-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "site.yaml").path
        try """
            coordinator: {address: "coordinator:7443", heartbeat_seconds: 2.5}
            tls: {ca: ca.pem, cert: cert.pem, key: key.pem}
            data: {dir: data}
            privacy: {require_secure_aggregation: true, max_epsilon: 6}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let policy = SiteRound.Policy(config: try SiteConfig(contentsOf: path))
        XCTAssertEqual(policy.heartbeatInterval, .milliseconds(2500))
        XCTAssertTrue(policy.requireSecureAggregation)
        XCTAssertEqual(policy.maxEpsilon, 6)
    }
}
