// Many concurrent calls ending every which way (client cancels, dropped calls, early server finishes, tiny
// deadlines, abandoned streams): each ends with the expected status and the server stays healthy.
import FedCTRPC
import XCTest

final class ChaosTests: XCTestCase {
    func testCallsEndingEveryWhichWayLeaveTheServerHealthy() async throws {
        let recorder = Recorder()
        let server = try TestService.start(recorder: recorder)
        let channel = try TestService.channel(to: server)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<240 {
                group.addTask { try await Self.scenario(index % 8, steps: 1 + index % 5, channel: channel) }
            }
            try await group.waitForAll()
        }

        let reply = try await channel.unary(method: "/test.Echo/Unary", request: [1, 2], timeout: .seconds(10))
        XCTAssertEqual(reply, [2, 1])
        let started = ContinuousClock.now
        await server.shutdown(gracePeriod: .seconds(5))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "no call was left hanging on the server")
        let handled = recorder.all
        XCTAssertGreaterThanOrEqual(handled.count, 151, "at least every call that cannot end before reaching the server")
        XCTAssertEqual(handled.filter { $0.notes.contains("returned") }.count, handled.count, "every handler returned")
    }

    private static func scenario(_ kind: Int, steps: Int, channel: GRPCChannel) async throws {
        switch kind {
        case 0:  // bidi, then the client cancels
            let call = try channel.makeCall(method: "/test.Echo/Echo", timeout: .seconds(20))
            for step in 0..<steps {
                try await call.write([UInt8(step)])
                let echoed = try await call.read()
                XCTAssertEqual(echoed, [UInt8(step), 0xFF])
            }
            call.cancel()
            let status = await call.status()
            XCTAssertEqual(status?.code, .cancelled)
        case 1:  // upload dropped without asking for the status
            let call = try channel.makeCall(method: "/test.Echo/Digest", timeout: .seconds(20))
            for _ in 0..<steps { try await call.write([UInt8](repeating: 9, count: 4096)) }
        case 2:  // server stream abandoned after a few messages
            var seen = 0
            for try await _ in channel.serverStreaming(method: "/test.Echo/Count", request: [UInt8](uint32: 1_000_000), timeout: .seconds(20)) {
                seen += 1
                if seen == steps { break }
            }
            XCTAssertEqual(seen, steps)
        case 3:  // plain unary
            let reply = try await channel.unary(method: "/test.Echo/Unary", request: [UInt8(steps), 0], timeout: .seconds(20))
            XCTAssertEqual(reply, [0, UInt8(steps)])
        case 4:  // writer and reader tasks, cancelled from outside mid-flight
            let call = try channel.makeCall(method: "/test.Echo/Echo", timeout: .seconds(20))
            let writer = Task { for step in 0..<10_000 { try await call.write([UInt8(truncatingIfNeeded: step)]) } }
            let reader = Task { while try await call.read() != nil {} }
            try await Task.sleep(for: .milliseconds(steps))
            call.cancel()
            let writeError = await Result { try await writer.value }.rpcError
            let readError = await Result { try await reader.value }.rpcError
            XCTAssertEqual(writeError?.code, .cancelled)
            XCTAssertEqual(readError?.code, .cancelled)
        case 5:  // handler error
            let error = await Result { try await channel.unary(method: "/test.Echo/Deny", request: [], timeout: .seconds(20)) }.rpcError
            XCTAssertEqual(error, RPCError(code: .permissionDenied, message: "no"))
        case 6:  // deadline shorter than the work
            let call = try channel.makeCall(method: "/test.Echo/Echo", timeout: .milliseconds(steps))
            let outcome = await Result {
                for step in 0..<100_000 {
                    try await call.write([UInt8(truncatingIfNeeded: step)])
                    _ = try await call.read()
                }
            }
            XCTAssertEqual(outcome.rpcError?.code, .deadlineExceeded)
        default:  // the server ends the call while the client is still writing
            let call = try channel.makeCall(method: "/test.Echo/Quit", timeout: .seconds(20))
            var writeError: RPCError?
            for step in 0..<(steps * 50) {
                do { try await call.write([UInt8(truncatingIfNeeded: step)]) } catch let error as RPCError {
                    writeError = error
                    break
                }
            }
            if let writeError { XCTAssertEqual(writeError, RPCError(code: .aborted, message: "enough")) }
            let readError = await Result { try await call.read() }.rpcError
            XCTAssertEqual(readError, RPCError(code: .aborted, message: "enough"))
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    /// The RPCError this ended with, if any.
    var rpcError: RPCError? {
        if case .failure(let error) = self { return error as? RPCError }
        return nil
    }
}
