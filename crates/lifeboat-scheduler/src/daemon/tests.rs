//! The loop under tokio's paused time: minutes of slots run in milliseconds, and every
//! instant is exact.

use std::sync::Mutex;

use lifeboat_core::evidence::Outcome;
use lifeboat_core::runbook::{CatchUp, ScheduleSpec};

use super::*;
use crate::store::{HistoryEntry, SqliteStore};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A drill that takes `takes` of (paused) time and remembers each job it got. With
/// `cancellable`, it stops when its job is cancelled, as the runner does, and says so.
struct FakeDriller {
    takes: Duration,
    cancellable: bool,
    clock: Arc<dyn Clock>,
    calls: Mutex<Vec<(String, Timestamp, Trigger)>>,
}

impl Driller<()> for FakeDriller {
    fn drill(&self, job: Job<()>) -> DrillFuture {
        self.calls
            .lock()
            .unwrap()
            .push((job.runbook.clone(), job.slot, job.trigger));
        let takes = self.takes;
        let cancellable = self.cancellable;
        let clock = self.clock.clone();
        Box::pin(async move {
            let started_at = clock.now();
            let cancelled = async {
                if cancellable {
                    job.cancel.cancelled().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            let interrupted = tokio::select! {
                () = tokio::time::sleep(takes) => false,
                () = cancelled => true,
            };
            Ok(RunRecord {
                run_id: format!("{}@{}", job.runbook, job.slot),
                runbook: job.runbook.clone(),
                mode: "scheduled".into(),
                slot: None,
                started_at,
                finished_at: clock.now(),
                outcome: if interrupted {
                    Outcome::Error
                } else {
                    Outcome::Passed
                },
                reason: interrupted.then(|| "interrupted".into()),
                rto_seconds: Some(1.0),
                rpo_seconds: Some(2.0),
                rto_objective_seconds: None,
                rpo_objective_seconds: None,
                recovery_point: None,
                evidence: None,
                coverage: None,
                runner: None,
            })
        })
    }
}

fn entry(name: &str, cron: &str, catch_up: CatchUp, window: u64) -> Entry<()> {
    let spec = ScheduleSpec {
        cron: cron.into(),
        timezone: "UTC".into(),
        catch_up,
        start_window: Duration::from_secs(window),
        jitter: Duration::ZERO,
    };
    Entry {
        name: name.into(),
        schedule: Schedule::new(&spec).unwrap(),
        policy: Policy::of(&spec),
        runners: Labels::new(),
        payload: Arc::new(()),
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
        Harness { _dir: dir, store }
    }

    /// Runs the loop from `start` (UTC) for `run_for`, then sends `then`; returns the summary
    /// and the jobs the driller got.
    async fn run(
        &self,
        start: &str,
        entries: Vec<Entry<()>>,
        takes: Duration,
        max_concurrent: usize,
        run_for: Duration,
        then: Control<()>,
    ) -> (Summary, Vec<(String, Timestamp, Trigger)>) {
        self.run_with(start, entries, takes, false, max_concurrent, run_for, then)
            .await
    }

    /// [`Harness::run`], with a driller that stops when cancelled if `cancellable`.
    #[allow(clippy::too_many_arguments)]
    async fn run_with(
        &self,
        start: &str,
        entries: Vec<Entry<()>>,
        takes: Duration,
        cancellable: bool,
        max_concurrent: usize,
        run_for: Duration,
        then: Control<()>,
    ) -> (Summary, Vec<(String, Timestamp, Trigger)>) {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(ts(start)));
        let driller = Arc::new(FakeDriller {
            takes,
            cancellable,
            clock: clock.clone(),
            calls: Mutex::new(Vec::new()),
        });
        let (tx, rx) = mpsc::channel(4);
        let handle = tokio::spawn(run(
            self.store.clone(),
            entries,
            driller.clone(),
            clock,
            rx,
            Options::new(max_concurrent, Duration::from_secs(60)),
        ));
        tokio::time::sleep(run_for).await;
        tx.send(then).await.unwrap();
        let summary = handle.await.unwrap().unwrap();
        let calls = driller.calls.lock().unwrap().clone();
        (summary, calls)
    }

    fn states(&self, runbook: &str) -> Vec<(String, &'static str)> {
        self.store
            .history(Some(runbook))
            .unwrap()
            .iter()
            .map(|e: &HistoryEntry| {
                (
                    e.slot.unwrap().to_string(),
                    e.state.map_or("-", SlotState::as_str),
                )
            })
            .collect()
    }
}

const EVERY_MINUTE: &str = "0 * * * * *";

#[tokio::test(start_paused = true)]
async fn runs_each_slot_once_at_its_time() {
    let h = Harness::new();
    let (summary, calls) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::None, 30)],
            Duration::from_secs(10),
            1,
            Duration::from_secs(200), // to 12:03:50
            Control::Stop,
        )
        .await;
    assert_eq!(
        calls.iter().map(|c| c.1.to_string()).collect::<Vec<_>>(),
        [
            "2026-11-23T12:01:00Z",
            "2026-11-23T12:02:00Z",
            "2026-11-23T12:03:00Z"
        ]
    );
    assert!(calls.iter().all(|c| c.2 == Trigger::Schedule));
    assert_eq!(
        summary,
        Summary {
            started: 3,
            finished: 3,
            interrupted: 0,
            left_running: 0
        }
    );
    let h_all = h.store.history(Some("a")).unwrap();
    assert_eq!(h_all.len(), 3);
    for e in &h_all {
        assert_eq!(e.state, Some(SlotState::Done));
        let run = e.run.as_ref().unwrap();
        // Started on time: at the slot, not a poll interval later.
        assert_eq!(run.started_at, e.slot.unwrap());
        assert_eq!(run.slot, e.slot);
    }
}

#[tokio::test(start_paused = true)]
async fn a_slot_due_while_the_drill_runs_is_skipped_for_overlap() {
    let h = Harness::new();
    let (summary, calls) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::None, 30)],
            Duration::from_secs(90),
            4,
            Duration::from_secs(220), // to 12:04:10, then wait for the 12:03 drill
            Control::Stop,
        )
        .await;
    assert_eq!(calls.len(), 2);
    assert_eq!(summary.finished, 2);
    assert_eq!(
        h.states("a"),
        [
            ("2026-11-23T12:01:00Z".into(), "done"),
            ("2026-11-23T12:02:00Z".into(), "skipped-overlap"),
            ("2026-11-23T12:03:00Z".into(), "done"),
            ("2026-11-23T12:04:00Z".into(), "skipped-overlap"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_never_runs_a_slot_twice_and_catches_up_the_latest() {
    let h = Harness::new();
    // First process: its 12:01 drill never finishes; it is killed at 12:01:30.
    let (summary, calls) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::Latest, 30)],
            Duration::from_secs(3600),
            1,
            Duration::from_secs(60),
            Control::Abort,
        )
        .await;
    assert_eq!(calls.len(), 1);
    assert_eq!(summary.left_running, 1);
    assert_eq!(
        h.states("a"),
        [("2026-11-23T12:01:00Z".into(), "abandoned")]
    );

    // Second process at 12:05:10: 12:01 is not run again; 12:02..12:04 are missed; 12:05 is
    // within its 30 s window and caught up; then 12:06 runs on schedule.
    let (_, calls) = h
        .run(
            "2026-11-23T12:05:10Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::Latest, 30)],
            Duration::from_secs(5),
            1,
            Duration::from_secs(55),
            Control::Stop,
        )
        .await;
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.1.to_string(), c.2))
            .collect::<Vec<_>>(),
        [
            ("2026-11-23T12:05:00Z".into(), Trigger::CatchUp),
            ("2026-11-23T12:06:00Z".into(), Trigger::Schedule),
        ]
    );
    assert_eq!(
        h.states("a"),
        [
            ("2026-11-23T12:01:00Z".into(), "abandoned"),
            ("2026-11-23T12:02:00Z".into(), "missed"),
            ("2026-11-23T12:03:00Z".into(), "missed"),
            ("2026-11-23T12:04:00Z".into(), "missed"),
            ("2026-11-23T12:05:00Z".into(), "done"),
            ("2026-11-23T12:06:00Z".into(), "done"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn max_concurrent_makes_a_slot_wait_within_its_window_then_miss() {
    let h = Harness::new();
    // a and b share each slot; one place; a drill takes 20 s. With a 30 s window the second
    // waits and runs 20 s late; c's window is 10 s, so when it waits behind both it misses.
    let (_, calls) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![
                entry("a", "0 1 12 * * *", CatchUp::None, 30),
                entry("b", "0 1 12 * * *", CatchUp::None, 30),
                entry("c", "0 1 12 * * *", CatchUp::None, 10),
            ],
            Duration::from_secs(20),
            1,
            Duration::from_secs(120),
            Control::Stop,
        )
        .await;
    // Places are handed out first come, first served: a, then b 20 s late; c's window
    // closed while it queued.
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.0.as_str(), c.1.to_string()))
            .collect::<Vec<_>>(),
        [
            ("a", "2026-11-23T12:01:00Z".to_owned()),
            ("b", "2026-11-23T12:01:00Z".to_owned())
        ]
    );
    let b = &h.store.history(Some("b")).unwrap()[0];
    assert_eq!(
        b.run.as_ref().unwrap().started_at,
        ts("2026-11-23T12:01:20Z")
    );
    assert_eq!(h.states("c"), [("2026-11-23T12:01:00Z".into(), "missed")]);
    let c = &h.store.history(Some("c")).unwrap()[0];
    assert_eq!(
        c.reason.as_deref(),
        Some("--max-concurrent drills were running until its start_window closed")
    );
}

#[tokio::test(start_paused = true)]
async fn stop_waits_for_the_grace_period_then_interrupts_the_drill_and_records_its_run() {
    let h = Harness::new();
    let start = tokio::time::Instant::now();
    let (summary, _) = h
        .run_with(
            "2026-11-23T12:00:30Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::None, 30)],
            Duration::from_secs(3600),
            true,
            1,
            Duration::from_secs(40), // 12:01:10: the 12:01 drill runs
            Control::Stop,
        )
        .await;
    // 40 s until the stop, then the 60 s grace; the drill stops as soon as it is cancelled.
    assert_eq!(start.elapsed(), Duration::from_secs(100));
    assert_eq!(
        summary,
        Summary {
            started: 1,
            finished: 1,
            interrupted: 1,
            left_running: 0
        }
    );
    assert_eq!(h.states("a"), [("2026-11-23T12:01:00Z".into(), "done")]);
    let run = h.store.history(Some("a")).unwrap()[0].run.clone().unwrap();
    assert_eq!(run.outcome, Outcome::Error);
    assert_eq!(run.reason.as_deref(), Some("interrupted"));
}

#[tokio::test(start_paused = true)]
async fn a_slot_waiting_for_a_place_when_the_grace_period_ends_never_starts() {
    let h = Harness::new();
    // `a` and `b` are due at 12:01 with one place: `b` waits (its window is an hour).
    let (summary, calls) = h
        .run_with(
            "2026-11-23T12:00:30Z",
            vec![
                entry("a", "0 1 12 * * *", CatchUp::None, 3600),
                entry("b", "0 1 12 * * *", CatchUp::None, 3600),
            ],
            Duration::from_secs(3600),
            true,
            1,
            Duration::from_secs(40),
            Control::Stop,
        )
        .await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(summary.interrupted, 1);
    assert_eq!(summary.left_running, 0);
    let waited = if calls[0].0 == "a" { "b" } else { "a" };
    assert_eq!(
        h.states(waited),
        [("2026-11-23T12:01:00Z".into(), "abandoned")]
    );
    assert_eq!(
        h.store.history(Some(waited)).unwrap()[0].reason.as_deref(),
        Some("lifeboat schedule stopped before this drill could start")
    );
}

#[tokio::test(start_paused = true)]
async fn a_drill_that_ignores_cancellation_is_left_behind_after_the_interrupt_wait() {
    let h = Harness::new();
    let start = tokio::time::Instant::now();
    let (summary, _) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![entry("a", EVERY_MINUTE, CatchUp::None, 30)],
            Duration::from_secs(3600),
            1,
            Duration::from_secs(40), // 12:01:10: the 12:01 drill runs
            Control::Stop,
        )
        .await;
    // 40 s until the stop, the 60 s grace, then the wait for the cancelled drill; no slot
    // started meanwhile.
    assert_eq!(start.elapsed(), Duration::from_secs(100) + INTERRUPT_WAIT);
    assert_eq!(
        summary,
        Summary {
            started: 1,
            finished: 0,
            interrupted: 0,
            left_running: 1
        }
    );
    assert_eq!(
        h.states("a"),
        [("2026-11-23T12:01:00Z".into(), "abandoned")]
    );
}

#[tokio::test(start_paused = true)]
async fn reload_replaces_the_runbooks() {
    let h = Harness::new();
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(ts("2026-11-23T12:00:30Z")));
    let driller = Arc::new(FakeDriller {
        takes: Duration::from_secs(1),
        cancellable: false,
        clock: clock.clone(),
        calls: Mutex::new(Vec::new()),
    });
    let (tx, rx) = mpsc::channel(4);
    let handle = tokio::spawn(run(
        h.store.clone(),
        vec![entry("a", EVERY_MINUTE, CatchUp::None, 30)],
        driller.clone(),
        clock,
        rx,
        Options::new(1, Duration::from_secs(60)),
    ));
    tokio::time::sleep(Duration::from_secs(40)).await; // 12:01:10, a ran at 12:01
    tx.send(Control::Reload(vec![entry(
        "b",
        EVERY_MINUTE,
        CatchUp::None,
        30,
    )]))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await; // 12:02:10, b ran at 12:02
    tx.send(Control::Stop).await.unwrap();
    handle.await.unwrap().unwrap();
    let calls = driller.calls.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.0.as_str(), c.1.to_string()))
            .collect::<Vec<_>>(),
        [
            ("a", "2026-11-23T12:01:00Z".to_owned()),
            ("b", "2026-11-23T12:02:00Z".to_owned())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_delays_each_start_by_its_own_fixed_offset_within_the_window() {
    let h = Harness::new();
    let jittered = |name: &str| {
        let mut e = entry(name, EVERY_MINUTE, CatchUp::None, 50);
        e.policy.jitter = Duration::from_secs(40);
        e
    };
    let (summary, calls) = h
        .run(
            "2026-11-23T12:00:30Z",
            vec![jittered("a"), jittered("b")],
            Duration::from_secs(1),
            2,
            // To 12:02:50: every 12:02 drill has started (jitter < 40 s) and finished, and
            // 12:03 is not due yet (stopping exactly on a slot would race it).
            Duration::from_secs(140),
            Control::Stop,
        )
        .await;
    assert_eq!(summary.started, 4, "{calls:?}");
    let mut offsets = Vec::new();
    for name in ["a", "b"] {
        for e in h.store.history(Some(name)).unwrap() {
            let slot = e.slot.unwrap();
            if e.state != Some(SlotState::Done) {
                continue;
            }
            let started = e.run.as_ref().unwrap().started_at;
            let offset = Duration::try_from(started.duration_since(slot)).unwrap();
            // Exactly the delay the pure function gives, always below the jitter.
            assert_eq!(
                offset,
                jitter_delay(name, slot, Duration::from_secs(40)),
                "{name} {slot}"
            );
            assert!(offset < Duration::from_secs(40));
            offsets.push(offset);
        }
    }
    assert_eq!(offsets.len(), 4);
    // Spread apart, not all on time (the point of jitter).
    assert!(offsets.iter().any(|o| !o.is_zero()), "{offsets:?}");
    assert!(
        offsets.windows(2).any(|w| w[0] != w[1]),
        "runbooks due at one time start at different times: {offsets:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_the_jitter_starts_nothing() {
    let h = Harness::new();
    let mut e = entry("a", EVERY_MINUTE, CatchUp::None, 3000);
    e.policy.jitter = Duration::from_secs(2999);
    let slot = ts("2026-11-23T12:01:00Z");
    let delay = jitter_delay("a", slot, e.policy.jitter);
    assert!(
        delay > Duration::from_secs(2),
        "pick another name: {delay:?}"
    );
    // Stop one second after the slot, while its drill waits for its jitter.
    let (summary, calls) = h
        .run(
            "2026-11-23T12:00:59Z",
            vec![e],
            Duration::from_secs(1),
            1,
            Duration::from_secs(2),
            Control::Stop,
        )
        .await;
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(summary.finished, 1);
    assert_eq!(h.states("a"), [(slot.to_string(), "abandoned")]);
}

#[tokio::test(start_paused = true)]
async fn a_slot_due_while_the_previous_one_waits_for_a_place_is_missed_for_that_reason() {
    let h = Harness::new();
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(ts("2026-11-23T12:00:30Z")));
    let driller = Arc::new(FakeDriller {
        takes: Duration::from_secs(150),
        cancellable: false,
        clock: clock.clone(),
        calls: Mutex::new(Vec::new()),
    });
    // One place. `long` runs 12:01 → 12:03:30; `b` is due every minute and waits for the
    // place from 12:01 on: its 12:01 slot has not started, it is not running.
    let (tx, rx) = mpsc::channel(4);
    let handle = tokio::spawn(run(
        h.store.clone(),
        vec![
            entry("long", "0 1 12 * * *", CatchUp::None, 30),
            entry("b", EVERY_MINUTE, CatchUp::None, 3600),
        ],
        driller.clone(),
        clock,
        rx,
        Options::new(1, Duration::from_secs(600)),
    ));
    tokio::time::sleep(Duration::from_secs(60)).await; // 12:01:30
    let waiting = &h.store.history(Some("b")).unwrap()[0];
    assert_eq!(waiting.state, Some(SlotState::Recorded));
    assert_eq!(
        waiting.reason.as_deref(),
        Some("waiting for a place under --max-concurrent")
    );
    tokio::time::sleep(Duration::from_secs(180)).await; // 12:04:30
    tx.send(Control::Stop).await.unwrap();
    handle.await.unwrap().unwrap();
    let missed =
        "this runbook's previous slot was still waiting for a place under --max-concurrent";
    let b = h.store.history(Some("b")).unwrap();
    let mut seen: Vec<(String, &str, Option<&str>)> = b
        .iter()
        .map(|e| {
            (
                e.slot.unwrap().to_string(),
                e.state.map_or("-", SlotState::as_str),
                e.reason.as_deref(),
            )
        })
        .collect();
    seen.sort();
    // 12:01 waited until `long` ended at 12:03:30, then ran (150 s, like every drill here);
    // 12:02 and 12:03 came due while it waited: missed, saying so, never "skipped-overlap"
    // (nothing of b was running); 12:04 came due while 12:01's drill ran: that is overlap.
    assert_eq!(
        seen,
        [
            ("2026-11-23T12:01:00Z".into(), "done", None),
            ("2026-11-23T12:02:00Z".into(), "missed", Some(missed)),
            ("2026-11-23T12:03:00Z".into(), "missed", Some(missed)),
            (
                "2026-11-23T12:04:00Z".into(),
                "skipped-overlap",
                Some("the previous drill of this runbook was still running")
            ),
        ]
    );
    let b01 = b.iter().find(|e| e.state == Some(SlotState::Done)).unwrap();
    assert_eq!(
        b01.run.as_ref().unwrap().started_at,
        ts("2026-11-23T12:03:30Z")
    );
}
