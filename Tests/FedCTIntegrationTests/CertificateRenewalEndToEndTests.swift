// Multi-process test: a site's certificate is renewed in its start-up kit while it runs and the old one is then revoked;
// the site presents the new certificate from its next call, without a restart, and keeps taking part in every secure round.
import FedCTCoordinator
import FedCTIdentity
import FedCTProto
import FedCTRPC
import Foundation
import XCTest

final class CertificateRenewalEndToEndTests: XCTestCase {
    func testSiteRenewedWhileRunningKeepsWorkingAfterItsOldCertificateIsRevoked() async throws {
        let harness = try ProcessHarness()
        let pki = harness.folder.appending(path: "pki")
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6], seed: 7,
                                                     revocationList: "pki/ca/\(RevocationList.defaultFileName)")
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "renewal"
        spec.rounds = 30  // rounds take under a second here; enough of them to renew and revoke mid-job
        spec.minSites = 2
        spec.roundDeadlineSeconds = 60
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.training.localEpochs = 1
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        let job = try await federation.submit(spec)
        let kit = pki.appending(path: "site-2")
        // Keep the original certificate and key, to show later that the coordinator refuses them.
        let oldTLS = try TLSConfig.load(caFile: kit.appending(path: "ca.pem").path, certificateFile: kit.appending(path: "cert.pem").path,
                                        keyFile: kit.appending(path: "key.pem").path)
        let oldSerial = try PeerCertificate(certificatePEM: oldTLS.certificateChainPEM).serial
        for name in names { try federation.startSite(name) }

        // Once round 1 is committed, renew site-2's certificate in place, in its running agent's start-up kit.
        var status = try await federation.admin.job(job.jobID)
        let deadline = Date().addingTimeInterval(180)
        while status.rounds.isEmpty && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await federation.admin.job(job.jobID)
        }
        XCTAssertFalse(status.rounds.isEmpty, "round 1 never committed\n\(harness.log("coordinator"))")
        let renew = try harness.run("fedctl", ["provision", "renew", "--ca", pki.appending(path: "ca").path, "--name", "site-2",
                                               "--role", "site", "--out", kit.path])
        XCTAssertEqual(renew.status, 0, renew.output)
        XCTAssertTrue(renew.output.contains(oldSerial), renew.output)
        let newSerial = try PeerCertificate(certificatePEM: String(contentsOf: kit.appending(path: "cert.pem"), encoding: .utf8)).serial
        XCTAssertNotEqual(newSerial, oldSerial)

        // The agent notices at its next call, then the old certificate is revoked.
        let pickupDeadline = Date().addingTimeInterval(60)
        while !harness.log("site-2").contains("TLS certificate or key changed on disk") && Date() < pickupDeadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertTrue(harness.log("site-2").contains("TLS certificate or key changed on disk"), harness.log("site-2"))
        let revoke = try harness.run("fedctl", ["provision", "revoke", "--ca", pki.appending(path: "ca").path, "--serial", oldSerial,
                                                "--reason", "renewed"])
        XCTAssertEqual(revoke.status, 0, revoke.output)
        let roundsAtRevocation = try await federation.admin.job(job.jobID).rounds.count
        XCTAssertLessThan(roundsAtRevocation, Int(spec.rounds), "the job ended before the revocation; the test proved nothing")

        // The coordinator refuses the old certificate within its check interval (2 s)…
        var options = ChannelOptions(target: federation.address, tls: oldTLS)
        options.serverNameOverride = "localhost"
        let oldChannel = try GRPCChannel(options: options)
        var refusal: RPCError?
        let refusalDeadline = Date().addingTimeInterval(10)
        while refusal == nil && Date() < refusalDeadline {
            do {
                _ = try await oldChannel.unary(method: "/fedct.v1.Site/Heartbeat", request: [], timeout: .seconds(10))
            } catch let error as RPCError where error.code == .unauthenticated {
                refusal = error
            } catch {}
            if refusal == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        XCTAssertTrue(refusal?.message.contains(oldSerial) == true && refusal?.message.contains("revoked") == true, "\(String(describing: refusal))")

        // …while the renewed site takes part in every round to the end.
        status = try await federation.waitForEnd(job.jobID, timeout: 300)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-2"))")
        XCTAssertEqual(status.rounds.count, Int(spec.rounds))
        for round in status.rounds {
            XCTAssertEqual(round.sites, names, "round \(round.round): \(harness.log("site-2"))")
        }
        XCTAssertGreaterThan(Int(status.rounds.last?.round ?? 0), roundsAtRevocation, "rounds ran after the revocation")
        // The only call refused for the revoked serial was the test's own; the agent never presented it again.
        let refused = harness.log("coordinator").split(separator: "\n").filter { $0.contains("refused call with a revoked certificate") }
        XCTAssertEqual(refused.count, 1, refused.joined(separator: "\n"))

        // `revoke --refresh` re-signs the list with a later `updated` and the same entries.
        let listURL = pki.appending(path: "ca/\(RevocationList.defaultFileName)")
        let caPEM = try String(contentsOf: pki.appending(path: "ca/ca.pem"), encoding: .utf8)
        let before = try RevocationList(contentsOf: listURL, caCertificatePEM: caPEM)
        let refresh = try harness.run("fedctl", ["provision", "revoke", "--ca", pki.appending(path: "ca").path, "--refresh"])
        XCTAssertEqual(refresh.status, 0, refresh.output)
        let after = try RevocationList(contentsOf: listURL, caCertificatePEM: caPEM)
        XCTAssertGreaterThan(after.updated, before.updated)
        XCTAssertEqual(after.entries, before.entries)
        XCTAssertNotNil(after.entry(forSerial: oldSerial))
    }
}
