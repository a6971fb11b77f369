//! `lifeboat schedule`: the arguments, Unix signals and what is printed around the daemon.
//! The decisions (which slot runs, what is missed) are `lifeboat-scheduler`'s; the runbook
//! set, each drill and the metrics endpoint are `lifeboat-app`'s.

use std::sync::Arc;

use lifeboat_app::metrics::Schedules;
use lifeboat_app::runbook_set::{Notice, RunbookSet, Severity};
use lifeboat_app::scheduled::ScheduledDrills;
use lifeboat_app::{Places, Recording, RunbookFile, StateLocation};
use lifeboat_scheduler::daemon::{self, Control, Options, SystemClock};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::ScheduleArgs;
use crate::error::CliError;
use crate::evidence_cmd;
use crate::exit_codes::Exit;
use crate::logs::diag;

pub fn schedule(args: ScheduleArgs) -> Result<Exit, CliError> {
    let state =
        StateLocation::or_default(args.state.state.as_deref()).map_err(CliError::invalid_input)?;
    let places = Places::new(
        args.scratch_dir.as_deref(),
        &args.evidence_dir,
        state.local_path(),
    );
    let mut runbooks = RunbookSet::new(args.paths.clone(), places.clone());
    let loaded = runbooks
        .reload()
        .map_err(|e| CliError::in_file(Exit::InvalidInput, e))?;
    print_notices(&loaded.notices);
    let entries = loaded.entries;
    if entries.is_empty() {
        return Err(CliError::invalid_input(
            "none of the runbooks given can be scheduled; nothing to do",
        ));
    }
    // Loaded (and decrypted) before anything starts, so a bad key or password runs nothing.
    let signing_key =
        evidence_cmd::signing_key(args.signing_key.as_deref(), &args.key_password_env)
            .map_err(CliError::invalid_input)?
            .map(Arc::new);
    let bucket = evidence_cmd::evidence_bucket(&args.evidence_dir, args.evidence_retention)?;
    let (evidence_dir, recording) = match bucket {
        Some(bucket) => (
            args.evidence_dir.clone(),
            Recording::to_bucket(bucket, signing_key),
        ),
        None => {
            // Absolute, so the history's evidence paths hold from any folder.
            let dir = std::path::absolute(&args.evidence_dir).unwrap_or(args.evidence_dir.clone());
            let recording = Recording::new(&dir, signing_key);
            (dir, recording)
        }
    };
    // Unsigned drills into a folder of signed evidence would damage its chain: refused
    // before anything starts (and checked again at each slot).
    recording
        .check_signing()
        .map_err(|e| CliError::signing(&e, "nothing was scheduled"))?;
    // One runner per SQLite file: a second one would abandon the first one's drills.
    let _held = state.hold_for_schedule().map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            CliError::invalid_input(format_args!(
                "another lifeboat schedule is using {state}: a SQLite --state has one runner; \
                 runners that share the work share a PostgreSQL --state (postgres://...); \
                 nothing was scheduled"
            ))
        } else {
            CliError::could_not_complete(format_args!(
                "cannot lock {state} for this scheduler: {e}; nothing was scheduled"
            ))
        }
    })?;
    // Opened once the runbooks are known, so a store inside a runbook's source is refused
    // before it is written.
    let store = state
        .open()
        .map_err(|e| CliError::store_then(&e, "nothing was scheduled"))?;
    // Bound before anything starts, so a taken port is invalid input with nothing run.
    let metrics = args
        .metrics_addr
        .map(std::net::TcpListener::bind)
        .transpose()
        .map_err(|e| CliError::invalid_input(format_args!("--metrics-addr: cannot listen: {e}")))?;
    let schedules = Schedules::new(&entries);
    let runtime = crate::async_runtime()?;
    // The daemon starts: clean up after drills a previous run left (killed, or abandoned).
    lifeboat_runner::scratch::remove_stale(places.scratch_root());
    let driller = Arc::new(ScheduledDrills::new(recording, places).with_ledger(store.clone()));
    let mut options = Options::new(
        usize::try_from(args.max_concurrent).unwrap_or(1),
        args.grace,
    );
    if let Some(runner) = &args.runner {
        options.runner = runner.clone();
    }
    options.lease = args.lease;
    options.labels = args.labels.clone();
    tracing::info!(
        runbooks = entries.len(),
        state = %state,
        evidence_dir = %evidence_dir.display(),
        runner = %options.runner,
        "lifeboat schedule started: {}",
        daemon::next_slots(&entries, jiff::Timestamp::now())
    );
    let result = runtime.block_on(async move {
        let (tx, rx) = mpsc::channel(4);
        let signals = Signals::new().map_err(|e| {
            CliError::could_not_complete(format_args!("cannot listen for signals: {e}"))
        })?;
        if let Some(listener) = metrics {
            let listener = listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener))
                .map_err(|e| CliError::could_not_complete(format_args!("--metrics-addr: {e}")))?;
            if let Ok(addr) = listener.local_addr() {
                tracing::info!("metrics served at http://{addr}/metrics");
            }
            tokio::spawn(lifeboat_app::metrics::serve(
                listener,
                store.clone(),
                schedules.clone(),
            ));
        }
        tokio::spawn(signals.forward(tx, runbooks, schedules));
        daemon::run(store, entries, driller, Arc::new(SystemClock), rx, options)
            .await
            .map_err(CliError::could_not_complete)
    });
    // Drills left behind after the grace period, or their blocking reads, would otherwise be
    // waited for when the runtime is dropped.
    runtime.shutdown_background();
    // Abandoned drills do not unwind: their running steps' process groups would outlive us.
    lifeboat_runner::steps::kill_running_steps();
    let summary = result?;
    let interrupted = (summary.interrupted > 0).then(|| {
        CliError::could_not_complete(format_args!(
            "stopped after interrupting {} drill(s) at the end of the grace period; their \
             evidence says `interrupted`",
            summary.interrupted
        ))
    });
    let left_running = (summary.left_running > 0).then(|| {
        CliError::could_not_complete(format_args!(
            "stopped with {} drill(s) still running; their slots are marked abandoned",
            summary.left_running
        ))
    });
    if let Some(unfinished) = interrupted
        .into_iter()
        .chain(left_running)
        .reduce(CliError::and)
    {
        return Err(unfinished.warning());
    }
    tracing::info!(
        started = summary.started,
        finished = summary.finished,
        "lifeboat schedule stopped"
    );
    Ok(Exit::Ok)
}

/// How often the runbook files are checked for changes.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// SIGTERM/SIGINT: the first stops new starts, the second stops at once. SIGHUP, or a
    /// change to the runbook files (polled every [`WATCH_INTERVAL`]): reload.
    async fn forward(
        mut self,
        tx: mpsc::Sender<Control<RunbookFile>>,
        mut runbooks: RunbookSet,
        schedules: Schedules,
    ) {
        let mut stopping = false;
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let why = tokio::select! {
                _ = self.term.recv() => None,
                _ = self.int.recv() => None,
                _ = self.hup.recv() => Some("SIGHUP"),
                _ = watch.tick() => {
                    if !runbooks.changed() {
                        continue;
                    }
                    Some("the runbook files changed")
                }
            };
            let msg = match why {
                Some(why) => {
                    tracing::info!("{why}: re-reading the runbooks");
                    match runbooks.reload() {
                        Ok(reloaded) => {
                            print_notices(&reloaded.notices);
                            schedules.replace(&reloaded.entries);
                            Some(Control::Reload(reloaded.entries))
                        }
                        Err(e) => {
                            diag!(ERROR, "{e}");
                            diag!(
                                ERROR,
                                "lifeboat: reload failed; the runbooks stay as they were"
                            );
                            continue;
                        }
                    }
                }
                None => None,
            };
            let msg = msg.unwrap_or_else(|| {
                let m = if stopping {
                    Control::Abort
                } else {
                    Control::Stop
                };
                stopping = true;
                m
            });
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    }
}

/// What a (re)load of the runbooks found, as the daemon's log lines.
fn print_notices(notices: &[Notice]) {
    for n in notices {
        match n.severity {
            Severity::Error => diag!(ERROR, "{}", n.message),
            Severity::Warning => diag!(WARN, "{}", n.message),
        }
    }
}
