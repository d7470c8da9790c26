// Tests of provisioning: a CA, participant certificates with roles in them, private keys readable by the owner only.
@testable import FedCTIdentity
import Foundation
import X509
import XCTest

final class ProvisionerTests: XCTestCase {
    func testProvisionWritesVerifiableRoleBearingCertificates() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-prov-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Provisioner.provision(ConsortiumPlan(name: "test", coordinatorHosts: ["localhost", "127.0.0.1"], sites: ["site-1"], admins: ["alice"]), into: folder)

        let ca = try Certificate(pemEncoded: String(contentsOf: folder.appending(path: "ca/ca.pem"), encoding: .utf8))
        for (name, role) in [("coordinator", ParticipantRole.coordinator), ("site-1", .site), ("alice", .admin)] {
            let pem = try String(contentsOf: folder.appending(path: "\(name)/cert.pem"), encoding: .utf8)
            let identity = try ParticipantIdentity(certificatePEM: pem)
            XCTAssertEqual(identity, ParticipantIdentity(name: name, role: role))
            let certificate = try Certificate(pemEncoded: pem)
            var verifier = Verifier(rootCertificates: CertificateStore([ca])) { RFC5280Policy() }
            let result = await verifier.validate(leaf: certificate, intermediates: CertificateStore())
            guard case .validCertificate = result else { return XCTFail("\(name): \(result)") }
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appending(path: "\(name)/key.pem").path)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        }
        // Start-up kits: a ready config pointing at the coordinator, and a README.
        let siteConfig = try String(contentsOf: folder.appending(path: "site-1/site.yaml"), encoding: .utf8)
        XCTAssertTrue(siteConfig.contains("address: localhost:7443"), siteConfig)
        XCTAssertTrue(siteConfig.contains("tls: {ca: ca.pem, cert: cert.pem, key: key.pem}"), siteConfig)
        XCTAssertTrue(try String(contentsOf: folder.appending(path: "coordinator/coordinator.yaml"), encoding: .utf8).contains("listen: 0.0.0.0:7443"))
        for name in ["coordinator", "site-1", "alice"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appending(path: "\(name)/README.md").path), name)
        }
        let coordinator = try Certificate(pemEncoded: String(contentsOf: folder.appending(path: "coordinator/cert.pem"), encoding: .utf8))
        let names = try XCTUnwrap(coordinator.extensions.subjectAlternativeNames)
        XCTAssertTrue(names.contains(.dnsName("localhost")))
        XCTAssertTrue(names.contains { if case .ipAddress = $0 { return true } else { return false } })
    }

    func testBadPlansAreRefused() {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-prov-\(UUID().uuidString)")
        XCTAssertThrowsError(try Provisioner.provision(ConsortiumPlan(name: "t", coordinatorHosts: ["h"], sites: ["Bad Name"], admins: []), into: folder))
        XCTAssertThrowsError(try Provisioner.provision(ConsortiumPlan(name: "t", coordinatorHosts: ["h"], sites: ["a", "a"], admins: []), into: folder))
        XCTAssertThrowsError(try ParticipantIdentity(certificatePEM: "not a certificate"))
    }
}
