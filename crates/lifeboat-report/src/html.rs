//! `report.html`: the evidence of one run for a reader who is not an engineer, and the pieces
//! the period report ([`crate::period`]) shares with it: escaping, the page shell, inline SVG
//! charts.
//!
//! Pages are self-contained: inline CSS, inline SVG, no script, font, stylesheet or image
//! from anywhere else, so they read the same offline, in an archive, or printed. Every text
//! that comes from a manifest, a runbook, storage or the evidence goes through [`escape`]: a
//! file named `<script>` shows as those characters.
//!
//! `report.html` is a rendering of `evidence.json`, not evidence in itself: the ledger and
//! the signature cover `evidence.json` only (see the crate root). The page shows the SHA-256
//! of the `evidence.json` it was rendered from, so a reader can check the two belong together.

use std::fmt::Write;

use jiff::Timestamp;
use lifeboat_core::evidence::{
    Evidence, FileResult, NotificationResult, Outcome, PointResult, StepResult,
};

use crate::markdown::{human_bytes, human_secs};

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`,
/// `'`; and shows control and bidi characters as visible escapes (`lifeboat_core::text`), so
/// a name cannot reorder the text around it in the browser (a U+202E in a file name) or
/// reach the terminal of someone who reads the file with `cat`.
pub fn escape(s: &str) -> String {
    let s = lifeboat_core::text::escape(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The statement a sample of one recovery point supports, in words; `None` when none can be
/// made (a file failed, or no file was sampled: the page says why instead).
///
/// With `n` files drawn at random without replacement and all verified, the chance of that
/// if a fraction `p` of the point's files were corrupt is at most `(1 − p)^n`; it drops below
/// 5 % once `p ≥ 1 − 0.05^(1/n)`. Sampling without replacement only makes the bound safer.
pub fn confidence_bound(n: u64) -> Option<f64> {
    (n > 0).then(|| 1.0 - 0.05f64.powf(1.0 / n as f64))
}

/// `x` (a fraction) as a percentage with three significant digits, rounded *up*, so "fewer
/// than X %" never claims more than the sample supports.
pub fn percent_up(x: f64) -> String {
    let pct = x * 100.0;
    let decimals = if pct >= 10.0 {
        1
    } else if pct >= 1.0 {
        2
    } else if pct >= 0.1 {
        3
    } else {
        4
    };
    let scale = 10f64.powi(decimals);
    // A hair of tolerance so an exact value (e.g. 95 %) is not pushed to the next step.
    let up = ((pct * scale) - 1e-9).ceil() / scale;
    format!("{up:.prec$}%", prec = decimals as usize)
}

/// What the sample of one point says about the point's files, in one sentence.
pub fn sample_statement(point: &PointResult, all_files: bool) -> String {
    let n = point.files.len() as u64;
    let failed = point
        .files
        .iter()
        .filter(|f| f.outcome != Outcome::Passed)
        .count();
    let whole = all_files || point.manifest.entries.is_some_and(|e| e > 0 && e == n);
    if n == 0 {
        "No file of this point was checked, so nothing can be said about its files.".into()
    } else if failed > 0 {
        format!(
            "{failed} of {n} checked files failed: this recovery point is damaged. No \
             statistical statement is made for a point with failures."
        )
    } else if whole {
        format!("Every file of this point ({n}) was restored and verified: none is corrupt.")
    } else {
        let x = confidence_bound(n).unwrap_or(1.0);
        format!(
            "{n} files sampled, all verified: with 95% confidence fewer than {} of this \
             point's files are corrupt.",
            percent_up(x)
        )
    }
}

pub(crate) const CSS: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
color:#1b1f24;margin:0;background:#f6f7f9}\
main{max-width:1080px;margin:0 auto;padding:24px 28px 48px;background:#fff}\
h1{font-size:26px;margin:0 0 6px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d8dde3;\
padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}\
.verdict{padding:16px 20px;border-radius:6px;margin:0 0 18px;color:#fff}\
.verdict p{margin:4px 0 0;font-size:16px}\
.passed{background:#1a7f37}.failed{background:#c62828}.error{background:#9a6700}.unknown{background:#57606a}\
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}.warn{color:#9a6700;font-weight:600}\
table{border-collapse:collapse;margin:6px 0 12px;width:100%}\
th,td{border:1px solid #d8dde3;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f2f5;font-weight:600}\
td.num,th.num{text-align:right;white-space:nowrap}\
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;\
word-break:break-all}\
.note{color:#57606a;font-size:13.5px}\
.statement{background:#f0f6ff;border-left:4px solid #0969da;padding:8px 12px;margin:8px 0}\
.statement.bad{background:#fff0f0;border-color:#c62828;color:#1b1f24;font-weight:400}\
details{margin:6px 0 12px}summary{cursor:pointer;color:#0969da}\
svg{display:block;margin:6px 0 14px;max-width:100%;height:auto}\
@media print{body{background:#fff}main{padding:0}details{display:block}}";

/// The page shell: doctype, charset, a strict referrer policy, the inline style.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

pub(crate) fn verdict_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "PASSED",
        Outcome::Failed => "FAILED",
        Outcome::Error => "COULD NOT COMPLETE",
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "ok",
        Outcome::Failed => "bad",
        Outcome::Error => "warn",
    }
}

pub(crate) fn met_cell(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "<span class=\"ok\">met</span>",
        Some(false) => "<span class=\"bad\">NOT met</span>",
        None => "<span class=\"note\">no objective</span>",
    }
}

pub(crate) fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), human_secs)
}

fn ts(t: Timestamp) -> String {
    escape(&format!("{t:.0}"))
}

/// Renders `report.html` for one run. `record_sha256` is the SHA-256 of the `evidence.json`
/// bytes the page is rendered from, shown so the two can be matched.
pub fn render_run(ev: &Evidence, record_sha256: Option<&str>) -> String {
    let mut b = String::new();
    let name = escape(&ev.runbook.name);
    let class = ev.outcome.as_str();
    let _ = write!(
        b,
        "<div class=\"verdict {class}\" id=\"verdict\"><h1>{}: {name}</h1>",
        verdict_word(ev.outcome)
    );
    let _ = write!(b, "<p>{}</p>", escape(&plain_summary(ev)));
    if let Some(r) = &ev.reason {
        let _ = write!(b, "<p>Reason: {}</p>", escape(r));
    }
    b.push_str("</div>\n");

    // Objectives.
    b.push_str("<h2>Recovery objectives</h2>\n");
    b.push_str(
        "<table><tr><th></th><th>What it means</th><th class=\"num\">Objective</th>\
         <th class=\"num\">Measured</th><th>Result</th></tr>\n",
    );
    let _ = writeln!(
        b,
        "<tr><th>RTO</th><td>how long recovery took (drill start to the last check of the \
         point that passed)</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        secs(ev.objectives.rto_seconds.map(|x| x as f64)),
        secs(ev.measured.rto_seconds),
        met_cell(ev.measured.rto_met)
    );
    let _ = writeln!(
        b,
        "<tr><th>RPO</th><td>how much data would be lost (incident time T0 to the newest \
         recovery point that restored correctly)</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>{}</td></tr></table>",
        secs(ev.objectives.rpo_seconds.map(|x| x as f64)),
        secs(ev.measured.rpo_seconds),
        met_cell(ev.measured.rpo_met)
    );
    match &ev.measured.recovery_point {
        Some(p) => {
            let _ = writeln!(
                b,
                "<p>Measured from recovery point <code>{}</code>; incident time T0 {}.</p>",
                escape(p),
                ts(ev.t0)
            );
        }
        None => b.push_str(
            "<p class=\"bad\">No recovery point restored correctly, so neither RTO nor RPO \
             could be measured.</p>\n",
        ),
    }
    if let Some(p) = &ev.projected {
        let _ = writeln!(
            b,
            "<p class=\"note\">Projected, not measured: restoring all {} entries of <code>{}</code> \
             ({} stored) would take about {} at the rate measured on the sample ({}). Not compared \
             with the RTO objective.</p>",
            p.entries,
            escape(&p.recovery_point),
            human_bytes(p.total_bytes),
            human_secs(p.rto_seconds),
            escape(p.basis.describe())
        );
    }

    // Points.
    b.push_str("<h2>Recovery points tried (newest first)</h2>\n");
    if ev.recovery_points.is_empty() {
        b.push_str("<p>None: no recovery point was found or none could be read.</p>\n");
    } else {
        b.push_str(
            "<table><tr><th>Recovery point</th><th>Taken</th><th>Result</th>\
             <th class=\"num\">Files verified</th><th class=\"num\">Restored</th><th>Reason</th></tr>\n",
        );
        for p in &ev.recovery_points {
            let ok = p.files_passed();
            let bytes = p.bytes();
            let _ = writeln!(
                b,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td>\
                 <td class=\"num\">{ok} of {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&p.id),
                ts(p.time),
                outcome_class(p.outcome),
                p.outcome,
                p.files.len(),
                human_bytes(bytes),
                escape(p.reason.as_deref().unwrap_or(""))
            );
        }
        b.push_str("</table>\n");
    }
    for p in &ev.recovery_points {
        point_section(&mut b, ev, p);
    }
    if !ev.finally.is_empty() {
        b.push_str("<h2>Final steps (<code>finally</code>)</h2>\n");
        steps_table(&mut b, &ev.finally);
    }
    if !ev.notifications.is_empty() {
        notifications_table(&mut b, &ev.notifications);
    }

    // Reproduce and record.
    b.push_str("<h2>Reproduce this drill</h2>\n");
    let _ = writeln!(
        b,
        "<p>The sample is drawn from seed <strong id=\"seed\">{}</strong>: the same manifest and \
         seed select the same files. To check exactly these files again:</p>\
         <p><code>lifeboat drill {} --seed {} --now {}</code></p>",
        ev.sample.seed,
        escape(&ev.runbook.path),
        ev.sample.seed,
        ts(ev.t0)
    );
    b.push_str("<h2>About this record</h2>\n<table>\n");
    let mut rows: Vec<(&str, String)> = vec![
        ("Run", format!("<code>{}</code>", escape(&ev.run_id))),
        (
            "Runbook",
            format!("{name} — <code>{}</code>", escape(&ev.runbook.path)),
        ),
        (
            "Runbook SHA-256",
            format!("<code>{}</code>", escape(&ev.runbook.sha256)),
        ),
        ("Source", format!("<code>{}</code>", escape(&ev.source.url))),
    ];
    if let Some(listing) = &ev.source.listing {
        rows.push(("Seen in the source", escape(listing)));
    }
    if let Some(at) = ev.stopped_after_checks {
        rows.push((
            "Stop requested",
            format!("{}, after the last check: the verdict stands", ts(at)),
        ));
    }
    rows.extend([
        (
            "Started / finished",
            format!("{} / {}", ts(ev.started_at), ts(ev.finished_at)),
        ),
        ("Incident time T0", ts(ev.t0)),
        (
            "Mode",
            format!(
                "{}{}{}{}",
                escape(&format!("{:?}", ev.mode).to_lowercase()),
                match &ev.operator {
                    Some(op) => format!(
                        ", run by operator <strong id=\"operator\">{}</strong>",
                        escape(op)
                    ),
                    None => String::new(),
                },
                if ev.verify_only {
                    ", verify only (files streamed and hashed, not written to scratch)"
                } else {
                    ""
                },
                if ev.unflushed() {
                    format!(", {}", escape(lifeboat_core::evidence::UNFLUSHED_NOTE))
                } else {
                    String::new()
                }
            ),
        ),
        (
            "Host / lifeboat",
            format!(
                "{} / {}",
                escape(ev.host.as_deref().unwrap_or("unknown")),
                escape(&ev.lifeboat_version)
            ),
        ),
        (
            "Scratch area",
            format!(
                "<code>{}</code> ({})",
                escape(&ev.scratch.path),
                if ev.scratch.kept { "kept" } else { "removed" }
            ),
        ),
    ]);
    for (k, v) in rows {
        let _ = writeln!(b, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    if let Some(h) = record_sha256 {
        let _ = writeln!(
            b,
            "<tr><th>evidence.json SHA-256</th><td><code id=\"record-sha256\">{}</code></td></tr>",
            escape(h)
        );
    }
    b.push_str("</table>\n");
    b.push_str(
        "<p class=\"note\">This page is a rendering of <code>evidence.json</code> beside it, \
         which is the record of this drill: it is the file chained into the evidence folder's \
         ledger and, when a key was configured, signed. Check it with <code>lifeboat evidence \
         verify</code>",
    );
    b.push_str(if record_sha256.is_some() {
        "; its SHA-256 must equal the one above.</p>\n"
    } else {
        ".</p>\n"
    });
    page(
        &format!("{} — drill {}", verdict_word(ev.outcome), ev.runbook.name),
        &b,
    )
}

/// The webhooks told of the verdict. A webhook that failed never changed the verdict, and
/// the page says so.
fn notifications_table(b: &mut String, notes: &[NotificationResult]) {
    b.push_str(
        "<h2>Notifications</h2>\n<p class=\"note\">Webhooks told of the verdict after it was \
         reached; one that could not be sent does not change it.</p>\n<table>\n<tr><th>Entry</th>\
         <th>Webhook</th><th>Result</th><th class=\"num\">Attempts</th><th>Reason</th></tr>\n",
    );
    for n in notes {
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"{}\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&n.entry),
            escape(&n.webhook),
            if n.sent { "ok" } else { "warn" },
            if n.sent { "sent" } else { "not sent" },
            n.attempts,
            escape(n.reason.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</table>\n");
}

/// One sentence a manager can read: what was restored, from when, and whether it matched.
fn plain_summary(ev: &Evidence) -> String {
    let passed = ev
        .recovery_points
        .iter()
        .find(|p| Some(&p.id) == ev.measured.recovery_point.as_ref());
    let tried = ev.recovery_points.len();
    match (ev.outcome, passed) {
        (_, Some(p)) => {
            let n = p.files.len();
            let mut s = format!(
                "{n} file{} from the backup's recovery point {} {} restored and matched the \
                 backup's manifest byte for byte.",
                if n == 1 { "" } else { "s" },
                p.id,
                if n == 1 { "was" } else { "were" }
            );
            if tried > 1 {
                let _ = write!(
                    s,
                    " {} newer point{} failed first.",
                    tried - 1,
                    if tried == 2 { "" } else { "s" }
                );
            }
            if ev.outcome != Outcome::Passed {
                s.push_str(" The drill still fails: see the reason below.");
            }
            s
        }
        (Outcome::Error, None) => "The drill could not complete, so the backup was not \
                                   verified."
            .into(),
        (_, None) if tried == 0 => "No recovery point could be restored.".into(),
        (_, None) => format!(
            "None of the {tried} recovery point{} tried restored correctly.",
            if tried == 1 { "" } else { "s" }
        ),
    }
}

fn point_section(b: &mut String, ev: &Evidence, p: &PointResult) {
    let _ = writeln!(
        b,
        "<h3>Recovery point <code>{}</code>: <span class=\"{}\">{}</span></h3>",
        escape(&p.id),
        outcome_class(p.outcome),
        p.outcome
    );
    let failed = p.files.iter().any(|f| f.outcome != Outcome::Passed) || p.files.is_empty();
    let _ = writeln!(
        b,
        "<p class=\"statement{}\">{}</p>",
        if failed { " bad" } else { "" },
        escape(&sample_statement(p, ev.sample.all))
    );
    let _ = writeln!(
        b,
        "<p class=\"note\">Manifest <code>{}</code>: {} entries, {}, SHA-256 <code>{}</code>.</p>",
        escape(&p.manifest.path),
        p.manifest
            .entries
            .map_or_else(|| "unreadable".into(), |n| n.to_string()),
        p.manifest.algorithm,
        escape(p.manifest.sha256.as_deref().unwrap_or("—"))
    );
    if !p.steps.is_empty() {
        b.push_str("<p>Steps:</p>\n");
        steps_table(b, &p.steps);
    }
    let failures: Vec<&FileResult> = p
        .files
        .iter()
        .filter(|f| f.outcome != Outcome::Passed)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(b, "<p class=\"bad\">Failures ({}):</p>", failures.len());
        files_table(b, &failures);
    }
    if !p.files.is_empty() {
        let all: Vec<&FileResult> = p.files.iter().collect();
        let _ = writeln!(
            b,
            "<details{}><summary>All {} sampled files with their hashes</summary>",
            if p.files.len() <= 50 { " open" } else { "" },
            p.files.len()
        );
        files_table(b, &all);
        b.push_str("</details>\n");
    }
}

fn files_table(b: &mut String, files: &[&FileResult]) {
    b.push_str(
        "<table><tr><th>File</th><th>Result</th><th class=\"num\">Bytes</th>\
         <th>Expected / actual hash</th><th>Reason</th></tr>\n",
    );
    for f in files {
        let actual = match &f.actual {
            Some(a) if *a == f.expected => "<span class=\"ok\">(same)</span>".to_string(),
            Some(a) => format!("<span class=\"bad mono\">{}</span>", escape(a)),
            None => "<span class=\"note\">not computed</span>".into(),
        };
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td class=\"num\">{}</td>\
             <td><span class=\"mono\">{} {}</span><br>{actual}</td><td>{}</td></tr>",
            escape(&f.path),
            outcome_class(f.outcome),
            f.outcome,
            f.bytes,
            f.algorithm,
            escape(&f.expected),
            escape(f.reason.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</table>\n");
}

/// Steps of any kind, rendered generically: kind, name, result, duration, reason, and every
/// detail the step recorded (exit code, output tails, HTTP status, operator answer...).
pub(crate) fn steps_table(b: &mut String, steps: &[StepResult]) {
    b.push_str(
        "<table><tr><th>Step</th><th>Result</th><th class=\"num\">Took</th><th>Reason</th>\
         <th>Details</th></tr>\n",
    );
    for s in steps {
        let took = (s.finished_at - s.started_at)
            .total(jiff::Unit::Second)
            .ok();
        let mut details = String::new();
        for (k, v) in s.detail.iter().flatten() {
            let _ = write!(
                details,
                "<div><strong>{}</strong>: <code>{}</code></div>",
                escape(k),
                escape(v)
            );
        }
        let _ = writeln!(
            b,
            "<tr><td>{}{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{details}</td></tr>",
            escape(&s.kind),
            s.name
                .as_deref()
                .map(|n| format!(" — {}", escape(n)))
                .unwrap_or_default(),
            outcome_class(s.outcome),
            s.outcome,
            secs(took),
            escape(s.reason.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</table>\n");
}

/// One dot of a chart: when, the value (`None`: nothing measured), and whether it met the
/// objective; `label` becomes the dot's tooltip.
#[derive(Clone, Debug)]
pub(crate) struct ChartPoint {
    pub at: Timestamp,
    pub value: Option<f64>,
    pub met: Option<bool>,
    pub label: String,
}

/// An inline SVG chart of one measure over the period: a dot per drill (green met, red not
/// met, a red cross on the axis where nothing was measured), the objective as a dashed line.
pub(crate) fn chart(
    title: &str,
    from: Timestamp,
    to: Timestamp,
    points: &[ChartPoint],
    objective: Option<f64>,
) -> String {
    const W: f64 = 900.0;
    const H: f64 = 240.0;
    const L: f64 = 86.0; // left margin (axis labels)
    const R: f64 = 20.0;
    const T: f64 = 28.0;
    const B: f64 = 40.0;
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .chain(objective)
        .fold(0.0f64, f64::max);
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let span = (to - from)
        .total(jiff::Unit::Second)
        .unwrap_or(1.0)
        .max(1.0);
    let x = |t: Timestamp| {
        let f = (t - from).total(jiff::Unit::Second).unwrap_or(0.0) / span;
        L + f.clamp(0.0, 1.0) * (W - L - R)
    };
    let y = |v: f64| T + (1.0 - v / top) * (H - T - B);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" \
         height=\"{H}\" role=\"img\" aria-label=\"{}\" font-family=\"system-ui,sans-serif\" \
         font-size=\"12\">",
        escape(title)
    );
    let _ = write!(
        s,
        "<text x=\"{L}\" y=\"18\" font-size=\"14\" font-weight=\"600\">{}</text>",
        escape(title)
    );
    // Axes and a grid line at each quarter.
    for i in 0..=4 {
        let v = top * i as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e3e6ea\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
            W - R,
            L - 6.0,
            yy + 4.0,
            escape(&axis_label(v))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{L}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\"/>",
        H - B,
        W - R,
        H - B
    );
    let _ = write!(
        s,
        "<text x=\"{L}\" y=\"{:.1}\" fill=\"#57606a\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
        H - B + 18.0,
        escape(&format!("{:.0}", from.strftime("%Y-%m-%d"))),
        W - R,
        H - B + 18.0,
        escape(&format!("{:.0}", to.strftime("%Y-%m-%d")))
    );
    if let Some(o) = objective {
        let yy = y(o);
        let _ = write!(
            s,
            "<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#0969da\" \
             stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"end\" fill=\"#0969da\">objective {}</text>",
            W - R,
            W - R,
            yy - 5.0,
            escape(&human_secs(o))
        );
    }
    // A polyline through the measured values, in time order.
    let mut sorted: Vec<&ChartPoint> = points.iter().collect();
    sorted.sort_by_key(|p| p.at);
    let line: Vec<String> = sorted
        .iter()
        .filter_map(|p| p.value.map(|v| format!("{:.1},{:.1}", x(p.at), y(v))))
        .collect();
    if line.len() > 1 {
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#8c959f\" stroke-width=\"1\"/>",
            line.join(" ")
        );
    }
    for p in sorted {
        let tip = escape(&p.label);
        match p.value {
            Some(v) => {
                let colour = match p.met {
                    Some(false) => "#c62828",
                    _ => "#1a7f37",
                };
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{colour}\"><title>{tip}</title></circle>",
                    x(p.at),
                    y(v)
                );
            }
            None => {
                let (cx, cy) = (x(p.at), H - B);
                let _ = write!(
                    s,
                    "<path d=\"M{:.1} {:.1}l8 8m0 -8l-8 8\" stroke=\"#c62828\" stroke-width=\"2\"><title>{tip}</title></path>",
                    cx - 4.0,
                    cy - 4.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// A short duration for an axis: `45s`, `17.5m`, `2.6h`, `3.1d`.
fn axis_label(v: f64) -> String {
    let (n, unit) = if v >= 86_400.0 {
        (v / 86_400.0, "d")
    } else if v >= 3600.0 {
        (v / 3600.0, "h")
    } else if v >= 60.0 {
        (v / 60.0, "m")
    } else {
        (v, "s")
    };
    let text = format!("{n:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert('x' & "y")</script>"#),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_shows_control_and_bidi_characters() {
        assert_eq!(
            escape("a\u{1b}[2J\u{202e}<b>\nz"),
            "a\\e[2J\\u{202e}&lt;b&gt;\\nz"
        );
    }

    #[test]
    fn the_confidence_bound_is_one_minus_0_05_to_the_one_over_n() {
        assert_eq!(confidence_bound(0), None);
        assert!((confidence_bound(1).unwrap() - 0.95).abs() < 1e-12);
        // Rule of three: about 3/n for large n.
        let b = confidence_bound(3000).unwrap();
        assert!((b - 0.000998).abs() < 0.00001, "{b}");
        // 20 files: 1 − 0.05^(1/20) = 0.13911...
        assert!((confidence_bound(20).unwrap() - 0.139108).abs() < 1e-5);
    }

    #[test]
    fn percentages_round_up_never_down() {
        assert_eq!(percent_up(0.139108), "14.0%");
        assert_eq!(percent_up(0.95), "95.0%");
        assert_eq!(percent_up(0.0299), "2.99%");
        assert_eq!(percent_up(0.029_901), "3.00%");
        assert_eq!(percent_up(0.000998), "0.0998%");
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(axis_label(0.0), "0s");
        assert_eq!(axis_label(45.25), "45.2s");
        assert_eq!(axis_label(1035.0), "17.2m");
        assert_eq!(axis_label(7200.0), "2h");
        assert_eq!(axis_label(223_200.0), "2.6d");
    }
}
