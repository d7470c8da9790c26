// Tests of certificate renewal: same name and role, a new serial and key, chaining to the consortium CA, nobody else touched.
@testable import FedCTIdentity
import Foundation
import X509
import XCTest

final class RenewalTests: XCTestCase {
    func testRenewIssuesANewSerialForTheSameIdentity() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-renew-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Provisioner.provision(ConsortiumPlan(name: "test", coordinatorHosts: ["localhost"], sites: ["site-1", "site-2"], admins: ["alice"]), into: folder)
        func read(_ path: String) throws -> String { try String(contentsOf: folder.appending(path: path), encoding: .utf8) }
        let before = try PeerCertificate(certificatePEM: read("site-1/cert.pem"))
        let oldKey = try read("site-1/key.pem")
        let otherSite = try read("site-2/cert.pem")
        let config = try read("site-1/site.yaml")

        let authority = try ConsortiumAuthority(folder: folder.appending(path: "ca"))
        let renewed = try Provisioner.renew(name: "site-1", role: .site, authority: authority, into: folder.appending(path: "site-1"))
        XCTAssertEqual(renewed.replaced, before.serial)

        let after = try PeerCertificate(certificatePEM: read("site-1/cert.pem"))
        XCTAssertEqual(after.identity, before.identity)
        XCTAssertEqual(after.serial, renewed.serial)
        XCTAssertNotEqual(after.serial, before.serial)
        XCTAssertNotEqual(try read("site-1/key.pem"), oldKey)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appending(path: "site-1/key.pem").path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try read("site-1/site.yaml"), config, "the kit's configuration is kept")
        XCTAssertEqual(try read("site-2/cert.pem"), otherSite, "nobody else is touched")

        let ca = try Certificate(pemEncoded: read("ca/ca.pem"))
        var verifier = Verifier(rootCertificates: CertificateStore([ca])) { RFC5280Policy() }
        let result = await verifier.validate(leaf: try Certificate(pemEncoded: read("site-1/cert.pem")), intermediates: CertificateStore())
        guard case .validCertificate = result else { return XCTFail("renewed certificate does not chain to the CA: \(result)") }
    }

    func testRenewRefusesAnotherParticipantsFolderAndACoordinatorWithoutHosts() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-renew-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Provisioner.provision(ConsortiumPlan(name: "test", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: ["alice"]), into: folder)
        let authority = try ConsortiumAuthority(folder: folder.appending(path: "ca"))
        XCTAssertThrowsError(try Provisioner.renew(name: "alice", role: .admin, authority: authority, into: folder.appending(path: "site-1"))) { error in
            XCTAssertTrue("\(error)".contains("choose another --out"), "\(error)")
        }
        XCTAssertThrowsError(try Provisioner.renew(name: "coordinator", role: .coordinator, authority: authority, into: folder.appending(path: "new")))
        let fresh = try Provisioner.renew(name: "coordinator", role: .coordinator, hosts: ["localhost"], authority: authority, into: folder.appending(path: "new"))
        XCTAssertNil(fresh.replaced)
    }
}
