//! Coverage at scale (issue 16 item 7): what one drill's coverage phase costs the history
//! store over a ledger of N objects (SQLite), through the store's own API, apart from
//! storage.
//!
//! Not a criterion bench: building a ledger of millions of rows takes minutes, so the ledger
//! is built once and one drill is timed over it, in a process of its own so that its peak
//! RSS is the drill's alone.
//!
//! ```text
//! cargo bench -p lifeboat-benches --bench coverage_scale -- build lagging 1000000 /tmp/cov.sqlite
//! cargo bench -p lifeboat-benches --bench coverage_scale -- drill lagging 1000000 /tmp/cov.sqlite
//! ```
//!
//! `plan` (same arguments) is `drill` stopped after the plan; `migrate` opens a ledger an
//! older lifeboat built and times its migration.
//!
//! The ledger: [`POINTS`] daily points, each of N / POINTS objects, each point sharing all but
//! 1 % of its paths with the one before (as daily backups do). `lagging`: 10 % of the
//! objects never verified, the rest verified over the last 31 days (some overdue);
//! `on-pace`: every object verified within the last 30 days, a thirtieth a day. The drill, a
//! day after the newest point: the oldest point left the window and a new one arrived. It
//! times the steps of `lifeboat_runner::coverage::Phase::run` apart from storage: the
//! points the ledger knows, each point's listing built (synthetic: what a source's listing
//! costs in CPU, not lifeboat's) and fingerprinted (unchanged points are not staged), the
//! new point staged, the gone one dropped, the plan, the verifications recorded (every
//! read passing), the standing. Peak RSS is the process's `VmHWM`.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use lifeboat_core::Algorithm;
use lifeboat_core::coverage::{
    self, Identity, Listed, ObjectKey, PhaseQuery, PhaseRecord, PointListing, Verification,
};
use lifeboat_core::evidence::Outcome;
use lifeboat_scheduler::SqliteStore;

const RUNBOOK: &str = "nightly-files";
const POINTS: usize = 30;
const WITHIN: Duration = Duration::from_secs(30 * 86_400);
/// Verifications per `record_coverage` while building.
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
fn objects_of(p: usize, per: usize) -> Vec<Listed> {
    let shift = per / 100;
    let point = point_id(p);
    (p * shift..p * shift + per)
        .map(|j| Listed {
            key: ObjectKey {
                point: point.clone(),
                path: format!("data/{:03}/customer-{j:08}.parquet", j % 997),
            },
            identity: Identity {
                size: 4096 + (j as u64 * 7919) % (1 << 20),
                tag: format!("mtime:2026-09-{:02}T03:{:02}:00Z", j % 28 + 1, j % 60),
            },
        })
        .collect()
}

/// The `n`th object's last verification, by the ledger's shape.
fn verification(lagging: bool, n: usize) -> Option<Verification> {
    let at = if lagging {
        // 10 % never verified; the rest over days 0..=30.
        if n.is_multiple_of(10) {
            return None;
        }
        day((n % 31) as i64)
    } else {
        // A thirtieth a day over days 1..=30: nothing overdue before day 31.
        day((n % 30) as i64 + 1)
    };
    Some(Verification {
        at,
        outcome: Outcome::Passed,
        algorithm: Algorithm::Sha256,
        digest: Some(format!("{:064x}", n as u128 * 0x9e37_79b9_7f4a_7c15)),
    })
}

fn listing(point: &str, objects: &[Listed]) -> PointListing {
    PointListing {
        point: point.to_owned(),
        fingerprint: coverage::fingerprint(objects),
    }
}

fn build(lagging: bool, total: usize, path: &Path) {
    let store = SqliteStore::open(path).expect("store");
    let per = total / POINTS;
    let started = Instant::now();
    let mut n = 0usize;
    for p in 0..POINTS {
        let objects = objects_of(p, per);
        store
            .stage_coverage(RUNBOOK, base(), &listing(&point_id(p), &objects), &objects)
            .expect("stage");
        for chunk in objects.chunks(CHUNK) {
            let record = PhaseRecord {
                verified: chunk
                    .iter()
                    .enumerate()
                    .filter_map(|(i, o)| Some((o.key.clone(), verification(lagging, n + i)?)))
                    .collect(),
                phase: None,
                run_id: String::new(),
                // Staged just now: never verified.
                last_verified: vec![None; chunk.len()],
            };
            n += chunk.len();
            store.record_coverage(RUNBOOK, &record).expect("record");
        }
    }
    // A phase a day: the pace is a day.
    for d in 0..=30 {
        let record = PhaseRecord {
            phase: Some(day(d)),
            run_id: format!("build-{d}"),
            ..PhaseRecord::default()
        };
        store.record_coverage(RUNBOOK, &record).expect("phase");
    }
    println!("built {n} rows in {:.1?}", started.elapsed());
}

/// One drill's phase over the ledger at `path`; without `record`, it stops after the plan
/// (planning alone, without the minute the record takes at 10 M).
fn drill(total: usize, path: &Path, record: bool) {
    let per = total / POINTS;
    let t0 = day(31);
    let store = SqliteStore::open(path).expect("store");
    let mut step = Instant::now();
    let lap = |step: &mut Instant, name: &str| {
        println!(
            "{name:>10}: {:>8.2?}  (VmHWM {} MiB)",
            step.elapsed(),
            hwm_mib()
        );
        *step = Instant::now();
    };
    let all = Instant::now();
    let known = store.coverage_points(RUNBOOK).expect("points");
    lap(&mut step, "points");
    // The window: points 1..=POINTS (point 0 left it, point POINTS is new), listed one at
    // a time; only a point whose fingerprint changed is staged.
    let mut listed = Duration::ZERO;
    let mut fingerprinted = Duration::ZERO;
    let mut staged = Duration::ZERO;
    let mut retained = Vec::new();
    for p in 1..=POINTS {
        let begun = Instant::now();
        let objects = objects_of(p, per);
        listed += begun.elapsed();
        let begun = Instant::now();
        let l = listing(&point_id(p), &objects);
        fingerprinted += begun.elapsed();
        if !known.contains(&l) {
            let begun = Instant::now();
            store
                .stage_coverage(RUNBOOK, t0, &l, &objects)
                .expect("stage");
            staged += begun.elapsed();
        }
        retained.push(l.point);
    }
    println!("{:>10}: {listed:>8.2?}", "list");
    println!("{:>10}: {fingerprinted:>8.2?}", "fingerprint");
    println!("{:>10}: {staged:>8.2?}", "stage");
    step = Instant::now();
    store.retain_coverage(RUNBOOK, &retained).expect("retain");
    lap(&mut step, "retain");
    let selection = store
        .plan_coverage(
            RUNBOOK,
            &PhaseQuery {
                t0,
                within: WITHIN,
                budget: None,
                schedule: None,
                seed: 42,
            },
        )
        .expect("plan");
    lap(&mut step, "plan");
    if !record {
        println!(
            "planned over {} objects: read {}; total {:.2?}, peak RSS {} MiB",
            total,
            selection.read.len(),
            all.elapsed(),
            hwm_mib()
        );
        return;
    }
    let record = PhaseRecord {
        verified: selection
            .read
            .iter()
            .map(|r| {
                let v = Verification {
                    at: t0,
                    outcome: Outcome::Passed,
                    algorithm: Algorithm::Sha256,
                    digest: Some("0".repeat(64)),
                };
                (selection.key(r), v)
            })
            .collect(),
        phase: Some(t0),
        run_id: "drill".to_owned(),
        last_verified: selection
            .read
            .iter()
            .map(|r| r.last.map(|l| l.at))
            .collect(),
    };
    store.record_coverage(RUNBOOK, &record).expect("record");
    lap(&mut step, "record");
    let standing = store
        .coverage_standing(RUNBOOK, t0, WITHIN)
        .expect("standing");
    lap(&mut step, "standing");
    println!(
        "drill over {} ledger objects: read {} objects ({} bytes, the pace needs {}); \
         ratio {:.3}, never verified {}; total {:.2?}, peak RSS {} MiB",
        standing.objects,
        selection.read.len(),
        selection.read_bytes,
        selection.needed_bytes,
        standing.ratio(),
        standing.never_verified,
        all.elapsed(),
        hwm_mib()
    );
}

/// Opens a ledger written by an older lifeboat: the time its migrations take.
fn migrate(path: &Path) {
    let started = Instant::now();
    let store = SqliteStore::open(path).expect("store");
    println!(
        "opened (migrated to schema {}) in {:.2?}, peak RSS {} MiB",
        store.schema_version().expect("version"),
        started.elapsed(),
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
    const USAGE: &str =
        "usage: coverage_scale build|drill|plan|migrate lagging|on-pace N SQLITE_FILE";
    // `cargo bench` passes `--bench`; the rest is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [mode, shape, n, path] => {
            let n: usize = n.parse().expect("N: a number of objects");
            let lagging = match shape.as_str() {
                "lagging" => true,
                "on-pace" => false,
                _ => return eprintln!("{USAGE}"),
            };
            match mode.as_str() {
                "build" => build(lagging, n, Path::new(path)),
                "drill" => drill(n, Path::new(path), true),
                "plan" => drill(n, Path::new(path), false),
                "migrate" => migrate(Path::new(path)),
                _ => eprintln!("{USAGE}"),
            }
        }
        // `cargo bench` with no arguments (all benches): nothing to do here.
        _ => eprintln!("{USAGE}"),
    }
}
