//! The daemon loop of `lifeboat schedule`: wakes at each slot, asks [`plan`] what to do,
//! records the verdict in the [`HistoryStore`] *before* acting on it, and starts drills through a
//! [`Driller`] `lifeboat-app` provides (this crate knows no runner).
//!
//! Time comes from a [`Clock`], sleeps from tokio: tests use a clock driven by tokio's paused
//! time, so a day of slots runs in milliseconds.
//!
//! Stopping: [`Control::Stop`] starts nothing new and gives running drills the grace period.
//! When it runs out, each drill's [`Job::cancel`] token is cancelled: the driller stops it and
//! returns its record (interrupted, or with its verdict when its checks had all finished),
//! which is recorded like any run. A drill that has not
//! returned [`INTERRUPT_WAIT`] after that, or any drill still running at [`Control::Abort`],
//! is left behind and its slot marked `abandoned`.
//!
//! A fleet: several runners (processes, hosts) sharing one store run each `(runbook, slot)`
//! once. Every runner plans and records slots (insert wins, as alone), then looks at the
//! store's unfinished slots each round: a `recorded` one, or a `running` one whose lease
//! lapsed, is claimed ([`HistoryStore::claim_slot`]) when its drill is about to start
//! (after its jitter and a `--max-concurrent` place); the runner that loses the claim skips
//! it. The claim's lease is renewed by a heartbeat (every third of `--lease`); the attempt
//! it carries fences the run: a runner whose lease lapsed and whose slot was claimed again
//! records nothing ([`HistoryStore::record_claimed_run`]) and writes no evidence
//! ([`Claim::confirm`], called by the driller just before the record is appended). A slot
//! of a runbook another runner is drilling is an overlap, as it is alone.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::slots::{Decision, Policy, Previous, Schedule, Trigger, View, jitter_delay, plan};
use crate::store::{Fenced, HistoryStore, RunRecord, SlotState, StoreError, UnfinishedSlot};

/// The longest the loop sleeps without looking at the clock again, so a suspended host or a
/// stepped wall clock is noticed within this long.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// How long drills may take to stop once cancelled after the grace period, before they are
/// left behind. Stopping is prompt (the runner finishes the chunk in hand and writes
/// evidence); this bounds a stuck filesystem or network call.
pub const INTERRUPT_WAIT: Duration = Duration::from_secs(30);

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that starts at `base` and moves with tokio's (possibly paused) time.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(base: Timestamp) -> Self {
        TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = jiff::SignedDuration::try_from(self.start.elapsed()).unwrap_or_default();
        self.base.saturating_add(elapsed).unwrap_or(self.base)
    }
}

/// One scheduled runbook. `payload` is whatever the driller needs to run it.
#[derive(Debug)]
pub struct Entry<T> {
    pub name: String,
    pub schedule: Schedule,
    pub policy: Policy,
    /// The runbook's `runners:`: only a runner whose labels include every pair claims its
    /// slots (every runner still records them). Empty: any runner.
    pub runners: Labels,
    pub payload: Arc<T>,
}

pub use lifeboat_core::placement::{Labels, placed};

/// A runner's claim on the slot of a running drill: the attempt that fences it, and its
/// lease, renewed by a heartbeat while the drill runs.
pub struct Claim {
    store: Arc<dyn HistoryStore>,
    clock: Arc<dyn Clock>,
    pub runbook: String,
    pub slot: Timestamp,
    /// This runner's name (`--runner`).
    pub runner: String,
    /// The claim's attempt: 1 for the slot's first claim, one more for each claim of a lease
    /// that lapsed.
    pub attempt: i64,
    lease: Duration,
    /// When the lease was last renewed, by this process's monotonic clock.
    renewed: std::sync::Mutex<tokio::time::Instant>,
    lost: AtomicBool,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("runbook", &self.runbook)
            .field("slot", &self.slot)
            .field("runner", &self.runner)
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl Claim {
    /// Whether this runner still holds the slot, renewing the lease for a whole `--lease`
    /// more: called just before the drill's evidence record is appended, so a runner that
    /// lost the slot chains nothing. While the store cannot be reached it is asked again
    /// until the lease, as last renewed, would have lapsed; then `false`.
    pub async fn confirm(&self) -> bool {
        loop {
            if self.lost.load(Ordering::SeqCst) {
                return false;
            }
            match self.renew().await {
                Ok(held) => return held,
                Err(e) if self.lapsed() => {
                    tracing::error!(runbook = %self.runbook, slot = %self.slot, "cannot confirm the claim before recording evidence, and its lease has lapsed: {e}");
                    return false;
                }
                Err(e) => {
                    tracing::warn!(runbook = %self.runbook, slot = %self.slot, "cannot confirm the claim before recording evidence; trying again: {e}");
                    tokio::time::sleep(self.retry_every()).await;
                }
            }
        }
    }

    /// Renews the lease once; `Ok(false)` (and lost for good) when the slot moved on.
    async fn renew(&self) -> Result<bool, StoreError> {
        let held = self
            .store
            .renew_claim(
                &self.runbook,
                self.slot,
                self.attempt,
                self.lease,
                self.clock.now(),
            )
            .await?;
        if held {
            *self
                .renewed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = tokio::time::Instant::now();
        } else {
            self.lost.store(true, Ordering::SeqCst);
        }
        Ok(held)
    }

    /// Whether the lease, as last renewed, has lapsed by now.
    fn lapsed(&self) -> bool {
        self.renewed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
            >= self.lease
    }

    fn retry_every(&self) -> Duration {
        (self.lease / 10).clamp(Duration::from_millis(100), Duration::from_secs(2))
    }

    /// Renews the lease every third of it until `stop`; a renewal that fails is tried again
    /// at the next beat, and a slot found claimed again ends the beat.
    async fn heartbeat(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.lease / 3) => {}
            }
            match self.renew().await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(runbook = %self.runbook, slot = %self.slot, attempt = self.attempt, "lost the slot: its lease lapsed and it was claimed again or closed; this drill's result will not be recorded");
                    return;
                }
                Err(e) => {
                    tracing::warn!(runbook = %self.runbook, slot = %self.slot, "cannot renew the lease; trying again: {e}");
                }
            }
        }
    }
}

/// A drill started for a slot.
#[derive(Debug)]
pub struct Job<T> {
    pub runbook: String,
    pub slot: Timestamp,
    pub trigger: Trigger,
    pub payload: Arc<T>,
    /// Cancelled when the drill should stop (the grace period after SIGTERM is over). The
    /// driller then returns the interrupted drill's record as soon as it can.
    pub cancel: CancellationToken,
    /// The claim the drill runs under: the driller [confirms](Claim::confirm) it just before
    /// appending the evidence record, and writes none when it is lost.
    pub claim: Option<Arc<Claim>>,
}

pub type DrillFuture = Pin<Box<dyn Future<Output = Result<RunRecord, String>> + Send>>;

/// Runs one drill and writes its evidence; the record it returns goes into the history with
/// the job's slot. An `Err` is a drill that left no evidence (the slot is marked abandoned
/// with that reason).
pub trait Driller<T>: Send + Sync + 'static {
    fn drill(&self, job: Job<T>) -> DrillFuture;
}

/// What the binary tells a running loop (signals, runbook reloads).
#[derive(Debug)]
pub enum Control<T> {
    /// Replace the runbooks (after SIGHUP); the runbook set has kept the last valid version of
    /// each file.
    Reload(Vec<Entry<T>>),
    /// Start nothing new; wait up to the grace period for running drills, then return.
    Stop,
    /// Return at once.
    Abort,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub max_concurrent: usize,
    pub grace: Duration,
    /// This runner's name (`--runner`), kept with each claim and run.
    pub runner: String,
    /// How long a claim holds without a heartbeat (`--lease`).
    pub lease: Duration,
    /// This runner's labels (`--labels`).
    pub labels: Labels,
}

/// `--lease`'s default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The longest a runner's name (`--runner`) may be, in characters.
pub const MAX_RUNNER_NAME: usize = 128;

impl Options {
    /// One runner named [`default_runner_name`], with the default lease and no labels.
    pub fn new(max_concurrent: usize, grace: Duration) -> Self {
        Options {
            max_concurrent,
            grace,
            runner: default_runner_name(),
            lease: DEFAULT_LEASE,
            labels: Labels::new(),
        }
    }

    /// How often the loop looks at the store for slots other runners recorded or left: a
    /// third of the lease, so a lapsed lease is noticed soon after it lapses.
    fn poll_every(&self) -> Duration {
        (self.lease / 3).clamp(Duration::from_millis(200), MAX_SLEEP)
    }
}

/// `HOSTNAME-PID`: the host's name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else
/// `localhost`) and this process's id.
pub fn default_runner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && check_runner_name(h).is_ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let name = format!("{host}-{}", std::process::id());
    name.chars().take(MAX_RUNNER_NAME).collect()
}

/// Refuses a runner name that is empty, longer than [`MAX_RUNNER_NAME`] characters, or holds
/// anything but printable characters (no control characters, no line breaks): it is shown
/// in logs, history and evidence.
pub fn check_runner_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.chars().count() > MAX_RUNNER_NAME {
        return Err(format!("is longer than {MAX_RUNNER_NAME} characters"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("holds the control character {:?}", c));
    }
    Ok(())
}

/// What the loop did, for the exit message and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub started: usize,
    pub finished: usize,
    /// Drills that finished after being cancelled at the end of the grace period with outcome
    /// `error` (interrupted; counted in `finished` too); their records are in the history. A
    /// drill cancelled after its last check keeps its verdict and is not counted.
    pub interrupted: usize,
    /// Drills still running when the loop returned; their slots are marked abandoned.
    pub left_running: usize,
}

/// The reason a slot waiting for a `--max-concurrent` place carries while it is `recorded`.
pub const WAITING_FOR_A_PLACE: &str = "waiting for a place under --max-concurrent";

/// Where a started job is, shared by its task (which moves it on) and the loop (which plans
/// the runbook's next slot with it: a slot due while this one only waits to start is not an
/// overlap).
#[derive(Debug)]
struct Phase(AtomicU8);

impl Phase {
    fn new(p: Previous) -> Arc<Self> {
        Arc::new(Phase(AtomicU8::new(Self::code(p))))
    }

    fn code(p: Previous) -> u8 {
        match p {
            Previous::Idle => 0,
            Previous::Jitter => 1,
            Previous::Queued => 2,
            Previous::Running => 3,
        }
    }

    fn set(&self, p: Previous) {
        self.0.store(Self::code(p), Ordering::SeqCst);
    }

    fn get(&self) -> Previous {
        match self.0.load(Ordering::SeqCst) {
            0 => Previous::Idle,
            1 => Previous::Jitter,
            2 => Previous::Queued,
            _ => Previous::Running,
        }
    }
}

struct Finished {
    runbook: String,
    slot: Timestamp,
    /// The slot's attempt as this runner last saw it (before claiming it).
    seen: i64,
    /// The claim the drill ran under, with its heartbeat's stop, kept beating until the run
    /// is recorded.
    claim: Option<(Arc<Claim>, CancellationToken)>,
    result: Result<RunRecord, Finish>,
}

enum Finish {
    /// No place under `--max-concurrent` before the start window closed.
    NoCapacity,
    /// Stopped while waiting for its jitter or a place: the drill never started.
    Cancelled,
    /// Another runner claimed the slot first (or it was closed): this runner skips it.
    Lost,
    Failed(String),
}

/// A slot this runner works on: its instant, where its job is, and the attempt it claimed
/// (0 until it claims).
struct Held {
    slot: Timestamp,
    phase: Arc<Phase>,
    seen: i64,
    claimed: Arc<AtomicI64>,
}

/// Runs the scheduler until [`Control::Stop`] (and the drills finish or the grace period
/// ends), [`Control::Abort`], or the control channel closes.
pub async fn run<T: Send + Sync + 'static>(
    store: Arc<dyn HistoryStore>,
    mut entries: Vec<Entry<T>>,
    driller: Arc<dyn Driller<T>>,
    clock: Arc<dyn Clock>,
    mut control: mpsc::Receiver<Control<T>>,
    options: Options,
) -> Result<Summary, StoreError> {
    let online_since = clock.now();
    for (runbook, slot) in store.abandon_unfinished(online_since).await? {
        tracing::warn!(%runbook, %slot, "a previous scheduler stopped before this slot's drill finished; it is marked abandoned, not run again");
    }
    let permits = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
    let cancel = CancellationToken::new();
    // Cancelled at Control::Stop: drills waiting for their jitter or a place never start.
    let stopping = CancellationToken::new();
    // The runbooks with a slot this runner started and has not finished.
    let mut running: HashMap<String, Held> = HashMap::new();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut summary = Summary::default();
    let started = Arc::new(AtomicUsize::new(0));
    let mut stop_deadline: Option<tokio::time::Instant> = None;
    // When each runbook started being scheduled by this process: slots before it passed while
    // nobody scheduled it (the catch-up policy applies), and a runbook added by a reload
    // starts at its next slot.
    let mut known_since: HashMap<String, Timestamp> = entries
        .iter()
        .map(|e| (e.name.clone(), online_since))
        .collect();
    for e in entries
        .iter()
        .filter(|e| !placed(&options.labels, &e.runners))
    {
        tracing::info!(runbook = %e.name, "this runner does not drill it: its runners: are not among this runner's --labels; another runner must carry them, or its slots are missed");
    }
    let shared = Shared {
        store: store.clone(),
        driller: driller.clone(),
        clock: clock.clone(),
        permits: permits.clone(),
        stopping: stopping.clone(),
        cancel: cancel.clone(),
        started: started.clone(),
        runner: options.runner.clone(),
        lease: options.lease,
    };

    loop {
        let now = clock.now();
        // A store that cannot be reached (a restarted server) is tried again at the next
        // round; running drills go on meanwhile.
        let mut unreachable = false;
        if stop_deadline.is_none() {
            let round = Round {
                entries: &entries,
                known_since: &known_since,
                online_since,
                now,
                options: &options,
            };
            if let Err(e) = round.run(&shared, &mut running, &mut tasks).await {
                tracing::error!("history store: {e}; trying again shortly");
                unreachable = true;
            }
        }
        if stop_deadline.is_some() && tasks.is_empty() {
            break;
        }

        let sleep_for = if stop_deadline.is_some() {
            MAX_SLEEP
        } else if unreachable {
            options.poll_every()
        } else {
            next_wake(&*store, &entries, now)
                .await
                .unwrap_or(None)
                .and_then(|t| Duration::try_from(t.duration_since(now)).ok())
                .unwrap_or(MAX_SLEEP)
                .min(options.poll_every())
        };
        tokio::select! {
            () = tokio::time::sleep(sleep_for) => {}
            Some(first) = tasks.join_next(), if !tasks.is_empty() => {
                // Every task finished by now, not one per round: a round reads the store for
                // every runbook, and a fleet's runner loses thousands of claims at once.
                let mut next = Some(first);
                while let Some(joined) = next {
                    match joined {
                        Ok(f) => {
                            running.remove(&f.runbook);
                            if !matches!(f.result, Err(Finish::Lost)) {
                                summary.finished += 1;
                            }
                            // Cancelled drills whose record says so: one whose checks had all
                            // finished keeps its verdict and is no interrupted drill.
                            if cancel.is_cancelled()
                                && matches!(&f.result, Ok(run) if run.outcome == Outcome::Error)
                            {
                                summary.interrupted += 1;
                            }
                            if let Err(e) = finish(&*store, f, &*clock).await {
                                tracing::error!("history store: {e}");
                            }
                        }
                        Err(e) => tracing::error!("a drill task failed: {e}"),
                    }
                    next = tasks.try_join_next();
                }
            }
            () = async {
                match stop_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                if cancel.is_cancelled() {
                    tracing::warn!(running = tasks.len(), wait = %human(INTERRUPT_WAIT), "interrupted drills did not stop in time; leaving them behind");
                    break;
                }
                tracing::warn!(running = tasks.len(), "grace period over; interrupting running drills");
                cancel.cancel();
                stop_deadline = Some(tokio::time::Instant::now() + INTERRUPT_WAIT);
            }
            msg = control.recv() => match msg {
                Some(Control::Reload(new)) => {
                    tracing::info!(runbooks = new.len(), "runbooks reloaded: {}", next_slots(&new, clock.now()));
                    let now = clock.now();
                    known_since.retain(|name, _| new.iter().any(|e| &e.name == name));
                    for e in &new {
                        known_since.entry(e.name.clone()).or_insert(now);
                    }
                    entries = new;
                }
                Some(Control::Stop) if stop_deadline.is_none() => {
                    stopping.cancel();
                    tracing::info!(running = tasks.len(), grace = %human(options.grace), "stopping: no new drills; waiting for running ones");
                    stop_deadline = Some(tokio::time::Instant::now() + options.grace);
                }
                Some(Control::Stop | Control::Abort) | None => {
                    tracing::warn!(running = tasks.len(), "stopping at once");
                    break;
                }
            },
        }
    }
    // Whatever is left stops what it can; its slot is abandoned below, as nobody waits for it.
    stopping.cancel();
    cancel.cancel();
    summary.left_running = tasks.len();
    summary.started = started.load(Ordering::SeqCst);
    let now = clock.now();
    for (runbook, held) in &running {
        let claimed = held.claimed.load(Ordering::SeqCst);
        // Shared with other runners: a drill left behind keeps its claim until the lease
        // lapses, then another runner runs the slot again within its start window; one that
        // waited to start is left to them at once.
        if store.shared() {
            continue;
        }
        let attempt = if claimed > 0 { claimed } else { held.seen };
        store
            .close_slot(
                runbook,
                held.slot,
                attempt,
                true,
                SlotState::Abandoned,
                "lifeboat schedule stopped before this drill finished",
                now,
            )
            .await?;
    }
    tasks.abort_all();
    Ok(summary)
}

/// What every job of the loop shares.
struct Shared<T> {
    store: Arc<dyn HistoryStore>,
    driller: Arc<dyn Driller<T>>,
    clock: Arc<dyn Clock>,
    permits: Arc<Semaphore>,
    stopping: CancellationToken,
    cancel: CancellationToken,
    /// Drills started (claimed) so far.
    started: Arc<AtomicUsize>,
    runner: String,
    lease: Duration,
}

/// One round of the loop: plan and record each runbook's due slots, then claim what is
/// claimable and close what no runner can still start.
struct Round<'a, T> {
    entries: &'a [Entry<T>],
    known_since: &'a HashMap<String, Timestamp>,
    online_since: Timestamp,
    now: Timestamp,
    options: &'a Options,
}

impl<T: Send + Sync + 'static> Round<'_, T> {
    async fn run(
        &self,
        shared: &Shared<T>,
        running: &mut HashMap<String, Held>,
        tasks: &mut JoinSet<Finished>,
    ) -> Result<(), StoreError> {
        let store = &*shared.store;
        let now = self.now;
        let unfinished = store.unfinished_slots(now).await?;
        let mut recorded = false;
        for entry in self.entries {
            let local = running
                .get(&entry.name)
                .map_or(Previous::Idle, |h| h.phase.get());
            // Overlap is fleet-wide: a live claim of this runbook by any runner is a drill
            // that still runs.
            let elsewhere = unfinished.iter().any(|u| {
                u.runbook == entry.name
                    && u.state == SlotState::Running
                    && !u.lapsed
                    && running.get(&u.runbook).is_none_or(|h| h.slot != u.slot)
            });
            let view = View {
                last_seen: store.last_slot(&entry.name).await?,
                online_since: self
                    .known_since
                    .get(&entry.name)
                    .copied()
                    .unwrap_or(self.online_since),
                now,
                previous: if local == Previous::Idle && elsewhere {
                    Previous::Running
                } else {
                    local
                },
            };
            let p = plan(&entry.schedule, &entry.policy, &view);
            if p.truncated {
                tracing::warn!(runbook = %entry.name, "more slots passed than are recorded one by one; the oldest are left out of the history");
            }
            for d in p.decisions {
                recorded |= apply(store, entry, d, now).await?;
            }
        }
        let unfinished = if recorded {
            store.unfinished_slots(now).await?
        } else {
            unfinished
        };
        // Oldest slot first, and runbooks due together in the order they were given (the
        // order they compete for a --max-concurrent place). A runbook this runner does not
        // have is another runner's business.
        let mut open: Vec<(&UnfinishedSlot, usize, &Entry<T>)> = unfinished
            .iter()
            .filter(|u| u.claimable())
            .filter_map(|u| {
                let (i, e) = self
                    .entries
                    .iter()
                    .enumerate()
                    .find(|(_, e)| e.name == u.runbook)?;
                Some((u, i, e))
            })
            .collect();
        open.sort_by_key(|(u, i, _)| (u.slot, *i));
        for (u, _, entry) in open {
            if running.get(&u.runbook).is_some_and(|h| h.slot == u.slot) {
                continue;
            }
            let window_end = u
                .slot
                .saturating_add(
                    jiff::SignedDuration::try_from(entry.policy.start_window)
                        .unwrap_or(jiff::SignedDuration::MAX),
                )
                .unwrap_or(Timestamp::MAX);
            if now > window_end {
                close_unstarted(store, u, &entry.runners, now).await?;
                continue;
            }
            // One drill of a runbook at a time on this runner; and only where it is placed.
            if running.contains_key(&u.runbook) || !placed(&self.options.labels, &entry.runners) {
                continue;
            }
            let trigger = match u.trigger.as_deref() {
                Some("catch-up") => Trigger::CatchUp,
                _ => Trigger::Schedule,
            };
            // A catch-up run starts at once; an on-time one after its jitter, counted from
            // the slot, so every runner comes to claim it at the same instant.
            let delay = match trigger {
                Trigger::Schedule => {
                    let due = u
                        .slot
                        .saturating_add(
                            jiff::SignedDuration::try_from(jitter_delay(
                                &entry.name,
                                u.slot,
                                entry.policy.jitter,
                            ))
                            .unwrap_or_default(),
                        )
                        .unwrap_or(u.slot);
                    Duration::try_from(due.duration_since(now)).unwrap_or_default()
                }
                Trigger::CatchUp => Duration::ZERO,
            };
            let phase = Phase::new(if delay.is_zero() {
                Previous::Queued
            } else {
                Previous::Jitter
            });
            let claimed = Arc::new(AtomicI64::new(0));
            running.insert(
                entry.name.clone(),
                Held {
                    slot: u.slot,
                    phase: phase.clone(),
                    seen: u.attempt,
                    claimed: claimed.clone(),
                },
            );
            let job = Job {
                runbook: entry.name.clone(),
                slot: u.slot,
                trigger,
                payload: entry.payload.clone(),
                cancel: shared.cancel.clone(),
                claim: None,
            };
            tasks.spawn(start(
                job,
                When {
                    delay,
                    window_end,
                    phase,
                    seen: u.attempt,
                    claimed,
                },
                Shared {
                    store: shared.store.clone(),
                    driller: shared.driller.clone(),
                    clock: shared.clock.clone(),
                    permits: shared.permits.clone(),
                    stopping: shared.stopping.clone(),
                    cancel: shared.cancel.clone(),
                    started: shared.started.clone(),
                    runner: shared.runner.clone(),
                    lease: shared.lease,
                },
            ));
        }
        Ok(())
    }
}

/// Closes a slot no runner started before its start window closed: `missed` when nobody
/// claimed it, `abandoned` when its runner's lease lapsed. Only while it is as seen.
async fn close_unstarted(
    store: &dyn HistoryStore,
    u: &UnfinishedSlot,
    wanted: &Labels,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (state, reason) = match u.state {
        // A runbook placed where no runner runs is told here, in the history and `status`.
        SlotState::Recorded if !wanted.is_empty() => (
            SlotState::Missed,
            format!(
                "no runner started it before its start_window closed; it runs only on runners with --labels {}",
                wanted
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        SlotState::Recorded => (
            SlotState::Missed,
            "no runner started it before its start_window closed".to_owned(),
        ),
        _ => (
            SlotState::Abandoned,
            format!(
                "the lease of runner {} (attempt {}) lapsed and its start_window closed",
                u.runner.as_deref().unwrap_or("?"),
                u.attempt
            ),
        ),
    };
    if store
        .close_slot(&u.runbook, u.slot, u.attempt, false, state, &reason, now)
        .await?
    {
        tracing::warn!(runbook = %u.runbook, slot = %u.slot, "slot {}: {reason}", state.as_str());
    }
    Ok(())
}

/// Records one decision; `true` when it recorded a slot to run (some runner claims it).
async fn apply<T>(
    store: &dyn HistoryStore,
    entry: &Entry<T>,
    decision: Decision,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let name = &entry.name;
    match decision {
        Decision::Missed { slot, reason } => {
            if store
                .record_slot(
                    name,
                    slot,
                    SlotState::Missed,
                    None,
                    Some(reason.describe()),
                    now,
                )
                .await?
            {
                tracing::warn!(runbook = %name, %slot, "slot missed: {}", reason.describe());
            }
            Ok(false)
        }
        Decision::SkippedOverlap { slot } => {
            if store
                .record_slot(
                    name,
                    slot,
                    SlotState::SkippedOverlap,
                    Some(Trigger::Schedule.as_str()),
                    Some("the previous drill of this runbook was still running"),
                    now,
                )
                .await?
            {
                tracing::warn!(runbook = %name, %slot, "slot skipped: the previous drill is still running");
            }
            Ok(false)
        }
        Decision::Run { slot, trigger } => {
            // Insert wins: whichever runner records it first decides what the slot is; a
            // slot recorded to run is then claimed by one runner.
            if !store
                .record_slot(
                    name,
                    slot,
                    SlotState::Recorded,
                    Some(trigger.as_str()),
                    None,
                    now,
                )
                .await?
            {
                tracing::debug!(runbook = %name, %slot, "slot already recorded by another runner");
            }
            Ok(true)
        }
    }
}

/// When a job may start: after `delay` (its jitter), and no later than `window_end`; `phase`
/// says which of the two it waits for, then that it runs. `seen` is the slot's attempt when
/// the job was made; `claimed` the attempt it claimed, once it did.
struct When {
    delay: Duration,
    window_end: Timestamp,
    phase: Arc<Phase>,
    seen: i64,
    claimed: Arc<AtomicI64>,
}

async fn start<T: Send + Sync + 'static>(
    mut job: Job<T>,
    When {
        delay,
        window_end,
        phase,
        seen,
        claimed,
    }: When,
    shared: Shared<T>,
) -> Finished {
    let (runbook, slot) = (job.runbook.clone(), job.slot);
    let done = |result| Finished {
        runbook: runbook.clone(),
        slot,
        seen,
        claim: None,
        result,
    };
    let Shared {
        store,
        driller,
        clock,
        permits,
        stopping,
        started,
        runner,
        lease,
        ..
    } = shared;
    if !delay.is_zero() {
        tracing::info!(%runbook, %slot, delay = %human(delay), "drill starts after its jitter");
        let delayed = tokio::select! {
            biased;
            () = stopping.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        };
        if !delayed {
            return done(Err(Finish::Cancelled));
        }
    }
    phase.set(Previous::Queued);
    let acquired = match permits.clone().try_acquire_owned() {
        Ok(p) => Ok(p),
        Err(_) => {
            // Waiting is not running: say so where history and status can see it, and the
            // runbook's next slot is planned knowing it (not as an overlap).
            tracing::info!(%runbook, %slot, "waiting for a place under --max-concurrent");
            if let Err(e) = store
                .note_slot(&runbook, slot, Some(WAITING_FOR_A_PLACE))
                .await
            {
                tracing::error!(%runbook, %slot, "cannot note that the slot waits: {e}");
            }
            let wait =
                Duration::try_from(window_end.duration_since(clock.now())).unwrap_or_default();
            tokio::select! {
                biased;
                () = stopping.cancelled() => Err(Finish::Cancelled),
                p = tokio::time::timeout(wait, permits.acquire_owned()) => match p {
                    Ok(Ok(p)) => Ok(p),
                    _ => Err(Finish::NoCapacity),
                },
            }
        }
    };
    let permit = match acquired {
        Ok(p) => p,
        Err(why) => return done(Err(why)),
    };
    let attempt = match store
        .claim_slot(&runbook, slot, &runner, lease, clock.now())
        .await
    {
        Ok(Some(attempt)) => attempt,
        Ok(None) => {
            tracing::debug!(%runbook, %slot, "another runner claimed the slot first; skipping it");
            phase.set(Previous::Idle);
            return done(Err(Finish::Lost));
        }
        Err(e) => {
            tracing::error!(%runbook, %slot, "cannot claim the slot; it is left to the next round or another runner: {e}");
            phase.set(Previous::Idle);
            return done(Err(Finish::Lost));
        }
    };
    claimed.store(attempt, Ordering::SeqCst);
    started.fetch_add(1, Ordering::SeqCst);
    phase.set(Previous::Running);
    tracing::info!(%runbook, %slot, trigger = job.trigger.as_str(), %runner, attempt, "starting drill");
    let claim = Arc::new(Claim {
        store: store.clone(),
        clock: clock.clone(),
        runbook: runbook.clone(),
        slot,
        runner,
        attempt,
        lease,
        renewed: std::sync::Mutex::new(tokio::time::Instant::now()),
        lost: AtomicBool::new(false),
    });
    let beat = CancellationToken::new();
    tokio::spawn(claim.clone().heartbeat(beat.clone()));
    job.claim = Some(claim.clone());
    let result = driller.drill(job).await.map_err(Finish::Failed);
    drop(permit);
    Finished {
        runbook,
        slot,
        seen,
        claim: Some((claim, beat)),
        result,
    }
}

async fn finish(
    store: &dyn HistoryStore,
    f: Finished,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let now = clock.now();
    let (runbook, slot) = (&f.runbook, f.slot);
    let Some((claim, beat)) = f.claim else {
        return match f.result {
            Err(Finish::Lost) | Ok(_) | Err(Finish::Failed(_)) => Ok(()),
            Err(Finish::NoCapacity) => {
                tracing::warn!(%runbook, %slot, "slot missed: --max-concurrent drills ran until its start window closed");
                store
                    .close_slot(
                        runbook,
                        slot,
                        f.seen,
                        false,
                        SlotState::Missed,
                        "--max-concurrent drills were running until its start_window closed",
                        now,
                    )
                    .await
                    .map(drop)
            }
            Err(Finish::Cancelled) if store.shared() => {
                tracing::info!(%runbook, %slot, "stopping before this slot's drill started; it is left to the other runners");
                Ok(())
            }
            Err(Finish::Cancelled) => {
                tracing::warn!(%runbook, %slot, "slot abandoned: the scheduler stopped before its drill started (it waited for its jitter or a place under --max-concurrent)");
                store
                    .close_slot(
                        runbook,
                        slot,
                        f.seen,
                        false,
                        SlotState::Abandoned,
                        "lifeboat schedule stopped before this drill could start",
                        now,
                    )
                    .await
                    .map(drop)
            }
        };
    };
    // The heartbeat goes on until the run is recorded: a store that cannot be reached for a
    // moment does not cost the claim.
    let result = match f.result {
        Ok(mut run) => {
            run.slot = Some(slot);
            run.runner = Some(claim.runner.clone());
            // As loud as what it means: a failed drill is a warning about the backup, one
            // that could not complete an error to look into; each says why.
            let evidence = run.evidence.as_deref();
            let (outcome, reason) = (run.outcome, run.reason.as_deref());
            match outcome {
                Outcome::Passed => {
                    tracing::info!(%runbook, %slot, %outcome, evidence, "drill finished");
                }
                Outcome::Failed => {
                    tracing::warn!(%runbook, %slot, %outcome, reason, evidence, "drill finished");
                }
                Outcome::Error => {
                    tracing::error!(%runbook, %slot, %outcome, reason, evidence, "drill finished");
                }
            }
            record_fenced(store, &claim, &run).await
        }
        Err(Finish::Failed(why)) => {
            tracing::error!(%runbook, %slot, "drill left no evidence: {why}");
            store
                .close_slot(
                    runbook,
                    slot,
                    claim.attempt,
                    true,
                    SlotState::Abandoned,
                    &why,
                    now,
                )
                .await
                .map(drop)
        }
        Err(_) => Ok(()),
    };
    beat.cancel();
    result
}

/// Records a claimed run, fenced by its attempt. While the store cannot be reached it is
/// tried again until the lease, as last renewed, would have lapsed; then the run is left
/// unrecorded (its evidence is written) and the slot to another runner or to be closed.
async fn record_fenced(
    store: &dyn HistoryStore,
    claim: &Claim,
    run: &RunRecord,
) -> Result<(), StoreError> {
    let (runbook, slot, attempt) = (&claim.runbook, claim.slot, claim.attempt);
    loop {
        match store.record_claimed_run(run, attempt).await {
            Ok(Fenced::Recorded) => return Ok(()),
            Ok(Fenced::LostTheSlot) => {
                tracing::warn!(%runbook, %slot, attempt, run_id = %run.run_id, "lost the slot (its lease lapsed and it was claimed again or closed): this run is not recorded");
                return Ok(());
            }
            Err(e) if claim.lapsed() => {
                tracing::error!(%runbook, %slot, attempt, run_id = %run.run_id, "cannot record the run, and its lease has lapsed; it is not recorded: {e}");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(%runbook, %slot, "cannot record the run yet; trying again: {e}");
                tokio::time::sleep(claim.retry_every()).await;
            }
        }
    }
}

/// Each runbook with its next slot after `now`, for the log: `a (next 2026-11-23T02:00:00Z),
/// b (no next slot)`.
pub fn next_slots<T>(entries: &[Entry<T>], now: Timestamp) -> String {
    let list: Vec<String> = entries
        .iter()
        .map(|e| match e.schedule.next_after(now) {
            Some(t) => format!("{} (next {t:.0})", e.name),
            None => format!("{} (no next slot)", e.name),
        })
        .collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// The earliest next slot over every runbook, counted from the newest slot each one has seen.
async fn next_wake<T>(
    store: &dyn HistoryStore,
    entries: &[Entry<T>],
    now: Timestamp,
) -> Result<Option<Timestamp>, StoreError> {
    let mut next: Option<Timestamp> = None;
    let mut seen = HashSet::new();
    for e in entries {
        if !seen.insert(&e.name) {
            continue;
        }
        let from = store.last_slot(&e.name).await?.map_or(now, |l| l.max(now));
        if let Some(t) = e.schedule.next_after(from) {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    }
    Ok(next)
}

/// A duration in a log line, spelt as every other surface spells one.
fn human(d: Duration) -> String {
    lifeboat_core::duration::human(d.as_secs_f64())
}

#[cfg(test)]
mod tests;
