//! The verdict of a drill: from what its checks found to the outcome, the one-sentence
//! reason, the measured RTO and RPO, and whether each objective was met.
//!
//! A pure function of its inputs ([`decide`]): no clock, no storage, no backup. The drill
//! engine gathers the [`Findings`] (the points it tried, how its checks ended, the `finally`
//! steps) and the verdict rules live here alone, each with a unit test:
//!
//! - a drill that could not complete is `error`, with its reason;
//! - a drill interrupted before its last check is `error`, reason [`INTERRUPTED`], and
//!   measures nothing: the terminal has already said `interrupted`, and the record agrees;
//! - otherwise every finding goes into one sentence, joined by `; ` (findings, not
//!   first-error exits): where the drill stopped, no point found or none passed, any failed
//!   point (a failed newer point fails the drill even when an older one passed), a missed RTO
//!   or RPO, each stored object the coverage phase found failing, each failed `finally`
//!   step. No finding: `passed`;
//! - a drill that stopped at a point because what failed says nothing about the backup (the
//!   operator's stop, a failed `approve` or `wait`, a step that names no restored data:
//!   [`after_failure`]) says where and why, and that no older point was tried — never "no
//!   recovery point passed", which would blame a backup nobody found wanting.
//!
//! The sentences are part of lifeboat's outside interface (the evidence's `reason`): they are
//! kept word for word.

use std::time::Duration;

use jiff::Timestamp;

use crate::duration;
use crate::evidence::{
    CoverageRecord, Measured, ObjectiveSeconds, Outcome, PointResult, StepResult,
};
use crate::runbook::Objectives;

mod fallback;

pub use fallback::{AfterFailure, NoFallback, after_failure};

/// The `reason` of a drill interrupted before its last check finished.
pub const INTERRUPTED: &str = "interrupted";

/// How a drill's checks ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The checks ran to their end: the findings decide. A stop that came after the last
    /// check ended also leaves the drill here (the verdict stands).
    Checked,
    /// A stop came before the last check finished.
    Interrupted,
    /// The drill could not complete (storage unreachable, scratch area failed...): why, in
    /// one sentence.
    CouldNotComplete(String),
}

/// What a drill found, everything the verdict depends on.
#[derive(Clone, Debug)]
pub struct Findings<'a> {
    /// The simulated incident time RPO is measured from.
    pub t0: Timestamp,
    /// The runbook's objectives.
    pub objectives: &'a Objectives,
    /// `recovery_points.within`, for the sentence when no point is found.
    pub within: Option<Duration>,
    /// How the checks ended.
    pub ending: Ending,
    /// The points tried, newest first.
    pub points: &'a [PointResult],
    /// The drill's clock when the first point in `points` that passed finished its checks:
    /// the measured RTO. Nothing is measured without it.
    pub rto: Option<Duration>,
    /// What discovery saw below the source, in one sentence (`3 entries in the source: ...`),
    /// for the sentence when no point is found.
    pub listing: Option<&'a str>,
    /// The drill stopped at a point and tried no older one: what failed there says nothing
    /// about the backup.
    pub stopped: Option<Stopped<'a>>,
    /// The `finally` steps, as they ran.
    pub finally: &'a [StepResult],
    /// The coverage phase, when one ran: each object it found failing is a finding.
    pub coverage: Option<&'a CoverageRecord>,
}

/// Where a drill stopped without trying older points, and why ([`after_failure`]).
#[derive(Clone, Copy, Debug)]
pub struct Stopped<'a> {
    /// The recovery point whose step stopped the drill.
    pub point: &'a str,
    /// The step's key (`steps[1]`).
    pub key: &'a str,
    /// The step, as it failed (declined, for [`NoFallback::Operator`]).
    pub step: &'a StepResult,
    /// Why no older point was tried.
    pub why: NoFallback,
}

/// The verdict: the record's `outcome`, `reason`, `objectives` and `measured`.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `passed`, `failed` or `error`.
    pub outcome: Outcome,
    /// Every reason the drill did not pass, in one sentence; `None` when it passed.
    pub reason: Option<String>,
    /// The objectives, in seconds.
    pub objectives: ObjectiveSeconds,
    /// RTO and RPO as measured on the newest point that passed, and whether each objective
    /// was met (a missing measurement never meets one).
    pub measured: Measured,
}

/// Objects a coverage sentence names before it counts the rest.
pub const COVERAGE_NAMED: usize = 5;

/// The coverage phase's failed objects, in one sentence (`coverage: 2 stored objects failed:
/// P/a.txt, P/b.txt`); `None` when none failed. A clean phase says nothing, and being
/// behind the pace is not a failure.
pub fn coverage_sentence(coverage: &CoverageRecord) -> Option<String> {
    let failed: Vec<String> = coverage
        .verified
        .iter()
        .filter(|v| v.outcome != Outcome::Passed)
        .map(|v| format!("{}/{}", v.recovery_point, v.path))
        .collect();
    if failed.is_empty() {
        return None;
    }
    let mut names = failed
        .iter()
        .take(COVERAGE_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if failed.len() > COVERAGE_NAMED {
        names.push_str(&format!(" and {} more", failed.len() - COVERAGE_NAMED));
    }
    Some(format!(
        "coverage: {} stored object{} failed: {names}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" }
    ))
}

/// Decides a drill's verdict from its findings; see the module's rules.
pub fn decide(findings: &Findings<'_>) -> Verdict {
    let objectives = ObjectiveSeconds {
        rto_seconds: findings.objectives.rto.map(|d| d.as_secs()),
        rpo_seconds: findings.objectives.rpo.map(|d| d.as_secs()),
    };
    let measured = measure(findings);
    let (outcome, reason) = match &findings.ending {
        Ending::CouldNotComplete(why) => (Outcome::Error, Some(why.clone())),
        Ending::Interrupted => (Outcome::Error, Some(INTERRUPTED.to_owned())),
        Ending::Checked => {
            let found = sentences(findings, &measured);
            if found.is_empty() {
                (Outcome::Passed, None)
            } else {
                (Outcome::Failed, Some(found.join("; ")))
            }
        }
    };
    Verdict {
        outcome,
        reason,
        objectives,
        measured,
    }
}

/// RTO and RPO of the newest point that passed; nothing when the drill was interrupted.
fn measure(findings: &Findings<'_>) -> Measured {
    let mut measured = Measured::default();
    let passed = findings
        .points
        .iter()
        .find(|p| p.outcome == Outcome::Passed)
        .zip(findings.rto);
    if findings.ending != Ending::Interrupted
        && let Some((point, rto)) = passed
    {
        measured.recovery_point = Some(point.id.clone());
        measured.rto_seconds = Some(round_ms(rto.as_secs_f64()));
        measured.rpo_seconds = Some(round_ms(
            findings.t0.duration_since(point.time).as_secs_f64(),
        ));
    }
    let met = |objective: Option<Duration>, value: Option<f64>| {
        objective.map(|o| value.is_some_and(|v| v <= o.as_secs_f64()))
    };
    measured.rto_met = met(findings.objectives.rto, measured.rto_seconds);
    measured.rpo_met = met(findings.objectives.rpo, measured.rpo_seconds);
    measured
}

/// Every finding of a drill whose checks ran to their end, in the order the reason says them.
fn sentences(findings: &Findings<'_>, measured: &Measured) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(stopped) = &findings.stopped {
        found.push(stop_sentence(stopped));
    }
    // The point the drill stopped at is said by the sentence above.
    let failed: Vec<&str> = findings
        .points
        .iter()
        .filter(|p| p.outcome != Outcome::Passed)
        .map(|p| p.id.as_str())
        .filter(|id| findings.stopped.is_none_or(|s| s.point != *id))
        .collect();
    if findings.points.is_empty() {
        let within = findings
            .within
            .map(|w| format!("within {} before", duration::human(w.as_secs_f64())))
            .unwrap_or_else(|| "at or before".to_owned());
        found.push(format!(
            "no recovery point {within} T0 {} ({})",
            findings.t0,
            findings.listing.unwrap_or_default()
        ));
    } else if measured.recovery_point.is_none() {
        if findings.stopped.is_none() {
            found.push(format!(
                "no recovery point passed (tried: {})",
                failed.join(", ")
            ));
        } else if !failed.is_empty() {
            found.push(format!(
                "recovery point{} {} failed",
                if failed.len() == 1 { "" } else { "s" },
                failed.join(", ")
            ));
        }
    } else if !failed.is_empty() {
        found.push(format!(
            "recovery point{} {} failed; {} passed",
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", "),
            measured.recovery_point.as_deref().unwrap_or("none")
        ));
    }
    if let (Some(false), Some(v), Some(o)) = (
        measured.rto_met,
        measured.rto_seconds,
        findings.objectives.rto,
    ) {
        found.push(format!(
            "RTO objective missed: measured {}, objective {}",
            duration::human(v),
            duration::human(o.as_secs_f64())
        ));
    }
    if let (Some(false), Some(v), Some(o)) = (
        measured.rpo_met,
        measured.rpo_seconds,
        findings.objectives.rpo,
    ) {
        found.push(format!(
            "RPO objective missed: measured {}, objective {}",
            duration::human(v),
            duration::human(o.as_secs_f64())
        ));
    }
    if let Some(sentence) = findings.coverage.and_then(coverage_sentence) {
        found.push(sentence);
    }
    found.extend(
        findings
            .finally
            .iter()
            .enumerate()
            .filter(|(_, r)| r.outcome != Outcome::Passed)
            .map(|(i, r)| step_failure(&format!("finally[{i}]"), r)),
    );
    found
}

/// Where the drill stopped, why, and that it tried no older point.
fn stop_sentence(s: &Stopped<'_>) -> String {
    let name = s.step.name.as_deref().unwrap_or(&s.step.kind);
    let reason = s.step.reason.as_deref().unwrap_or("no reason given");
    match s.why {
        NoFallback::Operator => format!(
            "stopped by the operator at {} ({name}) of recovery point {}: {reason}; no older \
             recovery point was tried",
            s.key, s.point
        ),
        why => format!(
            "{} ({name}) failed at recovery point {}: {reason}; {}, so no older recovery point \
             was tried",
            s.key,
            s.point,
            why.why()
        ),
    }
}

/// `KEY (NAME) failed: REASON`: how a failed step is named in a point's or the drill's reason
/// (the step's kind stands in for a name it lacks).
pub fn step_failure(key: &str, step: &StepResult) -> String {
    let name = step.name.as_deref().unwrap_or(&step.kind);
    format!(
        "{key} ({name}) failed: {}",
        step.reason.as_deref().unwrap_or("no reason given")
    )
}

/// Seconds to the millisecond, as the record keeps them.
fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests;
