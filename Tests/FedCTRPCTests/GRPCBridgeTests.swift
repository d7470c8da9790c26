// Tests of the gRPC bridge over loopback with real mutual TLS: call shapes, large streams, identity, refusals, deadlines.
import Crypto
import FedCTRPC
import Foundation
import XCTest

final class GRPCBridgeTests: XCTestCase {
    private func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/tls/\(name)", withExtension: "pem")!.path
    }

    private func tls(_ certificate: String, ca: String = "ca") throws -> TLSConfig {
        try TLSConfig.load(caFile: fixture(ca), certificateFile: fixture(certificate), keyFile: fixture("\(certificate)-key"))
    }

    /// A server with a few test methods; `seen` records the peer identities of handled calls.
    private func startServer(maxMessageBytes: Int = 4 << 20, seen: Recorder = Recorder()) throws -> GRPCServer {
        var options = ServerOptions(address: "127.0.0.1:0", tls: try tls("server"))
        options.maxMessageBytes = maxMessageBytes
        return try GRPCServer(options: options) { call in
            await seen.add(call.peer)
            switch call.method {
            case "/test.Echo/Unary":
                let request = await call.read() ?? []
                try? await call.write(Array(request.reversed()))
                await call.finish(nil)
            case "/test.Echo/Count":
                let request = await call.read() ?? [0]
                for index in 0..<Int(request[0]) { try? await call.write([UInt8(index)]) }
                await call.finish(nil)
            case "/test.Echo/Digest":
                var hasher = SHA256()
                var bytes = 0
                while let chunk = await call.read() {
                    hasher.update(data: chunk)
                    bytes += chunk.count
                }
                try? await call.write(Array(hasher.finalize()) + withUnsafeBytes(of: Int64(bytes).littleEndian, Array.init))
                await call.finish(nil)
            case "/test.Echo/Bidi":
                while let message = await call.read() { try? await call.write(message + [0xFF]) }
                await call.finish(nil)
            case "/test.Echo/Slow":
                try? await Task.sleep(for: .seconds(2))
                await call.finish(nil)
            case "/test.Echo/Deny":
                _ = await call.read()
                await call.finish(RPCError(code: .permissionDenied, message: "no"))
            default:
                await call.finish(RPCError(code: .unimplemented, message: call.method))
            }
        }
    }

    private func channel(_ server: GRPCServer, certificate: String = "site-a", ca: String = "ca", maxMessageBytes: Int = 4 << 20) throws -> GRPCChannel {
        var options = ChannelOptions(target: "localhost:\(server.port)", tls: try tls(certificate, ca: ca))
        options.maxMessageBytes = maxMessageBytes
        return try GRPCChannel(options: options)
    }

    func testUnaryAndPeerIdentity() async throws {
        let seen = Recorder()
        let server = try startServer(seen: seen)
        let reply = try await channel(server).unary(method: "/test.Echo/Unary", request: [1, 2, 3], timeout: .seconds(10))
        XCTAssertEqual(reply, [3, 2, 1])
        let peers = await seen.peers
        let peer = try XCTUnwrap(peers.first)
        XCTAssertTrue(peer.identities.contains("site-a"), "\(peer.identities)")
        XCTAssertTrue(peer.certificatePEM?.contains("BEGIN CERTIFICATE") == true)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerStreamingClientStreamingAndBidi() async throws {
        let server = try startServer()
        let client = try channel(server)
        var received: [UInt8] = []
        for try await message in client.serverStreaming(method: "/test.Echo/Count", request: [200], timeout: .seconds(10)) {
            received += message
        }
        XCTAssertEqual(received, (0..<200).map(UInt8.init))

        let chunks = (0..<100).map { [UInt8](repeating: UInt8($0), count: 1000) }
        let digest = try await client.clientStreaming(method: "/test.Echo/Digest", requests: AsyncStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }, timeout: .seconds(10))
        var hasher = SHA256()
        for chunk in chunks { hasher.update(data: chunk) }
        XCTAssertEqual(Array(digest.prefix(32)), Array(hasher.finalize()))

        let call = try client.makeCall(method: "/test.Echo/Bidi", timeout: .seconds(10))
        for index in 0..<5 {
            try await call.write([UInt8(index)])
            let echoed = try await call.read()
            XCTAssertEqual(echoed, [UInt8(index), 0xFF])
        }
        await call.closeSend()
        let end = try await call.read()
        XCTAssertNil(end)
        let status = await call.status()
        XCTAssertNil(status)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testA256MiBStreamArrivesIntact() async throws {
        let server = try startServer()
        let client = try channel(server)
        let chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let call = try client.makeCall(method: "/test.Echo/Digest", timeout: .seconds(120))
        var hasher = SHA256()
        for index in 0..<256 {
            var message = chunk
            message[0] = UInt8(index)
            hasher.update(data: message)
            try await call.write(message)
        }
        await call.closeSend()
        let last = try await call.read()
        let reply = try XCTUnwrap(last)
        XCTAssertEqual(Array(reply.prefix(32)), Array(hasher.finalize()))
        XCTAssertEqual(reply[32..<40].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }, 256 << 20)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testClientFromAnotherCAIsRefused() async throws {
        let seen = Recorder()
        let server = try startServer(seen: seen)
        let rogue = try channel(server, certificate: "rogue", ca: "ca")
        do {
            _ = try await rogue.unary(method: "/test.Echo/Unary", request: [1], timeout: .seconds(10))
            XCTFail("a certificate from another CA must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable, "\(error)")
        }
        let handled = await seen.peers.count
        XCTAssertEqual(handled, 0, "the handler must never run for a refused client")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testDeadlineExceeded() async throws {
        let server = try startServer()
        do {
            _ = try await channel(server).unary(method: "/test.Echo/Slow", request: [], timeout: .milliseconds(200))
            XCTFail("expected DEADLINE_EXCEEDED")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .deadlineExceeded, "\(error)")
        }
        await server.shutdown(gracePeriod: .seconds(3))
    }

    func testServerErrorReachesTheClient() async throws {
        let server = try startServer()
        do {
            _ = try await channel(server).unary(method: "/test.Echo/Deny", request: [1], timeout: .seconds(10))
            XCTFail("expected PERMISSION_DENIED")
        } catch let error as RPCError {
            XCTAssertEqual(error, RPCError(code: .permissionDenied, message: "no"))
        }
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testOversizedMessageIsRefused() async throws {
        let server = try startServer(maxMessageBytes: 1 << 16)
        do {
            _ = try await channel(server, maxMessageBytes: 1 << 20).unary(method: "/test.Echo/Unary", request: [UInt8](repeating: 1, count: 1 << 17), timeout: .seconds(10))
            XCTFail("expected RESOURCE_EXHAUSTED")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted, "\(error)")
        }
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerKeepsServingAfterAClientCancels() async throws {
        let server = try startServer()
        let client = try channel(server)
        let call = try client.makeCall(method: "/test.Echo/Bidi", timeout: .seconds(10))
        try await call.write([1])
        _ = try await call.read()
        call.cancel()
        let status = await call.status()
        XCTAssertEqual(status?.code, .cancelled)
        let reply = try await client.unary(method: "/test.Echo/Unary", request: [4, 5], timeout: .seconds(10))
        XCTAssertEqual(reply, [5, 4])
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// Collects what handlers saw, across tasks.
actor Recorder {
    private(set) var peers: [PeerInfo] = []
    func add(_ peer: PeerInfo) { peers.append(peer) }
}
