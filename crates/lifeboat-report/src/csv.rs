//! The period report as CSV: one row per drill, one per gap and one per object that failed
//! coverage, one line each, with the model's own values (the record's outcome words, seconds as numbers), which
//! is what a spreadsheet or a script wants and what the columns are documented to hold.
//! Columns are only ever added, at the end. The escaping of every cell is [`cell`]'s, in one
//! place.

use lifeboat_evidence::period::PeriodReport;

use crate::words::instant;

/// One row per drill and one per gap, one line each: with a history store, a scheduled
/// drill's row names its `slot`, so the slots a schedule expected are the drill rows with a
/// slot and the gap rows. A drill's `coverage_` columns are where its coverage phase left
/// coverage of the stored objects (empty without one): the coverage chart's data. Each object
/// that failed coverage in the period (as many as the report lists) is a `coverage-failed`
/// row naming its drill, point and `object`. A cell a spreadsheet would run as a formula (CSV injection: a point named
/// `=HYPERLINK(...)` or `@SUM(...)`) gets a leading `'`, which Excel, LibreOffice and Google
/// Sheets show as text: see [`cell`].
pub fn period(r: &PeriodReport) -> String {
    const HEADER: [&str; 33] = [
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
        "mode",
        "operator",
        "report",
        "runbook_sha256",
        "runbook_changed",
        "slot",
        "coverage_ratio",
        "coverage_on_pace",
        "coverage_objects",
        "coverage_verified_within",
        "coverage_phase_objects",
        "coverage_phase_failed",
        "object",
    ];
    let mut s = HEADER.join(",");
    s.push_str("\r\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    // The same link the HTML report gives, relative to this file; relative to the evidence
    // folder when the report's place is not known.
    let report = |below: &str| match &r.evidence_href {
        Some(base) => format!("{base}/{}", crate::period::encode_path(below)),
        None => below.to_owned(),
    };
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
                d.mode.as_str().to_owned(),
                opt(d.operator.clone()),
                report(&d.report),
                d.runbook_sha256.clone(),
                d.runbook_changed.to_string(),
                opt(d.slot.map(instant)),
                opt(d.coverage_ratio.map(|v| v.to_string())),
                opt(d.coverage_on_pace.map(|v| v.to_string())),
                opt(d.coverage_objects.map(|v| v.to_string())),
                opt(d.coverage_verified_within.map(|v| v.to_string())),
                opt(d.coverage_phase_objects.map(|v| v.to_string())),
                opt(d.coverage_phase_failed.map(|v| v.to_string())),
                String::new(),
            ];
            csv_row(&mut s, &cells);
        }
        for f in rb.stored_coverage.iter().flat_map(|c| &c.failed) {
            let mut cells: Vec<String> = vec![String::new(); HEADER.len()];
            cells[0] = "coverage-failed".into();
            cells[1] = rb.name.clone();
            cells[2] = f.run_id.clone();
            cells[3] = instant(f.started_at);
            cells[4] = "failed".into();
            cells[5] = opt(f.reason.clone());
            cells[12] = f.recovery_point.clone();
            cells[22] = report(&f.report);
            cells[32] = f.path.clone();
            csv_row(&mut s, &cells);
        }
        for g in &rb.gaps {
            let mut cells: Vec<String> = vec![String::new(); HEADER.len()];
            cells[0] = "gap".into();
            cells[1] = rb.name.clone();
            cells[3] = instant(g.slot);
            cells[4] = g.state.clone();
            cells[5] = opt(g.reason.clone());
            cells[25] = instant(g.slot);
            csv_row(&mut s, &cells);
        }
    }
    s
}

fn csv_row(s: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    s.push_str(&cells.join(","));
    s.push_str("\r\n");
}

/// One CSV cell. Control and bidi characters are shown escaped (`lifeboat_core::text`), so a
/// record stays on one line and nothing in it steers a terminal that shows the file. A cell
/// whose first non-blank character starts a formula (`=`, `+`, `-`, `@`, or their full-width
/// forms, which some spreadsheets also accept) is prefixed with `'`, as OWASP advises for CSV
/// injection, unless it is a finite number (`-12.5` stays a number). Then RFC 4180 quoting.
pub fn cell(c: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("-12.5"), "-12.5");
        // One record, one line: a line break shows escaped.
        assert_eq!(cell("line\nbreak"), "line\\nbreak");
        assert_eq!(cell(" =1+1"), "' =1+1");
        assert_eq!(cell("\u{ff1d}1+1"), "'\u{ff1d}1+1");
        assert_eq!(cell("-inf"), "'-inf");
        // A leading TAB or CR, which some spreadsheets skip before a formula, shows escaped.
        assert_eq!(cell("\t=1"), "\\t=1");
    }
}
