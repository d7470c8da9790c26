// Tests of the coordinator's job database: round trips, append-only rounds, import of JSON job records, reopening after a crash, saves that append.
@testable import FedCTCoordinator
import FedCTCore
import FedCTProto
import Foundation
import GRDB
import XCTest

final class JobDatabaseTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-jobdb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private static func job(_ id: String, rounds: Int = 0) -> Fedct_V1_JobStatus {
        var status = Fedct_V1_JobStatus()
        status.jobID = id
        status.state = rounds > 0 ? .running : .queued
        status.spec = .defaults
        status.spec.name = "test-\(id)"
        status.initialModelSha256 = String(repeating: "a", count: 64)
        status.submittedUnixSeconds = 1_700_000_000
        for round in stride(from: 1, through: rounds, by: 1) { status.rounds.append(record(round)) }
        status.currentRound = Int32(rounds)
        return status
    }

    private static func record(_ round: Int) -> Fedct_V1_RoundRecord {
        var record = Fedct_V1_RoundRecord()
        record.round = Int32(round)
        record.sites = ["site-1", "site-2"]
        record.meanTrainLoss = 0.5 / Double(round)
        record.modelSha256 = String(repeating: String(round % 10), count: 64)
        record.securelyAggregated = true
        record.threshold = 2
        return record
    }

    /// What the database returns: the saved status plus the updated time it sets.
    private func assertStored(_ loaded: Fedct_V1_JobStatus, equals saved: Fedct_V1_JobStatus, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(loaded.updatedUnixSeconds, 0, file: file, line: line)
        var loaded = loaded
        loaded.updatedUnixSeconds = 0
        XCTAssertEqual(loaded, saved, file: file, line: line)
    }

    func testJobsAndRoundsRoundTripInQueueOrderInWALModeWithFullSync() throws {
        let database = try JobDatabase(url: folder.appending(path: "coordinator.sqlite"))
        var second = Self.job("job-0002")
        var first = Self.job("job-0001", rounds: 2)
        first.message = "running"
        first.startedUnixSeconds = 1_700_000_100
        try database.save(first)
        try database.save(second)
        second.state = .cancelled
        second.message = "cancelled by admin"
        try database.save(second)
        let loaded = try database.loadAll()
        XCTAssertEqual(loaded.map(\.jobID), ["job-0001", "job-0002"])
        assertStored(loaded[0], equals: first)
        assertStored(loaded[1], equals: second)

        let settings = try database.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        XCTAssertEqual(settings.0, "wal")
        XCTAssertEqual(settings.1, 2, "synchronous must be FULL (2)")
        let pointer = try database.pool.read { db in try String.fetchOne(db, sql: "SELECT model_sha256 FROM jobs WHERE id = 'job-0001'") }
        XCTAssertEqual(pointer, first.rounds.last?.modelSha256, "the job row points at its last committed round's model")
    }

    func testCommittedRoundsAreAppendOnly() throws {
        let database = try JobDatabase(url: folder.appending(path: "coordinator.sqlite"))
        var status = Self.job("job-0001", rounds: 2)
        try database.save(status)

        var rewritten = status
        rewritten.rounds[0].meanTrainLoss = 9
        XCTAssertThrowsError(try database.save(rewritten)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .integrity)
            XCTAssertTrue("\(error)".contains("round 1"), "\(error)")
        }
        var dropped = status
        dropped.rounds.removeLast()
        XCTAssertThrowsError(try database.save(dropped)) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
        var skipping = status
        skipping.rounds.append(Self.record(4))
        XCTAssertThrowsError(try database.save(skipping)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .integrity)
            XCTAssertTrue("\(error)".contains("coordinator.sqlite"), "the error names the database file: \(error)")
        }

        // Below the Swift checks, the schema's triggers refuse the same.
        XCTAssertThrowsError(try database.pool.write { try $0.execute(sql: "UPDATE rounds SET record = '{}' WHERE round = 1") })
        XCTAssertThrowsError(try database.pool.write { try $0.execute(sql: "DELETE FROM rounds") })

        status.rounds.append(Self.record(3))
        try database.save(status)
        XCTAssertEqual(try database.loadAll()[0].rounds, status.rounds, "nothing refused changed the stored rounds; the next round appends")
    }

    func testJSONJobRecordsAreImportedOnceAndMovedAside() throws {
        // A state folder from before the database: <state>/jobs/<id>.json, each the protobuf JSON of JobStatus
        // (what JobStore.save wrote: `status.jsonString()`), plus a temporary file of an interrupted write.
        let jobs = folder.appending(path: "jobs")
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        var finished = Self.job("job-0001", rounds: 3)
        finished.state = .succeeded
        finished.message = "completed 3 rounds"
        let running = Self.job("job-0002", rounds: 1)
        for status in [running, finished] {
            try Data(try status.jsonString().utf8).write(to: jobs.appending(path: "\(status.jobID).json"))
        }
        try Data("{".utf8).write(to: jobs.appending(path: ".job-0002.json.1234.tmp"))

        let database = try JobDatabase(url: folder.appending(path: "coordinator.sqlite"))
        XCTAssertEqual(try database.importLegacyRecords(from: jobs), ["job-0001", "job-0002"])
        let loaded = try database.loadAll()
        XCTAssertEqual(loaded.map(\.jobID), ["job-0001", "job-0002"], "queue order follows the job ids")
        XCTAssertEqual(loaded.map(\.rounds), [finished.rounds, running.rounds])
        XCTAssertEqual(loaded.map(\.state), [.succeeded, .running])
        XCTAssertEqual(loaded[0].message, "completed 3 rounds")
        XCTAssertEqual(loaded[1].spec, running.spec)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: jobs.path), [".job-0002.json.1234.tmp"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appending(path: "jobs.imported").path).sorted(),
                       ["job-0001.json", "job-0002.json"])

        // A second start imports nothing; a record left behind by a kill between commit and move is moved, not doubled.
        XCTAssertEqual(try database.importLegacyRecords(from: jobs), [])
        try Data(try running.jsonString().utf8).write(to: jobs.appending(path: "job-0002.json"))
        XCTAssertEqual(try database.importLegacyRecords(from: jobs), [])
        XCTAssertEqual(try database.loadAll().count, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: jobs.appending(path: "job-0002.json").path))
    }

    func testMalformedJSONRecordIsRefusedWithItsPath() throws {
        let jobs = folder.appending(path: "jobs")
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        try Data("{\"jobId\": ".utf8).write(to: jobs.appending(path: "job-0001.json"))
        let database = try JobDatabase(url: folder.appending(path: "coordinator.sqlite"))
        XCTAssertThrowsError(try database.importLegacyRecords(from: jobs)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
            XCTAssertTrue("\(error)".contains("job-0001.json"), "\(error)")
        }
    }

    /// A crash leaves whatever the files hold at that instant. Copying the database and its WAL while another
    /// thread keeps committing rounds gives such a state (the WAL's last frame possibly torn): it must open, and
    /// hold every round committed before the copy began, unchanged and in order.
    func testCopyTakenMidRunReopensWithEveryCommittedRound() throws {
        let url = folder.appending(path: "coordinator.sqlite")
        let database = try JobDatabase(url: url)
        let committed = Committed()
        let writer = Thread {
            var status = Self.job("job-0001")
            try? database.save(status)
            for round in 1...150 {
                status.rounds.append(Self.record(round))
                status.currentRound = Int32(round)
                guard (try? database.save(status)) != nil else { return }
                committed.set(round)
            }
        }
        writer.start()
        while committed.get() < 20 { Thread.sleep(forTimeInterval: 0.001) }
        let before = committed.get()
        let copy = folder.appending(path: "copy")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: url, to: copy.appending(path: "coordinator.sqlite"))
        try FileManager.default.copyItem(at: URL(fileURLWithPath: url.path + "-wal"), to: copy.appending(path: "coordinator.sqlite-wal"))
        while committed.get() < 150 { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: copy.path + "/coordinator.sqlite-wal")[.size] as? Int) ?? 0, 0,
                             "the rounds must be in the WAL, so reopening replays it")

        let reopened = try JobDatabase(url: copy.appending(path: "coordinator.sqlite"))
        let rounds = try XCTUnwrap(reopened.loadAll().first).rounds
        XCTAssertGreaterThanOrEqual(rounds.count, before, "a round committed before the copy was lost")
        XCTAssertEqual(rounds, (1...rounds.count).map(Self.record))
    }

    /// A save compares the record's rounds with those the database knows and appends the new one, so saving round 200
    /// runs the same statements as saving round 2 and reads no stored round back (before, each save read and decoded
    /// every stored round). Prints the mean save time at rounds 2–11 and 191–200 as a ratio, beside what reading back
    /// the 200 stored rounds, as the earlier save did, costs.
    func testSavingARoundCostsTheSameAtRound200AsAtRound2() throws {
        let database = try JobDatabase(url: folder.appending(path: "coordinator.sqlite"))
        let statements = StatementLog()
        database.pool.writeWithoutTransaction { db in db.trace { statements.append("\($0)") } }
        var status = Self.job("job-0001")
        try database.save(status)
        var sql: [Int: [String]] = [:]
        var seconds: [Int: Double] = [:]
        for round in 1...200 {
            status.rounds.append(Self.record(round))
            status.currentRound = Int32(round)
            statements.clear()
            let start = ContinuousClock.now
            try database.save(status)
            seconds[round] = Self.seconds(since: start)
            sql[round] = statements.all
        }
        database.pool.writeWithoutTransaction { db in db.trace(options: []) }
        let early = try XCTUnwrap(sql[2]), late = try XCTUnwrap(sql[200])
        XCTAssertEqual(late.count, early.count, "saving round 200 ran other statements than saving round 2: \(late) vs \(early)")
        XCTAssertFalse(late.contains { $0.contains("SELECT record FROM rounds") }, "a save read the stored rounds back: \(late)")
        XCTAssertEqual(try database.loadAll()[0].rounds, status.rounds)

        let mean = { (rounds: ClosedRange<Int>) in rounds.map { seconds[$0] ?? 0 }.reduce(0, +) / Double(rounds.count) }
        let saveEarly = mean(2...11), saveLate = mean(191...200)
        let start = ContinuousClock.now
        _ = try database.pool.read { db in try JobDatabase.rounds(of: "job-0001", in: db) }
        let rereadSeconds = Self.seconds(since: start)
        print(String(format: "JobDatabase.save: %d statements at round 2 and at round 200; mean %.2f ms at rounds 2-11, %.2f ms at rounds 191-200 (ratio %.2f); reading back the 200 stored rounds as the earlier save did: %.2f ms (%.2f of a save at round 2)",
                     early.count, saveEarly * 1e3, saveLate * 1e3, saveLate / saveEarly, rereadSeconds * 1e3, rereadSeconds / saveEarly))
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = start.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// The writer thread's progress, read by the test.
private final class Committed: @unchecked Sendable {
    private let lock = NSLock()
    private var rounds = 0
    func set(_ value: Int) { lock.withLock { rounds = value } }
    func get() -> Int { lock.withLock { rounds } }
}

/// The SQL statements the database's writer ran, collected by its trace hook.
private final class StatementLog: @unchecked Sendable {
    private let lock = NSLock()
    private var statements: [String] = []
    func append(_ statement: String) { lock.withLock { statements.append(statement) } }
    func clear() { lock.withLock { statements.removeAll() } }
    var all: [String] { lock.withLock { statements } }
}
