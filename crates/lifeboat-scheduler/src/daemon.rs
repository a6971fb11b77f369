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

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::slots::{Decision, Policy, Previous, Schedule, Trigger, View, jitter_delay, plan};
use crate::store::{HistoryStore, RunRecord, SlotState, StoreError};

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
    pub payload: Arc<T>,
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

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub max_concurrent: usize,
    pub grace: Duration,
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
    result: Result<RunRecord, Finish>,
}

enum Finish {
    /// No place under `--max-concurrent` before the start window closed.
    NoCapacity,
    /// Stopped while waiting for its jitter or a place: the drill never started.
    Cancelled,
    Failed(String),
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
    // The runbooks with a slot started and not finished: that slot, and where its job is.
    let mut running: HashMap<String, (Timestamp, Arc<Phase>)> = HashMap::new();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut summary = Summary::default();
    let mut stop_deadline: Option<tokio::time::Instant> = None;
    // When each runbook started being scheduled by this process: slots before it passed while
    // nobody scheduled it (the catch-up policy applies), and a runbook added by a reload
    // starts at its next slot.
    let mut known_since: HashMap<String, Timestamp> = entries
        .iter()
        .map(|e| (e.name.clone(), online_since))
        .collect();

    loop {
        let now = clock.now();
        if stop_deadline.is_none() {
            for entry in &entries {
                let view = View {
                    last_seen: store.last_slot(&entry.name).await?,
                    online_since: known_since
                        .get(&entry.name)
                        .copied()
                        .unwrap_or(online_since),
                    now,
                    previous: running
                        .get(&entry.name)
                        .map_or(Previous::Idle, |(_, phase)| phase.get()),
                };
                let p = plan(&entry.schedule, &entry.policy, &view);
                if p.truncated {
                    tracing::warn!(runbook = %entry.name, "more slots passed than are recorded one by one; the oldest are left out of the history");
                }
                for d in p.decisions {
                    if let Some(job) = apply(&*store, entry, d, now, &cancel).await? {
                        summary.started += 1;
                        let window_end = job
                            .slot
                            .saturating_add(
                                jiff::SignedDuration::try_from(entry.policy.start_window)
                                    .unwrap_or(jiff::SignedDuration::MAX),
                            )
                            .unwrap_or(Timestamp::MAX);
                        // A catch-up run starts at once; an on-time one after its jitter.
                        let delay = match job.trigger {
                            Trigger::Schedule => {
                                jitter_delay(&entry.name, job.slot, entry.policy.jitter)
                            }
                            Trigger::CatchUp => Duration::ZERO,
                        };
                        let phase = Phase::new(if delay.is_zero() {
                            Previous::Queued
                        } else {
                            Previous::Jitter
                        });
                        running.insert(entry.name.clone(), (job.slot, phase.clone()));
                        tasks.spawn(start(
                            job,
                            stopping.clone(),
                            When {
                                delay,
                                window_end,
                                phase,
                            },
                            store.clone(),
                            driller.clone(),
                            clock.clone(),
                            permits.clone(),
                        ));
                    }
                }
            }
        }
        if stop_deadline.is_some() && tasks.is_empty() {
            break;
        }

        let sleep_for = if stop_deadline.is_some() {
            MAX_SLEEP
        } else {
            next_wake(&*store, &entries, now)
                .await?
                .and_then(|t| Duration::try_from(t.duration_since(now)).ok())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP)
        };
        tokio::select! {
            () = tokio::time::sleep(sleep_for) => {}
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                match joined {
                    Ok(f) => {
                        running.remove(&f.runbook);
                        summary.finished += 1;
                        // Cancelled drills whose record says so: one whose checks had all
                        // finished keeps its verdict and is no interrupted drill.
                        if cancel.is_cancelled()
                            && matches!(&f.result, Ok(run) if run.outcome == Outcome::Error)
                        {
                            summary.interrupted += 1;
                        }
                        finish(&*store, f, clock.now()).await?;
                    }
                    Err(e) => tracing::error!("a drill task failed: {e}"),
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
    let now = clock.now();
    for (runbook, (slot, _)) in &running {
        store
            .update_slot(
                runbook,
                *slot,
                SlotState::Abandoned,
                Some("lifeboat schedule stopped before this drill finished"),
                now,
            )
            .await?;
    }
    tasks.abort_all();
    Ok(summary)
}

/// Records one decision; returns the job to start when it is a run this call claimed.
async fn apply<T>(
    store: &dyn HistoryStore,
    entry: &Entry<T>,
    decision: Decision,
    now: Timestamp,
    cancel: &CancellationToken,
) -> Result<Option<Job<T>>, StoreError> {
    let name = &entry.name;
    match decision {
        Decision::Missed { slot, reason } => {
            store
                .record_slot(
                    name,
                    slot,
                    SlotState::Missed,
                    None,
                    Some(reason.describe()),
                    now,
                )
                .await?;
            tracing::warn!(runbook = %name, %slot, "slot missed: {}", reason.describe());
            Ok(None)
        }
        Decision::SkippedOverlap { slot } => {
            store
                .record_slot(
                    name,
                    slot,
                    SlotState::SkippedOverlap,
                    Some(Trigger::Schedule.as_str()),
                    Some("the previous drill of this runbook was still running"),
                    now,
                )
                .await?;
            tracing::warn!(runbook = %name, %slot, "slot skipped: the previous drill is still running");
            Ok(None)
        }
        Decision::Run { slot, trigger } => {
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
                // Another scheduler sharing the store claimed it first.
                tracing::info!(runbook = %name, %slot, "slot already recorded; not run again");
                return Ok(None);
            }
            tracing::info!(runbook = %name, %slot, trigger = trigger.as_str(), "starting drill");
            Ok(Some(Job {
                runbook: name.clone(),
                slot,
                trigger,
                payload: entry.payload.clone(),
                cancel: cancel.clone(),
            }))
        }
    }
}

/// When a job may start: after `delay` (its jitter), and no later than `window_end`; `phase`
/// says which of the two it waits for, then that it runs.
struct When {
    delay: Duration,
    window_end: Timestamp,
    phase: Arc<Phase>,
}

async fn start<T: Send + Sync + 'static>(
    job: Job<T>,
    stopping: CancellationToken,
    When {
        delay,
        window_end,
        phase,
    }: When,
    store: Arc<dyn HistoryStore>,
    driller: Arc<dyn Driller<T>>,
    clock: Arc<dyn Clock>,
    permits: Arc<Semaphore>,
) -> Finished {
    let (runbook, slot) = (job.runbook.clone(), job.slot);
    if !delay.is_zero() {
        tracing::info!(%runbook, %slot, delay = %human(delay), "drill starts after its jitter");
        let delayed = tokio::select! {
            biased;
            () = stopping.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        };
        if !delayed {
            return Finished {
                runbook,
                slot,
                result: Err(Finish::Cancelled),
            };
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
        Err(why) => {
            return Finished {
                runbook,
                slot,
                result: Err(why),
            };
        }
    };
    phase.set(Previous::Running);
    if let Err(e) = store
        .update_slot(&runbook, slot, SlotState::Running, None, clock.now())
        .await
    {
        tracing::error!(%runbook, %slot, "cannot mark the slot running: {e}");
    }
    let result = driller.drill(job).await.map_err(Finish::Failed);
    drop(permit);
    Finished {
        runbook,
        slot,
        result,
    }
}

async fn finish(store: &dyn HistoryStore, f: Finished, now: Timestamp) -> Result<(), StoreError> {
    match f.result {
        Ok(mut run) => {
            run.slot = Some(f.slot);
            // As loud as what it means: a failed drill is a warning about the backup, one
            // that could not complete an error to look into; each says why.
            let (runbook, slot, evidence) = (&f.runbook, f.slot, run.evidence.as_deref());
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
            store.record_run(&run).await
        }
        Err(Finish::NoCapacity) => {
            tracing::warn!(runbook = %f.runbook, slot = %f.slot, "slot missed: --max-concurrent drills ran until its start window closed");
            store
                .update_slot(
                    &f.runbook,
                    f.slot,
                    SlotState::Missed,
                    Some("--max-concurrent drills were running until its start_window closed"),
                    now,
                )
                .await
        }
        Err(Finish::Cancelled) => {
            tracing::warn!(runbook = %f.runbook, slot = %f.slot, "slot abandoned: the scheduler stopped before its drill started (it waited for its jitter or a place under --max-concurrent)");
            store
                .update_slot(
                    &f.runbook,
                    f.slot,
                    SlotState::Abandoned,
                    Some("lifeboat schedule stopped before this drill could start"),
                    now,
                )
                .await
        }
        Err(Finish::Failed(why)) => {
            tracing::error!(runbook = %f.runbook, slot = %f.slot, "drill left no evidence: {why}");
            store
                .update_slot(&f.runbook, f.slot, SlotState::Abandoned, Some(&why), now)
                .await
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
