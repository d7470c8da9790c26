// Tests of ReloadingChannel: a certificate replaced on disk is presented from the next call on; broken files keep the old one.
import FedCTRPC
import Foundation
import Synchronization
import XCTest

final class ReloadingChannelTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-reloading-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private var certificate: String { folder.appending(path: "cert.pem").path }
    private var key: String { folder.appending(path: "key.pem").path }

    /// Puts fixture `name`'s certificate and key where the channel reads them (replacing, as a renewal does).
    private func install(_ name: String) throws {
        for (source, target) in [(Fixture.path(name), certificate), (Fixture.path("\(name)-key"), key)] {
            try FileManager.default.contents(atPath: source)!.write(to: URL(fileURLWithPath: target), options: .atomic)
        }
    }

    /// What a channel reported, one line per report.
    private final class Reports: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }

        func note(_ reload: ReloadingChannel.Reload) {
            lines.withLock {
                switch reload {
                case .rebuilt: $0.append("rebuilt")
                case .refused(let error): $0.append("refused: \(error)")
                }
            }
        }
    }

    private func reloadingChannel(to server: GRPCServer, reports: Reports) throws -> ReloadingChannel {
        var options = ChannelOptions(target: "127.0.0.1:\(server.port)", tls: nil)
        options.serverNameOverride = "localhost"
        let (ca, certificate, key) = (Fixture.path("ca"), self.certificate, self.key)
        return try ReloadingChannel(options: options, checkInterval: .zero,
                                    loadTLS: { try TLSConfig.load(caFile: ca, certificateFile: certificate, keyFile: key) },
                                    report: { reports.note($0) })
    }

    func testRenewedCertificateIsPresentedFromTheNextCallWithoutANewChannelObject() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        let reports = Reports()
        // "rogue" is signed by another CA: the server refuses it at the handshake.
        try install("rogue")
        let channels = try reloadingChannel(to: server, reports: reports)
        let refused = await expectRPCError { try await channels.channel().unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10)) }
        XCTAssertEqual(refused?.code, .unavailable)
        let before = channels.channel()
        XCTAssertTrue(before === channels.channel(), "unchanged files keep the channel")
        XCTAssertEqual(reports.all, [])

        // The consortium's certificate replaces it on disk: the next call presents it and gets through.
        try install("site-a")
        let after = channels.channel()
        XCTAssertFalse(before === after, "changed files build a new channel")
        let reply = try await after.unary(method: "/test.Echo/Unary", request: [1, 2], timeout: .seconds(10))
        XCTAssertEqual(reply, [2, 1])
        XCTAssertEqual(recorder.all.map(\.peer.identities), [["site-a"]])
        XCTAssertEqual(reports.all, ["rebuilt"])
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testUnusableFilesKeepThePreviousCertificateAndAreReportedOnce() async throws {
        let server = try TestService.start()
        let reports = Reports()
        try install("site-a")
        let channels = try reloadingChannel(to: server, reports: reports)
        let working = channels.channel()

        // A half-written renewal: the key file is not a PEM key yet.
        try Data("not yet".utf8).write(to: URL(fileURLWithPath: key))
        XCTAssertTrue(channels.channel() === working)
        XCTAssertTrue(channels.channel() === working)
        let logged = reports.all
        XCTAssertEqual(logged.count, 1, "\(logged)")
        XCTAssertTrue(logged.first?.contains("refused: ") == true && logged.first?.contains(key) == true, "\(logged)")
        let reply = try await channels.channel().unary(method: "/test.Echo/Unary", request: [3, 4], timeout: .seconds(10))
        XCTAssertEqual(reply, [4, 3], "calls still work with the previous certificate")
        XCTAssertEqual(channels.current().tls.privateKeyPEM, try String(contentsOfFile: Fixture.path("site-a-key"), encoding: .utf8))

        // The files are put back as they were: nothing to rebuild, nothing more to report.
        try install("site-a")
        XCTAssertTrue(channels.channel() === working)
        XCTAssertEqual(reports.all.count, 1)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    private final class Reads: Sendable {
        let count = Mutex(0)
    }

    func testFilesAreNotReadAgainWithinTheCheckInterval() throws {
        try install("site-a")
        let reads = Reads()
        let (ca, certificate, key) = (Fixture.path("ca"), self.certificate, self.key)
        let channels = try ReloadingChannel(options: ChannelOptions(target: "127.0.0.1:1", tls: nil), checkInterval: .seconds(3600),
                                            loadTLS: {
                                                reads.count.withLock { $0 += 1 }
                                                return try TLSConfig.load(caFile: ca, certificateFile: certificate, keyFile: key)
                                            },
                                            report: { _ in })
        let first = channels.channel()
        try install("rogue")
        XCTAssertTrue(channels.channel() === first)
        XCTAssertEqual(reads.count.withLock { $0 }, 1, "only the initial read")
    }
}
