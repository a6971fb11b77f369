//! The history in PostgreSQL (`--state postgres://USER@HOST:PORT/DB`): the [`HistoryStore`]
//! several runners can share.
//!
//! The same tables, columns and statements as the SQLite store ([`super::sqlite`]), translated
//! and no more, so that a change to one is ported to the other line by line: a slot is recorded
//! by inserting it under the unique `(runbook, slot)` key (`ON CONFLICT DO NOTHING`) and
//! claimed `FOR UPDATE SKIP LOCKED` under a lease on the database's clock; a run and its slot
//! are written in one transaction, fenced by the claim's attempt. Times are kept as the SQLite store keeps them, RFC
//! 3339 UTC text of a fixed width (slots in whole seconds, the rest in nanoseconds), not as
//! `timestamptz`: PostgreSQL's timestamps hold microseconds, and the history must give back
//! the evidence's nanosecond instants exactly; fixed-width text sorts as time does.
//!
//! The schema is versioned in `lifeboat_schema` (one row: the number of [`MIGRATIONS`]
//! applied, which counts as SQLite's `user_version` does). It is created and migrated on first
//! use in one transaction that first takes a transaction-level advisory lock, so two runners
//! starting at once do not both apply a migration (the second waits, then finds the schema
//! current), and a transaction lock, unlike a session one, works behind a PgBouncer in
//! transaction mode. A newer schema is refused.
//!
//! One connection behind an async mutex, driven by a thread of the store's own (the store is
//! opened outside any runtime and used from several); a connection found closed (the server
//! restarted) is opened again at the next statement. Connecting gives up after
//! [`CONNECT_TIMEOUT`], naming host and port, never the password.

use std::time::Duration;

use jiff::SignedDuration;
use jiff::Timestamp;
use lifeboat_core::coverage::{
    self, Identity, Ledger, LedgerRow, Listed, ObjectKey, PACE_PHASES, Pace, PhaseQuery,
    PhaseRecord, PointListing, Selection, Standing, Verification,
};
use lifeboat_core::evidence::Outcome;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Transaction};

use super::{
    Due, Fenced, HistoryEntry, HistoryStore, POINT_STAGED, RunCoverage, RunRecord, SlotState,
    StoreError, StoreFuture, UnfinishedSlot, Walk,
};

pub mod target;

pub use target::{Target, TargetError, is_postgres_url};

/// How long connecting to the server may take before the store says it cannot be reached
/// (the TCP connection; the whole handshake gets twice as long).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` (a future of `Result<_, tokio_postgres::Error>` using the connection `$c`)
/// on the store's connection; when it fails because the server ended the connection (a
/// restart, a failover, `pg_terminate_backend`), once more on a new one. Each body is one
/// statement or one transaction, and safe to run twice: a transaction that failed was rolled
/// back; one whose commit was lost with the connection wrote what the second run writes again
/// (upserts), or, for a slot's claim, makes the second run find the slot taken, so that slot is
/// not drilled (never drilled twice).
macro_rules! on_connection {
    ($store:ident, $doing:expr, |$c:ident| $body:expr) => {{
        let mut guard = $store.connected().await?;
        let mut again = false;
        loop {
            let $c: &mut Client = guard.as_mut().expect("connected");
            match $body.await {
                Ok(v) => break Ok(v),
                Err(e) if !again && connection_lost(&e, $c) => {
                    again = true;
                    tracing::debug!(
                        "history store {}: the connection was lost ({}); connecting again",
                        $store.target,
                        described(&e)
                    );
                    *guard = Some($store.connect().await?);
                }
                Err(e) => break Err($store.db($doing, &e)),
            }
        }
    }};
}

/// The advisory lock a migration holds: "lifeboat" in ASCII.
const MIGRATION_LOCK: i64 = 0x6c69_6665_626f_6174;

/// Schema migrations, in order, the same steps as SQLite's (so a version means the same schema
/// on both engines). Append only: never edit a migration that has shipped.
pub const MIGRATIONS: &[&str] = &[
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
        rto_seconds DOUBLE PRECISION,
        rpo_seconds DOUBLE PRECISION,
        rto_objective_seconds BIGINT,
        rpo_objective_seconds BIGINT,
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
    ALTER TABLE runs ADD COLUMN coverage_within_seconds BIGINT;
    ALTER TABLE runs ADD COLUMN coverage_objects BIGINT;
    ALTER TABLE runs ADD COLUMN coverage_verified_within BIGINT;
    ALTER TABLE runs ADD COLUMN coverage_ratio DOUBLE PRECISION;
    ALTER TABLE runs ADD COLUMN coverage_on_pace BOOLEAN;
    ALTER TABLE runs ADD COLUMN coverage_behind_seconds BIGINT;
    ALTER TABLE runs ADD COLUMN coverage_never_verified BIGINT;
    ALTER TABLE runs ADD COLUMN coverage_oldest_verified TEXT;
    ALTER TABLE runs ADD COLUMN coverage_failed BIGINT;
    ",
    // The coverage ledger (see SQLite's third migration).
    "
    CREATE TABLE coverage_objects (
        runbook TEXT NOT NULL,
        point TEXT NOT NULL,
        path TEXT NOT NULL,
        size BIGINT NOT NULL,
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
    // The coverage ledger planned in SQL (see SQLite's fourth migration): each object's key
    // hash (`tie`, filled in by `setup` for rows written before), the planner's order as an
    // index, the never-verified and the failed objects, and each retained point with its
    // listing's fingerprint, object count and bytes.
    "
    ALTER TABLE coverage_objects ADD COLUMN tie BIGINT;
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
        objects BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        PRIMARY KEY (runbook, point)
    );
    INSERT INTO coverage_points (runbook, point, fingerprint, objects, bytes)
        SELECT runbook, point, '', COUNT(*), SUM(size)::BIGINT FROM coverage_objects
        GROUP BY runbook, point;
    ",
    // A fleet of runners (see SQLite's fifth migration).
    "
    ALTER TABLE slots ADD COLUMN runner TEXT;
    ALTER TABLE slots ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE slots ADD COLUMN lease_until TEXT;
    CREATE INDEX slots_unfinished ON slots (runbook, slot) WHERE state IN ('recorded', 'running');
    ALTER TABLE runs ADD COLUMN runner TEXT;
    ",
    // 6: the ledger ordered by recovery point, then by the planner's order (see SQLite's
    // sixth migration). A heap has no clustered key, so here it is an index: a point's rows
    // in the planner's order, a point that leaves one range of it; the runbook-wide
    // `by_turn` index, whose entries every point brought or took away, goes.
    "
    ALTER TABLE coverage_objects ADD COLUMN turn TEXT;
    UPDATE coverage_objects SET turn = COALESCE(verified_at, '');
    ALTER TABLE coverage_objects ALTER COLUMN turn SET NOT NULL;
    DROP INDEX coverage_objects_by_turn;
    CREATE INDEX coverage_objects_by_point
        ON coverage_objects (runbook, point, turn, tie, path COLLATE \"C\");
    ",
    // 7: the objects due at once found from their points, not an index (see SQLite's
    // seventh migration): each point keeps the newest first-listed time of its objects.
    "
    ALTER TABLE coverage_points ADD COLUMN newest_listed TEXT;
    UPDATE coverage_points SET newest_listed = (SELECT MAX(o.first_seen) FROM coverage_objects o
        WHERE o.runbook = coverage_points.runbook AND o.point = coverage_points.point);
    DROP INDEX coverage_objects_new;
    ",
];

/// The database's clock, as the fixed-width text every time in the store is kept as
/// (`clock_timestamp()`, not `now()`, which stands still for a whole transaction). Leases
/// are counted on it, never on a runner's clock, so runners whose clocks disagree still
/// agree on when a lease lapsed.
const DB_NOW: &str =
    "(to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '000Z')";

/// [`DB_NOW`] plus `$n` microseconds.
fn db_now_plus(n: usize) -> String {
    format!(
        "(to_char((clock_timestamp() + ${n}::BIGINT * INTERVAL '1 microsecond') AT TIME ZONE 'UTC', \
         'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '000Z')"
    )
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The PostgreSQL history store.
pub struct PostgresStore {
    target: Target,
    config: tokio_postgres::Config,
    connect_timeout: Duration,
    read_only: bool,
    /// The store's own runtime, on its own thread, which drives the connection.
    driver: Driver,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target.to_string())
            .finish()
    }
}

/// A thread running a current-thread runtime that the connections are spawned on; it ends
/// when the store is dropped (its sender with it).
struct Driver {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Driver {
    fn start() -> std::io::Result<Driver> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("lifeboat-postgres".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Driver {
            handle,
            _stop: stop,
        })
    }
}

fn slot_text(t: Timestamp) -> String {
    format!("{t:.0}")
}

fn time_text(t: Timestamp) -> String {
    format!("{t:.9}")
}

/// How a [`PostgresStore`] is opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Create and migrate the schema.
    Create,
    /// Migrate an existing schema; `None` when there is none.
    Existing,
    /// Change nothing: `None` when the schema is absent or older.
    ReadOnly,
}

impl PostgresStore {
    /// Opens the store at `target` (with `password`, if any), creating or migrating its schema.
    /// Blocks until connected (at most [`CONNECT_TIMEOUT`]); call it outside a runtime or on
    /// a thread that may block.
    pub fn open(target: &Target, password: Option<&str>) -> Result<PostgresStore, StoreError> {
        Self::open_as(target, password, Open::Create, CONNECT_TIMEOUT).map(|s| s.expect("created"))
    }

    /// Opens an existing store without creating anything; `Ok(None)` when the database holds
    /// no lifeboat schema. An older schema is migrated, as SQLite's `open_existing` does.
    pub fn open_existing(
        target: &Target,
        password: Option<&str>,
    ) -> Result<Option<PostgresStore>, StoreError> {
        Self::open_as(target, password, Open::Existing, CONNECT_TIMEOUT)
    }

    /// Opens an existing store to read, changing nothing in it: no migration, and a session
    /// whose transactions are read-only. `Ok(None)` when the database holds no lifeboat
    /// schema, or an older one.
    pub fn open_read_only(
        target: &Target,
        password: Option<&str>,
    ) -> Result<Option<PostgresStore>, StoreError> {
        Self::open_as(target, password, Open::ReadOnly, CONNECT_TIMEOUT)
    }

    fn open_as(
        target: &Target,
        password: Option<&str>,
        how: Open,
        connect_timeout: Duration,
    ) -> Result<Option<PostgresStore>, StoreError> {
        let mut config = tokio_postgres::Config::new();
        config
            .user(&target.user)
            .host(&target.host)
            .port(target.port)
            .dbname(&target.dbname)
            .application_name("lifeboat")
            .ssl_mode(tokio_postgres::config::SslMode::Disable)
            .connect_timeout(connect_timeout)
            .keepalives(true);
        if let Some(p) = password {
            config.password(p);
        }
        let driver = Driver::start().map_err(|e| StoreError::Postgres {
            location: target.to_string(),
            doing: "starting its connection thread",
            detail: e.to_string(),
        })?;
        let store = PostgresStore {
            target: target.clone(),
            config,
            connect_timeout,
            read_only: how == Open::ReadOnly,
            driver,
            client: tokio::sync::Mutex::new(None),
        };
        // The store's own runtime is not this thread's: wait for the setup on a scoped thread
        // of its own, so that opening works both outside a runtime and on one.
        let ok = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| store.err("starting its runtime", e.to_string()))?
                    .block_on(store.setup(how))
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        Ok(ok.then_some(store))
    }

    /// The schema version in the database (the number of migrations applied).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let mut guard = self.connected().await?;
        let client = guard.as_mut().expect("connected");
        read_version(client)
            .await
            .map_err(|e| self.db("reading its schema version", &e))?
            .ok_or_else(|| self.err("reading its schema version", "no lifeboat_schema table"))
    }

    /// Connects, checks the schema and migrates it as `how` allows; `false` when the store
    /// is not there for `how` (see [`Open`]).
    async fn setup(&self, how: Open) -> Result<bool, StoreError> {
        let mut guard = self.connected().await?;
        let client = guard.as_mut().expect("connected");
        let known = MIGRATIONS.len();
        let version = read_version(client)
            .await
            .map_err(|e| self.db("reading its schema version", &e))?;
        match (version, how) {
            (Some(v), _) if v > known as i64 => return Err(self.too_new(v)),
            (Some(v), _) if v == known as i64 => return Ok(true),
            (None, Open::Existing | Open::ReadOnly) | (Some(_), Open::ReadOnly) => {
                return Ok(false);
            }
            _ => {}
        }
        let doing = "creating or migrating its schema";
        let tx = client.transaction().await.map_err(|e| self.db(doing, &e))?;
        // Taken before anything is read or created: a second runner migrating at once waits
        // here, then finds the schema current.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| self.db(doing, &e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS lifeboat_schema (
                 one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL
             );
             INSERT INTO lifeboat_schema (version) VALUES (0) ON CONFLICT DO NOTHING;",
        )
        .await
        .map_err(|e| self.db(doing, &e))?;
        let version: i32 = tx
            .query_one("SELECT version FROM lifeboat_schema", &[])
            .await
            .map_err(|e| self.db(doing, &e))?
            .get(0);
        if i64::from(version) > known as i64 {
            return Err(self.too_new(version.into()));
        }
        let applied = usize::try_from(version).unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.batch_execute(sql)
                .await
                .map_err(|e| self.db(doing, &e))?;
            let n = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute("UPDATE lifeboat_schema SET version = $1", &[&n])
                .await
                .map_err(|e| self.db(doing, &e))?;
        }
        fill_ties(&tx).await.map_err(|e| self.db(doing, &e))?;
        tx.commit().await.map_err(|e| self.db(doing, &e))?;
        Ok(true)
    }

    /// The connection, opened (again) when there is none or the last one closed.
    async fn connected(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, StoreError> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.connect().await?);
        }
        Ok(guard)
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let config = self.config.clone();
        let read_only = self.read_only;
        let timeout = self.connect_timeout * 2;
        let connected = self
            .driver
            .handle
            .spawn(async move {
                // The connect timeout covers each address's TCP connection; the whole
                // handshake (a server that accepts and then says nothing) is bounded too.
                let (client, connection) = tokio::time::timeout(timeout, config.connect(NoTls))
                    .await
                    .map_err(|_| "timed out".to_owned())?
                    .map_err(|e| described(&e))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("history store connection ended: {}", described(&e));
                    }
                });
                if read_only {
                    client
                        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                        .await
                        .map_err(|e| described(&e))?;
                }
                Ok::<_, String>(client)
            })
            .await;
        match connected {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(detail)) => Err(StoreError::Connect {
                location: self.target.to_string(),
                host: self.target.host.clone(),
                port: self.target.port,
                detail,
            }),
            Err(e) => Err(self.err("connecting", e.to_string())),
        }
    }

    fn err(&self, doing: &'static str, detail: impl Into<String>) -> StoreError {
        StoreError::Postgres {
            location: self.target.to_string(),
            doing,
            detail: detail.into(),
        }
    }

    fn db(&self, doing: &'static str, e: &tokio_postgres::Error) -> StoreError {
        self.err(doing, described(e))
    }

    fn too_new(&self, found: i64) -> StoreError {
        StoreError::TooNewDatabase {
            location: self.target.to_string(),
            found,
            known: MIGRATIONS.len(),
        }
    }

    fn bad(&self, column: &'static str, value: String) -> StoreError {
        StoreError::BadDatabaseValue {
            location: self.target.to_string(),
            column,
            value,
        }
    }

    fn timestamp(&self, column: &'static str, text: &str) -> Result<Timestamp, StoreError> {
        text.parse().map_err(|_| self.bad(column, text.to_owned()))
    }

    /// Runs `statement` with `params` on the connection; the number of rows it changed.
    async fn execute(
        &self,
        doing: &'static str,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        on_connection!(self, doing, |c| c.execute(statement, params))
    }

    async fn query(
        &self,
        doing: &'static str,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        on_connection!(self, doing, |c| c.query(statement, params))
    }

    async fn last_slot(&self, runbook: &str) -> Result<Option<Timestamp>, StoreError> {
        let rows = self
            .query(
                "reading the last slot",
                "SELECT slot FROM slots WHERE runbook = $1 ORDER BY slot DESC LIMIT 1",
                &[&runbook],
            )
            .await?;
        rows.first()
            .map(|r| self.timestamp("slots.slot", r.get(0)))
            .transpose()
    }

    async fn record_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        state: SlotState,
        trigger: Option<&str>,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "recording a slot",
                "INSERT INTO slots (runbook, slot, state, trigger, recorded_at, reason)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (runbook, slot) DO NOTHING",
                &[
                    &runbook,
                    &slot_text(slot),
                    &state.as_str(),
                    &trigger,
                    &time_text(now),
                    &reason,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn note_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.execute(
            "noting a slot's reason",
            "UPDATE slots SET reason = $3 WHERE runbook = $1 AND slot = $2",
            &[&runbook, &slot_text(slot), &reason],
        )
        .await
        .map(drop)
    }

    async fn update_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let sql = match state {
            SlotState::Running => {
                "UPDATE slots SET state = $3, started_at = $5, reason = $4
                 WHERE runbook = $1 AND slot = $2"
            }
            _ => {
                "UPDATE slots SET state = $3, finished_at = $5, reason = COALESCE($4, reason)
                 WHERE runbook = $1 AND slot = $2"
            }
        };
        self.execute(
            "updating a slot",
            sql,
            &[
                &runbook,
                &slot_text(slot),
                &state.as_str(),
                &reason,
                &time_text(now),
            ],
        )
        .await
        .map(drop)
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        on_connection!(self, "recording a run", |c| write_run(c, run, None)).map(drop)
    }

    async fn record_claimed_run(
        &self,
        run: &RunRecord,
        attempt: i64,
    ) -> Result<Fenced, StoreError> {
        on_connection!(self, "recording a run", |c| write_run(
            c,
            run,
            Some(attempt)
        ))
    }

    async fn unfinished_slots(&self) -> Result<Vec<UnfinishedSlot>, StoreError> {
        let rows = self
            .query(
                "reading unfinished slots",
                &format!(
                    "SELECT runbook, slot, state, trigger, attempt, runner,
                         state = 'running' AND (lease_until IS NULL OR lease_until < {DB_NOW})
                     FROM slots WHERE state IN ('recorded', 'running') ORDER BY slot, runbook"
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let state: &str = r.get(2);
                Ok(UnfinishedSlot {
                    runbook: r.get(0),
                    slot: self.timestamp("slots.slot", r.get(1))?,
                    state: SlotState::parse(state)
                        .ok_or_else(|| self.bad("slots.state", state.to_owned()))?,
                    trigger: r.get(3),
                    attempt: r.get(4),
                    runner: r.get(5),
                    lapsed: r.get(6),
                })
            })
            .collect()
    }

    /// The claim: the row is locked `FOR UPDATE SKIP LOCKED`, so of runners claiming one
    /// slot at once one wins and the others skip it at once rather than wait; the lease is
    /// counted on the database's clock.
    async fn claim_slot(
        &self,
        runbook: &str,
        slot: Timestamp,
        runner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let rows = self
            .query(
                "claiming a slot",
                &format!(
                    "UPDATE slots SET state = 'running', runner = $3, attempt = attempt + 1,
                         lease_until = {lease_until}, started_at = $5, reason = NULL
                     WHERE (runbook, slot) = (
                         SELECT runbook, slot FROM slots
                         WHERE runbook = $1 AND slot = $2 AND (state = 'recorded'
                             OR (state = 'running'
                                 AND (lease_until IS NULL OR lease_until < {DB_NOW})))
                         FOR UPDATE SKIP LOCKED)
                     RETURNING attempt",
                    lease_until = db_now_plus(4)
                ),
                &[
                    &runbook,
                    &slot_text(slot),
                    &runner,
                    &micros(lease),
                    &time_text(now),
                ],
            )
            .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    async fn renew_claim(
        &self,
        runbook: &str,
        slot: Timestamp,
        attempt: i64,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "renewing a lease",
                &format!(
                    "UPDATE slots SET lease_until = {}
                     WHERE runbook = $1 AND slot = $2 AND attempt = $3 AND state = 'running'",
                    db_now_plus(4)
                ),
                &[&runbook, &slot_text(slot), &attempt, &micros(lease)],
            )
            .await?;
        Ok(n == 1)
    }

    #[allow(clippy::too_many_arguments)]
    async fn close_slot(
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
            .execute(
                "closing a slot",
                &format!(
                    "UPDATE slots SET state = $4, reason = $5, finished_at = $6
                     WHERE runbook = $1 AND slot = $2 AND attempt = $3 AND (state = 'recorded'
                         OR (state = 'running'
                             AND ($7 OR lease_until IS NULL OR lease_until < {DB_NOW})))"
                ),
                &[
                    &runbook,
                    &slot_text(slot),
                    &attempt,
                    &state.as_str(),
                    &reason,
                    &time_text(now),
                    &holder,
                ],
            )
            .await?;
        Ok(n == 1)
    }
    async fn abandon_unfinished(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        // One statement: the rows it marks are the rows it returns. Only drills without a
        // lease (a lifeboat before leases ran them): every other unfinished slot is a live
        // runner's, or the daemon's to claim again or close once its lease lapsed.
        let rows = self
            .query(
                "marking unfinished slots abandoned",
                "UPDATE slots SET state = 'abandoned', finished_at = $1,
                     reason = 'the scheduler stopped before this drill finished'
                 WHERE state = 'running' AND lease_until IS NULL
                 RETURNING runbook, slot",
                &[&time_text(now)],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| Ok((r.get(0), self.timestamp("slots.slot", r.get(1))?)))
            .collect::<Result<Vec<(String, Timestamp)>, StoreError>>()?;
        // SQLite's order (by slot, then as the rows were written), spelt out: by slot, then
        // runbook.
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    async fn history(&self, runbook: Option<&str>) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = self
            .query(
                "reading the history",
                "SELECT r.run_id, r.runbook, r.mode, r.slot, r.started_at, r.finished_at,
                     r.outcome, r.reason, r.rto_seconds, r.rpo_seconds, r.rto_objective_seconds,
                     r.rpo_objective_seconds, r.recovery_point, r.evidence,
                     s.state, s.trigger, NULL::TEXT,
                     r.coverage_within_seconds, r.coverage_objects, r.coverage_verified_within,
                     r.coverage_ratio, r.coverage_on_pace, r.coverage_behind_seconds,
                     r.coverage_never_verified, r.coverage_oldest_verified, r.coverage_failed,
                     r.runner
                 FROM runs r LEFT JOIN slots s ON s.runbook = r.runbook AND s.run_id = r.run_id
                 WHERE $1::TEXT IS NULL OR r.runbook = $1
                 UNION ALL
                 SELECT NULL, s.runbook, NULL, s.slot, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                     NULL, NULL, NULL, s.state, s.trigger, s.reason,
                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, s.runner
                 FROM slots s
                 WHERE s.run_id IS NULL AND ($1::TEXT IS NULL OR s.runbook = $1)",
                &[&runbook],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(entry) = self.history_entry(&row)? {
                out.push(entry);
            }
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.runbook.cmp(&b.runbook)));
        Ok(out)
    }

    fn history_entry(&self, row: &Row) -> Result<Option<HistoryEntry>, StoreError> {
        let rb: String = row.get(1);
        let slot = row
            .get::<_, Option<&str>>(3)
            .map(|s| self.timestamp("slot", s))
            .transpose()?;
        let state = row
            .get::<_, Option<&str>>(14)
            .map(|s| SlotState::parse(s).ok_or_else(|| self.bad("slots.state", s.to_owned())))
            .transpose()?;
        let run_id: Option<String> = row.get(0);
        let started: Option<&str> = row.get(4);
        let finished: Option<&str> = row.get(5);
        let outcome: Option<&str> = row.get(6);
        let reason: Option<String> = row.get(7);
        let objective = |i| {
            row.get::<_, Option<i64>>(i)
                .and_then(|v| u64::try_from(v).ok())
        };
        let run = match (run_id, started, finished, outcome) {
            (Some(run_id), Some(started), Some(finished), Some(outcome)) => Some(RunRecord {
                run_id,
                runbook: rb.clone(),
                mode: row.get::<_, Option<String>>(2).unwrap_or_default(),
                slot,
                started_at: self.timestamp("runs.started_at", started)?,
                finished_at: self.timestamp("runs.finished_at", finished)?,
                outcome: parse_outcome(outcome)
                    .ok_or_else(|| self.bad("runs.outcome", outcome.to_owned()))?,
                reason: reason.clone(),
                rto_seconds: row.get(8),
                rpo_seconds: row.get(9),
                rto_objective_seconds: objective(10),
                rpo_objective_seconds: objective(11),
                recovery_point: row.get(12),
                evidence: row.get(13),
                coverage: self.coverage(row)?,
                runner: row.get(26),
            }),
            _ => None,
        };
        let at = match (&run, slot) {
            (Some(r), _) => r.started_at,
            (None, Some(s)) => s,
            (None, None) => return Ok(None),
        };
        Ok(Some(HistoryEntry {
            runbook: rb,
            slot,
            state: if run.is_some() && state.is_none() && slot.is_some() {
                Some(SlotState::Done)
            } else {
                state
            },
            trigger: row.get(15),
            reason: run
                .as_ref()
                .map_or_else(|| row.get(16), |r| r.reason.clone()),
            run,
            at,
        }))
    }

    /// A history row's coverage columns (17 to 25), `None` when the run had no coverage.
    fn coverage(&self, row: &Row) -> Result<Option<RunCoverage>, StoreError> {
        let Some(objects) = row.get::<_, Option<i64>>(18) else {
            return Ok(None);
        };
        let count = |column: &'static str, v: Option<i64>| {
            let v = v.unwrap_or_default();
            u64::try_from(v).map_err(|_| self.bad(column, v.to_string()))
        };
        Ok(Some(RunCoverage {
            within_seconds: count("runs.coverage_within_seconds", row.get(17))?,
            objects: count("runs.coverage_objects", Some(objects))?,
            verified_within: count("runs.coverage_verified_within", row.get(19))?,
            ratio: row.get::<_, Option<f64>>(20).unwrap_or(f64::NAN),
            on_pace: row.get::<_, Option<bool>>(21).unwrap_or_default(),
            behind_seconds: row
                .get::<_, Option<i64>>(22)
                .map(|v| count("runs.coverage_behind_seconds", Some(v)))
                .transpose()?,
            never_verified: count("runs.coverage_never_verified", row.get(23))?,
            oldest_verified: row
                .get::<_, Option<&str>>(24)
                .map(|t| self.timestamp("runs.coverage_oldest_verified", t))
                .transpose()?,
            failed: count("runs.coverage_failed", row.get(25))?,
        }))
    }

    /// `runbook`'s coverage ledger whole (see [`HistoryStore::coverage_ledger`]).
    async fn coverage_ledger(&self, runbook: &str) -> Result<Ledger, StoreError> {
        let (raw, phases, first): (Vec<Row>, Vec<Row>, Option<String>) =
            on_connection!(self, "reading the coverage ledger", |c| read_ledger(
                c, runbook
            ))?;
        let rows = raw
            .iter()
            .map(|r| self.ledger_row(r))
            .collect::<Result<_, _>>()?;
        let (phases, first_phase) = self.phases(&phases, first)?;
        Ok(Ledger {
            rows,
            phases,
            first_phase,
        })
    }

    async fn coverage_points(&self, runbook: &str) -> Result<Vec<PointListing>, StoreError> {
        let rows = self
            .query(
                "reading the coverage points",
                "SELECT point, fingerprint FROM coverage_points WHERE runbook = $1",
                &[&runbook],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PointListing {
                point: r.get(0),
                fingerprint: r.get(1),
            })
            .collect())
    }

    async fn stage_coverage(
        &self,
        runbook: &str,
        t0: Timestamp,
        listing: &PointListing,
        objects: &[Listed],
    ) -> Result<(), StoreError> {
        let doing = "staging a point of the coverage ledger";
        let mine = objects.iter().filter(|o| o.key.point == listing.point);
        self.refuse_nul(
            doing,
            std::iter::once(listing.point.as_str())
                .chain(mine.flat_map(|o| [o.key.path.as_str(), o.identity.tag.as_str()])),
        )?;
        on_connection!(self, doing, |c| {
            stage_point(c, runbook, t0, listing, objects)
        })
    }

    /// Refuses a name holding NUL before it reaches the server, naming it: PostgreSQL text
    /// cannot hold that character (SQLite's can). No file system, S3 listing or restic pack
    /// id yields one; should one come, the phase fails on this store error, naming it,
    /// rather than dropping the object from coverage unseen.
    fn refuse_nul<'n>(
        &self,
        doing: &'static str,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<(), StoreError> {
        match names.into_iter().find(|n| n.contains('\0')) {
            Some(name) => Err(self.err(
                doing,
                format!(
                    "the name {name:?} holds a NUL character, which PostgreSQL text cannot keep"
                ),
            )),
            None => Ok(()),
        }
    }

    async fn retain_coverage(&self, runbook: &str, points: &[String]) -> Result<(), StoreError> {
        on_connection!(self, "dropping points from the coverage ledger", |c| {
            retain_points(c, runbook, points)
        })
    }

    /// Plans `runbook`'s next phase as SQLite's [`plan_coverage`] does, statement for
    /// statement, in one `REPEATABLE READ` read-only transaction (the counts and the rows
    /// agree, as in SQLite's read transaction). The walk's rows come through a portal a batch
    /// at a time, so that, as on SQLite, what is fetched follows what the phase reads rather
    /// than the backlog.
    ///
    /// [`plan_coverage`]: super::SqliteStore::plan_coverage
    async fn plan_coverage(&self, runbook: &str, q: &PhaseQuery) -> Result<Selection, StoreError> {
        on_connection!(self, "planning a coverage phase", |c| self
            .plan_in(c, runbook, q))?
    }

    /// [`plan_coverage`](PostgresStore::plan_coverage)'s transaction: a database error
    /// outside (the connection may be retried), a bad value inside.
    async fn plan_in(
        &self,
        client: &mut Client,
        runbook: &str,
        q: &PhaseQuery,
    ) -> Result<Result<Selection, StoreError>, tokio_postgres::Error> {
        /// A bad value ends the plan (the transaction is rolled back as it is dropped).
        macro_rules! checked {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                }
            };
        }
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let (phase_rows, first) = read_phases(&tx, runbook).await?;
        let (phases, first_phase) = checked!(self.phases(&phase_rows, first));
        let interval = coverage::interval(&phases, q.t0, q.schedule);
        let started = first_phase.unwrap_or(q.t0).min(q.t0);
        let totals = tx
            .query_one(
                "SELECT COALESCE(SUM(objects), 0)::BIGINT, COALESCE(SUM(bytes), 0)::BIGINT
                 FROM coverage_points WHERE runbook = $1",
                &[&runbook],
            )
            .await?;
        let (objects, total_bytes): (i64, i64) = (totals.get(0), totals.get(1));
        let total_bytes = u64::try_from(total_bytes).unwrap_or(0);
        let pace = Pace::new(
            u64::try_from(objects).unwrap_or(0),
            total_bytes,
            q.within,
            interval.0,
            q.t0,
        );
        let within = SignedDuration::try_from(q.within).unwrap_or_default();
        let points = ledger_points(&tx, runbook).await?;
        let never = count_points(&tx, NEVER_VERIFIED, runbook, &points, "").await?;
        // Verified objects overdue by the next drill: verified before `next - within`.
        let overdue = match pace.next.checked_sub(within) {
            Ok(cutoff) => {
                let cutoff = time_text(cutoff);
                count_points(&tx, VERIFIED_BEFORE, runbook, &points, &cutoff).await?
            }
            Err(_) => 0,
        };

        // Due at once (every one needed): appeared since coverage started, never verified;
        // only in points that brought objects since then, each read from the head of its
        // range (turn '').
        let raw = tx
            .query(
                "SELECT o.tie, o.point, o.path, o.size FROM coverage_points p
                 JOIN coverage_objects o ON o.runbook = p.runbook AND o.point = p.point
                 WHERE p.runbook = $1 AND (p.newest_listed IS NULL OR p.newest_listed > $2)
                     AND o.turn = '' AND o.first_seen > $2",
                &[&runbook, &time_text(started)],
            )
            .await?;
        let mut due: Vec<Due> = Vec::with_capacity(raw.len());
        for r in &raw {
            let size: i64 = r.get(3);
            due.push(Due {
                tie: r.get(0),
                key: ObjectKey {
                    point: r.get(1),
                    path: r.get(2),
                },
                size: checked!(
                    u64::try_from(size)
                        .map_err(|_| self.bad("coverage_objects.size", size.to_string()))
                ),
            });
        }
        drop(raw);
        let (mut walk, mut going) = Walk::start(&pace, q, started, never, overdue, due);
        let start = coverage::seed_start(q.seed);
        let started = time_text(started);
        // The never-verified backlog (turn ''), then each instant of last verification.
        let mut turn = Some(String::new());
        while going {
            let Some(at) = turn else { break };
            going = checked!(
                walk_turn(&tx, runbook, &points, &at, &started, start, |row| {
                    Ok(walk.take(self.ledger_row(row)?))
                })
                .await?
            );
            turn = next_turn(&tx, runbook, &points, &at).await?;
        }
        tx.commit().await?;
        Ok(Ok(walk.finish(q.budget, total_bytes, interval)))
    }

    async fn record_coverage(&self, runbook: &str, record: &PhaseRecord) -> Result<(), StoreError> {
        on_connection!(self, "recording a coverage phase", |c| {
            write_phase(c, runbook, record)
        })
    }

    /// Where `runbook`'s coverage stands, as SQLite's [`coverage_standing`] reads it, in one
    /// read-only snapshot.
    ///
    /// [`coverage_standing`]: super::SqliteStore::coverage_standing
    async fn coverage_standing(
        &self,
        runbook: &str,
        t0: Timestamp,
        within: std::time::Duration,
    ) -> Result<Standing, StoreError> {
        let fresh_from = lifeboat_core::coverage::fresh_from(t0, within);
        let (objects, bytes, never, stale, failed, oldest) = on_connection!(
            self,
            "reading where coverage stands",
            |c| read_standing(c, runbook, &time_text(fresh_from))
        )?;
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

    /// The T0s of a runbook's most recent phases, newest first, and of its first, as read
    /// by [`read_phases`].
    fn phases(
        &self,
        rows: &[Row],
        first: Option<String>,
    ) -> Result<(Vec<Timestamp>, Option<Timestamp>), StoreError> {
        let phases = rows
            .iter()
            .map(|r| self.timestamp("coverage_phases.t0", r.get(0)))
            .collect::<Result<_, _>>()?;
        let first = first
            .map(|t| self.timestamp("coverage_phases.t0", &t))
            .transpose()?;
        Ok((phases, first))
    }

    /// A ledger row read as [`LEDGER_COLUMNS`], checked.
    fn ledger_row(&self, r: &Row) -> Result<LedgerRow, StoreError> {
        let verified = match (
            r.get::<_, Option<&str>>(5),
            r.get::<_, Option<&str>>(6),
            r.get::<_, Option<&str>>(7),
        ) {
            (Some(at), Some(outcome), Some(algorithm)) => Some(Verification {
                at: self.timestamp("coverage_objects.verified_at", at)?,
                outcome: parse_outcome(outcome)
                    .ok_or_else(|| self.bad("coverage_objects.outcome", outcome.to_owned()))?,
                algorithm: algorithm
                    .parse()
                    .map_err(|_| self.bad("coverage_objects.algorithm", algorithm.to_owned()))?,
                digest: r.get(8),
            }),
            _ => None,
        };
        let size: i64 = r.get(2);
        Ok(LedgerRow {
            key: ObjectKey {
                point: r.get(0),
                path: r.get(1),
            },
            identity: Identity {
                size: u64::try_from(size)
                    .map_err(|_| self.bad("coverage_objects.size", size.to_string()))?,
                tag: r.get(3),
            },
            first_seen: self.timestamp("coverage_objects.first_seen", r.get(4))?,
            verified,
        })
    }
}

/// [`PostgresStore::record_run`]'s transaction.
/// With `attempt`, fenced: nothing is written unless the slot is still `running` under it
/// (or is already done with this very run: a first try whose commit was lost with the
/// connection wrote it).
async fn write_run(
    client: &mut Client,
    run: &RunRecord,
    attempt: Option<i64>,
) -> Result<Fenced, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    if let (Some(attempt), Some(slot)) = (attempt, run.slot) {
        let held = tx
            .query_opt(
                "SELECT 1 FROM slots WHERE runbook = $1 AND slot = $2
                     AND ((state = 'running' AND attempt = $3)
                         OR (state = 'done' AND run_id = $4))
                 FOR UPDATE",
                &[&run.runbook, &slot_text(slot), &attempt, &run.run_id],
            )
            .await?;
        if held.is_none() {
            return Ok(Fenced::LostTheSlot);
        }
    }
    let c = run.coverage.as_ref();
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO runs (run_id, runbook, mode, slot, started_at, finished_at,
                 outcome, reason, rto_seconds, rpo_seconds, rto_objective_seconds,
                 rpo_objective_seconds, recovery_point, evidence, coverage_within_seconds,
                 coverage_objects, coverage_verified_within, coverage_ratio, coverage_on_pace,
                 coverage_behind_seconds, coverage_never_verified, coverage_oldest_verified,
                 coverage_failed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $18, $19, $20, $21, $22, $23)
             ON CONFLICT (run_id) DO UPDATE SET runbook = EXCLUDED.runbook,
                 mode = EXCLUDED.mode, slot = EXCLUDED.slot, started_at = EXCLUDED.started_at,
                 finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome,
                 reason = EXCLUDED.reason, rto_seconds = EXCLUDED.rto_seconds,
                 rpo_seconds = EXCLUDED.rpo_seconds,
                 rto_objective_seconds = EXCLUDED.rto_objective_seconds,
                 rpo_objective_seconds = EXCLUDED.rpo_objective_seconds,
                 recovery_point = EXCLUDED.recovery_point, evidence = EXCLUDED.evidence,
                 coverage_within_seconds = EXCLUDED.coverage_within_seconds,
                 coverage_objects = EXCLUDED.coverage_objects,
                 coverage_verified_within = EXCLUDED.coverage_verified_within,
                 coverage_ratio = EXCLUDED.coverage_ratio,
                 coverage_on_pace = EXCLUDED.coverage_on_pace,
                 coverage_behind_seconds = EXCLUDED.coverage_behind_seconds,
                 coverage_never_verified = EXCLUDED.coverage_never_verified,
                 coverage_oldest_verified = EXCLUDED.coverage_oldest_verified,
                 coverage_failed = EXCLUDED.coverage_failed",
        &[
            &run.run_id,
            &run.runbook,
            &run.mode,
            &run.slot.map(slot_text),
            &time_text(run.started_at),
            &time_text(run.finished_at),
            &run.outcome.as_str(),
            &run.reason,
            &run.rto_seconds,
            &run.rpo_seconds,
            &run.rto_objective_seconds.map(int),
            &run.rpo_objective_seconds.map(int),
            &run.recovery_point,
            &run.evidence,
            &c.map(|c| int(c.within_seconds)),
            &c.map(|c| int(c.objects)),
            &c.map(|c| int(c.verified_within)),
            &c.map(|c| c.ratio),
            &c.map(|c| c.on_pace),
            &c.and_then(|c| c.behind_seconds).map(int),
            &c.map(|c| int(c.never_verified)),
            &c.and_then(|c| c.oldest_verified).map(time_text),
            &c.map(|c| int(c.failed)),
        ],
    )
    .await?;
    if let Some(slot) = run.slot {
        tx.execute(
            "UPDATE slots SET state = 'done', run_id = $3, finished_at = $4,
                     started_at = COALESCE(started_at, $5)
                 WHERE runbook = $1 AND slot = $2",
            &[
                &run.runbook,
                &slot_text(slot),
                &run.run_id,
                &time_text(run.finished_at),
                &time_text(run.started_at),
            ],
        )
        .await?;
    }
    if let Some(runner) = &run.runner {
        tx.execute(
            "UPDATE runs SET runner = $2 WHERE run_id = $1",
            &[&run.run_id, runner],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Fenced::Recorded)
}

/// The columns a ledger row is read from, in [`PostgresStore::ledger_row`]'s order.
const LEDGER_COLUMNS: &str =
    "point, path, size, tag, first_seen, verified_at, outcome, algorithm, digest";

/// How many rows of each point's stream the planner's walk fetches at a time (a portal
/// per point, all open at once: memory follows the points, not their objects).
const WALK_BATCH: i32 = 256;

/// A point's objects never verified (`$3` is '').
const NEVER_VERIFIED: &str = "SELECT COUNT(*) FROM coverage_objects
     WHERE runbook = $1 AND point = $2 AND turn = $3";

/// A point's objects last verified before `$3`.
const VERIFIED_BEFORE: &str = "SELECT COUNT(*) FROM coverage_objects
     WHERE runbook = $1 AND point = $2 AND turn > '' AND turn < $3";

/// `runbook`'s retained points, in byte order (as Rust orders strings, whatever the
/// database's collation): the ledger is ordered by point, so what spans the runbook is
/// asked of each, as on SQLite.
async fn ledger_points(
    tx: &Transaction<'_>,
    runbook: &str,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut points: Vec<String> = tx
        .query(
            "SELECT point FROM coverage_points WHERE runbook = $1",
            &[&runbook],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    points.sort();
    Ok(points)
}

/// The sum over `points` of the count `sql` gives for `runbook` (`$1`), the point (`$2`)
/// and `at` (`$3`): each a range of the `by_point` index.
async fn count_points(
    tx: &Transaction<'_>,
    sql: &str,
    runbook: &str,
    points: &[String],
    at: &str,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = tx.prepare(sql).await?;
    let mut total = 0u64;
    for point in points {
        let n: i64 = tx.query_one(&stmt, &[&runbook, point, &at]).await?.get(0);
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// The least instant of last verification after `after` ('' for the oldest) over `points`.
async fn next_turn(
    tx: &Transaction<'_>,
    runbook: &str,
    points: &[String],
    after: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let stmt = tx
        .prepare(
            "SELECT MIN(turn) FROM coverage_objects
             WHERE runbook = $1 AND point = $2 AND turn > $3",
        )
        .await?;
    let mut least: Option<String> = None;
    for point in points {
        let turn: Option<String> = tx
            .query_one(&stmt, &[&runbook, point, &after])
            .await?
            .get(0);
        if let Some(t) = turn
            && least.as_ref().is_none_or(|l| t < *l)
        {
            least = Some(t);
        }
    }
    Ok(least)
}

/// SQLite's `walk_turn` translated: one turn of the planner's order,
/// each point's rows from its range of the `by_point` index through a portal of its own,
/// the points' streams merged by (key hash, point). `take` is told each row in order and
/// answers whether the walk goes on; `Ok(false)` once it does not.
#[allow(clippy::too_many_arguments)]
async fn walk_turn(
    tx: &Transaction<'_>,
    runbook: &str,
    points: &[String],
    turn: &str,
    started: &str,
    start: i64,
    mut take: impl FnMut(&Row) -> Result<bool, StoreError>,
) -> Result<Result<bool, StoreError>, tokio_postgres::Error> {
    for range in ["tie >= $4", "tie < $4"] {
        let stmt = tx
            .prepare(&format!(
                "SELECT {LEDGER_COLUMNS}, tie FROM coverage_objects
                 WHERE runbook = $1 AND point = $2 AND turn = $3 AND {range}
                     AND ($3 <> '' OR first_seen <= $5)
                 ORDER BY tie, path COLLATE \"C\""
            ))
            .await?;
        let mut portals = Vec::with_capacity(points.len());
        let mut buffers: Vec<std::collections::VecDeque<Row>> = Vec::with_capacity(points.len());
        let mut heads = std::collections::BinaryHeap::new();
        for (i, point) in points.iter().enumerate() {
            let portal = tx
                .bind(&stmt, &[&runbook, point, &turn, &start, &started])
                .await?;
            let rows: std::collections::VecDeque<Row> =
                tx.query_portal(&portal, WALK_BATCH).await?.into();
            if let Some(r) = rows.front() {
                heads.push(std::cmp::Reverse((r.get::<_, i64>(9), i)));
            }
            portals.push((portal, rows.len() == WALK_BATCH as usize));
            buffers.push(rows);
        }
        while let Some(std::cmp::Reverse((_, i))) = heads.pop() {
            let row = buffers[i].pop_front().expect("a head has its row");
            match take(&row) {
                Ok(true) => {}
                Ok(false) => return Ok(Ok(false)),
                Err(e) => return Ok(Err(e)),
            }
            if buffers[i].is_empty() && portals[i].1 {
                let more = tx.query_portal(&portals[i].0, WALK_BATCH).await?;
                portals[i].1 = more.len() == WALK_BATCH as usize;
                buffers[i] = more.into();
            }
            if let Some(r) = buffers[i].front() {
                heads.push(std::cmp::Reverse((r.get::<_, i64>(9), i)));
            }
        }
    }
    Ok(Ok(true))
}

/// `COUNT(*)` of `runbook`'s rows, with one more text parameter if given.
async fn count(
    tx: &Transaction<'_>,
    sql: &str,
    runbook: &str,
    at: Option<&str>,
) -> Result<u64, tokio_postgres::Error> {
    let row = match at {
        Some(at) => tx.query_one(sql, &[&runbook, &at]).await?,
        None => tx.query_one(sql, &[&runbook]).await?,
    };
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// [`PostgresStore::stage_coverage`]'s transaction, SQLite's statements translated. The
/// listing is staged in a temporary table dropped at commit (`ON COMMIT DROP`): it lives
/// only inside this transaction, so a transaction run again after a lost connection starts
/// from an empty one, and two runners staging at once each have their own. The listing goes
/// in as one `INSERT` from arrays rather than a statement per object (a round trip each over
/// the network), in listing order, so that of a path listed twice the first stays.
async fn stage_point(
    client: &mut Client,
    runbook: &str,
    t0: Timestamp,
    listing: &PointListing,
    objects: &[Listed],
) -> Result<(), tokio_postgres::Error> {
    let point = listing.point.as_str();
    let mine: Vec<&Listed> = objects.iter().filter(|o| o.key.point == point).collect();
    let paths: Vec<&str> = mine.iter().map(|o| o.key.path.as_str()).collect();
    let sizes: Vec<i64> = mine
        .iter()
        .map(|o| i64::try_from(o.identity.size).unwrap_or(i64::MAX))
        .collect();
    let tags: Vec<&str> = mine.iter().map(|o| o.identity.tag.as_str()).collect();
    let ties: Vec<i64> = mine.iter().map(|o| coverage::key_hash(&o.key)).collect();
    let tx = client.transaction().await?;
    tx.batch_execute(
        "CREATE TEMP TABLE coverage_stage (
             path TEXT PRIMARY KEY,
             size BIGINT NOT NULL,
             tag TEXT NOT NULL,
             tie BIGINT NOT NULL
         ) ON COMMIT DROP",
    )
    .await?;
    tx.execute(
        "INSERT INTO coverage_stage (path, size, tag, tie)
         SELECT path, size, tag, tie
         FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[])
             WITH ORDINALITY AS l (path, size, tag, tie, n)
         ORDER BY n
         ON CONFLICT (path) DO NOTHING",
        &[&paths, &sizes, &tags, &ties],
    )
    .await?;
    tx.execute(
        "DELETE FROM coverage_objects WHERE runbook = $1 AND point = $2 AND NOT EXISTS
             (SELECT 1 FROM coverage_stage s WHERE s.path = coverage_objects.path
                  AND s.size = coverage_objects.size AND s.tag = coverage_objects.tag)",
        &[&runbook, &point],
    )
    .await?;
    let added = tx
        .execute(
            "INSERT INTO coverage_objects (runbook, point, path, size, tag, first_seen, tie, turn)
             SELECT $1, $2, s.path, s.size, s.tag, $3, s.tie, '' FROM coverage_stage s
             WHERE NOT EXISTS (SELECT 1 FROM coverage_objects o
                               WHERE o.runbook = $1 AND o.point = $2 AND o.path = s.path)",
            &[&runbook, &point, &time_text(t0)],
        )
        .await?;
    // The newest first-listed time only grows; NULL when this staging added no object.
    let newest = (added > 0).then(|| time_text(t0));
    tx.execute(
        &format!(
            "INSERT INTO coverage_points
                 (runbook, point, fingerprint, objects, bytes, newest_listed)
             SELECT $1, $2, $3, COUNT(*), COALESCE(SUM(size), 0)::BIGINT, $4 FROM coverage_stage
             ON CONFLICT (runbook, point) DO UPDATE SET {POINT_STAGED}"
        ),
        &[&runbook, &point, &listing.fingerprint, &newest],
    )
    .await?;
    tx.commit().await
}

/// [`PostgresStore::retain_coverage`]'s transaction: each point not kept leaves whole.
async fn retain_points(
    client: &mut Client,
    runbook: &str,
    points: &[String],
) -> Result<(), tokio_postgres::Error> {
    let keep: std::collections::HashSet<&str> = points.iter().map(String::as_str).collect();
    let tx = client.transaction().await?;
    let known: Vec<String> = tx
        .query(
            "SELECT DISTINCT point FROM coverage_points WHERE runbook = $1",
            &[&runbook],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for gone in known.iter().filter(|p| !keep.contains(p.as_str())) {
        for sql in [
            "DELETE FROM coverage_objects WHERE runbook = $1 AND point = $2",
            "DELETE FROM coverage_points WHERE runbook = $1 AND point = $2",
        ] {
            tx.execute(sql, &[&runbook, gone]).await?;
        }
    }
    tx.commit().await
}

/// [`PostgresStore::record_coverage`]'s transaction: the verifications as one `UPDATE` from
/// arrays (not a round trip per object), and the phase's T0. An object verified twice in
/// the record keeps its last verification, as SQLite's statement per object leaves it.
async fn write_phase(
    client: &mut Client,
    runbook: &str,
    record: &PhaseRecord,
) -> Result<(), tokio_postgres::Error> {
    let last: Vec<&(ObjectKey, Verification)> = super::last_verifications(record)
        .into_iter()
        .map(|i| &record.verified[i])
        .collect();
    let tx = client.transaction().await?;
    // A batch at a time, as SQLite's staging table is: one statement per batch.
    for batch in last.chunks(super::RECORD_BATCH) {
        let points: Vec<&str> = batch.iter().map(|(k, _)| k.point.as_str()).collect();
        let paths: Vec<&str> = batch.iter().map(|(k, _)| k.path.as_str()).collect();
        let ats: Vec<String> = batch.iter().map(|(_, v)| time_text(v.at)).collect();
        let outcomes: Vec<&str> = batch.iter().map(|(_, v)| v.outcome.as_str()).collect();
        let algorithms: Vec<&str> = batch.iter().map(|(_, v)| v.algorithm.as_str()).collect();
        let digests: Vec<Option<&str>> = batch.iter().map(|(_, v)| v.digest.as_deref()).collect();
        tx.execute(
            "UPDATE coverage_objects o SET verified_at = v.at, turn = v.at, outcome = v.outcome,
                 algorithm = v.algorithm, digest = v.digest
             FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[])
                 AS v (point, path, at, outcome, algorithm, digest)
             WHERE o.runbook = $1 AND o.point = v.point AND o.path = v.path",
            &[
                &runbook,
                &points,
                &paths,
                &ats,
                &outcomes,
                &algorithms,
                &digests,
            ],
        )
        .await?;
    }
    if let Some(t0) = record.phase {
        tx.execute(
            "INSERT INTO coverage_phases (runbook, run_id, t0) VALUES ($1, $2, $3)
                 ON CONFLICT (runbook, run_id) DO UPDATE SET t0 = EXCLUDED.t0",
            &[&runbook, &record.run_id, &time_text(t0)],
        )
        .await?;
    }
    tx.commit().await
}

/// [`PostgresStore::coverage_standing`]'s reads, in one read-only snapshot: objects and
/// bytes, never verified, verified before `fresh_from`, failed since, the oldest
/// verification.
#[allow(clippy::type_complexity)]
async fn read_standing(
    client: &mut Client,
    runbook: &str,
    fresh_from: &str,
) -> Result<(i64, i64, u64, u64, u64, Option<String>), tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let totals = tx
        .query_one(
            "SELECT COALESCE(SUM(objects), 0)::BIGINT, COALESCE(SUM(bytes), 0)::BIGINT
             FROM coverage_points WHERE runbook = $1",
            &[&runbook],
        )
        .await?;
    let points = ledger_points(&tx, runbook).await?;
    let never = count_points(&tx, NEVER_VERIFIED, runbook, &points, "").await?;
    let stale = count_points(&tx, VERIFIED_BEFORE, runbook, &points, fresh_from).await?;
    let failed = count(
        &tx,
        "SELECT COUNT(*) FROM coverage_objects
         WHERE runbook = $1 AND outcome = 'failed' AND verified_at >= $2",
        runbook,
        Some(fresh_from),
    )
    .await?;
    let oldest = next_turn(&tx, runbook, &points, "").await?;
    tx.commit().await?;
    Ok((totals.get(0), totals.get(1), never, stale, failed, oldest))
}

/// The T0s of `runbook`'s most recent phases, newest first, and of its first.
async fn read_phases(
    client: &impl GenericClient,
    runbook: &str,
) -> Result<(Vec<Row>, Option<String>), tokio_postgres::Error> {
    let phases = client
        .query(
            "SELECT t0 FROM coverage_phases WHERE runbook = $1 ORDER BY t0 DESC LIMIT $2",
            &[&runbook, &(PACE_PHASES as i64)],
        )
        .await?;
    let first = client
        .query_one(
            "SELECT MIN(t0) FROM coverage_phases WHERE runbook = $1",
            &[&runbook],
        )
        .await?
        .get(0);
    Ok((phases, first))
}

/// [`PostgresStore::coverage_ledger`]'s reads: the objects, the newest phases, the first
/// phase.
async fn read_ledger(
    client: &mut Client,
    runbook: &str,
) -> Result<(Vec<Row>, Vec<Row>, Option<String>), tokio_postgres::Error> {
    let objects = client
        .query(
            &format!("SELECT {LEDGER_COLUMNS} FROM coverage_objects WHERE runbook = $1"),
            &[&runbook],
        )
        .await?;
    let (phases, first) = read_phases(client, runbook).await?;
    Ok((objects, phases, first))
}

/// Fills the key hash of ledger rows written before it was kept (migration 4), inside the
/// migration's transaction as on SQLite: a hash SQL cannot compute. Nothing to do on a
/// ledger written since.
async fn fill_ties(tx: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let keys = tx
        .query(
            "SELECT runbook, point, path FROM coverage_objects WHERE tie IS NULL",
            &[],
        )
        .await?;
    let fill = tx
        .prepare(
            "UPDATE coverage_objects SET tie = $4 WHERE runbook = $1 AND point = $2 AND path = $3",
        )
        .await?;
    for r in &keys {
        let runbook: &str = r.get(0);
        let key = ObjectKey {
            point: r.get(1),
            path: r.get(2),
        };
        let tie = coverage::key_hash(&key);
        tx.execute(&fill, &[&runbook, &key.point, &key.path, &tie])
            .await?;
    }
    Ok(())
}

/// Whether `e` says the server ended the connection rather than refused the statement.
fn connection_lost(e: &tokio_postgres::Error, client: &Client) -> bool {
    use tokio_postgres::error::SqlState;
    let ended_by_server = e.code().is_some_and(|c| {
        c.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(c)
    });
    ended_by_server || e.is_closed() || client.is_closed()
}

/// The schema version, `None` when the database has no `lifeboat_schema` table.
async fn read_version(client: &impl GenericClient) -> Result<Option<i64>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('lifeboat_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query("SELECT version FROM lifeboat_schema", &[])
        .await?;
    Ok(Some(
        rows.first().map_or(0, |r| i64::from(r.get::<_, i32>(0))),
    ))
}

/// A client error with its causes (tokio-postgres's own `Display` is one generic word, "db
/// error"): the server's message, or the I/O error beneath a failed connection.
fn described(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn parse_outcome(s: &str) -> Option<Outcome> {
    [Outcome::Passed, Outcome::Failed, Outcome::Error]
        .into_iter()
        .find(|o| o.as_str() == s)
}

/// Each future talks to the server; the connection is shared, one statement or transaction at
/// a time.
impl HistoryStore for PostgresStore {
    fn location(&self) -> String {
        self.target.to_string()
    }

    fn last_slot<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Option<Timestamp>> {
        Box::pin(PostgresStore::last_slot(self, runbook))
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
        Box::pin(PostgresStore::record_slot(
            self, runbook, slot, state, trigger, reason, now,
        ))
    }

    fn note_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        reason: Option<&'a str>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::note_slot(self, runbook, slot, reason))
    }

    fn update_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::update_slot(
            self, runbook, slot, state, reason, now,
        ))
    }

    fn record_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::record_run(self, run))
    }

    fn abandon_unfinished(&self, now: Timestamp) -> StoreFuture<'_, Vec<(String, Timestamp)>> {
        Box::pin(PostgresStore::abandon_unfinished(self, now))
    }

    fn history<'a>(&'a self, runbook: Option<&'a str>) -> StoreFuture<'a, Vec<HistoryEntry>> {
        Box::pin(PostgresStore::history(self, runbook))
    }

    fn shared(&self) -> bool {
        true
    }

    fn unfinished_slots(&self, _now: Timestamp) -> StoreFuture<'_, Vec<UnfinishedSlot>> {
        Box::pin(PostgresStore::unfinished_slots(self))
    }

    fn claim_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        runner: &'a str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(PostgresStore::claim_slot(
            self, runbook, slot, runner, lease, now,
        ))
    }

    fn renew_claim<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        lease: Duration,
        _now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        Box::pin(PostgresStore::renew_claim(
            self, runbook, slot, attempt, lease,
        ))
    }

    fn record_claimed_run<'a>(
        &'a self,
        run: &'a RunRecord,
        attempt: i64,
    ) -> StoreFuture<'a, Fenced> {
        Box::pin(PostgresStore::record_claimed_run(self, run, attempt))
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
        Box::pin(PostgresStore::close_slot(
            self, runbook, slot, attempt, holder, state, reason, now,
        ))
    }

    fn coverage_ledger<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Ledger> {
        Box::pin(PostgresStore::coverage_ledger(self, runbook))
    }

    fn coverage_points<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Vec<PointListing>> {
        Box::pin(PostgresStore::coverage_points(self, runbook))
    }

    fn stage_coverage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::stage_coverage(
            self, runbook, t0, listing, objects,
        ))
    }

    fn retain_coverage<'a>(
        &'a self,
        runbook: &'a str,
        points: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::retain_coverage(self, runbook, points))
    }

    fn plan_coverage<'a>(
        &'a self,
        runbook: &'a str,
        query: &'a PhaseQuery,
    ) -> StoreFuture<'a, Selection> {
        Box::pin(PostgresStore::plan_coverage(self, runbook, query))
    }

    fn record_coverage<'a>(
        &'a self,
        runbook: &'a str,
        record: &'a PhaseRecord,
    ) -> StoreFuture<'a, ()> {
        Box::pin(PostgresStore::record_coverage(self, runbook, record))
    }

    fn coverage_standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: std::time::Duration,
    ) -> StoreFuture<'a, Standing> {
        Box::pin(PostgresStore::coverage_standing(self, runbook, t0, within))
    }
}

#[cfg(test)]
mod tests;
