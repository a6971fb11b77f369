//! The period report (`lifeboat report`) rendered from [`lifeboat_evidence::period`]'s model
//! as HTML, Markdown, JSON or CSV, the format chosen from the output file's extension.

use std::fmt::Write;
use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;
use lifeboat_evidence::period::{
    CONTROLS, ChainStatus, DrillRow, Period, PeriodReport, RunbookSummary,
};

use crate::html::{self, ChartPoint, escape, met_cell, secs, verdict_word};
use crate::markdown::{cell, code, code_cell, human_secs, text};

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
