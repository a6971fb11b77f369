//! The steps a runbook lists, one module per kind (`restore`, `run`/`shell`, `http`,
//! `approve`, `wait`), each bounded by its `timeout`, each ending in a [`StepResult`] whose
//! `detail` says what happened.
//!
//! A step that fails is a finding: it fails its recovery point, and the drill goes on. A stop
//! ends a drill from inside a step ([`DrillError::Interrupted`]), and so does a `restore`
//! step whose source or scratch area fails.
//!
//! `{scratch}` and `{recovery_point}` come from the backup (see
//! [`lifeboat_core::runbook::placeholder`]): a `shell:` step runs the script validation made,
//! which names them only as `$LIFEBOAT_SCRATCH` / `$LIFEBOAT_RECOVERY_POINT`; a `run:`
//! argument or `env:` value gets the value as it is; an `http` URL gets it percent-encoded.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::evidence::{FileResult, Outcome, PointResult, StepResult};
use lifeboat_core::runbook::{Command, Step, StepKind};
use lifeboat_core::verdict::NoFallback;
use tokio_util::sync::CancellationToken;

use crate::DrillError;

mod approve;
mod capture;
mod http;
pub(crate) mod restore;
mod run;
mod wait;

pub(crate) use http::http_error_text;
pub use http::{HTTP_BODY_LIMIT, HTTP_REQUEST_TIMEOUT};
pub use run::{DEFAULT_RUN_TIMEOUT, OUTPUT_TAIL_BYTES, kill_running_steps};

/// Someone at the terminal, for a manual drill (`lifeboat drill --interactive`). The
/// questions block (they wait for a person); the drill asks them on a blocking thread. What
/// the operator is only shown is shown at once, between the questions.
pub trait Operator: Send + Sync {
    /// The operator's name, recorded in the evidence.
    fn name(&self) -> &str;
    /// Shows a step before it runs and asks whether to go on. Not asked for an `approve`
    /// step: its own question is the one asked ([`Operator::approve`]). `None`: no answer
    /// (the terminal closed).
    fn go_on(&self, what: &StepView) -> Option<Answer>;
    /// Shows an `approve` step and asks its question, `prompt`. `None`: no answer (the
    /// terminal closed).
    fn approve(&self, what: &StepView, prompt: &str) -> Option<Answer>;
    /// A step has run: shows how it ended (passed, or failed and why), how long it took, and
    /// for a `restore` step its failed `files`, before the next question.
    fn step_finished(&self, what: &StepView, result: &StepResult, files: &[FileResult]);
    /// A recovery point's steps have ended: shows how it came out and where the drill goes
    /// `next`.
    fn point_finished(&self, point: &PointResult, next: Next);
}

/// Where a drill goes after a recovery point it tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// No further point: one passed (`select: latest`).
    Done,
    /// The next older point is tried: this one failed (`select: latest`), or `select: all`.
    Older,
    /// No older point is left to try.
    NoneLeft,
    /// The drill stops here and tries no older point: what failed says nothing about the
    /// backup ([`lifeboat_core::verdict::after_failure`]).
    Stop(NoFallback),
}

/// What the operator is shown about a step before it runs.
#[derive(Clone, Debug)]
pub struct StepView {
    /// `steps[2]` or `finally[0]`.
    pub key: String,
    /// The recovery point the step runs for, if any.
    pub recovery_point: Option<String>,
    pub kind: &'static str,
    pub name: Option<String>,
    /// The step in one line, as the runbook writes it.
    pub summary: String,
}

/// An operator's answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub yes: bool,
    /// What was typed, trimmed.
    pub text: String,
    /// An optional note typed after the answer.
    pub note: Option<String>,
    pub asked_at: Timestamp,
    pub answered_at: Timestamp,
}

/// Where a step runs, and what its placeholders stand for.
pub(crate) struct StepContext<'a> {
    /// `{scratch}`: the folder holding the point's restored files (the step's working folder).
    pub scratch: &'a Path,
    /// `{recovery_point}`.
    pub recovery_point: &'a str,
    /// The person at the terminal of a manual drill, if any.
    pub operator: Option<&'a Arc<dyn Operator>>,
    /// For `http` steps: `Some` whenever the runbook has one (see `drill::needs_http`).
    pub http: Option<&'a reqwest::Client>,
    /// Stops the step: a `run` step's process group is killed, the others are dropped.
    pub cancel: &'a CancellationToken,
    /// What a `restore` step restores: the point's sample. `None` in `finally`, where
    /// validation refuses `restore`.
    pub sample: Option<&'a dyn restore::Sample>,
    /// The step as the operator is shown it (an `approve` step shows it with its question).
    pub view: &'a StepView,
}

/// A step that ran: its record, and, for `restore`, what each sampled file came to.
pub(crate) struct Ran {
    /// The step's record.
    pub result: StepResult,
    /// The sampled files' results, in plan order (`restore` steps only).
    pub files: Option<Vec<FileResult>>,
}

/// How a step's work ended: passed, or failed with the reason (a finding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Passed,
    Failed(String),
}

impl StepView {
    /// `step`, at `key` (`steps[2]`), run for recovery point `point`.
    pub(crate) fn of(key: &str, point: Option<&str>, step: &Step) -> Self {
        StepView {
            key: key.to_owned(),
            recovery_point: point.map(str::to_owned),
            kind: step.kind.name(),
            name: step.name.clone(),
            summary: summary(&step.kind),
        }
    }
}

/// The step in one line, as the runbook writes it (placeholders not substituted).
pub fn summary(kind: &StepKind) -> String {
    match kind {
        StepKind::Restore => "restore and verify the sampled files".to_owned(),
        StepKind::Run {
            command: Command::Argv(argv),
            ..
        } => argv_text(argv),
        StepKind::Run {
            command: Command::Shell { text, .. },
            ..
        } => format!("sh -c {}", shell_quote(text)),
        StepKind::Http {
            url_template,
            method,
            expect_status,
            ..
        } => format!("{method} {url_template}, expecting {expect_status}"),
        StepKind::Approve { prompt, .. } => prompt.clone(),
        StepKind::Wait(d) => format!("wait {}", lifeboat_core::duration::human(d.as_secs_f64())),
    }
}

fn argv_text(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./{}=:,+@%".contains(c))
            {
                a.clone()
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `'text'`, safe to paste into `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs one step. `Err`: the drill cannot go on (it was stopped; a `restore` step's source
/// or scratch area failed).
pub(crate) async fn execute(step: &Step, ctx: &StepContext<'_>) -> Result<Ran, DrillError> {
    let started_at = Timestamp::now();
    let mut detail = BTreeMap::new();
    let mut files = None;
    let ended = match &step.kind {
        StepKind::Restore => match ctx.sample {
            Some(sample) => {
                let (ended, restored) = restore::run(step, sample, ctx.cancel).await?;
                files = Some(restored);
                ended
            }
            None => Ended::Failed("nothing to restore: `restore` runs in `steps` only".to_owned()),
        },
        StepKind::Run {
            command,
            expect_exit,
            expect_stdout,
            env,
        } => {
            let check = run::Check {
                expect_exit: *expect_exit,
                expect_stdout: expect_stdout.as_deref(),
            };
            let timeout = step.timeout.unwrap_or(DEFAULT_RUN_TIMEOUT);
            run::run(command, env, check, timeout, ctx, &mut detail).await?
        }
        StepKind::Http {
            url,
            url_template,
            method,
            expect_status,
            expect_body,
            retries,
            interval,
        } => {
            let probe = http::Probe {
                url,
                url_template,
                method,
                expect_status: *expect_status,
                expect_body: expect_body.as_deref(),
                retries: *retries,
                interval: *interval,
            };
            let work = bounded(step.timeout, http::probe(&probe, ctx, &mut detail));
            interruptible(ctx.cancel, work).await?
        }
        StepKind::Approve {
            prompt, unattended, ..
        } => {
            let work = bounded(
                step.timeout,
                approve::ask(prompt, *unattended, ctx, &mut detail),
            );
            interruptible(ctx.cancel, work).await?
        }
        StepKind::Wait(d) => {
            let work = bounded(step.timeout, wait::wait(*d, &mut detail));
            interruptible(ctx.cancel, work).await?
        }
    };
    let (outcome, reason) = match ended {
        Ended::Passed => (Outcome::Passed, None),
        Ended::Failed(reason) => (Outcome::Failed, Some(reason)),
    };
    let result = StepResult {
        kind: step.kind.name().to_owned(),
        name: step.name.clone(),
        started_at,
        finished_at: Timestamp::now(),
        outcome,
        reason,
        detail: (!detail.is_empty()).then_some(detail),
    };
    Ok(Ran { result, files })
}

/// The step's work, failed with "timed out" when `timeout` passes first.
async fn bounded(timeout: Option<Duration>, work: impl Future<Output = Ended>) -> Ended {
    match timeout {
        None => work.await,
        Some(t) => match tokio::time::timeout(t, work).await {
            Ok(ended) => ended,
            Err(_) => Ended::Failed(format!(
                "timed out after {}",
                lifeboat_core::duration::human(t.as_secs_f64())
            )),
        },
    }
}

/// The step's work, dropped when the drill is stopped first.
async fn interruptible(
    cancel: &CancellationToken,
    work: impl Future<Output = Ended>,
) -> Result<Ended, DrillError> {
    tokio::select! {
        ended = work => Ok(ended),
        () = cancel.cancelled() => Err(DrillError::Interrupted),
    }
}

/// An answer's fields in a step's detail, each key prefixed with `prefix`.
pub fn record_answer(detail: &mut BTreeMap<String, String>, prefix: &str, a: &Answer) {
    detail.insert(format!("{prefix}answer"), a.text.clone());
    if let Some(note) = &a.note {
        detail.insert(format!("{prefix}note"), note.clone());
    }
    detail.insert(format!("{prefix}asked_at"), a.asked_at.to_string());
    detail.insert(format!("{prefix}answered_at"), a.answered_at.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
