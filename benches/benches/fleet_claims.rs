//! A fleet at scale (issue 17 item 7): 2,000 runbooks due every minute, 4 runners in this
//! process (each `lifeboat_scheduler::daemon::run` with its own PostgreSQL connection, as 4
//! processes would have), drills replaced by a no-op that confirms its claim (the fence's
//! round trip) and returns, against a throwaway PostgreSQL cluster the testkit starts
//! (`fsync=off`). Real time: the runners are started before a minute boundary and stopped
//! after `MINUTES` minutes of slots.
//!
//! ```text
//! cargo bench -p lifeboat-benches --bench fleet_claims -- [RUNBOOKS] [MINUTES] [RUNNERS]
//! ```
//!
//! It prints slots claimed per second (claims won over the span from each minute's first
//! claim to its last), the latency of the claim statement (p50, p99, max; won and lost
//! claims alike), the delay from each slot's instant to its claim (p50, p99), duplicates
//! (drills of one slot beyond the first: must be 0) and missed slots (every due slot not
//! `done`, by state).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use lifeboat_core::coverage::{
    Ledger, Listed, PhaseQuery, PhaseRecord, PointListing, Selection, Standing,
};
use lifeboat_core::evidence::Outcome;
use lifeboat_core::runbook::{CatchUp, ScheduleSpec};
use lifeboat_scheduler::daemon::{
    self, Control, DrillFuture, Driller, Entry, Job, Labels, Options, SystemClock,
};
use lifeboat_scheduler::slots::{Policy, Schedule};
use lifeboat_scheduler::store::postgres::Target;
use lifeboat_scheduler::store::{
    Fenced, HistoryEntry, HistoryStore, PostgresStore, RunRecord, SlotState, StoreFuture,
    UnfinishedSlot,
};

/// Times each claim; everything else goes straight to the store.
#[derive(Debug)]
struct Timed {
    inner: PostgresStore,
    claims: Arc<Mutex<Vec<(Duration, bool, Timestamp)>>>,
}

impl HistoryStore for Timed {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn last_slot<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Option<Timestamp>> {
        self.inner.last_slot(runbook)
    }
    fn record_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        trigger: Option<&'a str>,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        self.inner
            .record_slot(runbook, slot, state, trigger, reason, now)
    }
    fn note_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        reason: Option<&'a str>,
    ) -> StoreFuture<'a, ()> {
        self.inner.note_slot(runbook, slot, reason)
    }
    fn update_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        state: SlotState,
        reason: Option<&'a str>,
        now: Timestamp,
    ) -> StoreFuture<'a, ()> {
        self.inner.update_slot(runbook, slot, state, reason, now)
    }
    fn record_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, ()> {
        self.inner.record_run(run)
    }
    fn abandon_unfinished(&self, now: Timestamp) -> StoreFuture<'_, Vec<(String, Timestamp)>> {
        self.inner.abandon_unfinished(now)
    }
    fn shared(&self) -> bool {
        true
    }
    fn unfinished_slots(&self, now: Timestamp) -> StoreFuture<'_, Vec<UnfinishedSlot>> {
        self.inner.unfinished_slots(now)
    }
    fn claim_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        runner: &'a str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self
                .inner
                .claim_slot(runbook, slot, runner, lease, now)
                .await;
            let won = matches!(r, Ok(Some(_)));
            self.claims
                .lock()
                .unwrap()
                .push((t.elapsed(), won, Timestamp::now()));
            r
        })
    }
    fn renew_claim<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        lease: Duration,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        self.inner.renew_claim(runbook, slot, attempt, lease, now)
    }
    fn record_claimed_run<'a>(
        &'a self,
        run: &'a RunRecord,
        attempt: i64,
    ) -> StoreFuture<'a, Fenced> {
        self.inner.record_claimed_run(run, attempt)
    }
    fn close_slot<'a>(
        &'a self,
        runbook: &'a str,
        slot: Timestamp,
        attempt: i64,
        holder: bool,
        state: SlotState,
        reason: &'a str,
        now: Timestamp,
    ) -> StoreFuture<'a, bool> {
        self.inner
            .close_slot(runbook, slot, attempt, holder, state, reason, now)
    }
    fn history<'a>(&'a self, runbook: Option<&'a str>) -> StoreFuture<'a, Vec<HistoryEntry>> {
        self.inner.history(runbook)
    }
    fn coverage_ledger<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Ledger> {
        self.inner.coverage_ledger(runbook)
    }
    fn coverage_points<'a>(&'a self, runbook: &'a str) -> StoreFuture<'a, Vec<PointListing>> {
        self.inner.coverage_points(runbook)
    }
    fn stage_coverage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> StoreFuture<'a, ()> {
        self.inner.stage_coverage(runbook, t0, listing, objects)
    }
    fn retain_coverage<'a>(
        &'a self,
        runbook: &'a str,
        points: &'a [String],
    ) -> StoreFuture<'a, ()> {
        self.inner.retain_coverage(runbook, points)
    }
    fn plan_coverage<'a>(
        &'a self,
        runbook: &'a str,
        query: &'a PhaseQuery,
    ) -> StoreFuture<'a, Selection> {
        self.inner.plan_coverage(runbook, query)
    }
    fn record_coverage<'a>(
        &'a self,
        runbook: &'a str,
        record: &'a PhaseRecord,
    ) -> StoreFuture<'a, ()> {
        self.inner.record_coverage(runbook, record)
    }
    fn coverage_standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: Duration,
    ) -> StoreFuture<'a, Standing> {
        self.inner.coverage_standing(runbook, t0, within)
    }
}

/// Confirms the claim, as the real driller does before its record, and returns at once;
/// counts the drills of each slot.
struct NoOp {
    drills: Arc<Mutex<HashMap<(String, Timestamp), usize>>>,
}

impl Driller<()> for NoOp {
    fn drill(&self, job: Job<()>) -> DrillFuture {
        let drills = self.drills.clone();
        Box::pin(async move {
            if let Some(claim) = &job.claim
                && !claim.confirm().await
            {
                return Err("lost the slot".to_owned());
            }
            *drills
                .lock()
                .unwrap()
                .entry((job.runbook.clone(), job.slot))
                .or_default() += 1;
            let now = Timestamp::now();
            Ok(RunRecord {
                run_id: format!("{}@{}", job.runbook, job.slot),
                runbook: job.runbook,
                mode: "scheduled".into(),
                slot: None,
                started_at: now,
                finished_at: now,
                outcome: Outcome::Passed,
                reason: None,
                rto_seconds: None,
                rpo_seconds: None,
                rto_objective_seconds: None,
                rpo_objective_seconds: None,
                recovery_point: None,
                evidence: None,
                coverage: None,
                runner: None,
            })
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (runbooks, minutes, runners) = (arg(0, 2000), arg(1, 3), arg(2, 4));
    let cluster = lifeboat_testkit::postgres::Cluster::start();
    let target = Target {
        user: "postgres".into(),
        host: "127.0.0.1".into(),
        port: cluster.port(),
        dbname: cluster.fresh_database(),
    };
    let spec = ScheduleSpec {
        cron: "* * * * *".into(),
        timezone: "UTC".into(),
        catch_up: CatchUp::None,
        start_window: Duration::from_secs(50),
        jitter: Duration::ZERO,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let claims = Arc::new(Mutex::new(Vec::new()));
    let drills = Arc::new(Mutex::new(HashMap::new()));
    let stores: Vec<Arc<dyn HistoryStore>> = (0..runners)
        .map(|_| {
            Arc::new(Timed {
                inner: PostgresStore::open(&target, None).unwrap(),
                claims: claims.clone(),
            }) as Arc<dyn HistoryStore>
        })
        .collect();
    // Start 5 s before a minute boundary; stop `minutes` minutes of slots later.
    let now = Timestamp::now();
    let first = Schedule::new(&spec)
        .unwrap()
        .next_after(now + jiff::SignedDuration::from_secs(5))
        .unwrap();
    let wait = Duration::try_from(first.duration_since(Timestamp::now()))
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(5));
    eprintln!(
        "{runbooks} runbooks, {runners} runners, {minutes} minute(s) from {first}; starting in {wait:?}"
    );
    std::thread::sleep(wait);
    let last = first + jiff::SignedDuration::from_mins(minutes as i64 - 1);
    let stop_at = last + jiff::SignedDuration::from_secs(40);
    runtime.block_on(async {
        let mut handles = Vec::new();
        let mut controls = Vec::new();
        for (n, store) in stores.iter().enumerate() {
            let entries: Vec<Entry<()>> = (0..runbooks)
                .map(|i| Entry {
                    name: format!("rb-{i:05}"),
                    schedule: Schedule::new(&spec).unwrap(),
                    policy: Policy::of(&spec),
                    runners: Labels::new(),
                    payload: Arc::new(()),
                })
                .collect();
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let mut options = Options::new(100_000, Duration::from_secs(60));
            options.runner = format!("runner-{n}");
            handles.push(tokio::spawn(daemon::run(
                store.clone(),
                entries,
                Arc::new(NoOp {
                    drills: drills.clone(),
                }),
                Arc::new(SystemClock),
                rx,
                options,
            )));
            controls.push(tx);
        }
        let until =
            Duration::try_from(stop_at.duration_since(Timestamp::now())).unwrap_or_default();
        tokio::time::sleep(until).await;
        for tx in &controls {
            tx.send(Control::Stop).await.unwrap();
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
    });

    // Slots due in [first, last], as the store has them.
    let history = runtime.block_on(stores[0].history(None)).unwrap();
    let mut states: HashMap<&str, usize> = HashMap::new();
    let mut delays = Vec::new();
    let mut done = 0;
    for e in history
        .iter()
        .filter(|e| e.slot.is_some_and(|s| s >= first && s <= last))
    {
        *states
            .entry(e.state.map_or("-", SlotState::as_str))
            .or_default() += 1;
        if let (Some(run), Some(slot)) = (&e.run, e.slot) {
            done += 1;
            delays
                .push(Duration::try_from(run.started_at.duration_since(slot)).unwrap_or_default());
        }
    }
    let expected = runbooks * minutes;
    let recorded: usize = states.values().sum();
    let drills = drills.lock().unwrap();
    let duplicates: usize = drills.values().map(|n| n - 1).sum();
    let claims = claims.lock().unwrap();
    let mut latency: Vec<Duration> = claims.iter().map(|c| c.0).collect();
    latency.sort();
    delays.sort();
    let won: Vec<Timestamp> = claims.iter().filter(|c| c.1).map(|c| c.2).collect();
    // Per minute: from its first won claim to its last.
    let mut busy = Duration::ZERO;
    for m in 0..minutes {
        let lo = first + jiff::SignedDuration::from_mins(m as i64);
        let hi = lo + jiff::SignedDuration::from_mins(1);
        let in_minute: Vec<&Timestamp> = won.iter().filter(|t| **t >= lo && **t < hi).collect();
        if let (Some(a), Some(b)) = (in_minute.iter().min(), in_minute.iter().max()) {
            busy += Duration::try_from(b.duration_since(**a)).unwrap_or_default();
        }
    }
    println!("runbooks {runbooks}, runners {runners}, minutes {minutes}");
    println!("slots due {expected}, recorded {recorded}, done {done}; by state {states:?}");
    println!(
        "claims: {} statements, {} won; {:.0} won/s while claiming ({busy:.2?} busy)",
        claims.len(),
        won.len(),
        won.len() as f64 / busy.as_secs_f64().max(1e-9)
    );
    println!(
        "claim latency: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(&latency, 0.5),
        percentile(&latency, 0.99),
        latency.last().copied().unwrap_or_default()
    );
    println!(
        "slot to claim: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or_default()
    );
    println!(
        "duplicates {duplicates}; missed (due, not done) {}",
        expected - done
    );
    drop(cluster);
}
