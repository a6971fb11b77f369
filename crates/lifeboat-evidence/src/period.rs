//! The period report (`lifeboat report`): every drill of an evidence directory within a
//! period, per runbook — drills run, pass rate, measured RTO and RPO against the objectives
//! over time, every failure with its reason, the gaps where a scheduled drill did not run,
//! sample coverage — with the chain's verification status, a section mapping the evidence to
//! the controls auditors cite, and the SHA-256 of every record it read.
//!
//! [`build`] turns the records into a [`PeriodReport`] (which is also the `.json` format);
//! [`render`] writes it as HTML, Markdown, JSON or CSV. Gaps come from the caller (the CLI
//! reads them from the scheduler's history store): this crate knows no scheduler.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::{Evidence, Outcome};
use lifeboat_safefs::Dir;
use serde::Serialize;

use crate::files::{self, Cap};
use crate::html::{self, ChartPoint, escape, met_cell, secs, verdict_word};
use crate::ledger::{self, LEDGER_FILE, sha256_hex};
use crate::markdown::{cell, code, code_cell, human_secs, text};
use crate::sign::VerifyingKey;
use crate::verify;

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

/// The output format, from the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Json,
    Csv,
}

impl Format {
    /// The extensions accepted, for error messages.
    pub const ALLOWED: &'static str = ".html, .md, .json, .csv";

    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(Format::Html),
            "md" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
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

/// Reads the evidence directory and builds the report.
pub fn build(inputs: Inputs<'_>) -> Result<PeriodReport, PeriodError> {
    let dir = inputs.evidence_dir;
    let show = dir.display().to_string();
    let read_err = |source| PeriodError::Read {
        path: show.clone(),
        source,
    };
    let root = match Dir::open(dir) {
        Ok(d) => d,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(PeriodError::NotADirectory { path: show });
        }
        Err(e) => return Err(read_err(e)),
    };
    let records = ledger::records_on_disk(&root).map_err(read_err)?;

    if records.is_empty() && root.stat(LEDGER_FILE).is_err_and(|e| e.is_not_found()) {
        return Err(PeriodError::NotEvidence { path: show });
    }
    let (chain, named) = chain_status(dir, inputs.public_key);

    let mut unreadable = Vec::new();
    let mut input_files = Vec::new();
    let mut by_runbook: BTreeMap<String, Vec<(Evidence, DrillRow)>> = BTreeMap::new();
    for rel in &records {
        let bytes = match files::read_below(&root, rel, Cap::RECORD) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push(Unreadable {
                    record: rel.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let ev: Evidence = match serde_json::from_slice(&bytes) {
            Ok(ev) => ev,
            Err(e) => {
                unreadable.push(Unreadable {
                    record: rel.clone(),
                    error: format!("not an evidence record: {e}"),
                });
                continue;
            }
        };
        if ev.started_at < inputs.period.from || ev.started_at > inputs.period.to {
            continue;
        }
        if inputs.runbook.is_some_and(|r| r != ev.runbook.name) {
            continue;
        }
        let sha = sha256_hex(&bytes);
        input_files.push(InputFile {
            path: rel.clone(),
            sha256: sha.clone(),
        });
        let subject = rel.strip_suffix("/evidence.json").unwrap_or(rel);
        let row = drill_row(&ev, rel, sha, !named.contains(subject));
        by_runbook
            .entry(ev.runbook.name.clone())
            .or_default()
            .push((ev, row));
    }
    if let Ok(b) = files::read_below(&root, LEDGER_FILE, Cap::LEDGER) {
        input_files.push(InputFile {
            path: LEDGER_FILE.into(),
            sha256: sha256_hex(&b),
        });
    }

    let mut gaps_by_runbook: BTreeMap<String, Vec<Gap>> = BTreeMap::new();
    if let Some(src) = &inputs.gaps {
        for g in &src.gaps {
            if g.slot < inputs.period.from || g.slot > inputs.period.to {
                continue;
            }
            if inputs.runbook.is_some_and(|r| r != g.runbook) {
                continue;
            }
            gaps_by_runbook
                .entry(g.runbook.clone())
                .or_default()
                .push(g.clone());
        }
    }
    let mut names: BTreeSet<String> = by_runbook.keys().cloned().collect();
    names.extend(gaps_by_runbook.keys().cloned());
    if let Some(r) = inputs.runbook {
        names.insert(r.to_string());
    }

    let mut totals = Totals::default();
    let mut runbooks = Vec::new();
    for name in names {
        let mut drills = by_runbook.remove(&name).unwrap_or_default();
        drills.sort_by_key(|d| d.1.started_at);
        let mut gaps = gaps_by_runbook.remove(&name).unwrap_or_default();
        gaps.sort_by_key(|g| g.slot);
        let s = summarize(name, drills, gaps);
        totals.drills += s.drills;
        totals.passed += s.passed;
        totals.failed += s.failed;
        totals.error += s.error;
        totals.gaps += s.gaps.len();
        runbooks.push(s);
    }

    Ok(PeriodReport {
        kind: "lifeboat-period-report",
        format_version: 1,
        generated_at: inputs.now,
        lifeboat_version: env!("CARGO_PKG_VERSION"),
        evidence_dir: show,
        period: inputs.period,
        runbook_filter: inputs.runbook.map(str::to_owned),
        chain,
        gaps_checked: inputs.gaps.is_some(),
        gaps_source: inputs.gaps.map(|g| g.description),
        totals,
        runbooks,
        unreadable,
        inputs: input_files,
    })
}

/// The chain's status, and the records (`RUNBOOK/RUN_ID`) its findings name.
fn chain_status(dir: &Path, key: Option<&VerifyingKey>) -> (ChainStatus, BTreeSet<String>) {
    let mut named = BTreeSet::new();
    let mut c = ChainStatus {
        signatures_checked: key.is_some(),
        public_key_id: key.map(|k| k.key_id().to_string()),
        ..ChainStatus::default()
    };
    match verify::verify_dir(dir, key) {
        Ok(r) => {
            c.intact = r.intact();
            c.ledger_entries = r.entries;
            c.head_entry = r.head.as_ref().map(|h| h.0);
            c.head_sha256 = r.head.map(|h| h.1);
            c.findings = r.findings.iter().map(|f| f.to_string()).collect();
            named = r.findings.into_iter().map(|f| f.subject).collect();
        }
        Err(e) => c.error = Some(e.to_string()),
    }
    (c, named)
}

fn drill_row(ev: &Evidence, rel: &str, sha: String, chain_ok: bool) -> DrillRow {
    let measured = ev
        .recovery_points
        .iter()
        .find(|p| Some(&p.id) == ev.measured.recovery_point.as_ref())
        .or(ev.recovery_points.first());
    let files = ev.recovery_points.iter().flat_map(|p| &p.files);
    let point_entries = measured.and_then(|p| p.manifest.entries);
    DrillRow {
        run_id: ev.run_id.clone(),
        record: rel.to_string(),
        evidence_sha256: sha,
        started_at: ev.started_at,
        finished_at: ev.finished_at,
        t0: ev.t0,
        outcome: ev.outcome,
        reason: ev.reason.clone(),
        rto_seconds: ev.measured.rto_seconds,
        rto_objective_seconds: ev.objectives.rto_seconds,
        rto_met: ev.measured.rto_met,
        rpo_seconds: ev.measured.rpo_seconds,
        rpo_objective_seconds: ev.objectives.rpo_seconds,
        rpo_met: ev.measured.rpo_met,
        recovery_point: ev.measured.recovery_point.clone(),
        points_tried: ev.recovery_points.len(),
        files_checked: files.clone().count() as u64,
        files_verified: files.filter(|f| f.outcome == Outcome::Passed).count() as u64,
        point_entries,
        point_coverage: match (measured, point_entries) {
            (Some(p), Some(n)) if n > 0 => Some(p.files.len() as f64 / n as f64),
            _ => None,
        },
        seed: ev.sample.seed,
        chain_ok,
    }
}

fn failure_details(ev: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    let step = |out: &mut Vec<String>, at: &str, s: &lifeboat_core::evidence::StepResult| {
        if s.outcome != Outcome::Passed {
            out.push(format!(
                "{at}step {}{}: {}",
                s.kind,
                s.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                s.reason.as_deref().unwrap_or(s.outcome.as_str())
            ));
        }
    };
    for p in &ev.recovery_points {
        if p.outcome == Outcome::Passed {
            continue;
        }
        let at = format!("point {}: ", p.id);
        let mut any = false;
        for f in p.files.iter().filter(|f| f.outcome != Outcome::Passed) {
            any = true;
            out.push(format!(
                "{at}{}: {}",
                f.path,
                f.reason.as_deref().unwrap_or("failed")
            ));
        }
        let before = out.len();
        for s in &p.steps {
            step(&mut out, &at, s);
        }
        any |= out.len() > before;
        if !any {
            out.push(format!("{at}{}", p.reason.as_deref().unwrap_or("failed")));
        }
    }
    for s in &ev.finally {
        step(&mut out, "finally: ", s);
    }
    for (what, met) in [("RTO", ev.measured.rto_met), ("RPO", ev.measured.rpo_met)] {
        if met == Some(false) {
            out.push(format!("{what} objective not met"));
        }
    }
    out
}

fn summarize(name: String, drills: Vec<(Evidence, DrillRow)>, gaps: Vec<Gap>) -> RunbookSummary {
    let count = |o: Outcome| drills.iter().filter(|d| d.1.outcome == o).count();
    let (passed, failed, error) = (
        count(Outcome::Passed),
        count(Outcome::Failed),
        count(Outcome::Error),
    );
    let n = drills.len();
    let newest = drills.last().map(|d| &d.1);
    let mut distinct = BTreeSet::new();
    let mut cov = Coverage::default();
    let mut covs = Vec::new();
    let mut failures = Vec::new();
    for (ev, row) in &drills {
        cov.files_checked += row.files_checked;
        cov.files_verified += row.files_verified;
        for p in &ev.recovery_points {
            for f in p.files.iter().filter(|f| f.outcome == Outcome::Passed) {
                distinct.insert(f.path.clone());
            }
        }
        if row.recovery_point.is_some()
            && let Some(c) = row.point_coverage
        {
            covs.push(c);
        }
        if ev.outcome != Outcome::Passed {
            failures.push(Failure {
                run_id: ev.run_id.clone(),
                started_at: ev.started_at,
                outcome: ev.outcome,
                reason: ev.reason.clone(),
                details: failure_details(ev),
            });
        }
    }
    cov.distinct_files_verified = distinct.len();
    cov.mean_point_coverage =
        (!covs.is_empty()).then(|| covs.iter().sum::<f64>() / covs.len() as f64);
    let rows: Vec<DrillRow> = drills.iter().map(|d| d.1.clone()).collect();
    let max = |f: fn(&DrillRow) -> Option<f64>| rows.iter().filter_map(f).reduce(f64::max);
    RunbookSummary {
        name,
        drills: n,
        passed,
        failed,
        error,
        pass_rate: (n > 0).then(|| passed as f64 / n as f64),
        rto_objective_seconds: newest.and_then(|d| d.rto_objective_seconds),
        rpo_objective_seconds: newest.and_then(|d| d.rpo_objective_seconds),
        rto_met: rows.iter().filter(|d| d.rto_met == Some(true)).count(),
        rpo_met: rows.iter().filter(|d| d.rpo_met == Some(true)).count(),
        rto_checked: rows.iter().filter(|d| d.rto_met.is_some()).count(),
        rpo_checked: rows.iter().filter(|d| d.rpo_met.is_some()).count(),
        rto_max_seconds: max(|d| d.rto_seconds),
        rpo_max_seconds: max(|d| d.rpo_seconds),
        coverage: cov,
        drill_list: rows,
        failures,
        gaps,
    }
}

/// Renders the report in `format`.
pub fn render(r: &PeriodReport, format: Format) -> String {
    match format {
        Format::Json => {
            let s = serde_json::to_string_pretty(r).unwrap_or_default();
            let mut s = lifeboat_core::text::harden_json(&s).into_owned();
            s.push('\n');
            s
        }
        Format::Csv => csv(r),
        Format::Markdown => markdown(r),
        Format::Html => render_html(r),
    }
}

fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

fn instant(t: Timestamp) -> String {
    format!("{t:.0}")
}

fn rate(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn period_text(p: &Period) -> String {
    format!("{} to {} (UTC, inclusive)", instant(p.from), instant(p.to))
}

// ---------------------------------------------------------------------------------------------
// CSV

/// One row per drill and one per gap, one line each. A cell a spreadsheet would run as a
/// formula (CSV injection: a point named `=HYPERLINK(...)` or `@SUM(...)`) gets a leading `'`,
/// which Excel, LibreOffice and Google Sheets show as text: see [`csv_cell`].
fn csv(r: &PeriodReport) -> String {
    const HEADER: [&str; 20] = [
        "kind",
        "runbook",
        "run_id",
        "time",
        "outcome",
        "reason",
        "rto_seconds",
        "rto_objective_seconds",
        "rto_met",
        "rpo_seconds",
        "rpo_objective_seconds",
        "rpo_met",
        "recovery_point",
        "points_tried",
        "files_checked",
        "files_verified",
        "point_entries",
        "seed",
        "chain_ok",
        "evidence_sha256",
    ];
    let mut s = HEADER.join(",");
    s.push_str("\r\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for rb in &r.runbooks {
        for d in &rb.drill_list {
            let cells = [
                "drill".to_string(),
                rb.name.clone(),
                d.run_id.clone(),
                instant(d.started_at),
                d.outcome.to_string(),
                opt(d.reason.clone()),
                opt(d.rto_seconds.map(|v| v.to_string())),
                opt(d.rto_objective_seconds.map(|v| v.to_string())),
                opt(d.rto_met.map(|v| v.to_string())),
                opt(d.rpo_seconds.map(|v| v.to_string())),
                opt(d.rpo_objective_seconds.map(|v| v.to_string())),
                opt(d.rpo_met.map(|v| v.to_string())),
                opt(d.recovery_point.clone()),
                d.points_tried.to_string(),
                d.files_checked.to_string(),
                d.files_verified.to_string(),
                opt(d.point_entries.map(|v| v.to_string())),
                d.seed.to_string(),
                d.chain_ok.to_string(),
                d.evidence_sha256.clone(),
            ];
            csv_row(&mut s, &cells);
        }
        for g in &rb.gaps {
            let mut cells: Vec<String> = vec![String::new(); HEADER.len()];
            cells[0] = "gap".into();
            cells[1] = rb.name.clone();
            cells[3] = instant(g.slot);
            cells[4] = g.state.clone();
            cells[5] = opt(g.reason.clone());
            csv_row(&mut s, &cells);
        }
    }
    s
}

fn csv_row(s: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    s.push_str(&cells.join(","));
    s.push_str("\r\n");
}

/// One CSV cell. Control and bidi characters are shown escaped (`lifeboat_core::text`), so a
/// record stays on one line and nothing in it steers a terminal that shows the file. A cell
/// whose first non-blank character starts a formula (`=`, `+`, `-`, `@`, or their full-width
/// forms, which some spreadsheets also accept) is prefixed with `'`, as OWASP advises for CSV
/// injection, unless it is a finite number (`-12.5` stays a number). Then RFC 4180 quoting.
fn csv_cell(c: &str) -> String {
    let c = lifeboat_core::text::escape(c);
    let numeric = c.parse::<f64>().is_ok_and(f64::is_finite);
    let formula = c.trim_start().starts_with([
        '=', '+', '-', '@', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ]);
    let guarded = if formula && !numeric {
        format!("'{c}")
    } else {
        c.into_owned()
    };
    if guarded.contains([',', '"']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

// ---------------------------------------------------------------------------------------------
// Controls

/// One control the evidence maps to: what the report offers towards it, and what it does not
/// show. Deliberately modest: an auditor decides whether a control is met.
struct Control {
    id: &'static str,
    title: &'static str,
    offers: &'static str,
    limits: &'static str,
}

const CONTROLS: [Control; 4] = [
    Control {
        id: "ISO/IEC 27001:2022 Annex A 8.13",
        title: "Information backup",
        offers: "Records of restore tests of the backup sets named here: when each ran, which \
                 recovery point was restored, which files were checked against the backup's own \
                 manifest and with what result. This supports the control's requirement that \
                 backup copies are regularly tested.",
        limits: "It does not show the backup policy, that backups cover all required \
                 information, or their retention, protection and off-site storage.",
    },
    Control {
        id: "SOC 2 (TSC 2017) A1.3",
        title: "Recovery plan testing",
        offers: "Periodic recovery tests with measured recovery time (RTO) and data-loss window \
                 (RPO) compared with the stated objectives, their failures with reasons, and \
                 scheduled tests that did not run.",
        limits: "A drill restores a sample of files (and runs the runbook's steps); it is not a \
                 test of the whole recovery plan, of people, or of failover of entire systems.",
    },
    Control {
        id: "NIST SP 800-53 Rev. 5 CP-4",
        title: "Contingency plan testing",
        offers: "Results of repeated, defined recovery tests (each runbook is the test \
                 definition; its SHA-256 is in every record), suitable as input to the review of \
                 test results.",
        limits: "Reviewing the results and initiating corrective actions are the organization's \
                 part; this report does not record them.",
    },
    Control {
        id: "NIST SP 800-53 Rev. 5 CP-9 (with CP-9(1))",
        title: "System backup; testing for reliability and integrity",
        offers: "Integrity testing of backup information: restored files' SHA-256/BLAKE3 digests \
                 compared with the backup's manifest, on a recorded random sample, with the \
                 records themselves hash-chained and, when a key is configured, signed.",
        limits: "A sample bounds, it does not exclude, corruption in files not sampled (see \
                 each drill's statistical statement); the manifest is trusted as published by \
                 the backup job.",
    },
];

// ---------------------------------------------------------------------------------------------
// Markdown

fn markdown(r: &PeriodReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# DR drill report: {}\n", period_text(&r.period));
    let _ = writeln!(
        s,
        "Evidence folder {}{}; generated {} by lifeboat {}.\n",
        code(&r.evidence_dir),
        r.runbook_filter
            .as_deref()
            .map(|n| format!(", runbook {} only", code(n)))
            .unwrap_or_default(),
        instant(r.generated_at),
        r.lifeboat_version
    );
    let _ = writeln!(
        s,
        "**{} drills: {} passed, {} failed, {} could not complete; {}.**\n",
        r.totals.drills,
        r.totals.passed,
        r.totals.failed,
        r.totals.error,
        gaps_sentence(r)
    );
    let _ = writeln!(
        s,
        "## Evidence chain\n\n{}\n",
        text(&chain_sentence(&r.chain))
    );
    for f in &r.chain.findings {
        let _ = writeln!(s, "- {}", text(f));
    }
    for rb in &r.runbooks {
        let _ = writeln!(s, "\n## Runbook {}\n", text(&rb.name));
        let _ = writeln!(s, "{}\n", runbook_sentence(rb));
        if !rb.drill_list.is_empty() {
            let _ = writeln!(
                s,
                "| Started (UTC) | Outcome | RTO | RPO | Point | Files verified | Chain |\n|---|---|---|---|---|---|---|"
            );
            for d in &rb.drill_list {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} {} | {} {} | {} | {} of {} | {} |",
                    instant(d.started_at),
                    d.outcome,
                    secs(d.rto_seconds),
                    met_word(d.rto_met),
                    secs(d.rpo_seconds),
                    met_word(d.rpo_met),
                    d.recovery_point.as_deref().map_or("—".to_string(), cell),
                    d.files_verified,
                    d.files_checked,
                    if d.chain_ok { "ok" } else { "**problem**" }
                );
            }
        }
        if !rb.failures.is_empty() {
            let _ = writeln!(s, "\n### Failures\n");
            for f in &rb.failures {
                let _ = writeln!(
                    s,
                    "- {} {} {}: {}",
                    instant(f.started_at),
                    code(&f.run_id),
                    f.outcome,
                    text(f.reason.as_deref().unwrap_or(""))
                );
                for d in &f.details {
                    let _ = writeln!(s, "  - {}", text(d));
                }
            }
        }
        if !rb.gaps.is_empty() {
            let _ = writeln!(s, "\n### Scheduled drills that did not run\n");
            for g in &rb.gaps {
                let _ = writeln!(
                    s,
                    "- {} {}{}",
                    instant(g.slot),
                    text(&g.state),
                    g.reason
                        .as_deref()
                        .map(|x| format!(": {}", text(x)))
                        .unwrap_or_default()
                );
            }
        }
    }
    if !r.unreadable.is_empty() {
        let _ = writeln!(s, "\n## Unreadable records\n");
        for u in &r.unreadable {
            let _ = writeln!(s, "- {}: {}", code(&u.record), text(&u.error));
        }
    }
    let _ = writeln!(s, "\n## Controls\n");
    for c in &CONTROLS {
        let _ = writeln!(
            s,
            "- **{} — {}.** {} *Not shown:* {}",
            c.id, c.title, c.offers, c.limits
        );
    }
    let _ = writeln!(s, "\n## Inputs\n\n| File | SHA-256 |\n|---|---|");
    for i in &r.inputs {
        let _ = writeln!(s, "| {} | {} |", code_cell(&i.path), code_cell(&i.sha256));
    }
    s
}

fn met_word(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "(met)",
        Some(false) => "(**NOT met**)",
        None => "",
    }
}

fn gaps_sentence(r: &PeriodReport) -> String {
    match (&r.gaps_source, r.totals.gaps) {
        (None, _) => "gaps not checked (no history store given: --state)".into(),
        (Some(_), 0) => "no scheduled drill was missed".into(),
        (Some(_), n) => format!(
            "{n} scheduled drill{} did not run",
            if n == 1 { "" } else { "s" }
        ),
    }
}

fn chain_sentence(c: &ChainStatus) -> String {
    if let Some(e) = &c.error {
        return format!("NOT VERIFIED: the chain could not be checked: {e}.");
    }
    let head = match (&c.head_entry, &c.head_sha256) {
        (Some(n), Some(h)) => format!(" Head: entry {n}, sha256 {h}."),
        _ => String::new(),
    };
    let sigs = match &c.public_key_id {
        Some(k) => format!("signatures checked with public key {k}"),
        None => "signatures NOT checked (no public key given): hashes only".into(),
    };
    if c.intact {
        format!(
            "VERIFIED: all {} ledger entries, records and links intact; {sigs}.{head}",
            c.ledger_entries
        )
    } else {
        format!(
            "NOT INTACT: {} problem(s) found in {} ledger entries; {sigs}.{head}",
            c.findings.len(),
            c.ledger_entries
        )
    }
}

fn runbook_sentence(rb: &RunbookSummary) -> String {
    let mut s = format!(
        "{} drill{}: {} passed, {} failed, {} could not complete (pass rate {}).",
        rb.drills,
        if rb.drills == 1 { "" } else { "s" },
        rb.passed,
        rb.failed,
        rb.error,
        rate(rb.pass_rate)
    );
    for (what, met, checked, obj, worst) in [
        (
            "RTO",
            rb.rto_met,
            rb.rto_checked,
            rb.rto_objective_seconds,
            rb.rto_max_seconds,
        ),
        (
            "RPO",
            rb.rpo_met,
            rb.rpo_checked,
            rb.rpo_objective_seconds,
            rb.rpo_max_seconds,
        ),
    ] {
        match obj {
            Some(o) => {
                let _ = write!(
                    s,
                    " {what} objective {}: met in {met} of {checked} drills, worst {}.",
                    human_secs(o as f64),
                    secs(worst)
                );
            }
            None => {
                let _ = write!(s, " No {what} objective; worst {}.", secs(worst));
            }
        }
    }
    let c = &rb.coverage;
    let _ = write!(
        s,
        " Sample coverage: {} of {} files checked verified, {} distinct files verified; on \
         average each drill checked {} of its recovery point's files.",
        c.files_verified,
        c.files_checked,
        c.distinct_files_verified,
        rate(c.mean_point_coverage)
    );
    s
}

// ---------------------------------------------------------------------------------------------
// HTML

fn render_html(r: &PeriodReport) -> String {
    let mut b = String::new();
    let healthy = r.totals.drills > 0
        && r.totals.passed == r.totals.drills
        && r.chain.intact
        && r.totals.gaps == 0;
    let class = if healthy { "passed" } else { "failed" };
    let _ = writeln!(
        b,
        "<div class=\"verdict {class}\" id=\"verdict\"><h1>DR drill report: {}</h1>\
         <p>{} drills: {} passed, {} failed, {} could not complete; {}.</p><p>Evidence chain: {}</p></div>",
        escape(&format!("{} to {}", day(r.period.from), day(r.period.to))),
        r.totals.drills,
        r.totals.passed,
        r.totals.failed,
        r.totals.error,
        escape(&gaps_sentence(r)),
        if r.chain.error.is_some() {
            "NOT VERIFIED"
        } else if !r.chain.intact {
            "NOT INTACT"
        } else if r.chain.signatures_checked {
            "verified, signatures included"
        } else {
            "verified (hashes only: no public key given)"
        }
    );
    let _ = writeln!(
        b,
        "<p class=\"note\">Period {}. Evidence folder <code>{}</code>{}. Generated {} by \
         lifeboat {}.</p>",
        escape(&period_text(&r.period)),
        escape(&r.evidence_dir),
        r.runbook_filter
            .as_deref()
            .map(|n| format!(", runbook <code>{}</code> only", escape(n)))
            .unwrap_or_default(),
        escape(&instant(r.generated_at)),
        escape(r.lifeboat_version)
    );

    let _ = writeln!(
        b,
        "<h2>Summary</h2>\n<table><tr><th>Runbook</th><th class=\"num\">Drills</th>\
         <th class=\"num\">Passed</th><th class=\"num\">Pass rate</th><th>RTO met</th>\
         <th>RPO met</th><th class=\"num\">Missed slots</th></tr>"
    );
    for rb in &r.runbooks {
        let _ = writeln!(
            b,
            "<tr><td><a href=\"#rb-{id}\">{name}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            rb.drills,
            rb.passed,
            rate(rb.pass_rate),
            met_of(rb.rto_met, rb.rto_checked),
            met_of(rb.rpo_met, rb.rpo_checked),
            if r.gaps_checked {
                rb.gaps.len().to_string()
            } else {
                "not checked".into()
            },
            id = escape(&rb.name),
            name = escape(&rb.name),
        );
    }
    b.push_str("</table>\n");

    let _ = writeln!(
        b,
        "<h2>Evidence chain</h2>\n<p class=\"{}\" id=\"chain\">{}</p>",
        match (r.chain.intact, r.chain.signatures_checked) {
            (false, _) => "bad",
            (true, false) => "warn",
            (true, true) => "ok",
        },
        escape(&chain_sentence(&r.chain))
    );
    if !r.chain.findings.is_empty() {
        b.push_str("<ul>");
        for f in &r.chain.findings {
            let _ = write!(b, "<li><code>{}</code></li>", escape(f));
        }
        b.push_str("</ul>\n");
    }

    for rb in &r.runbooks {
        runbook_html(&mut b, r, rb);
    }

    if !r.unreadable.is_empty() {
        b.push_str("<h2>Unreadable records</h2>\n<ul>");
        for u in &r.unreadable {
            let _ = write!(
                b,
                "<li><code>{}</code>: {}</li>",
                escape(&u.record),
                escape(&u.error)
            );
        }
        b.push_str("</ul>\n");
    }

    b.push_str(
        "<h2>Controls</h2>\n<p class=\"note\">How this evidence relates to the controls \
         auditors cite. It supports them; it does not by itself show that a control is met.</p>\n\
         <table><tr><th>Control</th><th>What this report offers</th><th>What it does not show</th></tr>\n",
    );
    for c in &CONTROLS {
        let _ = writeln!(
            b,
            "<tr><td><strong>{}</strong><br>{}</td><td>{}</td><td>{}</td></tr>",
            escape(c.id),
            escape(c.title),
            escape(c.offers),
            escape(c.limits)
        );
    }
    b.push_str("</table>\n");

    let _ = writeln!(
        b,
        "<h2>Inputs</h2>\n<p class=\"note\">The {} files this report was built from, with \
         their SHA-256; each evidence.json is also the record chained in the ledger.</p>\n\
         <details><summary>Show the inputs</summary><table><tr><th>File</th><th>SHA-256</th></tr>",
        r.inputs.len()
    );
    for i in &r.inputs {
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(&i.path),
            escape(&i.sha256)
        );
    }
    b.push_str("</table></details>\n");
    html::page(
        &format!(
            "DR drill report {} to {}",
            day(r.period.from),
            day(r.period.to)
        ),
        &b,
    )
}

fn met_of(met: usize, checked: usize) -> String {
    if checked == 0 {
        "<span class=\"note\">no objective</span>".into()
    } else if met == checked {
        format!("<span class=\"ok\">{met} of {checked}</span>")
    } else {
        format!("<span class=\"bad\">{met} of {checked}</span>")
    }
}

fn runbook_html(b: &mut String, r: &PeriodReport, rb: &RunbookSummary) {
    let _ = writeln!(
        b,
        "<h2 id=\"rb-{0}\">Runbook {0}</h2>\n<p>{1}</p>",
        escape(&rb.name),
        escape(&runbook_sentence(rb))
    );
    let label = |d: &DrillRow, v: Option<f64>, what: &str| {
        format!(
            "{} {}: {} {what} {}",
            instant(d.started_at),
            d.outcome,
            secs(v),
            match v {
                None => "nothing measured",
                Some(_) => "",
            }
        )
    };
    if !rb.drill_list.is_empty() {
        let rto: Vec<ChartPoint> = rb
            .drill_list
            .iter()
            .map(|d| ChartPoint {
                at: d.started_at,
                value: d.rto_seconds,
                met: d.rto_met,
                label: label(d, d.rto_seconds, "RTO"),
            })
            .collect();
        let rpo: Vec<ChartPoint> = rb
            .drill_list
            .iter()
            .map(|d| ChartPoint {
                at: d.started_at,
                value: d.rpo_seconds,
                met: d.rpo_met,
                label: label(d, d.rpo_seconds, "RPO"),
            })
            .collect();
        b.push_str(&html::chart(
            &format!("{}: measured RTO per drill", rb.name),
            r.period.from,
            r.period.to,
            &rto,
            rb.rto_objective_seconds.map(|v| v as f64),
        ));
        b.push_str(&html::chart(
            &format!("{}: measured RPO per drill", rb.name),
            r.period.from,
            r.period.to,
            &rpo,
            rb.rpo_objective_seconds.map(|v| v as f64),
        ));
        b.push_str(
            "<p class=\"note\">Green: objective met; red: not met; a red cross on the axis: \
             nothing measured (no recovery point restored). Dashed line: the objective.</p>\n",
        );
        b.push_str(
            "<table><tr><th>Started (UTC)</th><th>Result</th><th class=\"num\">RTO</th>\
             <th>RTO</th><th class=\"num\">RPO</th><th>RPO</th><th>Recovery point</th>\
             <th class=\"num\">Files verified</th><th class=\"num\">Point coverage</th><th>Chain</th></tr>\n",
        );
        for d in &rb.drill_list {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td>\
                 <td class=\"num\">{} of {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&instant(d.started_at)),
                outcome_span(d.outcome),
                secs(d.rto_seconds),
                met_cell(d.rto_met),
                secs(d.rpo_seconds),
                met_cell(d.rpo_met),
                escape(d.recovery_point.as_deref().unwrap_or("—")),
                d.files_verified,
                d.files_checked,
                rate(d.point_coverage),
                if d.chain_ok {
                    "<span class=\"ok\">ok</span>"
                } else {
                    "<span class=\"bad\">problem</span>"
                }
            );
        }
        b.push_str("</table>\n");
    } else {
        b.push_str("<p class=\"bad\">No drill of this runbook ran in the period.</p>\n");
    }
    if !rb.failures.is_empty() {
        let _ = writeln!(b, "<h3>Failures ({})</h3>\n<ul>", rb.failures.len());
        for f in &rb.failures {
            let _ = write!(
                b,
                "<li>{} {} <code>{}</code>: {}",
                escape(&instant(f.started_at)),
                outcome_span(f.outcome),
                escape(&f.run_id),
                escape(f.reason.as_deref().unwrap_or(""))
            );
            if !f.details.is_empty() {
                b.push_str("<ul>");
                for d in &f.details {
                    let _ = write!(b, "<li>{}</li>", escape(d));
                }
                b.push_str("</ul>");
            }
            b.push_str("</li>\n");
        }
        b.push_str("</ul>\n");
    }
    if r.gaps_checked {
        if rb.gaps.is_empty() {
            b.push_str("<p class=\"ok\">No scheduled drill was missed.</p>\n");
        } else {
            let _ = writeln!(
                b,
                "<h3>Scheduled drills that did not run ({})</h3>\n<table><tr><th>Slot (UTC)</th>\
                 <th>State</th><th>Reason</th></tr>",
                rb.gaps.len()
            );
            for g in &rb.gaps {
                let _ = writeln!(
                    b,
                    "<tr><td>{}</td><td class=\"bad\">{}</td><td>{}</td></tr>",
                    escape(&instant(g.slot)),
                    escape(&g.state),
                    escape(g.reason.as_deref().unwrap_or(""))
                );
            }
            b.push_str("</table>\n");
        }
    }
}

fn outcome_span(o: Outcome) -> String {
    let class = match o {
        Outcome::Passed => "ok",
        Outcome::Failed => "bad",
        Outcome::Error => "warn",
    };
    format!("<span class=\"{class}\">{}</span>", verdict_word(o))
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

    #[test]
    fn format_comes_from_the_extension() {
        assert_eq!(Format::from_path(Path::new("r.HTML")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("r.md")), Some(Format::Markdown));
        assert_eq!(Format::from_path(Path::new("r.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("a/r.csv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("r.pdf")), None);
        assert_eq!(Format::from_path(Path::new("report")), None);
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-12.5"), "-12.5");
        // One record, one line: a line break shows escaped.
        assert_eq!(csv_cell("line\nbreak"), "line\\nbreak");
        assert_eq!(csv_cell(" =1+1"), "' =1+1");
        assert_eq!(csv_cell("\u{ff1d}1+1"), "'\u{ff1d}1+1");
        assert_eq!(csv_cell("-inf"), "'-inf");
        // A leading TAB or CR, which some spreadsheets skip before a formula, shows escaped.
        assert_eq!(csv_cell("\t=1"), "\\t=1");
    }
}
