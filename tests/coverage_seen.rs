//! Coverage where people look for it (issue 16, item 6): `lifeboat status` (and `--json`), the
//! daemon's Prometheus metrics and the period report, read from records whose `coverage`
//! section is filled, and from the history rows `RunRecord::from_evidence` makes of them.
//!
//! The records are real drills' records (`report::history_edited`), given a coverage section
//! before lifeboat's own writer chains them into the folder; the history store is filled
//! through its own API from those same `Evidence` values. The coverage phase itself, which
//! writes the section, is tested where it lives.

use jiff::Timestamp;
use lifeboat_core::evidence::{CoverageObject, CoverageRecord, Evidence, Outcome};
use lifeboat_scheduler::{RunRecord, SqliteStore};
use serde_json::Value;

use crate::history::start_schedule;
use crate::report::{HOSTILE_RUNBOOK, History, PLAN, history_edited};
use crate::util::{Runbook, signal, wait_exit};

const DAY: u64 = 86_400;

/// An object path a backup chose: markup, a terminal escape, a CSV formula and a line feed.
pub const HOSTILE_OBJECT: &str = "etc/<img src=x onerror=alert(1)>\u{1b}[31m\n=cmd|' /C calc'!A0";

fn object(path: &str, outcome: Outcome) -> CoverageObject {
    let failed = outcome != Outcome::Passed;
    CoverageObject {
        recovery_point: "2026-11-01T00-00-00Z".into(),
        path: path.into(),
        outcome,
        algorithm: lifeboat_core::Algorithm::Sha256,
        actual: Some(if failed { "0" } else { "a" }.repeat(64)),
        bytes: 4096,
        reason: failed.then(|| "hash mismatch: the object was changed".into()),
    }
}

/// Coverage after drill `i` of [`PLAN`]: rising across the period, one object failing in the
/// failed drill (index 2), behind in the last drill (index 6, after the period). The second
/// runbook has coverage only in its last drill (index 5).
fn coverage_of(i: usize, ev: &Evidence) -> Option<CoverageRecord> {
    let (ratio, on_pace, verified) = match i {
        0 => (0.1, true, vec![object("etc/app.conf", Outcome::Passed)]),
        1 => (0.3, true, vec![object("data/a.bin", Outcome::Passed)]),
        2 => (
            0.6,
            true,
            vec![
                object("data/b.bin", Outcome::Passed),
                object(HOSTILE_OBJECT, Outcome::Failed),
            ],
        ),
        3 => (0.9, true, vec![object("data/c.bin", Outcome::Passed)]),
        4 => return None,
        5 => (0.5, true, vec![object("docs/x", Outcome::Passed)]),
        6 => (0.42, false, vec![object("data/d.bin", Outcome::Passed)]),
        _ => return None,
    };
    Some(CoverageRecord {
        within_seconds: 30 * DAY,
        budget_bytes: Some(1 << 20),
        objects: 100,
        bytes: 100 * 4096,
        verified_within: (ratio * 100.0_f64).round() as u64,
        ratio,
        on_pace,
        behind_seconds: (!on_pace).then_some(44 * DAY + 7),
        never_verified: 100 - (ratio * 100.0_f64).round() as u64,
        oldest_verified: Some(ev.t0 - jiff::SignedDuration::from_hours(24 * 20)),
        phase_bytes: 4096 * verified.len() as u64,
        verified,
    })
}

/// The period-report history, every record given its coverage section.
fn covered_history() -> History {
    history_edited(HOSTILE_RUNBOOK, |i, ev| ev.coverage = coverage_of(i, ev))
}

/// `state.db` in the fixture folder, holding every record of `h` as a run.
fn record_history(h: &History) {
    let store = SqliteStore::open(&h.fx.root().join("state.db")).unwrap();
    for (ev, _) in h.records().values() {
        let ev: Evidence = serde_json::from_value(ev.clone()).unwrap();
        store
            .record_run(&RunRecord::from_evidence(&ev, None, None))
            .unwrap();
    }
}

fn ok_stdout(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn status_shows_coverage_as_the_last_drill_with_coverage_left_it() {
    let h = covered_history();
    record_history(&h);
    assert_eq!(PLAN.len(), 7);

    let json: Value = serde_json::from_str(&ok_stdout(
        &h.fx.run(&["status", "--state", "state.db", "--json"]),
    ))
    .unwrap();
    let by_name = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|s| s["runbook"] == name)
            .unwrap_or_else(|| panic!("no {name} in {json:#}"))
            .clone()
    };
    let payments = by_name("payments-files");
    let c = &payments["coverage"];
    assert_eq!(c["run_id"], "run-6", "{json:#}");
    assert_eq!(c["ratio"], 0.42);
    assert_eq!(c["on_pace"], false);
    assert_eq!(c["behind_seconds"], 44 * DAY + 7);
    assert_eq!(c["objects"], 100);
    assert_eq!(c["verified_within"], 42);
    assert_eq!(c["never_verified"], 58);
    assert_eq!(c["failed"], 0);
    assert_eq!(c["summary"], "42% behind: full in 45 days");
    let oldest: Timestamp = c["oldest_verified"].as_str().unwrap().parse().unwrap();
    assert_eq!(oldest, "2026-11-11T00:00:00Z".parse().unwrap());
    let second = by_name(HOSTILE_RUNBOOK);
    assert_eq!(second["coverage"]["summary"], "50% on pace", "{json:#}");

    let table = ok_stdout(&h.fx.run(&["status", "--state", "state.db"]));
    let header = table.lines().next().unwrap();
    assert!(header.contains("  COVERAGE  "), "{table}");
    let column = header.find("COVERAGE").unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("payments-files"))
        .unwrap();
    assert!(
        row[column..].starts_with("42% behind: full in 45 days  "),
        "{table}"
    );
}

#[test]
fn status_says_which_failed_and_a_runbook_without_coverage_shows_a_dash() {
    // Only the failed drill (index 2) and a drill of the second runbook without coverage.
    let h = history_edited("other", |i, ev| {
        ev.coverage = if i == 2 { coverage_of(2, ev) } else { None }
    });
    let store = SqliteStore::open(&h.fx.root().join("state.db")).unwrap();
    for (ev, _) in h.records().values() {
        let ev: Evidence = serde_json::from_value(ev.clone()).unwrap();
        if ev.run_id == "run-2" || ev.run_id == "run-4" {
            store
                .record_run(&RunRecord::from_evidence(&ev, None, None))
                .unwrap();
        }
    }
    drop(store);
    let table = ok_stdout(&h.fx.run(&["status", "--state", "state.db"]));
    let column = table.lines().next().unwrap().find("COVERAGE").unwrap();
    let cell = |runbook: &str| {
        let row = table.lines().find(|l| l.starts_with(runbook)).unwrap();
        row[column..].split("  ").next().unwrap().to_owned()
    };
    assert_eq!(cell("payments-files"), "60% on pace, 1 failed", "{table}");
    assert_eq!(cell("other"), "—", "{table}");
    let json: Value = serde_json::from_str(&ok_stdout(
        &h.fx.run(&["status", "--state", "state.db", "--json"]),
    ))
    .unwrap();
    let other = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["runbook"] == "other")
        .unwrap();
    assert_eq!(other["coverage"], Value::Null, "{json:#}");
}

#[test]
fn the_daemon_serves_coverage_metrics_for_runbooks_with_coverage() {
    let h = covered_history();
    record_history(&h);
    // A runbook the daemon schedules (once a year, so nothing runs while it is scraped) and
    // which has no coverage.
    let rb = Runbook {
        extra: "schedule: \"0 0 1 1 *\"\n".into(),
        ..h.fx.runbook()
    };
    let path = h.fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr_path) = start_schedule(
        &h.fx,
        &[
            "--metrics-addr".as_ref(),
            "127.0.0.1:0".as_ref(),
            path.as_os_str(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let addr = loop {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        if let Some(rest) = stderr.split("metrics served at http://").nth(1) {
            break rest.split("/metrics").next().unwrap().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "{stderr}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let response = crate::history::http_get(&addr, "/metrics");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let lines = |prefix: &str| -> Vec<&str> {
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines("lifeboat_coverage_ratio"),
        [
            "lifeboat_coverage_ratio{runbook=\"hr-<b>docs&\\\"'\"} 0.5",
            "lifeboat_coverage_ratio{runbook=\"payments-files\"} 0.42",
        ],
        "{body}"
    );
    let oldest: Timestamp = "2026-11-11T00:00:00Z".parse().unwrap();
    assert!(
        lines("lifeboat_coverage_oldest_verified_timestamp_seconds{runbook=\"payments-files\"}")
            == [format!(
                "lifeboat_coverage_oldest_verified_timestamp_seconds{{runbook=\"payments-files\"}} {}",
                oldest.as_second()
            )],
        "{body}"
    );
    for family in [
        "lifeboat_coverage_ratio",
        "lifeboat_coverage_oldest_verified_timestamp_seconds",
    ] {
        assert!(body.contains(&format!("# TYPE {family} gauge\n")), "{body}");
        assert!(body.contains(&format!("# HELP {family} ")), "{body}");
    }
    // The scheduled runbook has no coverage: no sample of it.
    assert!(
        !body.contains("lifeboat_coverage_ratio{runbook=\"drill-test\"}"),
        "{body}"
    );
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, std::time::Duration::from_secs(30));
    assert_eq!(code, 0);
}

#[test]
fn the_period_report_charts_coverage_and_lists_the_objects_that_failed() {
    let h = covered_history();
    let report = |ext: &str| {
        let out = h.out(&format!("period.{ext}"));
        let (code, log) = h.report_november(&out, &[]);
        assert_eq!(code, 0, "{log}");
        std::fs::read_to_string(out).unwrap()
    };

    let json: Value = serde_json::from_str(&report("json")).unwrap();
    let runbook = |name: &str| {
        json["runbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {json:#}"))
            .clone()
    };
    let payments = runbook("payments-files");
    // The period holds drills 1, 2 and 3 of the plan: 30%, 60%, 90%.
    let ratios: Vec<&Value> = payments["drill_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["coverage_ratio"])
        .collect();
    assert_eq!(ratios, [0.3, 0.6, 0.9], "{payments:#}");
    let c = &payments["stored_coverage"];
    assert_eq!(c["as_of_run_id"], "run-3", "{c:#}");
    assert_eq!(c["ratio"], 0.9);
    assert_eq!(c["on_pace"], true);
    assert_eq!(c["never_verified"], 10);
    assert_eq!(c["drills"], 3);
    assert_eq!(c["objects_verified"], 4);
    assert_eq!(c["failed_objects"], 1);
    assert_eq!(c["failed"][0]["run_id"], "run-2");
    assert_eq!(c["failed"][0]["path"], HOSTILE_OBJECT);
    assert_eq!(
        c["failed"][0]["reason"],
        "hash mismatch: the object was changed"
    );
    // The second runbook's first drill had no coverage phase; its last one had.
    let second = runbook(HOSTILE_RUNBOOK);
    assert_eq!(second["drill_list"][0]["coverage_ratio"], Value::Null);
    assert_eq!(second["stored_coverage"]["as_of_run_id"], "run-5");

    let md = report("md");
    assert!(
        md.contains("\n### Coverage of the stored objects\n"),
        "{md}"
    );
    assert!(md.contains("90% on pace"), "{md}");
    assert!(md.contains("10 objects never verified"), "{md}");
    assert!(md.contains("#### Objects that failed coverage (1)"), "{md}");

    let html = report("html");
    assert!(
        html.contains("aria-label=\"payments-files: coverage of the stored objects per drill\""),
        "{html}"
    );
    assert!(!html.contains("<img src=x"), "{html}");

    let csv = report("csv");
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(
            ",slot,coverage_ratio,coverage_on_pace,coverage_objects,coverage_verified_within,\
             coverage_phase_objects,coverage_phase_failed,object"
        ),
        "{header}"
    );
    let failed: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("coverage-failed,"))
        .collect();
    assert_eq!(failed.len(), 1, "{csv}");
    assert!(
        failed[0].starts_with("coverage-failed,payments-files,run-2,"),
        "{csv}"
    );
    // The object's line feed and escape show escaped: one record, one line.
    assert!(
        failed[0].contains(r"\e[31m\n'=cmd") || failed[0].contains(r"\e[31m\n=cmd"),
        "{csv}"
    );
}
