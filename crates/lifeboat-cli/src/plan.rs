//! `lifeboat plan RUNBOOK [--now T0] [--seed N]`: what a drill would do, without doing it.
//!
//! Everything shown comes from [`lifeboat_runner::preview`], which walks the drill's own path
//! up to the plan; every name from the backup is printed escaped (SECURITY.md, class 7), and
//! every reason clipped as the evidence clips it (class 8).

use std::fmt::Write as _;

use lifeboat_app::RunbookFile;
use lifeboat_core::coverage::IntervalFrom;
use lifeboat_core::evidence::MAX_REASON_CHARS;
use lifeboat_core::runbook::Runbook;
use lifeboat_core::text::{Escaped, clip};
use lifeboat_runner::format::Window;
use lifeboat_runner::preview::{CoveragePreview, Preview, SeedFrom, WouldDo};

use crate::cli::PlanArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

pub fn plan(args: PlanArgs) -> Result<Exit, CliError> {
    let loaded =
        RunbookFile::load(&args.runbook).map_err(|e| CliError::in_file(Exit::InvalidInput, e))?;
    // The coverage ledger, read before anything else, so an unusable store runs nothing.
    let ledger = match &loaded.runbook.coverage {
        None => None,
        Some(_) => Some(read_ledger(&loaded, args.state.as_deref())?),
    };
    let runtime = crate::async_runtime()?;
    let planned = runtime.block_on(async {
        let preview =
            lifeboat_runner::preview::preview(&loaded.runbook, args.now, args.seed).await?;
        let coverage = match &ledger {
            None => None,
            Some(ledger) => {
                lifeboat_runner::preview::coverage(
                    &loaded.runbook,
                    preview.t0,
                    preview.seed,
                    ledger,
                    lifeboat_app::coverage::schedule_interval(&loaded.runbook, preview.t0),
                )
                .await?
            }
        };
        Ok::<_, lifeboat_runner::DrillError>((preview, coverage))
    });
    // A read a hung mount holds would make dropping the runtime wait for it.
    runtime.shutdown_background();
    let (preview, coverage) = planned.map_err(|e| {
        CliError::could_not_complete(format_args!(
            "the source cannot be read: {}; a drill would end the same way (exit 3)",
            Escaped(&e.to_string())
        ))
    })?;
    let mut text = render(&loaded, &preview);
    if let Some(c) = &coverage {
        render_coverage(&mut text, &loaded.runbook, c);
    }
    crate::write_stdout(format_args!("{text}"));
    Ok(Exit::Ok)
}

/// The runbook's coverage ledger in the history store (`--state`, else the default one),
/// read only (an older schema is not migrated); empty when there is no store yet, or one
/// older than the ledger.
fn read_ledger(
    loaded: &RunbookFile,
    state: Option<&std::path::Path>,
) -> Result<lifeboat_core::coverage::Ledger, CliError> {
    let location = lifeboat_app::StateLocation::or_default(state)
        .map_err(|e| CliError::invalid_input(format_args!("{e}; pass --state FILE")))?;
    let store = location
        .open_read_only()
        .map_err(|e| CliError::store_then(&e, "pass --state FILE"))?;
    let Some(store) = store else {
        return Ok(lifeboat_core::coverage::Ledger::default());
    };
    let runtime = crate::async_runtime()?;
    let ledger = runtime.block_on(store.coverage_ledger(&loaded.runbook.name));
    ledger.map_err(|e| CliError::could_not_complete(format_args!("{e}")))
}

/// Objects of the next coverage phase listed by name; the count says the rest.
const COVERAGE_SHOWN: usize = 20;

/// What the next coverage phase would read, and the pace it keeps.
fn render_coverage(s: &mut String, runbook: &Runbook, c: &CoveragePreview) {
    let Some(spec) = &runbook.coverage else {
        return;
    };
    let human = |d: std::time::Duration| lifeboat_core::duration::format(d);
    let budget = spec
        .budget
        .map(|b| format!(", budget {b} bytes"))
        .unwrap_or_default();
    let st = &c.standing;
    let _ = writeln!(
        s,
        "  coverage  within {}{budget}: {} ({} bytes) in the retained points; {} verified \
         within the window, {} never verified",
        human(spec.within),
        count(st.objects as usize, "stored object", "stored objects"),
        st.bytes,
        st.verified_within,
        st.never_verified
    );
    let (interval, from) = c.plan.interval;
    let from = match from {
        IntervalFrom::History => "the rate recent drills ran at",
        IntervalFrom::Schedule => "the runbook's schedule",
        IntervalFrom::Default => "one drill a day: no drills or schedule yet",
    };
    let pace = match c.plan.behind_seconds {
        _ if c.plan.on_pace => "on pace".to_owned(),
        Some(b) => format!(
            "behind: at this budget full coverage takes {}",
            count(b.div_ceil(86_400) as usize, "day", "days")
        ),
        None => "behind".to_owned(),
    };
    let _ = writeln!(
        s,
        "  next coverage phase reads {} ({} bytes; the pace needs {} bytes, a drill every {} \
         from {from}); {pace}:",
        count(c.plan.read.len(), "object", "objects"),
        c.plan.read_bytes,
        c.plan.needed_bytes,
        human(interval),
    );
    for &i in c.plan.read.iter().take(COVERAGE_SHOWN) {
        let row = &c.plan.objects[i].row;
        let last = match &row.verified {
            None => "never verified".to_owned(),
            Some(v) => format!("last verified {} ({})", v.at, v.outcome),
        };
        let _ = writeln!(
            s,
            "    {}/{}  {} bytes  {last}",
            Escaped(&row.key.point),
            Escaped(&row.key.path),
            row.identity.size
        );
    }
    if c.plan.read.len() > COVERAGE_SHOWN {
        let _ = writeln!(s, "    ... and {} more", c.plan.read.len() - COVERAGE_SHOWN);
    }
    for u in &c.unlisted {
        let _ = writeln!(
            s,
            "    {}/{}  fails: {}",
            Escaped(&u.recovery_point),
            Escaped(&u.path),
            Escaped(&clip(u.reason.as_deref().unwrap_or(""), MAX_REASON_CHARS))
        );
    }
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
