// Multi-process test: a job that derives its tasks runs the setup stage over real gRPC and mTLS — candidates, then
// securely summed prevalence and rates — and its derived task list, pieces and base rates equal the pooled derivation.
import FedCTAudit
import FedCTCore
import FedCTData
import FedCTIdentity
import FedCTProto
import Foundation
import XCTest

final class SetupStageEndToEndTests: XCTestCase {
    func testSecureSetupStageDerivesThePooledTasksThenTrains() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [24, 18], seed: 5)
        let spec = Self.derivedSpec(name: "derive", rounds: 1)
        let job = try await federation.submit(spec)
        XCTAssertTrue(job.initialModelSha256.isEmpty, "a derived job has no model before its setup stage")
        for name in names { try federation.startSite(name) }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")

        let expected = try Self.pooledDerivation(harness: harness, sites: names, minPatients: 3, maxTasks: 40, pieces: 4)
        XCTAssertEqual(status.spec.tte, expected.tte)
        XCTAssertTrue(status.setup.securelyAggregated)
        XCTAssertEqual(status.setup.sites, names)
        XCTAssertEqual(Int(status.setup.candidates), expected.candidates)
        XCTAssertEqual(UInt64(status.setup.patients), expected.patients)
        XCTAssertFalse(status.initialModelSha256.isEmpty)
        XCTAssertEqual(status.rounds.count, 1, "round 1 trained on the derived tasks")

        // Only code names and masked words left the sites during setup: no plain counts.
        let ledger = try String(contentsOf: harness.folder.appending(path: "state-site-1/egress.jsonl"), encoding: .utf8)
        XCTAssertTrue(ledger.contains("setup-candidates"))
        XCTAssertEqual(ledger.components(separatedBy: "\"setup-masked\"").count - 1, 2, "one masked vector each for prevalence and rates")
        XCTAssertFalse(ledger.contains("setup-counts"))

        // The candidate list that left is signed for this job by the site's certificate key (other sites check it).
        let state = harness.folder.appending(path: "state-site-1")
        let entries = try ledger.split(separator: "\n").map { try EgressLedgerChain.unseal(Array($0.utf8)).entry }
        let archive = try XCTUnwrap(entries.first { $0.kind == "setup-candidates" }?.archive)
        let submission = try Fedct_V1_SetupSubmission(serializedBytes: Data(contentsOf: state.appending(path: archive)))
        let pki = harness.folder.appending(path: "pki/site-1")
        let verifier = try ConsortiumSignatureVerifier(caCertificatePEM: try String(contentsOf: pki.appending(path: "ca.pem"), encoding: .utf8), source: "ca.pem")
        let message = SetupProposals.signedMessage(jobID: job.jobID, step: TaskSetupStage.steps[0], names: submission.candidates.codes)
        XCTAssertFalse(submission.candidates.codes.isEmpty)
        XCTAssertNoThrow(try verifier.verify(certificatePEM: try String(contentsOf: pki.appending(path: "cert.pem"), encoding: .utf8), site: "site-1",
                                             message: message, signature: Array(submission.candidates.signature), what: "candidate list"))
        XCTAssertThrowsError(try verifier.verify(certificatePEM: try String(contentsOf: pki.appending(path: "cert.pem"), encoding: .utf8), site: "site-1",
                                                 message: message + [0], signature: Array(submission.candidates.signature), what: "candidate list"))
    }

    func testSiteRequiringSecureAggregationRefusesAPlainSetupStage() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [10, 10], seed: 6)
        var spec = Fedct_V1_JobSpec.tiny(name: "plain-derive", rounds: 1, minSites: 2, secure: false)
        spec.tte.deriveTasks = true
        spec.tte.taskCodes = []
        spec.tte.pieceEdgesDays = []
        spec.roundDeadlineSeconds = 5
        let job = try await federation.submit(spec)
        try federation.startSite("site-1", exitAfterJob: false)
        try federation.startSite("site-2", extra: "privacy: {require_secure_aggregation: false}", exitAfterJob: false)
        let status = try await federation.waitForEnd(job.jobID, timeout: 60)
        XCTAssertEqual(status.state, .failed, "the setup step cannot close without site-1's statistics")
        XCTAssertTrue(status.message.contains("setup step 'candidates'"), status.message)
        XCTAssertTrue(harness.log("site-1").contains("this site requires secure aggregation"), harness.log("site-1"))
        let ledger = try String(contentsOf: harness.folder.appending(path: "state-site-1/egress.jsonl"), encoding: .utf8)
        XCTAssertFalse(ledger.contains("setup-"), "site-1 sent no setup statistics for an unmasked job")
    }

    func testCoordinatorRestartedDuringSetupRedoesItAndDerivesTheSameTasks() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [20, 16], seed: 9)
        let job = try await federation.submit(Self.derivedSpec(name: "derive-restart", rounds: 1))
        for name in names { try federation.startSite(name) }
        // Kill the coordinator once the prevalence sum is combined, before the rates step commits the derived spec.
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && !harness.log("coordinator").contains("step=prevalence") {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertTrue(harness.log("coordinator").contains("setup step combined"), harness.log("coordinator"))
        kill(federation.coordinator.processIdentifier, SIGKILL)
        federation.coordinator.waitUntilExit()
        try federation.restartCoordinator(label: "coordinator-2")
        for _ in 0..<300 where (try? await federation.admin.job(job.jobID)) == nil { try await Task.sleep(for: .milliseconds(100)) }

        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator-2"))\n\(harness.log("site-1"))")
        XCTAssertTrue(harness.log("coordinator-2").contains("setup stage committed"), "the restarted coordinator ran the setup stage again")
        let expected = try Self.pooledDerivation(harness: harness, sites: names, minPatients: 3, maxTasks: 40, pieces: 4)
        XCTAssertEqual(status.spec.tte, expected.tte)
        XCTAssertEqual(status.rounds.count, 1)
    }

    /// `privacy.setup_noise_multiplier`: each site noises its two counting steps, records each as a patient-level spend
    /// under the step's round before it leaves, and its ledger verifies with those spends; the job derives tasks from the
    /// noisy sums and trains. (σ 10⁻⁴: observed time has a per-patient bound of 100 years per task, so at σ 0.01 the
    /// noise, about 96,000 hours per site over 40 tasks, already swamps this small cohort's sums; its ε is not the point.)
    func testNoisedSetupCountsAreChargedBeforeTheyLeaveAndTheLedgerVerifies() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [24, 18], seed: 5)
        var spec = Self.derivedSpec(name: "derive-noised", rounds: 1)
        spec.privacy.setupNoiseMultiplier = 1e-4
        let job = try await federation.submit(spec)
        let sites = try names.map { try federation.startSite($0) }
        let status = try await federation.waitForEnd(job.jobID)
        try await ShutdownProcessTests.waitForExit(sites, timeout: 60)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertTrue(status.setup.securelyAggregated)
        XCTAssertFalse(status.spec.tte.taskCodes.isEmpty)
        XCTAssertEqual(status.rounds.count, 1)

        let ca = harness.folder.appending(path: "pki/site-1/ca.pem").path
        let verifier = EgressLedgerVerifier(authority: try SigningCertificateVerifier(caCertificatePEM: try String(contentsOfFile: ca, encoding: .utf8), source: ca))
        for name in names {
            let audit = try verifier.verify(folder: harness.folder.appending(path: "state-\(name)"))
            XCTAssertNil(audit.failure, "\(name): \(audit.failure!)")
            let spends = audit.entries.compactMap(\.spend)
            XCTAssertEqual(spends.map(\.round), [-1, -2], "\(name): the prevalence and rates steps, nothing else")
            XCTAssertTrue(spends.allSatisfy { $0.level == .patient && $0.noiseMultiplier == 1e-4 && $0.samplingRate == 1 && $0.steps == 1 }, "\(name)")
            // Each spend is in the ledger before the masked vector it pays for.
            for (spend, round) in zip(audit.entries.filter { $0.type == .spend }, [-1, -2]) {
                let sent = try XCTUnwrap(audit.entries.first { $0.type == .intent && $0.kind == "setup-masked" && $0.round == round }, "\(name) round \(round)")
                XCTAssertLessThan(spend.seq, sent.seq, "\(name) round \(round)")
            }
        }
        let report = try harness.run("fedctl", ["audit", "report", harness.folder.appending(path: "state-site-1").path, "--ca", ca])
        XCTAssertEqual(report.status, 0, report.output)
        XCTAssertTrue(report.output.contains("patient, 2 setup"), report.output)
        for round in [-1, -2] {
            XCTAssertTrue(report.output.range(of: "round \(round)\n  privacy spend, entry [0-9]+: patient level, σ = 0.0001, q = 1, 1 step", options: .regularExpression) != nil,
                          "round \(round)'s spend is listed under it: \(report.output)")
        }
        print(report.output)  // the privacy reviewer guide quotes this report's privacy line
    }

    /// A tiny job that derives up to 40 tasks in 4 pieces from codes held by at least 3 patients of a site.
    static func derivedSpec(name: String, rounds: Int32) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.tiny(name: name, rounds: rounds, minSites: 2)
        spec.tte.deriveTasks = true
        spec.tte.taskCodes = []
        spec.tte.pieceEdgesDays = []
        spec.tte.taskLog2BaseHazard = []
        spec.tte.maxTasks = 40
        spec.tte.pieces = 4
        spec.tte.minPatientsPerCode = 3
        return spec
    }

    /// The derivation on the pooled train scans of `sites`, computed in the clear: what the secure setup stage must match.
    static func pooledDerivation(harness: ProcessHarness, sites: [String], minPatients: Int, maxTasks: Int, pieces: Int) throws
        -> (tte: Fedct_V1_TTESpec, candidates: Int, patients: UInt64)
    {
        let inputs = try sites.map { try SiteDataset.setupFollowUps(directory: harness.folder.appending(path: "data/\($0)").path).followUps }
        func sum(_ vectors: [[UInt64]]) -> [UInt64] {
            vectors.dropFirst().reduce(vectors[0]) { zip($0, $1).map { $0 + $1 } }
        }
        let candidates = TaskDerivation.union(inputs.map { TaskStatistics.candidates($0, minPatients: minPatients) })
        let prevalence = sum(inputs.map { TaskStatistics.prevalence($0, candidates: candidates) })
        let tasks = try TaskDerivation.rank(candidates: candidates, prevalenceSum: prevalence, maxTasks: maxTasks).map(\.code)
        let layout = TaskStatistics.RatesLayout(tasks: tasks.count, grid: .standard)
        let rates = sum(inputs.map { TaskStatistics.rates($0, tasks: tasks, grid: .standard) })
        var tte = derivedSpec(name: "", rounds: 1).tte
        tte.taskCodes = tasks
        tte.pieceEdgesDays = try TaskDerivation.pieceEdges(histogram: Array(rates[layout.histogram...]), grid: .standard, pieces: pieces)
        tte.taskLog2BaseHazard = try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: layout, tasks: tasks)
        return (tte, candidates.count, prevalence[0])
    }
}
