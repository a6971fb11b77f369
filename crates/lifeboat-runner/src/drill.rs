//! The drill's checks: discover the recovery points through the source format, try each in
//! turn (read it, plan its sample, run its steps: the `restore` step executes the plan), fall
//! back to older points as the runbook says, then run `finally`. What it finds is kept in
//! [`Drill`] for the verdict and the record.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use lifeboat_core::evidence::{Outcome, PointResult, Projected, StepResult};
use lifeboat_core::runbook::{Runbook, Select, SourceKind, Step, StepKind};
use lifeboat_core::verdict::{AfterFailure, NoFallback, after_failure, step_failure};
use tokio_util::sync::CancellationToken;

use crate::format::{self, Candidate, Census, PointRead, SourceFormat};
use crate::plan::PointPlan;
use crate::restore::Dest;
use crate::steps::restore::Restoring;
use crate::stop::until_cancelled;
use crate::{
    Answer, DrillError, DrillRequest, Next, ScratchError, StepView, new_run_id, projection,
    random_u64, scratch, steps,
};

/// Where a drill stopped without trying older points: see
/// [`lifeboat_core::verdict::Stopped`], which borrows it for the verdict.
pub(crate) struct Stopped {
    pub(crate) point: String,
    /// The step's key (`steps[1]`).
    pub(crate) key: String,
    /// The step, as it failed (declined, when the operator stopped the drill).
    pub(crate) step: StepResult,
    pub(crate) why: NoFallback,
}

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
    /// The newest point that passed: its id, and the RTO measured when its checks ended.
    pub(crate) passed: Option<(String, Duration)>,
    /// Why the drill could not complete (exit 3).
    pub(crate) error: Option<DrillError>,
    /// Set when the drill stopped at a point and tries no older one: what failed there says
    /// nothing about the backup (the operator's stop, a failed `approve`...).
    pub(crate) stopped: Option<Stopped>,
    /// The point whose steps ran last (also one an interruption left unfinished, which the
    /// evidence does not list): what `finally` runs for when no point passed.
    trying: Option<String>,
    /// For `http` steps and `notify`: built by `check` only when the runbook has either
    /// ([`needs_http`]), since building it loads the system's TLS roots; `None` otherwise.
    pub(crate) http: Option<reqwest::Client>,
    /// `check` got past its refusals (scratch inside the source, no HTTP client): the
    /// checks ran, so `finally` runs too.
    began: bool,
    /// Restored files flushed to disk before they were verified, over all points tried.
    synced_files: AtomicU64,
    /// Every point in the window, newest first: what the coverage phase covers.
    window: Vec<Candidate>,
    /// The coverage phase's record, when the runbook has `coverage` and the phase ran.
    pub(crate) coverage: Option<lifeboat_core::evidence::CoverageRecord>,
    /// The phase's verifications, for the ledger once the record is written.
    pub(crate) coverage_pending: Option<lifeboat_core::coverage::PhaseRecord>,
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
            stopped: None,
            trying: None,
            http: None,
            began: false,
            synced_files: AtomicU64::new(0),
            window: Vec::new(),
            coverage: None,
            coverage_pending: None,
        }
    }

    /// Every check the drill makes through `format`, up to (not including) `finally`; what
    /// they find is kept in `self`. `format`: the source, opened (without I/O).
    pub(crate) async fn check<F: SourceFormat>(&mut self, format: Result<F, DrillError>) {
        // The callers refuse this before anything runs (exit 2); checked here too, so no
        // caller can have a drill restore into the backup it checks.
        let inside = scratch::check_outside_source(
            &self.runbook.source,
            &[(scratch::Place::Scratch, &self.req.scratch_root)],
        );
        let client = if needs_http(self.runbook) {
            reqwest::Client::builder().build().map(Some)
        } else {
            Ok(None)
        };
        match (inside, client) {
            // Without a client `finally` does not run either: nothing runs.
            (Err(e), _) => self.error = Some(e.into()),
            (Ok(()), Ok(client)) => {
                self.http = client;
                self.began = true;
                let format = match format {
                    Ok(format) => Some(format),
                    Err(e) => {
                        self.error = Some(e);
                        None
                    }
                };
                let went_on = match &format {
                    Some(format) => self.try_points(format).await,
                    None => false,
                };
                // After the restore test, whatever its verdict: part of the checks, so a
                // stop during it interrupts the drill.
                if let Some(format) = format.as_ref().filter(|_| went_on) {
                    self.coverage_phase(format).await;
                }
                self.checks_finished();
                if let Some(format) = format.filter(|_| went_on) {
                    self.project(&format).await;
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

    /// Every point tried, its steps run, until one passes (`select: latest`) or all were
    /// tried. `false`: the drill cannot go on (`self.error` says why).
    async fn try_points<F: SourceFormat>(&mut self, format: &F) -> bool {
        let cancel = self.req.stop.token().clone();
        let (found, mut census) = match until_cancelled(&cancel, format.discover())
            .await
            .and_then(|found| found)
        {
            Ok(found) => found,
            Err(e) => {
                self.error = Some(e);
                return false;
            }
        };
        let within = self.runbook.recovery_points.within;
        self.window = format::in_window(found, self.t0, within, &mut census);
        let mut candidates = self.window.clone().into_iter().peekable();
        while let Some(candidate) = candidates.next() {
            if cancel.is_cancelled() {
                self.error = Some(DrillError::Interrupted);
                return false;
            }
            match self.try_point(format, candidate).await {
                Ok(Some((result, input))) => {
                    let passed = result.outcome == Outcome::Passed;
                    if let Some(input) = input
                        && (self.projection.is_none() || (passed && self.passed.is_none()))
                    {
                        self.projection = Some(input);
                    }
                    if passed && self.passed.is_none() {
                        self.passed = Some((result.id.clone(), self.clock.elapsed()));
                    }
                    let done = passed && self.runbook.recovery_points.select == Select::Latest;
                    let next = match &self.stopped {
                        Some(stopped) => Next::Stop(stopped.why),
                        None if done => Next::Done,
                        None if candidates.peek().is_some() => Next::Older,
                        None => Next::NoneLeft,
                    };
                    self.req.progress.point_finished(&result);
                    tracing::info!(
                        point = %result.id,
                        outcome = %result.outcome,
                        reason = result.reason.as_deref().unwrap_or(""),
                        next = ?next,
                        "recovery point finished"
                    );
                    if let Some(operator) = &self.req.operator {
                        operator.point_finished(&result, next);
                    }
                    self.points.push(result);
                    if done || self.stopped.is_some() {
                        break;
                    }
                }
                Ok(None) => census.not_a_point(),
                Err(e) => {
                    self.error = Some(e);
                    return false;
                }
            }
        }
        self.listing = Some(census.describe());
        true
    }

    /// The coverage phase, when the runbook has `coverage`: see [`crate::coverage`]. An
    /// error ends the drill as one that could not complete.
    async fn coverage_phase<F: SourceFormat>(&mut self, format: &F) {
        let Some(spec) = &self.runbook.coverage else {
            return;
        };
        let Some(context) = &self.req.coverage else {
            self.error = Some(DrillError::NoLedger);
            return;
        };
        let phase = crate::coverage::Phase {
            runbook: self.runbook,
            spec,
            context,
            run_id: &self.run_id,
            t0: self.t0,
            seed: self.seed,
            jobs: self.req.jobs,
            cancel: self.req.stop.token(),
        };
        match phase.run(format, &self.window).await {
            Ok((record, pending)) => {
                tracing::info!(
                    objects = record.objects,
                    verified = record.verified.len(),
                    failed = record
                        .verified
                        .iter()
                        .filter(|v| v.outcome != Outcome::Passed)
                        .count(),
                    ratio = record.ratio,
                    on_pace = record.on_pace,
                    "coverage phase finished"
                );
                self.coverage = Some(record);
                self.coverage_pending = Some(pending);
            }
            Err(e) => self.error = Some(e),
        }
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
    async fn project<F: SourceFormat>(&mut self, format: &F) {
        let Some(input) = self.projection.take() else {
            return;
        };
        let Some(point) = self.points.iter().find(|p| p.id == input.point) else {
            return;
        };
        self.projected = until_cancelled(
            self.req.stop.token(),
            projection::project(format, input, point),
        )
        .await
        .ok()
        .flatten();
    }

    /// Tries one point: reads it, plans its sample, runs its steps. `Ok(None)`: it is not a
    /// point after all. `Err`: the drill cannot complete.
    async fn try_point<F: SourceFormat>(
        &mut self,
        format: &F,
        candidate: Candidate,
    ) -> Result<Option<(PointResult, Option<projection::Input>)>, DrillError> {
        let started_at = Timestamp::now();
        let read = until_cancelled(self.req.stop.token(), format.read_point(&candidate)).await??;
        let (manifest, entries) = match read {
            PointRead::NotAPoint => return Ok(None),
            // The point fails before any file is tried; the drill goes on to older points.
            PointRead::Failed { manifest, reason } => {
                let result = PointResult {
                    id: candidate.id,
                    time: candidate.time,
                    outcome: Outcome::Failed,
                    reason: Some(reason),
                    started_at,
                    finished_at: Timestamp::now(),
                    manifest,
                    files: Vec::new(),
                    steps: Vec::new(),
                };
                return Ok(Some((result, None)));
            }
            PointRead::Listed { manifest, entries } => (manifest, entries),
        };
        let plan = plan_point(
            self.runbook,
            format,
            candidate,
            manifest,
            entries,
            self.seed,
        );
        // A file `sample.always` names is missing from this point: it fails before anything
        // runs (a step reading that file could not pass), and the drill goes on to older
        // points, as for a manifest that cannot be read.
        if let Some(reason) = plan.unlisted_reason() {
            let result = PointResult {
                id: plan.point.id,
                time: plan.point.time,
                outcome: Outcome::Failed,
                reason: Some(reason),
                started_at,
                finished_at: Timestamp::now(),
                manifest: plan.manifest,
                files: Vec::new(),
                steps: Vec::new(),
            };
            return Ok(Some((result, None)));
        }
        self.run_point(format, plan, started_at).await.map(Some)
    }

    /// Executes a point's plan: runs its steps in order (the `restore` step restores the
    /// plan's files), until one fails. The point's record, and what its projection needs
    /// when it restored anything.
    async fn run_point<F: SourceFormat>(
        &mut self,
        format: &F,
        plan: PointPlan<F::Locator>,
        started_at: Timestamp,
    ) -> Result<(PointResult, Option<projection::Input>), DrillError> {
        let point = &plan.point;
        let mut result = PointResult {
            id: point.id.clone(),
            time: point.time,
            outcome: Outcome::Failed,
            reason: None,
            started_at,
            finished_at: started_at,
            manifest: plan.manifest.clone(),
            files: Vec::new(),
            steps: Vec::new(),
        };
        let point_dir = self.scratch.join(&point.id);
        self.trying = Some(point.id.clone());
        for (i, step) in self.runbook.steps.iter().enumerate() {
            let key = format!("steps[{i}]");
            let view = StepView::of(&key, Some(&point.id), step);
            let go_on = match self.confirm(&view, step).await {
                Ok(answer) => answer,
                Err(declined) => {
                    // The operator stopped the drill: no older point is tried.
                    result.reason = Some(step_failure(&key, &declined));
                    self.stopped = Some(Stopped {
                        point: point.id.clone(),
                        key,
                        step: declined.clone(),
                        why: NoFallback::Operator,
                    });
                    result.steps.push(declined);
                    break;
                }
            };
            // `{scratch}` is made when a step first needs it (never in verify-only mode).
            let writes = match &step.kind {
                StepKind::Restore => !self.verify_only,
                StepKind::Run { .. } => true,
                _ => false,
            };
            if writes {
                self.folder_for(Some(&point.id))?;
            }
            let sample = Restoring {
                format,
                plan: &plan,
                dest: (!self.verify_only).then_some(Dest {
                    root: &point_dir,
                    sync: self.runbook.scratch.sync,
                }),
                jobs: self.req.jobs,
                remote: self.runbook.source.kind != SourceKind::File,
                progress: &self.req.progress,
                synced: &self.synced_files,
            };
            let ctx = steps::StepContext {
                scratch: &point_dir,
                recovery_point: &point.id,
                operator: self.req.operator.as_ref(),
                http: self.http.as_ref(),
                cancel: self.req.stop.token(),
                sample: Some(&sample),
                view: &view,
            };
            let ran = steps::execute(step, &ctx).await?;
            let mut step_result = ran.result;
            let restored = ran.files.is_some();
            if let Some(files) = ran.files {
                result.files = files;
            }
            if let Some(a) = &go_on {
                steps::record_answer(
                    step_result.detail.get_or_insert_with(Default::default),
                    "go_on_",
                    a,
                );
            }
            tracing::info!(
                point = %point.id,
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
            if let Some(operator) = &self.req.operator {
                let files = if restored { &result.files[..] } else { &[] };
                operator.step_finished(&view, &step_result, files);
            }
            let failed = step_result.outcome != Outcome::Passed;
            if failed {
                // The restore step's own reason ("N of M sampled files failed") says it all.
                result.reason = Some(if matches!(step.kind, StepKind::Restore) {
                    step_result.reason.clone().unwrap_or_default()
                } else {
                    step_failure(&key, &step_result)
                });
                if let AfterFailure::Stop(why) = after_failure(step) {
                    self.stopped = Some(Stopped {
                        point: point.id.clone(),
                        key: key.clone(),
                        step: step_result.clone(),
                        why,
                    });
                }
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
        Ok((result, restored_any.then_some(plan.projection)))
    }

    /// In a manual drill, shows the step and asks whether to go on; an `approve` step is
    /// not asked this (its own question is the one that counts). `Ok(None)`: not asked.
    /// `Err`: the operator said no (or the terminal closed): the step, failed.
    async fn confirm(&self, view: &StepView, step: &Step) -> Result<Option<Answer>, StepResult> {
        let Some(operator) = self.req.operator.clone() else {
            return Ok(None);
        };
        if matches!(step.kind, StepKind::Approve { .. }) {
            return Ok(None);
        }
        let name = operator.name().to_owned();
        let started_at = Timestamp::now();
        let view = view.clone();
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
            .map(|(id, _)| id.clone())
            .or_else(|| self.trying.clone());
        let dir = match &point {
            Some(id) => self.scratch.join(id),
            None => self.scratch.clone(),
        };
        let point = point.unwrap_or_default();
        let mut results = Vec::new();
        if !self.began {
            return results;
        }
        let http = self.http.clone();
        // `finally` runs after an interruption too: its steps get a token of their own, never
        // cancelled (each is still bounded by its timeout).
        let cancel = CancellationToken::new();
        for (i, step) in self.runbook.finally.iter().enumerate() {
            let key = format!("finally[{i}]");
            let view = StepView::of(&key, Some(&point), step);
            let go_on = match self.confirm(&view, step).await {
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
                http: http.as_ref(),
                cancel: &cancel,
                sample: None,
                view: &view,
            };
            // Only a stop, or a `restore` step (which `finally` never holds), ends a step with
            // `Err`, and nothing stops `finally`'s steps.
            let mut r = match steps::execute(step, &ctx).await {
                Ok(ran) => ran.result,
                Err(e) => failed_at_once(step, e.to_string()),
            };
            if let Some(a) = &go_on {
                steps::record_answer(r.detail.get_or_insert_with(Default::default), "go_on_", a);
            }
            if let Some(operator) = &self.req.operator {
                operator.step_finished(&view, &r, &[]);
            }
            results.push(r);
        }
        results
    }
}

/// The plan of `candidate` as `runbook`'s sample draws it with `seed`: what a drill restores
/// there, and what `lifeboat plan` shows.
pub(crate) fn plan_point<F: SourceFormat>(
    runbook: &Runbook,
    format: &F,
    candidate: Candidate,
    manifest: lifeboat_core::evidence::ManifestRecord,
    entries: Vec<F::Entry>,
    seed: u64,
) -> PointPlan<F::Locator> {
    let sample = runbook.sample.as_ref();
    let size = sample.map(|s| s.size);
    let always = sample.map_or(&[][..], |s| &s.always[..]);
    PointPlan::new(format, candidate, manifest, entries, size, always, seed)
}

/// The runbook has something that talks HTTP: an `http` step (in `steps` or `finally`) or a
/// `notify` webhook. Only then does the drill build its HTTP client, which loads the system's
/// TLS roots (146 files under /etc/ssl/certs on the bench machine) and so costs every drill
/// that never uses it a measurable part of its fixed cost (benches/README.md).
pub(crate) fn needs_http(runbook: &Runbook) -> bool {
    !runbook.notify.is_empty()
        || runbook
            .steps
            .iter()
            .chain(&runbook.finally)
            .any(|s| matches!(s.kind, StepKind::Http { .. }))
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
