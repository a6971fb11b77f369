//! The history store: every drill run, every scheduled slot and the coverage ledger, behind
//! [`HistoryStore`] so the engine that keeps them can change: SQLite ([`sqlite`], the
//! default) or PostgreSQL ([`postgres`]), the same tables and statements on both.
//!
//! What every engine promises, and the daemon relies on: a slot is written *before* its drill
//! starts (state `recorded`), and [`HistoryStore::record_slot`] creates it only once per
//! `(runbook, slot)` — insert wins, so every runner sharing a store agrees on what a slot is.
//! A slot is drilled only by the runner that [claims](HistoryStore::claim_slot) it: `recorded`
//! (or `running` under a lease that lapsed) becomes `running` with the next attempt and a
//! lease on the store's clock, renewed by [`HistoryStore::renew_claim`];
//! [`HistoryStore::record_claimed_run`] records the drill and its slot together, only while
//! that attempt still holds the slot, so a runner that lost its lease records nothing.
//! A slot left unfinished by a process that died is, alone on a SQLite file, marked
//! `abandoned` by the next daemon ([`HistoryStore::abandon_unfinished`]); shared, claimed
//! again within its start window or closed ([`HistoryStore::close_slot`]).
//!
//! The trait is what the scheduler and `lifeboat drill`, `history`, `status` and `report` use,
//! and nothing more. Its methods return futures, although SQLite answers at once, because an
//! engine shared by a fleet of runners (PostgreSQL) talks over the network.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use jiff::Timestamp;
use lifeboat_core::coverage::{
    self, IntervalFrom, Ledger, LedgerRow, Listed, Pace, PhaseQuery, PhaseRecord, PointListing,
    Selection, Standing,
};
use lifeboat_core::evidence::{CoverageRecord, Evidence, Mode, Outcome};

pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, default_path};

/// What a [`HistoryStore`] method returns: it may wait on a database server.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where runs and slots are kept. The scheduler's daemon claims and closes slots through it;
/// `lifeboat drill --state` records its runs; `history`, `status`, `report` and the metrics
/// read it.
pub trait HistoryStore: Send + Sync + std::fmt::Debug {
    /// Where the store is, for messages and reports: a file's path, a database's address
    /// (never with a password).
    fn location(&self) -> String;

    /// The newest slot recorded for `runbook`, whatever its state.
    fn last_slot<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Option<Timestamp>>;

    /// Records a slot in `state` unless the slot is already recorded. `true` when this call
    /// created the row: only then may the caller start a drill for it.
    fn record_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        trigger: Option<&'a str>,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, bool>;

    /// Sets the reason a claimed slot carries while it waits (e.g. for a `--max-concurrent`
    /// place), without changing its state. `None` clears it.
    fn note_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        reason: Option<&'a str>,
    ) -> StoreFuture<'a, ()>;

    /// Moves a claimed slot to `running` (its drill has started; a reason noted while it
    /// waited is replaced by `reason`) or to a final state (keeping a noted reason when
    /// `reason` is `None`).
    fn update_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, ()>;

    /// Records a finished drill; when it ran for a slot, the slot becomes `done` and points
    /// at it, in the same transaction.
    fn record_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, ()>;

    /// Marks slots a stopped scheduler left unfinished as `abandoned`, returning them. Called
    /// by a daemon as it starts. SQLite (one runner per file): every slot still `recorded`
    /// or `running`. A [shared](HistoryStore::shared) store: only `running` slots without a
    /// lease (left by a lifeboat before leases); a lapsed lease is the daemon's to re-claim
    /// within its start window or close ([`HistoryStore::close_slot`]), and a live one is
    /// another runner's.
    fn abandon_unfinished(&self, now: Timestamp) -> StoreFuture<'_, Vec<(String, Timestamp)>>;

    /// Whether several runners may share the store (PostgreSQL). A runner stopping while a
    /// slot waits for its jitter leaves the slot to the others instead of abandoning it.
    fn shared(&self) -> bool {
        false
    }

    /// The slots not finished yet, every runbook's: `recorded` (claimable), or `running`
    /// under a claim, with whether its lease lapsed on the store's clock.
    fn unfinished_slots(&self, now: Timestamp) -> StoreFuture<'_, Vec<UnfinishedSlot>>;

    /// Claims a slot for `runner`: it must be `recorded`, or `running` under a lease that
    /// lapsed. It becomes `running` with the next attempt, under a lease of `lease` on the
    /// store's clock (PostgreSQL's `clock_timestamp()`; SQLite's is `now`, the one host's).
    /// `None` when another runner holds it, or it is finished: the caller does not run it.
    fn claim_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        runner: &'a str,
        lease: std::time::Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, Option<i64>>;

    /// Renews the lease of `attempt` for `lease` more. `false` when the slot is no longer
    /// running under that attempt: the runner lost it.
    fn renew_claim<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        lease: std::time::Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, bool>;

    /// [`record_run`](HistoryStore::record_run) for a claimed slot, fenced: the run and its
    /// slot are written only while the slot is `running` under `attempt`; otherwise nothing
    /// is written and the answer is [`Fenced::LostTheSlot`].
    fn record_claimed_run<'a>(
        &'a self,
        run: &'a RunRecord,
        attempt: i64,
    ) -> StoreFuture<'a, Fenced>;

    /// Closes an unfinished slot in `state` (a final one) with `reason`, only while it is
    /// still as the caller saw it: at `attempt`, and `recorded` or, unless `holder` (the
    /// runner holding that attempt), `running` under a lapsed lease. `false` when it moved on.
    #[allow(clippy::too_many_arguments)]
    fn close_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        holder: bool,
        state: SlotState,
        reason: &'a str,
        now: Timestamp,
    ) -> StoreFuture<'a, bool>;

    /// Every run, and every slot that did not run, oldest first; only `runbook`'s if given.
    fn history<'a>(&'a self, runbook: Option<&'a str>) -> StoreFuture<'a, Vec<HistoryEntry>>;

    /// `runbook`'s coverage ledger whole: every stored object it keeps (identity, first
    /// listed, last verification) and the T0s of its most recent coverage phases, newest
    /// first (at most [`PACE_PHASES`](lifeboat_core::coverage::PACE_PHASES)). Reads only,
    /// and O(ledger): `lifeboat plan` previews the next phase from it; a drill plans through
    /// [`plan_coverage`](HistoryStore::plan_coverage).
    fn coverage_ledger<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Ledger>;

    /// A drill's coverage phase, step by step; each step follows
    /// [`MemoryLedger`](lifeboat_core::coverage::MemoryLedger), the reference every engine is
    /// tested against, and none reads the ledger whole. First, `runbook`'s retained points,
    /// each with its listing's fingerprint: a point listed with the same fingerprint is not
    /// staged again.
    fn coverage_points<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Vec<PointListing>>;

    /// Stages one point's whole listing atomically: its objects no longer listed, or whose
    /// identity changed, leave; new and changed ones enter, never verified, first listed at
    /// `t0`; the rest keep their verification. The fingerprint is kept with the point.
    fn stage_coverage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> StoreFuture<'a, ()>;

    /// Keeps only `points` (the retained points listed): each other point leaves the
    /// ledger whole.
    fn retain_coverage<'a>(&'a self, runbook: &'a str, points: &'a [String])
    -> StoreFuture<'a, ()>;

    /// The next phase over the ledger as staged: the objects to read, in order, and the pace.
    /// Reads only.
    fn plan_coverage<'a>(
        &'a self,
        runbook: &'a str,
        query: &'a PhaseQuery,
    ) -> StoreFuture<'a, Selection>;

    /// Keeps a phase's verifications and its T0 (for the pace), atomically. A store shared
    /// by runners applies it in one transaction too, so two phases never interleave rows.
    fn record_coverage<'a>(
        &'a self,
        runbook: &'a str,
        record: &'a PhaseRecord,
    ) -> StoreFuture<'a, ()>;

    /// Where `runbook`'s coverage stands at `t0` with `within`.
    fn coverage_standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: std::time::Duration,
    ) -> StoreFuture<'a, Standing>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("history store {path}: cannot create its folder: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "history store {path}: schema version {found} was written by a newer lifeboat; this one knows up to {known}"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("history store {path}: bad value in column {column}: {value:?}")]
    BadValue {
        path: PathBuf,
        column: &'static str,
        value: String,
    },
    /// The PostgreSQL server cannot be reached, or refused the connection (a wrong password
    /// included). `location` never holds a password.
    #[error("history store {location}: cannot connect to {host} port {port}: {detail}")]
    Connect {
        location: String,
        host: String,
        port: u16,
        detail: String,
    },
    #[error("history store {location}: {doing}: {detail}")]
    Postgres {
        location: String,
        doing: &'static str,
        detail: String,
    },
    #[error(
        "history store {location}: schema version {found} was written by a newer lifeboat; this one knows up to {known}"
    )]
    TooNewDatabase {
        location: String,
        found: i64,
        known: usize,
    },
    #[error("history store {location}: bad value in column {column}: {value:?}")]
    BadDatabaseValue {
        location: String,
        column: &'static str,
        value: String,
    },
}

impl StoreError {
    /// The store's server cannot be reached or refused the login: a store that could not be
    /// used (exit 3), not a wrong argument.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Connect { .. })
    }
}

/// A slot not finished yet, as [`HistoryStore::unfinished_slots`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnfinishedSlot {
    pub runbook: String,
    pub slot: Timestamp,
    /// `recorded` or `running`.
    pub state: SlotState,
    /// `schedule` or `catch-up`.
    pub trigger: Option<String>,
    /// Claims taken so far (0 while `recorded` and never claimed).
    pub attempt: i64,
    /// The runner of the last claim.
    pub runner: Option<String>,
    /// `running` and its lease lapsed (or it has none): another runner may claim it.
    pub lapsed: bool,
}

impl UnfinishedSlot {
    /// Whether a runner may claim it now.
    pub fn claimable(&self) -> bool {
        self.state == SlotState::Recorded || self.lapsed
    }
}

/// What [`HistoryStore::record_claimed_run`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fenced {
    Recorded,
    /// The slot was claimed again (the lease lapsed) or closed: nothing was written.
    LostTheSlot,
}

/// What became of a scheduled slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    /// Claimed; its drill is about to start, or waits for its jitter or (with the reason
    /// "waiting for a place under --max-concurrent") for a place.
    Recorded,
    Running,
    /// The drill finished (whatever its outcome) and is in `runs`.
    Done,
    /// Due while the runbook's previous drill still ran (not merely waited to start: that
    /// slot is `Missed`, saying so).
    SkippedOverlap,
    /// Never started: the scheduler was down, the start window closed, or a newer slot won.
    Missed,
    /// Left `recorded`/`running` by a scheduler process that stopped without finishing it.
    Abandoned,
}

impl SlotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotState::Recorded => "recorded",
            SlotState::Running => "running",
            SlotState::Done => "done",
            SlotState::SkippedOverlap => "skipped-overlap",
            SlotState::Missed => "missed",
            SlotState::Abandoned => "abandoned",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            SlotState::Recorded,
            SlotState::Running,
            SlotState::Done,
            SlotState::SkippedOverlap,
            SlotState::Missed,
            SlotState::Abandoned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One finished drill, as the history keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub runbook: String,
    /// `automatic`, `manual` or `scheduled`, as in the evidence.
    pub mode: String,
    /// The slot a scheduled drill ran for.
    pub slot: Option<Timestamp>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub rto_objective_seconds: Option<u64>,
    pub rpo_objective_seconds: Option<u64>,
    pub recovery_point: Option<String>,
    /// Path of the run's `evidence.json`.
    pub evidence: Option<String>,
    /// The runner (`lifeboat schedule --runner`) that ran it; `None` for `lifeboat drill` and
    /// runs recorded before runners were named.
    pub runner: Option<String>,
    /// Where the drill's coverage phase left coverage; `None` when its runbook has no
    /// `coverage` (or the run was recorded by a lifeboat without it).
    pub coverage: Option<RunCoverage>,
}

/// The summary of a record's `coverage` section the history keeps, so that `status` and the
/// metrics read coverage without opening evidence. The objects themselves are in the record
/// (and the ledger); only counts and the instant of the oldest verification are kept here.
#[derive(Clone, Debug, PartialEq)]
pub struct RunCoverage {
    /// The runbook's `coverage.within`, in seconds.
    pub within_seconds: u64,
    /// Stored objects of the retained recovery points.
    pub objects: u64,
    /// Of those, the ones whose last verification passed within `within_seconds` of T0.
    pub verified_within: u64,
    /// `verified_within / objects`.
    pub ratio: f64,
    /// Whether, at the rate drills run and within the budget, everything is verified within
    /// `within_seconds`.
    pub on_pace: bool,
    /// When behind: how long full coverage takes at the budget, in seconds.
    pub behind_seconds: Option<u64>,
    /// Objects never verified, after the drill.
    pub never_verified: u64,
    /// The oldest last verification among the objects that have one.
    pub oldest_verified: Option<Timestamp>,
    /// Objects the drill's coverage phase found bad (hash mismatch, missing, unreadable).
    pub failed: u64,
}

impl RunCoverage {
    /// The summary of a record's coverage section.
    pub fn from_record(c: &CoverageRecord) -> Self {
        RunCoverage {
            within_seconds: c.within_seconds,
            objects: c.objects,
            verified_within: c.verified_within,
            ratio: c.ratio,
            on_pace: c.on_pace,
            behind_seconds: c.behind_seconds,
            never_verified: c.never_verified,
            oldest_verified: c.oldest_verified,
            failed: c
                .verified
                .iter()
                .filter(|o| o.outcome != Outcome::Passed)
                .count() as u64,
        }
    }
}

impl RunRecord {
    pub fn from_evidence(ev: &Evidence, evidence: Option<&Path>, slot: Option<Timestamp>) -> Self {
        let mode = match ev.mode {
            Mode::Automatic => "automatic",
            Mode::Manual => "manual",
            Mode::Scheduled => "scheduled",
        };
        RunRecord {
            run_id: ev.run_id.clone(),
            runbook: ev.runbook.name.clone(),
            mode: mode.to_owned(),
            slot,
            started_at: ev.started_at,
            finished_at: ev.finished_at,
            outcome: ev.outcome,
            reason: ev.reason.clone(),
            rto_seconds: ev.measured.rto_seconds,
            rpo_seconds: ev.measured.rpo_seconds,
            rto_objective_seconds: ev.objectives.rto_seconds,
            rpo_objective_seconds: ev.objectives.rpo_seconds,
            recovery_point: ev.measured.recovery_point.clone(),
            evidence: evidence.map(|p| p.display().to_string()),
            coverage: ev.coverage.as_ref().map(RunCoverage::from_record),
            runner: ev.runner.clone(),
        }
    }
}

/// One line of `lifeboat history`: a run, or a slot that did not run.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub runbook: String,
    pub slot: Option<Timestamp>,
    /// The slot's state; `None` for a run that had no slot (`lifeboat drill --state`).
    pub state: Option<SlotState>,
    /// `schedule` or `catch-up` for scheduled slots.
    pub trigger: Option<String>,
    /// `None` for a slot that did not run (or has not finished yet).
    pub run: Option<RunRecord>,
    pub reason: Option<String>,
    /// When it happened: the run's start, else the slot time.
    pub at: Timestamp,
}

/// An object due at once (never verified, listed since coverage started), as
/// [`Walk::start`] takes it: its key hash, key and stored size, and nothing else of its row.
struct Due {
    tie: i64,
    key: coverage::ObjectKey,
    size: u64,
}

/// The planner's walk along its order, shared by both engines' `plan_coverage`: an object is
/// needed while fewer than `fixed` are taken (the share of objects, and everything overdue,
/// which leads the order) or the share of bytes is not reached; it is read while the budget
/// allows.
struct Walk {
    fixed: u64,
    share_bytes: u64,
    budget: Option<u64>,
    taken: u64,
    needed_bytes: u64,
    /// The objects read, compact: a lagging phase at 10 M objects takes millions.
    read: coverage::Reads,
    read_bytes: u64,
    /// The budget stopped the reads: the rest of the walk only counts bytes.
    full: bool,
    /// The first object of the walk not read (the budget stopped it, or the pace was met).
    first_unread: Option<coverage::FirstUnread>,
}

impl Walk {
    /// Starts the walk of a phase at the pace `pace`, coverage having started at `started`,
    /// with `never` objects never verified and `overdue` verified ones overdue by the next
    /// drill, and takes `due` (the objects due at once, each with its key hash) in the
    /// planner's order: key hashes from the seed's start, then below it. `true` with the
    /// walk when the pace is not met yet, so the engine walks on through the backlog.
    fn start(
        pace: &Pace,
        q: &PhaseQuery,
        started: Timestamp,
        never: u64,
        overdue: u64,
        mut due: Vec<Due>,
    ) -> (Walk, bool) {
        let within = jiff::SignedDuration::try_from(q.within).unwrap_or_default();
        let backlog_overdue = started
            .checked_add(within)
            .is_ok_and(|deadline| deadline < pace.next);
        let start = coverage::seed_start(q.seed);
        due.sort_by(|a, b| ((a.tie < start), a.tie, &a.key).cmp(&((b.tie < start), b.tie, &b.key)));
        let mut fixed = pace.share_count.max(due.len() as u64);
        if backlog_overdue && never > 0 {
            fixed = fixed.max(never);
        }
        if overdue > 0 {
            fixed = fixed.max(never + overdue);
        }
        let mut walk = Walk {
            fixed,
            share_bytes: pace.share_bytes,
            budget: q.budget,
            taken: 0,
            needed_bytes: 0,
            read: coverage::Reads::default(),
            read_bytes: 0,
            full: false,
            first_unread: None,
        };
        let going = due
            .into_iter()
            .all(|d| walk.take_object(&d.key.point, d.key.path, d.size, None));
        (walk, going)
    }

    /// The phase's selection once the walk stopped, over a ledger of `total_bytes` with
    /// drills every `interval`.
    fn finish(
        self,
        budget: Option<u64>,
        total_bytes: u64,
        interval: (std::time::Duration, IntervalFrom),
    ) -> Selection {
        let (on_pace, behind_seconds) =
            coverage::behind(budget, self.needed_bytes, total_bytes, interval.0);
        let (points, read) = self.read.into_parts();
        Selection {
            points,
            read,
            read_bytes: self.read_bytes,
            needed_bytes: self.needed_bytes,
            interval,
            on_pace,
            behind_seconds,
            first_unread: self.first_unread,
        }
    }

    /// Takes the next object of the order; `false` (and not taken) when the pace is met.
    fn take(&mut self, row: LedgerRow) -> bool {
        let last = row.verified.as_ref().map(coverage::LastVerified::of);
        self.take_object(&row.key.point, row.key.path, row.identity.size, last)
    }

    /// [`take`](Walk::take) of what the walk needs of a row: its point, path, size and last
    /// verification (an engine's walk reads only those).
    fn take_object(
        &mut self,
        point: &str,
        path: String,
        size: u64,
        last: Option<coverage::LastVerified>,
    ) -> bool {
        let unread = || coverage::FirstUnread::of_last(last.map(|v| v.at));
        if self.taken >= self.fixed && self.needed_bytes >= self.share_bytes {
            self.first_unread.get_or_insert_with(unread);
            return false;
        }
        self.taken += 1;
        self.needed_bytes += size;
        if !self.full && self.budget.is_some_and(|b| self.read_bytes + size > b) {
            self.full = true;
        }
        if self.full {
            self.first_unread.get_or_insert_with(unread);
        } else {
            self.read_bytes += size;
            self.read.push_object(point, path, size, last);
        }
        true
    }
}

/// Verifications one PostgreSQL `record_coverage` statement applies: a phase's record is
/// sent a batch at a time, one `UPDATE ... FROM UNNEST` each, so no statement's arrays grow
/// with the phase. (SQLite, in process, updates row by row: measured faster there.)
pub(crate) const RECORD_BATCH: usize = 20_000;

/// A phase's verifications in key order, one per object (of a key recorded twice, the last
/// in the record), each as its index into [`PhaseRecord::verified`]: PostgreSQL records
/// them in this order (its primary key's, so each batch visits rows and index pages in file
/// order, not at random); SQLite reorders them by the rows their hints name.
pub(crate) fn last_verifications(record: &PhaseRecord) -> Vec<usize> {
    let mut order: Vec<usize> = (0..record.verified.len()).collect();
    // Stable: of equal keys, the last in the record comes last, and is the one kept.
    order.sort_by(|&a, &b| record.verified[a].0.cmp(&record.verified[b].0));
    let mut last: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        match last.last_mut() {
            Some(prev) if record.verified[*prev].0 == record.verified[i].0 => *prev = i,
            _ => last.push(i),
        }
    }
    last
}

/// What staging a point sets on its `coverage_points` row when it is there already (an
/// upsert's `DO UPDATE SET`, the same SQL on both engines): its listing's fingerprint and
/// totals, and the newest first-listed time of its objects, which only grows
/// (`excluded.newest_listed` is NULL when the staging added no object).
pub(crate) const POINT_STAGED: &str = "fingerprint = excluded.fingerprint,
    objects = excluded.objects, bytes = excluded.bytes,
    newest_listed = CASE
        WHEN excluded.newest_listed IS NULL THEN coverage_points.newest_listed
        WHEN coverage_points.newest_listed IS NULL
            OR excluded.newest_listed > coverage_points.newest_listed
            THEN excluded.newest_listed
        ELSE coverage_points.newest_listed
    END";

#[cfg(test)]
mod tests;
