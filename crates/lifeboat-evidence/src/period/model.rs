//! What a period report is made of: the period, the gaps a caller hands in, and the report
//! itself, serialized as is for `.json` (fields are only ever added).

use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;
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

/// Where gaps come from, and what they are.
#[derive(Clone, Debug)]
pub struct GapSource {
    /// Named in the report, e.g. the history store's path.
    pub description: String,
    pub gaps: Vec<Gap>,
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
    pub drill_list: Vec<DrillRow>,
    pub failures: Vec<Failure>,
    pub gaps: Vec<Gap>,
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
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub run_id: String,
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
