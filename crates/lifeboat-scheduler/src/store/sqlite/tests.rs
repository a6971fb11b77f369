use std::collections::HashMap;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;

use super::*;
use crate::store::tests::{coverage, run, ts};

// The tests of what every engine does (claims, history, coverage) are in `store/tests.rs`,
// run on SQLite and PostgreSQL alike; these test what only the SQLite file does.

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("deep/er/state.db")).unwrap();
    (dir, store)
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

mod coverage_ledger {
    use lifeboat_core::coverage::{self, PhaseQuery};

    use super::*;

    const DAY: std::time::Duration = coverage::DAY;

    fn query(t0: Timestamp, within_days: u32, budget: Option<u64>, seed: u64) -> PhaseQuery {
        PhaseQuery {
            t0,
            within: DAY * within_days,
            budget,
            schedule: None,
            seed,
        }
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

    /// A ledger written by the schema before the clustered one (migration 5): its rows,
    /// points and phases as a reference ledger left them, written as that schema held them.
    fn previous_schema_with(path: &Path, memory: &coverage::MemoryLedger) {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..CLUSTERED_MIGRATION] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", CLUSTERED_MIGRATION as i64)
            .unwrap();
        for r in &memory.ledger.rows {
            let v = r.verified.as_ref();
            conn.execute(
                "INSERT INTO coverage_objects (runbook, point, path, size, tag, first_seen,
                     verified_at, outcome, algorithm, digest, tie)
                 VALUES ('rb', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    r.key.point,
                    r.key.path,
                    r.identity.size as i64,
                    r.identity.tag,
                    time_text(r.first_seen),
                    v.map(|v| time_text(v.at)),
                    v.map(|v| v.outcome.as_str()),
                    v.map(|v| v.algorithm.as_str()),
                    v.and_then(|v| v.digest.clone()),
                    coverage::key_hash(&r.key),
                ],
            )
            .unwrap();
        }
        for p in &memory.points {
            conn.execute(
                "INSERT INTO coverage_points (runbook, point, fingerprint, objects, bytes)
                 SELECT 'rb', ?1, ?2, COUNT(*), COALESCE(SUM(size), 0) FROM coverage_objects
                 WHERE runbook = 'rb' AND point = ?1",
                params![p.point, p.fingerprint],
            )
            .unwrap();
        }
        for (i, t0) in memory.ledger.phases.iter().enumerate() {
            conn.execute(
                "INSERT INTO coverage_phases (runbook, run_id, t0) VALUES ('rb', ?1, ?2)",
                params![format!("r{i}"), time_text(*t0)],
            )
            .unwrap();
        }
    }

    #[test]
    fn a_ledger_of_the_previous_schema_is_clustered_and_keeps_its_standing_and_plan() {
        use lifeboat_core::Algorithm;
        use lifeboat_core::coverage::{
            Identity, Listed, MemoryLedger, ObjectKey, PhaseRecord, Verification,
        };
        let listed = |point: &str, path: &str, size: u64| Listed {
            key: ObjectKey {
                point: point.into(),
                path: path.into(),
            },
            identity: Identity {
                size,
                tag: "etag:0".into(),
            },
        };
        // Three days of phases over three points: some objects passed, one failed, some
        // never verified, one point new on the last day.
        let mut memory = MemoryLedger::default();
        for day in 0..3i64 {
            let t0 = ts("2026-11-10T02:00:00Z") + SignedDuration::from_hours(24 * day);
            let point = format!("p{day}");
            let objects: Vec<Listed> = (0..40)
                .map(|i| listed(&point, &format!("f{i:02}"), 10 + i))
                .collect();
            memory.stage(t0, &point, &coverage::fingerprint(&objects), &objects);
            let selection = memory.plan(&query(t0, 5, None, 7));
            let verified = selection
                .read
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let v = Verification {
                        at: t0,
                        outcome: if i == 3 {
                            Outcome::Failed
                        } else {
                            Outcome::Passed
                        },
                        algorithm: Algorithm::Sha256,
                        digest: Some(format!("{i:064x}")),
                    };
                    (selection.key(r), v)
                })
                .collect();
            memory.record(&PhaseRecord {
                verified,
                phase: Some(t0),
                run_id: format!("r{day}"),
                last_verified: Vec::new(),
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        previous_schema_with(&path, &memory);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let clustered: i64 = store
            .lock()
            .query_row(
                "SELECT wr FROM pragma_table_list WHERE name = 'coverage_objects'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(clustered, 1, "the ledger is a WITHOUT ROWID table");
        let t0 = ts("2026-11-13T02:00:00Z");
        for within in [1, 2, 5] {
            assert_eq!(
                store.coverage_standing("rb", t0, DAY * within).unwrap(),
                memory.standing(t0, DAY * within),
                "within {within} days"
            );
            for seed in 0..4 {
                let q = query(t0, within, None, seed);
                assert_eq!(store.plan_coverage("rb", &q).unwrap(), memory.plan(&q));
            }
        }
        let mut rows = store.coverage_ledger("rb").unwrap().rows;
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let mut want = memory.ledger.rows.clone();
        want.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(rows, want);
    }
}
