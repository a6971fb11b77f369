//! Coverage (issue 16) through the real binary: daily drills simulated with `--now`, each
//! verifying its share of every retained point's stored objects, the ledger kept in the
//! history store between them (SQLite, and once side by side with PostgreSQL).

use std::collections::{BTreeMap, BTreeSet};

use lifeboat_testkit::{Format, prng};
use serde_json::Value;

use crate::util::{Drill, Fixture, NAME_FORMAT};

/// Files per point, each of [`FILE_BYTES`].
const FILES: usize = 6;
const FILE_BYTES: usize = 1024;

/// The id of the point taken at 01:00 on day `day` (day 0 is 2026-11-01).
fn point_id(day: i64) -> String {
    let t = jiff::civil::date(2026, 11, 1)
        .at(1, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .checked_add(jiff::Span::new().days(day))
        .unwrap();
    t.strftime(NAME_FORMAT).to_string()
}

/// T0 of the drill on day `day`: 02:00, an hour after that day's point.
fn t0(day: i64) -> String {
    let t = jiff::civil::date(2026, 11, 1)
        .at(2, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .checked_add(jiff::Span::new().days(day))
        .unwrap();
    t.timestamp().to_string()
}

/// A point for each of `days`, each holding [`FILES`] random files.
fn points(fx: &Fixture, days: std::ops::Range<i64>) {
    for day in days {
        let id = point_id(day);
        let mut p = fx.set.point(&id);
        for f in 0..FILES {
            p = p.random_file(
                &format!("data/f{f}.bin"),
                FILE_BYTES,
                prng::seed_of(&format!("{id}/{f}")),
            );
        }
        p.manifest(Format::Sha256sum);
    }
}

/// A runbook keeping points `retain` back, covering them `within`, with `budget`; the restore
/// test verifies one sampled file of the newest point.
fn runbook(fx: &Fixture, retain: &str, within: &str, budget: Option<&str>) -> std::path::PathBuf {
    let budget = budget
        .map(|b| format!("\n  budget: {b}"))
        .unwrap_or_default();
    let rb = crate::util::Runbook {
        within: Some(retain.into()),
        rpo: None,
        sample: Some("{files: 1, seed: 3}".into()),
        extra: format!("coverage:\n  within: {within}{budget}\n"),
        ..fx.runbook()
    };
    fx.write("runbook.yaml", &rb.yaml())
}

fn drill_on(fx: &Fixture, runbook: &std::path::Path, day: i64, args: &[&str]) -> Drill {
    let t0 = t0(day);
    let mut all = vec!["--now", t0.as_str()];
    all.extend_from_slice(args);
    fx.drill_file(runbook, &all)
}

fn coverage(d: &Drill) -> &Value {
    let c = &d.evidence["coverage"];
    assert!(c.is_object(), "no coverage section\n{}", d.context());
    c
}

/// `(point, path)` of every object the drill's phase verified, in the order it read them.
fn verified(d: &Drill) -> Vec<(String, String)> {
    coverage(d)["verified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["recovery_point"].as_str().unwrap().to_owned(),
                v["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn daily_drills_verify_every_retained_object_within_the_window_and_keep_it_so() {
    let fx = Fixture::new();
    points(&fx, 0..10);
    // Three points retained (today's and the two before), a 3-day coverage window.
    let rb = runbook(&fx, "2d2h", "3d", None);
    // When each object was last verified (T0 day), rebuilt from the records alone.
    let mut ledger: BTreeMap<(String, String), i64> = BTreeMap::new();
    for day in 0..10 {
        let d = drill_on(&fx, &rb, day, &[]);
        d.assert_code(0);
        let c = coverage(&d);
        let retained: Vec<String> = (day - 2..=day).filter(|d| *d >= 0).map(point_id).collect();
        assert_eq!(
            c["objects"],
            (retained.len() * FILES) as u64,
            "day {day}\n{}",
            d.context()
        );
        let read = verified(&d);
        assert!(
            c["verified"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["outcome"] == "passed" && v["actual"].is_string()),
            "{}",
            d.context()
        );
        if day == 0 {
            // A first drill reads its share (a third), not the whole backup.
            assert_eq!(read.len(), FILES / 3, "{}", d.context());
            assert_eq!(c["on_pace"], true);
        }
        if day >= 3 {
            // Today's point is new: its objects are read first.
            let today = point_id(day);
            assert!(
                read.iter().take(FILES).all(|(p, _)| *p == today),
                "day {day}: {read:?}"
            );
        }
        ledger.retain(|(p, _), _| retained.contains(p));
        for key in read {
            ledger.insert(key, day);
        }
        if day >= 3 {
            // Every object of every retained point verified within the window, as the record
            // says and as the records rebuild it.
            assert_eq!(
                c["verified_within"],
                c["objects"],
                "day {day}\n{}",
                d.context()
            );
            assert_eq!(c["ratio"], 1.0);
            assert_eq!(c["never_verified"], 0);
            assert_eq!(ledger.len(), retained.len() * FILES, "day {day}");
            assert!(
                ledger.values().all(|at| day - at <= 3),
                "day {day}: {ledger:?}"
            );
            let oldest: jiff::Timestamp = c["oldest_verified"].as_str().unwrap().parse().unwrap();
            let window_start: jiff::Timestamp = t0(day - 3).parse().unwrap();
            assert!(oldest >= window_start, "day {day}: oldest {oldest}");
        }
    }
}

#[test]
fn a_corrupt_object_in_an_old_point_fails_only_the_drills_that_read_it() {
    let fx = Fixture::new();
    points(&fx, 0..3);
    // Bit rot: a byte flipped, the size and modification time unchanged, so storage still
    // says it is the object the ledger knows.
    let id = point_id(0);
    let path = fx.source().join(&id).join("data/f2.bin");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let rb = runbook(&fx, "30d", "4d", None);
    let corrupt = (id.clone(), "data/f2.bin".to_owned());
    let mut failed_days = Vec::new();
    // Points 0..2 only: no new point arrives, so each 4-day cycle reads every object once.
    for day in 2..10 {
        let d = drill_on(&fx, &rb, day, &[]);
        let read = verified(&d);
        if read.contains(&corrupt) {
            d.assert_code(1);
            assert_eq!(d.outcome(), "failed");
            let reason = d.evidence["reason"].as_str().unwrap();
            assert!(
                reason.contains(&format!(
                    "coverage: 1 stored object failed: {id}/data/f2.bin"
                )),
                "{reason}"
            );
            let v = coverage(&d)["verified"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["path"] == "data/f2.bin" && v["recovery_point"] == id.as_str())
                .unwrap()
                .clone();
            assert_eq!(v["outcome"], "failed");
            assert!(
                v["reason"].as_str().unwrap().contains("hash mismatch"),
                "{v}"
            );
            // The restore test of the newest point passed: the point is not blamed.
            assert_eq!(d.point(&point_id(2))["outcome"], "passed");
            failed_days.push(day);
        } else {
            d.assert_code(0);
        }
    }
    // Read once in each 4-day cycle: found within the first, and again in the second.
    assert_eq!(failed_days.len(), 2, "{failed_days:?}");
    assert!(failed_days[0] <= 5, "{failed_days:?}");
    assert!(failed_days[1] - failed_days[0] <= 4, "{failed_days:?}");
}

#[test]
fn a_budget_too_small_for_the_pace_is_reported_behind_without_failing() {
    let fx = Fixture::new();
    points(&fx, 0..3);
    // 18 KiB to verify within a day, 2 KiB allowed per drill.
    let rb = runbook(&fx, "30d", "1d", Some("2KiB"));
    let d = drill_on(&fx, &rb, 2, &[]);
    d.assert_code(0);
    let c = coverage(&d);
    assert_eq!(verified(&d).len(), 2, "{}", d.context());
    assert_eq!(c["phase_bytes"], 2048);
    assert_eq!(c["budget_bytes"], 2048);
    assert_eq!(c["on_pace"], false);
    assert_eq!(c["behind_seconds"], 9 * 86_400);
    assert!(
        d.stdout
            .contains("behind: at this budget full coverage takes 9 days"),
        "{}",
        d.context()
    );
    assert!(
        d.report_md()
            .contains("behind: at this budget full coverage takes 9 days")
    );
    // The next drill reads the next two, never the same ones.
    let next = drill_on(&fx, &rb, 3, &[]);
    next.assert_code(0);
    let first: BTreeSet<_> = verified(&d).into_iter().collect();
    assert!(verified(&next).iter().all(|k| !first.contains(k)));
}

#[test]
fn the_ledger_lives_in_the_default_history_store_and_no_state_is_refused() {
    let fx = Fixture::new();
    points(&fx, 0..2);
    let rb = runbook(&fx, "30d", "10d", None);
    let refused = drill_on(&fx, &rb, 1, &["--no-state"]);
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains("`coverage` keeps its ledger in the history store"),
        "{}",
        refused.context()
    );
    assert!(!fx.evidence_dir().exists(), "nothing was run");

    // No --state: the default store (the fixture's XDG_DATA_HOME) keeps the ledger, so the
    // second drill reads objects the first did not.
    let first = drill_on(&fx, &rb, 1, &[]);
    first.assert_code(0);
    assert!(fx.data_home().join("lifeboat/state.db").is_file());
    let second = drill_on(&fx, &rb, 2, &[]);
    second.assert_code(0);
    let a: BTreeSet<_> = verified(&first).into_iter().collect();
    let b: BTreeSet<_> = verified(&second).into_iter().collect();
    assert!(!a.is_empty() && !b.is_empty());
    assert!(a.is_disjoint(&b), "{a:?} {b:?}");
    assert_eq!(
        coverage(&second)["verified_within"],
        (a.len() + b.len()) as u64
    );
}

#[test]
fn a_runbook_without_coverage_has_no_coverage_section() {
    let fx = Fixture::new();
    points(&fx, 0..1);
    let rb = crate::util::Runbook {
        rpo: None,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--now", &t0(0)]);
    d.assert_code(0);
    assert!(d.evidence.get("coverage").is_none(), "{}", d.context());
}

#[test]
fn plan_shows_what_the_next_coverage_phase_would_read_without_writing_the_ledger() {
    let fx = Fixture::new();
    points(&fx, 0..2);
    let rb = runbook(&fx, "30d", "2d", None);
    let plan = |day: i64| {
        let out = fx.run(&[
            "plan",
            rb.to_str().unwrap(),
            "--now",
            &t0(day),
            "--seed",
            "5",
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // No store yet: a first phase, over a day's interval, and nothing created.
    let first = plan(1);
    assert!(
        first.contains("coverage  within 2d: 12 stored objects (12288 bytes) in the retained points; 0 verified within the window, 12 never verified"),
        "{first}"
    );
    assert!(
        first.contains("next coverage phase reads 6 objects (6144 bytes; the pace needs 6144 bytes, a drill every 1d from one drill a day: no drills or schedule yet); on pace:"),
        "{first}"
    );
    assert_eq!(first.matches("  never verified\n").count(), 6, "{first}");
    assert!(!fx.data_home().join("lifeboat/state.db").exists());

    // The plan is the drill's: the same seed reads the objects the plan listed.
    let d = drill_on(&fx, &rb, 1, &["--seed", "5"]);
    d.assert_code(0);
    for (point, path) in verified(&d) {
        assert!(
            first.contains(&format!("    {point}/{path}  1024 bytes  never verified")),
            "{point}/{path} not planned\n{first}"
        );
    }
    // After it, the plan reads the ledger (and twice the same: it writes nothing).
    let next = plan(2);
    assert_eq!(next, plan(2));
    assert!(
        next.contains("6 verified within the window, 6 never verified"),
        "{next}"
    );
    for (point, path) in verified(&d) {
        assert!(!next.contains(&format!("{point}/{path}  ")), "{next}");
    }
}

#[test]
fn a_pg_base_backup_is_covered_file_by_file_with_its_own_checksums() {
    use crate::pg::{CRC_POINT, SHA_POINT};
    let fx = crate::pg::fixture(&[CRC_POINT, SHA_POINT]);
    let older = fx.source().join(CRC_POINT);
    let rel = crate::pg::relation_file(&older);
    let path = older.join(&rel);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4000] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let mut rb = fx.runbook();
    rb.manifest_path = "backup_manifest".into();
    rb.rpo = None;
    rb.sample = Some("{files: 1, seed: 1}".into());
    // A one-day window at a drill a day: this phase reads every file of both backups.
    rb.extra = "coverage: {within: 1d}\n".into();
    let yaml = rb
        .yaml()
        .replace("format: sha256sum", "format: pg_backup_manifest");
    let runbook = fx.write("runbook.yaml", &yaml);
    let d = fx.drill_file(&runbook, &[]);
    d.assert_code(1);
    let c = coverage(&d);
    let listed = |point: &str| {
        let m = std::fs::read(fx.source().join(point).join("backup_manifest")).unwrap();
        let m: Value = serde_json::from_slice(&m).unwrap();
        m["Files"].as_array().unwrap().len()
    };
    // Every file the manifests list, and the WAL segment each backup needs to start.
    assert_eq!(
        c["objects"],
        (listed(CRC_POINT) + listed(SHA_POINT) + 2) as u64,
        "{}",
        c["verified"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["path"].as_str().unwrap().starts_with("pg_wal/"))
            .count()
    );
    assert_eq!(
        c["verified"].as_array().unwrap().len() as u64,
        c["objects"].as_u64().unwrap()
    );
    let failed: Vec<&Value> = c["verified"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", d.context());
    assert_eq!(failed[0]["recovery_point"], CRC_POINT);
    assert_eq!(failed[0]["path"], rel.as_str());
    assert_eq!(failed[0]["algorithm"], "crc32c");
    assert!(
        d.evidence["reason"].as_str().unwrap().contains(&format!(
            "coverage: 1 stored object failed: {CRC_POINT}/{rel}"
        )),
        "{}",
        d.context()
    );
}

#[test]
fn restarting_the_daemon_in_the_middle_keeps_the_ledger_and_reads_nothing_twice() {
    use crate::history::{start_schedule, wait_for_runs};
    let fx = Fixture::new();
    points(&fx, 0..2);
    // A drill a second, a 30-second window: one object a drill, the backlog spread out.
    let rb = crate::util::Runbook {
        rpo: None,
        sample: Some("{files: 1, seed: 3}".into()),
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\ncoverage:\n  within: 30s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let stop = |mut daemon: crate::util::Daemon| {
        crate::util::signal(&daemon.0, "-TERM");
        let status = daemon.0.wait().unwrap();
        assert_eq!(status.code(), Some(0));
    };
    let (daemon, stderr) = start_schedule(&fx, &[path.as_os_str()]);
    wait_for_runs(&fx, 3, &stderr);
    stop(daemon);
    let (daemon, stderr) = start_schedule(&fx, &[path.as_os_str()]);
    let before = crate::history::history_json(&fx, &[])
        .iter()
        .filter(|e| e["state"] == "done")
        .count();
    let runs = wait_for_runs(&fx, before + 3, &stderr);
    stop(daemon);

    let mut read: Vec<(String, String)> = Vec::new();
    let mut drills = 0;
    for r in runs.iter().filter(|e| e["state"] == "done") {
        let text = std::fs::read_to_string(r["evidence"].as_str().unwrap()).unwrap();
        let ev: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(ev["outcome"], "passed", "{ev:#}");
        let verified = ev["coverage"]["verified"].as_array().unwrap();
        assert!(!verified.is_empty(), "every drill reads its share: {ev:#}");
        for v in verified {
            read.push((
                v["recovery_point"].as_str().unwrap().to_owned(),
                v["path"].as_str().unwrap().to_owned(),
            ));
        }
        drills += 1;
    }
    assert!(drills >= 6);
    let distinct: BTreeSet<_> = read.iter().cloned().collect();
    // Within the first window nothing is due twice: the restarted daemon went on from the
    // ledger instead of starting over.
    if read.len() < 2 * FILES {
        assert_eq!(distinct.len(), read.len(), "an object read twice: {read:?}");
    }
    // The ledger holds exactly what the records say was verified.
    let plan = fx.run(&["plan", path.to_str().unwrap(), "--state", "state.db"]);
    let plan = String::from_utf8(plan.stdout).unwrap();
    assert!(
        plan.contains(&format!(
            "{} verified within the window, {} never verified",
            distinct.len(),
            2 * FILES - distinct.len()
        )),
        "{plan}\n{read:?}"
    );
}

/// What the real phase recorded is what people see: after daily drills (one of which reads
/// a corrupt object of an old point), `lifeboat status` shows the last drill's coverage as
/// its record has it, and the period report lists the object that failed, by point and path.
#[test]
fn status_and_the_period_report_show_what_the_phase_recorded() {
    let fx = Fixture::new();
    points(&fx, 0..3);
    let id = point_id(0);
    let path = fx.source().join(&id).join("data/f2.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let rb = runbook(&fx, "30d", "4d", None);
    let drills: Vec<Drill> = (2..7).map(|day| drill_on(&fx, &rb, day, &[])).collect();
    let failing: Vec<&Drill> = drills.iter().filter(|d| d.code == 1).collect();
    assert_eq!(
        failing.len(),
        1,
        "one drill reads the corrupt object in 4 days"
    );
    let last = drills.last().unwrap();
    let c = coverage(last);

    let out = fx.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = status
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["runbook"] == "drill-test")
        .unwrap_or_else(|| panic!("no drill-test in {status:#}"));
    let shown = &row["coverage"];
    assert_eq!(shown["run_id"], last.evidence["run_id"], "{shown:#}");
    for field in [
        "ratio",
        "on_pace",
        "objects",
        "verified_within",
        "never_verified",
    ] {
        assert_eq!(shown[field], c[field], "{field}: {shown:#} against {c:#}");
    }
    let percent = (c["ratio"].as_f64().unwrap() * 100.0).floor() as u64;
    let table = String::from_utf8(fx.run(&["status"]).stdout).unwrap();
    assert!(table.contains(&format!("{percent}% ")), "{table}");

    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
    let from = today.date().yesterday().unwrap().to_string();
    let to = today.date().tomorrow().unwrap().to_string();
    let report = fx.root().join("period.json");
    let evidence = fx.evidence_dir();
    let out = fx.run(&[
        "report",
        "--evidence-dir",
        evidence.to_str().unwrap(),
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let runbook = &json["runbooks"][0];
    let stored = &runbook["stored_coverage"];
    assert_eq!(
        stored["as_of_run_id"], last.evidence["run_id"],
        "{stored:#}"
    );
    assert_eq!(stored["failed_objects"], 1, "{stored:#}");
    assert_eq!(stored["failed"][0]["run_id"], failing[0].evidence["run_id"]);
    assert_eq!(stored["failed"][0]["path"], "data/f2.bin");
    assert_eq!(stored["failed"][0]["recovery_point"], id.as_str());
    let ratios: Vec<&Value> = runbook["drill_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["coverage_ratio"])
        .collect();
    let recorded: Vec<&Value> = drills.iter().map(|d| &coverage(d)["ratio"]).collect();
    assert_eq!(ratios, recorded);
}

#[test]
fn an_object_rewritten_in_storage_is_verified_again_by_the_next_drill() {
    // Issue 16 item 7: a drill stages a point only when its listing's fingerprint changed.
    // An object rewritten in place (same bytes, a new modification time) changes its point's
    // listing, so the next drill must see it as new again and read it first.
    let fx = Fixture::new();
    points(&fx, 0..3);
    let rb = runbook(&fx, "10d", "30d", None);
    let d = drill_on(&fx, &rb, 2, &[]);
    d.assert_code(0);
    // Nothing changed: the next drill reads only its share, never a whole point.
    let d = drill_on(&fx, &rb, 3, &[]);
    d.assert_code(0);
    assert_eq!(verified(&d).len(), 1, "{}", d.context());

    let object = fx.source().join(point_id(0)).join("data/f3.bin");
    let file = std::fs::File::options().write(true).open(&object).unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400))
        .unwrap();
    drop(file);
    let d = drill_on(&fx, &rb, 4, &[]);
    d.assert_code(0);
    assert_eq!(
        verified(&d).first(),
        Some(&(point_id(0), "data/f3.bin".to_owned())),
        "{}",
        d.context()
    );
}

/// The ledger in PostgreSQL (`--state postgres://…`) plans what the ledger in SQLite plans:
/// the same daily drills over the same points, one with each store, verify the same objects
/// in the same order, find the same corrupt object (failing the same drill), and report the
/// same coverage, day by day.
#[test]
fn the_ledger_in_postgres_plans_the_same_phases_as_in_sqlite() {
    let cluster = lifeboat_testkit::postgres::Cluster::shared();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        cluster.port(),
        cluster.fresh_database()
    );
    let (sqlite, postgres) = (Fixture::new(), Fixture::new());
    let mut runbooks = Vec::new();
    for fx in [&sqlite, &postgres] {
        points(fx, 0..6);
        let path = fx.source().join(point_id(0)).join("data/f2.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        runbooks.push(runbook(fx, "3d2h", "3d", None));
    }
    let mut failed = 0;
    for day in 0..6 {
        let a = drill_on(&sqlite, &runbooks[0], day, &["--state", "state.db"]);
        let b = drill_on(&postgres, &runbooks[1], day, &["--state", &url]);
        assert_eq!(
            a.code,
            b.code,
            "day {day}\n{}\n{}",
            a.context(),
            b.context()
        );
        failed += usize::from(b.code == 1);
        assert_eq!(verified(&a), verified(&b), "day {day}\n{}", b.context());
        for key in [
            "objects",
            "verified_within",
            "ratio",
            "on_pace",
            "never_verified",
            "oldest_verified",
        ] {
            assert_eq!(coverage(&a)[key], coverage(&b)[key], "day {day}: {key}");
        }
    }
    assert_eq!(
        failed, 1,
        "the corrupt object fails the one drill that reads it"
    );
    assert!(!postgres.root().join("state.db").exists());
}

/// Issue 16 item 7: a coverage phase takes each object's storage identity (size and e-tag)
/// from its point's listing, not from a HEAD request per object. Counted in moto's own
/// request log: after two drills of a bucket, the only HEAD requests are the manifest reads,
/// and the listings are there. (The restore test verifies every file of its point, so its
/// projection asks storage for no sizes: every other request is the coverage phase's.)
#[test]
fn a_coverage_phase_on_s3_identifies_objects_from_the_listing_not_a_head_each() {
    use lifeboat_testkit::cloud;
    let fx = Fixture::new();
    points(&fx, 0..3);
    let servers = cloud::servers();
    let bucket = cloud::unique_name("cov-list");
    servers.moto.upload_dir(&bucket, "backups", fx.source());
    let rb = crate::util::Runbook {
        within: Some("10d".into()),
        rpo: None,
        extra: "coverage:\n  within: 2d\n".into(),
        ..fx.runbook()
    };
    let yaml = crate::conformance::runbook_yaml(
        &rb,
        &servers.moto.url(&bucket, "backups"),
        &servers.moto.options(),
    );
    let path = fx.write("runbook-s3.yaml", &yaml);
    for day in [2, 3] {
        let d = drill_on(&fx, &path, day, &[]);
        d.assert_code(0);
        assert!(!verified(&d).is_empty(), "{}", d.context());
    }
    let log = std::fs::read_to_string(servers.run_dir.join("moto.log")).unwrap();
    let ours: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("/{bucket}")))
        .collect();
    let heads: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|l| l.contains("\"HEAD "))
        .collect();
    assert!(
        heads.iter().all(|l| l.contains("/SHA256SUMS ")),
        "a HEAD per object, not the listing:\n{}",
        heads.join("\n")
    );
    assert!(
        ours.iter().any(|l| l.contains("list-type=2")),
        "no listing at all:\n{}",
        ours.join("\n")
    );
}

/// Scope item 5: the record comes before the ledger. A drill whose record cannot be written
/// (a step replaces the evidence folder with a file, so the write after the phase fails)
/// exits 3 and leaves the ledger as it was: the ledger never claims a verification that no
/// record proves. The next drill, whose record is written, verifies those objects and its
/// ledger then agrees with the records.
#[test]
fn the_ledger_is_told_only_after_the_record_that_proves_its_verifications() {
    let fx = Fixture::new();
    points(&fx, 0..2);
    let evidence = fx.root().join("broken-evidence");
    std::fs::create_dir_all(&evidence).unwrap();
    let rb = crate::util::Runbook {
        within: Some("10d".into()),
        rpo: None,
        sample: Some("{files: 1, seed: 3}".into()),
        extra: format!(
            "coverage:\n  within: 2d\nsteps:\n  - restore: {{}}\n  - shell: \"rm -rf '{e}' && touch '{e}'\"\n",
            e = evidence.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let t = t0(1);
    let out = fx
        .command()
        .arg("drill")
        .arg(&path)
        .arg("--evidence-dir")
        .arg(&evidence)
        .arg("--scratch-dir")
        .arg(fx.scratch_dir())
        .args(["--now", t.as_str(), "--state", "state.db"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(evidence.is_file(), "the step ran: {stderr}");
    let plan = fx.run(&[
        "plan",
        path.to_str().unwrap(),
        "--state",
        "state.db",
        "--now",
        t.as_str(),
    ]);
    let plan = String::from_utf8(plan.stdout).unwrap();
    assert!(
        plan.contains(&format!(
            "0 verified within the window, {} never verified",
            2 * FILES
        )),
        "the ledger ran ahead of the records:\n{plan}"
    );
}

/// Item 8: a restart in the middle of a `within` window changes nothing. Daily drills
/// simulated with `--now` on two stores: on one they run one after the other; on the other,
/// the drill of day 4 is killed (SIGKILL, mid-drill, as a crashed host or a restarted
/// daemon leaves it) and run again by a new process. Every day's phase verifies the same
/// objects in the same order on both, and both ledgers end the same.
#[test]
fn a_drill_killed_mid_window_and_run_again_verifies_what_an_unbroken_run_verifies() {
    let fx = Fixture::new();
    points(&fx, 0..8);
    let hold = fx.root().join("hold");
    let held = fx.root().join("held");
    let rb = crate::util::Runbook {
        within: Some("2d2h".into()),
        rpo: None,
        sample: Some("{files: 1, seed: 3}".into()),
        extra: format!(
            "coverage:\n  within: 3d\nsteps:\n  - restore: {{}}\n  - shell: \"if [ -e '{}' ]; then touch '{}'; sleep 10; fi\"\n",
            hold.display(),
            held.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let phases = |state: &str, crash_on: Option<i64>| -> Vec<Vec<(String, String)>> {
        let mut out = Vec::new();
        for day in 0..8 {
            if crash_on == Some(day) {
                std::fs::write(&hold, "").unwrap();
                let t = t0(day);
                let (mut drill, _, _) =
                    fx.spawn_drill(&path, &["--now", t.as_str(), "--state", state]);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while !held.exists() {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the drill never got to its step"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                drill.0.kill().unwrap();
                drill.0.wait().unwrap();
                std::fs::remove_file(&hold).unwrap();
                std::fs::remove_file(&held).unwrap();
            }
            let d = drill_on(&fx, &path, day, &["--state", state]);
            d.assert_code(0);
            out.push(verified(&d));
        }
        out
    };
    let unbroken = phases("unbroken.db", None);
    let restarted = phases("restarted.db", Some(4));
    for (day, (a, b)) in unbroken.iter().zip(&restarted).enumerate() {
        assert_eq!(a, b, "day {day}");
    }
    let plan = |state: &str| {
        let out = fx.run(&[
            "plan",
            path.to_str().unwrap(),
            "--state",
            state,
            "--now",
            t0(8).as_str(),
        ]);
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(plan("unbroken.db"), plan("restarted.db"));
}
