//! The drill's verdict on the terminal (`lifeboat drill`'s summary on stdout).

use lifeboat_core::evidence::{Evidence, Outcome};
use lifeboat_core::text::Escaped;

use crate::markdown::{human_bytes, human_secs};

/// Failed files listed per point on the terminal; the evidence lists them all.
const MAX_FAILED_SHOWN: usize = 10;

/// The verdict a person takes in at a glance: outcome, RTO and RPO against objectives, the
/// points tried, and every failed file with its reason.
///
/// Colour codes are the only escape sequences in it: every text from the evidence (point ids,
/// file names, reasons, which quote names from the backup) is shown through [`Escaped`], so a
/// name cannot add a line, clear the screen or reorder what the operator reads.
pub fn summary(ev: &Evidence, color: bool) -> String {
    use std::fmt::Write;
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let verdict = match ev.outcome {
        Outcome::Passed => paint("1;32", "PASSED"),
        Outcome::Failed => paint("1;31", "FAILED"),
        Outcome::Error => paint("1;33", "ERROR"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{verdict}  {}  (run {})",
        Escaped(&ev.runbook.name),
        Escaped(&ev.run_id)
    );
    if let Some(r) = &ev.reason {
        let _ = writeln!(s, "  {}", Escaped(r));
    }
    let objective_line =
        |label: &str, objective: Option<u64>, measured: Option<f64>, met: Option<bool>| {
            let measured = measured.map_or("—".to_string(), human_secs);
            let objective = objective.map_or("none".to_string(), |o| human_secs(o as f64));
            let met = match met {
                Some(true) => paint("32", "met"),
                Some(false) => paint("31", "MISSED"),
                None => String::new(),
            };
            format!("  {label}  {measured:<14} objective {objective:<14} {met}")
        };
    let _ = writeln!(
        s,
        "{}",
        objective_line(
            "RTO",
            ev.objectives.rto_seconds,
            ev.measured.rto_seconds,
            ev.measured.rto_met
        )
    );
    let _ = writeln!(
        s,
        "{}",
        objective_line(
            "RPO",
            ev.objectives.rpo_seconds,
            ev.measured.rpo_seconds,
            ev.measured.rpo_met
        )
    );
    if let Some(p) = &ev.projected {
        let _ = writeln!(
            s,
            "  projected full restore {} for {} stored ({} entries of {}; {}), not measured",
            human_secs(p.rto_seconds),
            human_bytes(p.total_bytes),
            p.entries,
            Escaped(&p.recovery_point),
            match p.basis {
                lifeboat_core::evidence::ProjectionBasis::Extrapolated => "size estimated",
                _ => "size exact",
            }
        );
    }
    for p in &ev.recovery_points {
        let ok = p.files_passed();
        let bytes = p.bytes();
        let mark = if p.outcome == Outcome::Passed {
            paint("32", "passed")
        } else {
            paint("31", "failed")
        };
        let _ = writeln!(
            s,
            "  point {}  {mark}  {ok}/{} files verified, {}{}",
            Escaped(&p.id),
            p.files.len(),
            human_bytes(bytes),
            p.reason
                .as_ref()
                .map(|r| format!("  ({})", Escaped(r)))
                .unwrap_or_default()
        );
        let failed: Vec<_> = p
            .files
            .iter()
            .filter(|f| f.outcome != Outcome::Passed)
            .collect();
        for f in failed.iter().take(MAX_FAILED_SHOWN) {
            let _ = writeln!(
                s,
                "    {}  {}",
                Escaped(&f.path),
                Escaped(f.reason.as_deref().unwrap_or(""))
            );
        }
        if failed.len() > MAX_FAILED_SHOWN {
            let _ = writeln!(
                s,
                "    ... and {} more failed files (all are in report.html, report.md and evidence.json)",
                failed.len() - MAX_FAILED_SHOWN
            );
        }
    }
    for (i, st) in ev.finally.iter().enumerate() {
        if st.outcome != Outcome::Passed {
            let _ = writeln!(
                s,
                "  finally[{i}] {}  {}  ({})",
                Escaped(st.name.as_deref().unwrap_or(&st.kind)),
                paint("31", "failed"),
                Escaped(st.reason.as_deref().unwrap_or(""))
            );
        }
    }
    for n in ev.notifications.iter().filter(|n| !n.sent) {
        let _ = writeln!(
            s,
            "  {} not sent: {} (the verdict stands)",
            Escaped(&n.entry),
            Escaped(n.reason.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(
        s,
        "  sample seed {} (re-run with --seed {} --now {} to verify the same files)",
        ev.sample.seed, ev.sample.seed, ev.t0
    );
    s
}
