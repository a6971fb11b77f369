//! From the raw structs to a [`Runbook`]: every rule of runbook v1 that serde cannot express,
//! with every broken rule reported, each at the value it is about.
//!
//! The functions here never stop at the first problem. Each returns what it could build
//! (`None` where a value was unusable) and records problems in [`Check`]; a runbook is built
//! only when no problem was recorded. Each section of the runbook has its own file below
//! `validate/`, and [`check`] holds what they share.

use check::{Check, Env};

use super::model::{ManifestFormat, ManifestSpec, Runbook, SourceFormat};
use super::problem::Problem;
use super::raw::RawRunbook;
use super::wording::problem_at_top;

mod check;
mod coverage;
mod manifest;
mod name;
mod notify;
mod objectives;
mod recovery_points;
mod restic;
mod sample;
mod schedule;
mod scratch;
mod source;
mod steps;

pub(super) fn validate(raw: &RawRunbook, env: Env<'_>) -> Result<Runbook, Vec<Problem>> {
    let v = validate_with(raw, env, false);
    match v.runbook {
        Some(runbook) => Ok(runbook),
        None => Err(v.problems),
    }
}

/// What [`validate_with`] found.
pub(super) struct Validated {
    /// Only when nothing is wrong and, linting, no variable is unset.
    pub(super) runbook: Option<Runbook>,
    /// Sorted by position; never empty when `runbook` is `None` and `unset` is empty.
    pub(super) problems: Vec<Problem>,
    /// Linting: each `${VAR}` naming an unset variable, sorted. Empty otherwise.
    pub(super) unset: Vec<Problem>,
    /// The runbook's `name` and `schedule`, when each is valid, whatever else is wrong.
    pub(super) name: Option<String>,
    pub(super) schedule: Option<super::model::ScheduleSpec>,
}

/// Validates `raw`; with `lint`, a `${VAR}` naming an unset variable is set apart in
/// [`Validated::unset`] instead of being a problem (what it would have been checked against
/// is unknown, so nothing that depends on its value is checked).
pub(super) fn validate_with(raw: &RawRunbook, env: Env<'_>, lint: bool) -> Validated {
    let mut c = Check {
        problems: Vec::new(),
        env,
        unset: lint.then(Vec::new),
    };

    name::version(&mut c, raw.version.as_ref());
    let name = name::runbook_name(&mut c, raw.name.as_ref());
    let objectives = objectives::objectives(&mut c, raw.objectives.as_ref());
    let source = source::source(&mut c, raw.source.as_ref());
    let format_kind = restic::format_kind(&mut c, raw.source.as_ref());
    let format = match format_kind {
        Some(restic::FormatKind::Files) => Some(SourceFormat::Files),
        Some(restic::FormatKind::Restic) => {
            restic::refuse_point_time(&mut c, raw.recovery_points.as_ref());
            raw.source
                .as_ref()
                .and_then(|s| restic::restic(&mut c, s, raw.manifest.as_ref()))
                .map(SourceFormat::Restic)
        }
        None => None,
    };
    let point_time = format_kind != Some(restic::FormatKind::Restic);
    let recovery_points =
        recovery_points::recovery_points(&mut c, raw.recovery_points.as_ref(), point_time);
    let manifest = match format_kind {
        // A restic source's manifest is inside the snapshot (checked with `source.restic`).
        Some(restic::FormatKind::Restic) => Some(ManifestSpec {
            path: "SHA256SUMS".to_owned(),
            format: ManifestFormat::Sha256sum,
        }),
        _ => manifest::manifest(&mut c, raw.manifest.as_ref()),
    };
    // A restic snapshot without a manifest: its files are named as `restic ls` prints them.
    let tree_paths = format_kind == Some(restic::FormatKind::Restic) && raw.manifest.is_none();
    let sample = raw
        .sample
        .as_ref()
        .and_then(|s| sample::sample(&mut c, s, tree_paths));
    let scratch = scratch::scratch(&mut c, raw.scratch.as_ref());
    let verify_only = match &raw.verify_only {
        Some(v) => c.bool("verify_only", v),
        None => Some(false),
    };
    let schedule = schedule::schedule(&mut c, raw);
    let runners = schedule::runners(&mut c, raw);
    let steps = steps::steps(&mut c, raw.steps.as_ref());
    let finally = steps::finally(&mut c, raw.finally.as_ref());
    let notify = notify::notify(&mut c, raw.notify.as_ref());
    // With a restic source the objects are the repository's packs (the runner's restic
    // format lists them): the same keys, the same rules.
    let coverage = raw
        .coverage
        .as_ref()
        .and_then(|cov| coverage::coverage(&mut c, cov));

    let mut problems = c.problems;
    problems.sort_by_key(|p| (p.line, p.column));
    let mut unset = c.unset.unwrap_or_default();
    unset.sort_by_key(|p| (p.line, p.column));
    let failed = |problems: Vec<Problem>, unset: Vec<Problem>| Validated {
        runbook: None,
        problems,
        unset,
        name: name.clone(),
        schedule: schedule.clone(),
    };
    if !problems.is_empty() || !unset.is_empty() {
        return failed(problems, unset);
    }
    // No problem was recorded, so every part was built; a `None` here is a validator bug.
    let (
        Some(name_),
        Some(source),
        Some(format),
        Some(recovery_points),
        Some(manifest),
        Some(scratch),
        Some(verify_only),
    ) = (
        name.clone(),
        source,
        format,
        recovery_points,
        manifest,
        scratch,
        verify_only,
    )
    else {
        return failed(
            vec![problem_at_top(
                "internal error: runbook validation left a value unset without saying why"
                    .to_owned(),
            )],
            Vec::new(),
        );
    };
    let runbook = Runbook {
        name: name_,
        description: raw.description.as_ref().map(|d| d.value.clone()),
        objectives,
        source,
        format,
        recovery_points,
        manifest,
        sample,
        scratch,
        verify_only,
        schedule,
        runners,
        steps,
        finally,
        notify,
        coverage,
    };
    Validated {
        name,
        schedule: runbook.schedule.clone(),
        runbook: Some(runbook),
        problems: Vec::new(),
        unset: Vec::new(),
    }
}
