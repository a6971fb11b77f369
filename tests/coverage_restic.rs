//! Coverage of a restic repository (issue 16 item 5) through the real binary, on repositories
//! made by the real `restic` CLI: the objects are the packs, one ledger entry per pack
//! whichever snapshots share it, each read whole and checked (its SHA-256 against its id, its
//! header, every blob), daily drills simulated with `--now`.

use std::collections::{BTreeMap, BTreeSet};

use lifeboat_testkit::{ResticRepo, prng};
use serde_json::Value;

use crate::util::{Drill, Fixture};

pub(crate) const PASSWORD: &str = "restic-coverage-password";

/// T0 of the drill on day `day` (day 0 is 2026-11-01), 02:00.
fn t0(day: i64) -> String {
    jiff::civil::date(2026, 11, 1)
        .at(2, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .checked_add(jiff::Span::new().days(day))
        .unwrap()
        .timestamp()
        .to_string()
}

/// restic's `--time` for 01:00 on day `day`.
pub(crate) fn taken(day: i64) -> String {
    jiff::civil::date(2026, 11, 1)
        .at(1, 0, 0, 0)
        .checked_add(jiff::Span::new().days(day))
        .unwrap()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A snapshot a day for `days`, each holding `shared.bin` (the same bytes every day: its
/// packs shared by every snapshot) and `day.bin` (new bytes each day: new packs).
fn repository(fx: &Fixture, days: std::ops::Range<i64>) -> ResticRepo {
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let shared = prng::random_bytes(256 << 10, 1);
    for day in days {
        add_day(&repo, &shared, day);
    }
    repo
}

fn add_day(repo: &ResticRepo, shared: &[u8], day: i64) -> String {
    let own = prng::random_bytes(256 << 10, 100 + day as u64);
    repo.backup(
        &taken(day),
        "db01",
        &[],
        &[("srv/shared.bin", shared), ("srv/day.bin", &own)],
    )
}

/// A restic runbook keeping snapshots `retain` back, covering `within`, sampling one file.
pub(crate) fn runbook(
    fx: &Fixture,
    repo: &ResticRepo,
    retain: &str,
    within: &str,
) -> std::path::PathBuf {
    let text = format!(
        "version: 1\nname: restic-coverage\nsource:\n  url: {}\n  format: restic\n  restic:\n    \
         password_file: {}\nrecovery_points:\n  within: {retain}\nsample:\n  files: 1\n  seed: 3\n\
         coverage:\n  within: {within}\n",
        repo.url(),
        repo.password_file().display()
    );
    fx.write("restic-coverage.yaml", &text)
}

pub(crate) fn drill_on(fx: &Fixture, rb: &std::path::Path, day: i64) -> Drill {
    fx.drill_file(rb, &["--now", &t0(day)])
}

fn coverage(d: &Drill) -> &Value {
    let c = &d.evidence["coverage"];
    assert!(c.is_object(), "no coverage section\n{}", d.context());
    c
}

/// Every pack the drill's phase verified: (point, path, outcome, reason).
pub(crate) fn verified(d: &Drill) -> Vec<(String, String, String, String)> {
    coverage(d)["verified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["recovery_point"].as_str().unwrap().to_owned(),
                v["path"].as_str().unwrap().to_owned(),
                v["outcome"].as_str().unwrap().to_owned(),
                v["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `data/XX/ID` of every pack the index lists.
fn pack_paths(repo: &ResticRepo) -> BTreeSet<String> {
    repo.packs()
        .into_iter()
        .map(|p| format!("data/{}/{}", &p.id[..2], p.id))
        .collect()
}

#[test]
fn daily_drills_verify_every_pack_once_across_snapshots_and_keep_it_within_the_window() {
    let fx = Fixture::new();
    let repo = repository(&fx, 0..3);
    let shared = prng::random_bytes(256 << 10, 1);
    // Every snapshot retained, packs covered within 3 days: a third of them a day.
    let rb = runbook(&fx, &repo, "30d", "3d");
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    let mut reads: BTreeMap<String, usize> = BTreeMap::new();
    for day in 2..8 {
        if day >= 3 {
            add_day(&repo, &shared, day);
        }
        let before: BTreeSet<String> = last.keys().cloned().collect();
        let d = drill_on(&fx, &rb, day);
        d.assert_code(0);
        let c = coverage(&d);
        let packs = pack_paths(&repo);
        assert_eq!(
            c["objects"],
            packs.len() as u64,
            "day {day}\n{}",
            d.context()
        );
        let read = verified(&d);
        let paths: Vec<&String> = read.iter().map(|(_, p, _, _)| p).collect();
        let distinct: BTreeSet<&&String> = paths.iter().collect();
        assert_eq!(
            distinct.len(),
            paths.len(),
            "a pack read twice in one phase: {paths:?}"
        );
        for (point, path, outcome, reason) in &read {
            assert_eq!(
                point, "repository",
                "a pack is the repository's, not a snapshot's"
            );
            assert_eq!(outcome, "passed", "{path}: {reason}\n{}", d.context());
            assert!(packs.contains(path), "{path} is not a pack the index lists");
            last.insert(path.clone(), day);
            *reads.entry(path.clone()).or_default() += 1;
        }
        for v in c["verified"].as_array().unwrap() {
            assert_eq!(v["algorithm"], "sha256");
            let id = v["path"].as_str().unwrap().rsplit('/').next().unwrap();
            assert_eq!(v["actual"], id, "a pack's SHA-256 is its id");
        }
        // A new snapshot's new packs come first: every pack never verified is read before
        // any verified before.
        let new: Vec<&&String> = paths.iter().filter(|p| !before.contains(**p)).collect();
        let first_old = paths.iter().position(|p| before.contains(*p));
        if let Some(first_old) = first_old {
            assert!(
                paths[first_old..].iter().all(|p| before.contains(*p)),
                "day {day}: a never-verified pack read after one verified before: {paths:?}"
            );
            assert_eq!(new.len(), first_old);
        }
        if day >= 2 + 3 {
            // After `within` days from the first phase (day 2) every pack listed was verified
            // within the window. Not sooner: new packs are due at once and lead the order, so
            // the backlog the first phase found is due `within` after it, at day 5.
            for pack in &packs {
                let at = last.get(pack).copied();
                assert!(
                    at.is_some_and(|at| day - at < 3),
                    "day {day}: {pack} last verified {at:?}\n{}",
                    d.context()
                );
            }
            assert_eq!(c["ratio"], 1.0, "{}", d.context());
        }
    }
    // Shared packs are one object: over six daily drills with a 3-day window no pack was read
    // more than the two turns the window asks for, however many snapshots share it.
    assert!(
        reads.values().all(|n| *n <= 3),
        "a pack read more often than its turns: {reads:?}"
    );
}

#[test]
fn a_flipped_byte_in_one_pack_fails_the_drill_naming_the_pack_and_a_deleted_one_is_missing() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    // Day 0 holds old.bin alone; day 1 holds new.bin alone: old.bin's data pack is read by
    // no restore test of day 1, only by coverage.
    let old = prng::random_bytes(64 << 10, 7);
    repo.backup(&taken(0), "db01", &[], &[("srv/old.bin", &old)]);
    let old_packs: BTreeSet<String> = repo
        .packs()
        .into_iter()
        .filter(|p| p.is_data())
        .map(|p| p.id)
        .collect();
    let new = prng::random_bytes(64 << 10, 8);
    repo.backup(&taken(1), "db01", &[], &[("srv/new.bin", &new)]);
    let damaged = old_packs.iter().next().unwrap().clone();
    let path = format!("data/{}/{damaged}", &damaged[..2]);
    // A 1-day window: every drill reads every pack.
    let rb = runbook(&fx, &repo, "30d", "1d");
    drill_on(&fx, &rb, 1).assert_code(0);

    repo.flip_pack_byte(&damaged, 40);
    let d = drill_on(&fx, &rb, 2);
    d.assert_code(1);
    let read = verified(&d);
    let (_, _, outcome, reason) = read
        .iter()
        .find(|(_, p, _, _)| *p == path)
        .unwrap_or_else(|| panic!("{path} not read\n{}", d.context()));
    assert_eq!(outcome, "failed");
    assert!(reason.contains(&damaged), "{reason}");
    assert!(
        reason.contains("authentication failed") || reason.contains("pack hash mismatch"),
        "{reason}"
    );
    assert!(
        d.stdout.contains(&damaged) || d.stderr.contains(&damaged),
        "the pack is named\n{}",
        d.context()
    );
    // Only the damaged pack failed.
    assert_eq!(
        read.iter().filter(|r| r.2 == "failed").count(),
        1,
        "{}",
        d.context()
    );

    repo.delete_pack(&damaged);
    let d = drill_on(&fx, &rb, 3);
    d.assert_code(1);
    let read = verified(&d);
    let (_, _, outcome, reason) = read.iter().find(|(_, p, _, _)| *p == path).unwrap();
    assert_eq!(outcome, "failed");
    assert!(reason.starts_with("pack missing"), "{reason}");
    assert!(reason.contains(&damaged), "{reason}");
}

/// Scope item 4: restic coverage is seen where files coverage is. `lifeboat plan` shows the
/// packs the next phase would read (from the same listing a drill makes: the index and one
/// listing of `data/`), `status --json` the coverage the last drill left, and the period
/// report the runbook's coverage with a damaged pack among the objects that failed.
#[test]
fn restic_coverage_is_seen_in_plan_status_and_the_period_report() {
    let fx = Fixture::new();
    let repo = repository(&fx, 0..3);
    let packs = pack_paths(&repo);
    let rb = runbook(&fx, &repo, "30d", "3d");
    let d = drill_on(&fx, &rb, 2);
    d.assert_code(0);

    let plan = fx.run(&["plan", rb.to_str().unwrap(), "--now", &t0(3)]);
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "coverage  within 3d: {} stored objects",
            packs.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("next coverage phase reads"), "{stdout}");
    // Each pack the phase would read, with what the ledger knows of it.
    let shown: Vec<(&str, bool)> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("repository/"))
        .filter_map(|l| Some((l.split_whitespace().next()?, l.ends_with("never verified"))))
        .collect();
    assert!(!shown.is_empty(), "{stdout}");
    assert!(
        shown.iter().all(|(p, _)| packs.contains(*p)),
        "{shown:?}\n{packs:?}"
    );
    // The ledger the first drill left: what it read is known verified, and never-verified
    // packs come first.
    let read: BTreeSet<String> = verified(&d).into_iter().map(|v| v.1).collect();
    assert!(
        shown.iter().all(|(p, never)| *never != read.contains(*p)),
        "{shown:?}\n{read:?}\n{stdout}"
    );
    assert!(shown[0].1, "{stdout}");
    assert!(
        shown.windows(2).all(|w| w[0].1 || !w[1].1),
        "never-verified packs first: {stdout}"
    );

    // A damaged pack, read by the next drills.
    let damaged = repo.packs().into_iter().next().unwrap().id;
    repo.flip_pack_byte(&damaged, 40);
    let mut failed = 0;
    for day in 3..6 {
        let d = drill_on(&fx, &rb, day);
        // The restore test may sample a file in the damaged pack too: exit 1 either way.
        let bad = verified(&d).iter().any(|v| v.2 == "failed");
        failed += usize::from(bad);
        assert!([0, 1].contains(&d.code), "{}", d.context());
        if bad {
            d.assert_code(1);
        }
    }
    assert!(failed > 0, "no drill read the damaged pack");

    let status = fx.run(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    let mine = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["runbook"] == "restic-coverage")
        .unwrap_or_else(|| panic!("{json:#}"));
    let c = &mine["coverage"];
    assert_eq!(c["objects"], packs.len() as u64, "{json:#}");
    assert!(c["ratio"].as_f64().unwrap() > 0.0, "{json:#}");
    assert!(c["on_pace"].is_boolean(), "{json:#}");

    let out = fx.root().join("period.json");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let report = fx.run(&[
        "report",
        "--evidence-dir",
        fx.evidence_dir().to_str().unwrap(),
        // Records are placed in a period by when they ran (today), not by their T0.
        "--from",
        &today.to_string(),
        "--to",
        &today.tomorrow().unwrap().to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(report.status.code(), Some(0), "{report:?}");
    let period: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let r = period["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "restic-coverage")
        .unwrap_or_else(|| panic!("{period:#}"));
    let ratios = r["drill_list"].as_array().unwrap();
    assert_eq!(ratios.len(), 4, "{r:#}");
    assert!(
        ratios.iter().all(|d| d["coverage_ratio"].is_number()),
        "{r:#}"
    );
    let damaged_path = format!("data/{}/{damaged}", &damaged[..2]);
    let failed_objects = r["stored_coverage"]["failed"].as_array().unwrap();
    assert!(
        failed_objects
            .iter()
            .any(|f| f["path"] == damaged_path.as_str() && f["recovery_point"] == "repository"),
        "{r:#}"
    );
}

/// Scope item 4: a pack whose header disagrees with the index — its header rewritten by
/// someone holding the repository's key (the testkit's forge helper: decrypted, one entry's
/// blob type flipped, encrypted again), so it authenticates, parses and every blob in it
/// still verifies — fails its coverage read naming the pack and the blob the index and the
/// header disagree on, not only that the pack's bytes changed.
#[test]
fn a_pack_whose_forged_header_disagrees_with_the_index_fails_naming_pack_and_blob() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let old = prng::random_bytes(64 << 10, 17);
    repo.backup(&taken(0), "db01", &[], &[("srv/old.bin", &old)]);
    let pack = repo
        .packs()
        .into_iter()
        .find(|p| p.is_data())
        .expect("a data pack");
    let new = prng::random_bytes(64 << 10, 18);
    repo.backup(&taken(1), "db01", &[], &[("srv/new.bin", &new)]);
    let rb = runbook(&fx, &repo, "30d", "1d");
    drill_on(&fx, &rb, 1).assert_code(0);

    // The first entry's type byte: data becomes tree (compressed or not).
    repo.forge_pack_header(&pack.id, |header| header[0] ^= 1);
    let d = drill_on(&fx, &rb, 2);
    d.assert_code(1);
    let path = format!("data/{}/{}", &pack.id[..2], pack.id);
    let read = verified(&d);
    let (_, _, outcome, reason) = read
        .iter()
        .find(|(_, p, _, _)| *p == path)
        .unwrap_or_else(|| panic!("{path} not read\n{}", d.context()));
    assert_eq!(outcome, "failed");
    assert!(reason.contains(&pack.id), "{reason}");
    // The header's first entry is the blob at the pack's start.
    let blob = &pack.blobs.iter().find(|b| b.offset == 0).unwrap().id;
    assert!(
        reason.contains(&format!(
            "the index disagrees with its header on blob {blob}"
        )),
        "{reason}"
    );
    assert_eq!(
        read.iter().filter(|r| r.2 == "failed").count(),
        1,
        "{}",
        d.context()
    );
}
