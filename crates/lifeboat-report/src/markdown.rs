//! `report.md` and the `.md` period report, written from the views ([`RunView`],
//! [`PeriodView`]).
//!
//! Point ids, file names and the reasons that quote them come from the backup, and a record
//! folder's name from whoever can write the evidence folder: in a Markdown viewer such text
//! could become a remote image, a link, emphasis, a heading, raw HTML or a broken table. So
//! every value lifeboat did not write itself goes through [`code`] / [`code_cell`] (always an
//! inline code span, inside which Markdown reads nothing) or [`text`] / [`cell`] (plain words
//! as they are, anything else as a code span); a [`Sentence`] sends its outside parts through
//! them ([`sentence`]). Control and bidi characters are shown escaped (`lifeboat_core::text`).
//! This is the one place Markdown is escaped.

use std::fmt::Write;

use lifeboat_core::evidence::Evidence;

use crate::period::PeriodView;
use crate::run::{RunView, StepView};
use crate::words::{Met, Part, Sentence, Tone};

/// Renders `report.md` for one run.
pub fn render(ev: &Evidence) -> String {
    run(&RunView::new(ev, None))
}

/// `report.md` from its view: verdict first, then the objectives, every point tried with its
/// statement and every failed file, steps, how to reproduce it, and the record's facts.
pub fn run(v: &RunView) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Drill {}: {}\n", text(&v.runbook), v.verdict);
    let _ = writeln!(s, "{}\n", sentence(&v.headline, false));
    if let Some(r) = &v.reason {
        let _ = writeln!(s, "**Reason:** {}\n", text(r));
    }

    let _ = writeln!(s, "## Recovery objectives\n");
    let _ = writeln!(
        s,
        "| | What it means | Objective | Measured | Result |\n|---|---|---|---|---|"
    );
    for o in &v.objectives {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            o.label,
            o.meaning,
            o.objective,
            o.measured,
            met(o.met)
        );
    }
    let _ = writeln!(s, "\n{}", sentence(&v.measurement, false));
    if let Some(p) = &v.projection {
        let _ = writeln!(s, "\n## Projected full restore (not measured)\n");
        let _ = writeln!(s, "{}", sentence(&p.sentence, false));
    }
    if let Some(c) = &v.coverage {
        let _ = writeln!(s, "\n{}", sentence(c, false));
    }

    let _ = writeln!(s, "\n## Recovery points tried (newest first)\n");
    if v.points.is_empty() {
        let _ = writeln!(
            s,
            "None: no recovery point was found or none could be read.\n"
        );
    }
    for p in &v.points {
        let _ = writeln!(s, "### {} ({}): {}\n", code(&p.id), p.time, p.outcome);
        if let Some(r) = &p.reason {
            let _ = writeln!(s, "**Reason:** {}\n", text(r));
        }
        let bold = if p.damaged { "**" } else { "" };
        let _ = writeln!(s, "{bold}{}{bold}\n", p.statement);
        let _ = writeln!(s, "{}. {}\n", p.verified, sentence(&p.manifest, false));
        if !p.failures.is_empty() {
            let _ = writeln!(
                s,
                "| Failed file | Reason | Expected | Actual |\n|---|---|---|---|"
            );
            for f in &p.failures {
                let actual = match &f.actual {
                    crate::run::Actual::Differs(a) => code_cell(&short(a)),
                    crate::run::Actual::Same => "(same)".into(),
                    crate::run::Actual::NotComputed => "not computed".into(),
                };
                let always = if f.always { " (sample.always)" } else { "" };
                let _ = writeln!(
                    s,
                    "| {}{always} | {} | {} | {actual} |",
                    code_cell(&f.path),
                    cell(f.reason.as_deref().unwrap_or("")),
                    code_cell(&short(&f.expected)),
                );
            }
            s.push('\n');
        }
        steps_table(&mut s, &p.steps);
    }

    if !v.finally.is_empty() {
        let _ = writeln!(s, "## Finally\n");
        steps_table(&mut s, &v.finally);
    }
    if !v.notifications.is_empty() {
        let _ = writeln!(
            s,
            "## Notifications\n\nWebhooks told of the verdict after it was reached; one that \
             could not be sent does not change it.\n\n| Entry | Webhook | Result | Attempts | \
             Status | Reason |\n|---|---|---|---|---|---|"
        );
        for n in &v.notifications {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                // `notify[N]`: lifeboat's own key. A `[1]` mid-line is no link without a
                // definition, and no value can start the line one would need.
                n.entry,
                code_cell(&n.webhook),
                n.result,
                n.attempts,
                n.status,
                cell(n.reason.as_deref().unwrap_or(""))
            );
        }
        s.push('\n');
    }

    let _ = writeln!(s, "## Reproduce\n");
    let _ = writeln!(
        s,
        "{}\n\n```\n{}\n```\n",
        sentence(&v.reproduce, false),
        // Inside a fenced block nothing is Markdown; escaped, the path cannot hold the line
        // feed that could close the fence.
        lifeboat_core::text::escape(&v.command),
    );
    let _ = writeln!(s, "## About this record\n\n| | |\n|---|---|");
    for (label, value) in &v.about {
        let _ = writeln!(s, "| {label} | {} |", sentence(value, true));
    }
    if let Some(sha) = &v.record_sha256 {
        let _ = writeln!(s, "| evidence.json SHA-256 | {} |", code_cell(sha));
    }
    s
}

/// Whether an objective was met, bold when it was not.
fn met(m: Met) -> String {
    match m.tone() {
        Tone::Bad => format!("**{}**", m.word()),
        _ => m.word().into(),
    }
}

/// Steps in order: kind, name, outcome, duration, reason and the details that say most.
fn steps_table(s: &mut String, steps: &[StepView]) {
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "| Step | Name | Outcome | Took | Reason | Details |\n|---|---|---|---|---|---|"
    );
    for st in steps {
        let details = st
            .key_details()
            .map(|(k, v)| format!("{k}: {}", cell(v)))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {details} |",
            cell(&st.kind),
            cell(st.name.as_deref().unwrap_or("")),
            st.outcome,
            st.took,
            cell(st.reason.as_deref().unwrap_or(""))
        );
    }
    s.push('\n');
}

fn short(hex: &str) -> String {
    match hex.char_indices().nth(16) {
        Some((at, _)) => format!("{}…", &hex[..at]),
        None => hex.to_string(),
    }
}

/// The `.md` period report: the same content as the HTML one, with tables for charts.
pub fn period(v: &PeriodView) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", v.heading);
    let _ = writeln!(s, "{}\n", sentence(&v.about, false));
    let _ = writeln!(s, "**{}**\n", v.totals);
    let _ = writeln!(
        s,
        "## Evidence chain: {}\n\n{}\n",
        v.chain,
        text(&v.chain_detail)
    );
    for f in &v.findings {
        let _ = writeln!(s, "- {}", text(f));
    }
    if !v.findings.is_empty() {
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "## Summary\n\n| Runbook | Drills | Passed | Pass rate | RTO met | RPO met | Scheduled \
         drills ran | Missed slots | Runbook file | Coverage |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for rb in &v.runbooks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&rb.name),
            rb.drills,
            rb.passed,
            rb.pass_rate,
            rb.rto_met.text,
            rb.rpo_met.text,
            rb.scheduled,
            rb.missed,
            rb.runbook_file,
            rb.coverage_cell
        );
    }
    for rb in &v.runbooks {
        let _ = writeln!(s, "\n## Runbook {}\n", text(&rb.name));
        let _ = writeln!(s, "{}\n", rb.summary);
        let bold = if rb.schedule_tone == Tone::Bad {
            "**"
        } else {
            ""
        };
        let _ = writeln!(s, "{bold}{}{bold}\n", rb.schedule);
        if let Some(t) = &rb.runbook_text {
            let _ = writeln!(s, "{}\n", sentence(t, false));
            for c in &rb.runbook_changes {
                let _ = writeln!(s, "- {}", sentence(c, false));
            }
            if !rb.runbook_changes.is_empty() {
                s.push('\n');
            }
        }
        if rb.rows.is_empty() {
            let _ = writeln!(s, "**No drill of this runbook ran in the period.**");
        } else {
            let _ = writeln!(
                s,
                "| Started (UTC) | Run | Mode | Operator | Result | RTO | RPO | Recovery point | \
                 Files verified | Point coverage | Stored coverage | Chain |\n\
                 |---|---|---|---|---|---|---|---|---|---|---|---|"
            );
            for d in &rb.rows {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {}{} | {}{} | {} | {} | {} | {} | {} |",
                    d.started,
                    link(cell(&d.run_id), d.href.as_deref()),
                    d.mode,
                    d.operator.as_deref().map_or("—".to_string(), cell),
                    d.verdict,
                    d.rto,
                    met_after(d.rto_met),
                    d.rpo,
                    met_after(d.rpo_met),
                    d.point.as_deref().map_or("—".to_string(), cell),
                    d.files,
                    d.coverage,
                    d.stored_coverage,
                    if d.chain_ok { "ok" } else { "**problem**" }
                );
            }
        }
        if !rb.failures.is_empty() {
            let _ = writeln!(s, "\n### Failures ({})\n", rb.failures.len());
            for f in &rb.failures {
                let _ = writeln!(
                    s,
                    "- {} {} {}: {}",
                    f.started,
                    f.verdict,
                    link(code(&f.run_id), f.href.as_deref()),
                    text(&f.reason)
                );
                for d in &f.details {
                    let _ = writeln!(s, "  - {}", text(d));
                }
            }
        }
        if let Some(c) = &rb.stored_coverage {
            // The chart's data is the drill table's "Stored coverage" column.
            let _ = writeln!(
                s,
                "\n### Coverage of the stored objects\n\n{}",
                sentence(&c.summary, false)
            );
            if !c.failed.is_empty() {
                let _ = writeln!(
                    s,
                    "\n#### Objects that failed coverage ({})\n\n| Started (UTC) | Run | \
                     Recovery point | Object | Reason |\n|---|---|---|---|---|",
                    c.failed.len()
                );
                for f in &c.failed {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {} | {} |",
                        f.started,
                        link(code_cell(&f.run_id), f.href.as_deref()),
                        code_cell(&f.point),
                        code_cell(&f.path),
                        cell(&f.reason)
                    );
                }
            }
            if let Some(more) = &c.failed_more {
                let _ = writeln!(s, "\n**{more}**");
            }
        }
        // Whether any was missed is said above, of slots the history store holds only.
        if v.gaps_checked && !rb.gaps.is_empty() {
            let _ = writeln!(
                s,
                "\n### Scheduled drills that did not run ({})\n",
                rb.gaps.len()
            );
            for g in &rb.gaps {
                let _ = writeln!(
                    s,
                    "- {} {}{}",
                    g.slot,
                    text(&g.state),
                    g.reason
                        .as_deref()
                        .map(|x| format!(": {}", text(x)))
                        .unwrap_or_default()
                );
            }
        }
    }
    if !v.unreadable.is_empty() {
        let _ = writeln!(s, "\n## Unreadable records\n");
        for (record, error) in &v.unreadable {
            let _ = writeln!(s, "- {}: {}", code(record), text(error));
        }
    }
    let _ = writeln!(
        s,
        "\n## Controls\n\nHow this evidence relates to the controls auditors cite. It supports \
         them; it does not by itself show that a control is met.\n"
    );
    for c in v.controls {
        let _ = writeln!(
            s,
            "- **{} — {}.** {} *Not shown:* {}",
            c.id, c.title, c.offers, c.limits
        );
    }
    let _ = writeln!(
        s,
        "\n## Inputs\n\nThe {} files this report was built from, with their SHA-256; each \
         evidence.json is also the record chained in the ledger.\n\n| File | SHA-256 |\n|---|---|",
        v.inputs.len()
    );
    for (path, sha) in &v.inputs {
        let _ = writeln!(s, "| {} | {} |", code_cell(path), code_cell(sha));
    }
    s
}

/// `shown` (already Markdown: plain words or a code span) as a link to `href`, a relative
/// path lifeboat percent-encoded (`crate::period::encode_path`), which no name can end or
/// turn into another destination; as it is without one.
fn link(shown: String, href: Option<&str>) -> String {
    match href {
        Some(h) => format!("[{shown}]({h})"),
        None => shown,
    }
}

/// ` (met)` after a measured value, ` (**NOT met**)`, or nothing without an objective.
fn met_after(m: Met) -> String {
    match m {
        Met::NoObjective => String::new(),
        m => format!(" ({})", met(m)),
    }
}

/// A [`Sentence`] in Markdown: lifeboat's words as they are, names as code spans, outside
/// prose through [`text`]; `in_cell` for a table cell.
pub fn sentence(s: &Sentence, in_cell: bool) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            Part::Words(w) => w.clone(),
            Part::Name(n) if in_cell => code_cell(n),
            Part::Name(n) => code(n),
            Part::Text(t) | Part::Mark { text: t, .. } if in_cell => cell(t),
            Part::Text(t) | Part::Mark { text: t, .. } => text(t),
        })
        .collect()
}

/// `s` as an inline code span: inside one, Markdown reads no link, image, emphasis, HTML or
/// entity, so the text shows exactly as it is (control and bidi characters escaped, see
/// `lifeboat_core::text`). The fence is one backtick longer than the longest run of backticks
/// in `s`, and padded with a space where `s` starts or ends with a backtick or a space
/// (CommonMark strips one space from each end of a padded span). Empty for an empty `s`.
pub fn code(s: &str) -> String {
    code_span(s, false)
}

/// [`code`] for a table cell: GFM splits a row at every `|` not escaped as `\|`, even inside
/// a code span, and shows `\|` there as `|`.
pub fn code_cell(s: &str) -> String {
    code_span(s, true)
}

/// Text from outside lifeboat in running prose: as it is when it holds only words, spaces
/// and punctuation that mean nothing in Markdown, which is what reasons and names nearly
/// always are; otherwise as a [`code`] span. Plain means: it starts with a letter or digit,
/// holds only letters, digits, spaces and `-.,:;/()'"=+%?`, and no `://`, `www.` or `@`.
pub fn text(s: &str) -> String {
    if is_plain(s) { s.to_string() } else { code(s) }
}

/// [`text`] for a table cell.
pub fn cell(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else {
        code_cell(s)
    }
}

/// Whether `s` means nothing to a Markdown renderer (CommonMark and GFM, with its
/// autolinks): it starts with a letter or digit (so no list marker or block quote, where it
/// starts a line), holds only letters, digits, spaces and `-.,:;/()'"=+%?`, and no `://`,
/// `www.` or `@`, from which GFM makes links.
fn is_plain(s: &str) -> bool {
    s.starts_with(char::is_alphanumeric)
        && s.chars()
            .all(|c| c.is_alphanumeric() || " -.,:;/()'\"=+%?".contains(c))
        && !s.contains("://")
        && !s.contains('@')
        && !s.to_lowercase().contains("www.")
}

fn code_span(s: &str, in_table: bool) -> String {
    let shown = lifeboat_core::text::escape(s);
    if shown.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if shown.chars().all(|c| c == ' ') {
        ""
    } else if shown.starts_with(['`', ' ']) || shown.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    let body = if in_table {
        shown.replace('|', "\\|")
    } else {
        shown.into_owned()
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<script>"), "`a\\|b\\nc<script>`");
        assert_eq!(code("x`y\nz"), "``x`y\\nz``");
    }

    #[test]
    fn plain_words_stay_as_they_are() {
        for s in [
            "hash mismatch",
            "exit code 1, expected 0",
            "DNS TTL was 60s",
            "alice",
        ] {
            assert_eq!(text(s), s);
        }
    }

    #[test]
    fn anything_markdown_could_read_becomes_a_code_span() {
        for (raw, md) in [
            ("![x](http://e/x.png)", "`![x](http://e/x.png)`"),
            ("see http://e.example", "`see http://e.example`"),
            ("www.e.example", "`www.e.example`"),
            ("mail a@b.example", "`mail a@b.example`"),
            ("*bold* _em_", "`*bold* _em_`"),
            ("<img src=x>", "`<img src=x>`"),
            ("# heading", "`# heading`"),
            ("- item", "`- item`"),
            ("1 &amp; 2", "`1 &amp; 2`"),
            ("esc\u{1b}[2J\u{202e}", "`esc\\e[2J\\u{202e}`"),
        ] {
            assert_eq!(text(raw), md, "{raw:?}");
        }
    }

    #[test]
    fn code_spans_keep_backticks_and_spaces_exact() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code(" x "), "`  x  `");
        assert_eq!(code("   "), "`   `");
        assert_eq!(code(""), "");
        assert_eq!(code_cell("a|b"), "`a\\|b`");
        assert_eq!(code("a|b"), "`a|b`");
    }
}
