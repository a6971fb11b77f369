//! The drill's record: the verdict on what its checks found, the scratch folder kept or
//! removed, the [`Evidence`] assembled, the webhooks told.

use jiff::Timestamp;
use lifeboat_core::evidence::{
    Evidence, FORMAT_VERSION, Mode, Outcome, RunbookRef, SampleRecord, ScratchRecord, SourceRef,
    StepResult,
};
use lifeboat_core::runbook::{Keep, SampleSize};
use lifeboat_core::verdict::{self, Ending, Findings, Verdict};

use crate::drill::Drill;
use crate::{DrillError, notify};

/// The record of `drill`, whose checks and `finally` steps (`finally`) have run.
pub(crate) async fn finish(mut drill: Drill<'_>, finally: Vec<StepResult>) -> Evidence {
    let (runbook, req) = (drill.runbook, drill.req);
    // Verdict: a pure function of what the checks found.
    let ending = ending(drill.error.take());
    let interrupted = ending == Ending::Interrupted;
    let verdict = verdict::decide(&Findings {
        t0: drill.t0,
        objectives: &runbook.objectives,
        within: runbook.recovery_points.within,
        ending,
        points: &drill.points,
        rto: drill.passed.as_ref().map(|(_, rto)| *rto),
        listing: drill.listing.as_deref(),
        stopped: drill.stopped.as_ref().map(|s| verdict::Stopped {
            point: &s.point,
            key: &s.key,
            step: &s.step,
            why: s.why,
        }),
        finally: &finally,
        coverage: drill.coverage.as_ref(),
    });
    let Verdict {
        outcome,
        reason,
        objectives,
        measured,
    } = verdict;

    let keep = keep_scratch(runbook.scratch.keep, outcome, interrupted);
    let scratch_exists = drill.folder.is_some() && drill.scratch.exists();
    if let Some(folder) = drill.folder.take() {
        let done = if keep {
            folder.keep(&drill.run_id)
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
                drill.scratch.display()
            );
        }
    }

    let synced_files = drill.synced_files();
    let mut evidence = Evidence {
        format_version: FORMAT_VERSION,
        run_id: drill.run_id,
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
        verify_only: drill.verify_only,
        t0: drill.t0,
        started_at: drill.started_at,
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
            seed: drill.seed,
            files: runbook.sample.as_ref().and_then(|s| match s.size {
                SampleSize::Files(n) => Some(n),
                _ => None,
            }),
            percent: runbook.sample.as_ref().and_then(|s| match s.size {
                SampleSize::Percent(p) => Some(p),
                _ => None,
            }),
            all: runbook.sample.is_none(),
            always: runbook
                .sample
                .as_ref()
                .map(|s| s.always.clone())
                .unwrap_or_default(),
        },
        recovery_points: drill.points,
        finally,
        operator: req.operator.as_ref().map(|o| o.name().to_owned()),
        notifications: Vec::new(),
        scratch: ScratchRecord {
            path: drill.scratch.display().to_string(),
            kept: keep && scratch_exists,
            sync: runbook.scratch.sync,
            synced_files,
        },
        stopped_after_checks: None,
        runner: None,
        coverage: drill.coverage.take(),
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

/// How the checks ended, from the error that ended them, if any (a stop that came before
/// the last check finished is [`DrillError::Interrupted`] by now: see `Drill::check`).
fn ending(error: Option<DrillError>) -> Ending {
    match error {
        None => Ending::Checked,
        Some(DrillError::Interrupted) => Ending::Interrupted,
        Some(e) => Ending::CouldNotComplete(e.to_string()),
    }
}

/// Whether `scratch.keep` keeps the scratch folder of a drill that came to `outcome`. An
/// interrupted drill's holds a point half-restored, nothing to inspect: never kept.
fn keep_scratch(keep: Keep, outcome: Outcome, interrupted: bool) -> bool {
    !interrupted
        && match keep {
            Keep::Always => true,
            Keep::OnFailure => outcome != Outcome::Passed,
            Keep::Never => false,
        }
}

/// The machine's host name (`uname -n`), for the evidence; `None` when unset or not UTF-8.
fn hostname() -> Option<String> {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_str().ok()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScratchError;

    #[test]
    fn an_error_ends_the_checks_by_its_kind_never_by_its_words() {
        assert_eq!(ending(None), Ending::Checked);
        assert_eq!(ending(Some(DrillError::Interrupted)), Ending::Interrupted);
        let full = ScratchError::Write {
            path: "db/dump.sql".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert_eq!(
            ending(Some(full.into())),
            Ending::CouldNotComplete(
                "scratch area: writing db/dump.sql: No space left on device (os error 28)".into()
            )
        );
        // The interruption's words are the evidence's, from one constant.
        assert_eq!(DrillError::Interrupted.to_string(), crate::INTERRUPTED);
    }

    #[test]
    fn scratch_is_kept_as_the_runbook_says_unless_the_drill_was_interrupted() {
        use Outcome::{Error, Failed, Passed};
        for (keep, outcome, interrupted, kept) in [
            (Keep::Always, Passed, false, true),
            (Keep::Always, Error, true, false),
            (Keep::OnFailure, Passed, false, false),
            (Keep::OnFailure, Failed, false, true),
            (Keep::OnFailure, Error, false, true),
            (Keep::OnFailure, Error, true, false),
            (Keep::Never, Failed, false, false),
        ] {
            assert_eq!(
                keep_scratch(keep, outcome, interrupted),
                kept,
                "{keep:?} {outcome} interrupted: {interrupted}"
            );
        }
    }
}
