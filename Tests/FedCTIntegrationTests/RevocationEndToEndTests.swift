// Multi-process test: `fedctl provision revoke` on a running consortium makes the coordinator refuse that certificate
// (UNAUTHENTICATED, naming the serial) within seconds while others keep working; a renewed certificate works; a list
// with a bad signature stops the coordinator at start, naming the file.
import FedCTAdmin
import FedCTIdentity
import FedCTRPC
import Foundation
import XCTest

final class RevocationEndToEndTests: XCTestCase {
    func testRevokedAdminIsRefusedAndRenewedCertificateWorks() async throws {
        let harness = try ProcessHarness()
        let pki = harness.folder.appending(path: "pki")
        let federation = try harness.startFederation(sites: ["site-1"], patientsPerSite: [6], seed: 3, admins: ["admin", "auditor"],
                                                     revocationList: "pki/ca/\(RevocationList.defaultFileName)")
        func client(_ folder: String) throws -> AdminClient {
            try AdminClient(address: federation.address, tls: TLSConfig.load(
                caFile: pki.appending(path: "\(folder)/ca.pem").path, certificateFile: pki.appending(path: "\(folder)/cert.pem").path,
                keyFile: pki.appending(path: "\(folder)/key.pem").path))
        }
        // Wait for the coordinator, then check both admins are served.
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await federation.admin.list()) != nil
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(ready, harness.log("coordinator"))
        let auditor = try client("auditor")
        _ = try await auditor.list()

        let serial = try PeerCertificate(certificatePEM: String(contentsOf: pki.appending(path: "auditor/cert.pem"), encoding: .utf8)).serial
        let revoke = try harness.run("fedctl", ["provision", "revoke", "--ca", pki.appending(path: "ca").path,
                                                "--cert", pki.appending(path: "auditor/cert.pem").path, "--reason", "left the project"])
        XCTAssertEqual(revoke.status, 0, revoke.output)
        XCTAssertTrue(revoke.output.contains(serial), revoke.output)

        // The coordinator re-reads the list within its check interval (2 s); allow 10 s.
        let revokedAt = Date()
        var refusal: RPCError?
        while refusal == nil && Date().timeIntervalSince(revokedAt) < 10 {
            do {
                _ = try await auditor.list()
                try await Task.sleep(for: .milliseconds(200))
            } catch let error as RPCError {
                refusal = error
            }
        }
        let error = try XCTUnwrap(refusal, "the revoked certificate was still served after 10 s\n\(harness.log("coordinator"))")
        XCTAssertEqual(error.code, .unauthenticated, "\(error)")
        XCTAssertTrue(error.message.contains(serial) && error.message.contains("revoked"), error.message)
        XCTAssertTrue(error.message.contains("left the project"), error.message)
        // A fresh connection with the revoked certificate is refused too; the other admin keeps working.
        do {
            _ = try await client("auditor").list()
            XCTFail("a new connection with a revoked certificate must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unauthenticated, "\(error)")
        }
        _ = try await federation.admin.list()

        // A renewed certificate for the same admin (new serial) is served.
        let renew = try harness.run("fedctl", ["provision", "renew", "--ca", pki.appending(path: "ca").path, "--name", "auditor",
                                               "--role", "admin", "--out", pki.appending(path: "auditor-renewed").path])
        XCTAssertEqual(renew.status, 0, renew.output)
        let renewed = try PeerCertificate(certificatePEM: String(contentsOf: pki.appending(path: "auditor-renewed/cert.pem"), encoding: .utf8))
        XCTAssertEqual(renewed.identity, ParticipantIdentity(name: "auditor", role: .admin))
        XCTAssertNotEqual(renewed.serial, serial)
        _ = try await client("auditor-renewed").list()
        XCTAssertTrue(harness.log("coordinator").contains("refused call with a revoked certificate"), harness.log("coordinator"))

        // A coordinator whose revocation list does not verify refuses to start and names the file.
        let listPath = pki.appending(path: "ca/\(RevocationList.defaultFileName)").path
        let tampered = try String(contentsOfFile: listPath, encoding: .utf8).replacingOccurrences(of: serial, with: String(serial.reversed()))
        let badList = try harness.write(tampered, to: "tampered-list.json")
        let badConfig = try harness.write("""
            listen: 127.0.0.1:0
            state_dir: \(harness.folder.path)/state-bad
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem, revocation_list: \(badList)}
            """, to: "coordinator-bad.yaml")
        let refused = try harness.run("fedct-coordinator", ["--config", badConfig], timeout: 30)
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertTrue(refused.output.contains(badList) && refused.output.contains("signature"), refused.output)
    }
}
