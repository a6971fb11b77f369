//! What a period report is made of: the period, the gaps a caller hands in, and the report
//! itself, serialized as is for `.json` (fields are only ever added).

use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::{Mode, Outcome};
use serde::Serialize;

use crate::ledger::LEDGER_FILE;
use crate::sign::VerifyingKey;

/// An inclusive period: `from <= started_at <= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Parses a period bound: `YYYY-MM-DD` (a whole UTC day: its first instant for `--from`, its
/// last for `--to`) or an RFC 3339 instant (exact).
pub fn parse_bound(s: &str, end_of_day: bool) -> Result<Timestamp, String> {
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && s.len() == 10
    {
        let start = d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|e| format!("{s:?}: {e}"))?
            .timestamp();
        return Ok(if end_of_day {
            start + jiff::SignedDuration::from_hours(24) - jiff::SignedDuration::from_nanos(1)
        } else {
            start
        });
    }
    s.parse::<Timestamp>().map_err(|_| {
        format!(
            "{s:?} is not a date: expected YYYY-MM-DD (a UTC day) or an RFC 3339 instant such \
             as 2026-11-01T00:00:00Z"
        )
    })
}

/// A scheduled slot that did not run, as the scheduler's history recorded it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    pub runbook: String,
    /// The slot's time.
    pub slot: Timestamp,
    /// `missed`, `skipped-overlap` or `abandoned`.
    pub state: String,
    pub reason: Option<String>,
}

/// A scheduled slot, whatever became of it, as the scheduler's history recorded it: what the
/// schedule expected, to count the drills that ran against.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub runbook: String,
    /// The slot's time.
    pub slot: Timestamp,
    /// What became of it: `done`, `missed`, `skipped-overlap`, `abandoned`, `recorded` or
    /// `running`.
    pub state: String,
    /// The run of its drill, when it ran and was recorded. A slot without one that is
    /// `missed`, `skipped-overlap` or `abandoned` is a gap; one still `recorded` or `running`
    /// is pending.
    pub run_id: Option<String>,
}

/// Where gaps come from, and what they are.
#[derive(Clone, Debug)]
pub struct GapSource {
    /// Named in the report, e.g. the history store's path.
    pub description: String,
    pub gaps: Vec<Gap>,
    /// Every scheduled slot the source holds, gaps included. A gap missing here still counts
    /// as an expected slot.
    pub slots: Vec<Slot>,
}

/// What a report is built from.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub evidence_dir: &'a Path,
    pub period: Period,
    pub runbook: Option<&'a str>,
    pub public_key: Option<&'a VerifyingKey>,
    /// `None`: gaps not checked (no history store given).
    pub gaps: Option<GapSource>,
    /// When the report is made.
    pub now: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum PeriodError {
    #[error("{path} is not a folder")]
    NotADirectory { path: String },
    #[error(
        "{path} holds no {LEDGER_FILE} and no RUNBOOK/RUN_ID/evidence.json: is it an evidence folder?"
    )]
    NotEvidence { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The whole report; serialized as is for `.json`.
#[derive(Clone, Debug, Serialize)]
pub struct PeriodReport {
    /// `"lifeboat-period-report"`.
    pub kind: &'static str,
    pub format_version: u32,
    pub generated_at: Timestamp,
    pub lifeboat_version: &'static str,
    pub evidence_dir: String,
    pub period: Period,
    pub runbook_filter: Option<String>,
    /// The evidence folder as a relative link from the folder the report was written to
    /// (`../evidence`, each name percent-encoded): the start of every drill's link to its
    /// `report.html` in the HTML and Markdown reports and of the CSV's `report` column, so the
    /// links hold wherever the two folders move together. `None` when the report's place is
    /// not known (the links are then left out, and the CSV's `report` is relative to the
    /// evidence folder, as each row's `report` here always is).
    pub evidence_href: Option<String>,
    pub chain: ChainStatus,
    /// Whether gaps were looked for, and where.
    pub gaps_checked: bool,
    pub gaps_source: Option<String>,
    pub totals: Totals,
    pub runbooks: Vec<RunbookSummary>,
    /// Records that could not be read or parsed (never silently dropped).
    pub unreadable: Vec<Unreadable>,
    /// Every file the report was built from, with its SHA-256.
    pub inputs: Vec<InputFile>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainStatus {
    /// Every record, link and (with a key) signature of the directory checked out.
    pub intact: bool,
    pub signatures_checked: bool,
    pub public_key_id: Option<String>,
    pub ledger_entries: usize,
    pub head_entry: Option<usize>,
    pub head_sha256: Option<String>,
    /// `evidence verify`'s findings, one line each.
    pub findings: Vec<String>,
    /// Why the chain could not be checked at all.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub drills: usize,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    pub gaps: usize,
    /// Scheduled slots in the period, over every runbook (0 when gaps are not checked).
    pub slots_expected: usize,
    /// Of those, the slots whose drill ran.
    pub slots_ran: usize,
    /// Runbooks whose file changed between drills in the period.
    pub runbooks_changed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunbookSummary {
    pub name: String,
    pub drills: usize,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    /// `passed / drills`; `None` without drills.
    pub pass_rate: Option<f64>,
    /// The objectives of the newest drill.
    pub rto_objective_seconds: Option<u64>,
    pub rpo_objective_seconds: Option<u64>,
    /// Drills whose measured RTO / RPO met the objective, of those with an objective.
    pub rto_met: usize,
    pub rpo_met: usize,
    pub rto_checked: usize,
    pub rpo_checked: usize,
    pub rto_max_seconds: Option<f64>,
    pub rpo_max_seconds: Option<f64>,
    pub coverage: Coverage,
    /// The period's drills by how they were started.
    pub by_mode: ModeCounts,
    /// The scheduled slots of the period against the drills that ran for them; `None` when
    /// gaps are not checked (no history store given). `expected` 0: the runbook was not
    /// scheduled in the period.
    pub schedule: Option<ScheduleCount>,
    /// The SHA-256 of the runbook file the newest drill of the period ran.
    pub runbook_sha256: Option<String>,
    /// Each drill of the period that ran another runbook text than the drill before it (that
    /// one may be before the period), oldest first.
    pub runbook_changes: Vec<RunbookChange>,
    pub drill_list: Vec<DrillRow>,
    pub failures: Vec<Failure>,
    pub gaps: Vec<Gap>,
    /// Coverage of the stored objects (the runbook's `coverage`) over the period; `None` when
    /// no drill of the period had a coverage phase.
    pub stored_coverage: Option<StoredCoverage>,
}

/// At most this many objects that failed coverage are listed per runbook; the rest are
/// counted ([`StoredCoverage::failed_objects`]) and named in their drills' records.
pub const COVERAGE_FAILURES_LISTED: usize = 1000;

/// Coverage of a runbook's stored objects over the period: where the newest drill with a
/// coverage phase left it, what the period's phases verified, and the objects that failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredCoverage {
    /// The drill the state below is from: the newest of the period with a coverage phase.
    pub as_of_run_id: String,
    pub as_of: Timestamp,
    /// `coverage.within`, in seconds, and `coverage.budget` in bytes, as that drill ran them.
    pub within_seconds: u64,
    pub budget_bytes: Option<u64>,
    /// Stored objects of the retained recovery points, and their bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Of those, the ones whose last verification passed within `within_seconds`.
    pub verified_within: u64,
    pub ratio: f64,
    pub on_pace: bool,
    /// When behind: how long full coverage takes at the budget, in seconds.
    pub behind_seconds: Option<u64>,
    /// Objects never verified: a count only. A record lists the objects its phase verified,
    /// never the ones it did not reach, so their names are not in the evidence (the history
    /// store's coverage ledger holds them; `lifeboat plan` shows what the next phase reads).
    pub never_verified: u64,
    /// The oldest last verification among the objects that have one.
    pub oldest_verified: Option<Timestamp>,
    /// Drills of the period with a coverage phase.
    pub drills: usize,
    /// Objects the period's phases verified (an object verified twice counts twice), and the
    /// bytes they read.
    pub objects_verified: u64,
    pub bytes_read: u64,
    /// Objects of the period's phases that failed.
    pub failed_objects: u64,
    /// Each of them, oldest drill first, at most [`COVERAGE_FAILURES_LISTED`].
    pub failed: Vec<CoverageFailure>,
}

/// A stored object a coverage phase of the period found bad.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageFailure {
    pub run_id: String,
    /// The drill's `report.html`, relative to the evidence directory (as [`DrillRow::report`]).
    pub report: String,
    pub started_at: Timestamp,
    pub recovery_point: String,
    pub path: String,
    pub reason: Option<String>,
}

/// Drills by how they were started (the record's `mode`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModeCounts {
    pub automatic: usize,
    pub manual: usize,
    pub scheduled: usize,
}

/// A runbook's scheduled slots in the period, from the history store.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ScheduleCount {
    /// Slots of the period the store holds: what the schedule expected.
    pub expected: usize,
    /// Slots whose drill ran (whatever its outcome).
    pub ran: usize,
    /// Slots missed, skipped for overlap or abandoned: the gaps.
    pub not_run: usize,
    /// Slots claimed or running when the report was made.
    pub pending: usize,
}

/// The first drill that ran another text of its runbook than the drill before it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunbookChange {
    pub run_id: String,
    pub started_at: Timestamp,
    /// The runbook's path as that drill recorded it.
    pub path: String,
    /// SHA-256 of the runbook file the drill before it ran.
    pub from_sha256: String,
    /// SHA-256 of the runbook file this drill ran.
    pub to_sha256: String,
    /// The drill before it.
    pub previous_run_id: String,
    pub previous_started_at: Timestamp,
    /// Whether the drill before it is in the period (else it is the newest before it).
    pub previous_in_period: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// Files restored and checked, over every point of every drill.
    pub files_checked: u64,
    pub files_verified: u64,
    /// Distinct file paths verified at least once in the period.
    pub distinct_files_verified: usize,
    /// Mean, over drills with a measured point, of that point's sampled files / its manifest
    /// entries.
    pub mean_point_coverage: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DrillRow {
    pub run_id: String,
    /// `RUNBOOK/RUN_ID/evidence.json`, relative to the evidence directory.
    pub record: String,
    /// `RUNBOOK/RUN_ID/report.html` beside the record, relative to the evidence directory.
    pub report: String,
    /// How the drill was started, and who ran a manual one.
    pub mode: Mode,
    pub operator: Option<String>,
    /// SHA-256 of the runbook file the drill ran.
    pub runbook_sha256: String,
    /// It ran another runbook text than the drill before it ([`RunbookChange`]).
    pub runbook_changed: bool,
    /// The scheduled slot it ran for, as the history store records it; `None` for a drill
    /// run by hand, or when no history store was given.
    pub slot: Option<Timestamp>,
    pub evidence_sha256: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub t0: Timestamp,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub rto_seconds: Option<f64>,
    pub rto_objective_seconds: Option<u64>,
    pub rto_met: Option<bool>,
    pub rpo_seconds: Option<f64>,
    pub rpo_objective_seconds: Option<u64>,
    pub rpo_met: Option<bool>,
    pub recovery_point: Option<String>,
    pub points_tried: usize,
    pub files_checked: u64,
    pub files_verified: u64,
    /// Manifest entries of the measured point (else the first point tried).
    pub point_entries: Option<u64>,
    /// Sampled files of that point / its entries.
    pub point_coverage: Option<f64>,
    pub seed: u64,
    /// `false` when `evidence verify` named this record.
    pub chain_ok: bool,
    /// Where the drill's coverage phase left coverage of the stored objects: the share
    /// verified within `coverage.within`; `None` for a drill without one (all the
    /// `coverage_` fields alike).
    pub coverage_ratio: Option<f64>,
    pub coverage_on_pace: Option<bool>,
    pub coverage_behind_seconds: Option<u64>,
    /// Stored objects of the retained points, and of those the ones verified within.
    pub coverage_objects: Option<u64>,
    pub coverage_verified_within: Option<u64>,
    /// Objects the drill's phase verified, and of those the ones that failed.
    pub coverage_phase_objects: Option<u64>,
    pub coverage_phase_failed: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub run_id: String,
    /// The drill's `report.html`, relative to the evidence directory (as [`DrillRow::report`]).
    pub report: String,
    pub started_at: Timestamp,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// Each failed file and step: `point ID: PATH: reason`.
    pub details: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Unreadable {
    pub record: String,
    pub error: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_utc_days_and_instants_are_exact() {
        let from = parse_bound("2026-11-01", false).unwrap();
        let to = parse_bound("2026-11-30", true).unwrap();
        assert_eq!(from, "2026-11-01T00:00:00Z".parse().unwrap());
        assert_eq!(to, "2026-11-30T23:59:59.999999999Z".parse().unwrap());
        assert_eq!(
            parse_bound("2026-11-05T10:00:00+01:00", true).unwrap(),
            "2026-11-05T09:00:00Z".parse().unwrap()
        );
        let e = parse_bound("11/05/2026", false).unwrap_err();
        assert!(e.contains("YYYY-MM-DD") && e.contains("RFC 3339"), "{e}");
        assert!(parse_bound("2026-02-30", false).is_err());
    }
}
