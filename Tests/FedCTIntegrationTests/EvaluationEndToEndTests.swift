// Multi-process test: after a 1-round job over real gRPC + mTLS, both sites evaluate the final model and report metrics with
// counts only; `fedctl job status` shows them per site and pooled, and each site's egress ledger holds the metrics message.
import FedCTCore
import FedCTProto
import FedCTRPC
import Foundation
import XCTest

final class EvaluationEndToEndTests: XCTestCase {
    func testBothSitesReportTheirEvaluationAndTheCoordinatorPoolsIt() async throws {
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [48, 40], seed: 21)
        var spec = Fedct_V1_JobSpec.tiny(name: "evaluated", rounds: 1, minSites: 2)
        spec.evaluation.minCohort = 3
        let job = try await federation.submit(spec)
        try federation.startSite("site-1")
        // site-2's own policy raises the minimum cohort above its held-out set: it reports, but every metric is withheld.
        try federation.startSite("site-2", extra: "privacy: {min_cohort: 1000}")

        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(status.rounds.count, 1)
        XCTAssertEqual(status.evaluations.count, 1)
        let evaluation = try XCTUnwrap(status.evaluations.first)
        XCTAssertEqual(evaluation.round, 1)
        XCTAssertEqual(evaluation.modelSha256, status.rounds[0].modelSha256, "the sites evaluated the final global model")
        XCTAssertEqual(evaluation.minCohort, 3)
        XCTAssertEqual(evaluation.sites.map(\.site).sorted(), ["site-1", "site-2"])
        let first = try XCTUnwrap(evaluation.sites.first { $0.site == "site-1" })
        let second = try XCTUnwrap(evaluation.sites.first { $0.site == "site-2" })
        XCTAssertEqual(first.cohortSize, 12, "a quarter of 48 patients are held out")
        XCTAssertFalse(first.metrics.isEmpty, "site-1 reports the metrics whose cohorts reach 3: \(first)")
        for (name, value) in first.metrics {
            XCTAssertTrue((0...1).contains(value), name)
            let counts = try XCTUnwrap(first.counts[name])
            XCTAssertTrue(EvaluationReport.meetsMinimumCohort(scans: counts.scans, positives: counts.positives, minCohort: 3), "\(name): \(counts)")
        }
        XCTAssertEqual(Set(first.metrics.keys).union(first.suppressed), Set(EvaluationReport.probeNames))
        XCTAssertEqual(second.metrics, [:])
        XCTAssertEqual(Set(second.suppressed), Set(EvaluationReport.probeNames))
        XCTAssertEqual(evaluation.pooled.map(\.name), first.metrics.keys.sorted(), "pooled over the one site that reported each metric")
        for pooled in evaluation.pooled {
            XCTAssertEqual(pooled.value, first.metrics[pooled.name]!, accuracy: 1e-12)
            XCTAssertEqual(pooled.sites, 1)
        }

        // fedctl shows the same: JSON carries the records, the table names each site and the pooled column.
        let credentials = harness.folder.appending(path: "pki/admin").path
        let json = try harness.run("fedctl", ["job", "status", "--json", "--coordinator", federation.address, "--credentials", credentials, job.jobID])
        XCTAssertEqual(json.status, 0, json.output)
        let printed = try Fedct_V1_JobStatus(jsonString: json.output.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(printed.evaluations, status.evaluations)
        let text = try harness.run("fedctl", ["job", "status", "--coordinator", federation.address, "--credentials", credentials, job.jobID])
        XCTAssertEqual(text.status, 0, text.output)
        let name = try XCTUnwrap(first.metrics.keys.sorted().first)
        XCTAssertTrue(text.output.contains("evaluation of round 1") && text.output.contains("pooled") && text.output.contains("site-2"), text.output)
        XCTAssertTrue(text.output.contains(String(format: "%.3f (n=%lld", first.metrics[name]!, first.counts[name]!.scans)), text.output)

        // A report outside an open evaluation is refused, naming the site; the record is unchanged.
        let pki = harness.folder.appending(path: "pki/site-1")
        let channel = try GRPCChannel(options: ChannelOptions(target: federation.address, tls: TLSConfig.load(
            caFile: pki.appending(path: "ca.pem").path, certificateFile: pki.appending(path: "cert.pem").path, keyFile: pki.appending(path: "key.pem").path)))
        var late = Fedct_V1_MetricsReport()
        late.jobID = job.jobID
        late.round = 1
        late.modelSha256 = evaluation.modelSha256
        do {
            _ = try await channel.unary(method: "/fedct.v1.Site/ReportMetrics", request: try late.serializedBytes(), timeout: .seconds(10))
            XCTFail("a report after the job ended must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .failedPrecondition, "\(error)")
            XCTAssertTrue(error.message.contains("site-1") && error.message.contains("not the running job"), error.message)
        }
        let after = try await federation.admin.job(job.jobID)
        XCTAssertEqual(after.evaluations, status.evaluations)

        // Each site recorded its one metrics message in the egress ledger before sending it.
        for site in ["site-1", "site-2"] {
            let ledger = try String(contentsOf: harness.folder.appending(path: "state-\(site)/egress.jsonl"), encoding: .utf8)
            let lines = ledger.split(separator: "\n").filter { $0.contains("\"kind\":\"metrics\"") }
            XCTAssertEqual(lines.count, 1, "\(site): \(ledger)")
            XCTAssertTrue(lines.first?.contains("ReportMetrics") ?? false, "\(lines)")
        }
    }
}
