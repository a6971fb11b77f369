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
    let known = format!(
        "schema version 99 was written by a newer lifeboat; this one knows up to {}",
        MIGRATIONS.len()
    );
    assert!(err.to_string().ends_with(&known), "{err}");
}

#[test]
fn open_existing_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    assert!(SqliteStore::open_existing(&path).unwrap().is_none());
    assert!(!path.exists());
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

#[test]
fn the_coverage_ledger_keeps_what_a_phase_wrote_per_runbook_and_forgets_what_it_removed() {
    use lifeboat_core::Algorithm;
    use lifeboat_core::coverage::{Identity, LedgerRow, LedgerUpdate, ObjectKey, Verification};
    let (_dir, store) = temp_store();
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
    store.update_coverage("nightly", &first).unwrap();
    store
        .update_coverage(
            "other",
            &LedgerUpdate {
                upsert: vec![row("q", "z", None)],
                phase: None,
                ..LedgerUpdate::default()
            },
        )
        .unwrap();
    let ledger = store.coverage_ledger("nightly").unwrap();
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
    store.update_coverage("nightly", &second).unwrap();
    let ledger = store.coverage_ledger("nightly").unwrap();
    assert_eq!(ledger.rows, [row("p1", "b", None)]);
    assert_eq!(
        ledger.phases,
        [ts("2026-11-22T00:00:00Z"), ts("2026-11-21T00:00:00Z")]
    );
    assert_eq!(ledger.first_phase, Some(ts("2026-11-21T00:00:00Z")));
    assert_eq!(store.coverage_ledger("other").unwrap().rows.len(), 1);
    assert_eq!(store.coverage_ledger("other").unwrap().first_phase, None);
}
