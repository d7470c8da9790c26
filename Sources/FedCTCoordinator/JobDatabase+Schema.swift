// JobDatabase+Schema: the job database's tables and triggers, as GRDB migrations applied in order on open.
import GRDB

extension JobDatabase {
    /// Migrations run once each, in order, inside a transaction; a database from a newer coordinator is refused.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs and append-only rounds") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY NOT NULL,
                    -- Jobs run in this order, one at a time.
                    queue_order INTEGER NOT NULL UNIQUE,
                    -- queued, waiting_for_sites, running, succeeded, failed, cancelled
                    state TEXT NOT NULL,
                    -- The JobSpec as protobuf JSON.
                    spec TEXT NOT NULL,
                    initial_model_sha256 TEXT NOT NULL,
                    -- The current global model: the last committed round's, or the initial one.
                    model_sha256 TEXT NOT NULL,
                    current_round INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    -- Unix seconds.
                    submitted_at REAL NOT NULL,
                    started_at REAL,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE rounds (
                    job_id TEXT NOT NULL REFERENCES jobs (id),
                    round INTEGER NOT NULL,
                    -- The RoundRecord as protobuf JSON.
                    record TEXT NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    committed_at REAL NOT NULL,
                    PRIMARY KEY (job_id, round)
                );
                CREATE TRIGGER rounds_are_never_changed BEFORE UPDATE ON rounds
                BEGIN SELECT RAISE(ABORT, 'committed rounds are append-only: a round cannot be changed'); END;
                CREATE TRIGGER rounds_are_never_deleted BEFORE DELETE ON rounds
                BEGIN SELECT RAISE(ABORT, 'committed rounds are append-only: a round cannot be deleted'); END;
                CREATE TRIGGER rounds_are_committed_in_order BEFORE INSERT ON rounds
                WHEN NEW.round != (SELECT COALESCE(MAX(round), 0) + 1 FROM rounds WHERE job_id = NEW.job_id)
                BEGIN SELECT RAISE(ABORT, 'rounds are committed in order: the next round of a job is its last round + 1'); END;
                """)
        }
        return migrator
    }
}
