// AdvertisementSignaturesTests: key advertisements verify only with a site certificate of this consortium whose key signed them.
@testable import FedCTIdentity
import XCTest

final class AdvertisementSignaturesTests: XCTestCase {
    func testSignatureVerifiesOnlyForTheRightSiteCertificateAndKey() throws {
        let authority = try ConsortiumAuthority(consortium: "test")
        let site = try authority.issue(name: "site-1", role: .site)
        let other = try authority.issue(name: "site-2", role: .site)
        let admin = try authority.issue(name: "alice", role: .admin)
        let verifier = try ConsortiumSignatureVerifier(caCertificatePEM: try authority.certificatePEM, source: "ca.pem")
        let message = Array("advertisement bytes".utf8)
        let signature = try CertificateKeySigner(privateKeyPEM: site.privateKeyPEM, source: "key.pem").sign(message)

        XCTAssertNoThrow(try verifier.verify(certificatePEM: site.certificatePEM, site: "site-1", message: message, signature: signature))
        XCTAssertThrowsError(try verifier.verify(certificatePEM: site.certificatePEM, site: "site-1", message: message + [0], signature: signature)) {
            XCTAssertTrue("\($0)".contains("not signed by its certificate key"), "\($0)")
        }
        XCTAssertThrowsError(try verifier.verify(certificatePEM: other.certificatePEM, site: "site-1", message: message, signature: signature)) {
            XCTAssertTrue("\($0)".contains("carries the certificate of site site-2"), "\($0)")
        }
        XCTAssertThrowsError(try verifier.verify(certificatePEM: admin.certificatePEM, site: "alice", message: message, signature: signature))
        let rogue = try ConsortiumAuthority(consortium: "rogue").issue(name: "site-1", role: .site)
        let rogueSignature = try CertificateKeySigner(privateKeyPEM: rogue.privateKeyPEM, source: "key.pem").sign(message)
        XCTAssertThrowsError(try verifier.verify(certificatePEM: rogue.certificatePEM, site: "site-1", message: message, signature: rogueSignature)) {
            XCTAssertTrue("\($0)".contains("not issued by this consortium's CA"), "\($0)")
        }
        XCTAssertThrowsError(try CertificateKeySigner(privateKeyPEM: "junk", source: "key.pem")) { XCTAssertTrue("\($0)".contains("key.pem"), "\($0)") }
    }
}
