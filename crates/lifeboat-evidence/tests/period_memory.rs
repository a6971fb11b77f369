//! What a period report holds in memory, against how many drills the period has: each
//! record lists every file its drill checked (a nightly drill of a whole point of 100,000
//! files writes 100,000 of them), and a year of such records must not be held whole to say
//! how many drills passed and which paths were verified.
//!
//! This test binary counts every allocation its test thread makes while the report is built
//! (`lifeboat_testkit::counting`), over evidence folders written by lifeboat's own writer.

use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::Evidence;
use lifeboat_evidence::period::{self, Inputs, Period, PeriodReport};
use lifeboat_evidence::{NoPages, write_run};
use lifeboat_testkit::counting::{Counting, measure};
use sha2::Digest as _;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Files each drill checked: the same paths every night, as a whole point's drill has.
const FILES: usize = 3_000;

/// A nightly drill of `FILES` files on day `day` of November 2026; every file passed, or
/// every file failed (a disk that died) with `failed`.
fn drill(day: usize, failed: bool) -> Evidence {
    let at = format!("2026-11-{day:02}T02:00:00Z");
    let files: Vec<serde_json::Value> = (0..FILES)
        .map(|i| {
            let path = format!("srv/data/{:03}/file-{i:06}.dat", i % 97);
            let digest = hex::encode(sha2::Sha256::digest(path.as_bytes()));
            let (outcome, actual, reason) = if failed {
                (
                    "failed",
                    hex::encode(sha2::Sha256::digest(b"")),
                    Some("hash mismatch"),
                )
            } else {
                ("passed", digest.clone(), None)
            };
            serde_json::json!({
                "path": path, "outcome": outcome, "algorithm": "sha256",
                "expected": digest, "actual": actual, "bytes": 4096 + i,
                "object_bytes": 4096 + i, "object": path, "reason": reason,
            })
        })
        .collect();
    let outcome = if failed { "failed" } else { "passed" };
    serde_json::from_value(serde_json::json!({
        "format_version": 1, "run_id": format!("202611{day:02}T020000Z-nightly"),
        "runbook": { "name": "fileserver", "sha256": "00", "path": "fileserver.yaml" },
        "lifeboat_version": "0.1.0", "host": null, "mode": "scheduled", "verify_only": false,
        "t0": at, "started_at": at, "finished_at": at, "outcome": outcome, "reason": null,
        "source": { "url": "file:///srv/backups" },
        "objectives": { "rto_seconds": null, "rpo_seconds": null },
        "measured": { "recovery_point": "p1" },
        "sample": { "seed": 1, "files": null, "percent": null, "all": true },
        "recovery_points": [{
            "id": "p1", "time": at, "outcome": outcome, "reason": null,
            "started_at": at, "finished_at": at,
            "manifest": { "path": "SHA256SUMS", "algorithm": "sha256", "entries": FILES,
                          "sha256": "dd" },
            "files": files, "steps": [],
        }],
        "scratch": { "path": "/tmp/s", "kept": false }
    }))
    .expect("a valid record")
}

/// An evidence folder of `drills` nightly drills, the last of them failed when `last_failed`.
fn folder(dir: &Path, drills: usize, last_failed: bool) {
    for day in 1..=drills {
        let ev = drill(day, last_failed && day == drills);
        write_run(dir, &ev, &NoPages).expect("the record is written");
    }
}

/// The report of November over `dir`: its value, and the peak of what building it allocated.
fn report(dir: &Path) -> (PeriodReport, u64) {
    let (built, peak, _) = measure(|| {
        period::build(Inputs {
            evidence_dir: dir,
            period: Period {
                from: "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap(),
                to: "2026-11-30T23:59:59Z".parse::<Timestamp>().unwrap(),
            },
            runbook: None,
            public_key: None,
            gaps: None,
            now: "2026-12-01T08:00:00Z".parse().unwrap(),
        })
    });
    (built.expect("the report is built"), peak)
}

#[test]
fn a_period_report_holds_its_drills_summed_up_not_every_file_their_records_list() {
    let few = tempfile::tempdir().unwrap();
    folder(few.path(), 3, false);
    let many = tempfile::tempdir().unwrap();
    folder(many.path(), 24, true);

    let (small, small_peak) = report(few.path());
    let (large, large_peak) = report(many.path());
    assert!(small_peak > 0, "nothing counted: is `Counting` installed?");
    eprintln!("3 drills: {small_peak} bytes at the peak; 24 drills: {large_peak}");

    // The report says what the records say.
    assert_eq!(small.totals.drills, 3);
    let r = &large.runbooks[0];
    assert_eq!((r.drills, r.passed, r.failed), (24, 23, 1));
    assert_eq!(r.coverage.files_checked, 24 * FILES as u64);
    assert_eq!(r.coverage.files_verified, 23 * FILES as u64);
    assert_eq!(r.coverage.distinct_files_verified, FILES);
    assert_eq!(r.drill_list.len(), 24);

    // The failed drill's details name some of its files and count the rest.
    let details = &r.failures[0].details;
    assert_eq!(details.len(), 21, "first: {:?}", details.first());
    assert!(details[0].starts_with("point p1: srv/data/000/file-000000.dat: hash mismatch"));
    assert_eq!(
        details[20],
        format!(
            "point p1: {} more files failed: the drill's record names them",
            FILES - 20
        )
    );

    // Eight times the drills, about the same memory: one record read at a time, and what
    // is kept of each is its row. Held whole, the 24 records took 7 times the 3's.
    assert!(
        large_peak < small_peak * 2,
        "24 drills peaked at {large_peak} bytes, 3 at {small_peak}"
    );
}
