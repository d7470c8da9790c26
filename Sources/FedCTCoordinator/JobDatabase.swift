// JobDatabase: the coordinator's jobs and committed rounds in SQLite (GRDB, WAL, synchronous = FULL).
import FedCTCore
public import FedCTProto
import Foundation
import GRDB
import SwiftProtobuf
import Synchronization

/// Job and round records in `<state>/coordinator.sqlite`.
///
/// A job is one row of `jobs` (state, spec, message, queue order, times, the current global model); each
/// committed round is one row of `rounds`, appended in the same transaction that points the job at the
/// round's model. Rounds are append-only: triggers refuse to change or delete a committed round, or to
/// skip one. Model blobs are files (`ModelStore`), made durable before the round row that names them is
/// committed, so a committed round always points at a blob on disk.
///
/// The database runs in WAL mode with `synchronous = FULL`: a transaction is on disk when `save` returns,
/// so a coordinator killed right after committing a round (or the machine losing power) keeps that round.
/// WAL's default `NORMAL` could lose the last transactions on power loss; the cost of one extra fsync per
/// commit is nothing beside a round's minutes.
///
/// A save appends: it compares the record's rounds with the committed rounds this database last read or wrote (kept
/// in memory, filled by `loadAll` or by one read on a job's first save) and inserts only the new ones, so its cost does
/// not grow with the number of rounds (`JobDatabaseTests.testSavingARoundCostsTheSameAtRound200AsAtRound2`).
public final class JobDatabase: Sendable {
    /// The database file.
    public let url: URL
    let pool: DatabasePool
    /// Each job's committed rounds as last read from or committed to the file (updated only after a commit).
    private let committedRounds = Mutex<[String: [Fedct_V1_RoundRecord]]>([:])

    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    public init(url: URL) throws {
        self.url = url
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            pool = try DatabasePool(path: url.path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw FedCTError(.io, "cannot open the job database \(url.path): \(error.message ?? "\(error.resultCode)") (SQLite \(error.resultCode)); "
                + "if the file is damaged, stop the coordinator and restore it from a backup (coordinator guide, Backups)", cause: error)
        }
    }

    /// Inserts or updates a job: its row, and any committed rounds the database does not have yet, in one transaction.
    ///
    /// Rounds already stored must be unchanged in `status`; a committed round is never rewritten or dropped. They are
    /// compared with the rounds kept in memory, not read back: the statements a save runs are the job's row and its new
    /// rounds. `updated_at` is the record's `updatedUnixSeconds` when set (the coordinator stamps it), else now.
    public func save(_ status: Fedct_V1_JobStatus) throws {
        let path = url.path
        try write("save job \(status.jobID)") { db in
            let now = status.updatedUnixSeconds > 0 ? status.updatedUnixSeconds : Date().timeIntervalSince1970
            let spec = try status.spec.jsonString()
            let model = status.rounds.last?.modelSha256 ?? status.initialModelSha256
            let state = Self.stateName(status.state)
            try db.execute(sql: """
                INSERT INTO jobs (id, queue_order, state, spec, initial_model_sha256, model_sha256, current_round, message,
                                  submitted_at, started_at, updated_at)
                VALUES (?, (SELECT COALESCE(MAX(queue_order), 0) + 1 FROM jobs), ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, spec = excluded.spec, model_sha256 = excluded.model_sha256,
                    current_round = excluded.current_round, message = excluded.message,
                    started_at = COALESCE(jobs.started_at, excluded.started_at), updated_at = excluded.updated_at
                """, arguments: [status.jobID, state, spec, status.initialModelSha256, model, status.currentRound, status.message,
                                 status.submittedUnixSeconds > 0 ? status.submittedUnixSeconds : now,
                                 status.startedUnixSeconds > 0 ? status.startedUnixSeconds : nil, now])
            // Read under the writer, so no other save of this job runs between this read and the update after the commit.
            let stored = try self.committedRounds.withLock { $0[status.jobID] } ?? Self.rounds(of: status.jobID, in: db)
            guard stored.count <= status.rounds.count else {
                throw FedCTError(.integrity, "job \(status.jobID) has \(stored.count) committed rounds in \(path), the record to save only "
                    + "\(status.rounds.count); committed rounds are never dropped")
            }
            if let (old, _) = zip(stored, status.rounds).first(where: { $0 != $1 }) {
                throw FedCTError(.integrity, "job \(status.jobID): committed round \(old.round) in \(path) differs from the record to "
                    + "save; committed rounds are never rewritten")
            }
            for record in status.rounds.dropFirst(stored.count) {
                try db.execute(sql: "INSERT INTO rounds (job_id, round, record, model_sha256, committed_at) VALUES (?, ?, ?, ?, ?)",
                               arguments: [status.jobID, record.round, try record.jsonString(), record.modelSha256, now])
            }
            let rounds = status.rounds
            db.afterNextTransaction { _ in self.committedRounds.withLock { $0[status.jobID] = rounds } }
        }
    }

    /// Every job, in queue order, with its committed rounds.
    public func loadAll() throws -> [Fedct_V1_JobStatus] {
        let jobs = try read("read the jobs") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY queue_order").map { row in
                let id: String = row["id"]
                var status = Fedct_V1_JobStatus()
                status.jobID = id
                status.state = try Self.state(named: row["state"], job: id)
                status.spec = try Fedct_V1_JobSpec(jsonString: row["spec"])
                status.initialModelSha256 = row["initial_model_sha256"]
                status.currentRound = row["current_round"]
                status.message = row["message"]
                status.submittedUnixSeconds = row["submitted_at"]
                status.startedUnixSeconds = row["started_at"] ?? 0
                status.updatedUnixSeconds = row["updated_at"]
                status.rounds = try Self.rounds(of: id, in: db)
                return status
            }
        }
        // Rounds only ever grow: a save committed while this read ran is not undone.
        committedRounds.withLock { known in
            for job in jobs where job.rounds.count > known[job.jobID]?.count ?? -1 { known[job.jobID] = job.rounds }
        }
        return jobs
    }

    /// Whether the database holds a job with this id.
    public func contains(_ jobID: String) throws -> Bool {
        try read("look up job \(jobID)") { db in try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM jobs WHERE id = ?", arguments: [jobID]) ?? false }
    }

    static func rounds(of jobID: String, in db: Database) throws -> [Fedct_V1_RoundRecord] {
        try String.fetchAll(db, sql: "SELECT record FROM rounds WHERE job_id = ? ORDER BY round", arguments: [jobID])
            .map { try Fedct_V1_RoundRecord(jsonString: $0) }
    }

    // MARK: Errors that name the file and say what to do

    func write<T>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw FedCTError(.integrity, "\(url.path): refused to \(what): \(error.message ?? "constraint failed"); nothing of it was written",
                             cause: error)
        } catch let error as DatabaseError {
            throw FedCTError(.io, "\(url.path): could not \(what): \(error.message ?? "\(error.resultCode)") (SQLite \(error.resultCode)); "
                + "nothing of it was written. Free disk space or fix the folder's permissions; the coordinator keeps serving and retries",
                cause: error)
        }
    }

    func read<T>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as DatabaseError {
            throw FedCTError(.io, "\(url.path): could not \(what): \(error.message ?? "\(error.resultCode)") (SQLite \(error.resultCode)); "
                + "if the file is damaged, stop the coordinator and restore it from a backup", cause: error)
        }
    }

    // MARK: Job states as readable text (for sqlite3 users)

    static let stateNames: [Fedct_V1_JobStatus.State: String] = [
        .queued: "queued", .waitingForSites: "waiting_for_sites", .running: "running",
        .succeeded: "succeeded", .failed: "failed", .cancelled: "cancelled",
    ]

    static func stateName(_ state: Fedct_V1_JobStatus.State) -> String { stateNames[state] ?? "unspecified" }

    static func state(named name: String, job: String) throws -> Fedct_V1_JobStatus.State {
        guard let state = stateNames.first(where: { $0.value == name })?.key else {
            throw FedCTError(.invalidData, "job \(job) has the unknown state '\(name)' in the job database; expected one of "
                + stateNames.values.sorted().joined(separator: ", "))
        }
        return state
    }
}
