//! What every [`HistoryStore`] engine must do, run on each: SQLite in a temporary folder, and
//! PostgreSQL in a fresh database of a real server on 127.0.0.1 (one throwaway cluster per
//! test process, started by the testkit; the tests fail, never skip, without PostgreSQL).
//! What only one engine has (SQLite's WAL and file locks, PostgreSQL's schema table and
//! connection) is tested beside that engine.

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;

use super::*;

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Where a suite's store lives; each `open` opens the same store again, as a restarted
/// process does.
pub(crate) trait Engine {
    fn open(&self) -> Box<dyn HistoryStore>;
}

pub(crate) struct Sqlite(tempfile::TempDir);

impl Sqlite {
    pub(crate) fn new() -> Self {
        Sqlite(tempfile::tempdir().unwrap())
    }
}

impl Engine for Sqlite {
    fn open(&self) -> Box<dyn HistoryStore> {
        Box::new(SqliteStore::open(&self.0.path().join("deep/er/state.db")).unwrap())
    }
}

pub(crate) struct Postgres(pub(crate) crate::store::postgres::Target);

impl Postgres {
    /// A fresh database on the test process's cluster.
    pub(crate) fn new() -> Self {
        let cluster = lifeboat_testkit::postgres::Cluster::shared();
        let dbname = cluster.fresh_database();
        Postgres(crate::store::postgres::Target {
            user: "postgres".into(),
            host: "127.0.0.1".into(),
            port: cluster.port(),
            dbname,
        })
    }
}

impl Engine for Postgres {
    fn open(&self) -> Box<dyn HistoryStore> {
        Box::new(PostgresStore::open(&self.0, None).unwrap())
    }
}

/// Each named test, once per engine: `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(&super::Sqlite::new()).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(&super::Postgres::new()).await
            })*
        }
    };
}

on_every_engine!(
    a_slot_is_claimed_once_even_across_restarts,
    history_lists_runs_and_slots_that_did_not_run_oldest_first,
    times_are_kept_to_the_nanosecond_and_in_order,
    a_runs_coverage_summary_is_kept_and_read_back,
    a_ratio_that_is_not_a_number_does_not_hide_the_history,
    the_coverage_ledger_keeps_what_a_phase_wrote_per_runbook_and_forgets_what_it_removed,
    a_run_recorded_twice_is_kept_once,
);

pub(crate) fn run(id: &str, runbook: &str, started: &str, slot: Option<&str>) -> RunRecord {
    RunRecord {
        run_id: id.into(),
        runbook: runbook.into(),
        mode: if slot.is_some() {
            "scheduled"
        } else {
            "automatic"
        }
        .into(),
        slot: slot.map(ts),
        started_at: ts(started),
        finished_at: ts(started) + jiff::SignedDuration::from_secs(3),
        outcome: Outcome::Passed,
        reason: None,
        rto_seconds: Some(2.5),
        rpo_seconds: Some(3600.0),
        rto_objective_seconds: Some(7200),
        rpo_objective_seconds: None,
        recovery_point: Some("p1".into()),
        evidence: Some(format!("/ev/{runbook}/{id}/evidence.json")),
        coverage: None,
    }
}

pub(crate) fn coverage() -> RunCoverage {
    RunCoverage {
        within_seconds: 30 * 86_400,
        objects: 60,
        verified_within: 42,
        ratio: 0.7,
        on_pace: false,
        behind_seconds: Some(45 * 86_400),
        never_verified: 18,
        oldest_verified: Some(ts("2026-11-01T02:00:00.123456789Z")),
        failed: 2,
    }
}

async fn a_slot_is_claimed_once_even_across_restarts(engine: &dyn Engine) {
    let store = engine.open();
    let slot = ts("2026-11-23T02:00:00Z");
    let now = ts("2026-11-23T02:00:00.01Z");
    async fn claim(store: &dyn HistoryStore, runbook: &str) -> Result<bool, StoreError> {
        let (slot, now) = (ts("2026-11-23T02:00:00Z"), ts("2026-11-23T02:00:00.01Z"));
        store
            .record_slot(
                runbook,
                slot,
                SlotState::Recorded,
                Some("schedule"),
                None,
                now,
            )
            .await
    }
    assert!(claim(&*store, "a").await.unwrap());
    assert!(!claim(&*store, "a").await.unwrap());
    // Another runbook's slot at the same instant is its own.
    assert!(claim(&*store, "b").await.unwrap());
    store
        .update_slot("a", slot, SlotState::Running, None, now)
        .await
        .unwrap();
    drop(store);

    // The process died mid-drill. The next one must not run the slot again.
    let store = engine.open();
    assert!(!claim(&*store, "a").await.unwrap());
    let abandoned = store
        .abandon_unfinished(ts("2026-11-23T02:05:00Z"))
        .await
        .unwrap();
    assert_eq!(abandoned, [("a".into(), slot), ("b".into(), slot)]);
    let h = store.history(Some("a")).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].state, Some(SlotState::Abandoned));
    assert_eq!(
        h[0].reason.as_deref(),
        Some("the scheduler stopped before this drill finished")
    );
    assert!(
        store
            .abandon_unfinished(ts("2026-11-23T02:06:00Z"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn history_lists_runs_and_slots_that_did_not_run_oldest_first(engine: &dyn Engine) {
    let store = engine.open();
    let now = ts("2026-11-23T12:00:00Z");
    store
        .record_slot(
            "a",
            ts("2026-11-23T01:00:00Z"),
            SlotState::Missed,
            None,
            Some("the scheduler was not running"),
            now,
        )
        .await
        .unwrap();
    store
        .record_slot(
            "a",
            ts("2026-11-23T02:00:00Z"),
            SlotState::Recorded,
            Some("catch-up"),
            None,
            now,
        )
        .await
        .unwrap();
    let r2 = run(
        "r2",
        "a",
        "2026-11-23T02:00:01Z",
        Some("2026-11-23T02:00:00Z"),
    );
    store.record_run(&r2).await.unwrap();
    store
        .record_run(&run("r1", "b", "2026-11-22T09:00:00.5Z", None))
        .await
        .unwrap();
    store
        .record_slot(
            "a",
            ts("2026-11-23T03:00:00Z"),
            SlotState::SkippedOverlap,
            Some("schedule"),
            None,
            now,
        )
        .await
        .unwrap();

    let all = store.history(None).await.unwrap();
    let summary: Vec<_> = all
        .iter()
        .map(|e| {
            (
                e.runbook.as_str(),
                e.state.map(SlotState::as_str),
                e.run.as_ref().map(|r| r.run_id.as_str()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("b", None, Some("r1")),
            ("a", Some("missed"), None),
            ("a", Some("done"), Some("r2")),
            ("a", Some("skipped-overlap"), None),
        ]
    );
    assert_eq!(
        all[1].reason.as_deref(),
        Some("the scheduler was not running")
    );
    assert_eq!(all[2].trigger.as_deref(), Some("catch-up"));
    assert_eq!(all[2].run.as_ref().unwrap(), &r2);
    assert_eq!(
        all[0].run.as_ref().unwrap().started_at,
        ts("2026-11-22T09:00:00.5Z")
    );
    assert_eq!(store.history(Some("b")).await.unwrap().len(), 1);
    assert!(store.history(Some("c")).await.unwrap().is_empty());
    assert_eq!(
        store.last_slot("a").await.unwrap(),
        Some(ts("2026-11-23T03:00:00Z"))
    );
    assert_eq!(store.last_slot("b").await.unwrap(), None);
}

/// The evidence's instants are nanoseconds; the history gives them back exactly (PostgreSQL's
/// own timestamps would round them to microseconds), and orders runs that a microsecond
/// cannot tell apart.
async fn times_are_kept_to_the_nanosecond_and_in_order(engine: &dyn Engine) {
    let store = engine.open();
    let later = run("r-later", "a", "2026-11-23T02:00:00.000000002Z", None);
    let earlier = run("r-earlier", "a", "2026-11-23T02:00:00.000000001Z", None);
    store.record_run(&later).await.unwrap();
    store.record_run(&earlier).await.unwrap();
    let runs: Vec<RunRecord> = store
        .history(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.run)
        .collect();
    assert_eq!(runs, [earlier, later]);
}

async fn a_runs_coverage_summary_is_kept_and_read_back(engine: &dyn Engine) {
    let store = engine.open();
    let with = RunRecord {
        coverage: Some(coverage()),
        ..run("r1", "a", "2026-11-23T02:00:01Z", None)
    };
    let fresh = RunRecord {
        coverage: Some(RunCoverage {
            oldest_verified: None,
            behind_seconds: None,
            on_pace: true,
            failed: 0,
            ..coverage()
        }),
        ..run("r2", "a", "2026-11-24T02:00:01Z", None)
    };
    let without = run("r3", "b", "2026-11-24T03:00:00Z", None);
    for r in [&with, &fresh, &without] {
        store.record_run(r).await.unwrap();
    }
    let runs: Vec<RunRecord> = store
        .history(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.run)
        .collect();
    assert_eq!(runs, [with, fresh, without]);
}

async fn a_ratio_that_is_not_a_number_does_not_hide_the_history(engine: &dyn Engine) {
    let store = engine.open();
    let odd = RunRecord {
        coverage: Some(RunCoverage {
            ratio: f64::NAN,
            ..coverage()
        }),
        ..run("r1", "a", "2026-11-23T02:00:01Z", None)
    };
    store.record_run(&odd).await.unwrap();
    let history = store.history(None).await.unwrap();
    let read = history[0].run.as_ref().unwrap().coverage.as_ref().unwrap();
    assert!(read.ratio.is_nan());
    assert_eq!(read.objects, 60);
}

/// A run recorded again under its id (a retried write) replaces the row, as SQLite's `INSERT
/// OR REPLACE` does: one line in the history, the second record's values.
async fn a_run_recorded_twice_is_kept_once(engine: &dyn Engine) {
    let store = engine.open();
    let first = run("r1", "a", "2026-11-23T02:00:01Z", None);
    store.record_run(&first).await.unwrap();
    let again = RunRecord {
        outcome: Outcome::Failed,
        reason: Some("hash mismatch".into()),
        coverage: Some(coverage()),
        ..first
    };
    store.record_run(&again).await.unwrap();
    let runs: Vec<RunRecord> = store
        .history(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.run)
        .collect();
    assert_eq!(runs, [again]);
}

async fn the_coverage_ledger_keeps_what_a_phase_wrote_per_runbook_and_forgets_what_it_removed(
    engine: &dyn Engine,
) {
    use lifeboat_core::Algorithm;
    use lifeboat_core::coverage::{Identity, LedgerRow, LedgerUpdate, ObjectKey, Verification};
    let store = engine.open();
    let row = |point: &str, path: &str, verified: Option<Verification>| LedgerRow {
        key: ObjectKey {
            point: point.into(),
            path: path.into(),
        },
        identity: Identity {
            size: 42,
            tag: "mtime:2026-11-21T02:00:00Z".into(),
        },
        first_seen: ts("2026-11-20T00:00:00Z"),
        verified,
    };
    let passed = Verification {
        at: ts("2026-11-21T00:00:00Z"),
        outcome: Outcome::Passed,
        algorithm: Algorithm::Blake3,
        digest: Some("ab".repeat(32)),
    };
    let first = LedgerUpdate {
        remove: Vec::new(),
        upsert: vec![row("p1", "a", Some(passed.clone())), row("p1", "b", None)],
        phase: Some(ts("2026-11-21T00:00:00Z")),
        run_id: "r1".into(),
    };
    store.update_coverage("nightly", &first).await.unwrap();
    store
        .update_coverage(
            "other",
            &LedgerUpdate {
                upsert: vec![row("q", "z", None)],
                phase: None,
                ..LedgerUpdate::default()
            },
        )
        .await
        .unwrap();
    let ledger = store.coverage_ledger("nightly").await.unwrap();
    let mut rows = ledger.rows.clone();
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(rows, first.upsert);
    assert_eq!(ledger.phases, [ts("2026-11-21T00:00:00Z")]);
    assert_eq!(ledger.first_phase, Some(ts("2026-11-21T00:00:00Z")));

    let second = LedgerUpdate {
        remove: vec![ObjectKey {
            point: "p1".into(),
            path: "a".into(),
        }],
        upsert: Vec::new(),
        phase: Some(ts("2026-11-22T00:00:00Z")),
        run_id: "r2".into(),
    };
    store.update_coverage("nightly", &second).await.unwrap();
    let ledger = store.coverage_ledger("nightly").await.unwrap();
    assert_eq!(ledger.rows, [row("p1", "b", None)]);
    assert_eq!(
        ledger.phases,
        [ts("2026-11-22T00:00:00Z"), ts("2026-11-21T00:00:00Z")]
    );
    assert_eq!(ledger.first_phase, Some(ts("2026-11-21T00:00:00Z")));
    assert_eq!(store.coverage_ledger("other").await.unwrap().rows.len(), 1);
    assert_eq!(
        store.coverage_ledger("other").await.unwrap().first_phase,
        None
    );
}
