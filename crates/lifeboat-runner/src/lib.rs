//! One drill, start to verdict: take T0, find the recovery points in the window, read each
//! point's manifest, draw the seeded sample, restore and verify it, fall back to older points
//! when the newest fails, and measure RTO and RPO against the runbook's objectives.
//!
//! The result is always an [`Evidence`] record — for a pass, a failure, and a drill that could
//! not complete alike — so the caller can write it and map its outcome to an exit code. This
//! crate writes only inside the scratch area it is given; it never writes to the source.
//!
//! A drill can be stopped through [`DrillRequest::stop`]. Before its last check has finished
//! that interrupts it: it stops reading, hashing and writing within one chunk per file in
//! flight, removes its scratch folder whatever `scratch.keep` says, and returns evidence with
//! outcome `error` and reason [`INTERRUPTED`]. After it, the verdict stands ([`stop`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use jiff::Timestamp;
use lifeboat_core::evidence::{
    Evidence, FORMAT_VERSION, FileResult, ManifestRecord, Measured, Mode, ObjectiveSeconds,
    Outcome, PointResult, Projected, RunbookRef, SampleRecord, ScratchRecord, SourceRef,
    StepResult,
};
use lifeboat_core::runbook::{Keep, Runbook, Select, Step, StepKind};
use lifeboat_storage::Source;
use sha2::Digest;
pub use tokio_util::sync::CancellationToken;

pub mod discover;
pub mod notify;
pub mod project;
pub mod restore;
pub mod scratch;
pub mod steps;
pub mod stop;

pub use steps::{Answer, Operator, StepView};
pub use stop::{Stop, StopEffect};

use discover::Candidate;
use restore::{Dest, FileJob, FileVerdict};

/// Manifests larger than this are refused rather than loaded (about 4 million entries).
pub const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;

/// Files restored into scratch at once, at least: see `restore_all`.
const RESTORE_IN_FLIGHT: usize = 16;

/// The evidence `reason` of a drill interrupted through [`DrillRequest::stop`].
pub const INTERRUPTED: &str = "interrupted";

/// Receives progress while a drill runs (a terminal progress bar, logs). All no-ops by default.
pub trait Progress: Send + Sync {
    /// A recovery point is being tried with this many sampled files.
    fn point_started(&self, _id: &str, _files: usize) {}
    /// Restored bytes (after decompression).
    fn bytes(&self, _n: u64) {}
    /// A file was verified (or failed).
    fn file_done(&self, _result: &FileResult) {}
    fn point_finished(&self, _result: &PointResult) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Everything a drill needs besides the runbook.
#[derive(Clone)]
pub struct DrillRequest {
    /// The path the runbook was read from, as given (recorded in the evidence).
    pub runbook_path: String,
    /// Lowercase hex SHA-256 of the runbook file's bytes.
    pub runbook_sha256: String,
    /// T0, the simulated incident time; `None`: the drill's start.
    pub now: Option<Timestamp>,
    /// Overrides the runbook's sample seed.
    pub seed: Option<u64>,
    /// The folder under which this run's scratch folder is created.
    pub scratch_root: PathBuf,
    /// The evidence folder the caller will write this run's record into, so `notify`
    /// webhooks can say where the record is (`EVIDENCE_DIR/NAME/RUN_ID/evidence.json`);
    /// `None`: not said.
    pub evidence_dir: Option<PathBuf>,
    /// Stream and hash only, write nothing to scratch (also set by the runbook's `verify_only`).
    pub verify_only: bool,
    /// Files verified at once; 0: one per core.
    pub jobs: usize,
    pub mode: Mode,
    /// The person at the terminal of a manual drill (`--interactive --operator NAME`): shown
    /// each step before it runs, and asked every `approve` question. `None`: nobody is there,
    /// and `approve` steps follow their `unattended` setting.
    pub operator: Option<Arc<dyn Operator>>,
    pub progress: Arc<dyn Progress>,
    /// Stops the drill (SIGINT/SIGTERM, or the scheduler's grace period ran out). Before the
    /// last check has finished, restores in flight stop at their next chunk; the evidence
    /// says `error`, [`INTERRUPTED`]; the scratch folder is removed even under `scratch.keep:
    /// always`, as a half-restored point is nothing to inspect. After it, the verdict stands
    /// and `stopped_after_checks` records the stop. `Stop::new()` for a drill nobody stops.
    pub stop: Stop,
}

impl std::fmt::Debug for DrillRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillRequest")
            .field("runbook_path", &self.runbook_path)
            .field("now", &self.now)
            .field("seed", &self.seed)
            .field("scratch_root", &self.scratch_root)
            .field("verify_only", &self.verify_only)
            .field("stop_requested", &self.stop.is_requested())
            .finish_non_exhaustive()
    }
}

/// Every `approve` step a drill without an operator cannot run (no `unattended` setting), as
/// `(key path, line, column)`. `lifeboat drill` without `--interactive`, and `lifeboat
/// schedule`, refuse such a runbook before anything runs.
pub fn approvals_needing_operator(runbook: &Runbook) -> Vec<(String, u32, u32)> {
    runbook
        .approvals_needing_operator()
        .into_iter()
        .map(|(key, at)| (key, at.line, at.column))
        .collect()
}

/// A run id: sortable by start time, unique enough to never collide in one evidence folder.
pub fn new_run_id(started: Timestamp) -> String {
    let stamp = started.strftime("%Y%m%dT%H%M%SZ");
    format!("{stamp}-{:06x}", random_u64() & 0xff_ffff)
}

/// A random u64 from the standard library's per-process hash keys, mixed with the clock.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// Runs one drill. Never panics on bad data; returns the evidence in every case.
pub async fn run(runbook: &Runbook, req: DrillRequest) -> Evidence {
    let started_at = Timestamp::now();
    let clock = Instant::now();
    let t0 = req.now.unwrap_or(started_at);
    let run_id = new_run_id(started_at);
    let seed = req
        .seed
        .or_else(|| runbook.sample.as_ref().and_then(|s| s.seed))
        .unwrap_or_else(random_u64);
    let verify_only = req.verify_only || runbook.verify_only;
    let scratch = req
        .scratch_root
        .join(scratch::folder_name(&runbook.name, &run_id));

    let mut drill = Drill {
        runbook,
        req: &req,
        t0,
        seed,
        clock,
        verify_only,
        scratch: scratch.clone(),
        folder: None,
        points: Vec::new(),
        projection: None,
        projected: None,
        passed: None,
        error: None,
        reason: None,
        stopped: None,
        trying: None,
        http: None,
        synced_files: AtomicU64::new(0),
        listing: None,
    };
    // The callers refuse this before anything runs (exit 2); checked here too, so no caller
    // can have a drill restore into the backup it checks.
    let inside = scratch::check_outside_source(
        &runbook.source,
        &[(scratch::Place::Scratch, &req.scratch_root)],
    );
    match (inside, reqwest::Client::builder().build()) {
        // Without a client `finally` does not run either: nothing runs.
        (Err(e), _) => drill.error = Some(e.to_string()),
        (Ok(()), Ok(client)) => {
            drill.http = Some(client);
            let source = drill.execute().await;
            drill.checks_finished();
            if let Some(source) = source {
                drill.project(&source).await;
            }
        }
        (Ok(()), Err(e)) => {
            drill.error = Some(format!(
                "cannot start an HTTP client: {}",
                steps::http_error_text(e)
            ));
            drill.checks_finished();
        }
    }
    // `finally` runs whatever happened above, for the point that passed (else the last one
    // tried); it does not count toward RTO.
    let finally = drill.run_finally().await;

    // Verdict.
    let objectives = ObjectiveSeconds {
        rto_seconds: runbook.objectives.rto.map(|d| d.as_secs()),
        rpo_seconds: runbook.objectives.rpo.map(|d| d.as_secs()),
    };
    let mut measured = Measured::default();
    if let Some((id, time, rto)) = &drill.passed {
        measured.recovery_point = Some(id.clone());
        measured.rto_seconds = Some(round_ms(rto.as_secs_f64()));
        measured.rpo_seconds = Some(round_ms(t0.duration_since(*time).as_secs_f64()));
    }
    let met = |objective: Option<Duration>, value: Option<f64>| {
        objective.map(|o| value.is_some_and(|v| v <= o.as_secs_f64()))
    };
    measured.rto_met = met(runbook.objectives.rto, measured.rto_seconds);
    measured.rpo_met = met(runbook.objectives.rpo, measured.rpo_seconds);

    // Findings, not first-error exits: every reason the drill did not pass, in one sentence.
    let (outcome, reason) = if let Some(e) = drill.error.take() {
        (Outcome::Error, Some(e))
    } else {
        let mut findings = Vec::new();
        let failed: Vec<&str> = drill
            .points
            .iter()
            .filter(|p| p.outcome != Outcome::Passed)
            .map(|p| p.id.as_str())
            .collect();
        if let Some(r) = drill.stopped.take() {
            findings.push(r);
        }
        if let Some(r) = drill.reason.take() {
            findings.push(r);
        } else if drill.passed.is_none() {
            findings.push(format!(
                "no recovery point passed (tried: {})",
                failed.join(", ")
            ));
        } else if !failed.is_empty() {
            findings.push(format!(
                "recovery point{} {} failed; {} passed",
                if failed.len() == 1 { "" } else { "s" },
                failed.join(", "),
                measured.recovery_point.as_deref().unwrap_or("none")
            ));
        }
        if let (Some(false), Some(v), Some(o)) = (
            measured.rto_met,
            measured.rto_seconds,
            runbook.objectives.rto,
        ) {
            findings.push(format!(
                "RTO objective missed: measured {v:.1}s, objective {}",
                lifeboat_core::duration::format(o)
            ));
        }
        if let (Some(false), Some(v), Some(o)) = (
            measured.rpo_met,
            measured.rpo_seconds,
            runbook.objectives.rpo,
        ) {
            findings.push(format!(
                "RPO objective missed: measured {}, objective {}",
                lifeboat_core::duration::format(Duration::from_secs_f64(v.max(0.0))),
                lifeboat_core::duration::format(o)
            ));
        }
        findings.extend(failed_steps("finally", &finally));
        if findings.is_empty() {
            (Outcome::Passed, None)
        } else {
            (Outcome::Failed, Some(findings.join("; ")))
        }
    };

    // An interrupted drill's scratch holds a point half-restored: never kept.
    let interrupted = reason.as_deref() == Some(INTERRUPTED);
    let keep = !interrupted
        && match runbook.scratch.keep {
            Keep::Always => true,
            Keep::OnFailure => outcome != Outcome::Passed,
            Keep::Never => false,
        };
    let scratch_exists = drill.folder.is_some() && scratch.exists();
    if let Some(folder) = drill.folder.take() {
        let done = if keep {
            folder.keep(&run_id)
        } else {
            folder.remove()
        };
        if let Err(e) = done {
            tracing::warn!(
                "could not {} scratch folder {}: {e}",
                if keep {
                    "mark as kept the"
                } else {
                    "remove the"
                },
                scratch.display()
            );
        }
    }

    let mut evidence = Evidence {
        format_version: FORMAT_VERSION,
        run_id,
        runbook: RunbookRef {
            name: runbook.name.clone(),
            sha256: req.runbook_sha256.clone(),
            path: req.runbook_path.clone(),
        },
        lifeboat_version: env!("CARGO_PKG_VERSION").to_string(),
        host: hostname(),
        mode: if req.operator.is_some() {
            Mode::Manual
        } else {
            req.mode
        },
        verify_only,
        t0,
        started_at,
        finished_at: Timestamp::now(),
        outcome,
        reason,
        source: SourceRef {
            url: runbook.source.url.clone(),
            listing: drill.listing.take(),
        },
        objectives,
        measured,
        projected: drill.projected,
        sample: SampleRecord {
            seed,
            files: runbook.sample.as_ref().and_then(|s| match s.size {
                lifeboat_core::runbook::SampleSize::Files(n) => Some(n),
                _ => None,
            }),
            percent: runbook.sample.as_ref().and_then(|s| match s.size {
                lifeboat_core::runbook::SampleSize::Percent(p) => Some(p),
                _ => None,
            }),
            all: runbook.sample.is_none(),
        },
        recovery_points: drill.points,
        finally,
        operator: req.operator.as_ref().map(|o| o.name().to_owned()),
        notifications: Vec::new(),
        scratch: ScratchRecord {
            path: scratch.display().to_string(),
            kept: keep && scratch_exists,
            sync: runbook.scratch.sync,
            synced_files: drill.synced_files.load(Ordering::Relaxed),
        },
        stopped_after_checks: None,
    };
    // Before anything reads the record (webhooks, the caller): one bound for every reason.
    evidence.clip_reasons();
    if let Some(client) = &drill.http {
        let record = req.evidence_dir.as_ref().map(|d| evidence.record_path(d));
        evidence.notifications =
            notify::send_all(&runbook.notify, &evidence, record.as_deref(), client).await;
    }
    // Late, after the webhooks too: a stop while they were posted is recorded as well.
    evidence.stopped_after_checks = req.stop.stopped_after_checks();
    evidence
}

/// `KEY (NAME) failed: REASON` for each failed step of a list.
fn failed_steps(section: &str, results: &[StepResult]) -> Vec<String> {
    results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.outcome != Outcome::Passed)
        .map(|(i, r)| step_failure(&format!("{section}[{i}]"), r))
        .collect()
}

fn step_failure(key: &str, r: &StepResult) -> String {
    let name = r.name.as_deref().unwrap_or(&r.kind);
    format!(
        "{key} ({name}) failed: {}",
        r.reason.as_deref().unwrap_or("no reason given")
    )
}

fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The machine's host name (`uname -n`), for the evidence; `None` when unset or not UTF-8.
fn hostname() -> Option<String> {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_str().ok()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

struct Drill<'a> {
    runbook: &'a Runbook,
    req: &'a DrillRequest,
    t0: Timestamp,
    seed: u64,
    clock: Instant,
    verify_only: bool,
    /// The run folder's path, from the start (the evidence and `{scratch}` name it).
    scratch: PathBuf,
    /// The run folder, locked, once something needed it; see [`scratch`].
    folder: Option<scratch::RunFolder>,
    points: Vec<PointResult>,
    /// What discovery saw below the source, in one sentence, for the evidence.
    listing: Option<String>,
    /// What the projection of the point that passed (else the newest that restored files)
    /// needs; computed after every measured step, so it never counts toward RTO.
    projection: Option<project::Input>,
    projected: Option<Projected>,
    /// The newest point that passed: id, time, and the RTO measured when its checks ended.
    passed: Option<(String, Timestamp, Duration)>,
    /// Why the drill could not complete (exit 3).
    error: Option<String>,
    /// Why the drill failed before any point was tried.
    reason: Option<String>,
    /// Set when the operator of a manual drill chose not to go on: why, in one sentence.
    stopped: Option<String>,
    /// The point whose steps ran last (also one an interruption left unfinished, which the
    /// evidence does not list): what `finally` runs for when no point passed.
    trying: Option<String>,
    /// For `http` steps and `notify`; `None` only when it could not be built (an error).
    http: Option<reqwest::Client>,
    /// Restored files flushed to disk before they were verified, over all points tried.
    synced_files: AtomicU64,
}

impl Drill<'_> {
    /// The drill's checks: every point tried, its steps run. Returns the source for the
    /// projection, unless the drill could not go on.
    async fn execute(&mut self) -> Option<Source> {
        let spec = &self.runbook.source;
        let source = match Source::open(spec) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(e.to_string());
                return None;
            }
        };
        let cancel = self.req.stop.token().clone();
        let (candidates, mut census) = match until_cancelled(
            &cancel,
            discover::candidates(&source, self.runbook, self.t0),
        )
        .await
        {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                self.error = Some(e.to_string());
                return None;
            }
            Err(Interrupted) => {
                self.error = Some(INTERRUPTED.into());
                return None;
            }
        };
        let mut tried_any = false;
        for candidate in candidates {
            if cancel.is_cancelled() {
                self.error = Some(INTERRUPTED.into());
                return None;
            }
            match self.try_point(&source, &candidate).await {
                Ok(Some((result, input))) => {
                    tried_any = true;
                    let passed = result.outcome == Outcome::Passed;
                    if let Some(input) = input
                        && (self.projection.is_none() || (passed && self.passed.is_none()))
                    {
                        self.projection = Some(input);
                    }
                    self.req.progress.point_finished(&result);
                    self.points.push(result);
                    if passed && self.passed.is_none() {
                        self.passed =
                            Some((candidate.id.clone(), candidate.time, self.clock.elapsed()));
                    }
                    if passed && self.runbook.recovery_points.select == Select::Latest {
                        break;
                    }
                    if self.stopped.is_some() {
                        break;
                    }
                }
                // Not a recovery point after all: it holds no manifest.
                Ok(None) => census.without_manifest += 1,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        }
        self.listing = Some(census.describe(&self.runbook.manifest.path));
        if !tried_any {
            let within = self
                .runbook
                .recovery_points
                .within
                .map(|w| format!("within {} before", lifeboat_core::duration::format(w)))
                .unwrap_or_else(|| "at or before".to_string());
            self.reason = Some(format!(
                "no recovery point {within} T0 {} ({})",
                self.t0,
                census.describe(&self.runbook.manifest.path)
            ));
        }
        Some(source)
    }

    /// The last check has finished (or the drill cannot go on): from here on a stop cannot
    /// change the verdict. A stop that came first interrupted the drill, whatever its checks
    /// found since, and an interrupted drill measures nothing: the terminal has already said
    /// `interrupted`, and the evidence must agree.
    fn checks_finished(&mut self) {
        if !self.req.stop.checks_finished() && self.error.is_none() {
            self.error = Some(INTERRUPTED.into());
        }
        if self.error.as_deref() == Some(INTERRUPTED) {
            self.passed = None;
        }
    }

    /// The projection of the point that passed (else the newest that restored files). After
    /// every measured step; a stop skips it.
    async fn project(&mut self, source: &Source) {
        if let Some(input) = self.projection.take()
            && let Some(point) = self.points.iter().find(|p| p.id == input.point)
        {
            self.projected = until_cancelled(
                self.req.stop.token(),
                project::project(source, input, point),
            )
            .await
            .ok()
            .flatten();
        }
    }

    /// Tries one point. `Ok(None)`: it has no manifest, so it is not a point. `Err`: the drill
    /// cannot complete.
    async fn try_point(
        &mut self,
        source: &Source,
        candidate: &Candidate,
    ) -> Result<Option<(PointResult, Option<project::Input>)>, String> {
        let started_at = Timestamp::now();
        let algorithm = self.runbook.manifest.format.algorithm();
        let manifest_rel = format!("{}/{}", candidate.id, self.runbook.manifest.path);
        let mut result = PointResult {
            id: candidate.id.clone(),
            time: candidate.time,
            outcome: Outcome::Failed,
            reason: None,
            started_at,
            finished_at: started_at,
            manifest: ManifestRecord {
                path: self.runbook.manifest.path.clone(),
                algorithm,
                entries: None,
                sha256: None,
            },
            files: Vec::new(),
            steps: Vec::new(),
        };
        let read = until_cancelled(
            self.req.stop.token(),
            source.read_small(&manifest_rel, MAX_MANIFEST_BYTES),
        )
        .await
        .map_err(|Interrupted| INTERRUPTED.to_string())?;
        let bytes = match read {
            Ok(Some((bytes, _))) => bytes,
            Ok(None) => return Ok(None),
            // A manifest that is a link, a FIFO, too large or unreadable fails this point
            // (nothing was read from it); the drill goes on to older points.
            Err(e) if e.is_finding() => {
                result.reason = Some(format!("manifest {}", e.below(&candidate.id)));
                result.finished_at = Timestamp::now();
                return Ok(Some((result, None)));
            }
            Err(e) => return Err(e.to_string()),
        };
        result.manifest.sha256 = Some(hex::encode(sha2::Sha256::digest(&bytes)));
        let entries = match lifeboat_core::manifest::parse(&bytes, algorithm) {
            Ok(e) => e,
            Err(e) => {
                result.reason = Some(format!("manifest {}: {e}", self.runbook.manifest.path));
                result.finished_at = Timestamp::now();
                return Ok(Some((result, None)));
            }
        };
        result.manifest.entries = Some(entries.len() as u64);
        if entries.is_empty() {
            result.reason = Some(format!(
                "manifest {} lists no files: verifying nothing is never a pass",
                self.runbook.manifest.path
            ));
            result.finished_at = Timestamp::now();
            return Ok(Some((result, None)));
        }

        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        let count = match &self.runbook.sample {
            Some(s) => lifeboat_core::sample::sample_count(entries.len(), s.size),
            None => entries.len(),
        };
        let chosen = lifeboat_core::sample::choose(&paths, count, self.seed);
        let projection = project::Input::new(&candidate.id, &entries, &chosen);
        let jobs: Vec<FileJob> = chosen
            .iter()
            .map(|&i| FileJob {
                path: entries[i].path.clone(),
                expected: entries[i].digest.clone(),
                algorithm,
            })
            .collect();
        drop(entries);

        let point_dir = self.scratch.join(&candidate.id);
        self.trying = Some(candidate.id.clone());
        for (i, step) in self.runbook.steps.iter().enumerate() {
            let key = format!("steps[{i}]");
            let go_on = match self.confirm(&key, Some(&candidate.id), step).await {
                Ok(answer) => answer,
                Err(declined) => {
                    result.reason = Some(step_failure(&key, &declined));
                    result.steps.push(declined);
                    break;
                }
            };
            let mut step_result = match &step.kind {
                StepKind::Restore => {
                    if !self.verify_only {
                        self.folder_for(Some(&candidate.id))?;
                    }
                    let step_started = Timestamp::now();
                    // A timeout stops the restore the way an interruption does (so nothing
                    // still writes into scratch afterwards), through a token of its own.
                    let token = self.req.stop.token().child_token();
                    let restoring =
                        self.restore_all(source, &candidate.id, jobs.clone(), &point_dir, &token);
                    tokio::pin!(restoring);
                    let mut timed_out = false;
                    let files = match step.timeout {
                        None => restoring.await,
                        Some(t) => tokio::select! {
                            files = &mut restoring => files,
                            () = tokio::time::sleep(t) => {
                                timed_out = true;
                                token.cancel();
                                restoring.await
                            }
                        },
                    };
                    let restored = match files {
                        Err(_) if timed_out && !self.req.stop.is_requested() => None,
                        Err(e) => return Err(e),
                        Ok(files) => Some(files),
                    };
                    let (outcome, reason) = match restored {
                        None => (
                            Outcome::Failed,
                            Some(format!(
                                "timed out after {}",
                                lifeboat_core::duration::format(step.timeout.unwrap_or_default())
                            )),
                        ),
                        Some(files) => {
                            let failed = files
                                .iter()
                                .filter(|f| f.outcome != Outcome::Passed)
                                .count();
                            let reason = (failed > 0).then(|| {
                                format!("{failed} of {} sampled files failed", files.len())
                            });
                            result.files = files;
                            (
                                if failed == 0 {
                                    Outcome::Passed
                                } else {
                                    Outcome::Failed
                                },
                                reason,
                            )
                        }
                    };
                    StepResult {
                        kind: "restore".into(),
                        name: step.name.clone(),
                        started_at: step_started,
                        finished_at: Timestamp::now(),
                        outcome,
                        reason,
                        detail: None,
                    }
                }
                _ => {
                    if matches!(step.kind, StepKind::Run { .. }) {
                        self.folder_for(Some(&candidate.id))?;
                    }
                    let env = steps::StepEnv {
                        scratch: &point_dir,
                        recovery_point: &candidate.id,
                        operator: self.req.operator.as_ref(),
                        http: self.http.as_ref().expect("built before the drill runs"),
                        cancel: self.req.stop.token(),
                    };
                    steps::execute(step, &env).await
                }
            };
            if let Some(a) = &go_on {
                steps::record_answer(
                    step_result.detail.get_or_insert_with(Default::default),
                    "go_on_",
                    a,
                );
            }
            tracing::info!(
                point = %candidate.id,
                step = %key,
                kind = %step_result.kind,
                outcome = %step_result.outcome,
                reason = step_result.reason.as_deref().unwrap_or(""),
                "step finished"
            );
            // The point in progress is not listed when the drill is interrupted.
            if self.req.stop.is_requested() {
                return Err(INTERRUPTED.to_string());
            }
            let failed = step_result.outcome != Outcome::Passed;
            if failed {
                // The restore step's own reason ("N of M sampled files failed") says it all.
                result.reason = Some(if matches!(step.kind, StepKind::Restore) {
                    step_result.reason.clone().unwrap_or_default()
                } else {
                    step_failure(&key, &step_result)
                });
            }
            result.steps.push(step_result);
            if failed {
                break;
            }
        }
        if result.reason.is_none() {
            result.outcome = Outcome::Passed;
        }
        result.finished_at = Timestamp::now();
        let restored_any = result.files.iter().any(|f| f.object_bytes.is_some());
        Ok(Some((result, restored_any.then_some(projection))))
    }

    /// In a manual drill, shows the step and asks whether to go on. `Ok(None)`: no operator.
    /// `Err`: the operator said no (or the terminal closed): the step, failed, and the drill
    /// tries no further point.
    async fn confirm(
        &mut self,
        key: &str,
        point: Option<&str>,
        step: &Step,
    ) -> Result<Option<Answer>, StepResult> {
        let Some(operator) = self.req.operator.clone() else {
            return Ok(None);
        };
        let view = StepView {
            key: key.to_owned(),
            recovery_point: point.map(str::to_owned),
            kind: step.kind.name(),
            name: step.name.clone(),
            summary: steps::summary(&step.kind),
        };
        let name = operator.name().to_owned();
        let started_at = Timestamp::now();
        let answer = tokio::task::spawn_blocking(move || operator.go_on(&view))
            .await
            .ok()
            .flatten();
        if let Some(a) = answer.as_ref().filter(|a| a.yes) {
            return Ok(Some(a.clone()));
        }
        let mut detail = std::collections::BTreeMap::new();
        detail.insert("operator".to_owned(), name.clone());
        let reason = match &answer {
            Some(a) => {
                steps::record_answer(&mut detail, "go_on_", a);
                format!("{name} chose not to go on (answered {:?})", a.text)
            }
            None => format!("no answer from {name}: the terminal closed"),
        };
        if self.stopped.is_none() && key.starts_with("steps") {
            self.stopped = Some(format!("stopped by the operator at {key}: {reason}"));
        }
        Err(StepResult {
            kind: step.kind.name().to_owned(),
            name: step.name.clone(),
            started_at,
            finished_at: Timestamp::now(),
            outcome: Outcome::Failed,
            reason: Some(reason),
            detail: Some(detail),
        })
    }

    /// The folder `{scratch}` names for recovery point `point` (the run folder itself for
    /// `None`), made on first use: the run folder locked for the rest of the drill (see
    /// [`scratch`]), every folder mode 0700. `Err`: the drill cannot complete.
    fn folder_for(&mut self, point: Option<&str>) -> Result<PathBuf, String> {
        let cannot = |path: &Path, e: std::io::Error| {
            format!("cannot create the scratch folder {}: {e}", path.display())
        };
        let folder = match &mut self.folder {
            Some(f) => f,
            None => {
                let name = self
                    .scratch
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let made = scratch::RunFolder::create(&self.req.scratch_root, name)
                    .map_err(|e| cannot(&self.scratch, e))?;
                self.folder.insert(made)
            }
        };
        match point {
            None => Ok(folder.path().to_path_buf()),
            Some(id) => folder
                .point(id)
                .map_err(|e| cannot(&folder.path().join(id), e)),
        }
    }

    /// Runs every `finally` step, each whatever the ones before it did.
    async fn run_finally(&mut self) -> Vec<StepResult> {
        let point = self
            .passed
            .as_ref()
            .map(|(id, _, _)| id.clone())
            .or_else(|| self.trying.clone());
        let dir = match &point {
            Some(id) => self.scratch.join(id),
            None => self.scratch.clone(),
        };
        let point = point.unwrap_or_default();
        let mut results = Vec::new();
        let Some(http) = self.http.clone() else {
            return results;
        };
        // `finally` runs after an interruption too: its steps get a token of their own, never
        // cancelled (each is still bounded by its timeout).
        let cancel = CancellationToken::new();
        for (i, step) in self.runbook.finally.iter().enumerate() {
            let key = format!("finally[{i}]");
            let go_on = match self.confirm(&key, Some(&point), step).await {
                Ok(a) => a,
                Err(declined) => {
                    results.push(declined);
                    continue;
                }
            };
            if matches!(step.kind, StepKind::Run { .. })
                && let Err(reason) = self.folder_for((!point.is_empty()).then_some(&point))
            {
                let now = Timestamp::now();
                results.push(StepResult {
                    kind: step.kind.name().to_owned(),
                    name: step.name.clone(),
                    started_at: now,
                    finished_at: now,
                    outcome: Outcome::Failed,
                    reason: Some(reason),
                    detail: None,
                });
                continue;
            }
            let env = steps::StepEnv {
                scratch: &dir,
                recovery_point: &point,
                operator: self.req.operator.as_ref(),
                http: &http,
                cancel: &cancel,
            };
            let mut r = steps::execute(step, &env).await;
            if let Some(a) = &go_on {
                steps::record_answer(r.detail.get_or_insert_with(Default::default), "go_on_", a);
            }
            results.push(r);
        }
        results
    }

    async fn restore_all(
        &self,
        source: &Source,
        point_id: &str,
        jobs: Vec<FileJob>,
        point_dir: &Path,
        cancel: &CancellationToken,
    ) -> Result<Vec<FileResult>, String> {
        let progress = self.req.progress.clone();
        progress.point_started(point_id, jobs.len());
        // The point's folder was made (private, in the locked run folder) by the caller.
        let dest = if self.verify_only {
            None
        } else {
            Some(Dest {
                root: point_dir,
                sync: self.runbook.scratch.sync,
            })
        };
        let parallel = if self.req.jobs == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.req.jobs
        };
        // A few more in flight than cores, so I/O waits overlap with hashing. A restore waits
        // mostly on each file's `fdatasync` (76% of its syscall time over 2,998 files), and
        // the filesystem commits concurrent ones together, so it keeps more files going.
        let in_flight = if dest.is_some() {
            (parallel * 2).max(RESTORE_IN_FLIGHT)
        } else {
            parallel * 2
        };
        let mut results: Vec<(usize, FileResult)> = Vec::with_capacity(jobs.len());
        let mut stream = futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(i, job)| {
                let progress = progress.clone();
                async move {
                    let verdict =
                        restore::restore_file(source, point_id, job, dest, progress, cancel).await;
                    (i, verdict)
                }
            })
            .buffer_unordered(in_flight);
        while let Some((i, verdict)) = stream.next().await {
            match verdict {
                FileVerdict::Done { result, synced } => {
                    progress.file_done(&result);
                    self.synced_files
                        .fetch_add(u64::from(synced), Ordering::Relaxed);
                    results.push((i, result));
                }
                // Interrupted: drain the stream rather than drop it, so no restore is still
                // writing into the scratch folder the caller is about to remove. Each one
                // left stops at its next chunk; those not begun return at once.
                FileVerdict::Abort(_) if cancel.is_cancelled() => {}
                FileVerdict::Abort(e) => return Err(e),
            }
        }
        if cancel.is_cancelled() {
            return Err(INTERRUPTED.into());
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

/// The drill was interrupted through [`DrillRequest::stop`].
#[derive(Debug)]
struct Interrupted;

/// Runs `work` unless `cancel` fires first (checked first, so a cancelled drill starts
/// nothing). Only for work that may be dropped half-way: reads and sleeps, never writes.
async fn until_cancelled<F: std::future::Future>(
    cancel: &CancellationToken,
    work: F,
) -> Result<F::Output, Interrupted> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Interrupted),
        out = work => Ok(out),
    }
}

#[cfg(test)]
mod tests;
