//! `lifeboat report`: the period report over an evidence folder, with the history store's
//! missed slots as gaps (`lifeboat_app::gaps`).

use jiff::Timestamp;
use lifeboat_app::StateLocation;
use lifeboat_core::text::Escaped;
use lifeboat_evidence::period::{self, Inputs, PeriodError};
use lifeboat_evidence::sign::VerifyingKey;
use lifeboat_report::period::Format;

use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

pub fn report(args: ReportArgs) -> Result<Exit, CliError> {
    let format = Format::from_path(&args.out).ok_or_else(|| {
        CliError::invalid_input(format!(
            "--out {}: cannot tell the format from the extension; use one of {}",
            args.out.display(),
            Format::ALLOWED
        ))
    })?;
    let from = period::parse_bound(&args.from, false)
        .map_err(|e| CliError::invalid_input(format!("--from {e}")))?;
    let to = period::parse_bound(&args.to, true)
        .map_err(|e| CliError::invalid_input(format!("--to {e}")))?;
    if from > to {
        return Err(CliError::invalid_input(format!(
            "--from {} is after --to {}: the period is empty",
            args.from, args.to
        )));
    }
    // A bucket is read into a temporary folder laid out as an evidence folder (its records,
    // signatures and chain; not its pages), and reported on as one.
    let copy = match crate::evidence_cmd::evidence_bucket(&args.evidence_dir, None)? {
        Some(bucket) => Some(
            lifeboat_evidence::bucket::local_copy(&*bucket)
                .map_err(CliError::could_not_complete)?
                .0,
        ),
        None => None,
    };
    let evidence_dir = copy
        .as_ref()
        .map_or(args.evidence_dir.as_path(), |c| c.path());
    let shown = args.evidence_dir.display().to_string();
    if !evidence_dir.is_dir() {
        return Err(CliError::invalid_input(format!(
            "--evidence-dir {shown}: not a folder (expected the drills' evidence folder)"
        )));
    }
    if let Some(runbook) = &args.runbook {
        runbook_has_drills(evidence_dir, &shown, runbook)?;
    }
    let key = args
        .public_key
        .as_deref()
        .map(VerifyingKey::load)
        .transpose()
        .map_err(CliError::invalid_input)?;
    let gaps = match &args.state {
        None => None,
        Some(path) => {
            let location = StateLocation::given(path).map_err(CliError::invalid_input)?;
            let store = match location.open_existing() {
                Ok(Some(s)) => s,
                Ok(None) => {
                    return Err(CliError::invalid_input(format!(
                        "--state {}: no such history store",
                        path.display()
                    )));
                }
                Err(e) => return Err(CliError::could_not_complete(e)),
            };
            let gaps = crate::block_on(lifeboat_app::gaps::from_store(
                &*store,
                args.runbook.as_deref(),
            ))?;
            Some(gaps)
        }
    };
    let built = period::build(Inputs {
        evidence_dir,
        period: period::Period { from, to },
        runbook: args.runbook.as_deref(),
        public_key: key.as_ref(),
        gaps,
        now: Timestamp::now(),
    });
    let mut report = match built {
        Ok(r) => r,
        Err(e @ (PeriodError::NotADirectory { .. } | PeriodError::NotEvidence { .. })) => {
            return Err(CliError::invalid_input(e));
        }
        Err(e) => return Err(CliError::could_not_complete(e)),
    };
    // Each drill's row links its report.html relative to where this report goes, so the
    // links hold when the report and the evidence folder move together (canonical paths:
    // the folders as they are now, links resolved).
    let out_dir = args
        .out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    report.evidence_href = match (out_dir.canonicalize(), args.evidence_dir.canonicalize()) {
        _ if copy.is_some() => None,
        (Ok(from), Ok(to)) => lifeboat_report::period::relative_href(&from, &to),
        _ => None,
    };
    if copy.is_some() {
        // The bucket, not the temporary copy read.
        report.evidence_dir = shown.clone();
    }
    let text = lifeboat_report::period::render(&report, format);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(CliError::invalid_input(format!(
            "--out {}: the folder {} does not exist",
            args.out.display(),
            dir.display()
        )));
    }
    lifeboat_evidence::atomic_write(&args.out, text.as_bytes()).map_err(|e| {
        CliError::could_not_complete(format_args!("cannot write {}: {e}", args.out.display()))
    })?;
    outln!(
        "{}",
        lifeboat_report::terminal::period(&lifeboat_report::period::PeriodView::new(&report))
    );
    outln!("{}", args.out.display());
    Ok(Exit::Ok)
}

/// `--runbook NAME` names a runbook with records in the folder. One with none there is most
/// likely a typo or the wrong folder, and its report would be an empty page: exit 2, naming
/// the runbooks that do have drills there. (A runbook with drills, none in the period, gets its
/// report: that no drill ran in the period is what an auditor needs to see.)
fn runbook_has_drills(
    evidence_dir: &std::path::Path,
    shown: &str,
    runbook: &str,
) -> Result<(), CliError> {
    let found = lifeboat_evidence::runbooks_with_records(evidence_dir)
        .map_err(|e| CliError::could_not_complete(format_args!("cannot list {shown}: {e}")))?;
    if found.contains(runbook) {
        return Ok(());
    }
    // Folder names another account may have planted: escaped, one line whatever they hold.
    let names: Vec<String> = found.iter().map(|n| format!("{}", Escaped(n))).collect();
    let there = if names.is_empty() {
        "it holds no drill of any runbook".to_owned()
    } else {
        format!("runbooks with drills there: {}", names.join(", "))
    };
    Err(CliError::invalid_input(format_args!(
        "--runbook {}: no drill of this runbook in {shown}; {there}",
        Escaped(runbook),
    )))
}
