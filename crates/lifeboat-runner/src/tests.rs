//! Interrupting a drill through `DrillRequest::stop`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lifeboat_core::evidence::{Mode, Outcome};

use super::*;

/// The file restored; sparse, so it costs no disk in the source, only in scratch.
const BIG: u64 = 1 << 30;
/// Cancel once this many bytes were restored: surely past the start, far from the end.
const CANCEL_AT: u64 = 16 << 20;

/// Cancels the drill once [`CANCEL_AT`] bytes were restored, and counts every byte after.
struct CancelMidway {
    stop: Stop,
    bytes: AtomicU64,
}

impl Progress for CancelMidway {
    fn bytes(&self, n: u64) {
        if self.bytes.fetch_add(n, Ordering::Relaxed) + n >= CANCEL_AT {
            self.stop.request();
        }
    }
}

fn runbook(source: &Path, extra: &str) -> Runbook {
    let text = format!(
        "version: 1\nname: big\nsource:\n  url: file://{}\nmanifest:\n  path: SHA256SUMS\n  \
         format: sha256sum\nscratch:\n  keep: always\n{extra}",
        source.display()
    );
    lifeboat_core::runbook::parse(&text, "big.yaml", &|_| None).unwrap()
}

fn request(scratch_root: &Path, stop: Stop, progress: Arc<dyn Progress>) -> DrillRequest {
    DrillRequest {
        runbook_path: "big.yaml".into(),
        runbook_sha256: "0".repeat(64),
        now: None,
        seed: None,
        scratch_root: scratch_root.to_path_buf(),
        evidence_dir: None,
        verify_only: false,
        jobs: 0,
        mode: Mode::Automatic,
        operator: None,
        progress,
        stop,
        coverage: None,
    }
}

/// One point holding a sparse [`BIG`]-byte file (its digest is not checked: the drill never
/// gets that far).
fn big_point(root: &Path) -> std::path::PathBuf {
    let point = root.join("source/2026-11-21T020000Z");
    std::fs::create_dir_all(&point).unwrap();
    std::fs::File::create(point.join("big.bin"))
        .unwrap()
        .set_len(BIG)
        .unwrap();
    std::fs::write(
        point.join("SHA256SUMS"),
        format!("{}  big.bin\n", "ab".repeat(32)),
    )
    .unwrap();
    root.join("source")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_restore_stops_midway_writes_interrupted_evidence_and_removes_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let source = big_point(dir.path());
    let scratch_root = dir.path().join("scratch");
    std::fs::create_dir(&scratch_root).unwrap();
    let stop = Stop::new();
    let progress = Arc::new(CancelMidway {
        stop: stop.clone(),
        bytes: AtomicU64::new(0),
    });

    let ev = run(
        &runbook(&source, ""),
        request(&scratch_root, stop.clone(), progress.clone()),
    )
    .await
    .evidence;

    assert!(
        stop.is_requested(),
        "the restore never got {CANCEL_AT} bytes in"
    );
    assert_eq!(ev.outcome, Outcome::Error);
    assert_eq!(ev.reason.as_deref(), Some(INTERRUPTED));
    assert_eq!(ev.measured.rto_seconds, None);
    // The point in progress was neither passed nor failed: it is not listed.
    assert!(ev.recovery_points.is_empty(), "{:#?}", ev.recovery_points);
    // Stopped within a chunk or two of the cancellation, not at the end of the file.
    let restored = progress.bytes.load(Ordering::Relaxed);
    assert!(
        restored < CANCEL_AT + 4 * (restore::WINDOW as u64),
        "{restored} bytes restored after cancelling at {CANCEL_AT}"
    );
    // `keep: always` does not keep a half-restored point.
    assert!(!ev.scratch.kept);
    assert_eq!(
        std::fs::read_dir(&scratch_root).unwrap().count(),
        0,
        "scratch left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_interrupted_in_a_wait_step_keeps_the_points_already_tried() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    // The newest point fails at once (a missing object); the older one then waits.
    for (id, file) in [
        ("2026-11-21T020000Z", None),
        ("2026-11-20T020000Z", Some("a.txt")),
    ] {
        let point = source.join(id);
        std::fs::create_dir_all(&point).unwrap();
        if let Some(f) = file {
            std::fs::write(point.join(f), "a").unwrap();
        }
        // sha256("a")
        std::fs::write(
            point.join("SHA256SUMS"),
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.txt\n",
        )
        .unwrap();
    }
    let scratch_root = dir.path().join("scratch");
    std::fs::create_dir(&scratch_root).unwrap();
    let rb = runbook(
        &source,
        "recovery_points:\n  time: name\n  time_format: \"%Y-%m-%dT%H%M%SZ\"\n\
         steps:\n  - restore: {}\n  - wait: 1h\n",
    );
    let stop = Stop::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(stopper.request(), StopEffect::Interrupted);
    });
    let started = Instant::now();
    let ev = run(&rb, request(&scratch_root, stop, Arc::new(NoProgress)))
        .await
        .evidence;

    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the wait was not interrupted"
    );
    assert_eq!(ev.outcome, Outcome::Error);
    assert_eq!(ev.reason.as_deref(), Some(INTERRUPTED));
    // The newest point failed before the interruption and is recorded as it was.
    assert_eq!(ev.recovery_points.len(), 1, "{:#?}", ev.recovery_points);
    assert_eq!(ev.recovery_points[0].id, "2026-11-21T020000Z");
    assert_eq!(ev.recovery_points[0].outcome, Outcome::Failed);
    assert_eq!(std::fs::read_dir(&scratch_root).unwrap().count(), 0);
}

#[tokio::test]
async fn a_drill_cancelled_before_it_starts_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = big_point(dir.path());
    let stop = Stop::new();
    stop.request();
    let progress = Arc::new(CancelMidway {
        stop: stop.clone(),
        bytes: AtomicU64::new(0),
    });
    let ev = run(
        &runbook(&source, ""),
        request(dir.path(), stop, progress.clone()),
    )
    .await
    .evidence;
    assert_eq!(ev.reason.as_deref(), Some(INTERRUPTED));
    assert_eq!(progress.bytes.load(Ordering::Relaxed), 0);
}

/// One point holding `a.txt` ("a"), named as the runbooks here expect.
fn small_point(root: &Path) -> std::path::PathBuf {
    let point = root.join("source/2026-11-21T020000Z");
    std::fs::create_dir_all(&point).unwrap();
    std::fs::write(point.join("a.txt"), "a").unwrap();
    // sha256("a")
    std::fs::write(
        point.join("SHA256SUMS"),
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.txt\n",
    )
    .unwrap();
    root.join("source")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_after_the_last_check_leaves_the_verdict_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_point(dir.path());
    let rb = runbook(&source, "finally:\n  - wait: 2s\n");
    let stop = Stop::new();
    let stopper = stop.clone();
    let effect = tokio::spawn(async move {
        while !stopper.checks_done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stopper.request()
    });
    let ev = run(&rb, request(dir.path(), stop, Arc::new(NoProgress)))
        .await
        .evidence;
    assert_eq!(effect.await.unwrap(), StopEffect::AfterChecks);
    assert_eq!(ev.outcome, Outcome::Passed, "{:?}", ev.reason);
    assert_eq!(
        ev.measured.recovery_point.as_deref(),
        Some("2026-11-21T020000Z")
    );
    let at = ev.stopped_after_checks.expect("the stop is recorded");
    assert!(ev.recovery_points[0].finished_at <= at && at <= ev.finished_at);
    // `finally` ran to its end, its wait not cut short.
    assert_eq!(ev.finally[0].outcome, Outcome::Passed);
    assert!(
        ev.finally[0]
            .finished_at
            .duration_since(ev.finally[0].started_at)
            .as_secs()
            >= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_wins_the_race_interrupts_even_a_point_that_passed() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_point(dir.path());
    // Stopped as the point's result comes in, before the drill has called its checks done:
    // the caller was told "interrupted", so the evidence says so and measures nothing.
    struct StopWhenFinished(Stop, std::sync::Mutex<Option<StopEffect>>);
    impl Progress for StopWhenFinished {
        fn point_finished(&self, _: &lifeboat_core::evidence::PointResult) {
            *self.1.lock().unwrap() = Some(self.0.request());
        }
    }
    let stop = Stop::new();
    let progress = Arc::new(StopWhenFinished(stop.clone(), std::sync::Mutex::new(None)));
    let ev = run(
        &runbook(&source, ""),
        request(dir.path(), stop, progress.clone()),
    )
    .await
    .evidence;
    assert_eq!(*progress.1.lock().unwrap(), Some(StopEffect::Interrupted));
    assert_eq!(ev.outcome, Outcome::Error);
    assert_eq!(ev.reason.as_deref(), Some(INTERRUPTED));
    assert_eq!(ev.measured.rto_seconds, None);
    assert_eq!(ev.measured.recovery_point, None);
    assert_eq!(ev.stopped_after_checks, None);
}

/// The drill future is `Send`, so a scheduler can spawn it on any worker of a multi-threaded
/// runtime (`tokio::spawn(async move { run(&runbook, request).await })`) instead of driving
/// each drill on a blocking thread. A compile-time assertion: if anything the drill holds
/// across an `.await` stops being `Send`, this test no longer builds.
#[test]
fn the_drill_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let runbook = runbook(dir.path(), "");
    let drill = run(
        &runbook,
        request(dir.path(), Stop::new(), Arc::new(NoProgress)),
    );
    assert_send(&drill);
    drop(drill);
    // And it can be spawned whole, owning what it borrows.
    let request = request(dir.path(), Stop::new(), Arc::new(NoProgress));
    let spawned = async move { run(&runbook, request).await.evidence };
    assert_send(&spawned);
}

/// The drill's checks run through `Drill::check` on one small local point, and what it left.
async fn checked(extra: &str) -> Option<reqwest::Client> {
    let dir = tempfile::tempdir().unwrap();
    let source = small_point(dir.path());
    let rb = runbook(&source, extra);
    let req = request(dir.path(), Stop::new(), Arc::new(NoProgress));
    let mut drill = drill::Drill::new(&rb, &req);
    drill.check(format::files::FilesFormat::open(&rb)).await;
    assert!(drill.error.is_none(), "{:?}", drill.error);
    assert_eq!(drill.points.len(), 1);
    drill.http
}

/// Building the HTTP client loads the system's TLS roots (146 files under /etc/ssl/certs
/// here), a measurable part of a small drill's fixed cost: a drill with no `http` step and
/// no `notify` builds none.
#[tokio::test]
async fn a_drill_without_http_steps_or_notify_builds_no_http_client() {
    assert!(checked("").await.is_none());
    assert!(
        checked("steps:\n  - restore: {}\n  - wait: 1s\n")
            .await
            .is_none()
    );
    assert!(checked("finally:\n  - wait: 1s\n").await.is_none());
}

/// Any `http` step, in `steps` or `finally`, or a `notify` builds it before anything runs, as
/// before: a client that cannot be built still stops the drill before its first check.
#[tokio::test]
async fn a_drill_with_an_http_step_or_notify_builds_its_client_first() {
    let http = "http:\n      url: http://127.0.0.1:9/health\n      retries: 0\n";
    assert!(
        checked(&format!("steps:\n  - restore: {{}}\n  - {http}"))
            .await
            .is_some()
    );
    assert!(checked(&format!("finally:\n  - {http}")).await.is_some());
    assert!(
        checked("notify:\n  - webhook: http://127.0.0.1:9/hook\n    on: [failed]\n")
            .await
            .is_some()
    );
}
