// SignedTokenTests: login and session tokens verify only with their key and purpose, and not after expiry or when altered.
import Crypto
import FedCTCore
import FedCTStorage
import Foundation
import XCTest

final class SignedTokenTests: XCTestCase {
    let key = SymmetricKey(size: .bits256)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testATokenVerifiesWithItsKeyAndPurposeUntilItExpires() throws {
        let text = SignedToken(purpose: .login, subject: "admin", expires: now.addingTimeInterval(600)).encoded(with: key)
        let token = try SignedToken.verify(text, key: key, purpose: .login, now: now.addingTimeInterval(599))
        XCTAssertEqual(token.subject, "admin")
        XCTAssertThrowsError(try SignedToken.verify(text, key: key, purpose: .login, now: now.addingTimeInterval(601))) {
            XCTAssertEqual($0 as? SignedToken.Refusal, .expired)
        }
        XCTAssertThrowsError(try SignedToken.verify(text, key: key, purpose: .session, now: now)) {
            XCTAssertEqual($0 as? SignedToken.Refusal, .wrongPurpose)
        }
        XCTAssertThrowsError(try SignedToken.verify(text, key: SymmetricKey(size: .bits256), purpose: .login, now: now)) {
            XCTAssertEqual($0 as? SignedToken.Refusal, .badSignature)
        }
    }

    func testAnAlteredOrTruncatedTokenIsRefused() throws {
        let text = SignedToken(purpose: .session, subject: "admin", expires: now.addingTimeInterval(600)).encoded(with: key)
        let payload = String(text.split(separator: ".")[0])
        // The same signature over a payload claiming a later expiry.
        var claims = try JSONDecoder().decode(SignedToken.self, from: Data(base64URL: payload)!)
        claims.expires += 86400
        let forged = try JSONEncoder().encode(claims).base64URL + "." + text.split(separator: ".")[1]
        XCTAssertThrowsError(try SignedToken.verify(forged, key: key, purpose: .session, now: now)) {
            XCTAssertEqual($0 as? SignedToken.Refusal, .badSignature)
        }
        for broken in [String(text.dropLast(5)), payload, "", "a.b.c", String(repeating: "x", count: 5000)] {
            XCTAssertThrowsError(try SignedToken.verify(broken, key: key, purpose: .session, now: now), broken.prefix(40).description)
        }
    }

    func testLoginLinksAreMadeFromTheKeyAndAddressInTheStateFolder() throws {
        let state = FileManager.default.temporaryDirectory.appending(path: "fedct-login-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: state) }
        XCTAssertThrowsError(try LoginLink.dashboard.make(stateDirectory: state.path, subject: "admin", lifetime: 60)) {
            XCTAssertTrue("\($0)".contains("dashboard.listen"), "\($0)")
        }
        let key = try LoginKey.loadOrCreate(LoginLink.dashboard.keyFile(in: state.path))
        let mode = try FileManager.default.attributesOfItem(atPath: LoginLink.dashboard.keyFile(in: state.path).path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        try "https://localhost:8443\n".write(to: LoginLink.dashboard.urlFile(in: state.path), atomically: true, encoding: .utf8)
        let link = try LoginLink.dashboard.make(stateDirectory: state.path, subject: "ops", lifetime: 60, now: now)
        XCTAssertTrue(link.hasPrefix("https://localhost:8443/login?token="), link)
        let token = try SignedToken.verify(link.split(separator: "=", maxSplits: 1)[1], key: key, purpose: .login, now: now)
        XCTAssertEqual(token.subject, "ops")
        XCTAssertEqual(token.expires, now.timeIntervalSince1970 + 60)
    }
}
