// Call shapes over loopback with real mutual TLS: unary, server streaming, client streaming, bidirectional, a
// 256 MiB stream, empty messages, concurrent calls.
import Crypto
import FedCTRPC
import XCTest

final class CallShapeTests: XCTestCase {
    func testUnaryRoundTrip() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        let reply = try await channel.unary(method: "/test.Echo/Unary", request: [1, 2, 3], timeout: .seconds(10))
        XCTAssertEqual(reply, [3, 2, 1])
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testEmptyMessagesTravel() async throws {
        // A protobuf message with every field at its default serializes to zero bytes.
        let server = try TestService.start()
        let reply = try await TestService.channel(to: server).unary(method: "/test.Echo/Unary", request: [], timeout: .seconds(10))
        XCTAssertEqual(reply, [])
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerStreamingDeliversManyMessagesInOrder() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        var received: [UInt32] = []
        for try await message in channel.serverStreaming(method: "/test.Echo/Count", request: [UInt8](uint32: 2000), timeout: .seconds(20)) {
            received.append(message.uint32)
        }
        XCTAssertEqual(received, Array(0..<2000))
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testClientStreamingDeliversManyMessages() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        let chunks = (0..<1000).map { index in [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 1 + index % 300) }
        let reply = try await channel.clientStreaming(method: "/test.Echo/Digest", requests: AsyncStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }, timeout: .seconds(20))
        var hasher = SHA256()
        for chunk in chunks { hasher.update(data: chunk) }
        XCTAssertEqual(Array(reply.prefix(32)), Array(hasher.finalize()))
        XCTAssertEqual(Array(reply[32..<36]).uint32, 1000)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testBidirectionalEcho() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)

        // Ping-pong: each reply before the next request.
        let call = try channel.makeCall(method: "/test.Echo/Echo", timeout: .seconds(20))
        for index in 0..<100 {
            try await call.write([UInt8(index)])
            let echoed = try await call.read()
            XCTAssertEqual(echoed, [UInt8(index), 0xFF])
        }
        await call.closeSend()
        let end = try await call.read()
        XCTAssertNil(end)
        let status = await call.status()
        XCTAssertNil(status)

        // Full duplex: a writer and a reader task on one call.
        let duplex = try channel.makeCall(method: "/test.Echo/Echo", timeout: .seconds(20))
        async let written: Void = {
            for index in 0..<500 { try await duplex.write([UInt8](uint32: UInt32(index))) }
            await duplex.closeSend()
        }()
        var replies: [UInt32] = []
        while let reply = try await duplex.read() {
            XCTAssertEqual(reply.last, 0xFF)
            replies.append(reply.uint32)
        }
        try await written
        XCTAssertEqual(replies, Array(0..<500))
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testA256MiBStreamArrivesIntact() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        let call = try channel.makeCall(method: "/test.Echo/Digest", timeout: .seconds(60))
        var chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        var hasher = SHA256()
        for index in 0..<256 {
            chunk[index] &+= 1  // every chunk differs; memory stays one chunk
            hasher.update(data: chunk)
            try await call.write(chunk)
        }
        await call.closeSend()
        let reply = try await XCTUnwrapAsync(try await call.read())
        XCTAssertEqual(Array(reply.prefix(32)), Array(hasher.finalize()), "SHA-256 of what the server read")
        XCTAssertEqual(Array(reply[32..<36]).uint32, 256)
        XCTAssertEqual(UInt64(Array(reply[36..<40]).uint32) << 32 | UInt64(Array(reply[40..<44]).uint32), 256 << 20)
        let end = try await call.read()
        XCTAssertNil(end)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testConcurrentCallsOnOneChannel() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let request = [UInt8](uint32: UInt32(index))
                    let reply = try await channel.unary(method: "/test.Echo/Unary", request: request, timeout: .seconds(20))
                    XCTAssertEqual(reply, request.reversed())
                }
            }
            try await group.waitForAll()
        }
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// `XCTUnwrap` for an async expression.
func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    let value = try await value()
    return try XCTUnwrap(value, file: file, line: line)
}
