//! `lifeboat schedule`: glue between the scheduler's daemon loop, the runner, the evidence
//! writer and Unix signals. The decisions (which slot runs, what is missed) are all in
//! `lifeboat-scheduler`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use lifeboat_app::runbooks;
use lifeboat_app::scheduled::ScheduledDrills;
use lifeboat_app::{Places, Recording, RunbookFile as Loaded, StateLocation};
use lifeboat_scheduler::daemon::{self, Control, Entry, Options, SystemClock};
use lifeboat_scheduler::{HistoryStore, Policy, Schedule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::ScheduleArgs;
use crate::logs::diag;
use crate::{evidence_cmd, exit_codes};

pub fn schedule(args: ScheduleArgs) -> u8 {
    let state = match StateLocation::or_default(args.state.state.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            diag!(ERROR, "lifeboat: {e}");
            return exit_codes::INVALID_INPUT;
        }
    };
    let places = Places::new(
        args.scratch_dir.as_deref(),
        &args.evidence_dir,
        state.local_path(),
    );
    let mut book = Book::new(args.paths.clone(), places.clone());
    let entries = match book.reload() {
        Ok(e) => e,
        Err(e) => {
            diag!(ERROR, "{e}");
            return exit_codes::INVALID_INPUT;
        }
    };
    if entries.is_empty() {
        diag!(
            ERROR,
            "lifeboat: none of the runbooks given can be scheduled; nothing to do"
        );
        return exit_codes::INVALID_INPUT;
    }
    // Opened once the runbooks are known, so a store inside a runbook's source is refused
    // before it is written.
    let store = match state.open() {
        Ok(s) => s,
        Err(e) => {
            diag!(ERROR, "lifeboat: {e}");
            return exit_codes::INVALID_INPUT;
        }
    };
    // Bound before anything starts, so a taken port is invalid input with nothing run.
    let metrics = match args
        .metrics_addr
        .map(std::net::TcpListener::bind)
        .transpose()
    {
        Ok(l) => l,
        Err(e) => {
            diag!(ERROR, "lifeboat: --metrics-addr: cannot listen: {e}");
            return exit_codes::INVALID_INPUT;
        }
    };
    // Loaded (and decrypted) before anything starts, so a bad key or password runs nothing.
    let signing_key =
        match evidence_cmd::signing_key(args.signing_key.as_deref(), &args.key_password_env) {
            Ok(k) => k.map(Arc::new),
            Err(e) => {
                diag!(ERROR, "lifeboat: {e}");
                return exit_codes::INVALID_INPUT;
            }
        };
    let schedules = Arc::new(RwLock::new(schedules_of(&entries)));
    let Some(runtime) = crate::async_runtime() else {
        return exit_codes::COULD_NOT_COMPLETE;
    };
    // The daemon starts: clean up after drills a previous run left (killed, or abandoned).
    lifeboat_runner::scratch::remove_stale(places.scratch_root());
    // Absolute, so the history's evidence paths hold from any folder.
    let evidence_dir = std::path::absolute(&args.evidence_dir).unwrap_or(args.evidence_dir.clone());
    let driller = Arc::new(ScheduledDrills::new(
        Recording::new(&evidence_dir, signing_key),
        places,
    ));
    let options = Options {
        max_concurrent: usize::try_from(args.max_concurrent).unwrap_or(1),
        grace: args.grace,
    };
    tracing::info!(
        runbooks = entries.len(),
        state = %state,
        "lifeboat schedule started"
    );
    let result = runtime.block_on(async move {
        let (tx, rx) = mpsc::channel(4);
        let signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => return Err(format!("lifeboat: cannot listen for signals: {e}")),
        };
        if let Some(listener) = metrics {
            let listener = listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener))
                .map_err(|e| format!("lifeboat: --metrics-addr: {e}"))?;
            if let Ok(addr) = listener.local_addr() {
                tracing::info!("metrics served at http://{addr}/metrics");
            }
            tokio::spawn(serve_metrics(listener, store.clone(), schedules.clone()));
        }
        tokio::spawn(signals.forward(tx, book, schedules));
        daemon::run(store, entries, driller, Arc::new(SystemClock), rx, options)
            .await
            .map_err(|e| format!("lifeboat: {e}"))
    });
    // Drills left behind after the grace period, or their blocking reads, would otherwise be
    // waited for when the runtime is dropped.
    runtime.shutdown_background();
    // Abandoned drills do not unwind: their running steps' process groups would outlive us.
    lifeboat_runner::steps::kill_running_steps();
    match result {
        Ok(summary) if summary.left_running > 0 || summary.interrupted > 0 => {
            if summary.interrupted > 0 {
                diag!(
                    WARN,
                    "lifeboat: stopped after interrupting {} drill(s) at the end of the grace \
                     period; their evidence says `interrupted`",
                    summary.interrupted
                );
            }
            if summary.left_running > 0 {
                diag!(
                    WARN,
                    "lifeboat: stopped with {} drill(s) still running; their slots are marked \
                     abandoned",
                    summary.left_running
                );
            }
            exit_codes::COULD_NOT_COMPLETE
        }
        Ok(summary) => {
            tracing::info!(
                started = summary.started,
                finished = summary.finished,
                "lifeboat schedule stopped"
            );
            exit_codes::OK
        }
        Err(e) => {
            diag!(ERROR, "{e}");
            exit_codes::COULD_NOT_COMPLETE
        }
    }
}

/// The runbooks the daemon was given, with the last valid version of each file.
struct Book {
    paths: Vec<PathBuf>,
    /// Where the daemon writes: a runbook whose source holds one of them is invalid here.
    places: Places,
    valid: BTreeMap<PathBuf, Arc<Loaded>>,
}

impl Book {
    fn new(paths: Vec<PathBuf>, places: Places) -> Self {
        Book {
            paths,
            places,
            valid: BTreeMap::new(),
        }
    }

    /// Re-reads every file. A file that became invalid (or whose source now holds the
    /// scratch root, evidence folder or history store) is reported and its last valid
    /// version kept; a file that is gone is dropped. `Err` only when a PATH itself cannot be
    /// read (then nothing changes).
    fn reload(&mut self) -> Result<Vec<Entry<Loaded>>, String> {
        let files = runbooks::discover(&self.paths).map_err(|e| e.to_string())?;
        let mut valid = BTreeMap::new();
        for file in files {
            let checked = Loaded::load(&file)
                .map_err(|e| e.to_string())
                .and_then(|l| {
                    self.places
                        .check(&l, "not scheduled")
                        .map_err(|e| e.to_string())?;
                    Ok(l)
                });
            match checked {
                Ok(l) => {
                    valid.insert(file, Arc::new(l));
                }
                Err(e) => {
                    diag!(ERROR, "{e}");
                    if let Some(old) = self.valid.get(&file) {
                        diag!(
                            WARN,
                            "{}: keeping the last valid version of this runbook",
                            file.display()
                        );
                        valid.insert(file, old.clone());
                    }
                }
            }
        }
        self.valid = valid;
        Ok(self.entries())
    }

    /// A digest of the runbook files' names and bytes, to notice edits without SIGHUP.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        match runbooks::discover(&self.paths) {
            Ok(files) => {
                for f in files {
                    f.hash(&mut h);
                    lifeboat_app::runbook_file::read_bytes(&f).ok().hash(&mut h);
                }
            }
            Err(e) => e.to_string().hash(&mut h),
        }
        h.finish()
    }

    fn entries(&self) -> Vec<Entry<Loaded>> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for loaded in self.valid.values() {
            let rb = &loaded.runbook;
            let Some(spec) = &rb.schedule else {
                tracing::info!(runbook = %loaded.path, "no schedule; not scheduled");
                continue;
            };
            // A scheduled drill has nobody to answer an `approve` question.
            let needs = lifeboat_runner::approvals_needing_operator(rb);
            for (key, line, column) in &needs {
                diag!(
                    WARN,
                    "{}:{line}:{column}: {key}: a scheduled drill has no operator to answer: add \
                     `unattended: pass` or `unattended: fail` to the step; not scheduled",
                    loaded.path
                );
            }
            if !needs.is_empty() {
                continue;
            }
            if !names.insert(rb.name.clone()) {
                diag!(
                    WARN,
                    "{}: another runbook file is already named {:?}; only the first is scheduled",
                    loaded.path,
                    rb.name
                );
                continue;
            }
            let schedule = match Schedule::new(spec) {
                Ok(s) => s,
                Err(e) => {
                    diag!(ERROR, "{}: {e}", loaded.path);
                    continue;
                }
            };
            out.push(Entry {
                name: rb.name.clone(),
                schedule,
                policy: Policy::of(spec),
                payload: loaded.clone(),
            });
        }
        out
    }
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
        tx: mpsc::Sender<Control<Loaded>>,
        mut book: Book,
        schedules: Arc<RwLock<Vec<(String, Schedule)>>>,
    ) {
        let mut stopping = false;
        let mut seen = book.fingerprint();
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let why = tokio::select! {
                _ = self.term.recv() => None,
                _ = self.int.recv() => None,
                _ = self.hup.recv() => Some("SIGHUP"),
                _ = watch.tick() => {
                    let now = book.fingerprint();
                    if now == seen {
                        continue;
                    }
                    Some("the runbook files changed")
                }
            };
            let msg = match why {
                Some(why) => {
                    tracing::info!("{why}: re-reading the runbooks");
                    seen = book.fingerprint();
                    match book.reload() {
                        Ok(entries) => {
                            *schedules.write().unwrap_or_else(PoisonError::into_inner) =
                                schedules_of(&entries);
                            Some(Control::Reload(entries))
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

fn schedules_of(entries: &[Entry<Loaded>]) -> Vec<(String, Schedule)> {
    entries
        .iter()
        .map(|e| (e.name.clone(), e.schedule.clone()))
        .collect()
}

/// A minimal HTTP/1.1 server for `GET /metrics`: one request per connection, then close.
/// Enough for Prometheus and curl; not a general web server.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    store: Arc<dyn HistoryStore>,
    schedules: Arc<RwLock<Vec<(String, Schedule)>>>,
) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let store = store.clone();
        let schedules = schedules.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut n = 0;
            let read = async {
                while n < buf.len() {
                    let k = sock.read(&mut buf[n..]).await?;
                    n += k;
                    if k == 0 || buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Ok::<(), std::io::Error>(())
            };
            if !matches!(
                tokio::time::timeout(std::time::Duration::from_secs(5), read).await,
                Ok(Ok(()))
            ) {
                return;
            }
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if !request.starts_with("GET ") {
                ("405 Method Not Allowed", "only GET\n".to_owned())
            } else if path == "/metrics" || path.starts_with("/metrics?") {
                metrics_body(&*store, &schedules).await
            } else {
                ("404 Not Found", "metrics are at /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

async fn metrics_body(
    store: &dyn HistoryStore,
    schedules: &RwLock<Vec<(String, Schedule)>>,
) -> (&'static str, String) {
    let now = jiff::Timestamp::now();
    let schedules = schedules
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut next = Vec::with_capacity(schedules.len());
    for (name, schedule) in schedules {
        // As the loop does: the next slot after the newest one already handled.
        let from = match store.last_slot(&name).await {
            Ok(last) => last.map_or(now, |l| l.max(now)),
            Err(e) => return ("500 Internal Server Error", format!("{e}\n")),
        };
        next.push((name, schedule.next_after(from)));
    }
    match store.history(None).await {
        Ok(history) => (
            "200 OK",
            lifeboat_scheduler::metrics::render(&history, &next),
        ),
        Err(e) => ("500 Internal Server Error", format!("{e}\n")),
    }
}
