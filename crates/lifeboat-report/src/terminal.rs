//! The terminal's share of the reports: the drill's verdict (`lifeboat drill`'s summary on
//! stdout) and `lifeboat report`'s one line, in the same words as the pages.
//!
//! Colour codes are the only escape sequences in them: every text from outside lifeboat
//! (point ids, file names, reasons, which quote names from the backup) is shown through
//! [`Escaped`], so a name cannot add a line, clear the screen or reorder what the operator
//! reads. This is the one place the terminal's text is escaped.

use std::fmt::Write;

use lifeboat_core::evidence::Evidence;
use lifeboat_core::text::Escaped;

use crate::period::PeriodView;
use crate::run::RunView;
use crate::words::{Met, Part, Sentence, Tone, count};

/// Failed files listed per point on the terminal; the evidence lists them all.
const MAX_FAILED_SHOWN: usize = 10;

/// The verdict a person takes in at a glance: outcome, RTO and RPO against objectives, the
/// points tried with what their samples say, every failed file with its reason, and the
/// scratch folder kept, if one was.
pub fn summary(ev: &Evidence, color: bool) -> String {
    run(&RunView::new(ev, None), color)
}

/// [`summary`] from the drill's view.
pub fn run(v: &RunView, color: bool) -> String {
    let paint = |tone: Tone, bold: bool, s: &str| {
        let code = match tone {
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Warn => "33",
            Tone::Quiet => return s.to_string(),
        };
        if color {
            format!("\x1b[{}{code}m{s}\x1b[0m", if bold { "1;" } else { "" })
        } else {
            s.to_string()
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  {}  (run {})",
        paint(v.tone, true, v.verdict),
        Escaped(&v.runbook),
        Escaped(&v.run_id)
    );
    if let Some(r) = &v.reason {
        let _ = writeln!(s, "  {}", Escaped(r));
    }
    for o in &v.objectives {
        // Without an objective the column stays empty: `objective none` says it already.
        let met = match o.met {
            Met::NoObjective => String::new(),
            m => paint(m.tone(), false, m.word()),
        };
        let _ = writeln!(
            s,
            "  {}  {:<14} objective {:<14} {met}",
            o.label, o.measured, o.objective
        );
    }
    if let Some(p) = &v.projection {
        let _ = writeln!(s, "  {}", sentence(&p.short));
    }
    if let Some(c) = &v.coverage {
        let _ = writeln!(s, "  {}", sentence(c));
    }
    for p in &v.points {
        let _ = writeln!(
            s,
            "  point {}  {}  {}{}",
            Escaped(&p.id),
            paint(p.tone, false, p.outcome),
            p.verified,
            p.reason
                .as_ref()
                .map(|r| format!("  ({})", Escaped(r)))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "    {}", p.statement);
        for f in p.failures.iter().take(MAX_FAILED_SHOWN) {
            let _ = writeln!(
                s,
                "    {}  {}",
                Escaped(&f.path),
                Escaped(f.reason.as_deref().unwrap_or(""))
            );
        }
        if p.failures.len() > MAX_FAILED_SHOWN {
            let _ = writeln!(
                s,
                "    ... and {} more failed files (all are in report.html, report.md and \
                 evidence.json)",
                p.failures.len() - MAX_FAILED_SHOWN
            );
        }
    }
    if let Some(path) = &v.kept_scratch {
        let _ = writeln!(s, "  scratch folder kept: {}", Escaped(path));
    }
    for (i, st) in v.finally.iter().enumerate() {
        if st.tone != Tone::Good {
            let _ = writeln!(
                s,
                "  finally[{i}] {}  {}  ({})",
                Escaped(st.name.as_deref().unwrap_or(&st.kind)),
                paint(st.tone, false, st.outcome),
                Escaped(st.reason.as_deref().unwrap_or(""))
            );
        }
    }
    for n in v.notifications.iter().filter(|n| !n.sent) {
        let _ = writeln!(
            s,
            "  {} {}: {} (the verdict stands)",
            Escaped(&n.entry),
            n.result,
            Escaped(n.reason.as_deref().unwrap_or(""))
        );
    }
    // The whole line to paste: the runbook's absolute path and T0 exactly as recorded.
    let _ = writeln!(
        s,
        "  sample seed {}; to verify the same files again: {}",
        v.seed,
        Escaped(&v.command)
    );
    s
}

/// `lifeboat report`'s line: drills by verdict, the schedule against the drills that ran
/// (missed slots), the chain.
pub fn period(v: &PeriodView) -> String {
    format!(
        "{} ({} passed, {} failed, {} could not complete), {}, chain {}",
        count(v.totals_drills as u64, "drill", "drills"),
        v.totals_passed,
        v.totals_failed,
        v.totals_error,
        v.gaps_short,
        v.chain
    )
}

/// A [`Sentence`] on the terminal: outside parts escaped.
fn sentence(s: &Sentence) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            Part::Words(w) => w.clone(),
            Part::Name(t) | Part::Text(t) | Part::Mark { text: t, .. } => Escaped(t).to_string(),
        })
        .collect()
}
