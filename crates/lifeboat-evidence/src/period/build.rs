//! Building a [`PeriodReport`]: [`build`] reads the evidence folder (records, the chain's
//! status, the ledger's hash) into [`Contents`], and [`assemble`], a pure function, sums it up
//! per runbook.
//!
//! Each record is summed up as it is read ([`Drills::add`]) and its files dropped: a record
//! lists every file its drill checked, and a year of nightly drills of a point of 100,000
//! files is some 36 million of them, where the report needs each drill's row, its failures
//! and each runbook's distinct verified paths. What the report holds grows with the drills
//! and the distinct paths, not with the files the records list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::{
    CoverageObject, CoverageRecord, Evidence, Mode, Outcome, StepResult,
};
use lifeboat_safefs::Dir;

use super::model::*;
use crate::files::{self, Cap};
use crate::ledger::{self, LEDGER_FILE, sha256_hex};
use crate::sign::VerifyingKey;
use crate::verify;

/// One record of the period, as read from the folder.
#[derive(Clone, Debug)]
pub struct RecordRead {
    /// `RUNBOOK/RUN_ID/evidence.json`, relative to the evidence directory.
    pub path: String,
    /// SHA-256 of the record's bytes.
    pub sha256: String,
    pub evidence: Evidence,
    /// `false` when `evidence verify` named this record.
    pub chain_ok: bool,
}

/// The newest drill of a runbook before the period: what its first drill in the period is
/// compared with, to tell whether the runbook's file changed at the period's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Earlier {
    pub runbook: String,
    pub run_id: String,
    pub started_at: Timestamp,
    pub runbook_sha256: String,
}

/// What the folder holds for a period: its drills (only those within the period and the
/// runbook filter), the newest drill of each runbook before the period, the records that
/// could not be read (all of them), the ledger's hash and the chain's status.
#[derive(Clone, Debug)]
pub struct Contents {
    pub evidence_dir: String,
    pub records: Drills,
    pub earlier: Vec<Earlier>,
    pub unreadable: Vec<Unreadable>,
    /// SHA-256 of `ledger.jsonl`; `None` when it could not be read.
    pub ledger_sha256: Option<String>,
    pub chain: ChainStatus,
}

/// The drills of a period, each summed up as its record was read ([`Drills::add`]): what
/// the report shows of it, without the files the record lists.
#[derive(Clone, Debug, Default)]
pub struct Drills {
    /// In the order they were added.
    drills: Vec<Drill>,
    /// By runbook, the distinct paths its drills verified (a file that passed).
    verified: BTreeMap<String, BTreeSet<String>>,
}

/// One drill of the period, summed up.
#[derive(Clone, Debug)]
struct Drill {
    runbook: String,
    /// The runbook's path as the drill recorded it.
    runbook_path: String,
    row: DrillRow,
    /// `None` when the drill passed.
    failure: Option<Failure>,
    coverage: Option<DrillCoverage>,
}

/// A drill's coverage phase, summed up.
#[derive(Clone, Debug)]
struct DrillCoverage {
    /// The record's coverage without its objects.
    state: CoverageRecord,
    /// Objects the phase verified.
    objects: u64,
    /// Of those, the ones that failed; the first [`COVERAGE_FAILURES_LISTED`] of them.
    failed_objects: u64,
    failed: Vec<CoverageFailure>,
}

impl Drills {
    /// Sums `record` up and adds it; its files are dropped with it.
    pub fn add(&mut self, record: RecordRead) {
        let RecordRead {
            path,
            sha256,
            mut evidence,
            chain_ok,
        } = record;
        let ev = &evidence;
        let row = drill_row(ev, &path, sha256, chain_ok);
        let verified = self.verified.entry(ev.runbook.name.clone()).or_default();
        for f in ev.recovery_points.iter().flat_map(|p| &p.files) {
            if f.outcome == Outcome::Passed && !verified.contains(&f.path) {
                verified.insert(f.path.clone());
            }
        }
        let failure = (ev.outcome != Outcome::Passed).then(|| Failure {
            run_id: ev.run_id.clone(),
            report: row.report.clone(),
            started_at: ev.started_at,
            outcome: ev.outcome,
            reason: ev.reason.clone(),
            details: failure_details(ev),
        });
        let coverage = evidence.coverage.take().map(|mut state| {
            let failed = failed_objects(&state)
                .take(COVERAGE_FAILURES_LISTED)
                .map(|o| CoverageFailure {
                    run_id: row.run_id.clone(),
                    report: row.report.clone(),
                    started_at: row.started_at,
                    recovery_point: o.recovery_point.clone(),
                    path: o.path.clone(),
                    reason: o.reason.clone(),
                })
                .collect();
            let objects = std::mem::take(&mut state.verified);
            DrillCoverage {
                failed_objects: row.coverage_phase_failed.unwrap_or_default(),
                objects: objects.len() as u64,
                state,
                failed,
            }
        });
        self.drills.push(Drill {
            runbook: evidence.runbook.name,
            runbook_path: evidence.runbook.path,
            row,
            failure,
            coverage,
        });
    }
}

impl Extend<RecordRead> for Drills {
    fn extend<I: IntoIterator<Item = RecordRead>>(&mut self, records: I) {
        for r in records {
            self.add(r);
        }
    }
}

impl FromIterator<RecordRead> for Drills {
    fn from_iter<I: IntoIterator<Item = RecordRead>>(records: I) -> Self {
        let mut drills = Drills::default();
        drills.extend(records);
        drills
    }
}

/// Reads the evidence directory and builds the report.
pub fn build(inputs: Inputs<'_>) -> Result<PeriodReport, PeriodError> {
    let contents = read(&inputs)?;
    Ok(assemble(
        contents,
        inputs.period,
        inputs.runbook,
        inputs.gaps,
        inputs.now,
    ))
}

/// Reads what [`assemble`] needs. Records outside the period are read only for their date,
/// and those before it for the runbook text they ran.
fn read(inputs: &Inputs<'_>) -> Result<Contents, PeriodError> {
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
    let on_disk = ledger::records_on_disk(&root).map_err(read_err)?;

    if on_disk.is_empty() && root.stat(LEDGER_FILE).is_err_and(|e| e.is_not_found()) {
        return Err(PeriodError::NotEvidence { path: show });
    }
    let (chain, named) = chain_status(dir, inputs.public_key);

    let mut unreadable = Vec::new();
    let mut records = Drills::default();
    let mut earlier: BTreeMap<String, Earlier> = BTreeMap::new();
    for rel in on_disk {
        let bytes = match files::read_below(&root, &rel, Cap::RECORD) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push(Unreadable {
                    record: rel,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let ev: Evidence = match serde_json::from_slice(&bytes) {
            Ok(ev) => ev,
            Err(e) => {
                unreadable.push(Unreadable {
                    record: rel,
                    error: format!("not an evidence record: {e}"),
                });
                continue;
            }
        };
        if inputs.runbook.is_some_and(|r| r != ev.runbook.name) {
            continue;
        }
        if ev.started_at < inputs.period.from {
            let newer = earlier
                .get(&ev.runbook.name)
                .is_none_or(|e| e.started_at < ev.started_at);
            if newer {
                earlier.insert(
                    ev.runbook.name.clone(),
                    Earlier {
                        runbook: ev.runbook.name.clone(),
                        run_id: ev.run_id.clone(),
                        started_at: ev.started_at,
                        runbook_sha256: ev.runbook.sha256.clone(),
                    },
                );
            }
            continue;
        }
        if ev.started_at > inputs.period.to {
            continue;
        }
        let subject = rel.strip_suffix("/evidence.json").unwrap_or(&rel);
        let chain_ok = !named.contains(subject);
        let sha256 = sha256_hex(&bytes);
        drop(bytes);
        records.add(RecordRead {
            sha256,
            path: rel,
            evidence: ev,
            chain_ok,
        });
    }
    let ledger_sha256 = files::read_below(&root, LEDGER_FILE, Cap::LEDGER)
        .ok()
        .map(|b| sha256_hex(&b));
    Ok(Contents {
        evidence_dir: show,
        records,
        earlier: earlier.into_values().collect(),
        unreadable,
        ledger_sha256,
        chain,
    })
}

/// Sums `contents` up per runbook: every runbook with a drill or a gap in the period (and
/// the one `runbook` names, even with neither), its drills oldest first, its gaps within the
/// period. Pure: the same contents give the same report.
pub fn assemble(
    contents: Contents,
    period: Period,
    runbook: Option<&str>,
    gaps: Option<GapSource>,
    now: jiff::Timestamp,
) -> PeriodReport {
    let mut input_files = Vec::new();
    let mut by_runbook: BTreeMap<String, Vec<Drill>> = BTreeMap::new();
    let Drills {
        drills,
        verified: mut verified_by_runbook,
    } = contents.records;
    for d in drills {
        input_files.push(InputFile {
            path: d.row.record.clone(),
            sha256: d.row.evidence_sha256.clone(),
        });
        by_runbook.entry(d.runbook.clone()).or_default().push(d);
    }
    if let Some(sha256) = contents.ledger_sha256 {
        input_files.push(InputFile {
            path: LEDGER_FILE.into(),
            sha256,
        });
    }

    let mut gaps_by_runbook: BTreeMap<String, Vec<Gap>> = BTreeMap::new();
    let mut slots_by_runbook: BTreeMap<String, BTreeMap<Timestamp, SlotFate>> = BTreeMap::new();
    let wanted = |name: &str, at: Timestamp| {
        at >= period.from && at <= period.to && runbook.is_none_or(|r| r == name)
    };
    if let Some(src) = &gaps {
        for s in src.slots.iter().filter(|s| wanted(&s.runbook, s.slot)) {
            slots_by_runbook
                .entry(s.runbook.clone())
                .or_default()
                .insert(s.slot, SlotFate::of(s));
        }
        for g in src.gaps.iter().filter(|g| wanted(&g.runbook, g.slot)) {
            gaps_by_runbook
                .entry(g.runbook.clone())
                .or_default()
                .push(g.clone());
            // A gap is a slot that did not run, whether or not the source listed it.
            slots_by_runbook
                .entry(g.runbook.clone())
                .or_default()
                .insert(g.slot, SlotFate::NotRun);
        }
    }
    // The slot each scheduled drill ran for, by runbook and run.
    let ran_for: BTreeMap<(&str, &str), Timestamp> = gaps
        .iter()
        .flat_map(|src| &src.slots)
        .filter_map(|s| Some(((s.runbook.as_str(), s.run_id.as_deref()?), s.slot)))
        .collect();
    for (name, drills) in by_runbook.iter_mut() {
        for d in drills.iter_mut() {
            d.row.slot = ran_for
                .get(&(name.as_str(), d.row.run_id.as_str()))
                .copied();
        }
    }
    let mut earlier: BTreeMap<String, Earlier> = contents
        .earlier
        .into_iter()
        .map(|e| (e.runbook.clone(), e))
        .collect();
    let mut names: BTreeSet<String> = by_runbook.keys().cloned().collect();
    names.extend(gaps_by_runbook.keys().cloned());
    names.extend(slots_by_runbook.keys().cloned());
    if let Some(r) = runbook {
        names.insert(r.to_string());
    }

    let gaps_checked = gaps.is_some();
    let mut totals = Totals::default();
    let mut runbooks = Vec::new();
    for name in names {
        let mut drills = by_runbook.remove(&name).unwrap_or_default();
        drills.sort_by_key(|d| d.row.started_at);
        let verified = verified_by_runbook.remove(&name).map_or(0, |v| v.len());
        let mut gaps = gaps_by_runbook.remove(&name).unwrap_or_default();
        gaps.sort_by_key(|g| g.slot);
        let schedule = gaps_checked
            .then(|| schedule_count(slots_by_runbook.remove(&name).unwrap_or_default().values()));
        let before = earlier.remove(&name);
        let s = summarize(name, drills, verified, gaps, schedule, before);
        totals.drills += s.drills;
        totals.passed += s.passed;
        totals.failed += s.failed;
        totals.error += s.error;
        totals.gaps += s.gaps.len();
        if let Some(c) = &s.schedule {
            totals.slots_expected += c.expected;
            totals.slots_ran += c.ran;
        }
        totals.runbooks_changed += usize::from(!s.runbook_changes.is_empty());
        runbooks.push(s);
    }

    PeriodReport {
        kind: "lifeboat-period-report",
        format_version: 1,
        generated_at: now,
        lifeboat_version: env!("CARGO_PKG_VERSION"),
        evidence_dir: contents.evidence_dir,
        period,
        runbook_filter: runbook.map(str::to_owned),
        evidence_href: None,
        chain: contents.chain,
        gaps_checked: gaps.is_some(),
        gaps_source: gaps.map(|g| g.description),
        totals,
        runbooks,
        unreadable: contents.unreadable,
        inputs: input_files,
    }
}

/// What became of a scheduled slot, as far as counting it goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SlotFate {
    Ran,
    NotRun,
    Pending,
}

impl SlotFate {
    fn of(s: &Slot) -> SlotFate {
        match s.state.as_str() {
            _ if s.run_id.is_some() => SlotFate::Ran,
            "missed" | "skipped-overlap" | "abandoned" => SlotFate::NotRun,
            _ => SlotFate::Pending,
        }
    }
}

fn schedule_count<'a>(fates: impl Iterator<Item = &'a SlotFate>) -> ScheduleCount {
    let mut c = ScheduleCount::default();
    for f in fates {
        c.expected += 1;
        match f {
            SlotFate::Ran => c.ran += 1,
            SlotFate::NotRun => c.not_run += 1,
            SlotFate::Pending => c.pending += 1,
        }
    }
    c
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
    let folder = rel.strip_suffix(crate::RECORD_FILE).unwrap_or(rel);
    DrillRow {
        run_id: ev.run_id.clone(),
        record: rel.to_string(),
        report: format!("{folder}report.html"),
        mode: ev.mode,
        operator: ev.operator.clone(),
        runbook_sha256: ev.runbook.sha256.clone(),
        // Decided over the runbook's drills in order, by `summarize`.
        runbook_changed: false,
        // From the history store, by `assemble`.
        slot: None,
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
        coverage_ratio: ev.coverage.as_ref().map(|c| c.ratio),
        coverage_on_pace: ev.coverage.as_ref().map(|c| c.on_pace),
        coverage_behind_seconds: ev.coverage.as_ref().and_then(|c| c.behind_seconds),
        coverage_objects: ev.coverage.as_ref().map(|c| c.objects),
        coverage_verified_within: ev.coverage.as_ref().map(|c| c.verified_within),
        coverage_phase_objects: ev.coverage.as_ref().map(|c| c.verified.len() as u64),
        coverage_phase_failed: ev
            .coverage
            .as_ref()
            .map(|c| failed_objects(c).count() as u64),
    }
}

/// The objects a coverage phase found bad.
fn failed_objects(c: &CoverageRecord) -> impl Iterator<Item = &CoverageObject> {
    c.verified.iter().filter(|o| o.outcome != Outcome::Passed)
}

/// At most this many files that failed are named per point in one drill's failure details;
/// the rest are counted there (a backup that lost a disk fails every file, night after
/// night, and each drill's own report names them).
const FILE_DETAILS: usize = 20;

/// At most this many objects that failed coverage are named in one drill's failure details;
/// the rest are counted there (and listed under the runbook's coverage).
const COVERAGE_DETAILS: usize = 10;

/// The runbook's coverage over the period, from its drills (oldest first) that had a
/// coverage phase; `None` when none had.
fn stored_coverage(drills: &[Drill]) -> Option<StoredCoverage> {
    let with: Vec<(&Drill, &DrillCoverage)> = drills
        .iter()
        .filter_map(|d| Some((d, d.coverage.as_ref()?)))
        .collect();
    let (newest_drill, newest) = with.last()?;
    let newest_state = &newest.state;
    let failed: Vec<CoverageFailure> = with
        .iter()
        .flat_map(|(_, c)| &c.failed)
        .take(COVERAGE_FAILURES_LISTED)
        .cloned()
        .collect();
    Some(StoredCoverage {
        as_of_run_id: newest_drill.row.run_id.clone(),
        as_of: newest_drill.row.started_at,
        within_seconds: newest_state.within_seconds,
        budget_bytes: newest_state.budget_bytes,
        objects: newest_state.objects,
        bytes: newest_state.bytes,
        verified_within: newest_state.verified_within,
        ratio: newest_state.ratio,
        on_pace: newest_state.on_pace,
        behind_seconds: newest_state.behind_seconds,
        never_verified: newest_state.never_verified,
        oldest_verified: newest_state.oldest_verified,
        drills: with.len(),
        objects_verified: with.iter().map(|(_, c)| c.objects).sum(),
        bytes_read: with.iter().map(|(_, c)| c.state.phase_bytes).sum(),
        failed_objects: with.iter().map(|(_, c)| c.failed_objects).sum(),
        failed,
    })
}

fn failure_details(ev: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    let step = |out: &mut Vec<String>, at: &str, s: &StepResult| {
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
        let bad: Vec<_> = p
            .files
            .iter()
            .filter(|f| f.outcome != Outcome::Passed)
            .collect();
        let mut any = !bad.is_empty();
        for f in bad.iter().take(FILE_DETAILS) {
            out.push(format!(
                "{at}{}: {}",
                f.path,
                f.reason.as_deref().unwrap_or("failed")
            ));
        }
        if bad.len() > FILE_DETAILS {
            out.push(format!(
                "{at}{} more files failed: the drill's record names them",
                bad.len() - FILE_DETAILS
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
    if let Some(c) = &ev.coverage {
        let bad: Vec<&CoverageObject> = failed_objects(c).collect();
        for o in bad.iter().take(COVERAGE_DETAILS) {
            out.push(format!(
                "coverage: point {}: {}: {}",
                o.recovery_point,
                o.path,
                o.reason.as_deref().unwrap_or("failed")
            ));
        }
        if bad.len() > COVERAGE_DETAILS {
            out.push(format!(
                "coverage: {} more objects failed",
                bad.len() - COVERAGE_DETAILS
            ));
        }
    }
    for (what, met) in [("RTO", ev.measured.rto_met), ("RPO", ev.measured.rpo_met)] {
        if met == Some(false) {
            out.push(format!("{what} objective not met"));
        }
    }
    out
}

/// Each drill that ran another text of the runbook than the drill before it (`before`: the
/// newest before the period), marking its row. `drills` are oldest first.
fn runbook_changes(drills: &mut [Drill], before: Option<Earlier>) -> Vec<RunbookChange> {
    let mut changes = Vec::new();
    let mut previous = before.map(|e| (e.run_id, e.started_at, e.runbook_sha256, false));
    for d in drills.iter_mut() {
        let row = &mut d.row;
        if let Some((run_id, started_at, sha, in_period)) = &previous
            && *sha != row.runbook_sha256
        {
            row.runbook_changed = true;
            changes.push(RunbookChange {
                run_id: row.run_id.clone(),
                started_at: row.started_at,
                path: d.runbook_path.clone(),
                from_sha256: sha.clone(),
                to_sha256: row.runbook_sha256.clone(),
                previous_run_id: run_id.clone(),
                previous_started_at: *started_at,
                previous_in_period: *in_period,
            });
        }
        previous = Some((
            row.run_id.clone(),
            row.started_at,
            row.runbook_sha256.clone(),
            true,
        ));
    }
    changes
}

fn summarize(
    name: String,
    mut drills: Vec<Drill>,
    distinct_files_verified: usize,
    gaps: Vec<Gap>,
    schedule: Option<ScheduleCount>,
    before: Option<Earlier>,
) -> RunbookSummary {
    let runbook_changes = runbook_changes(&mut drills, before);
    let mut by_mode = ModeCounts::default();
    for d in &drills {
        *match d.row.mode {
            Mode::Automatic => &mut by_mode.automatic,
            Mode::Manual => &mut by_mode.manual,
            Mode::Scheduled => &mut by_mode.scheduled,
        } += 1;
    }
    let count = |o: Outcome| drills.iter().filter(|d| d.row.outcome == o).count();
    let (passed, failed, error) = (
        count(Outcome::Passed),
        count(Outcome::Failed),
        count(Outcome::Error),
    );
    let n = drills.len();
    let mut cov = Coverage {
        distinct_files_verified,
        ..Coverage::default()
    };
    let mut covs = Vec::new();
    for d in &drills {
        cov.files_checked += d.row.files_checked;
        cov.files_verified += d.row.files_verified;
        if d.row.recovery_point.is_some()
            && let Some(c) = d.row.point_coverage
        {
            covs.push(c);
        }
    }
    cov.mean_point_coverage =
        (!covs.is_empty()).then(|| covs.iter().sum::<f64>() / covs.len() as f64);
    let stored_coverage = stored_coverage(&drills);
    let failures: Vec<Failure> = drills.iter_mut().filter_map(|d| d.failure.take()).collect();
    let rows: Vec<DrillRow> = drills.into_iter().map(|d| d.row).collect();
    let newest = rows.last();
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
        by_mode,
        schedule,
        runbook_sha256: newest.map(|d| d.runbook_sha256.clone()),
        runbook_changes,
        drill_list: rows,
        failures,
        gaps,
        stored_coverage,
    }
}
