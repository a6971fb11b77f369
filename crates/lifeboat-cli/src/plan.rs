//! `lifeboat plan RUNBOOK [--now T0] [--seed N]`: what a drill would do, without doing it.
//!
//! Everything shown comes from [`lifeboat_runner::preview`], which walks the drill's own path
//! up to the plan; every name from the backup is printed escaped (SECURITY.md, class 7), and
//! every reason clipped as the evidence clips it (class 8).

use std::fmt::Write as _;

use lifeboat_app::RunbookFile;
use lifeboat_core::evidence::MAX_REASON_CHARS;
use lifeboat_core::runbook::Runbook;
use lifeboat_core::text::{Escaped, clip};
use lifeboat_runner::format::Window;
use lifeboat_runner::preview::{Preview, SeedFrom, WouldDo};

use crate::cli::PlanArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

pub fn plan(args: PlanArgs) -> Result<Exit, CliError> {
    let loaded =
        RunbookFile::load(&args.runbook).map_err(|e| CliError::in_file(Exit::InvalidInput, e))?;
    let runtime = crate::async_runtime()?;
    let preview = runtime.block_on(lifeboat_runner::preview::preview(
        &loaded.runbook,
        args.now,
        args.seed,
    ));
    // A read a hung mount holds would make dropping the runtime wait for it.
    runtime.shutdown_background();
    let preview = preview.map_err(|e| {
        CliError::could_not_complete(format_args!(
            "the source cannot be read: {}; a drill would end the same way (exit 3)",
            Escaped(&e.to_string())
        ))
    })?;
    crate::write_stdout(format_args!("{}", render(&loaded, &preview)));
    Ok(Exit::Ok)
}

/// The plan as the terminal shows it; every value from outside escaped.
fn render(loaded: &RunbookFile, p: &Preview) -> String {
    let runbook = &loaded.runbook;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "PLAN  {}  (a dry run: nothing was restored, run or written)",
        runbook.name
    );
    let _ = writeln!(s, "  T0    {}", p.t0);
    let seed = match p.seed_from {
        SeedFrom::Request => format!("{}, from --seed", p.seed),
        SeedFrom::Runbook => format!("{}, from the runbook's sample.seed", p.seed),
        SeedFrom::Random => format!(
            "{}, drawn at random (a drill draws its own: pass --seed {} to drill these files)",
            p.seed, p.seed
        ),
    };
    let _ = writeln!(s, "  seed  {seed}");
    let _ = writeln!(s, "  source  {}", Escaped(&runbook.source.url));
    let _ = writeln!(s, "  seen    {}", Escaped(&p.listing));
    if p.points.is_empty() {
        let _ = writeln!(s, "  no recovery point found");
    } else {
        let _ = writeln!(s, "  recovery points, newest first:");
    }
    for (point, window) in &p.points {
        let stands = match window {
            Window::In => "in the window".to_owned(),
            Window::AfterT0 => "out of the window: after T0".to_owned(),
            Window::TooOld => format!(
                "out of the window: older than within ({})",
                runbook
                    .recovery_points
                    .within
                    .map(lifeboat_core::duration::format)
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(s, "    {}  {}  {stands}", Escaped(&point.id), point.time);
    }
    let mut first = true;
    let mut restores = false;
    for tried in &p.tried {
        let id = Escaped(&tried.point.id);
        let label = if first { "tried first" } else { "then" };
        match &tried.what {
            WouldDo::PassOver => {
                let _ = writeln!(
                    s,
                    "  point {id}  passed over: it holds no {}, so it is not a recovery point",
                    Escaped(&runbook.manifest.path)
                );
                continue;
            }
            WouldDo::Fail { reason, .. } => {
                let _ = writeln!(
                    s,
                    "  point {id}  {label}: fails before any file is restored: {}",
                    Escaped(&clip(reason, MAX_REASON_CHARS))
                );
            }
            WouldDo::Restore { manifest, files } => {
                restores = true;
                let entries = manifest
                    .entries
                    .map_or_else(String::new, |n| format!(", {n} entries"));
                let always = files.iter().filter(|f| f.always).count();
                let always = if always > 0 {
                    format!(", {always} of them named by sample.always")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "  point {id}  {label}: verifies {} (manifest {}{entries}){always}:",
                    count(files.len(), "file", "files"),
                    Escaped(&manifest.path)
                );
                for f in files {
                    let mut line = format!("    {}", Escaped(&f.path));
                    if f.always {
                        line.push_str("  (sample.always)");
                    }
                    if let Some(why) = &f.refused {
                        let _ = write!(
                            line,
                            "  fails unread: {}",
                            Escaped(&clip(why, MAX_REASON_CHARS))
                        );
                    }
                    let _ = writeln!(s, "{line}");
                }
                steps(&mut s, runbook);
            }
        }
        first = false;
    }
    if restores && runbook.recovery_points.select == lifeboat_core::runbook::Select::All {
        let _ = writeln!(
            s,
            "  select: all: a drill then tries every older point in the window too, each with \
             a sample of its own"
        );
    }
    if !restores {
        let _ = writeln!(
            s,
            "  no recovery point in the window would be restored: a drill would fail"
        );
    }
    for (key, line, column) in lifeboat_runner::approvals_needing_operator(runbook) {
        let _ = writeln!(
            s,
            "  note: {}:{line}:{column}: {key} needs an operator: drill with --interactive \
             --operator NAME",
            loaded.path
        );
    }
    let _ = writeln!(
        s,
        "  the same drill: lifeboat drill {} --seed {} --now {}",
        Escaped(&loaded.path),
        p.seed,
        p.t0
    );
    s
}

/// The point's steps, in the order a drill runs them after reading it.
fn steps(s: &mut String, runbook: &Runbook) {
    let _ = writeln!(s, "    then its steps:");
    for (i, step) in runbook.steps.iter().enumerate() {
        let name = step
            .name
            .as_deref()
            .map(|n| format!(" \"{}\"", Escaped(n)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "      steps[{i}] {}{name}: {}",
            step.kind.name(),
            Escaped(&lifeboat_runner::steps::summary(&step.kind))
        );
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
