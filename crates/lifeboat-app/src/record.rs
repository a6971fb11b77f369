//! One drill, run and recorded: [`Recording::drill_and_record`], the only way `lifeboat
//! drill` and every scheduled drill run, so the two can never record differently.
//!
//! The steps, in order: the drill runs (`lifeboat_runner::run`, which ends by telling the
//! runbook's `notify` webhooks, as they name the record about to be written); its evidence
//! is written beside the pages `lifeboat-report` renders, signed when there is a key, and
//! chained into the evidence folder's ledger (`lifeboat_evidence::write_signed_run`); then
//! the run is recorded in the history store, when the caller gives one. A scheduled drill
//! gives none: the daemon records the returned [`RunRecord`] itself, in the transaction that
//! closes its slot.
//!
//! What may stop a drill (a signal, the end of the scheduler's grace period) is watched while
//! it runs and no longer once it is over: a drill whose evidence is being written is never
//! cut short half-way through its record.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use lifeboat_core::evidence::Evidence;
use lifeboat_evidence::EvidenceError;
use lifeboat_evidence::sign::SigningKey;
use lifeboat_runner::DrillRequest;
use lifeboat_scheduler::store::{HistoryStore, RunRecord, StoreError};

use crate::RunbookFile;

/// The environment variable `--signing-key` falls back to, so a unit file or a CI job can
/// give every drill the key without repeating the flag.
pub const SIGNING_KEY_ENV: &str = "LIFEBOAT_SIGNING_KEY";

/// Where and how drills are recorded: the evidence folder and the signing key, the same for
/// every drill a command runs.
#[derive(Clone)]
pub struct Recording {
    /// The folder, or for a bucket its URL (`s3://BUCKET/PREFIX`) as a path, never made
    /// absolute.
    evidence_dir: PathBuf,
    /// `Some` when the evidence goes to object storage (`--evidence-dir s3://…`).
    bucket: Option<Arc<crate::EvidenceBucket>>,
    signing_key: Option<Arc<SigningKey>>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("evidence_dir", &self.evidence_dir)
            .field("bucket", &self.bucket.is_some())
            .field("signed", &self.signing_key.is_some())
            .finish()
    }
}

/// One drill to run and record.
#[derive(Debug)]
pub struct DrillJob {
    pub runbook: Arc<RunbookFile>,
    /// The runner's request. Its `evidence_dir` is set by [`Recording::drill_and_record`] to
    /// the folder the record goes to, so webhooks name the record where it is written.
    pub request: DrillRequest,
    /// Records the run once its evidence is written (`lifeboat drill --state`). `None`: the
    /// caller records [`Recorded::run`] itself (the daemon, with its slot).
    pub history: Option<Arc<dyn HistoryStore>>,
    /// The scheduled slot the drill runs for.
    pub slot: Option<Timestamp>,
    /// Where a runbook with `coverage` keeps its ledger (the history store, also for a
    /// scheduled drill, whose run the daemon records). `None` for a runbook with `coverage`:
    /// the drill ends as an error, so callers refuse that first.
    pub ledger: Option<Arc<dyn HistoryStore>>,
    /// The claim a scheduled drill runs under (`lifeboat schedule`): its runner is written in
    /// the record, and the record is written only while the claim holds.
    pub claim: Option<Arc<lifeboat_scheduler::daemon::Claim>>,
}

/// A drill that ran and whose evidence is written.
#[derive(Debug)]
pub struct Recorded {
    pub evidence: Evidence,
    /// The record's `evidence.json`, below the evidence folder as it was given.
    pub evidence_json: PathBuf,
    /// The run as the history keeps it (its evidence path absolute).
    pub run: RunRecord,
}

/// Why a drill that ran is not fully recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The evidence could not be written: the drill left no record.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The evidence is written, but the history store refused the run.
    #[error("the run was not recorded in the history: {source}")]
    History {
        /// The record that was written.
        evidence_json: PathBuf,
        #[source]
        source: StoreError,
    },
    /// Writing the evidence panicked or was cancelled: the drill left no record.
    #[error("writing the evidence failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The evidence is written, but the coverage ledger was not told what the record's
    /// coverage phase verified: the ledger stays behind (never ahead) of the records, and
    /// the next drill reads those objects again.
    #[error(
        "the coverage ledger was not updated ({detail}); the record is written and the next \
         drill reads the objects it verified again"
    )]
    Ledger {
        /// The record that was written.
        evidence_json: PathBuf,
        /// The ledger's error, in one line.
        detail: String,
    },
    /// A scheduled drill's runner lost its claim on the slot before the record was written
    /// (its lease lapsed and another runner claimed the slot again): no record is written.
    #[error(
        "lost the claim on slot {slot} of {runbook} (attempt {attempt}): its lease lapsed and \
         another runner may run it again; no evidence was written for this attempt"
    )]
    LostTheSlot {
        runbook: String,
        slot: Timestamp,
        attempt: i64,
    },
}

/// Why drills cannot be recorded as they are asked to be; checked before any runs.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The folder's ledger holds signed records and the drill has no key: its record would be
    /// chained unsigned after them, which `evidence verify --public-key` reports as damage.
    #[error(
        "{dir} holds signed evidence ({}) and this drill has no signing key: its record would \
         be chained unsigned after them, which `lifeboat evidence verify --public-key` reports \
         as `not signed`; sign it with --signing-key FILE (or {SIGNING_KEY_ENV}=FILE in the \
         environment), or record it in another --evidence-dir",
        signed_what(.signing)
    )]
    Unsigned {
        dir: PathBuf,
        signing: lifeboat_evidence::LedgerSigning,
    },
    /// The ledger could not be read to tell (a link or FIFO planted in its place, ...).
    #[error(transparent)]
    Ledger(#[from] EvidenceError),
}

fn signed_what(s: &lifeboat_evidence::LedgerSigning) -> String {
    if s.signed == 0 {
        "its ledger is signed".to_owned()
    } else {
        format!("{} of its {} records are signed", s.signed, s.entries)
    }
}

impl SigningError {
    /// Whether the operator asked for something the folder forbids (invalid input), as
    /// opposed to a folder that could not be read.
    pub fn is_refusal(&self) -> bool {
        matches!(self, SigningError::Unsigned { .. })
    }
}

impl Recording {
    /// Refuses, before a drill runs, to record it unsigned into an evidence folder whose
    /// ledger holds signed records: one unsigned record there makes every later `evidence
    /// verify --public-key` of the folder fail. Reads the ledger through the evidence
    /// store's capped, link-refusing reads ([`lifeboat_evidence::ledger_signing`]).
    pub fn check_signing(&self) -> Result<(), SigningError> {
        if self.signing_key.is_some() {
            return Ok(());
        }
        let signing = match &self.bucket {
            Some(bucket) => lifeboat_evidence::bucket::ledger_signing(&**bucket)?,
            None => lifeboat_evidence::ledger_signing(&self.evidence_dir)?,
        };
        if signing.any() {
            return Err(SigningError::Unsigned {
                dir: self.evidence_dir.clone(),
                signing,
            });
        }
        Ok(())
    }

    /// Records into `evidence_dir` (made if missing), signing with `signing_key` if given.
    pub fn new(evidence_dir: &Path, signing_key: Option<Arc<SigningKey>>) -> Self {
        Recording {
            evidence_dir: evidence_dir.to_path_buf(),
            bucket: None,
            signing_key,
        }
    }

    /// Records into an object store (`--evidence-dir s3://…` / `az://…`): create-only, the
    /// chain serialised across every runner writing there (`lifeboat_evidence::bucket`).
    pub fn to_bucket(
        bucket: Arc<crate::EvidenceBucket>,
        signing_key: Option<Arc<SigningKey>>,
    ) -> Self {
        use lifeboat_evidence::bucket::Objects as _;
        Recording {
            evidence_dir: PathBuf::from(bucket.url()),
            bucket: Some(bucket),
            signing_key,
        }
    }

    /// Writes the record, its pages and its signature, and chains it: into the folder, or
    /// the bucket. Blocking (file or network work): called off the async workers.
    fn write_record(&self, evidence: &Evidence) -> Result<PathBuf, EvidenceError> {
        let key = self.signing_key.as_deref();
        match &self.bucket {
            Some(bucket) => lifeboat_evidence::bucket::write_signed_run(
                &**bucket,
                evidence,
                &lifeboat_report::RunPages,
                key,
            )
            .map(PathBuf::from),
            None => lifeboat_evidence::write_signed_run(
                &self.evidence_dir,
                evidence,
                &lifeboat_report::RunPages,
                key,
            ),
        }
    }

    /// `path` made absolute, unless it is a bucket's URL.
    fn absolute(&self, path: &Path) -> PathBuf {
        if self.bucket.is_some() {
            path.to_path_buf()
        } else {
            absolute(path)
        }
    }

    /// The evidence folder, as it was given.
    pub fn evidence_dir(&self) -> &Path {
        &self.evidence_dir
    }

    /// Runs the drill, writes its evidence, and records it in `job.history` if given.
    ///
    /// `stop_when` is started beside the drill and dropped when the drill is over (before
    /// anything is written): it waits for whatever should stop the drill and then requests
    /// the stop through the request's `Stop` handle. Pass `std::future::pending()` for a
    /// drill nothing stops.
    pub async fn drill_and_record(
        &self,
        job: DrillJob,
        stop_when: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Recorded, RecordError> {
        let DrillJob {
            runbook,
            mut request,
            history,
            slot,
            ledger,
            claim,
        } = job;
        if let Some(store) = &ledger {
            let t0 = request.now.unwrap_or_else(Timestamp::now);
            request.coverage = crate::coverage::context(&runbook.runbook, store, t0);
        }
        // Absolute, so a webhook's message holds from any folder.
        request.evidence_dir = Some(self.absolute(&self.evidence_dir));
        let lifeboat_runner::Drilled {
            mut evidence,
            coverage,
        } = {
            let _watching = AbortOnDrop(tokio::spawn(stop_when));
            lifeboat_runner::run(&runbook.runbook, request).await
        };
        // The fence: a runner that lost its slot's claim (its lease lapsed and another
        // runner claimed the slot again) chains no record for it. Confirming renews the
        // lease for a whole --lease, which the write below takes milliseconds of.
        if let Some(claim) = &claim {
            evidence.runner = Some(claim.runner.clone());
            if !claim.confirm().await {
                return Err(RecordError::LostTheSlot {
                    runbook: claim.runbook.clone(),
                    slot: claim.slot,
                    attempt: claim.attempt,
                });
            }
        }
        // Blocking file work (fsync, a ledger lock waited for up to 30 s): off the async
        // workers, which other drills and the scheduler share.
        let recording = self.clone();
        let (evidence, evidence_json) = tokio::task::spawn_blocking(move || {
            recording
                .write_record(&evidence)
                .map(|path| (evidence, path))
        })
        .await??;
        // The record first, then the ledger: a crash in between leaves the ledger behind the
        // records (those objects are read again), never claiming what no record proves.
        if let Some(pending) = coverage
            && let Err(detail) = pending.keep().await
        {
            return Err(RecordError::Ledger {
                evidence_json,
                detail,
            });
        }
        // Absolute, so `lifeboat history` run from another folder still points at the file.
        let run = RunRecord::from_evidence(&evidence, Some(&self.absolute(&evidence_json)), slot);
        if let Some(store) = history
            && let Err(source) = store.record_run(&run).await
        {
            return Err(RecordError::History {
                evidence_json,
                source,
            });
        }
        Ok(Recorded {
            evidence,
            evidence_json,
            run,
        })
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Aborts the task when dropped: the stop watcher lives exactly as long as the drill.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lifeboat_core::evidence::{Mode, Outcome};
    use lifeboat_runner::{NoProgress, Stop};
    use lifeboat_scheduler::store::SqliteStore;
    use sha2::Digest;

    use super::*;

    /// A backup of one recovery point holding one file, its runbook, and a recording into
    /// an evidence folder beside it.
    struct Fixture {
        dir: tempfile::TempDir,
        runbook: Arc<RunbookFile>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let point = dir.path().join("source/2026-11-21T020000Z");
            std::fs::create_dir_all(&point).unwrap();
            std::fs::write(point.join("a.txt"), "hello\n").unwrap();
            let digest = hex::encode(sha2::Sha256::digest(b"hello\n"));
            std::fs::write(point.join("SHA256SUMS"), format!("{digest}  a.txt\n")).unwrap();
            std::fs::create_dir(dir.path().join("scratch")).unwrap();
            let text = format!(
                "version: 1\nname: unit\nsource:\n  url: file://{}\nmanifest:\n  path: SHA256SUMS\n",
                dir.path().join("source").display()
            );
            let runbook = lifeboat_core::runbook::parse(&text, "unit.yaml", &|_| None).unwrap();
            let runbook = Arc::new(RunbookFile {
                runbook,
                sha256: "0".repeat(64),
                path: "unit.yaml".into(),
            });
            Fixture { dir, runbook }
        }

        fn recording(&self) -> Recording {
            Recording::new(&self.dir.path().join("evidence"), None)
        }

        fn job(&self, stop: Stop) -> DrillJob {
            DrillJob {
                runbook: self.runbook.clone(),
                request: DrillRequest {
                    runbook_path: self.runbook.recorded_path(),
                    runbook_sha256: self.runbook.sha256.clone(),
                    now: None,
                    seed: None,
                    scratch_root: self.dir.path().join("scratch"),
                    evidence_dir: None,
                    verify_only: false,
                    jobs: 0,
                    mode: Mode::Automatic,
                    operator: None,
                    progress: Arc::new(NoProgress),
                    stop,
                    coverage: None,
                },
                history: None,
                slot: None,
                ledger: None,
                claim: None,
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_drill_is_written_then_recorded_in_the_history_it_is_given() {
        let fx = Fixture::new();
        let store = Arc::new(SqliteStore::open(&fx.dir.path().join("state.db")).unwrap());
        let mut job = fx.job(Stop::new());
        job.history = Some(store.clone());
        let recorded = fx
            .recording()
            .drill_and_record(job, std::future::pending())
            .await
            .unwrap();
        assert_eq!(recorded.evidence.outcome, Outcome::Passed);
        assert_eq!(
            recorded.evidence_json,
            fx.dir
                .path()
                .join("evidence/unit")
                .join(&recorded.evidence.run_id)
                .join("evidence.json")
        );
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&recorded.evidence_json).unwrap()).unwrap();
        assert_eq!(written["run_id"], recorded.evidence.run_id.as_str());
        let history = store.history(None).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].run.as_ref(), Some(&recorded.run));
        assert_eq!(
            recorded.run.evidence.as_deref(),
            Some(recorded.evidence_json.to_str().unwrap())
        );
        assert_eq!(recorded.run.slot, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scheduled_drill_returns_its_run_with_its_slot_for_the_daemon_to_record() {
        let fx = Fixture::new();
        let slot: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let mut job = fx.job(Stop::new());
        job.slot = Some(slot);
        let recorded = fx
            .recording()
            .drill_and_record(job, std::future::pending())
            .await
            .unwrap();
        assert_eq!(recorded.run.slot, Some(slot));
        assert_eq!(recorded.run.run_id, recorded.evidence.run_id);
        assert!(recorded.evidence_json.is_file());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_stops_a_drill_is_watched_while_it_runs_and_dropped_after() {
        let fx = Fixture::new();
        let stop = Stop::new();
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        let watcher_stop = stop.clone();
        let stop_when = async move {
            // Held until the watcher is dropped; never sent.
            let _alive = dropped_tx;
            watcher_stop.request();
            std::future::pending::<()>().await;
        };
        let recorded = fx
            .recording()
            .drill_and_record(fx.job(stop), stop_when)
            .await
            .unwrap();
        assert_eq!(recorded.evidence.outcome, Outcome::Error);
        assert_eq!(
            recorded.evidence.reason.as_deref(),
            Some(lifeboat_runner::INTERRUPTED)
        );
        assert!(
            recorded.evidence_json.is_file(),
            "an interrupted drill is recorded too"
        );
        let dropped = tokio::time::timeout(Duration::from_secs(10), dropped_rx).await;
        assert!(
            matches!(dropped, Ok(Err(_))),
            "the watcher outlived the drill"
        );
    }
}
