// EgressLedgerTamperTests: a ledger written by EgressLedgerFile verifies; every kind of tampering is caught and names the entry.
import Crypto
import FedCTAudit
import FedCTCore
import FedCTIdentity
import FedCTProto
import FedCTStorage
import Foundation
import XCTest

final class EgressLedgerTamperTests: XCTestCase {
    /// A site's ledger folder with: open, certificate, join (+ outcome, receipt), a spend, a masked update with its
    /// archived payload (+ outcome, receipt), metrics (+ outcome, receipt), and the PKI that signed it.
    struct Fixture {
        var folder: URL
        var authority: ConsortiumAuthority
        var verifier: EgressLedgerVerifier
        var site: IssuedCredential
        var coordinator: IssuedCredential
        var lines: [String] { (try? String(contentsOf: folder.appending(path: "egress.jsonl"), encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }
        func write(_ lines: [String]) throws { try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: folder.appending(path: "egress.jsonl")) }
        func verify() throws -> EgressLedgerAudit { try verifier.verify(folder: folder) }
        /// The sequence number of the first entry of `type` (and `kind`).
        func seq(_ type: EgressEntry.EntryType, kind: String? = nil) throws -> Int {
            try XCTUnwrap(lines.compactMap { try? EgressLedgerChain.unseal(Array($0.utf8)).entry }.first { $0.type == type && (kind == nil || $0.kind == kind) }?.seq)
        }
    }

    static func identity(_ credential: IssuedCredential) throws -> LedgerIdentity {
        let signer = try CertificateKeySigner(privateKeyPEM: credential.privateKeyPEM, source: "key.pem")
        return LedgerIdentity(certificatePEM: credential.certificatePEM) { try signer.sign($0) }
    }

    /// Appends intent, outcome and the coordinator's receipt for one call, as `CoordinatorLink` does.
    static func call(_ file: EgressLedgerFile, kind: String, method: String, request: [UInt8], job: String? = nil, round: Int? = nil,
                     payload: [UInt8]? = nil, header: [UInt8]? = nil, coordinator: IssuedCredential, receiptSigner: IssuedCredential? = nil) throws {
        var intent = EgressEntry(type: .intent)
        intent.kind = kind
        intent.method = method
        intent.jobID = job
        intent.round = round
        intent.bytes = request.count
        intent.sha256 = SHA256.hex(request)
        if let payload {
            intent.payloadSHA256 = SHA256.hex(payload)
            intent.archive = try file.archive(payload, subfolder: "payloads", extension: "u32")
        } else {
            intent.archive = try file.archive(request, subfolder: "messages", extension: "pb")
        }
        if let header {
            intent.headerSHA256 = SHA256.hex(header)
            intent.headerArchive = try file.archive(header, subfolder: "messages", extension: "pb")
        }
        let sealed = try file.append(intent)
        var outcome = EgressEntry(type: .outcome)
        outcome.of = sealed.entry.seq
        outcome.status = "sent"
        outcome.responseBytes = 0
        outcome.responseSHA256 = SHA256.hex([UInt8]())
        try file.append(outcome)
        let signer = try CertificateKeySigner(privateKeyPEM: (receiptSigner ?? coordinator).privateKeyPEM, source: "key.pem")
        let receipt = try Receipts.sign(site: "site-1", method: method, kind: kind, jobID: job ?? "", round: Int32(round ?? 0), attempt: 0,
                                        bytes: request.count, sha256: SHA256.hex(request), certificatePEM: coordinator.certificatePEM) { try signer.sign($0) }
        try file.append(.receipt(of: sealed.entry.seq, receipt, warning: nil))
    }

    func makeFixture(policy: [String: String] = ["require_secure_aggregation": "true"],
                     build: ((EgressLedgerFile, Fixture) throws -> Void)? = nil) throws -> Fixture {
        let folder = FileManager.default.temporaryDirectory.appending(path: "egress-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let authority = try ConsortiumAuthority(consortium: "test")
        let fixture = Fixture(folder: folder, authority: authority,
                              verifier: EgressLedgerVerifier(authority: try SigningCertificateVerifier(caCertificatePEM: try authority.certificatePEM, source: "ca.pem")),
                              site: try authority.issue(name: "site-1", role: .site),
                              coordinator: try authority.issue(name: "coordinator", role: .coordinator))
        let site = fixture.site
        let file = try EgressLedgerFile(folder: folder, identity: { try Self.identity(site) }, agentVersion: "test", policy: policy)
        var join = Fedct_V1_JoinRequest()
        join.agentVersion = "test"
        try Self.call(file, kind: "join", method: "/fedct.v1.Site/Join", request: try join.serializedBytes(), coordinator: fixture.coordinator)
        let spend = PrivacySpend(jobID: "job-1", round: 1, level: .site, samplingRate: 1, noiseMultiplier: 2, steps: 1, delta: 1e-5)
        var budget = try PrivacyBudgetLedger.open(at: folder.appending(path: "privacy-budget.json"))
        try budget.record([spend])
        var spendEntry = EgressEntry(type: .spend)
        spendEntry.spend = spend
        try file.append(spendEntry)
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var chunk = Fedct_V1_UpdateChunk()
        chunk.header.jobID = "job-1"
        chunk.header.round = 1
        chunk.header.masked.modulusBits = 32
        try Self.call(file, kind: "masked-update", method: "/fedct.v1.Site/UploadUpdate", request: try chunk.serializedBytes() + payload,
                      job: "job-1", round: 1, payload: payload, header: try chunk.header.serializedBytes(), coordinator: fixture.coordinator)
        try build?(file, fixture)
        var report = Fedct_V1_MetricsReport()
        report.jobID = "job-1"
        report.metrics["auroc"] = 0.7
        try Self.call(file, kind: "metrics", method: "/fedct.v1.Site/ReportMetrics", request: try report.serializedBytes(), job: "job-1", round: 1,
                      coordinator: fixture.coordinator)
        return fixture
    }

    func assertFails(_ fixture: Fixture, seq: Int, containing text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let audit = try fixture.verify()
        let failure = try XCTUnwrap(audit.failure, "the ledger verified although it was tampered with", file: file, line: line)
        XCTAssertEqual(failure.seq, seq, "\(failure)", file: file, line: line)
        XCTAssertTrue(failure.message.contains(text), "\(failure)", file: file, line: line)
    }

    func testAnUntouchedLedgerVerifiesWithEveryReceipt() throws {
        let fixture = try makeFixture()
        let audit = try fixture.verify()
        XCTAssertNil(audit.failure)
        XCTAssertEqual(audit.site, "site-1")
        XCTAssertEqual(audit.receiptsVerified, 3)
        XCTAssertEqual(audit.warnings, [])
        XCTAssertEqual(audit.entries.count, fixture.lines.count)
        XCTAssertEqual(audit.entries.map(\.type).prefix(2), [.certificate, .open])
        let masked = try fixture.seq(.intent, kind: "masked-update")
        XCTAssertTrue(try XCTUnwrap(audit.uniformity[masked]).looksUniform)
        // Reopening continues the chain (a restart), and the result still verifies.
        let site = fixture.site
        _ = try EgressLedgerFile(folder: fixture.folder, identity: { try Self.identity(site) }, agentVersion: "test", policy: [:])
        XCTAssertNil(try fixture.verify().failure)
    }

    func testAMaskedHeaderWithTheLossInTheClearIsAWarningAndAForeignHeaderFails() throws {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var chunk = Fedct_V1_UpdateChunk()
        chunk.header.jobID = "job-1"
        chunk.header.round = 2
        chunk.header.masked.modulusBits = 32
        chunk.header.meanTrainLoss = 0.25
        chunk.header.localSteps = 40
        let old = try makeFixture { file, fixture in
            try Self.call(file, kind: "masked-update", method: "/fedct.v1.Site/UploadUpdate", request: try chunk.serializedBytes() + payload,
                          job: "job-1", round: 2, payload: payload, header: try chunk.header.serializedBytes(), coordinator: fixture.coordinator)
        }
        let audit = try old.verify()
        XCTAssertNil(audit.failure, "an older agent's ledger still verifies")
        XCTAssertEqual(audit.warnings.count, 1, "\(audit.warnings)")
        XCTAssertTrue(audit.warnings.first?.message.contains("in the clear") == true, "\(audit.warnings)")

        let clean = try makeFixture()
        let masked = try clean.seq(.intent, kind: "masked-update")
        let header = try XCTUnwrap(try clean.verify().entries.first { $0.seq == masked }?.headerArchive)
        try Data(try chunk.header.serializedBytes() as [UInt8]).write(to: clean.folder.appending(path: header))
        try assertFails(clean, seq: masked, containing: "archived header")
    }

    func testAFlippedByteIsCaughtAtItsEntry() throws {
        let fixture = try makeFixture()
        let target = try fixture.seq(.intent, kind: "metrics")
        var lines = fixture.lines
        lines[target] = lines[target].replacingOccurrences(of: "\"kind\":\"metrics\"", with: "\"kind\":\"metricz\"")
        try fixture.write(lines)
        try assertFails(fixture, seq: target, containing: "does not match its hash")
    }

    func testADeletedEntryIsCaught() throws {
        let fixture = try makeFixture()
        let target = try fixture.seq(.spend)
        var lines = fixture.lines
        lines.remove(at: target)
        try fixture.write(lines)
        try assertFails(fixture, seq: target, containing: "were deleted")
    }

    func testReorderedEntriesAreCaught() throws {
        let fixture = try makeFixture()
        let target = try fixture.seq(.intent, kind: "masked-update")
        var lines = fixture.lines
        lines.swapAt(target, target + 1)
        try fixture.write(lines)
        try assertFails(fixture, seq: target, containing: "were deleted")
    }

    func testTruncationIsCaughtAgainstTheHead() throws {
        let fixture = try makeFixture()
        let lines = fixture.lines
        try fixture.write(Array(lines.dropLast(2)))
        try assertFails(fixture, seq: lines.count - 2, containing: "truncated")
        // A line cut mid-entry is named too.
        try Data((lines.joined(separator: "\n") + "\n").utf8.dropLast(20)).write(to: fixture.folder.appending(path: "egress.jsonl"))
        try assertFails(fixture, seq: lines.count - 1, containing: "incomplete")
    }

    func testWithoutItsHeadTruncationCannotBeCheckedAndSaysSo() throws {
        let fixture = try makeFixture()
        try FileManager.default.removeItem(at: fixture.folder.appending(path: "egress.head"))
        try fixture.write(Array(fixture.lines.dropLast(2)))
        let audit = try fixture.verify()
        XCTAssertNil(audit.failure)
        XCTAssertTrue(audit.warnings.contains { $0.message.contains("no egress.head") }, "\(audit.warnings)")
    }

    func testAReplayedEntryIsCaught() throws {
        let fixture = try makeFixture()
        let target = try fixture.seq(.intent, kind: "join")
        var lines = fixture.lines
        lines.insert(lines[target], at: target + 1)
        try fixture.write(lines)
        try assertFails(fixture, seq: target + 1, containing: "replayed")
    }

    func testAForgedReceiptIsCaughtEvenWhenTheSiteKeySignedTheEntry() throws {
        // Someone holding the site's key writes a receipt "from the coordinator" signed by a key the consortium CA never certified.
        let rogue = try ConsortiumAuthority(consortium: "rogue").issue(name: "coordinator", role: .coordinator)
        var forged = 0
        let fixture = try makeFixture { file, fixture in
            var request = Fedct_V1_ShareKeysRequest()
            request.jobID = "job-1"
            forged = file.nextSeq
            try Self.call(file, kind: "secagg-share-keys", method: "/fedct.v1.Site/ShareKeys", request: try request.serializedBytes(), job: "job-1",
                          round: 1, coordinator: rogue)
        }
        try assertFails(fixture, seq: forged + 2, containing: "not issued by this consortium's CA")
    }

    func testAReceiptForDifferentBytesIsCaught() throws {
        var target = 0
        let fixture = try makeFixture { file, fixture in
            target = file.nextSeq
            var intent = EgressEntry(type: .intent)
            intent.kind = "heartbeat"
            intent.method = "/fedct.v1.Site/Heartbeat"
            intent.bytes = 3
            intent.sha256 = SHA256.hex([1, 2, 3])
            try file.append(intent)
            let signer = try CertificateKeySigner(privateKeyPEM: fixture.coordinator.privateKeyPEM, source: "key.pem")
            let receipt = try Receipts.sign(site: "site-1", method: "/fedct.v1.Site/Heartbeat", kind: "heartbeat", jobID: "", round: 0, attempt: 0,
                                            bytes: 4, sha256: SHA256.hex([1, 2, 3, 4]), certificatePEM: fixture.coordinator.certificatePEM) { try signer.sign($0) }
            try file.append(.receipt(of: target, receipt, warning: nil))
        }
        try assertFails(fixture, seq: target + 1, containing: "acknowledges a different message")
    }

    func testARemovedSpendIsCaught() throws {
        let fixture = try makeFixture()
        let target = try fixture.seq(.spend)
        let url = fixture.folder.appending(path: "privacy-budget.json")
        try FileManager.default.removeItem(at: url)
        var empty = try PrivacyBudgetLedger.open(at: url)
        try empty.record([])
        try assertFails(fixture, seq: target, containing: "not entry 1 of privacy-budget.json")
    }

    func testAPlainUpdateUnderAPolicyRequiringMaskingIsCaught() throws {
        var target = 0
        let fixture = try makeFixture { file, fixture in
            target = file.nextSeq
            var chunk = Fedct_V1_UpdateChunk()
            chunk.header.jobID = "job-2"
            try Self.call(file, kind: "update", method: "/fedct.v1.Site/UploadUpdate", request: try chunk.serializedBytes(), job: "job-2", round: 1,
                          coordinator: fixture.coordinator)
        }
        try assertFails(fixture, seq: target, containing: "in the clear although the policy in force requires secure aggregation")
    }

    func testAnUnmaskedPayloadFailsTheUniformityTest() throws {
        var target = 0
        let fixture = try makeFixture { file, fixture in
            target = file.nextSeq
            let payload = Float32Stream.encode((0..<4096).map { Float($0) * 1e-3 }[...])
            try Self.call(file, kind: "masked-update", method: "/fedct.v1.Site/UploadUpdate", request: payload, job: "job-1", round: 2,
                          payload: payload, coordinator: fixture.coordinator)
        }
        try assertFails(fixture, seq: target, containing: "not uniform")
    }

    func testAJobSentToAfterItWasDeclinedIsCaught() throws {
        var target = 0
        let fixture = try makeFixture { file, fixture in
            var decline = EgressEntry(type: .decline)
            decline.jobID = "job-3"
            decline.reason = "objective not allowed"
            decline.setting = "policy.allowed_objectives"
            try file.append(decline)
            target = file.nextSeq
            try Self.call(file, kind: "setup-candidates", method: "/fedct.v1.Site/SubmitSetup", request: [1], job: "job-3", round: 0, coordinator: fixture.coordinator)
        }
        try assertFails(fixture, seq: target, containing: "which the site declined")
    }

    func testARenewedCertificateContinuesTheChainAndAMissingReceiptIsAWarning() throws {
        var renewed: IssuedCredential?
        let fixture = try makeFixture { file, fixture in
            var intent = EgressEntry(type: .intent)
            intent.kind = "heartbeat"
            intent.method = "/fedct.v1.Site/Heartbeat"
            intent.bytes = 0
            intent.sha256 = SHA256.hex([UInt8]())
            let sealed = try file.append(intent)
            try file.append(.receipt(of: sealed.entry.seq, nil, warning: "the coordinator sent no receipt"))
            renewed = try fixture.authority.issue(name: "site-1", role: .site)
        }
        let site = try XCTUnwrap(renewed)
        let file = try EgressLedgerFile(folder: fixture.folder, identity: { try Self.identity(site) }, agentVersion: "test", policy: [:])
        _ = file
        let audit = try fixture.verify()
        XCTAssertNil(audit.failure)
        XCTAssertEqual(audit.entries.filter { $0.type == .certificate }.count, 2)
        XCTAssertEqual(audit.warnings.count, 2, "\(audit.warnings)")
        XCTAssertTrue(audit.warnings.contains { $0.message.contains("the coordinator sent no receipt") }, "\(audit.warnings)")
        XCTAssertTrue(audit.warnings.contains { $0.message.contains("has no outcome") }, "\(audit.warnings)")
    }

    func testTheUniformityThresholdSeparatesRandomFromStructuredBytes() throws {
        XCTAssertEqual(ByteUniformity.threshold, 377.2, accuracy: 0.5)
        var generator = SystemRandomNumberGenerator()
        let random = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        XCTAssertTrue(try XCTUnwrap(ByteUniformity(random)).looksUniform)
        let words = (0..<16_384).flatMap { index -> [UInt8] in withUnsafeBytes(of: UInt32(2_147_483_648 &+ UInt32(index % 200)).littleEndian, Array.init) }
        XCTAssertFalse(try XCTUnwrap(ByteUniformity(words)).looksUniform)
        XCTAssertNil(ByteUniformity(random.prefix(1000)))
    }
}
