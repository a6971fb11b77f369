//! The drill's checks: open the source, discover the recovery points, try each in turn (its
//! manifest, its sample, its steps), fall back to older points as the runbook says, then run
//! `finally`. What it finds is kept in [`Drill`] for the verdict and the record.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use jiff::Timestamp;
use lifeboat_core::evidence::{
    FileResult, ManifestRecord, Outcome, PointResult, Projected, StepResult,
};
use lifeboat_core::runbook::{Runbook, Select, Step, StepKind};
use lifeboat_core::verdict::step_failure;
use lifeboat_storage::Source;
use sha2::Digest;
use tokio_util::sync::CancellationToken;

use crate::discover::{self, Candidate};
use crate::restore::{self, Dest, FileJob, Restored};
use crate::stop::until_cancelled;
use crate::{
    Answer, DrillError, DrillRequest, MAX_MANIFEST_BYTES, ScratchError, StepView, new_run_id,
    projection, random_u64, scratch, steps,
};

/// Files restored into scratch at once, at least: see `restore_all`.
const RESTORE_IN_FLIGHT: usize = 16;

/// One drill in progress, and what it has found so far.
pub(crate) struct Drill<'a> {
    pub(crate) runbook: &'a Runbook,
    pub(crate) req: &'a DrillRequest,
    pub(crate) run_id: String,
    pub(crate) started_at: Timestamp,
    pub(crate) t0: Timestamp,
    pub(crate) seed: u64,
    clock: Instant,
    pub(crate) verify_only: bool,
    /// The run folder's path, from the start (the evidence and `{scratch}` name it).
    pub(crate) scratch: PathBuf,
    /// The run folder, locked, once something needed it; see [`scratch`].
    pub(crate) folder: Option<scratch::RunFolder>,
    pub(crate) points: Vec<PointResult>,
    /// What discovery saw below the source, in one sentence, for the evidence.
    pub(crate) listing: Option<String>,
    /// What the projection of the point that passed (else the newest that restored files)
    /// needs; computed after every measured step, so it never counts toward RTO.
    projection: Option<projection::Input>,
    pub(crate) projected: Option<Projected>,
    /// The newest point that passed: id, time, and the RTO measured when its checks ended.
    pub(crate) passed: Option<(String, Timestamp, Duration)>,
    /// Why the drill could not complete (exit 3).
    pub(crate) error: Option<DrillError>,
    /// Set when the operator of a manual drill chose not to go on: the step's key, and the
    /// declined step's reason.
    pub(crate) operator_stop: Option<(String, String)>,
    /// The point whose steps ran last (also one an interruption left unfinished, which the
    /// evidence does not list): what `finally` runs for when no point passed.
    trying: Option<String>,
    /// For `http` steps and `notify`; `None` only when it could not be built (an error).
    pub(crate) http: Option<reqwest::Client>,
    /// Restored files flushed to disk before they were verified, over all points tried.
    synced_files: AtomicU64,
}

impl<'a> Drill<'a> {
    /// A drill about to start: T0 and the run id taken, the seed chosen, nothing done.
    pub(crate) fn new(runbook: &'a Runbook, req: &'a DrillRequest) -> Self {
        let started_at = Timestamp::now();
        let run_id = new_run_id(started_at);
        let seed = req
            .seed
            .or_else(|| runbook.sample.as_ref().and_then(|s| s.seed))
            .unwrap_or_else(random_u64);
        let scratch = req
            .scratch_root
            .join(scratch::folder_name(&runbook.name, &run_id));
        Drill {
            runbook,
            req,
            run_id,
            started_at,
            t0: req.now.unwrap_or(started_at),
            seed,
            clock: Instant::now(),
            verify_only: req.verify_only || runbook.verify_only,
            scratch,
            folder: None,
            points: Vec::new(),
            listing: None,
            projection: None,
            projected: None,
            passed: None,
            error: None,
            operator_stop: None,
            trying: None,
            http: None,
            synced_files: AtomicU64::new(0),
        }
    }

    /// Every check the drill makes, up to (not including) `finally`; what they find is kept
    /// in `self`.
    pub(crate) async fn check(&mut self) {
        // The callers refuse this before anything runs (exit 2); checked here too, so no
        // caller can have a drill restore into the backup it checks.
        let inside = scratch::check_outside_source(
            &self.runbook.source,
            &[(scratch::Place::Scratch, &self.req.scratch_root)],
        );
        match (inside, reqwest::Client::builder().build()) {
            // Without a client `finally` does not run either: nothing runs.
            (Err(e), _) => self.error = Some(e.into()),
            (Ok(()), Ok(client)) => {
                self.http = Some(client);
                let source = self.execute().await;
                self.checks_finished();
                if let Some(source) = source {
                    self.project(&source).await;
                }
            }
            (Ok(()), Err(e)) => {
                self.error = Some(DrillError::HttpClient {
                    detail: steps::http_error_text(e),
                });
                self.checks_finished();
            }
        }
    }

    /// Restored files flushed to disk before they were verified, over all points tried.
    pub(crate) fn synced_files(&self) -> u64 {
        self.synced_files.load(Ordering::Relaxed)
    }
}

impl Drill<'_> {
    /// The drill's checks: every point tried, its steps run. Returns the source for the
    /// projection, unless the drill could not go on.
    async fn execute(&mut self) -> Option<Source> {
        let spec = &self.runbook.source;
        let source = match Source::open(spec) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(e.into());
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
                self.error = Some(e.into());
                return None;
            }
            Err(e) => {
                self.error = Some(e);
                return None;
            }
        };
        for candidate in candidates {
            if cancel.is_cancelled() {
                self.error = Some(DrillError::Interrupted);
                return None;
            }
            match self.try_point(&source, &candidate).await {
                Ok(Some((result, input))) => {
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
                    if self.operator_stop.is_some() {
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
        Some(source)
    }

    /// The last check has finished (or the drill cannot go on): from here on a stop cannot
    /// change the verdict. A stop that came first interrupted the drill, whatever its checks
    /// found since, and an interrupted drill measures nothing: the terminal has already said
    /// `interrupted`, and the evidence must agree.
    fn checks_finished(&mut self) {
        if !self.req.stop.checks_finished() && self.error.is_none() {
            self.error = Some(DrillError::Interrupted);
        }
        if matches!(self.error, Some(DrillError::Interrupted)) {
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
                projection::project(source, input, point),
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
    ) -> Result<Option<(PointResult, Option<projection::Input>)>, DrillError> {
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
        .await?;
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
            Err(e) => return Err(e.into()),
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
        let projection = projection::Input::new(&candidate.id, &entries, &chosen);
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
                    let ctx = steps::StepContext {
                        scratch: &point_dir,
                        recovery_point: &candidate.id,
                        operator: self.req.operator.as_ref(),
                        http: self.http.as_ref().expect("built before the drill runs"),
                        cancel: self.req.stop.token(),
                    };
                    steps::execute(step, &ctx).await?
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
                return Err(DrillError::Interrupted);
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
        if self.operator_stop.is_none() && key.starts_with("steps") {
            self.operator_stop = Some((key.to_owned(), reason.clone()));
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
    fn folder_for(&mut self, point: Option<&str>) -> Result<PathBuf, ScratchError> {
        let cannot = |path: &Path, source: std::io::Error| ScratchError::Folder {
            path: path.to_path_buf(),
            source,
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
    pub(crate) async fn run_finally(&mut self) -> Vec<StepResult> {
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
                && let Err(e) = self.folder_for((!point.is_empty()).then_some(&point))
            {
                results.push(failed_at_once(step, e.to_string()));
                continue;
            }
            let ctx = steps::StepContext {
                scratch: &dir,
                recovery_point: &point,
                operator: self.req.operator.as_ref(),
                http: &http,
                cancel: &cancel,
            };
            // Only a stop ends a step with `Err`, and nothing stops `finally`'s steps.
            let mut r = match steps::execute(step, &ctx).await {
                Ok(r) => r,
                Err(e) => failed_at_once(step, e.to_string()),
            };
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
    ) -> Result<Vec<FileResult>, DrillError> {
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
                Ok(Restored { result, synced }) => {
                    progress.file_done(&result);
                    self.synced_files
                        .fetch_add(u64::from(synced), Ordering::Relaxed);
                    results.push((i, result));
                }
                // Interrupted: drain the stream rather than drop it, so no restore is still
                // writing into the scratch folder the caller is about to remove. Each one
                // left stops at its next chunk; those not begun return at once.
                Err(_) if cancel.is_cancelled() => {}
                Err(e) => return Err(e),
            }
        }
        if cancel.is_cancelled() {
            return Err(DrillError::Interrupted);
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

/// `step`, failed before it could start, for `reason`.
fn failed_at_once(step: &Step, reason: String) -> StepResult {
    let now = Timestamp::now();
    StepResult {
        kind: step.kind.name().to_owned(),
        name: step.name.clone(),
        started_at: now,
        finished_at: now,
        outcome: Outcome::Failed,
        reason: Some(reason),
        detail: None,
    }
}
