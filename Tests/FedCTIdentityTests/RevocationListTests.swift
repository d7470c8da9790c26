// Tests of the CA-signed revocation list: signing and verifying, tampering and foreign CAs refused, revoked serials found.
@testable import FedCTIdentity
import Foundation
import X509
import XCTest

final class RevocationListTests: XCTestCase {
    func testSignedListRoundTripsAndFindsRevokedSerials() throws {
        let authority = try ConsortiumAuthority(consortium: "test")
        let revokedPEM = try authority.issue(name: "site-1", role: .site).certificatePEM
        let keptPEM = try authority.issue(name: "site-2", role: .site).certificatePEM
        var list = RevocationList(issuer: "\(authority.certificate.subject)")
        XCTAssertTrue(try list.revoke(RevocationList.entry(revoking: revokedPEM, issuedBy: authority, reason: "key lost")))
        XCTAssertFalse(try list.revoke(RevocationList.entry(revoking: revokedPEM, issuedBy: authority)), "revoking twice changes nothing")
        XCTAssertTrue(try list.revoke(RevokedCertificate(serial: "00:0A:1B")))

        let read = try RevocationList(verifying: list.signed(by: authority), caCertificate: authority.certificate)
        XCTAssertEqual(read.entries.count, 2)
        let revoked = try PeerCertificate(certificatePEM: revokedPEM)
        let entry = try XCTUnwrap(read.entry(forSerial: revoked.serial))
        XCTAssertEqual(entry.name, "site-1")
        XCTAssertEqual(entry.role, "site")
        XCTAssertEqual(entry.reason, "key lost")
        XCTAssertNil(read.entry(forSerial: try PeerCertificate(certificatePEM: keptPEM).serial))
        XCTAssertNotNil(read.entry(forSerial: "0x0a1b"), "serial notation must not matter")
        XCTAssertNotNil(read.entry(forSerial: "A1B"))
    }

    /// Found by fuzzing (Scripts/fuzz.sh revocation-list): a signed payload missing a field was reported with Swift's
    /// DecodingError dump; it now reads as one line naming the field.
    func testAMalformedSignedPayloadNamesTheFieldWithoutFrameworkText() throws {
        let authority = try ConsortiumAuthority(consortium: "test")
        let payload = #"{"format":"fedct-revocation-list/1","issuer":"test","updated":"2026-12-01T00:00:00Z","entries":[{"serial":"0a"}]}"#
        let envelope = RevocationList.Envelope(payload: payload, signature: try authority.signature(for: Data(payload.utf8)).base64EncodedString())
        XCTAssertThrowsError(try RevocationList(verifying: JSONEncoder().encode(envelope), caCertificate: authority.certificate)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("the signed payload is malformed") && text.contains("entries[0]: missing field revoked_at"), text)
            XCTAssertFalse(text.contains("DecodingError") || text.contains("CodingKeys"), text)
        }
    }

    func testTamperedOrForeignListIsRefused() throws {
        let authority = try ConsortiumAuthority(consortium: "test")
        var list = RevocationList(issuer: "\(authority.certificate.subject)")
        try list.revoke(RevokedCertificate(serial: "abcdef"))
        let signed = try list.signed(by: authority)

        // Changing the revoked serial inside the signed payload must break the signature.
        let tampered = Data(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "abcdef", with: "abcdee").utf8)
        XCTAssertNotEqual(tampered, signed)
        XCTAssertThrowsError(try RevocationList(verifying: tampered, caCertificate: authority.certificate)) { error in
            XCTAssertTrue("\(error)".contains("signature does not verify"), "\(error)")
        }
        let other = try ConsortiumAuthority(consortium: "other")
        XCTAssertThrowsError(try RevocationList(verifying: signed, caCertificate: other.certificate))
        XCTAssertThrowsError(try RevocationList(verifying: Data("{}".utf8), caCertificate: authority.certificate)) { error in
            XCTAssertTrue("\(error)".contains("fedctl provision revoke"), "\(error)")
        }
        // A certificate from another CA cannot be revoked by this one.
        let foreign = try other.issue(name: "site-1", role: .site).certificatePEM
        XCTAssertThrowsError(try RevocationList.entry(revoking: foreign, issuedBy: authority))
    }

    func testListFileIsWrittenByProvisioningAndNamedInErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-rev-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Provisioner.provision(ConsortiumPlan(name: "test", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: []), into: folder)
        let authority = try ConsortiumAuthority(folder: folder.appending(path: "ca"))
        let url = folder.appending(path: "ca/\(RevocationList.defaultFileName)")
        var list = try RevocationList(contentsOf: url, caCertificate: authority.certificate)
        XCTAssertEqual(list.entries, [])
        try list.revoke(RevocationList.entry(revoking: String(contentsOf: folder.appending(path: "site-1/cert.pem"), encoding: .utf8), issuedBy: authority))
        try list.write(to: url, signedBy: authority)
        XCTAssertEqual(try RevocationList(contentsOf: url, caCertificatePEM: authority.certificatePEM).entries.count, 1)

        try Data("{\"payload\": \"{}\", \"signature\": \"AAAA\"}".utf8).write(to: url)
        XCTAssertThrowsError(try RevocationList(contentsOf: url, caCertificate: authority.certificate)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
    }

    func testSerialNotation() throws {
        XCTAssertEqual(try RevocationList.normalizedSerial("00:0A:1b"), "a1b")
        XCTAssertEqual(try RevocationList.normalizedSerial("0x00"), "0")
        XCTAssertThrowsError(try RevocationList.normalizedSerial("xyz"))
        XCTAssertThrowsError(try RevocationList.normalizedSerial(""))
    }
}
