//! `report.md`: the evidence of one run, for a person. Verdict first, then the objectives,
//! then every point tried and every failed file with its reason, then how to reproduce it.
//!
//! Point ids, file names and the reasons that quote them come from the backup, and a record
//! folder's name from whoever can write the evidence folder: in a Markdown viewer such text
//! could become a remote image, a link, emphasis, a heading, raw HTML or a broken table. So
//! every value lifeboat did not write itself goes through [`code`] / [`code_cell`] (always an
//! inline code span, inside which Markdown reads nothing) or [`text`] / [`cell`] (plain words
//! as they are, anything else as a code span). Control and bidi characters are shown escaped
//! (`lifeboat_core::text`). The period report (`period.rs`) uses the same four functions.

use std::fmt::Write;

use lifeboat_core::evidence::{Evidence, Outcome};

/// Renders the Markdown summary of one run.
pub fn render(ev: &Evidence) -> String {
    let mut s = String::new();
    let verdict = match ev.outcome {
        Outcome::Passed => "PASSED",
        Outcome::Failed => "FAILED",
        Outcome::Error => "COULD NOT COMPLETE",
    };
    let _ = writeln!(s, "# Drill {}: {verdict}\n", text(&ev.runbook.name));
    if let Some(r) = &ev.reason {
        let _ = writeln!(s, "**Reason:** {}\n", text(r));
    }
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| Run | {} |", code_cell(&ev.run_id));
    let _ = writeln!(s, "| T0 (incident time) | {} |", ev.t0);
    let _ = writeln!(
        s,
        "| Started / finished | {} / {} |",
        ev.started_at, ev.finished_at
    );
    let _ = writeln!(s, "| Source | {} |", code_cell(&ev.source.url));
    if let Some(listing) = &ev.source.listing {
        let _ = writeln!(s, "| Seen in the source | {} |", cell(listing));
    }
    if let Some(at) = ev.stopped_after_checks {
        let _ = writeln!(
            s,
            "| Stop requested | {at}, after the last check: the verdict stands |"
        );
    }
    let _ = writeln!(
        s,
        "| Mode | {}{}{} |",
        format!("{:?}", ev.mode).to_lowercase(),
        if ev.verify_only {
            ", verify only (nothing written to scratch)"
        } else {
            ""
        },
        if ev.unflushed() {
            format!(", {}", lifeboat_core::evidence::UNFLUSHED_NOTE)
        } else {
            String::new()
        }
    );
    if let Some(op) = &ev.operator {
        let _ = writeln!(s, "| Operator | {} |", cell(op));
    }
    let _ = writeln!(
        s,
        "| Runbook | {} (sha256 {}) |",
        code_cell(&ev.runbook.path),
        code_cell(&ev.runbook.sha256)
    );
    s.push('\n');

    let _ = writeln!(s, "## Objectives\n");
    let _ = writeln!(s, "| | Objective | Measured | Met |\n|---|---|---|---|");
    let _ = writeln!(
        s,
        "| RTO | {} | {} | {} |",
        secs_opt(ev.objectives.rto_seconds.map(|x| x as f64)),
        secs_opt(ev.measured.rto_seconds),
        met(ev.measured.rto_met)
    );
    let _ = writeln!(
        s,
        "| RPO | {} | {} | {} |",
        secs_opt(ev.objectives.rpo_seconds.map(|x| x as f64)),
        secs_opt(ev.measured.rpo_seconds),
        met(ev.measured.rpo_met)
    );
    match &ev.measured.recovery_point {
        Some(p) => {
            let _ = writeln!(s, "\nMeasured from recovery point {}.", code(p));
        }
        None => {
            let _ = writeln!(s, "\nNo recovery point passed, so nothing was measured.");
        }
    }
    if let Some(p) = &ev.projected {
        let _ = writeln!(s, "\n## Projected full restore (not measured)\n");
        let _ = writeln!(
            s,
            "Restoring all {} entries of recovery point {} ({} stored) would take about **{}** at \
             the rate measured on the sample ({} in {}, {}/s). Basis of the total size: {}. \
             A projection, not a measurement: it is not compared with the RTO objective.",
            p.entries,
            code(&p.recovery_point),
            human_bytes(p.total_bytes),
            human_secs(p.rto_seconds),
            human_bytes(p.sample.bytes),
            human_secs(p.sample.duration_seconds),
            human_bytes((p.sample.bytes as f64 / p.sample.duration_seconds) as u64),
            p.basis.describe()
        );
    }

    let _ = writeln!(s, "\n## Recovery points tried (newest first)\n");
    if ev.recovery_points.is_empty() {
        let _ = writeln!(s, "None.");
    }
    for p in &ev.recovery_points {
        let passed = p.files_passed();
        let bytes = p.bytes();
        let _ = writeln!(
            s,
            "### {} ({}): {}\n",
            code(&p.id),
            p.time,
            p.outcome.as_str().to_uppercase()
        );
        if let Some(r) = &p.reason {
            let _ = writeln!(s, "**Reason:** {}\n", text(r));
        }
        let _ = writeln!(
            s,
            "{} of {} sampled files verified ({}), manifest {} ({} entries, {}).\n",
            passed,
            p.files.len(),
            human_bytes(bytes),
            code(&p.manifest.path),
            p.manifest
                .entries
                .map_or_else(|| "unreadable".to_string(), |n| n.to_string()),
            p.manifest.algorithm
        );
        let failed: Vec<_> = p
            .files
            .iter()
            .filter(|f| f.outcome != Outcome::Passed)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(
                s,
                "| Failed file | Reason | Expected | Actual |\n|---|---|---|---|"
            );
            for f in failed {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    code_cell(&f.path),
                    cell(f.reason.as_deref().unwrap_or("")),
                    code_cell(&short(&f.expected)),
                    f.actual
                        .as_deref()
                        .map_or("—".to_string(), |a| code_cell(&short(a)))
                );
            }
            s.push('\n');
        }
        steps_table(&mut s, &p.steps);
    }

    if !ev.finally.is_empty() {
        let _ = writeln!(s, "## Finally\n");
        steps_table(&mut s, &ev.finally);
    }
    if !ev.notifications.is_empty() {
        let _ = writeln!(
            s,
            "## Notifications\n\n| Entry | Webhook | Sent | Attempts | Status | Reason |\n|---|---|---|---|---|---|"
        );
        for n in &ev.notifications {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                // `notify[N]`: lifeboat's own key. A `[1]` mid-line is no link without a
                // definition, and no value can start the line one would need.
                n.entry,
                code_cell(&n.webhook),
                if n.sent { "yes" } else { "no" },
                n.attempts,
                n.status.map_or("—".to_string(), |c| c.to_string()),
                cell(n.reason.as_deref().unwrap_or(""))
            );
        }
        s.push('\n');
    }

    let _ = writeln!(s, "## Reproduce\n");
    let _ = writeln!(
        s,
        "The sample is seeded: the same manifest and seed select the same files.\n\n```\nlifeboat drill {} --seed {} --now {}\n```",
        // Inside a fenced block nothing is Markdown; escaped, the path cannot hold the line
        // feed that could close the fence.
        lifeboat_core::text::escape(&ev.runbook.path),
        ev.sample.seed,
        ev.t0
    );
    let _ = writeln!(
        s,
        "\nScratch area: {} ({}).",
        code(&ev.scratch.path),
        if ev.scratch.kept { "kept" } else { "removed" }
    );
    s
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "**NO**",
        None => "no objective",
    }
}

fn secs_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), human_secs)
}

/// `0.04s`, `12.5s`, `1h 30m 0s`, `1d 2h 0m 0s`.
pub fn human_secs(v: f64) -> String {
    if v < 10.0 {
        // Sub-second restores are common on small samples: keep them distinguishable from 0.
        return format!("{v:.2}s");
    }
    if v < 60.0 {
        return format!("{v:.1}s");
    }
    let t = v.round() as u64;
    let (d, h, m, s) = (t / 86_400, t % 86_400 / 3600, t % 3600 / 60, t % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m {s}s")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else {
        format!("{m}m {s}s")
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Steps in order: kind, name, outcome, duration, reason and the details that say most.
fn steps_table(s: &mut String, steps: &[lifeboat_core::evidence::StepResult]) {
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "| Step | Name | Outcome | Took | Reason | Details |\n|---|---|---|---|---|---|"
    );
    for st in steps {
        let took = (st.finished_at - st.started_at)
            .total(jiff::Unit::Second)
            .map_or("—".to_string(), human_secs);
        let details = st
            .detail
            .iter()
            .flatten()
            .filter(|(k, _)| {
                [
                    "command",
                    "exit_code",
                    "url",
                    "status",
                    "attempts",
                    "operator",
                    "answer",
                    "note",
                ]
                .contains(&k.as_str())
            })
            .map(|(k, v)| format!("{k}: {}", cell(v)))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            s,
            "| {} | {} | {} | {took} | {} | {details} |",
            cell(&st.kind),
            cell(st.name.as_deref().unwrap_or("")),
            st.outcome.as_str(),
            cell(st.reason.as_deref().unwrap_or(""))
        );
    }
    s.push('\n');
}

fn short(hex: &str) -> String {
    if hex.len() > 16 {
        format!("{}…", &hex[..16])
    } else {
        hex.to_string()
    }
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
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_secs(0.041), "0.04s");
        assert_eq!(human_secs(12.46), "12.5s");
        assert_eq!(human_secs(5400.0), "1h 30m 0s");
        assert_eq!(human_secs(93_600.0), "1d 2h 0m 0s");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }

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
