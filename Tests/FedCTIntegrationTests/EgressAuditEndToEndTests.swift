// Multi-process test: a secure, site-level DP job over real gRPC and mTLS leaves each site a signed egress ledger with a
// verified coordinator receipt for every call; `fedctl audit verify` passes it (exit 0) and names a flipped byte (exit 1).
import FedCTAudit
import FedCTCore
import FedCTIdentity
import FedCTProto
import Foundation
import XCTest

final class EgressAuditEndToEndTests: XCTestCase {
    func testARealJobsLedgersVerifyWithReceiptsAndTamperingIsNamed() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 8], seed: 23)
        var spec = Fedct_V1_JobSpec.tiny(name: "audited", rounds: 2, minSites: 2)
        spec.privacy.level = "site"
        spec.privacy.noiseMultiplier = 2
        spec.privacy.clipNorm = 1
        let job = try await federation.submit(spec)
        let sites = try names.map { try federation.startSite($0, extra: "egress: {archive_updates: true}") }
        let status = try await federation.waitForEnd(job.jobID)
        // The agents exit after the job; audit their ledgers once they have, not while a last call is still in flight.
        try await ShutdownProcessTests.waitForExit(sites, timeout: 60)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")
        XCTAssertEqual(status.rounds.map(\.hasMeanTrainLoss), [false, false], "a DP job's training loss does not leave the sites, not even summed")

        let ca = root.appending(path: "pki/site-1/ca.pem").path
        let verifier = EgressLedgerVerifier(authority: try SigningCertificateVerifier(caCertificatePEM: try String(contentsOfFile: ca, encoding: .utf8), source: ca))
        for name in names {
            let audit = try verifier.verify(folder: root.appending(path: "state-\(name)"))
            XCTAssertNil(audit.failure, "\(name): \(audit.failure!)")
            XCTAssertEqual(audit.site, name)
            let intents = audit.entries.filter { $0.type == .intent }
            let sent = audit.entries.filter { $0.type == .outcome && $0.status == "sent" }.count
            XCTAssertEqual(audit.receiptsVerified, sent, "\(name): every call the coordinator accepted has a verified receipt; warnings: \(audit.warnings)")
            XCTAssertEqual(audit.warnings, [], name)
            let masked = intents.filter { $0.kind == "masked-update" }.count
            XCTAssertGreaterThanOrEqual(masked, 2, name)
            XCTAssertEqual(audit.entries.filter { $0.type == .spend }.count, 2, "\(name): one site-level spend per round")
            XCTAssertEqual(audit.uniformity.count, masked, "\(name): every archived masked payload was tested")
            XCTAssertTrue(intents.contains { $0.kind == "secagg-advertise-keys" && $0.jobID == job.jobID && $0.round == 1 && $0.attempt != nil }, name)
        }

        let clean = try harness.run("fedctl", ["audit", "verify", root.appending(path: "state-site-1").path, "--ca", ca])
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.output.contains("VALID"), clean.output)
        let html = root.appending(path: "report.html").path
        let report = try harness.run("fedctl", ["audit", "report", root.appending(path: "state-site-1").path, "--ca", ca, "--json", "--html", html])
        XCTAssertEqual(report.status, 0, report.output)
        XCTAssertTrue(report.output.contains("\"totalEpsilon\""), report.output)
        XCTAssertTrue(try String(contentsOfFile: html, encoding: .utf8).contains("Verification: VALID"))
        let text = try harness.run("fedctl", ["audit", "report", root.appending(path: "state-site-1").path, "--ca", ca])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("verification: VALID") && text.output.contains("masked-update: "), text.output)
        print(text.output)  // the privacy reviewer guide quotes this report

        // Flip one byte of the masked update's intent: verification fails, naming that entry.
        let url = root.appending(path: "state-site-2/egress.jsonl")
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        let index = try XCTUnwrap(lines.firstIndex { $0.contains("\"kind\":\"masked-update\"") })
        lines[index] = lines[index].replacingOccurrences(of: "\"round\":1", with: "\"round\":2")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        let tampered = try harness.run("fedctl", ["audit", "verify", root.appending(path: "state-site-2").path, "--ca", ca])
        XCTAssertEqual(tampered.status, 1, tampered.output)
        XCTAssertTrue(tampered.output.contains("entry \(index) (line \(index + 1))") && tampered.output.contains("does not match its hash"), tampered.output)
        let unreadable = try harness.run("fedctl", ["audit", "verify", root.path + "/nowhere", "--ca", ca])
        XCTAssertEqual(unreadable.status, 2, unreadable.output)
    }
}
