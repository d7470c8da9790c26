// Tests of the coordinator's revocation list watcher: newer lists load, an older one (rollback) is refused, also across restarts; age warnings.
import FedCTAdmin
@testable import FedCTCoordinator
import FedCTCore
import FedCTIdentity
import Foundation
import Logging
import XCTest

final class RevocationWatcherTests: XCTestCase {
    private var folder: URL!
    private var authority: ConsortiumAuthority!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-revocation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        authority = try ConsortiumAuthority(consortium: "test")
        try authority.certificatePEM.write(to: folder.appending(path: "ca.pem"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private var listURL: URL { folder.appending(path: RevocationList.defaultFileName) }

    /// Writes a list revoking `serials`, signed as of `updated`.
    private func writeList(revoking serials: [String], updated: Date) throws {
        let list = RevocationList(issuer: "\(authority.certificate.subject)", updated: updated,
                                  entries: serials.map { RevokedCertificate(serial: $0, revokedAt: updated) })
        try list.write(to: listURL, signedBy: authority)
    }

    private func watcher(maxAgeDays: Double? = nil, now: Date = Date(), stateDirectory: String? = nil) throws -> RevocationWatcher {
        try RevocationWatcher(listFile: listURL.path, caFile: folder.appending(path: "ca.pem").path, stateDirectory: stateDirectory,
                              checkInterval: .zero, maxAgeDays: maxAgeDays, clock: { now }, logger: Logger(label: "test"))
    }

    func testNewerListIsLoadedAndAnOlderOneIsRefusedAsARollback() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        try writeList(revoking: ["a1"], updated: start)
        let watcher = try watcher()
        XCTAssertNotNil(watcher.revocation(ofSerial: "a1"))
        XCTAssertNil(watcher.revocation(ofSerial: "b2"))

        try writeList(revoking: ["a1", "b2"], updated: start.addingTimeInterval(3600))
        XCTAssertNotNil(watcher.revocation(ofSerial: "b2"), "a newer list takes effect at the next lookup")
        XCTAssertEqual(watcher.updated, start.addingTimeInterval(3600))

        // An older, validly signed copy (b2 not yet revoked) must not un-revoke b2.
        try writeList(revoking: ["a1"], updated: start.addingTimeInterval(60))
        XCTAssertNotNil(watcher.revocation(ofSerial: "b2"), "the rolled-back list was refused")
        XCTAssertEqual(watcher.updated, start.addingTimeInterval(3600))

        // The same `updated` is accepted (a re-signed copy), and a later list still loads after a refusal.
        try writeList(revoking: ["a1", "b2", "c3"], updated: start.addingTimeInterval(3600))
        XCTAssertNotNil(watcher.revocation(ofSerial: "c3"))
        try writeList(revoking: ["d4"], updated: start.addingTimeInterval(7200))
        XCTAssertNotNil(watcher.revocation(ofSerial: "d4"))
        XCTAssertNil(watcher.revocation(ofSerial: "a1"))
    }

    func testRestartedCoordinatorRefusesAListOlderThanOneItEnforced() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let state = folder.appending(path: "state").path
        try writeList(revoking: ["a1"], updated: start)
        let first = try watcher(stateDirectory: state)
        try writeList(revoking: ["a1", "b2"], updated: start.addingTimeInterval(3600))
        XCTAssertNotNil(first.revocation(ofSerial: "b2"))
        let record = folder.appending(path: "state/\(RevocationWatcher.newestUpdatedFileName)").path
        XCTAssertEqual(try String(contentsOfFile: record, encoding: .utf8), "2026-09-21T15:13:20Z\n")

        // After a restart, the list from before b2's revocation stops the coordinator, naming the list and the record.
        try writeList(revoking: ["a1"], updated: start)
        XCTAssertThrowsError(try watcher(stateDirectory: state)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidConfiguration)
            let text = "\(error)"
            XCTAssertTrue(text.contains(listURL.path) && text.contains(record) && text.contains("2026-09-21T15:13:20Z"), text)
        }
        XCTAssertNoThrow(try watcher(), "without a state folder nothing is remembered")
        try writeList(revoking: ["a1", "b2"], updated: start.addingTimeInterval(3600))
        XCTAssertNotNil(try watcher(stateDirectory: state).revocation(ofSerial: "b2"), "the same list starts again")
    }

    func testListOlderThanTheMaximumAgeIsReported() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        try writeList(revoking: ["a1"], updated: now.addingTimeInterval(-10 * 86_400))
        let strict = try watcher(maxAgeDays: 7, now: now)
        let problem = try XCTUnwrap(strict.ageProblem(now: now))
        XCTAssertTrue(problem.contains(listURL.path) && problem.contains("10.0 days ago") && problem.contains("revocation_max_age_days (7)"), problem)
        XCTAssertTrue(problem.contains("fedctl provision revoke --refresh"), problem)
        XCTAssertNil(strict.ageProblem(now: now.addingTimeInterval(-4 * 86_400)), "6 days old is within 7")
        XCTAssertNil(try watcher(maxAgeDays: 30, now: now).ageProblem(now: now))
        XCTAssertNil(try watcher(now: now).ageProblem(now: now), "no maximum age, no problem")

        // A fresh list clears it.
        try writeList(revoking: ["a1"], updated: now)
        _ = strict.revocation(ofSerial: "a1")
        XCTAssertNil(strict.ageProblem(now: now))
    }

    func testMaximumAgeIsReadFromTheConfigurationAndChecked() throws {
        func config(_ tls: String) throws -> CoordinatorConfig {
            let path = folder.appending(path: "coordinator.yaml")
            try "state_dir: state\ntls: {ca: ca.pem, cert: c.pem, key: k.pem\(tls)}\n".write(to: path, atomically: true, encoding: .utf8)
            return try CoordinatorConfig(contentsOf: path.path)
        }
        XCTAssertEqual(try config(", revocation_list: list.json, revocation_max_age_days: 7").revocationMaxAgeDays, 7)
        XCTAssertNil(try config(", revocation_list: list.json").revocationMaxAgeDays)
        XCTAssertThrowsError(try config(", revocation_list: list.json, revocation_max_age_days: 0")) {
            XCTAssertTrue("\($0)".contains("revocation_max_age_days"), "\($0)")
        }
        XCTAssertThrowsError(try config(", revocation_max_age_days: 7")) {
            XCTAssertTrue("\($0)".contains("needs tls.revocation_list"), "\($0)")
        }
    }
}
