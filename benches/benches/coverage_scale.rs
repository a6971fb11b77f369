//! Coverage at scale (issue 16 item 7): what one drill's coverage planning costs over a ledger
//! of N objects, kept in the history store (SQLite) through the store's own API.
//!
//! Not a criterion bench: building a ledger of millions of rows takes minutes, so the ledger
//! is built once and one drill's planning is timed over it, in a process of its own so that
//! its peak RSS is the planning's alone.
//!
//! ```text
//! cargo bench -p lifeboat-benches --bench coverage_scale -- build 1000000 /tmp/cov.sqlite
//! cargo bench -p lifeboat-benches --bench coverage_scale -- drill 1000000 /tmp/cov.sqlite
//! ```
//!
//! The ledger: [`POINTS`] daily points, each of N / POINTS objects, each point sharing all but
//! 1 % of its paths with the one before (as daily backups do); 10 % of the objects never
//! verified, the rest verified over the last 30 days. The drill, a day after the newest
//! point: the oldest point left the window and a new one arrived (so 1/POINTS of the ledger
//! goes and as much is new), every other object is listed with its ledger identity. It times
//! the steps the runner's phase takes apart from storage: read the ledger
//! (`SqliteStore::coverage_ledger`), build the `Listed` values, `coverage::plan`, the update
//! and standing as `lifeboat_runner::coverage` builds them (every planned read passing), and
//! `SqliteStore::update_coverage`. Peak RSS is the process's `VmHWM`.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use lifeboat_core::Algorithm;
use lifeboat_core::coverage::{
    self, Identity, Ledger, LedgerRow, LedgerUpdate, Listed, ObjectKey, PlanInput, Verification,
};
use lifeboat_core::evidence::Outcome;
use lifeboat_scheduler::SqliteStore;

const RUNBOOK: &str = "nightly-files";
const POINTS: usize = 30;
const WITHIN: Duration = Duration::from_secs(30 * 86_400);
/// Rows per `update_coverage` while building.
const CHUNK: usize = 200_000;

fn base() -> Timestamp {
    "2026-10-01T00:00:00Z".parse().expect("a timestamp")
}

fn day(n: i64) -> Timestamp {
    base() + SignedDuration::from_hours(24 * n)
}

fn point_id(p: usize) -> String {
    format!("2026-10-{:02}T02:00:00Z-{p:04}", p % 28 + 1)
}

/// The objects of point `p` (of points each `per` objects long): paths shift by 1 % a day.
fn objects_of(p: usize, per: usize) -> impl Iterator<Item = Listed> {
    let shift = per / 100;
    let point = point_id(p);
    (p * shift..p * shift + per).map(move |j| Listed {
        key: ObjectKey {
            point: point.clone(),
            path: format!("data/{:03}/customer-{j:08}.parquet", j % 997),
        },
        identity: Identity {
            size: 4096 + (j as u64 * 7919) % (1 << 20),
            tag: format!("mtime:2026-09-{:02}T03:{:02}:00Z", j % 28 + 1, j % 60),
        },
    })
}

fn verification(n: usize) -> Option<Verification> {
    // 10 % never verified; the rest over the last 30 days.
    (!n.is_multiple_of(10)).then(|| Verification {
        at: day((n % 30) as i64),
        outcome: Outcome::Passed,
        algorithm: Algorithm::Sha256,
        digest: Some(format!("{:064x}", n as u128 * 0x9e37_79b9_7f4a_7c15)),
    })
}

fn build(total: usize, path: &Path) {
    let store = SqliteStore::open(path).expect("store");
    let per = total / POINTS;
    let started = Instant::now();
    let mut n = 0usize;
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<LedgerRow>, n: usize| {
        let update = LedgerUpdate {
            remove: Vec::new(),
            upsert: std::mem::take(chunk),
            phase: Some(day((n / CHUNK % 30) as i64)),
            run_id: format!("build-{n}"),
        };
        store.update_coverage(RUNBOOK, &update).expect("update");
    };
    for p in 0..POINTS {
        for listed in objects_of(p, per) {
            chunk.push(LedgerRow {
                key: listed.key,
                identity: listed.identity,
                first_seen: base(),
                verified: verification(n),
            });
            n += 1;
            if chunk.len() == CHUNK {
                flush(&mut chunk, n);
            }
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk, n);
    }
    println!("built {n} rows in {:.1?}", started.elapsed());
}

fn drill(total: usize, path: &Path) {
    let per = total / POINTS;
    let t0 = day(31);
    let store = SqliteStore::open(path).expect("store");
    let mut step = Instant::now();
    let mut lap = |name: &str| {
        println!(
            "{name:>10}: {:>8.2?}  (VmHWM {} MiB)",
            step.elapsed(),
            hwm_mib()
        );
        step = Instant::now();
    };
    let all = Instant::now();
    let ledger: Ledger = store.coverage_ledger(RUNBOOK).expect("ledger");
    lap("read");
    let ledger_rows = ledger.rows.len();
    // The window: points 1..=POINTS (point 0 left it, point POINTS is new).
    let listed: Vec<Listed> = (1..=POINTS).flat_map(|p| objects_of(p, per)).collect();
    lap("list");
    let plan = coverage::plan(
        listed,
        &PlanInput {
            t0,
            within: WITHIN,
            budget: None,
            schedule: None,
            seed: 42,
            ledger: &ledger,
        },
    );
    lap("plan");
    // As lifeboat_runner::coverage::Phase::run builds the update, every read passing.
    drop(ledger);
    let (listed_count, read_count) = (plan.objects.len(), plan.read.len());
    let mut written: Vec<bool> = plan.objects.iter().map(|o| o.changed).collect();
    let mut rows: Vec<LedgerRow> = plan.objects.into_iter().map(|o| o.row).collect();
    for &i in &plan.read {
        rows[i].verified = Some(Verification {
            at: t0,
            outcome: Outcome::Passed,
            algorithm: Algorithm::Sha256,
            digest: Some("0".repeat(64)),
        });
        written[i] = true;
    }
    let standing = coverage::standing(&rows, t0, WITHIN);
    let update = LedgerUpdate {
        remove: plan.gone,
        upsert: rows
            .into_iter()
            .zip(written)
            .filter_map(|(row, written)| written.then_some(row))
            .collect(),
        phase: Some(t0),
        run_id: "drill".to_owned(),
    };
    lap("update");
    store.update_coverage(RUNBOOK, &update).expect("update");
    lap("write");
    println!(
        "drill over {} ledger rows, {} listed: read {} objects, {} gone, {} written; \
         ratio {:.3}; total {:.2?}, peak RSS {} MiB",
        ledger_rows,
        listed_count,
        read_count,
        update.remove.len(),
        update.upsert.len(),
        standing.ratio(),
        all.elapsed(),
        hwm_mib()
    );
}

/// The process's peak resident set, MiB (Linux; 0 elsewhere).
fn hwm_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn main() {
    // `cargo bench` passes `--bench`; the rest is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [mode, n, path] => {
            let n: usize = n.parse().expect("N: a number of objects");
            match mode.as_str() {
                "build" => build(n, Path::new(path)),
                "drill" => drill(n, Path::new(path)),
                _ => eprintln!("usage: coverage_scale build|drill N SQLITE_FILE"),
            }
        }
        // `cargo bench` with no arguments (all benches): nothing to do here.
        _ => eprintln!("usage: coverage_scale build|drill N SQLITE_FILE"),
    }
}
