//! Interrupting a drill through `DrillRequest::cancel`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lifeboat_core::evidence::{Mode, Outcome};

use super::*;

/// The file restored; sparse, so it costs no disk in the source, only in scratch.
const BIG: u64 = 1 << 30;
/// Cancel once this many bytes were restored: surely past the start, far from the end.
const CANCEL_AT: u64 = 16 << 20;

/// Cancels the drill once [`CANCEL_AT`] bytes were restored, and counts every byte after.
struct CancelMidway {
    cancel: CancellationToken,
    bytes: AtomicU64,
}

impl Progress for CancelMidway {
    fn bytes(&self, n: u64) {
        if self.bytes.fetch_add(n, Ordering::Relaxed) + n >= CANCEL_AT {
            self.cancel.cancel();
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

fn request(
    scratch_root: &Path,
    cancel: CancellationToken,
    progress: Arc<dyn Progress>,
) -> DrillRequest {
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
        cancel,
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
    let cancel = CancellationToken::new();
    let progress = Arc::new(CancelMidway {
        cancel: cancel.clone(),
        bytes: AtomicU64::new(0),
    });

    let ev = run(
        &runbook(&source, ""),
        request(&scratch_root, cancel.clone(), progress.clone()),
    )
    .await;

    assert!(
        cancel.is_cancelled(),
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
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let ev = run(&rb, request(&scratch_root, cancel, Arc::new(NoProgress))).await;

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
    let cancel = CancellationToken::new();
    cancel.cancel();
    let progress = Arc::new(CancelMidway {
        cancel: cancel.clone(),
        bytes: AtomicU64::new(0),
    });
    let ev = run(
        &runbook(&source, ""),
        request(dir.path(), cancel, progress.clone()),
    )
    .await;
    assert_eq!(ev.reason.as_deref(), Some(INTERRUPTED));
    assert_eq!(progress.bytes.load(Ordering::Relaxed), 0);
}
