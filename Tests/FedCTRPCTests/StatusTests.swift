// Statuses and endings: deadlines, handler errors, message limits, cancellation, shutdown, a taken port.
import FedCTRPC
import XCTest

final class StatusTests: XCTestCase {
    func testAnExpiredDeadlineIsDeadlineExceeded() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        let started = ContinuousClock.now
        let error = await expectRPCError {
            try await TestService.channel(to: server).unary(method: "/test.Echo/Slow", request: [], timeout: .milliseconds(200))
        }
        XCTAssertEqual(error?.code, .deadlineExceeded, "\(String(describing: error))")
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(900), "the client gives up at its deadline, not when the handler ends")
        let deadline = try XCTUnwrap(recorder.all.first?.deadline, "the server sees the client's deadline")
        XCTAssertLessThanOrEqual(deadline, started + .milliseconds(250))
        await server.shutdown(gracePeriod: .seconds(3))
    }

    func testAHandlerErrorReachesTheClient() async throws {
        let server = try TestService.start()
        let channel = try TestService.channel(to: server)
        let error = await expectRPCError { try await channel.unary(method: "/test.Echo/Deny", request: [1], timeout: .seconds(10)) }
        XCTAssertEqual(error, RPCError(code: .permissionDenied, message: "no"))
        XCTAssertEqual(error?.description, "PERMISSION_DENIED: no")

        let streamed = await expectRPCError {
            for try await _ in channel.serverStreaming(method: "/test.Echo/Deny", request: [1], timeout: .seconds(10)) {}
        }
        XCTAssertEqual(streamed, RPCError(code: .permissionDenied, message: "no"))

        let unknown = await expectRPCError { try await channel.unary(method: "/test.Nope/Nothing", request: [], timeout: .seconds(10)) }
        XCTAssertEqual(unknown, RPCError(code: .unimplemented, message: "no method /test.Nope/Nothing"))
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testMessagesOverTheLimitAreRefused() async throws {
        let recorder = Recorder()
        let server = try TestService.start(maxMessageBytes: 64 << 10, recorder: recorder)

        // The server refuses a request over its limit.
        let big = try TestService.channel(to: server, maxMessageBytes: 1 << 20)
        let request = await expectRPCError {
            try await big.unary(method: "/test.Echo/Unary", request: [UInt8](repeating: 1, count: 128 << 10), timeout: .seconds(10))
        }
        XCTAssertEqual(request?.code, .resourceExhausted, "\(String(describing: request))")

        // The client refuses a reply over its own limit.
        let small = try TestService.channel(to: server, maxMessageBytes: 16 << 10)
        let reply = await expectRPCError {
            try await small.unary(method: "/test.Echo/Big", request: [UInt8](uint32: 32 << 10), timeout: .seconds(10))
        }
        XCTAssertEqual(reply?.code, .resourceExhausted, "\(String(describing: reply))")

        // Writing over the channel's limit fails before anything is sent.
        let call = try small.makeCall(method: "/test.Echo/Echo", timeout: .seconds(10))
        let write = await expectRPCError { try await call.write([UInt8](repeating: 0, count: 17 << 10)) }
        XCTAssertEqual(write?.code, .resourceExhausted)
        call.cancel()

        // Messages at the limit pass.
        let atLimit = try await small.unary(method: "/test.Echo/Big", request: [UInt8](uint32: 16 << 10), timeout: .seconds(10))
        XCTAssertEqual(atLimit.count, 16 << 10)
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testServerKeepsServingAfterAClientCancelsMidStream() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        let channel = try TestService.channel(to: server)

        let upload = try channel.makeCall(method: "/test.Echo/Digest", timeout: .seconds(20))
        for _ in 0..<10 { try await upload.write([UInt8](repeating: 3, count: 64 << 10)) }
        upload.cancel()
        let status = await upload.status()
        XCTAssertEqual(status?.code, .cancelled)
        let failedWrite = await expectRPCError { try await upload.write([1]) }
        XCTAssertEqual(failedWrite?.code, .cancelled)
        let handlerEnded = await recorder.waitForNote("returned")
        XCTAssertTrue(handlerEnded, "the server handler sees the end of the stream and returns")

        // Cancelling the task that awaits a read cancels the call.
        let echo = try channel.makeCall(method: "/test.Echo/Echo", timeout: .seconds(20))
        let reader = Task { try await echo.read() }
        try await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        let readError = await expectRPCError { try await reader.value }
        XCTAssertEqual(readError?.code, .cancelled)

        // Dropping a server stream early cancels it too.
        for try await _ in channel.serverStreaming(method: "/test.Echo/Count", request: [UInt8](uint32: 100_000), timeout: .seconds(20)) {
            break
        }

        let reply = try await channel.unary(method: "/test.Echo/Unary", request: [4, 5], timeout: .seconds(10))
        XCTAssertEqual(reply, [5, 4])
        await server.shutdown(gracePeriod: .seconds(2))
        XCTAssertEqual(recorder.all.filter { $0.notes.contains("returned") }.count, recorder.all.count, "every handler returned")
    }

    func testFinishingWhileAReadIsPendingEndsTheRead() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        // The client keeps its side open and sends nothing; the handler hangs up on it.
        let call = try TestService.channel(to: server).makeCall(method: "/test.Echo/Hangup", timeout: .seconds(10))
        let end = try await call.read()
        XCTAssertNil(end)
        let status = await call.status()
        XCTAssertNil(status)
        let noted = await recorder.waitForNote("pending read ended")
        XCTAssertTrue(noted, "\(recorder.all.map(\.notes))")
        await server.shutdown(gracePeriod: .seconds(1))
    }

    func testShutdownEndsCallsWhoseHandlersNeverFinish() async throws {
        let recorder = Recorder()
        let latch = Latch()
        let server = try TestService.start(recorder: recorder, latch: latch)
        let channel = try TestService.channel(to: server)
        let stuck = Task { try await channel.unary(method: "/test.Echo/Stuck", request: [1], timeout: nil) }
        let handlerStarted = await recorder.waitForNote("stuck")
        XCTAssertTrue(handlerStarted)

        let started = ContinuousClock.now
        await server.shutdown(gracePeriod: .milliseconds(200))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3), "shutdown is bounded by the grace period, not by handlers")
        let error = await expectRPCError { try await stuck.value }
        XCTAssertTrue(error?.code == .unavailable || error?.code == .cancelled, "\(String(describing: error))")
        latch.open()
        let returned = await recorder.waitForNote("returned")
        XCTAssertTrue(returned)
    }

    func testASecondServerCannotTakeABoundPort() async throws {
        let first = try TestService.start()
        XCTAssertThrowsError(try TestService.start(address: "127.0.0.1:\(first.port)")) {
            let error = $0 as? RPCError
            XCTAssertEqual(error?.code, .unavailable)
            XCTAssertTrue(error?.message.contains("cannot listen on 127.0.0.1:\(first.port)") == true, "\($0)")
        }
        await first.shutdown(gracePeriod: .seconds(1))
    }
}
