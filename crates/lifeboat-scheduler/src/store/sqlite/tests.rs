use std::collections::HashMap;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("deep/er/state.db")).unwrap();
    (dir, store)
}

fn run(id: &str, runbook: &str, started: &str, slot: Option<&str>) -> RunRecord {
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

#[test]
fn a_new_file_gets_wal_and_the_current_schema_and_reopens_unchanged() {
    let (dir, store) = temp_store();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let mode: String = store
        .lock()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    store
        .record_slot(
            "a",
            ts("2026-11-23T02:00:00Z"),
            SlotState::Missed,
            None,
            None,
            ts("2026-11-23T03:00:00Z"),
        )
        .unwrap();
    drop(store);
    let again = SqliteStore::open(&dir.path().join("deep/er/state.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert_eq!(
        again.last_slot("a").unwrap(),
        Some(ts("2026-11-23T02:00:00Z"))
    );
}

#[test]
fn a_file_from_a_newer_lifeboat_is_refused() {
    let (dir, store) = temp_store();
    store
        .lock()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    drop(store);
    let err = SqliteStore::open(&dir.path().join("deep/er/state.db")).unwrap_err();
    // Counted, not spelt: every migration appended moves it.
    let known = MIGRATIONS.len();
    assert!(
        err.to_string().ends_with(&format!(
            "schema version 99 was written by a newer lifeboat; this one knows up to {known}"
        )),
        "{err}"
    );
}

#[test]
fn open_existing_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    assert!(SqliteStore::open_existing(&path).unwrap().is_none());
    assert!(!path.exists());
}

/// `lifeboat plan` reads the ledger through this: an older file is neither migrated nor
/// switched to WAL (its bytes stay as they were) and reads as no store; a current one reads;
/// a newer one is refused as by `open`.
#[test]
fn open_read_only_changes_nothing_in_an_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    assert!(SqliteStore::open_read_only(&path).unwrap().is_none());
    assert!(!path.exists());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert!(SqliteStore::open_read_only(&path).unwrap().is_none());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.path().join("state.db-wal").exists());

    drop(SqliteStore::open(&path).unwrap());
    let store = SqliteStore::open_read_only(&path)
        .unwrap()
        .expect("a current file");
    assert!(store.coverage_ledger("nightly").unwrap().rows.is_empty());
    drop(store);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn a_slot_is_claimed_once_even_across_restarts() {
    let (dir, store) = temp_store();
    let slot = ts("2026-11-23T02:00:00Z");
    let now = ts("2026-11-23T02:00:00.01Z");
    assert!(
        store
            .record_slot("a", slot, SlotState::Recorded, Some("schedule"), None, now)
            .unwrap()
    );
    assert!(
        !store
            .record_slot("a", slot, SlotState::Recorded, Some("schedule"), None, now)
            .unwrap()
    );
    // Another runbook's slot at the same instant is its own.
    assert!(
        store
            .record_slot("b", slot, SlotState::Recorded, Some("schedule"), None, now)
            .unwrap()
    );
    store
        .update_slot("a", slot, SlotState::Running, None, now)
        .unwrap();
    drop(store);

    // The process died mid-drill. The next one must not run the slot again.
    let store = SqliteStore::open(&dir.path().join("deep/er/state.db")).unwrap();
    assert!(
        !store
            .record_slot("a", slot, SlotState::Recorded, Some("schedule"), None, now)
            .unwrap()
    );
    let abandoned = store
        .abandon_unfinished(ts("2026-11-23T02:05:00Z"))
        .unwrap();
    assert_eq!(abandoned, [("a".into(), slot), ("b".into(), slot)]);
    let h = store.history(Some("a")).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].state, Some(SlotState::Abandoned));
    assert_eq!(
        h[0].reason.as_deref(),
        Some("the scheduler stopped before this drill finished")
    );
    assert!(
        store
            .abandon_unfinished(ts("2026-11-23T02:06:00Z"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn history_lists_runs_and_slots_that_did_not_run_oldest_first() {
    let (_dir, store) = temp_store();
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
        .unwrap();
    store
        .record_run(&run(
            "r2",
            "a",
            "2026-11-23T02:00:01Z",
            Some("2026-11-23T02:00:00Z"),
        ))
        .unwrap();
    store
        .record_run(&run("r1", "b", "2026-11-22T09:00:00.5Z", None))
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
        .unwrap();

    let all = store.history(None).unwrap();
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
    assert_eq!(
        all[2].run.as_ref().unwrap(),
        &run(
            "r2",
            "a",
            "2026-11-23T02:00:01Z",
            Some("2026-11-23T02:00:00Z")
        )
    );
    assert_eq!(
        all[0].run.as_ref().unwrap().started_at,
        ts("2026-11-22T09:00:00.5Z")
    );
    assert_eq!(store.history(Some("b")).unwrap().len(), 1);
    assert!(store.history(Some("c")).unwrap().is_empty());
    assert_eq!(
        store.last_slot("a").unwrap(),
        Some(ts("2026-11-23T03:00:00Z"))
    );
    assert_eq!(store.last_slot("b").unwrap(), None);
}

#[test]
fn default_path_follows_xdg_then_home() {
    let env = |pairs: &[(&str, &str)]| {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| m.get(k).cloned()
    };
    assert_eq!(
        default_path(&env(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/u")])),
        Some(PathBuf::from("/data/lifeboat/state.db"))
    );
    assert_eq!(
        default_path(&env(&[("XDG_DATA_HOME", "relative"), ("HOME", "/home/u")])),
        Some(PathBuf::from("/home/u/.local/share/lifeboat/state.db"))
    );
    assert_eq!(default_path(&env(&[])), None);
}

#[test]
fn processes_opening_a_new_file_at_once_do_not_race_the_migration() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    SqliteStore::open(&path).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), MIGRATIONS.len() as i64);
        }
    }
}

/// Another process (`lifeboat history`, `status`, a second daemon) holds the write lock for
/// a moment; `held` runs while it does.
fn while_another_connection_writes<T>(path: &Path, held: impl FnOnce() -> T) -> T {
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let other = {
        let path = path.to_owned();
        std::thread::spawn(move || {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            locked_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
        })
    };
    locked_rx.recv().unwrap();
    let out = held();
    other.join().unwrap();
    out
}

#[test]
fn writes_wait_for_another_writer_instead_of_failing_at_once() {
    // A transaction that reads before it writes, begun deferred, cannot wait for the lock:
    // SQLite answers "database is locked" at once when it tries to upgrade. Seen in the
    // suite as a daemon that died at start while a `lifeboat history` polled the file.
    let (dir, store) = temp_store();
    let path = dir.path().join("deep/er/state.db");
    store
        .record_slot(
            "a",
            ts("2026-11-23T02:00:00Z"),
            SlotState::Running,
            None,
            None,
            ts("2026-11-23T02:00:00Z"),
        )
        .unwrap();
    let abandoned = while_another_connection_writes(&path, || {
        store.abandon_unfinished(ts("2026-11-23T03:00:00Z"))
    })
    .unwrap();
    assert_eq!(
        abandoned,
        vec![("a".to_owned(), ts("2026-11-23T02:00:00Z"))]
    );
    while_another_connection_writes(&path, || {
        store.record_run(&run("r1", "a", "2026-11-23T04:00:00Z", None))
    })
    .unwrap();
    assert_eq!(store.history(None).unwrap().len(), 2);
}

#[test]
fn opening_a_current_store_takes_no_write_lock() {
    // `lifeboat history` and `status` poll a file the daemon writes: opening must not queue
    // behind the daemon's writes, nor make the daemon queue behind it.
    let (dir, _store) = temp_store();
    let path = dir.path().join("deep/er/state.db");
    let started = std::time::Instant::now();
    let opened = while_another_connection_writes(&path, || {
        let opened = SqliteStore::open_existing(&path).map(|s| s.is_some());
        (opened, started.elapsed())
    });
    assert!(opened.0.unwrap());
    assert!(
        opened.1 < std::time::Duration::from_millis(250),
        "opening waited {:?} for another writer",
        opened.1
    );
}

fn coverage() -> RunCoverage {
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

#[test]
fn a_runs_coverage_summary_is_kept_and_read_back() {
    let (_dir, store) = temp_store();
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
        store.record_run(r).unwrap();
    }
    let runs: Vec<RunRecord> = store
        .history(None)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.run)
        .collect();
    assert_eq!(runs, [with, fresh, without]);
}

#[test]
fn runs_recorded_before_coverage_existed_read_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        // A file as the first schema left it, holding one run.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO runs (run_id, runbook, mode, started_at, finished_at, outcome)
             VALUES ('old', 'a', 'automatic', '2026-11-01T02:00:00.000000000Z',
                     '2026-11-01T02:00:01.000000000Z', 'passed')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let history = store.history(None).unwrap();
    let old = history[0].run.as_ref().unwrap();
    assert_eq!((old.run_id.as_str(), &old.coverage), ("old", &None));
    // And the migrated file takes a run with coverage.
    let new = RunRecord {
        coverage: Some(coverage()),
        ..run("new", "a", "2026-11-02T02:00:00Z", None)
    };
    store.record_run(&new).unwrap();
    assert_eq!(store.history(None).unwrap()[1].run.as_ref(), Some(&new));
}

#[test]
fn the_summary_of_a_record_counts_the_objects_that_failed() {
    use lifeboat_core::evidence::{CoverageObject, CoverageRecord};
    let object = |path: &str, outcome| CoverageObject {
        recovery_point: "p1".into(),
        path: path.into(),
        outcome,
        algorithm: lifeboat_core::Algorithm::Sha256,
        actual: None,
        bytes: 1,
        reason: (outcome != Outcome::Passed).then(|| "hash mismatch".into()),
    };
    let record = CoverageRecord {
        within_seconds: 86_400,
        budget_bytes: Some(10),
        objects: 3,
        bytes: 3,
        verified_within: 1,
        ratio: 1.0 / 3.0,
        on_pace: true,
        behind_seconds: None,
        never_verified: 0,
        oldest_verified: Some(ts("2026-11-01T00:00:00Z")),
        phase_bytes: 3,
        verified: vec![
            object("a", Outcome::Passed),
            object("b", Outcome::Failed),
            object("c", Outcome::Failed),
        ],
    };
    let summary = RunCoverage::from_record(&record);
    assert_eq!(summary.failed, 2);
    assert_eq!(
        (summary.objects, summary.verified_within, summary.on_pace),
        (3, 1, true)
    );
    assert_eq!(summary.oldest_verified, Some(ts("2026-11-01T00:00:00Z")));
}

#[test]
fn a_ratio_that_is_not_a_number_does_not_hide_the_history() {
    let (_dir, store) = temp_store();
    let odd = RunRecord {
        coverage: Some(RunCoverage {
            ratio: f64::NAN,
            ..coverage()
        }),
        ..run("r1", "a", "2026-11-23T02:00:01Z", None)
    };
    store.record_run(&odd).unwrap();
    let history = store.history(None).unwrap();
    let read = history[0].run.as_ref().unwrap().coverage.as_ref().unwrap();
    assert!(read.ratio.is_nan());
    assert_eq!(read.objects, 60);
}

mod coverage_ledger {
    use lifeboat_core::Algorithm;
    use lifeboat_core::coverage::{
        self, Identity, Listed, MemoryLedger, ObjectKey, PhaseQuery, PhaseRecord, PointListing,
        Verification,
    };

    use super::*;

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

    #[test]
    fn the_store_plans_what_the_reference_planner_plans_on_random_ledgers() {
        for case in 0..24u64 {
            let mut rng = Rng(case);
            let (_dir, store) = temp_store();
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
                    store.stage_coverage("rb", t0, &l, &objects).unwrap();
                    memory.stage(t0, &point, &l.fingerprint, &objects);
                    points.push(point);
                }
                store.retain_coverage("rb", &points).unwrap();
                memory.retain(&points);
                let q = query(t0, within, budget, rng.below(5));
                let got = store.plan_coverage("rb", &q).unwrap();
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
                            (r.key.clone(), v)
                        })
                        .collect(),
                    phase: (rng.below(8) != 0).then_some(t0),
                    run_id: format!("r{day}"),
                };
                store.record_coverage("rb", &record).unwrap();
                memory.record(&record);
                let within = DAY * within;
                assert_eq!(
                    store.coverage_standing("rb", t0, within).unwrap(),
                    coverage::standing(&memory.ledger.rows, t0, within),
                    "case {case}, day {day}"
                );
            }
            let mut rows = store.coverage_ledger("rb").unwrap().rows;
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            let mut want = memory.ledger.rows.clone();
            want.sort_by(|a, b| a.key.cmp(&b.key));
            assert_eq!(rows, want, "case {case}");
        }
    }

    #[test]
    fn a_backlog_past_its_window_is_read_whole_as_the_reference_reads_it() {
        let (_dir, store) = temp_store();
        let mut memory = MemoryLedger::default();
        let t0 = ts("2026-11-21T02:00:00Z");
        let objects: Vec<Listed> = (0..20)
            .map(|i| listed("p1", &format!("f{i:02}"), 10, "etag:1"))
            .collect();
        let l = listing("p1", &objects);
        store.stage_coverage("rb", t0, &l, &objects).unwrap();
        memory.stage(t0, "p1", &l.fingerprint, &objects);
        // Coverage started, and its daily phases read nothing (their budget was nil).
        for day in 0..3 {
            let phase = PhaseRecord {
                phase: Some(t0 + SignedDuration::from_hours(24 * day)),
                run_id: format!("r{day}"),
                ..PhaseRecord::default()
            };
            store.record_coverage("rb", &phase).unwrap();
            memory.record(&phase);
        }
        // Three days on, a 2-day window: the whole backlog is overdue, not just a share.
        let t3 = t0 + SignedDuration::from_hours(72);
        let q = query(t3, 2, None, 3);
        let plan = store.plan_coverage("rb", &q).unwrap();
        assert_eq!(plan.read.len(), 20);
        assert_eq!(plan, memory.plan(&q));
    }

    #[test]
    fn an_object_changed_in_storage_is_verified_again_by_the_next_phase() {
        let (_dir, store) = temp_store();
        let t0 = ts("2026-11-21T02:00:00Z");
        let objects: Vec<Listed> = (0..20)
            .map(|i| listed("p1", &format!("f{i:02}"), 100, "mtime:1"))
            .collect();
        store
            .stage_coverage("rb", t0, &listing("p1", &objects), &objects)
            .unwrap();
        let all = PhaseRecord {
            verified: objects
                .iter()
                .map(|o| (o.key.clone(), passed(t0)))
                .collect(),
            phase: Some(t0),
            run_id: "r1".into(),
        };
        store.record_coverage("rb", &all).unwrap();
        // The next day one object has another size under the same name.
        let mut changed = objects.clone();
        changed[13].identity.size = 101;
        let t1 = t0 + SignedDuration::from_hours(24);
        store
            .stage_coverage("rb", t1, &listing("p1", &changed), &changed)
            .unwrap();
        let plan = store.plan_coverage("rb", &query(t1, 20, None, 1)).unwrap();
        assert_eq!(plan.read[0].key, changed[13].key);
        assert_eq!(plan.read[0].identity.size, 101);
        assert_eq!(plan.read[0].verified, None);
        assert_eq!(plan.read[0].first_seen, t1);
        // Everything else kept its verification.
        let standing = store.coverage_standing("rb", t1, DAY * 20).unwrap();
        assert_eq!((standing.objects, standing.never_verified), (20, 1));
    }

    #[test]
    fn a_point_that_left_the_window_leaves_the_ledger_whole_and_other_runbooks_stay() {
        let (_dir, store) = temp_store();
        let t0 = ts("2026-11-21T02:00:00Z");
        for (runbook, point) in [("rb", "p1"), ("rb", "p2"), ("other", "p1")] {
            let objects: Vec<Listed> = (0..5)
                .map(|i| listed(point, &format!("f{i}"), 10, "etag:x"))
                .collect();
            store
                .stage_coverage(runbook, t0, &listing(point, &objects), &objects)
                .unwrap();
        }
        store.retain_coverage("rb", &["p2".into()]).unwrap();
        let ledger = store.coverage_ledger("rb").unwrap();
        assert_eq!(ledger.rows.len(), 5);
        assert!(ledger.rows.iter().all(|r| r.key.point == "p2"));
        let points: Vec<String> = store
            .coverage_points("rb")
            .unwrap()
            .into_iter()
            .map(|p| p.point)
            .collect();
        assert_eq!(points, ["p2"]);
        assert_eq!(store.coverage_ledger("other").unwrap().rows.len(), 5);
        let s = store.coverage_standing("rb", t0, DAY).unwrap();
        assert_eq!((s.objects, s.bytes), (5, 50));
    }

    #[test]
    fn names_with_any_bytes_are_values_never_sql() {
        let (_dir, store) = temp_store();
        let t0 = ts("2026-11-21T02:00:00Z");
        let point = "p'); DROP TABLE coverage_objects; --";
        let objects: Vec<Listed> = [
            "a'b",
            "\u{0}nul",
            "x\ny",
            "\u{1b}[31mred",
            "%_*?",
            "' OR 1=1 --",
        ]
        .iter()
        .map(|p| listed(point, p, 3, "etag:\"q'\""))
        .collect();
        store
            .stage_coverage("rb'", t0, &listing(point, &objects), &objects)
            .unwrap();
        let plan = store.plan_coverage("rb'", &query(t0, 1, None, 0)).unwrap();
        let mut read: Vec<&str> = plan.read.iter().map(|r| r.key.path.as_str()).collect();
        read.sort();
        let mut want: Vec<&str> = objects.iter().map(|o| o.key.path.as_str()).collect();
        want.sort();
        assert_eq!(read, want);
        assert!(plan.read.iter().all(|r| r.key.point == point));
        store.retain_coverage("rb'", &[]).unwrap();
        assert!(store.coverage_ledger("rb'").unwrap().rows.is_empty());
    }

    #[test]
    fn a_ledger_written_before_the_planner_moved_into_sql_is_planned_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute(
                "INSERT INTO coverage_objects (runbook, point, path, size, tag, first_seen)
                 VALUES ('rb', 'p1', 'a', 7, 'etag:1', '2026-11-20T00:00:00.000000000Z'),
                        ('rb', 'p1', 'b', 9, 'etag:2', '2026-11-20T00:00:00.000000000Z')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let t0 = ts("2026-11-21T00:00:00Z");
        let s = store.coverage_standing("rb", t0, DAY).unwrap();
        assert_eq!((s.objects, s.bytes, s.never_verified), (2, 16, 2));
        let plan = store.plan_coverage("rb", &query(t0, 1, None, 0)).unwrap();
        assert_eq!(plan.read.len(), 2);
        // The old point's fingerprint is unknown: the next listing stages it again, keeping
        // what is unchanged.
        assert_eq!(store.coverage_points("rb").unwrap()[0].fingerprint, "");
    }
}
