// Mutual TLS and identity: what the server learns about its caller, and who is refused before any handler runs.
import FedCTRPC
import XCTest

final class MutualTLSTests: XCTestCase {
    func testServerSeesTheVerifiedClientIdentity() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        _ = try await TestService.channel(to: server).unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10))
        let peer = try XCTUnwrap(recorder.all.first?.peer)
        XCTAssertTrue(peer.identities.contains("site-a"), "identities: \(peer.identities)")
        let pem = try XCTUnwrap(peer.certificatePEM)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN CERTIFICATE-----"), pem)
        let fixture = try String(contentsOfFile: Fixture.path("site-a"), encoding: .utf8)
        XCTAssertEqual(pem.filter { !$0.isWhitespace }, fixture.filter { !$0.isWhitespace }, "the PEM is the client's own certificate")
        XCTAssertTrue(peer.address.contains("127.0.0.1"), peer.address)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testClientWithACertificateFromAnotherCAIsRefused() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        // "rogue" claims DNS:site-a but is signed by other-ca; it trusts the right CA for the server.
        let rogue = try TestService.channel(to: server, certificate: "rogue", trusting: "ca")
        let error = await expectRPCError { try await rogue.unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10)) }
        XCTAssertEqual(error?.code, .unavailable, "\(String(describing: error))")
        // The legitimate client still gets through, and only its call reached a handler.
        _ = try await TestService.channel(to: server).unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10))
        XCTAssertEqual(recorder.all.count, 1, "the handler must never run for the refused client")
        XCTAssertEqual(recorder.all.first?.peer.identities, ["site-a"])
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerWithAnUntrustedCertificateIsRefused() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        // The client trusts only other-ca, so the server's certificate (from ca) fails verification.
        let channel = try TestService.channel(to: server, certificate: "site-a", trusting: "other-ca")
        let error = await expectRPCError { try await channel.unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10)) }
        XCTAssertEqual(error?.code, .unavailable)
        let explained = error?.explainingConnectionFailure(target: channel.target)
        XCTAssertTrue(explained?.message.contains("cannot reach \(channel.target)") == true, "\(String(describing: explained))")
        XCTAssertTrue(recorder.all.isEmpty)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerNameOverrideChoosesTheNameToVerify() async throws {
        let server = try TestService.start()
        func call(expecting name: String) async throws -> [UInt8] {
            var options = ChannelOptions(target: "127.0.0.1:\(server.port)", tls: try Fixture.tls("site-a"))
            options.serverNameOverride = name
            return try await GRPCChannel(options: options).unary(method: "/test.Echo/Unary", request: [1, 2], timeout: .seconds(10))
        }
        let reply = try await call(expecting: "localhost")
        XCTAssertEqual(reply, [2, 1])
        let error = await expectRPCError { try await call(expecting: "coordinator.example.org") }
        XCTAssertEqual(error?.code, .unavailable, "the server's certificate does not name coordinator.example.org")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testAServerWithUnusableTLSMaterialDoesNotStart() throws {
        var tls = try Fixture.tls("server")
        tls.privateKeyPEM = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
        XCTAssertThrowsError(try TestService.start(tls: tls)) {
            let error = $0 as? RPCError
            XCTAssertEqual(error?.code, .unavailable)
            XCTAssertTrue(error?.message.contains("certificate and key are unusable") == true, "\($0)")
        }
    }

    func testUnreachableTargetIsUnavailable() async throws {
        let server = try TestService.start()
        let port = server.port
        await server.shutdown(gracePeriod: .zero)
        var options = ChannelOptions(target: "127.0.0.1:\(port)", tls: try Fixture.tls("site-a"))
        options.serverNameOverride = "localhost"
        let channel = try GRPCChannel(options: options)
        let started = ContinuousClock.now
        let error = await expectRPCError { try await channel.unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10)) }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "an unreachable server fails fast, not at the deadline")
        XCTAssertEqual(error?.code, .unavailable)
        let explained = try XCTUnwrap(error?.explainingConnectionFailure(target: channel.target))
        XCTAssertTrue(explained.message.hasPrefix("cannot reach 127.0.0.1:\(port): connection refused; is the server running"), explained.message)
    }

    func testPlaintextServesOnlyWhenBothSidesAskForIt() async throws {
        let recorder = Recorder()
        let server = try TestService.start(plaintext: true, recorder: recorder)
        let reply = try await TestService.channel(to: server, plaintext: true).unary(method: "/test.Echo/Unary", request: [1, 2], timeout: .seconds(10))
        XCTAssertEqual(reply, [2, 1])
        XCTAssertNil(recorder.all.first?.peer.certificatePEM)
        XCTAssertEqual(recorder.all.first?.peer.identities, [])
        // A TLS client cannot talk to it.
        let error = await expectRPCError {
            try await TestService.channel(to: server).unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10))
        }
        XCTAssertEqual(error?.code, .unavailable)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testLoadingTLSFilesNamesTheBadFile() throws {
        let missing = "/nonexistent/ca.pem"
        XCTAssertThrowsError(try TLSConfig.load(caFile: missing, certificateFile: Fixture.path("site-a"), keyFile: Fixture.path("site-a-key"))) {
            let error = $0 as? RPCError
            XCTAssertEqual(error?.code, .invalidArgument)
            XCTAssertEqual(error?.message, "CA certificate file \(missing) does not exist")
        }
        // A certificate where the key belongs.
        XCTAssertThrowsError(try TLSConfig.load(caFile: Fixture.path("ca"), certificateFile: Fixture.path("site-a"), keyFile: Fixture.path("site-a"))) {
            XCTAssertTrue("\($0)".contains("private key file \(Fixture.path("site-a")) is not a PEM private key"), "\($0)")
        }
    }
}
