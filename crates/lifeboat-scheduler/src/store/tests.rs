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

    /// Whether its text holds NUL (SQLite's does, PostgreSQL's does not).
    fn holds_nul(&self) -> bool;
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

    fn holds_nul(&self) -> bool {
        true
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

    fn holds_nul(&self) -> bool {
        false
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
        runner: None,
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
    // Alone on its store (SQLite), a starting runner abandons every unfinished slot; on a
    // store shared by runners (PostgreSQL) only a running slot without a lease (as this one,
    // moved to running without a claim), since the others may be live runners' (#17).
    if store.shared() {
        assert_eq!(abandoned, [("a".into(), slot)]);
    } else {
        assert_eq!(abandoned, [("a".into(), slot), ("b".into(), slot)]);
    }
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

/// Claims, leases and fencing (#17 items 2 and 3), on both engines.
mod claims {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    on_every_engine!(
        of_two_claimants_of_one_slot_exactly_one_wins,
        eight_concurrent_claimants_over_a_hundred_slots_claim_each_once,
        a_lapsed_lease_is_claimed_again_and_fences_the_old_runner,
        a_live_lease_is_neither_claimed_nor_closed_by_another_runner,
        the_runner_is_kept_with_the_run,
    );

    const LEASE: Duration = Duration::from_secs(60);

    fn slot_at(i: u32) -> Timestamp {
        ts("2026-11-23T02:00:00Z") + jiff::SignedDuration::from_secs(i64::from(i) * 60)
    }

    async fn record(store: &dyn HistoryStore, runbook: &str, slot: Timestamp) {
        store
            .record_slot(
                runbook,
                slot,
                SlotState::Recorded,
                Some("schedule"),
                None,
                slot,
            )
            .await
            .unwrap();
    }

    async fn of_two_claimants_of_one_slot_exactly_one_wins(engine: &dyn Engine) {
        let (one, two) = (engine.open(), engine.open());
        let slot = slot_at(0);
        record(&*one, "a", slot).await;
        record(&*two, "a", slot).await;
        let now = Timestamp::now();
        let (x, y) = tokio::join!(
            one.claim_slot("a", slot, "one", LEASE, now),
            two.claim_slot("a", slot, "two", LEASE, now),
        );
        let won: Vec<i64> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
        assert_eq!(won, [1], "exactly one claim, attempt 1");
        // Claimed: no one claims it again while its lease holds.
        assert_eq!(
            one.claim_slot("a", slot, "one", LEASE, now).await.unwrap(),
            None
        );
        let u = one.unfinished_slots(now).await.unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].state, u[0].attempt, u[0].lapsed),
            (SlotState::Running, 1, false)
        );
    }

    async fn eight_concurrent_claimants_over_a_hundred_slots_claim_each_once(engine: &dyn Engine) {
        let first = engine.open();
        for i in 0..100 {
            record(&*first, "a", slot_at(i)).await;
        }
        let stores: Vec<Arc<dyn HistoryStore>> = (0..8).map(|_| Arc::from(engine.open())).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (n, store) in stores.into_iter().enumerate() {
            tasks.spawn(async move {
                let mut won = Vec::new();
                for i in 0..100 {
                    // Each claimant walks the slots from its own place, so they meet.
                    let i = (i + n as u32 * 13) % 100;
                    let runner = format!("runner-{n}");
                    if let Some(attempt) = store
                        .claim_slot("a", slot_at(i), &runner, LEASE, Timestamp::now())
                        .await
                        .unwrap()
                    {
                        assert_eq!(attempt, 1);
                        won.push(i);
                    }
                }
                won
            });
        }
        let mut all = Vec::new();
        while let Some(won) = tasks.join_next().await {
            all.extend(won.unwrap());
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (0..100).collect::<Vec<_>>(),
            "each slot claimed exactly once"
        );
    }

    async fn a_lapsed_lease_is_claimed_again_and_fences_the_old_runner(engine: &dyn Engine) {
        let (old, new) = (engine.open(), engine.open());
        let slot = slot_at(0);
        record(&*old, "a", slot).await;
        let short = Duration::from_millis(300);
        let now = Timestamp::now();
        assert_eq!(
            old.claim_slot("a", slot, "old", short, now).await.unwrap(),
            Some(1)
        );
        // The old runner stops beating; once the lease lapsed (on the store's clock; SQLite's
        // is the `now` it is given) another runner claims the slot again.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let later = now + jiff::SignedDuration::from_millis(400);
        let u = new.unfinished_slots(later).await.unwrap();
        assert!(u[0].lapsed && u[0].claimable(), "{u:?}");
        assert_eq!(u[0].runner.as_deref(), Some("old"));
        assert_eq!(
            new.claim_slot("a", slot, "new", LEASE, later)
                .await
                .unwrap(),
            Some(2)
        );
        // The old runner is fenced: its heartbeat and its record fail, and write nothing.
        assert!(!old.renew_claim("a", slot, 1, LEASE, later).await.unwrap());
        let mut first = run(
            "first",
            "a",
            "2026-11-23T02:00:01Z",
            Some("2026-11-23T02:00:00Z"),
        );
        first.runner = Some("old".into());
        assert_eq!(
            old.record_claimed_run(&first, 1).await.unwrap(),
            Fenced::LostTheSlot
        );
        assert!(
            !old.close_slot("a", slot, 1, true, SlotState::Abandoned, "x", later)
                .await
                .unwrap()
        );
        // The new holder's run is recorded, once; recording it again is no loss.
        assert!(new.renew_claim("a", slot, 2, LEASE, later).await.unwrap());
        let mut second = run(
            "second",
            "a",
            "2026-11-23T02:00:02Z",
            Some("2026-11-23T02:00:00Z"),
        );
        second.runner = Some("new".into());
        assert_eq!(
            new.record_claimed_run(&second, 2).await.unwrap(),
            Fenced::Recorded
        );
        assert_eq!(
            new.record_claimed_run(&second, 2).await.unwrap(),
            Fenced::Recorded
        );
        let h = new.history(Some("a")).await.unwrap();
        assert_eq!(h.len(), 1, "{h:?}");
        let r = h[0].run.as_ref().unwrap();
        assert_eq!(
            (r.run_id.as_str(), r.runner.as_deref()),
            ("second", Some("new"))
        );
        assert_eq!(h[0].state, Some(SlotState::Done));
        assert!(new.unfinished_slots(later).await.unwrap().is_empty());
    }

    async fn a_live_lease_is_neither_claimed_nor_closed_by_another_runner(engine: &dyn Engine) {
        let (holder, other) = (engine.open(), engine.open());
        let slot = slot_at(0);
        record(&*holder, "a", slot).await;
        let now = Timestamp::now();
        assert_eq!(
            holder.claim_slot("a", slot, "h", LEASE, now).await.unwrap(),
            Some(1)
        );
        assert!(
            !other
                .close_slot("a", slot, 1, false, SlotState::Abandoned, "x", now)
                .await
                .unwrap()
        );
        assert_eq!(
            other.claim_slot("a", slot, "o", LEASE, now).await.unwrap(),
            None
        );
        if other.shared() {
            // A runner starting beside it abandons nothing of it.
            assert!(other.abandon_unfinished(now).await.unwrap().is_empty());
        }
        // A recorded slot nobody claimed is closed (missed) by whoever sees its window closed.
        let next = slot_at(1);
        record(&*other, "a", next).await;
        assert!(
            other
                .close_slot("a", next, 0, false, SlotState::Missed, "late", now)
                .await
                .unwrap()
        );
        assert_eq!(
            holder.claim_slot("a", next, "h", LEASE, now).await.unwrap(),
            None
        );
        assert!(holder.renew_claim("a", slot, 1, LEASE, now).await.unwrap());
    }

    async fn the_runner_is_kept_with_the_run(engine: &dyn Engine) {
        let store = engine.open();
        let mut r = run("r1", "a", "2026-11-23T02:00:01Z", None);
        store.record_run(&r).await.unwrap();
        r.run_id = "r2".into();
        r.started_at = ts("2026-11-23T02:00:02Z");
        r.runner = Some("eu-1".into());
        store.record_run(&r).await.unwrap();
        let runners: Vec<_> = store
            .history(None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.run.unwrap().runner)
            .collect();
        assert_eq!(runners, [None, Some("eu-1".to_owned())]);
    }
}

mod coverage_ledger {
    use lifeboat_core::Algorithm;
    use lifeboat_core::coverage::{
        self, Identity, Listed, MemoryLedger, ObjectKey, PhaseQuery, PhaseRecord, PointListing,
        Verification,
    };

    use super::*;
    use jiff::SignedDuration;

    on_every_engine!(
        the_store_plans_what_the_reference_planner_plans_on_random_ledgers,
        a_backlog_past_its_window_is_read_whole_as_the_reference_reads_it,
        an_object_changed_in_storage_is_verified_again_by_the_next_phase,
        a_point_that_left_the_window_leaves_the_ledger_whole_and_other_runbooks_stay,
        names_with_any_bytes_are_values_never_sql,
        sizes_past_a_point_total_are_refused_and_change_nothing,
        the_ledger_keeps_what_phases_recorded_per_runbook,
        a_phase_larger_than_a_batch_is_recorded_whole_the_last_of_a_key_kept,
        points_longer_than_a_fetch_are_merged_in_the_reference_order,
    );

    const DAY: std::time::Duration = coverage::DAY;

    fn listed(point: &str, path: &str, size: u64, tag: &str) -> Listed {
        Listed {
            key: ObjectKey {
                point: point.into(),
                path: path.into(),
            },
            identity: Identity {
                size,
                tag: tag.into(),
            },
        }
    }

    fn listing(point: &str, objects: &[Listed]) -> PointListing {
        PointListing {
            point: point.into(),
            fingerprint: coverage::fingerprint(objects),
        }
    }

    fn query(t0: Timestamp, within_days: u32, budget: Option<u64>, seed: u64) -> PhaseQuery {
        PhaseQuery {
            t0,
            within: DAY * within_days,
            budget,
            schedule: None,
            seed,
        }
    }

    fn passed(at: Timestamp) -> Verification {
        Verification {
            at,
            outcome: Outcome::Passed,
            algorithm: Algorithm::Sha256,
            digest: Some("ab".repeat(32)),
        }
    }

    /// A deterministic generator (splitmix64): random ledgers without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    async fn the_store_plans_what_the_reference_planner_plans_on_random_ledgers(
        engine: &dyn Engine,
    ) {
        let store = engine.open();
        for case in 0..24u64 {
            let mut rng = Rng(case);
            // A runbook of its own per case: the ledgers of a store's runbooks are apart.
            let rb = format!("rb{case}");
            let mut memory = MemoryLedger::default();
            let within = 1 + rng.below(6) as u32;
            let budget = (rng.below(2) == 0).then(|| 50 + rng.below(800));
            let retention = 1 + rng.below(5) as i64;
            // Objects of a point keep their identity, but some change from day to day.
            for day in 0..14i64 {
                let t0 = ts("2026-11-01T02:00:00Z") + SignedDuration::from_hours(24 * day);
                let t0 = t0 + SignedDuration::from_secs(rng.below(3) as i64 * 3600);
                let mut points = Vec::new();
                for p in (day - retention).max(0)..=day {
                    let point = format!("p{p:02}");
                    let n = 1 + (p as u64 * 7 + case) % 9;
                    let objects: Vec<Listed> = (0..n)
                        .map(|i| {
                            let changed = rng.below(12) == 0;
                            let tag = if changed {
                                format!("etag:{day}")
                            } else {
                                "etag:0".into()
                            };
                            // A path listed twice, now and then: one object, as first listed.
                            let path = format!("f{}", if rng.below(20) == 0 { 0 } else { i });
                            listed(&point, &path, 10 + (i * 37 + p as u64) % 300, &tag)
                        })
                        .collect();
                    let l = listing(&point, &objects);
                    store.stage_coverage(&rb, t0, &l, &objects).await.unwrap();
                    memory.stage(t0, &point, &l.fingerprint, &objects);
                    points.push(point);
                }
                store.retain_coverage(&rb, &points).await.unwrap();
                memory.retain(&points);
                let q = query(t0, within, budget, rng.below(5));
                let got = store.plan_coverage(&rb, &q).await.unwrap();
                let want = memory.plan(&q);
                assert_eq!(got, want, "case {case}, day {day}");
                // Read what was planned; now and then an object fails.
                let record = PhaseRecord {
                    verified: got
                        .read
                        .iter()
                        .map(|r| {
                            let mut v = passed(t0);
                            if rng.below(10) == 0 {
                                v.outcome = Outcome::Failed;
                            }
                            (got.key(r), v)
                        })
                        .collect(),
                    phase: (rng.below(8) != 0).then_some(t0),
                    run_id: format!("r{day}"),
                    // The plan's hints as a drill gives them; now and then none, or
                    // hints the ledger does not agree with: the record means the same.
                    last_verified: match rng.below(4) {
                        0 => Vec::new(),
                        1 => got
                            .read
                            .iter()
                            .map(|r| match r.last {
                                Some(_) => None,
                                None => Some(t0 - DAY),
                            })
                            .collect(),
                        _ => got.read.iter().map(|r| r.last.map(|l| l.at)).collect(),
                    },
                };
                store.record_coverage(&rb, &record).await.unwrap();
                memory.record(&record);
                let within = DAY * within;
                assert_eq!(
                    store.coverage_standing(&rb, t0, within).await.unwrap(),
                    coverage::standing(&memory.ledger.rows, t0, within),
                    "case {case}, day {day}"
                );
            }
            let mut rows = store.coverage_ledger(&rb).await.unwrap().rows;
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            let mut want = memory.ledger.rows.clone();
            want.sort_by(|a, b| a.key.cmp(&b.key));
            assert_eq!(rows, want, "case {case}");
        }
    }

    async fn a_backlog_past_its_window_is_read_whole_as_the_reference_reads_it(
        engine: &dyn Engine,
    ) {
        let store = engine.open();
        let mut memory = MemoryLedger::default();
        let t0 = ts("2026-11-21T02:00:00Z");
        let objects: Vec<Listed> = (0..20)
            .map(|i| listed("p1", &format!("f{i:02}"), 10, "etag:1"))
            .collect();
        let l = listing("p1", &objects);
        store.stage_coverage("rb", t0, &l, &objects).await.unwrap();
        memory.stage(t0, "p1", &l.fingerprint, &objects);
        // Coverage started, and its daily phases read nothing (their budget was nil).
        for day in 0..3 {
            let phase = PhaseRecord {
                phase: Some(t0 + SignedDuration::from_hours(24 * day)),
                run_id: format!("r{day}"),
                ..PhaseRecord::default()
            };
            store.record_coverage("rb", &phase).await.unwrap();
            memory.record(&phase);
        }
        // Three days on, a 2-day window: the whole backlog is overdue, not just a share.
        let t3 = t0 + SignedDuration::from_hours(72);
        let q = query(t3, 2, None, 3);
        let plan = store.plan_coverage("rb", &q).await.unwrap();
        assert_eq!(plan.read.len(), 20);
        assert_eq!(plan, memory.plan(&q));
    }

    async fn points_longer_than_a_fetch_are_merged_in_the_reference_order(engine: &dyn Engine) {
        // The plan merges each point's stream (PostgreSQL fetches each a batch at a time):
        // with points longer than a batch, over two turns (the backlog, then a day's
        // verifications), whole and stopped midway by a budget, the order is the reference's.
        let store = engine.open();
        let mut memory = MemoryLedger::default();
        let t0 = ts("2026-11-21T02:00:00Z");
        for p in ["p1", "p2", "p3"] {
            let objects: Vec<Listed> = (0..700)
                .map(|i| listed(p, &format!("f{i:04}"), 10 + i % 7, "etag:1"))
                .collect();
            let l = listing(p, &objects);
            store.stage_coverage("rb", t0, &l, &objects).await.unwrap();
            memory.stage(t0, p, &l.fingerprint, &objects);
        }
        // Day 0 verifies what its plan reads; days 1 and 2 read nothing.
        let first = store
            .plan_coverage("rb", &query(t0, 10, None, 5))
            .await
            .unwrap();
        assert_eq!(first, memory.plan(&query(t0, 10, None, 5)));
        let record = PhaseRecord {
            verified: first
                .read
                .iter()
                .map(|r| (first.key(r), passed(t0)))
                .collect(),
            phase: Some(t0),
            run_id: "r0".into(),
            last_verified: Vec::new(),
        };
        store.record_coverage("rb", &record).await.unwrap();
        memory.record(&record);
        for day in 1..3 {
            let phase = PhaseRecord {
                phase: Some(t0 + SignedDuration::from_hours(24 * day)),
                run_id: format!("r{day}"),
                ..PhaseRecord::default()
            };
            store.record_coverage("rb", &phase).await.unwrap();
            memory.record(&phase);
        }
        // Three days on, a 2-day window: the backlog and day 0's objects are all overdue.
        let t3 = t0 + SignedDuration::from_hours(72);
        for (seed, budget) in [(3, None), (8, Some(9_000)), (1, Some(20_000))] {
            let q = query(t3, 2, budget, seed);
            let plan = store.plan_coverage("rb", &q).await.unwrap();
            assert!(plan.read.len() > 300, "seed {seed}: {}", plan.read.len());
            assert_eq!(plan, memory.plan(&q), "seed {seed}");
        }
    }

    async fn a_phase_larger_than_a_batch_is_recorded_whole_the_last_of_a_key_kept(
        engine: &dyn Engine,
    ) {
        // PostgreSQL sends a phase RECORD_BATCH verifications a statement: one over the
        // batch, every object is recorded, and a key recorded twice (first failed, then
        // passed) keeps the last, across the batches' boundary.
        let store = engine.open();
        let t0 = ts("2026-11-21T02:00:00Z");
        let n = crate::store::RECORD_BATCH + 3;
        let objects: Vec<Listed> = (0..n)
            .map(|i| listed("p1", &format!("f{i:06}"), 1, "etag:1"))
            .collect();
        store
            .stage_coverage("rb", t0, &listing("p1", &objects), &objects)
            .await
            .unwrap();
        let failed = Verification {
            outcome: lifeboat_core::evidence::Outcome::Failed,
            ..passed(t0)
        };
        let mut verified: Vec<(ObjectKey, Verification)> = vec![(objects[0].key.clone(), failed)];
        verified.extend(objects.iter().map(|o| (o.key.clone(), passed(t0))));
        let record = PhaseRecord {
            verified,
            phase: Some(t0),
            run_id: "big".into(),
            last_verified: Vec::new(),
        };
        store.record_coverage("rb", &record).await.unwrap();
        let s = store.coverage_standing("rb", t0, DAY * 2).await.unwrap();
        assert_eq!((s.objects, s.verified_within), (n as u64, n as u64));
        assert_eq!(s.never_verified, 0);
    }

    async fn an_object_changed_in_storage_is_verified_again_by_the_next_phase(engine: &dyn Engine) {
        let store = engine.open();
        let t0 = ts("2026-11-21T02:00:00Z");
        let objects: Vec<Listed> = (0..20)
            .map(|i| listed("p1", &format!("f{i:02}"), 100, "mtime:1"))
            .collect();
        store
            .stage_coverage("rb", t0, &listing("p1", &objects), &objects)
            .await
            .unwrap();
        let all = PhaseRecord {
            verified: objects
                .iter()
                .map(|o| (o.key.clone(), passed(t0)))
                .collect(),
            phase: Some(t0),
            run_id: "r1".into(),
            last_verified: Vec::new(),
        };
        store.record_coverage("rb", &all).await.unwrap();
        // The next day one object has another size under the same name.
        let mut changed = objects.clone();
        changed[13].identity.size = 101;
        let t1 = t0 + SignedDuration::from_hours(24);
        store
            .stage_coverage("rb", t1, &listing("p1", &changed), &changed)
            .await
            .unwrap();
        let plan = store
            .plan_coverage("rb", &query(t1, 20, None, 1))
            .await
            .unwrap();
        assert_eq!(plan.key(&plan.read[0]), changed[13].key);
        assert_eq!(plan.read[0].size, 101);
        assert_eq!(plan.read[0].last, None);
        // A selection does not carry when an object was first listed: the ledger does.
        let ledger = store.coverage_ledger("rb").await.unwrap();
        let row = ledger.rows.iter().find(|r| r.key == changed[13].key);
        assert_eq!(row.map(|r| r.first_seen), Some(t1));
        // Everything else kept its verification.
        let standing = store.coverage_standing("rb", t1, DAY * 20).await.unwrap();
        assert_eq!((standing.objects, standing.never_verified), (20, 1));
    }

    async fn a_point_that_left_the_window_leaves_the_ledger_whole_and_other_runbooks_stay(
        engine: &dyn Engine,
    ) {
        let store = engine.open();
        let t0 = ts("2026-11-21T02:00:00Z");
        for (runbook, point) in [("rb", "p1"), ("rb", "p2"), ("other", "p1")] {
            let objects: Vec<Listed> = (0..5)
                .map(|i| listed(point, &format!("f{i}"), 10, "etag:x"))
                .collect();
            store
                .stage_coverage(runbook, t0, &listing(point, &objects), &objects)
                .await
                .unwrap();
        }
        store.retain_coverage("rb", &["p2".into()]).await.unwrap();
        let ledger = store.coverage_ledger("rb").await.unwrap();
        assert_eq!(ledger.rows.len(), 5);
        assert!(ledger.rows.iter().all(|r| r.key.point == "p2"));
        let points: Vec<String> = store
            .coverage_points("rb")
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.point)
            .collect();
        assert_eq!(points, ["p2"]);
        assert_eq!(store.coverage_ledger("other").await.unwrap().rows.len(), 5);
        let s = store.coverage_standing("rb", t0, DAY).await.unwrap();
        assert_eq!((s.objects, s.bytes), (5, 50));
    }

    /// Sizes come from a listing, which whoever holds the storage writes: a point whose
    /// objects' sizes add up past what the store can count is refused, on a new point as on
    /// one the ledger holds, and the ledger stays as it was.
    async fn sizes_past_a_point_total_are_refused_and_change_nothing(engine: &dyn Engine) {
        let store = engine.open();
        let t0 = ts("2026-11-21T02:00:00Z");
        let huge = |point: &str| -> Vec<Listed> {
            ["a", "b"]
                .iter()
                .map(|p| listed(point, p, u64::MAX, "etag:1"))
                .collect()
        };
        let new = huge("p1");
        let staged = store
            .stage_coverage("rb", t0, &listing("p1", &new), &new)
            .await;
        assert!(staged.is_err(), "{staged:?}");
        assert!(store.coverage_ledger("rb").await.unwrap().rows.is_empty());
        assert!(store.coverage_points("rb").await.unwrap().is_empty());

        let small = vec![listed("p2", "a", 3, "etag:0")];
        store
            .stage_coverage("rb", t0, &listing("p2", &small), &small)
            .await
            .unwrap();
        let again = huge("p2");
        let staged = store
            .stage_coverage("rb", t0, &listing("p2", &again), &again)
            .await;
        assert!(staged.is_err(), "{staged:?}");
        let rows = store.coverage_ledger("rb").await.unwrap().rows;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].key.path.as_str(), rows[0].identity.size), ("a", 3));
        let s = store.coverage_standing("rb", t0, DAY).await.unwrap();
        assert_eq!((s.objects, s.bytes), (1, 3));
    }

    async fn names_with_any_bytes_are_values_never_sql(engine: &dyn Engine) {
        let store = engine.open();
        let t0 = ts("2026-11-21T02:00:00Z");
        let point = "p'); DROP TABLE coverage_objects; --";
        let objects: Vec<Listed> = ["a'b", "x\ny", "\u{1b}[31mred", "%_*?", "' OR 1=1 --"]
            .iter()
            .map(|p| listed(point, p, 3, "etag:\"q'\""))
            .collect();
        store
            .stage_coverage("rb'", t0, &listing(point, &objects), &objects)
            .await
            .unwrap();
        let plan = store
            .plan_coverage("rb'", &query(t0, 1, None, 0))
            .await
            .unwrap();
        let mut read: Vec<&str> = plan.read.iter().map(|r| &*r.path).collect();
        read.sort();
        let mut want: Vec<&str> = objects.iter().map(|o| o.key.path.as_str()).collect();
        want.sort();
        assert_eq!(read, want);
        assert_eq!(plan.points, [point]);

        // NUL: SQLite keeps it as any other character; PostgreSQL text cannot hold it, and
        // its store refuses the listing whole, naming it, and changes nothing.
        let nul = vec![listed("p2", "\u{0}nul", 3, "etag:1")];
        let staged = store
            .stage_coverage("rb'", t0, &listing("p2", &nul), &nul)
            .await;
        let rows = store.coverage_ledger("rb'").await.unwrap().rows;
        if engine.holds_nul() {
            staged.unwrap();
            assert!(rows.iter().any(|r| r.key.path == "\u{0}nul"));
        } else {
            let e = staged.unwrap_err().to_string();
            assert!(
                e.contains(r#"the name "\0nul" holds a NUL character"#),
                "{e}"
            );
            assert_eq!(rows.len(), objects.len());
            assert!(store.coverage_points("rb'").await.unwrap().len() == 1);
        }
        store.retain_coverage("rb'", &[]).await.unwrap();
        assert!(store.coverage_ledger("rb'").await.unwrap().rows.is_empty());
    }

    /// What phases recorded stays with its runbook: the ledger read whole gives back each
    /// object as staged and verified, the point's fingerprint, and the T0s of the phases
    /// (newest first, and the first); an object no longer listed leaves it; a phase recorded
    /// again (a retried write) is one phase.
    async fn the_ledger_keeps_what_phases_recorded_per_runbook(engine: &dyn Engine) {
        use lifeboat_core::coverage::LedgerRow;
        let store = engine.open();
        let t0 = ts("2026-11-21T00:00:00Z");
        let objects = vec![
            listed("p1", "a", 42, "mtime:2026-11-21T02:00:00Z"),
            listed("p1", "b", 42, "mtime:2026-11-21T02:00:00Z"),
        ];
        store
            .stage_coverage("nightly", t0, &listing("p1", &objects), &objects)
            .await
            .unwrap();
        let other = vec![listed("q", "z", 42, "etag:1")];
        store
            .stage_coverage("other", t0, &listing("q", &other), &other)
            .await
            .unwrap();
        let first = PhaseRecord {
            verified: vec![(objects[0].key.clone(), passed(t0))],
            phase: Some(t0),
            run_id: "r1".into(),
            last_verified: Vec::new(),
        };
        store.record_coverage("nightly", &first).await.unwrap();
        let row = |o: &Listed, verified: Option<Verification>| LedgerRow {
            key: o.key.clone(),
            identity: o.identity.clone(),
            first_seen: t0,
            verified,
        };
        let ledger = store.coverage_ledger("nightly").await.unwrap();
        let mut rows = ledger.rows.clone();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(
            rows,
            [row(&objects[0], Some(passed(t0))), row(&objects[1], None)]
        );
        assert_eq!(ledger.phases, [t0]);
        assert_eq!(ledger.first_phase, Some(t0));

        // The next day `a` is no longer listed.
        let t1 = t0 + SignedDuration::from_hours(24);
        let left = listing("p1", &objects[1..]);
        store
            .stage_coverage("nightly", t1, &left, &objects[1..])
            .await
            .unwrap();
        let second = PhaseRecord {
            phase: Some(t1),
            run_id: "r2".into(),
            ..PhaseRecord::default()
        };
        store.record_coverage("nightly", &second).await.unwrap();
        store.record_coverage("nightly", &second).await.unwrap();
        let ledger = store.coverage_ledger("nightly").await.unwrap();
        assert_eq!(ledger.rows, [row(&objects[1], None)]);
        assert_eq!(ledger.phases, [t1, t0]);
        assert_eq!(ledger.first_phase, Some(t0));
        let points = store.coverage_points("nightly").await.unwrap();
        assert_eq!(
            points
                .iter()
                .map(|p| (p.point.as_str(), p.fingerprint.as_str()))
                .collect::<Vec<_>>(),
            [("p1", left.fingerprint.as_str())]
        );
        let other = store.coverage_ledger("other").await.unwrap();
        assert_eq!(other.rows.len(), 1);
        assert_eq!(other.first_phase, None);
    }
}
