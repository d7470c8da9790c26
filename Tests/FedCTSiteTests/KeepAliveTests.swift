// KeepAliveTests: blocking work runs on the training executor while Heartbeat beats on its period, and the beats stop with the work.
@testable import FedCTSite
import Foundation
import Synchronization
import XCTest

final class KeepAliveTests: XCTestCase {
    /// Beats counted from the heartbeat closure (which runs on the cooperative pool).
    final class Beats: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func beat() { count.withLock { $0 += 1 } }
    }

    func testWorkLongerThanTheIntervalBeatsOnItsPeriodOnTheTrainingExecutor() async throws {
        let executor = TrainingExecutor()
        let beats = Beats()
        XCTAssertFalse(executor.isCurrent)
        let ranOnExecutor = try await keepingAlive(every: .milliseconds(100), beat: { beats.beat() }, on: executor) {
            Thread.sleep(forTimeInterval: 0.55)  // blocks its thread, as a libtorch training step does
            return executor.isCurrent
        }
        XCTAssertTrue(ranOnExecutor, "the work runs on the training executor's queue, off the cooperative pool")
        XCTAssertGreaterThanOrEqual(beats.value, 2, "a beat about every 100 ms during 550 ms of blocking work")
        XCTAssertLessThanOrEqual(beats.value, 6)
        let atReturn = beats.value
        try await Task.sleep(for: .milliseconds(350))
        XCTAssertEqual(beats.value, atReturn, "no beat after the work returned")
    }

    func testShortWorkSendsNoBeat() async throws {
        let beats = Beats()
        let value = try await keepingAlive(every: .seconds(5), beat: { beats.beat() }, on: TrainingExecutor()) { 42 }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(beats.value, 0)
    }

    func testAFailingWorkThrowsItsErrorAndStopsTheBeats() async throws {
        struct TrainingFailed: Error {}
        let beats = Beats()
        do {
            _ = try await keepingAlive(every: .milliseconds(50), beat: { beats.beat() }, on: TrainingExecutor()) { () throws -> Int in
                Thread.sleep(forTimeInterval: 0.2)
                throw TrainingFailed()
            }
            XCTFail("the work's error must reach the caller")
        } catch is TrainingFailed {}
        let atReturn = beats.value
        XCTAssertGreaterThanOrEqual(atReturn, 1)
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertEqual(beats.value, atReturn)
    }

    func testASlowBeatDoesNotHoldUpTheWork() async throws {
        let started = Date()
        let value = try await keepingAlive(every: .milliseconds(20), beat: { try? await Task.sleep(for: .milliseconds(150)) },
                                           on: TrainingExecutor()) { () -> String in
            Thread.sleep(forTimeInterval: 0.1)
            return "trained"
        }
        XCTAssertEqual(value, "trained")
        // The work returns after 0.1 s; waiting for the beat in flight (≤ 150 ms, cut short by cancellation) adds little.
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.0)
    }
}
