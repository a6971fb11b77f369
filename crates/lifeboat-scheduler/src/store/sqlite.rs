//! The history in an SQLite file (WAL): lifeboat's default [`HistoryStore`].
//!
//! A slot is recorded once under the table's unique `(runbook, slot)` key (`ON CONFLICT DO
//! NOTHING`) and claimed by one `UPDATE` under the file's write lock, which serialises
//! claimants; a lease is counted from the `now` the caller gives (one host, one clock). One
//! `lifeboat schedule` per file (the CLI refuses a second): a fleet shares PostgreSQL.
//!
//! One connection behind a mutex: every statement is short, and `lifeboat drill --state` and
//! the daemon may share the file (WAL lets readers and one writer work side by side; a busy
//! writer is waited for, up to [`BUSY_TIMEOUT`]).
//!
//! Times are stored as RFC 3339 UTC text with a fixed number of digits, so text order is time
//! order: slots in whole seconds, the rest in nanoseconds (as the evidence has them).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use jiff::SignedDuration;
use jiff::Timestamp;
use lifeboat_core::coverage::{
    self, Identity, LastVerified, Ledger, LedgerRow, Listed, ObjectKey, PACE_PHASES, Pace,
    PhaseQuery, PhaseRecord, PointListing, Selection, Standing, Verification,
};
use lifeboat_core::evidence::Outcome;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Due, Fenced, HistoryEntry, HistoryStore, POINT_STAGED, RunCoverage, RunRecord, SlotState,
    StoreError, StoreFuture, UnfinishedSlot, Walk,
};

/// How long a write waits for another process holding the file's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema migrations, in order; the file's `PRAGMA user_version` counts those applied.
/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: runs and slots.
    "
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        runbook TEXT NOT NULL,
        mode TEXT NOT NULL,
        slot TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('passed', 'failed', 'error')),
        reason TEXT,
        rto_seconds REAL,
        rpo_seconds REAL,
        rto_objective_seconds INTEGER,
        rpo_objective_seconds INTEGER,
        recovery_point TEXT,
        evidence TEXT
    );
    CREATE INDEX runs_by_runbook ON runs (runbook, started_at);
    CREATE TABLE slots (
        runbook TEXT NOT NULL,
        slot TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('recorded', 'running', 'done', 'skipped-overlap', 'missed', 'abandoned')),
        trigger TEXT CHECK (trigger IN ('schedule', 'catch-up')),
        recorded_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        run_id TEXT REFERENCES runs (run_id),
        reason TEXT,
        PRIMARY KEY (runbook, slot)
    );
    ",
    // Each run's coverage summary (the record's `coverage` section): NULL for a run without
    // coverage, told apart by `coverage_objects`.
    "
    ALTER TABLE runs ADD COLUMN coverage_within_seconds INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_objects INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_verified_within INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_ratio REAL;
    ALTER TABLE runs ADD COLUMN coverage_on_pace INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_behind_seconds INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_never_verified INTEGER;
    ALTER TABLE runs ADD COLUMN coverage_oldest_verified TEXT;
    ALTER TABLE runs ADD COLUMN coverage_failed INTEGER;
    ",
    // The coverage ledger: per runbook, every stored object of the retained recovery points
    // with its storage identity and last verification (T0), and the T0 of each coverage
    // phase for the pace. A runbook's rows are found by the primary key's prefix; the age
    // index is for a planner that reads the least recently verified first with a LIMIT
    // (today a phase reads its runbook's rows whole: issue 16 item 7 is not done).
    "
    CREATE TABLE coverage_objects (
        runbook TEXT NOT NULL,
        point TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        tag TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        verified_at TEXT,
        outcome TEXT CHECK (outcome IN ('passed', 'failed')),
        algorithm TEXT,
        digest TEXT,
        PRIMARY KEY (runbook, point, path)
    );
    CREATE INDEX coverage_objects_by_age ON coverage_objects (runbook, verified_at);
    CREATE TABLE coverage_phases (
        runbook TEXT NOT NULL,
        run_id TEXT NOT NULL,
        t0 TEXT NOT NULL,
        PRIMARY KEY (runbook, run_id)
    );
    CREATE INDEX coverage_phases_by_t0 ON coverage_phases (runbook, t0);
    ",
    // The coverage ledger planned in SQL (issue 16 item 7), so a phase costs what it reads,
    // not the ledger: each object's key hash (`tie`, filled in by `setup` for rows written
    // before), the order the planner reads in as an index (`by_turn`: never verified, then
    // least recently verified, ties by key hash), the never-verified objects by when they
    // were first listed (`new`: those due at once), failed verifications (`failed`: few, for
    // the standing), and each retained point with its listing's fingerprint, object count
    // and bytes (an unchanged point is not staged again; totals without a scan).
    "
    ALTER TABLE coverage_objects ADD COLUMN tie INTEGER;
    DROP INDEX coverage_objects_by_age;
    CREATE INDEX coverage_objects_by_turn ON coverage_objects (runbook, verified_at, tie);
    CREATE INDEX coverage_objects_new ON coverage_objects (runbook, first_seen)
        WHERE verified_at IS NULL;
    CREATE INDEX coverage_objects_failed ON coverage_objects (runbook, verified_at)
        WHERE outcome = 'failed';
    CREATE TABLE coverage_points (
        runbook TEXT NOT NULL,
        point TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        objects INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (runbook, point)
    );
    INSERT INTO coverage_points (runbook, point, fingerprint, objects, bytes)
        SELECT runbook, point, '', COUNT(*), SUM(size) FROM coverage_objects
        GROUP BY runbook, point;
    ",
    // A fleet of runners: who claimed a slot, the attempt that fences it and its lease (on
    // the store's clock, fixed-width text as every time here); who ran each run.
    "
    ALTER TABLE slots ADD COLUMN runner TEXT;
    ALTER TABLE slots ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE slots ADD COLUMN lease_until TEXT;
    CREATE INDEX slots_unfinished ON slots (runbook, slot) WHERE state IN ('recorded', 'running');
    ALTER TABLE runs ADD COLUMN runner TEXT;
    ",
    // 6: the ledger clustered by recovery point, then by the planner's order (issue 16
    // item 7). A ledger of millions of objects with a runbook-wide `(verified_at, tie)` index
    // paid a scattered index entry for every object a point brought or took away; clustered
    // `WITHOUT ROWID` by `(runbook, point, turn, tie, path)`, a point that leaves is one
    // range, a new point one range, and the planner reads each point's due objects from the
    // head of its range, in order, row and all (no lookup from an index into the table).
    // `turn` is `verified_at`, or '' never verified (a key column cannot be NULL), kept
    // beside it so every other statement reads `verified_at` as before; `key` finds an
    // object by its name (staging, recording).
    "
    CREATE TABLE coverage_ledger (
        runbook TEXT NOT NULL,
        point TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        tag TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        verified_at TEXT,
        outcome TEXT CHECK (outcome IN ('passed', 'failed')),
        algorithm TEXT,
        digest TEXT,
        tie INTEGER NOT NULL,
        turn TEXT NOT NULL,
        PRIMARY KEY (runbook, point, turn, tie, path)
    ) WITHOUT ROWID;
    INSERT INTO coverage_ledger (runbook, point, path, size, tag, first_seen, verified_at,
            outcome, algorithm, digest, tie, turn)
        SELECT runbook, point, path, size, tag, first_seen, verified_at, outcome, algorithm,
            digest, tie, COALESCE(verified_at, '')
        FROM coverage_objects ORDER BY runbook, point, COALESCE(verified_at, ''), tie, path;
    DROP TABLE coverage_objects;
    ALTER TABLE coverage_ledger RENAME TO coverage_objects;
    CREATE UNIQUE INDEX coverage_objects_key ON coverage_objects (runbook, point, path);
    CREATE INDEX coverage_objects_new ON coverage_objects (runbook, first_seen)
        WHERE verified_at IS NULL;
    CREATE INDEX coverage_objects_failed ON coverage_objects (runbook, verified_at)
        WHERE outcome = 'failed';
    ",
    // 7: the objects due at once found from their points, not an index (issue 16 item 7).
    // The `new` index took an entry for every object a point brought (each new object is
    // never verified), one more B-tree insert beside the row and its name: at 10 M objects,
    // a third of staging a new point. Each point now keeps when it last brought objects
    // (`newest_listed`, the greatest `first_seen` of its rows; NULL: none), so a plan reads
    // the never-verified head of only the points that brought objects since coverage
    // started.
    "
    ALTER TABLE coverage_points ADD COLUMN newest_listed TEXT;
    UPDATE coverage_points SET newest_listed = (SELECT MAX(o.first_seen) FROM coverage_objects o
        WHERE o.runbook = coverage_points.runbook AND o.point = coverage_points.point);
    DROP INDEX coverage_objects_new;
    ",
    // 8: no index by name (issue 16 item 7). `key` (runbook, point, path) took an entry,
    // at a random place in its point's range, for every object a point brought, and gave
    // one up for every object that left: at 10 M objects, more than half the cost of
    // staging a new point and dropping a gone one. The ledger's own key finds a row: a
    // drill's record knows the turn the plan found each object in, and staging a changed
    // point compares it with its point's range as a whole. A path is one object of its
    // point by construction (staging keeps the first of a path listed twice, and adds
    // only paths its point does not hold).
    "
    DROP INDEX coverage_objects_key;
    ",
];

/// The migration that clusters the ledger (index into [`MIGRATIONS`]): the key hashes
/// (`tie`, added by migration 3) of rows written before them are filled in before it, as
/// it makes the column part of the key.
const CLUSTERED_MIGRATION: usize = 5;

/// The SQLite history store. Its methods are the [`HistoryStore`] operations, synchronous, for
/// callers without an async runtime (tests, tools); the trait's futures call them.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// `$XDG_DATA_HOME/lifeboat/state.db`, else `$HOME/.local/share/lifeboat/state.db`. `None`
/// when neither is set to an absolute path. `env` reads the environment (a map in tests).
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |k: &str| env(k).map(PathBuf::from).filter(|p| p.is_absolute());
    absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".local").join("share")))
        .map(|d| d.join("lifeboat").join("state.db"))
}

fn slot_text(t: Timestamp) -> String {
    format!("{t:.0}")
}

fn time_text(t: Timestamp) -> String {
    format!("{t:.9}")
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (and its folder) if needed, and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| sql_err(path, e))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        };
        store.setup()?;
        Ok(store)
    }

    /// Opens an existing store without creating anything; `Ok(None)` when there is no file.
    pub fn open_existing(path: &Path) -> Result<Option<SqliteStore>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        SqliteStore::open(path).map(Some)
    }

    /// Opens an existing store to read, changing nothing in it: no schema migration, no
    /// journal mode switched (for `lifeboat plan`, which promises to write nothing).
    /// `Ok(None)` when there is no file, or when its schema is older than this lifeboat's (it
    /// holds nothing a newer table would: a newer lifeboat's first write migrates it).
    pub fn open_read_only(path: &Path) -> Result<Option<SqliteStore>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sql_err(path, e))?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| sql_err(path, e))?;
        let known = MIGRATIONS.len();
        if version > known as i64 {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        if version < known as i64 {
            return Ok(None);
        }
        Ok(Some(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_err(&self.path, e)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself usable: SQLite rolls
        // back an unfinished transaction.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn setup(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.err(e))?;
        // Switching a new file to WAL needs the file to itself, and SQLite answers
        // SQLITE_BUSY at once here, without calling the busy handler, while another process
        // is opening the same new file. Retry within the same budget.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| self.err(e))?;
        // A page cache of up to 64 MiB (SQLite's default is 2 MiB): a coverage phase
        // touches rows all over a ledger of millions of objects, and a transaction whose
        // dirty pages do not fit spills them to the WAL again and again. Taken only as used.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(|e| self.err(e))?;
        // A current file needs nothing written: `history` and `status` open the file the
        // daemon writes, and must neither queue behind its writes nor hold it up.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version != MIGRATIONS.len() as i64 {
            self.migrate(&mut conn)?;
        }
        // Temporary tables and sorts in memory: staging a point puts its whole listing in a
        // temporary table (tens of MB at 10 M objects), and `cache_size` above is the main
        // file's only; in a temporary file with SQLite's default 2 MiB cache, a listing of
        // 100 k objects spilled and was read back at random. Set after migrating: the
        // migration that clusters the ledger sorts it whole, which must spill to disk.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| self.err(e))
    }

    /// Migrates the file to the current schema.
    fn migrate(&self, conn: &mut Connection) -> Result<(), StoreError> {
        // Check again and migrate under the write lock (BEGIN IMMEDIATE), so two processes
        // opening a new file at once do not both create the tables: the second waits, then
        // finds the schema current.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        let applied = usize::try_from(version).unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            if i == CLUSTERED_MIGRATION {
                fill_ties(&tx).map_err(|e| self.err(e))?;
            }
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The schema version of the file (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The newest slot recorded for `runbook`, whatever its state.
    pub fn last_slot(&self, runbook: &str) -> Result<Option<Timestamp>, StoreError> {
        let text: Option<String> = self
            .lock()
            .query_row(
                "SELECT slot FROM slots WHERE runbook = ?1 ORDER BY slot DESC LIMIT 1",
                params![runbook],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        text.map(|t| self.timestamp("slots.slot", &t)).transpose()
    }

    /// Records a slot in `state` unless the slot is already recorded. `true` when this call
    /// created the row: only then may the caller start a drill for it.
    pub fn record_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        state: SlotState,
        trigger: Option<&str>,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .lock()
            .execute(
                "INSERT INTO slots (runbook, slot, state, trigger, recorded_at, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (runbook, slot) DO NOTHING",
                params![
                    runbook,
                    slot_text(slot),
                    state.as_str(),
                    trigger,
                    time_text(now),
                    reason
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Sets the reason a claimed slot carries while it waits (e.g. for a `--max-concurrent`
    /// place), without changing its state. `None` clears it.
    pub fn note_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE slots SET reason = ?3 WHERE runbook = ?1 AND slot = ?2",
                params![runbook, slot_text(slot), reason],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Moves a claimed slot to `running` (its drill has started; a reason noted while it
    /// waited is replaced by `reason`) or to a final state (keeping a noted reason when
    /// `reason` is `None`).
    pub fn update_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = match state {
            SlotState::Running => {
                "UPDATE slots SET state = ?3, started_at = ?5, reason = ?4
                 WHERE runbook = ?1 AND slot = ?2"
            }
            _ => {
                "UPDATE slots SET state = ?3, finished_at = ?5, reason = COALESCE(?4, reason)
                 WHERE runbook = ?1 AND slot = ?2"
            }
        };
        self.lock()
            .execute(
                sql,
                params![
                    runbook,
                    slot_text(slot),
                    state.as_str(),
                    reason,
                    time_text(now)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a finished drill; when it ran for a slot, the slot becomes `done` and points
    /// at it, in the same transaction.
    pub fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.write_run(run, None).map(drop)
    }

    /// [`HistoryStore::record_claimed_run`]: [`SqliteStore::record_run`], fenced by `attempt`.
    pub fn record_claimed_run(&self, run: &RunRecord, attempt: i64) -> Result<Fenced, StoreError> {
        self.write_run(run, Some(attempt))
    }

    fn write_run(&self, run: &RunRecord, attempt: Option<i64>) -> Result<Fenced, StoreError> {
        let mut conn = self.lock();
        let tx = begin_write(&mut conn).map_err(|e| self.err(e))?;
        if let (Some(attempt), Some(slot)) = (attempt, run.slot) {
            let held = tx
                .query_row(
                    "SELECT 1 FROM slots WHERE runbook = ?1 AND slot = ?2
                         AND ((state = 'running' AND attempt = ?3)
                             OR (state = 'done' AND run_id = ?4))",
                    params![run.runbook, slot_text(slot), attempt, run.run_id],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if held.is_none() {
                return Ok(Fenced::LostTheSlot);
            }
        }
        let c = run.coverage.as_ref();
        tx.execute(
            "INSERT OR REPLACE INTO runs (run_id, runbook, mode, slot, started_at, finished_at,
                 outcome, reason, rto_seconds, rpo_seconds, rto_objective_seconds,
                 rpo_objective_seconds, recovery_point, evidence, coverage_within_seconds,
                 coverage_objects, coverage_verified_within, coverage_ratio, coverage_on_pace,
                 coverage_behind_seconds, coverage_never_verified, coverage_oldest_verified,
                 coverage_failed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            params![
                run.run_id,
                run.runbook,
                run.mode,
                run.slot.map(slot_text),
                time_text(run.started_at),
                time_text(run.finished_at),
                run.outcome.as_str(),
                run.reason,
                run.rto_seconds,
                run.rpo_seconds,
                run.rto_objective_seconds.map(|v| v as i64),
                run.rpo_objective_seconds.map(|v| v as i64),
                run.recovery_point,
                run.evidence,
                c.map(|c| c.within_seconds as i64),
                c.map(|c| c.objects as i64),
                c.map(|c| c.verified_within as i64),
                c.map(|c| c.ratio),
                c.map(|c| c.on_pace),
                c.and_then(|c| c.behind_seconds).map(|v| v as i64),
                c.map(|c| c.never_verified as i64),
                c.and_then(|c| c.oldest_verified).map(time_text),
                c.map(|c| c.failed as i64),
            ],
        )
        .map_err(|e| self.err(e))?;
        if let Some(slot) = run.slot {
            tx.execute(
                "UPDATE slots SET state = 'done', run_id = ?3, finished_at = ?4,
                     started_at = COALESCE(started_at, ?5)
                 WHERE runbook = ?1 AND slot = ?2",
                params![
                    run.runbook,
                    slot_text(slot),
                    run.run_id,
                    time_text(run.finished_at),
                    time_text(run.started_at)
                ],
            )
            .map_err(|e| self.err(e))?;
        }
        if let Some(runner) = &run.runner {
            tx.execute(
                "UPDATE runs SET runner = ?2 WHERE run_id = ?1",
                params![run.run_id, runner],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Fenced::Recorded)
    }

    /// [`HistoryStore::unfinished_slots`], on this host's clock (`now`).
    pub fn unfinished_slots(&self, now: Timestamp) -> Result<Vec<UnfinishedSlot>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT runbook, slot, state, trigger, attempt, runner,
                     state = 'running' AND (lease_until IS NULL OR lease_until < ?1)
                 FROM slots WHERE state IN ('recorded', 'running') ORDER BY slot, runbook",
            )
            .map_err(|e| self.err(e))?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<String>,
            bool,
        );
        let rows: Vec<Row> = stmt
            .query_map(params![time_text(now)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        drop(stmt);
        drop(conn);
        rows.into_iter()
            .map(|(runbook, slot, state, trigger, attempt, runner, lapsed)| {
                Ok(UnfinishedSlot {
                    slot: self.timestamp("slots.slot", &slot)?,
                    state: SlotState::parse(&state)
                        .ok_or_else(|| self.bad("slots.state", state))?,
                    runbook,
                    trigger,
                    attempt,
                    runner,
                    lapsed,
                })
            })
            .collect()
    }

    /// [`HistoryStore::claim_slot`]: SQLite serialises writers, so the check and the claim
    /// are one statement; the lease is counted from `now`, this host's clock.
    pub fn claim_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        runner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        self.lock()
            .query_row(
                "UPDATE slots SET state = 'running', runner = ?3, attempt = attempt + 1,
                     lease_until = ?4, started_at = ?5, reason = NULL
                 WHERE runbook = ?1 AND slot = ?2 AND (state = 'recorded'
                     OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?5)))
                 RETURNING attempt",
                params![
                    runbook,
                    slot_text(slot),
                    runner,
                    time_text(lease_end(now, lease)),
                    time_text(now)
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// [`HistoryStore::renew_claim`].
    pub fn renew_claim(
        &self,
        runbook: &str,
        slot: Timestamp,
        attempt: i64,
        lease: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .lock()
            .execute(
                "UPDATE slots SET lease_until = ?4
                 WHERE runbook = ?1 AND slot = ?2 AND attempt = ?3 AND state = 'running'",
                params![
                    runbook,
                    slot_text(slot),
                    attempt,
                    time_text(lease_end(now, lease))
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// [`HistoryStore::close_slot`].
    #[allow(clippy::too_many_arguments)]
    pub fn close_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        attempt: i64,
        holder: bool,
        state: SlotState,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .lock()
            .execute(
                "UPDATE slots SET state = ?4, reason = ?5, finished_at = ?6
                 WHERE runbook = ?1 AND slot = ?2 AND attempt = ?3 AND (state = 'recorded'
                     OR (state = 'running' AND (?7 OR lease_until IS NULL OR lease_until < ?6)))",
                params![
                    runbook,
                    slot_text(slot),
                    attempt,
                    state.as_str(),
                    reason,
                    time_text(now),
                    holder
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Marks every slot still `recorded` or `running` as `abandoned`, returning them. Called
    /// by a daemon as it starts: such a slot belonged to a process that stopped without
    /// finishing it, and is not run again.
    pub fn abandon_unfinished(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let mut conn = self.lock();
        let tx = begin_write(&mut conn).map_err(|e| self.err(e))?;
        let rows: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT runbook, slot FROM slots WHERE state IN ('recorded', 'running')
                     ORDER BY slot",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?
        };
        tx.execute(
            "UPDATE slots SET state = 'abandoned', finished_at = ?1,
                 reason = 'the scheduler stopped before this drill finished'
             WHERE state IN ('recorded', 'running')",
            params![time_text(now)],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        drop(conn);
        rows.into_iter()
            .map(|(rb, slot)| Ok((rb, self.timestamp("slots.slot", &slot)?)))
            .collect()
    }

    /// Every run, and every slot that did not run, oldest first; only `runbook`'s if given.
    pub fn history(&self, runbook: Option<&str>) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT r.run_id, r.runbook, r.mode, r.slot, r.started_at, r.finished_at,
                     r.outcome, r.reason, r.rto_seconds, r.rpo_seconds, r.rto_objective_seconds,
                     r.rpo_objective_seconds, r.recovery_point, r.evidence,
                     s.state, s.trigger, NULL,
                     r.coverage_within_seconds, r.coverage_objects, r.coverage_verified_within,
                     r.coverage_ratio, r.coverage_on_pace, r.coverage_behind_seconds,
                     r.coverage_never_verified, r.coverage_oldest_verified, r.coverage_failed,
                     r.runner
                 FROM runs r LEFT JOIN slots s ON s.runbook = r.runbook AND s.run_id = r.run_id
                 WHERE ?1 IS NULL OR r.runbook = ?1
                 UNION ALL
                 SELECT NULL, s.runbook, NULL, s.slot, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                     NULL, NULL, NULL, s.state, s.trigger, s.reason,
                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, s.runner
                 FROM slots s
                 WHERE s.run_id IS NULL AND (?1 IS NULL OR s.runbook = ?1)",
            )
            .map_err(|e| self.err(e))?;
        type Row = (
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
            Option<f64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<(Row, Option<CoverageRow>, Option<String>)> = stmt
            .query_map(params![runbook], |r| {
                let coverage = match r.get::<_, Option<i64>>(18)? {
                    None => None,
                    Some(objects) => Some(CoverageRow {
                        within_seconds: r.get(17)?,
                        objects,
                        verified_within: r.get(19)?,
                        ratio: r.get(20)?,
                        on_pace: r.get(21)?,
                        behind_seconds: r.get(22)?,
                        never_verified: r.get(23)?,
                        oldest_verified: r.get(24)?,
                        failed: r.get(25)?,
                    }),
                };
                let row = (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                );
                Ok((row, coverage, r.get(26)?))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        drop(stmt);
        drop(conn);
        let mut out = Vec::with_capacity(rows.len());
        for (row, coverage, runner) in rows {
            let (run_id, rb, mode, slot, started, finished, outcome, reason) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
            let slot = slot.map(|s| self.timestamp("slot", &s)).transpose()?;
            let state = row
                .14
                .map(|s| SlotState::parse(&s).ok_or_else(|| self.bad("slots.state", s.clone())))
                .transpose()?;
            let run = match (run_id, started, finished, outcome) {
                (Some(run_id), Some(started), Some(finished), Some(outcome)) => Some(RunRecord {
                    run_id,
                    runbook: rb.clone(),
                    mode: mode.unwrap_or_default(),
                    slot,
                    started_at: self.timestamp("runs.started_at", &started)?,
                    finished_at: self.timestamp("runs.finished_at", &finished)?,
                    outcome: parse_outcome(&outcome)
                        .ok_or_else(|| self.bad("runs.outcome", outcome.clone()))?,
                    reason: reason.clone(),
                    rto_seconds: row.8,
                    rpo_seconds: row.9,
                    rto_objective_seconds: row.10.and_then(|v| u64::try_from(v).ok()),
                    rpo_objective_seconds: row.11.and_then(|v| u64::try_from(v).ok()),
                    recovery_point: row.12,
                    evidence: row.13,
                    coverage: coverage.map(|c| self.coverage(c)).transpose()?,
                    runner,
                }),
                _ => None,
            };
            let at = match (&run, slot) {
                (Some(r), _) => r.started_at,
                (None, Some(s)) => s,
                (None, None) => continue,
            };
            out.push(HistoryEntry {
                runbook: rb,
                slot,
                state: if run.is_some() && state.is_none() && slot.is_some() {
                    Some(SlotState::Done)
                } else {
                    state
                },
                trigger: row.15,
                reason: run.as_ref().map_or(row.16, |r| r.reason.clone()),
                run,
                at,
            });
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.runbook.cmp(&b.runbook)));
        Ok(out)
    }

    fn coverage(&self, c: CoverageRow) -> Result<RunCoverage, StoreError> {
        let count = |column: &'static str, v: i64| {
            u64::try_from(v).map_err(|_| self.bad(column, v.to_string()))
        };
        Ok(RunCoverage {
            within_seconds: count("runs.coverage_within_seconds", c.within_seconds)?,
            objects: count("runs.coverage_objects", c.objects)?,
            verified_within: count("runs.coverage_verified_within", c.verified_within)?,
            // SQLite keeps a NaN as NULL: read it back as the NaN it was, not as an error
            // that would hide the whole history.
            ratio: c.ratio.unwrap_or(f64::NAN),
            on_pace: c.on_pace,
            behind_seconds: c
                .behind_seconds
                .map(|v| count("runs.coverage_behind_seconds", v))
                .transpose()?,
            never_verified: count("runs.coverage_never_verified", c.never_verified)?,
            oldest_verified: c
                .oldest_verified
                .map(|t| self.timestamp("runs.coverage_oldest_verified", &t))
                .transpose()?,
            failed: count("runs.coverage_failed", c.failed)?,
        })
    }

    /// `runbook`'s coverage ledger: every object it keeps, and the T0s of its most recent
    /// coverage phases, newest first. O(ledger): for `lifeboat plan`'s preview and tests; a
    /// drill plans through [`plan_coverage`](SqliteStore::plan_coverage).
    pub fn coverage_ledger(&self, runbook: &str) -> Result<Ledger, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT point, path, size, tag, first_seen, verified_at, outcome, algorithm,
                     digest, 0
                 FROM coverage_objects WHERE runbook = ?1",
            )
            .map_err(|e| self.err(e))?;
        let raw: Vec<(RawRow, i64)> = stmt
            .query_map(params![runbook], raw_row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        let rows = raw
            .into_iter()
            .map(|(raw, _)| self.ledger_row(raw))
            .collect::<Result<_, _>>()?;
        let (phases, first_phase) = self.phases(&conn, runbook)?;
        Ok(Ledger {
            rows,
            phases,
            first_phase,
        })
    }

    /// `runbook`'s retained points, each with its listing's fingerprint.
    pub fn coverage_points(&self, runbook: &str) -> Result<Vec<PointListing>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT point, fingerprint FROM coverage_points WHERE runbook = ?1")
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![runbook], |r| {
            Ok(PointListing {
                point: r.get(0)?,
                fingerprint: r.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Stages one point's whole listing, in one transaction: the listing goes to a staging
    /// table, one `DELETE` drops the point's objects no longer listed or whose identity
    /// changed, one `INSERT ... SELECT` adds the new and changed ones (never verified, first
    /// listed at `t0`), and the point's fingerprint, object count and bytes are kept.
    /// Objects of another point in `objects` are ignored; a path listed twice is one object,
    /// as first listed.
    pub fn stage_coverage(
        &self,
        runbook: &str,
        t0: Timestamp,
        listing: &PointListing,
        objects: &[Listed],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = begin_write(&mut conn).map_err(|e| self.err(e))?;
        let point = listing.point.as_str();
        let known: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM coverage_objects WHERE runbook = ?1 AND point = ?2)",
                params![runbook, point],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !known {
            self.stage_new_point(&tx, runbook, t0, listing, objects)?;
            return tx.commit().map_err(|e| self.err(e));
        }
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS coverage_stage (
                 path TEXT PRIMARY KEY,
                 size INTEGER NOT NULL,
                 tag TEXT NOT NULL,
                 tie INTEGER NOT NULL
             );
             DELETE FROM coverage_stage;",
        )
        .map_err(|e| self.err(e))?;
        {
            let mut stage = tx
                .prepare_cached(
                    "INSERT INTO coverage_stage (path, size, tag, tie) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (path) DO NOTHING",
                )
                .map_err(|e| self.err(e))?;
            for o in objects.iter().filter(|o| o.key.point == point) {
                stage
                    .execute(params![
                        o.key.path,
                        i64::try_from(o.identity.size).unwrap_or(i64::MAX),
                        o.identity.tag,
                        coverage::key_hash(&o.key),
                    ])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.execute(
            "DELETE FROM coverage_objects WHERE runbook = ?1 AND point = ?2 AND NOT EXISTS
                 (SELECT 1 FROM coverage_stage s WHERE s.path = coverage_objects.path
                      AND s.size = coverage_objects.size AND s.tag = coverage_objects.tag)",
            params![runbook, point],
        )
        .map_err(|e| self.err(e))?;
        // In the clustered key's order: a new point's rows are appended to its range.
        let added = tx
            .execute(
                "INSERT INTO coverage_objects
                     (runbook, point, path, size, tag, first_seen, tie, turn)
                 SELECT ?1, ?2, s.path, s.size, s.tag, ?3, s.tie, '' FROM coverage_stage s
                 WHERE s.path NOT IN (SELECT o.path FROM coverage_objects o
                                      WHERE o.runbook = ?1 AND o.point = ?2)
                 ORDER BY s.tie, s.path",
                params![runbook, point, time_text(t0)],
            )
            .map_err(|e| self.err(e))?;
        // `WHERE true`: SQLite needs a WHERE to parse an upsert from a SELECT.
        tx.execute(
            &format!(
                "INSERT INTO coverage_points
                     (runbook, point, fingerprint, objects, bytes, newest_listed)
                 SELECT ?1, ?2, ?3, COUNT(*), COALESCE(SUM(size), 0), ?4
                 FROM coverage_stage WHERE true
                 ON CONFLICT (runbook, point) DO UPDATE SET {POINT_STAGED}"
            ),
            params![
                runbook,
                point,
                listing.fingerprint,
                (added > 0).then(|| time_text(t0))
            ],
        )
        .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM coverage_stage", [])
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// [`stage_coverage`](SqliteStore::stage_coverage) of a point the ledger holds no object
    /// of (a new recovery point, most days): nothing to drop or compare, so its listing goes
    /// straight into the ledger, sorted here into the clustered key's order and appended,
    /// without the staging table, its sort and a probe per object. The same rows as the
    /// staging path: a path listed twice is one object, as first listed.
    fn stage_new_point(
        &self,
        tx: &rusqlite::Transaction<'_>,
        runbook: &str,
        t0: Timestamp,
        listing: &PointListing,
        objects: &[Listed],
    ) -> Result<(), StoreError> {
        let point = listing.point.as_str();
        let mut seen = std::collections::HashSet::new();
        let mut rows: Vec<(i64, &Listed)> = objects
            .iter()
            .filter(|o| o.key.point == point && seen.insert(o.key.path.as_str()))
            .map(|o| (coverage::key_hash(&o.key), o))
            .collect();
        drop(seen);
        rows.sort_unstable_by(|(ta, a), (tb, b)| (ta, &a.key.path).cmp(&(tb, &b.key.path)));
        let first_seen = time_text(t0);
        let mut bytes: i64 = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO coverage_objects
                         (runbook, point, path, size, tag, first_seen, tie, turn)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '')",
                )
                .map_err(|e| self.err(e))?;
            for (tie, o) in &rows {
                let size = i64::try_from(o.identity.size).unwrap_or(i64::MAX);
                // As the staging path's `SUM` refuses it: a listing's sizes are the storage's.
                bytes = bytes.checked_add(size).ok_or_else(|| {
                    self.err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                        Some("integer overflow".to_owned()),
                    ))
                })?;
                insert
                    .execute(params![
                        runbook,
                        point,
                        o.key.path,
                        size,
                        o.identity.tag,
                        first_seen,
                        tie
                    ])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.execute(
            &format!(
                "INSERT INTO coverage_points
                     (runbook, point, fingerprint, objects, bytes, newest_listed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (runbook, point) DO UPDATE SET {POINT_STAGED}"
            ),
            params![
                runbook,
                point,
                listing.fingerprint,
                i64::try_from(rows.len()).unwrap_or(i64::MAX),
                bytes,
                (!rows.is_empty()).then_some(first_seen.as_str())
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Keeps only `points` of `runbook`'s ledger: each other point leaves it whole, one
    /// `DELETE` a point, in one transaction.
    pub fn retain_coverage(&self, runbook: &str, points: &[String]) -> Result<(), StoreError> {
        let keep: std::collections::HashSet<&str> = points.iter().map(String::as_str).collect();
        let mut conn = self.lock();
        let tx = begin_write(&mut conn).map_err(|e| self.err(e))?;
        let known: Vec<String> = tx
            .prepare("SELECT DISTINCT point FROM coverage_points WHERE runbook = ?1")
            .and_then(|mut stmt| {
                stmt.query_map(params![runbook], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| self.err(e))?;
        for gone in known.iter().filter(|p| !keep.contains(p.as_str())) {
            for sql in [
                "DELETE FROM coverage_objects WHERE runbook = ?1 AND point = ?2",
                "DELETE FROM coverage_points WHERE runbook = ?1 AND point = ?2",
            ] {
                tx.execute(sql, params![runbook, gone])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Plans `runbook`'s next phase over its ledger as staged, following the rules of
    /// [`lifeboat_core::coverage`] (and equal to [`MemoryLedger::plan`], which its tests
    /// check on random ledgers) without reading the ledger whole: totals come from the
    /// points, counts from ranges of each point, and the objects are read in the planner's
    /// order from the clustered ledger, each point's range merged (`walk_turn`) — those
    /// due at once, then the never-verified backlog, then each instant of last
    /// verification, oldest first; in each, key hashes from the seed's start, then below
    /// it — stopping where the pace is met. Memory and time follow what the phase reads,
    /// plus the objects due at once.
    ///
    /// [`MemoryLedger::plan`]: lifeboat_core::coverage::MemoryLedger::plan
    pub fn plan_coverage(&self, runbook: &str, q: &PhaseQuery) -> Result<Selection, StoreError> {
        let mut conn = self.lock();
        // One read transaction: the counts and the rows agree.
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let (phases, first_phase) = self.phases(&tx, runbook)?;
        let interval = coverage::interval(&phases, q.t0, q.schedule);
        let started = first_phase.unwrap_or(q.t0).min(q.t0);
        let (objects, total_bytes) = totals(&tx, runbook).map_err(|e| self.err(e))?;
        let total_bytes = u64::try_from(total_bytes).unwrap_or(0);
        let pace = Pace::new(
            u64::try_from(objects).unwrap_or(0),
            total_bytes,
            q.within,
            interval.0,
            q.t0,
        );
        let within = SignedDuration::try_from(q.within).unwrap_or_default();
        let points = ledger_points(&tx, runbook).map_err(|e| self.err(e))?;
        let count = |sql: &str, at: &str| {
            count_points(&tx, sql, runbook, &points, at).map_err(|e| self.err(e))
        };
        let never = count(NEVER_VERIFIED, "")?;
        // Verified objects overdue by the next drill: verified before `next - within`.
        let overdue = match pace.next.checked_sub(within) {
            Ok(cutoff) => count(VERIFIED_BEFORE, &time_text(cutoff))?,
            Err(_) => 0,
        };

        // Due at once (every one needed): appeared since coverage started, never verified.
        // Of each only what the walk keeps: its key hash, key and size. Only points that
        // brought objects since coverage started can hold one: the head of each such point's
        // range (turn '', never verified) is read, not the whole ledger's never-verified.
        let due: Vec<Due> = {
            let since = time_text(started);
            let bringing: Vec<String> = tx
                .prepare(
                    "SELECT point FROM coverage_points WHERE runbook = ?1
                         AND (newest_listed IS NULL OR newest_listed > ?2)
                     ORDER BY point",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![runbook, since], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()
                })
                .map_err(|e| self.err(e))?;
            let mut stmt = tx
                .prepare(
                    "SELECT tie, path, size FROM coverage_objects
                     WHERE runbook = ?1 AND point = ?2 AND turn = '' AND first_seen > ?3",
                )
                .map_err(|e| self.err(e))?;
            let mut due = Vec::new();
            for point in bringing {
                let raw: Vec<(i64, String, i64)> = stmt
                    .query_map(params![runbook, point, since], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .and_then(|rows| rows.collect())
                    .map_err(|e| self.err(e))?;
                for (tie, path, size) in raw {
                    due.push(Due {
                        tie,
                        key: ObjectKey {
                            point: point.clone(),
                            path,
                        },
                        size: u64::try_from(size)
                            .map_err(|_| self.bad("coverage_objects.size", size.to_string()))?,
                    });
                }
            }
            due
        };
        let (mut walk, mut going) = Walk::start(&pace, q, started, never, overdue, due);
        let start = coverage::seed_start(q.seed);
        let started = time_text(started);
        // The never-verified backlog (turn ''), then each instant of last verification.
        let mut turn = Some(String::new());
        while going {
            let Some(at) = turn else { break };
            going = self.walk_turn(&tx, runbook, &points, &at, &started, start, &mut walk)?;
            turn = next_turn(&tx, runbook, &points, &at).map_err(|e| self.err(e))?;
        }
        Ok(walk.finish(q.budget, total_bytes, interval))
    }

    /// Walks one turn of the planner's order (`turn`: '' for the never-verified backlog listed
    /// by `started`, else an instant of last verification): key hashes from `start` up, then
    /// below it; of equal hashes, by point, then path. Each point's rows come in that order
    /// from the head of its range of the clustered key, and the points' streams are merged,
    /// so nothing is sorted and nothing is read past where the walk stops. `false` when the
    /// pace is met.
    #[allow(clippy::too_many_arguments)]
    fn walk_turn(
        &self,
        tx: &rusqlite::Transaction<'_>,
        runbook: &str,
        points: &[String],
        turn: &str,
        started: &str,
        start: i64,
        walk: &mut Walk,
    ) -> Result<bool, StoreError> {
        // Every row of a turn was last verified at the turn: its instant is read once, and
        // of each row only what the walk keeps (no tag, digest or first-listed time).
        let at = match turn {
            "" => None,
            t => Some(self.timestamp("coverage_objects.verified_at", t)?),
        };
        for range in ["tie >= ?4", "tie < ?4"] {
            let sql = format!(
                "SELECT tie, path, size, outcome, algorithm FROM coverage_objects
                 WHERE runbook = ?1 AND point = ?2 AND turn = ?3 AND {range}
                     AND (?3 <> '' OR first_seen <= ?5)
                 ORDER BY tie, path"
            );
            let mut statements = points
                .iter()
                .map(|_| tx.prepare(&sql))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))?;
            let mut streams = statements
                .iter_mut()
                .zip(points)
                .map(|(stmt, point)| stmt.query(params![runbook, point, turn, start, started]))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))?;
            // The head of each point's stream, by (key hash, point): the points are in
            // order, so a stream's index orders equal hashes as their points do.
            let mut heads = std::collections::BinaryHeap::new();
            let mut rows: Vec<Option<WalkRow>> = Vec::with_capacity(points.len());
            for (i, stream) in streams.iter_mut().enumerate() {
                let head = match stream.next().map_err(|e| self.err(e))? {
                    Some(r) => Some(self.walk_row(r, at)?),
                    None => None,
                };
                if let Some(row) = &head {
                    heads.push(std::cmp::Reverse((row.tie, i)));
                }
                rows.push(head);
            }
            while let Some(std::cmp::Reverse((_, i))) = heads.pop() {
                let Some(row) = rows[i].take() else { continue };
                if !walk.take_object(&points[i], row.path, row.size, row.last) {
                    return Ok(false);
                }
                if let Some(r) = streams[i].next().map_err(|e| self.err(e))? {
                    let row = self.walk_row(r, at)?;
                    heads.push(std::cmp::Reverse((row.tie, i)));
                    rows[i] = Some(row);
                }
            }
        }
        Ok(true)
    }

    /// A row of [`walk_turn`](SqliteStore::walk_turn)'s statement (`tie, path, size,
    /// outcome, algorithm`), checked as [`ledger_row`](SqliteStore::ledger_row) checks it,
    /// its turn last verified at `at` (`None`: never).
    fn walk_row(
        &self,
        r: &rusqlite::Row<'_>,
        at: Option<Timestamp>,
    ) -> Result<WalkRow, StoreError> {
        let text = |i: usize| -> Result<Option<&str>, StoreError> {
            r.get_ref(i)
                .and_then(|v| {
                    v.as_str_or_null().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e))
                    })
                })
                .map_err(|e| self.err(e))
        };
        let size: i64 = r.get(2).map_err(|e| self.err(e))?;
        let last = match (at, text(3)?, text(4)?) {
            (Some(at), Some(outcome), Some(algorithm)) => Some(LastVerified {
                at,
                outcome: parse_outcome(outcome)
                    .ok_or_else(|| self.bad("coverage_objects.outcome", outcome.to_owned()))?,
                algorithm: algorithm
                    .parse()
                    .map_err(|_| self.bad("coverage_objects.algorithm", algorithm.to_owned()))?,
            }),
            _ => None,
        };
        Ok(WalkRow {
            tie: r.get(0).map_err(|e| self.err(e))?,
            path: r.get(1).map_err(|e| self.err(e))?,
            size: u64::try_from(size)
                .map_err(|_| self.bad("coverage_objects.size", size.to_string()))?,
            last,
        })
    }

    /// Keeps a phase's verifications and its T0, in one transaction: a drill killed before
    /// it leaves the ledger's verifications as they were.
    pub fn record_coverage(&self, runbook: &str, record: &PhaseRecord) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = begin_write(&mut conn).map_err(|e| self.err(e))?;
        // One prepared UPDATE per object, each row found by its primary key: its point, the
        // turn the plan found it in (the record's hint), its key hash and path; the objects
        // in that order, so rows are visited in file order. There is no index by name to
        // keep (migration 8): an object whose hint is missing or stale is looked for in
        // each of its point's turns, one descent each. Not PostgreSQL's one statement a
        // batch: measured on a 1 M-object ledger (benches/README.md), staging a batch in a
        // temporary table and applying it with one `UPDATE ... FROM` was slower than row by
        // row: in process, a statement costs no round trip.
        {
            let mut verify = tx
                .prepare_cached(
                    "UPDATE coverage_objects SET verified_at = ?6, turn = ?6, outcome = ?7,
                         algorithm = ?8, digest = ?9
                     WHERE runbook = ?1 AND point = ?2 AND turn = ?3 AND tie = ?4 AND path = ?5",
                )
                .map_err(|e| self.err(e))?;
            // Each point's turns, found the first time an object of it is not where its
            // hint says.
            let mut turns: std::collections::HashMap<&str, Vec<String>> =
                std::collections::HashMap::new();
            for (i, tie) in hinted_verifications(record) {
                let (key, v) = &record.verified[i];
                let hint = record
                    .last_verified
                    .get(i)
                    .map(|at| at.map(time_text).unwrap_or_default());
                let at = time_text(v.at);
                let mut update = |turn: &str| {
                    verify.execute(params![
                        runbook,
                        key.point,
                        turn,
                        tie,
                        key.path,
                        at,
                        v.outcome.as_str(),
                        v.algorithm.as_str(),
                        v.digest.as_deref(),
                    ])
                };
                let found = match &hint {
                    Some(turn) => update(turn).map_err(|e| self.err(e))? > 0,
                    None => false,
                };
                if found {
                    continue;
                }
                let known = match turns.entry(key.point.as_str()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(point_turns(&tx, runbook, &key.point).map_err(|e| self.err(e))?)
                    }
                };
                for turn in known.iter().filter(|t| Some(*t) != hint.as_ref()) {
                    if update(turn).map_err(|e| self.err(e))? > 0 {
                        break;
                    }
                }
            }
        }
        if let Some(t0) = record.phase {
            tx.execute(
                "INSERT OR REPLACE INTO coverage_phases (runbook, run_id, t0) VALUES (?1, ?2, ?3)",
                params![runbook, record.run_id, time_text(t0)],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Where `runbook`'s coverage stands at `t0` with `within`, from aggregates: totals from
    /// the points, and index ranges over the few objects that are not fresh passes (never
    /// verified, verified before the window, failed within it).
    pub fn coverage_standing(
        &self,
        runbook: &str,
        t0: Timestamp,
        within: std::time::Duration,
    ) -> Result<Standing, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let (objects, bytes) = totals(&tx, runbook).map_err(|e| self.err(e))?;
        let fresh_from = lifeboat_core::coverage::fresh_from(t0, within);
        let points = ledger_points(&tx, runbook).map_err(|e| self.err(e))?;
        let per_point = |sql: &str, at: &str| {
            count_points(&tx, sql, runbook, &points, at).map_err(|e| self.err(e))
        };
        let never = per_point(NEVER_VERIFIED, "")?;
        let stale = per_point(VERIFIED_BEFORE, &time_text(fresh_from))?;
        let failed = count(
            &tx,
            "SELECT COUNT(*) FROM coverage_objects
             WHERE runbook = ?1 AND outcome = 'failed' AND verified_at >= ?2",
            runbook,
            Some(time_text(fresh_from)),
        )
        .map_err(|e| self.err(e))?;
        let oldest = next_turn(&tx, runbook, &points, "").map_err(|e| self.err(e))?;
        let objects = u64::try_from(objects).unwrap_or(0);
        Ok(Standing {
            objects,
            bytes: u64::try_from(bytes).unwrap_or(0),
            verified_within: objects
                .saturating_sub(never)
                .saturating_sub(stale)
                .saturating_sub(failed),
            never_verified: never,
            oldest_verified: oldest
                .map(|t| self.timestamp("coverage_objects.verified_at", &t))
                .transpose()?,
        })
    }

    /// The T0s of `runbook`'s most recent phases, newest first, and of its first.
    fn phases(
        &self,
        conn: &Connection,
        runbook: &str,
    ) -> Result<(Vec<Timestamp>, Option<Timestamp>), StoreError> {
        let mut stmt = conn
            .prepare_cached(
                "SELECT t0 FROM coverage_phases WHERE runbook = ?1 ORDER BY t0 DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let phases: Vec<String> = stmt
            .query_map(params![runbook, PACE_PHASES as i64], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        let phases = phases
            .iter()
            .map(|t| self.timestamp("coverage_phases.t0", t))
            .collect::<Result<_, _>>()?;
        let first: Option<String> = conn
            .query_row(
                "SELECT MIN(t0) FROM coverage_phases WHERE runbook = ?1",
                params![runbook],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let first = first
            .map(|t| self.timestamp("coverage_phases.t0", &t))
            .transpose()?;
        Ok((phases, first))
    }

    /// A ledger row as read, checked.
    fn ledger_row(&self, raw: RawRow) -> Result<LedgerRow, StoreError> {
        let (point, path, size, tag, first_seen, verified_at, outcome, algorithm, digest) = raw;
        let verified = match (verified_at, outcome, algorithm) {
            (Some(at), Some(outcome), Some(algorithm)) => Some(Verification {
                at: self.timestamp("coverage_objects.verified_at", &at)?,
                outcome: parse_outcome(&outcome)
                    .ok_or_else(|| self.bad("coverage_objects.outcome", outcome.clone()))?,
                algorithm: algorithm
                    .parse()
                    .map_err(|_| self.bad("coverage_objects.algorithm", algorithm.clone()))?,
                digest,
            }),
            _ => None,
        };
        Ok(LedgerRow {
            key: ObjectKey { point, path },
            identity: Identity {
                size: u64::try_from(size)
                    .map_err(|_| self.bad("coverage_objects.size", size.to_string()))?,
                tag,
            },
            first_seen: self.timestamp("coverage_objects.first_seen", &first_seen)?,
            verified,
        })
    }

    fn timestamp(&self, column: &'static str, text: &str) -> Result<Timestamp, StoreError> {
        text.parse().map_err(|_| self.bad(column, text.to_owned()))
    }

    fn bad(&self, column: &'static str, value: String) -> StoreError {
        StoreError::BadValue {
            path: self.path.clone(),
            column,
            value,
        }
    }
}

/// Each future is ready at once: SQLite's statements are short, and run where they are
/// awaited, as they did before there was a trait (a busy file is waited for up to
/// [`BUSY_TIMEOUT`]).
impl HistoryStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn last_slot<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Option<Timestamp>> {
        Box::pin(std::future::ready(SqliteStore::last_slot(self, runbook)))
    }

    fn record_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        trigger: Option<&'a str>,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(SqliteStore::record_slot(
            self, runbook, slot, state, trigger, reason, now,
        )))
    }

    fn note_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        reason: Option<&'a str>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::note_slot(
            self, runbook, slot, reason,
        )))
    }

    fn update_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::update_slot(
            self, runbook, slot, state, reason, now,
        )))
    }

    fn record_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::record_run(self, run)))
    }

    fn abandon_unfinished(&self, now: Timestamp) -> StoreFuture<'_, Vec<(String, Timestamp)>> {
        Box::pin(std::future::ready(SqliteStore::abandon_unfinished(
            self, now,
        )))
    }

    fn history<'a>(&'a self, runbook: Option<&'a str>) -> StoreFuture<'a, Vec<HistoryEntry>> {
        Box::pin(std::future::ready(SqliteStore::history(self, runbook)))
    }

    fn unfinished_slots(&self, now: Timestamp) -> StoreFuture<'_, Vec<UnfinishedSlot>> {
        Box::pin(std::future::ready(SqliteStore::unfinished_slots(self, now)))
    }

    fn claim_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        runner: &'a str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(std::future::ready(SqliteStore::claim_slot(
            self, runbook, slot, runner, lease, now,
        )))
    }

    fn renew_claim<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        lease: Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(SqliteStore::renew_claim(
            self, runbook, slot, attempt, lease, now,
        )))
    }

    fn record_claimed_run<'a>(
        &'a self,
        run: &'a RunRecord,
        attempt: i64,
    ) -> StoreFuture<'a, Fenced> {
        Box::pin(std::future::ready(SqliteStore::record_claimed_run(
            self, run, attempt,
        )))
    }

    fn close_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        holder: bool,
        state: SlotState,
        reason: &'a str,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(SqliteStore::close_slot(
            self, runbook, slot, attempt, holder, state, reason, now,
        )))
    }

    fn coverage_ledger<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Ledger> {
        Box::pin(std::future::ready(SqliteStore::coverage_ledger(
            self, runbook,
        )))
    }

    fn coverage_points<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Vec<PointListing>> {
        Box::pin(std::future::ready(SqliteStore::coverage_points(
            self, runbook,
        )))
    }

    fn stage_coverage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::stage_coverage(
            self, runbook, t0, listing, objects,
        )))
    }

    fn retain_coverage<'a>(
        &'a self,
        runbook: &'a str,
        points: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::retain_coverage(
            self, runbook, points,
        )))
    }

    fn plan_coverage<'a>(
        &'a self,
        runbook: &'a str,
        query: &'a PhaseQuery,
    ) -> StoreFuture<'a, Selection> {
        Box::pin(std::future::ready(SqliteStore::plan_coverage(
            self, runbook, query,
        )))
    }

    fn record_coverage<'a>(
        &'a self,
        runbook: &'a str,
        record: &'a PhaseRecord,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(SqliteStore::record_coverage(
            self, runbook, record,
        )))
    }

    fn coverage_standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: std::time::Duration,
    ) -> StoreFuture<'a, Standing> {
        Box::pin(std::future::ready(SqliteStore::coverage_standing(
            self, runbook, t0, within,
        )))
    }
}

/// `runbook`'s objects and stored bytes in all, from its points' totals.
fn totals(tx: &rusqlite::Transaction<'_>, runbook: &str) -> rusqlite::Result<(i64, i64)> {
    tx.query_row(
        "SELECT COALESCE(SUM(objects), 0), COALESCE(SUM(bytes), 0) FROM coverage_points
         WHERE runbook = ?1",
        params![runbook],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// A point's objects never verified (`?3` is '').
const NEVER_VERIFIED: &str = "SELECT COUNT(*) FROM coverage_objects
     WHERE runbook = ?1 AND point = ?2 AND turn = ?3";

/// A point's objects last verified before `?3`.
const VERIFIED_BEFORE: &str = "SELECT COUNT(*) FROM coverage_objects
     WHERE runbook = ?1 AND point = ?2 AND turn > '' AND turn < ?3";

/// `runbook`'s retained points, in byte order (SQLite's `BINARY` collation, as Rust orders
/// strings): the ledger is clustered by point, so what spans the runbook is asked of each.
fn ledger_points(tx: &rusqlite::Transaction<'_>, runbook: &str) -> rusqlite::Result<Vec<String>> {
    tx.prepare_cached("SELECT point FROM coverage_points WHERE runbook = ?1 ORDER BY point")?
        .query_map(params![runbook], |r| r.get(0))?
        .collect()
}

/// The sum over `points` of the count `sql` gives for `runbook` (`?1`), the point (`?2`)
/// and `at` (`?3`): each a range of the clustered key.
fn count_points(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    runbook: &str,
    points: &[String],
    at: &str,
) -> rusqlite::Result<u64> {
    let mut stmt = tx.prepare_cached(sql)?;
    let mut total = 0u64;
    for point in points {
        let n: i64 = stmt.query_row(params![runbook, point, at], |r| r.get(0))?;
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// A phase's verifications in the order its record visits rows: one per object (of a key
/// recorded twice, the last in the record), sorted by point, hint
/// ([`PhaseRecord::last_verified`]), key hash and path — the clustered key of the row each
/// hints at. Each is an index into the record and its key hash: 16 bytes (a lagging phase
/// at 10 M objects records ~1.9 M).
fn hinted_verifications(record: &PhaseRecord) -> Vec<(usize, i64)> {
    let mut last: Vec<(usize, i64)> = super::last_verifications(record)
        .into_iter()
        .map(|i| (i, coverage::key_hash(&record.verified[i].0)))
        .collect();
    let hint = |i: usize| record.last_verified.get(i).copied();
    last.sort_by(|&(a, ta), &(b, tb)| {
        let (ka, kb) = (&record.verified[a].0, &record.verified[b].0);
        (&ka.point, hint(a), ta, &ka.path).cmp(&(&kb.point, hint(b), tb, &kb.path))
    });
    last
}

/// Every turn of `point` in `runbook`'s ledger: '' (never verified) and each instant of
/// last verification, one descent each.
fn point_turns(
    tx: &rusqlite::Transaction<'_>,
    runbook: &str,
    point: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut turns = vec![String::new()];
    while let Some(next) = next_turn(tx, runbook, &[point.to_owned()], turns.last().expect("one"))?
    {
        turns.push(next);
    }
    Ok(turns)
}

/// The least instant of last verification after `after` ('' for the oldest) over `points`:
/// one descent into each point's range.
fn next_turn(
    tx: &rusqlite::Transaction<'_>,
    runbook: &str,
    points: &[String],
    after: &str,
) -> rusqlite::Result<Option<String>> {
    let mut stmt = tx.prepare_cached(
        "SELECT MIN(turn) FROM coverage_objects WHERE runbook = ?1 AND point = ?2 AND turn > ?3",
    )?;
    let mut least: Option<String> = None;
    for point in points {
        let turn: Option<String> = stmt.query_row(params![runbook, point, after], |r| r.get(0))?;
        if let Some(t) = turn
            && least.as_ref().is_none_or(|l| t < *l)
        {
            least = Some(t);
        }
    }
    Ok(least)
}

/// The count `sql` gives for `runbook` (`?1`) and, when given, the instant `at` (`?2`).
fn count(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    runbook: &str,
    at: Option<String>,
) -> rusqlite::Result<u64> {
    let n: i64 = match at {
        Some(at) => tx.query_row(sql, params![runbook, at], |r| r.get(0)),
        None => tx.query_row(sql, params![runbook], |r| r.get(0)),
    }?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A run's coverage columns as SQLite holds them, before they are checked.
struct CoverageRow {
    within_seconds: i64,
    objects: i64,
    verified_within: i64,
    ratio: Option<f64>,
    on_pace: bool,
    behind_seconds: Option<i64>,
    never_verified: i64,
    oldest_verified: Option<String>,
    failed: i64,
}

/// What the planner's walk reads of a ledger row: its key hash, path, size and last
/// verification (its point is its stream's).
struct WalkRow {
    tie: i64,
    path: String,
    size: u64,
    last: Option<LastVerified>,
}

/// A ledger row as SQLite holds it, before it is checked.
type RawRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A ledger row and its key hash, from the columns `point, path, size, tag, first_seen,
/// verified_at, outcome, algorithm, digest, tie`.
fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(RawRow, i64)> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ),
        r.get(9)?,
    ))
}

fn parse_outcome(s: &str) -> Option<Outcome> {
    [Outcome::Passed, Outcome::Failed, Outcome::Error]
        .into_iter()
        .find(|o| o.as_str() == s)
}

fn sql_err(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

/// Fills the key hash of ledger rows written before it was kept (migration 4): a hash SQL
/// cannot compute. Nothing to do on a ledger written since.
fn fill_ties(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let keys: Vec<(String, String, String)> = tx
        .prepare("SELECT runbook, point, path FROM coverage_objects WHERE tie IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut fill = tx.prepare(
        "UPDATE coverage_objects SET tie = ?4 WHERE runbook = ?1 AND point = ?2 AND path = ?3",
    )?;
    for (runbook, point, path) in keys {
        let key = ObjectKey { point, path };
        let tie = coverage::key_hash(&key);
        fill.execute(params![runbook, key.point, key.path, tie])?;
    }
    Ok(())
}

/// Begins a transaction that will write, taking the write lock first (BEGIN IMMEDIATE), so
/// SQLite's busy handler waits out another process's write. A deferred transaction that
/// reads and then writes cannot wait: when another connection holds the lock at the moment
/// it upgrades, SQLite answers "database is locked" at once.
/// When a lease taken or renewed at `now` for `lease` lapses.
pub(crate) fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    let lease = jiff::SignedDuration::try_from(lease).unwrap_or(jiff::SignedDuration::MAX);
    now.saturating_add(lease).unwrap_or(Timestamp::MAX)
}

fn begin_write(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

#[cfg(test)]
mod tests;
