//! The history store from the outside: `lifeboat drill --state` records, `lifeboat history`
//! and `lifeboat status` read it back, with the real binary.

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::util::{DAY1, Daemon, Fixture, Runbook, signal, wait_exit};

fn json_of(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON: {e}\n{text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub(crate) fn history_json(fx: &Fixture, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["history", "--state", "state.db", "--json"];
    args.extend_from_slice(extra);
    let out = fx.run(&args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of(&out).as_array().unwrap().clone()
}

#[test]
fn drill_with_state_records_each_run_as_history_shows_it() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let passed = fx.drill(&fx.runbook(), &["--state", "state.db"]);
    passed.assert_code(0);
    // A second runbook whose RPO objective is missed: a failed run, recorded too.
    let strict = Runbook {
        name: "strict".into(),
        rpo: Some("12h".into()),
        ..fx.runbook()
    };
    let failed = fx.drill(&strict, &["--state", "state.db"]);
    failed.assert_code(1);

    let all = history_json(&fx, &[]);
    assert_eq!(all.len(), 2, "{all:#?}");
    for (entry, drill) in all.iter().zip([&passed, &failed]) {
        let ev = &drill.evidence;
        assert_eq!(entry["runbook"], ev["runbook"]["name"]);
        assert_eq!(entry["run_id"], ev["run_id"]);
        assert_eq!(entry["outcome"], ev["outcome"]);
        assert_eq!(entry["mode"], "automatic");
        assert_eq!(entry["slot"], Value::Null);
        assert_eq!(entry["rto_seconds"], ev["measured"]["rto_seconds"]);
        assert_eq!(entry["rpo_seconds"], ev["measured"]["rpo_seconds"]);
        assert_eq!(
            entry["rpo_objective_seconds"],
            ev["objectives"]["rpo_seconds"]
        );
        // Same instant as the evidence, though maybe written with other precision.
        let started: jiff::Timestamp = entry["started_at"].as_str().unwrap().parse().unwrap();
        let expected: jiff::Timestamp = ev["started_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(started, expected);
        assert_eq!(
            entry["evidence"].as_str(),
            drill.evidence_path.as_ref().and_then(|p| p.to_str())
        );
    }
    assert_eq!(all[0]["outcome"], "passed");
    assert_eq!(all[1]["outcome"], "failed");
    assert_eq!(all[1]["rpo_seconds"].as_f64(), Some(86_400.0));

    let only = history_json(&fx, &["--runbook", "strict"]);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["run_id"], failed.evidence["run_id"]);
    assert!(history_json(&fx, &["--runbook", "nobody"]).is_empty());

    // The table: a header, then one line per run, oldest first.
    let out = fx.run(&["history", "--state", "state.db"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("WHEN"), "{text}");
    assert!(
        lines[1].contains("drill-test") && lines[1].contains("passed"),
        "{text}"
    );
    assert!(
        lines[2].contains("strict") && lines[2].contains("failed"),
        "{text}"
    );
    assert!(lines[2].contains("1d"), "RPO in human form: {text}");
}

#[test]
fn status_shows_the_last_outcome_and_the_next_slot() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let nightly = Runbook {
        extra: "schedule: \"30 2 * * *\"\ntimezone: America/New_York\n".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&nightly, &["--state", "state.db"]);
    d.assert_code(0);
    // An unscheduled runbook never run: listed because its file is given.
    let other = Runbook {
        name: "adhoc".into(),
        ..fx.runbook()
    };
    fx.write("adhoc.yaml", &other.yaml());

    // 8 March 2026 is spring-forward day in New York: 02:30 does not exist, so the slot is
    // the first instant after the gap, 03:00 EDT = 07:00 UTC.
    let out = fx.run(&[
        "status",
        "--state",
        "state.db",
        "--json",
        "--now",
        "2026-03-07T12:00:00Z",
        "runbook.yaml",
        "adhoc.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let list = json_of(&out);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:#?}");
    let (adhoc, nightly) = (&list[0], &list[1]);
    assert_eq!(nightly["runbook"], "drill-test");
    assert_eq!(nightly["last_outcome"], "passed");
    assert_eq!(nightly["last_run_id"], d.evidence["run_id"]);
    assert_eq!(nightly["next_due"], "2026-03-08T07:00:00Z");
    assert_eq!(nightly["schedule"], "30 2 * * * (America/New_York)");
    assert_eq!(adhoc["runbook"], "adhoc");
    assert_eq!(adhoc["last_outcome"], Value::Null);
    assert_eq!(adhoc["next_due"], Value::Null);

    let out = fx.run(&[
        "status",
        "--state",
        "state.db",
        "--now",
        "2026-03-07T12:00:00Z",
        "runbook.yaml",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("RUNBOOK "), "{text}");
    assert!(
        lines[1].starts_with("drill-test  passed  ")
            && lines[1].ends_with("2026-03-08T07:00:00Z  30 2 * * * (America/New_York)"),
        "{text}"
    );
}

#[test]
fn status_after_a_failure_says_when_the_runbook_last_passed() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let passed = fx.drill(&fx.runbook(), &["--state", "state.db"]);
    passed.assert_code(0);
    // Now the RPO objective cannot be met: the next drill fails.
    let strict = Runbook {
        rpo: Some("1h".into()),
        ..fx.runbook()
    };
    fx.drill(&strict, &["--state", "state.db"]).assert_code(1);

    let out = fx.run(&["status", "--state", "state.db", "--json"]);
    let list = json_of(&out);
    assert_eq!(list[0]["last_outcome"], "failed", "{list:#}");
    let passed_at = passed.evidence["started_at"].as_str().unwrap();
    assert_eq!(list[0]["last_passed_at"], passed_at);

    let out = fx.run(&["status", "--state", "state.db"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    // RUNBOOK LAST AT LAST-PASSED MISSED NEXT SCHEDULE, in whole seconds.
    assert_eq!(row[..2], ["drill-test", "failed"], "{text}");
    assert!(row[3].starts_with(&passed_at[..19]), "{text}");
}

#[test]
fn an_unusable_state_file_stops_the_drill_before_it_runs() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::create_dir(fx.root().join("state.db")).unwrap();
    let d = fx.drill(&fx.runbook(), &["--state", "state.db"]);
    d.assert_code(2);
    assert!(
        d.stderr.contains("history store state.db"),
        "{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists(), "nothing may run or be written");
}

#[test]
fn history_without_a_store_is_empty_and_creates_nothing() {
    let fx = Fixture::new();
    assert!(history_json(&fx, &[]).is_empty());
    assert!(!fx.root().join("state.db").exists());
    let out = fx.run(&["history", "--state", "state.db"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no history yet"));
}

#[test]
fn the_default_store_is_under_xdg_data_home() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let data = fx.root().join("xdg");
    let path = fx.write("runbook.yaml", &fx.runbook().yaml());
    let out = crate::util::lifeboat()
        .current_dir(fx.root())
        .env("XDG_DATA_HOME", &data)
        .args(["drill", "--quiet", "--now", crate::util::T0, "--state"])
        .arg(data.join("lifeboat/state.db"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = crate::util::lifeboat()
        .current_dir(fx.root())
        .env("XDG_DATA_HOME", &data)
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out).as_array().unwrap().len(), 1);
}

/// `history --json` of the fixture's default store (no `--state`).
fn default_history(fx: &Fixture) -> Vec<Value> {
    let out = fx.run(&["history", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of(&out).as_array().unwrap().clone()
}

#[test]
fn a_drill_without_state_records_into_the_default_store_which_history_and_status_read() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let automatic = fx.drill(&fx.runbook(), &[]);
    automatic.assert_code(0);
    // A manual drill too: an operator's failover drill belongs to the same history. Enough
    // answers for any question the drill may ask.
    let path = fx.write("runbook.yaml", &fx.runbook().yaml());
    let mut manual = fx.drill_command(&path, &["--interactive", "--operator", "alice"]);
    let manual = manual
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = manual.stdin.as_ref().unwrap();
        input.write_all("y\n".repeat(20).as_bytes()).unwrap();
    }
    let manual = crate::util::Drill::new(manual.wait_with_output().unwrap(), &fx.evidence_dir());
    manual.assert_code(0);

    assert!(
        fx.data_home().join("lifeboat/state.db").is_file(),
        "no default store was made"
    );
    let all = default_history(&fx);
    let ids: Vec<&Value> = all.iter().map(|e| &e["run_id"]).collect();
    assert_eq!(
        ids,
        [&automatic.evidence["run_id"], &manual.evidence["run_id"]],
        "{all:#?}"
    );
    assert_eq!(all[0]["mode"], "automatic");
    assert_eq!(all[1]["mode"], "manual");

    let out = fx.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let status = json_of(&out);
    assert_eq!(status[0]["runbook"], "drill-test", "{status:#}");
    assert_eq!(status[0]["last_run_id"], manual.evidence["run_id"]);

    // --state still chooses another store, and --no-state none at all.
    fx.drill(&fx.runbook(), &["--state", "other.db"])
        .assert_code(0);
    fx.drill(&fx.runbook(), &["--no-state"]).assert_code(0);
    assert_eq!(default_history(&fx).len(), 2);
    assert_eq!(history_json_of(&fx, "other.db").len(), 1);
}

fn history_json_of(fx: &Fixture, state: &str) -> Vec<Value> {
    let out = fx.run(&["history", "--state", state, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of(&out).as_array().unwrap().clone()
}

#[test]
fn a_drill_whose_default_store_cannot_be_used_runs_nothing_and_says_how_to_opt_out() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // A folder where the store's file belongs.
    std::fs::create_dir_all(fx.data_home().join("lifeboat/state.db")).unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(2);
    assert!(
        d.stderr.contains("lifeboat/state.db") && d.stderr.contains("--no-state"),
        "{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists(), "nothing may run or be written");
}

#[test]
fn history_shows_why_a_run_failed_where_the_evidence_path_was() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.drill(&fx.runbook(), &[]).assert_code(0);
    let strict = Runbook {
        rpo: Some("12h".into()),
        ..fx.runbook()
    };
    let failed = fx.drill(&strict, &[]);
    failed.assert_code(1);
    let reason = failed.evidence["reason"].as_str().unwrap().to_owned();

    let out = fx.run(&["history"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("MODE") && lines[0].ends_with("REASON"),
        "{text}"
    );
    assert!(
        lines[2].contains("failed") && lines[2].ends_with(&reason),
        "{text}"
    );
    assert!(
        lines[1].contains("passed") && lines[1].contains("automatic"),
        "{text}"
    );
    assert!(
        !text.contains("evidence.json"),
        "the path is --json's: {text}"
    );
    // Whole seconds in the table; --json keeps the instant and the path.
    let started = failed.evidence["started_at"].as_str().unwrap();
    assert!(lines[2].starts_with(&started[..19]), "{text}");
    let json = default_history(&fx);
    assert_eq!(json[1]["reason"], reason.as_str());
    assert_eq!(
        json[1]["evidence"].as_str(),
        failed.evidence_path.as_ref().and_then(|p| p.to_str())
    );
}

/// Each column a table prints is explained by its command's `--help`.
#[test]
fn history_and_status_help_explain_every_column() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.drill(&fx.runbook(), &[]).assert_code(0);
    for command in ["history", "status"] {
        let out = fx.run(&[command]);
        let table = String::from_utf8_lossy(&out.stdout);
        let header = table.lines().next().unwrap_or_default();
        // Columns are two spaces apart; a column's name may hold one ("LAST PASSED").
        let columns: Vec<&str> = header
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert!(columns.len() >= 6, "{command}: {table}");
        let help = fx.run(&[command, "--help"]);
        let help = String::from_utf8_lossy(&help.stdout);
        for column in columns {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{column}  "))),
                "`{command} --help` does not explain {column}:\n{help}"
            );
        }
    }
}

#[test]
fn status_counts_the_slots_missed_since_the_last_success() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 1s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr_path) = start_schedule(&fx, &[path.as_os_str()]);
    wait_for_runs(&fx, 1, &stderr_path);
    signal(&daemon.0, "-TERM");
    wait_exit(&mut daemon, std::time::Duration::from_secs(60));

    let all = history_json(&fx, &[]);
    let last_pass = all
        .iter()
        .filter(|e| e["outcome"] == "passed")
        .map(|e| {
            e["started_at"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
        })
        .max()
        .unwrap();
    // Slots the daemon recorded as not run after that success (skipped while it ran, ...).
    let recorded = all
        .iter()
        .filter(|e| e["run_id"].is_null())
        .filter(|e| {
            ["missed", "skipped-overlap", "abandoned"].contains(&e["state"].as_str().unwrap())
        })
        .filter(|e| {
            e["slot"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                > last_pass
        })
        .count();
    let newest_slot = all
        .iter()
        .map(|e| {
            e["slot"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
        })
        .max()
        .unwrap();
    // Ten seconds after the newest slot, with the daemon gone: the nine slots whose one-second
    // start window has closed were missed too, though nothing recorded them.
    let now = (newest_slot + jiff::SignedDuration::from_secs(10)).to_string();
    let status = |paths: &[&str]| {
        let mut args = vec!["status", "--state", "state.db", "--json", "--now", &now];
        args.extend_from_slice(paths);
        let out = fx.run(&args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        json_of(&out)[0].clone()
    };
    assert_eq!(
        status(&["runbook.yaml"])["missed_since_last_success"],
        recorded + 9,
        "{all:#?}"
    );
    // Without the runbook's file, its schedule is unknown: only what the history recorded.
    assert_eq!(status(&[])["missed_since_last_success"], recorded);

    let out = fx.run(&[
        "status",
        "--state",
        "state.db",
        "--now",
        &now,
        "runbook.yaml",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("RUNBOOK") && lines[0].contains("MISSED"),
        "{text}"
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "drill-test", "{text}");
    assert_eq!(row[1], "passed", "{text}");
    assert!(row.contains(&(recorded + 9).to_string().as_str()), "{text}");
}

/// Starts `lifeboat schedule --state state.db --evidence-dir evidence --scratch-dir SCRATCH
/// ARGS...` in the fixture folder, stderr into `daemon.stderr`; returns it and that file.
pub(crate) fn start_schedule(
    fx: &Fixture,
    args: &[&std::ffi::OsStr],
) -> (Daemon, std::path::PathBuf) {
    let stderr_path = fx.root().join("daemon.stderr");
    let child = fx
        .command()
        .args([
            "schedule",
            "--state",
            "state.db",
            "--evidence-dir",
            "evidence",
        ])
        .arg("--scratch-dir")
        .arg(fx.scratch_dir())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    (Daemon(child), stderr_path)
}

/// Polls `history --json` until `done` scheduled runs are recorded.
pub(crate) fn wait_for_runs(fx: &Fixture, done: usize, stderr: &std::path::Path) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let all = history_json(fx, &[]);
        if all.iter().filter(|e| e["state"] == "done").count() >= done {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {done} runs after 60 s: {all:#?}\nstderr:\n{}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn the_daemon_drills_a_seconds_schedule_reloads_and_stops_on_sigterm() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // No RPO objective: the daemon measures from the real clock, far from the fixture's T0.
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr_path) = start_schedule(&fx, &[path.as_os_str()]);
    wait_for_runs(&fx, 3, &stderr_path);

    // An invalid edit, then SIGHUP: reported, and the last valid version keeps running.
    fx.write("runbook.yaml", &format!("{}manfest: oops\n", rb.yaml()));
    signal(&daemon.0, "-HUP");
    let before = history_json(&fx, &[])
        .iter()
        .filter(|e| e["state"] == "done")
        .count();
    let all = wait_for_runs(&fx, before + 2, &stderr_path);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(
        stderr.contains("unknown key `manfest`")
            && stderr.contains("keeping the last valid version of this runbook"),
        "{stderr}"
    );

    signal(&daemon.0, "-TERM");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = daemon.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");

    // Every slot at most once; every run a scheduled drill with its evidence.
    let all_after = history_json(&fx, &[]);
    assert!(all_after.len() >= all.len());
    let mut slots: Vec<&str> = all_after
        .iter()
        .map(|e| e["slot"].as_str().unwrap())
        .collect();
    let n = slots.len();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), n, "a slot appears twice: {all_after:#?}");
    let runs: Vec<&Value> = all_after.iter().filter(|e| e["state"] == "done").collect();
    assert!(runs.len() >= 5, "{all_after:#?}");
    for r in &runs {
        assert_eq!(r["mode"], "scheduled");
        assert_eq!(r["outcome"], "passed", "{r:#}");
        assert_eq!(r["trigger"], "schedule");
        let slot: jiff::Timestamp = r["slot"].as_str().unwrap().parse().unwrap();
        let started: jiff::Timestamp = r["started_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(slot.subsec_nanosecond(), 0);
        assert!(started >= slot, "{r:#}");
        let evidence = std::path::Path::new(r["evidence"].as_str().unwrap());
        assert!(evidence.is_absolute(), "{r:#}");
        let ev: Value = serde_json::from_str(&std::fs::read_to_string(evidence).unwrap()).unwrap();
        assert_eq!(ev["mode"], "scheduled");
        assert_eq!(ev["run_id"], r["run_id"]);
    }
    // Nothing was left half-done.
    assert!(
        all_after
            .iter()
            .all(|e| e["state"] != "running" && e["state"] != "recorded"),
        "{all_after:#?}"
    );
}

#[test]
fn the_daemon_refuses_when_nothing_can_be_scheduled() {
    let fx = Fixture::new();
    let path = fx.write("runbook.yaml", &fx.runbook().yaml());
    let out = fx.run(&["schedule", "--state", "state.db", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("none of the runbooks given can be scheduled")
    );
    let out = fx.run(&["schedule", "--state", "state.db", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("missing.yaml:1:1: cannot read the runbook")
    );
}

/// Starts `lifeboat schedule` on a runbook whose drill waits `wait` after restoring, so a
/// drill is still running when the test signals; returns once one is.
fn daemon_with_a_long_drill(fx: &Fixture, wait: &str, grace: &str) -> (Daemon, std::path::PathBuf) {
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        rto: None,
        extra: format!("schedule: \"* * * * * *\"\nsteps:\n  - restore: {{}}\n  - wait: {wait}\n"),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (daemon, stderr_path) =
        start_schedule(fx, &["--grace".as_ref(), grace.as_ref(), path.as_os_str()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !history_json(fx, &[])
        .iter()
        .any(|e| e["state"] == "running")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no drill started: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (daemon, stderr_path)
}

/// The history without the slots skipped for overlap.
fn started(fx: &Fixture) -> Vec<Value> {
    history_json(fx, &[])
        .into_iter()
        .filter(|e| e["state"] != "skipped-overlap")
        .collect()
}

#[test]
fn sigterm_waits_out_the_grace_period_then_interrupts_the_drill_and_records_it() {
    let fx = Fixture::new();
    let (mut daemon, stderr) = daemon_with_a_long_drill(&fx, "1m", "2s");
    signal(&daemon.0, "-TERM");
    let (code, took) = wait_exit(&mut daemon, std::time::Duration::from_secs(30));
    let stderr = std::fs::read_to_string(stderr).unwrap();
    assert_eq!(code, 3, "{stderr}");
    assert!(
        took >= std::time::Duration::from_millis(1500),
        "{took:?}: no grace given"
    );
    assert!(
        took < std::time::Duration::from_secs(20),
        "{took:?}: the drill was not interrupted promptly\n{stderr}"
    );
    assert!(
        stderr.contains("interrupting 1 drill(s) at the end of the grace period"),
        "{stderr}"
    );
    // Slots that came due while the drill ran are skipped for overlap; nothing else ran. The
    // one that ran is recorded with its interrupted run and evidence, not abandoned.
    let all = started(&fx);
    assert_eq!(all.len(), 1, "no slot may start after SIGTERM: {all:#?}");
    let run = &all[0];
    assert_eq!(run["state"], "done", "{run:#}");
    assert_eq!(run["outcome"], "error", "{run:#}");
    assert_eq!(run["reason"], "interrupted", "{run:#}");
    assert_eq!(run["mode"], "scheduled", "{run:#}");
    let evidence = std::path::Path::new(run["evidence"].as_str().unwrap());
    let ev: Value = serde_json::from_str(&std::fs::read_to_string(evidence).unwrap()).unwrap();
    assert_eq!(ev["outcome"], "error");
    assert_eq!(ev["reason"], "interrupted");
    assert_eq!(ev["mode"], "scheduled");
    assert_eq!(ev["run_id"], run["run_id"]);
    assert_eq!(ev["scratch"]["kept"], false);
    assert!(evidence.with_file_name("report.md").is_file());
    let left: Vec<_> = std::fs::read_dir(fx.scratch_dir()).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn a_second_sigterm_exits_at_once() {
    let fx = Fixture::new();
    let (mut daemon, _) = daemon_with_a_long_drill(&fx, "1m", "5m");
    signal(&daemon.0, "-TERM");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        daemon.0.try_wait().unwrap().is_none(),
        "the first SIGTERM waits"
    );
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, std::time::Duration::from_secs(10));
    assert_eq!(code, 3);
    assert_eq!(started(&fx)[0]["state"], "abandoned");
}

#[test]
fn a_drill_that_finishes_within_the_grace_period_is_recorded_and_the_exit_is_clean() {
    let fx = Fixture::new();
    let (mut daemon, stderr) = daemon_with_a_long_drill(&fx, "2s", "1m");
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, std::time::Duration::from_secs(30));
    let stderr = std::fs::read_to_string(stderr).unwrap();
    assert_eq!(code, 0, "{stderr}");
    let all = started(&fx);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["state"], "done");
    assert_eq!(all[0]["outcome"], "passed");
    // The log spells the grace period as every other surface spells a duration (it said
    // Rust's `60s`).
    let stopping = stderr
        .lines()
        .find(|l| l.contains("stopping: no new drills"))
        .unwrap_or_else(|| panic!("no stopping line: {stderr}"));
    assert!(stopping.contains("grace=1m 0s"), "{stopping}");
}

#[test]
fn the_daemon_rereads_a_runbook_file_that_changed_without_sighup() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let yearly = Runbook {
        rpo: None,
        extra: "schedule: \"0 0 1 1 *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &yearly.yaml());
    let (_daemon, stderr_path) = start_schedule(&fx, &[path.as_os_str()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&stderr_path)
        .unwrap_or_default()
        .contains("lifeboat schedule started")
    {
        assert!(std::time::Instant::now() < deadline, "daemon did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let every_second = Runbook {
        extra: "schedule: \"* * * * * *\"\n".into(),
        ..yearly
    };
    fx.write("runbook.yaml", &every_second.yaml());
    wait_for_runs(&fx, 2, &stderr_path);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(
        stderr.contains("the runbook files changed: re-reading the runbooks"),
        "{stderr}"
    );
}

pub(crate) fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_daemon_serves_prometheus_metrics() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr_path) = start_schedule(
        &fx,
        &[
            "--metrics-addr".as_ref(),
            "127.0.0.1:0".as_ref(),
            path.as_os_str(),
        ],
    );
    wait_for_runs(&fx, 2, &stderr_path);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    let addr = stderr
        .split("metrics served at http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap_or_else(|| panic!("no metrics address in: {stderr}"))
        .to_owned();

    let response = http_get(&addr, "/metrics");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let value = |metric: &str| -> f64 {
        let line = body
            .lines()
            .find(|l| l.starts_with(metric))
            .unwrap_or_else(|| panic!("no {metric} in:\n{body}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(
        value("lifeboat_last_outcome{runbook=\"drill-test\",outcome=\"passed\"}"),
        1.0
    );
    assert_eq!(
        value("lifeboat_last_outcome{runbook=\"drill-test\",outcome=\"failed\"}"),
        0.0
    );
    assert_eq!(
        value("lifeboat_rto_objective_seconds{runbook=\"drill-test\"}"),
        3600.0
    );
    assert!(value("lifeboat_last_rto_seconds{runbook=\"drill-test\"}") >= 0.0);
    assert!(value("lifeboat_last_rpo_seconds{runbook=\"drill-test\"}") > 86_400.0);
    let now = jiff::Timestamp::now().as_second() as f64;
    let next = value("lifeboat_next_run_timestamp_seconds{runbook=\"drill-test\"}");
    assert!(
        next > now - 2.0 && next < now + 3.0,
        "next {next}, now {now}"
    );
    let success = value("lifeboat_last_success_timestamp_seconds{runbook=\"drill-test\"}");
    assert!(success > now - 60.0 && success <= now + 1.0, "{success}");
    assert!(
        !body.contains("rpo_objective_seconds{"),
        "no RPO objective set:\n{body}"
    );

    assert!(http_get(&addr, "/").starts_with("HTTP/1.1 404"));
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, std::time::Duration::from_secs(30));
    assert_eq!(code, 0);
}
