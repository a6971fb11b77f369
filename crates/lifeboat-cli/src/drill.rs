//! `lifeboat drill`: run one drill, write its evidence, print the verdict.

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::Arc;

use lifeboat_app::{
    DrillJob, Places, RecordError, Recorded, Recording, RunbookFile, StateLocation,
};
use lifeboat_core::evidence::{Mode, Outcome};
use lifeboat_core::text::Escaped;
use lifeboat_runner::{DrillRequest, NoProgress, Progress, Stop, StopEffect};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::DrillArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;
use crate::logs::diag;
use crate::{evidence_cmd, logs, operator, progress};

/// How to record a drill elsewhere, or nowhere, when the history store is the problem.
const OPT_OUT: &str = "pass --state FILE|URL to record the run in another history store, or \
                       --no-state to record it in none";

pub fn drill(args: DrillArgs) -> Result<Exit, CliError> {
    let loaded =
        RunbookFile::load(&args.runbook).map_err(|e| CliError::in_file(Exit::InvalidInput, e))?;
    if !args.interactive {
        // Nobody will answer: refuse before anything runs rather than guess a verdict.
        let needs = lifeboat_runner::approvals_needing_operator(&loaded.runbook)
            .into_iter()
            .map(|(key, line, column)| {
                CliError::in_file(
                    Exit::InvalidInput,
                    format_args!(
                        "{}:{line}:{column}: {key}: needs an operator: run with --interactive \
                         --operator NAME, or add `unattended: pass` or `unattended: fail` to \
                         the step; nothing was run",
                        loaded.path
                    ),
                )
            });
        if let Some(refused) = needs.reduce(CliError::and) {
            return Err(refused);
        }
    }
    if args.no_state && loaded.runbook.coverage.is_some() {
        return Err(CliError::invalid_input(format_args!(
            "{}: {}; nothing was run",
            loaded.path,
            lifeboat_app::coverage::NEEDS_STATE
        )));
    }
    // Every drill joins one history (the default store unless told otherwise), so `status`
    // and `history` see manual and ad-hoc drills beside scheduled ones.
    let state = if args.no_state {
        None
    } else {
        let state = StateLocation::or_default(args.state.as_deref()).map_err(|e| {
            CliError::invalid_input(format_args!("{e}; {OPT_OUT}; nothing was run"))
        })?;
        Some(state)
    };
    // A drill never writes into the backup it checks: refused before anything is written.
    let places = Places::new(
        args.scratch_dir.as_deref(),
        &args.evidence_dir,
        state.as_ref().and_then(StateLocation::local_path),
    );
    places
        .check(&loaded, "nothing was run")
        .map_err(CliError::invalid_input)?;
    // Loaded (and decrypted) before the drill, so a bad key or password runs nothing.
    let signing_key =
        evidence_cmd::signing_key(args.signing_key.as_deref(), &args.key_password_env)
            .map_err(CliError::invalid_input)?
            .map(Arc::new);
    // An object store is opened (and its chain read, below) before the drill, so a bad URL
    // or unreachable bucket runs nothing.
    let bucket = evidence_cmd::evidence_bucket(&args.evidence_dir, args.evidence_retention)?;
    let recording = match bucket {
        Some(bucket) => Recording::to_bucket(bucket, signing_key),
        None => {
            // Checked before the drill, so a lock, ledger or folder planted in the evidence
            // folder runs nothing; writing the evidence checks again.
            lifeboat_evidence::check_dir(&args.evidence_dir, &loaded.runbook.name)
                .map_err(|e| CliError::could_not_complete(format_args!("{e}; nothing was run")))?;
            Recording::new(&args.evidence_dir, signing_key)
        }
    };
    // An unsigned record in a folder of signed ones would make every later verify with the
    // public key fail: refused before anything runs.
    recording
        .check_signing()
        .map_err(|e| CliError::signing(&e, "nothing was run"))?;
    // Opened last of the checks, so a drill refused for another reason leaves no new store
    // behind, and before the drill, so an unusable store stops it with nothing run.
    let history = state
        .map(|state| state.open())
        .transpose()
        .map_err(|e| CliError::store_then(&e, format_args!("{OPT_OUT}; nothing was run")))?;
    // A progress bar would draw over the operator's questions.
    let progress: Arc<dyn Progress> =
        if !args.quiet && !args.interactive && !logs::json() && std::io::stderr().is_terminal() {
            Arc::new(progress::Bar::new())
        } else {
            Arc::new(NoProgress)
        };
    // Every check passed: this drill runs. Clean up after drills that were killed first.
    lifeboat_runner::scratch::remove_stale(places.scratch_root());
    let stop = Stop::new();
    let request = DrillRequest {
        runbook_path: loaded.recorded_path(),
        runbook_sha256: loaded.sha256.clone(),
        now: args.now,
        seed: args.seed,
        scratch_root: places.scratch_root().to_path_buf(),
        evidence_dir: None,
        verify_only: args.verify_only,
        jobs: args.jobs,
        mode: if args.interactive {
            Mode::Manual
        } else {
            Mode::Automatic
        },
        operator: args.operator.clone().map(|name| {
            Arc::new(operator::Terminal::new(name)) as Arc<dyn lifeboat_runner::Operator>
        }),
        progress,
        stop: stop.clone(),
        coverage: None,
    };
    let ledger = history
        .clone()
        .filter(|_| loaded.runbook.coverage.is_some());
    let job = DrillJob {
        runbook: Arc::new(loaded),
        request,
        history,
        slot: None,
        ledger,
        claim: None,
    };
    let runtime = crate::async_runtime()?;
    let recorded = runtime.block_on(async {
        let stop_when: Pin<Box<dyn Future<Output = ()> + Send>> = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Box::pin(stop_on_signal(int, term, stop)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot listen for SIGINT/SIGTERM: {e}; a signal kills the drill");
                Box::pin(std::future::pending())
            }
        };
        recording.drill_and_record(job, stop_when).await
    });
    // A read an interruption abandoned (a hung mount) may still hold a blocking thread;
    // dropping the runtime would wait for it.
    runtime.shutdown_background();
    let Recorded {
        evidence,
        evidence_json: path,
        ..
    } = match recorded {
        Ok(r) => r,
        Err(e @ (RecordError::History { .. } | RecordError::Ledger { .. })) => {
            // The evidence is written: its path is still the last line on stdout.
            CliError::could_not_complete(&e).print(true);
            if let RecordError::History { evidence_json, .. }
            | RecordError::Ledger { evidence_json, .. } = &e
            {
                outln!("{}", evidence_json.display());
            }
            return Ok(Exit::CouldNotComplete);
        }
        Err(e) => return Err(CliError::could_not_complete(e)),
    };
    if !args.quiet {
        crate::write_stdout_styled(&lifeboat_report::terminal::summary(
            &evidence,
            crate::color::stdout(),
        ));
    }
    if evidence.outcome == Outcome::Error
        && let Some(r) = &evidence.reason
    {
        // Said before the evidence path, which stays the last line on stdout.
        CliError::could_not_complete(format_args!("the drill could not complete: {}", Escaped(r)))
            .print(true);
    }
    outln!("{}", path.display());
    Ok(Exit::of(evidence.outcome))
}

/// The first SIGINT or SIGTERM stops the drill. Before its last check has finished that
/// interrupts it: it writes its evidence (outcome `error`, reason `interrupted`) and exits 3.
/// After it, the verdict stands: the drill finishes its `finally` steps, writes its evidence
/// (which records the stop) and exits with the verdict's code. What is printed is what the
/// stop did, decided once with the drill ([`Stop::request`]), so the terminal never says
/// "interrupted" about a drill whose evidence says it passed. A second signal exits 3 at
/// once, leaving neither evidence nor a clean scratch area. Signals are listened for while the
/// drill runs, not while its evidence is written (`Recording::drill_and_record`).
async fn stop_on_signal(
    mut int: tokio::signal::unix::Signal,
    mut term: tokio::signal::unix::Signal,
    stop: Stop,
) {
    for n in 0..2 {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if n == 0 {
            match stop.request() {
                StopEffect::Interrupted => diag!(
                    WARN,
                    "lifeboat: interrupted; stopping the drill and writing its evidence (signal \
                     again to exit at once)"
                ),
                StopEffect::AfterChecks | StopEffect::Again => diag!(
                    WARN,
                    "lifeboat: signal received after the drill's last check: the verdict \
                     stands; finishing its `finally` steps and writing its evidence (signal \
                     again to exit at once)"
                ),
            }
        }
    }
    diag!(
        WARN,
        "lifeboat: interrupted twice; exiting without evidence"
    );
    // Exiting skips every destructor: a running step's process group must go explicitly.
    lifeboat_runner::steps::kill_running_steps();
    std::process::exit(Exit::CouldNotComplete.code().into());
}
