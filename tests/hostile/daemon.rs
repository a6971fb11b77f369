//! SECURITY.md class 10, "Truthful reasons", for the scheduler and for signals: what the
//! history and the terminal say must be what happened. A slot that only waits for a
//! `--max-concurrent` place is not an overlap; a signal that lands after a drill's last check
//! does not make a passed drill "interrupted" on the terminal while its evidence says passed.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use lifeboat_testkit::Format;
use serde_json::Value;

use super::mkfifo;
use crate::history::{history_json, start_schedule};
use crate::util::{DAY1, Fixture, Runbook, signal, wait_exit};

fn time(v: &Value) -> Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

#[test]
fn a_slot_whose_previous_one_waits_for_a_place_is_missed_saying_so_not_skipped_for_overlap() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // Both due every second, one place: while `long` holds it for 3 s, `quick`'s slot waits,
    // and the slots after it come due while nothing of `quick` runs.
    let long = Runbook {
        name: "long".into(),
        rto: None,
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nsteps:\n  - restore: {}\n  - wait: 3s\n".into(),
        ..fx.runbook()
    };
    let quick = Runbook {
        name: "quick".into(),
        rto: None,
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..fx.runbook()
    };
    let long_path = fx.write("long.yaml", &long.yaml());
    let quick_path = fx.write("quick.yaml", &quick.yaml());
    let (mut daemon, stderr) = start_schedule(
        &fx,
        &[
            "--max-concurrent".as_ref(),
            "1".as_ref(),
            long_path.as_os_str(),
            quick_path.as_os_str(),
        ],
    );
    let waited_reason =
        "this runbook's previous slot was still waiting for a place under --max-concurrent";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let quick = history_json(&fx, &["--runbook", "quick"]);
        let done = quick.iter().filter(|e| e["state"] == "done").count();
        let missed = quick.iter().any(|e| e["reason"] == waited_reason);
        if done >= 2 && missed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{quick:#?}\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, Duration::from_secs(30));
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(code, 0, "{log}");

    let quick = history_json(&fx, &["--runbook", "quick"]);
    let runs: Vec<(Timestamp, Timestamp)> = quick
        .iter()
        .filter(|e| e["state"] == "done")
        .map(|e| (time(&e["started_at"]), time(&e["finished_at"])))
        .collect();
    for e in &quick {
        let slot = time(&e["slot"]);
        match e["state"].as_str().unwrap() {
            // Skipped for overlap only while a drill of `quick` really ran (give or take a
            // second: a busy loop may plan a slot a moment after its time).
            "skipped-overlap" => assert!(
                runs.iter().any(|(start, end)| {
                    let second = jiff::SignedDuration::from_secs(1);
                    start.checked_sub(second).unwrap() <= slot
                        && slot <= end.checked_add(second).unwrap()
                }),
                "skipped for overlap, yet no drill of quick ran at {slot}: {quick:#?}"
            ),
            // Waiting for the place, or, when a loaded machine holds the daemon's loop past
            // the next second, overtaken by the slot after it: never anything else.
            "missed" => assert!(
                e["reason"] == waited_reason
                    || e["reason"] == "a newer slot came due before this one started",
                "{e:#}"
            ),
            "done" => {}
            other => panic!("unexpected state {other}: {e:#}"),
        }
    }
    // The slot that waited ran once the place was free, late but within its window.
    assert!(
        quick.iter().any(|e| e["state"] == "done"
            && time(&e["started_at"]).duration_since(time(&e["slot"]))
                >= jiff::SignedDuration::from_secs(1)),
        "no slot of quick waited for the place: {quick:#?}"
    );
    assert!(
        log.contains("waiting for a place under --max-concurrent"),
        "{log}"
    );
}

/// A runbook whose checks pass at once and whose `finally` step marks that it started, then
/// takes a while: a signal sent once the mark is there lands after the last check.
fn drill_with_a_slow_finally(fx: &Fixture, marker: &std::path::Path) -> std::path::PathBuf {
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        extra: format!(
            "finally:\n  - name: slow cleanup\n    shell: \"touch '{}'; sleep 2\"\n",
            marker.display()
        ),
        ..fx.runbook()
    };
    fx.write("runbook.yaml", &rb.yaml())
}

fn wait_for(path: &std::path::Path, stderr: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared: {}",
            path.display(),
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_signal_after_the_last_check_leaves_the_verdict_and_says_so_everywhere() {
    let fx = Fixture::new();
    let marker = fx.root().join("finally-started");
    let path = drill_with_a_slow_finally(&fx, &marker);
    let (mut drill, stdout, stderr) = fx.spawn_drill(&path, &["--state", "state.db"]);
    wait_for(&marker, &stderr);
    signal(&drill.0, "-TERM");
    let (code, _) = wait_exit(&mut drill, Duration::from_secs(30));
    let d = fx.spawned_drill(drill, &stdout, &stderr);
    // One story: every check had passed before the signal, so the drill passed; the terminal
    // says the signal came too late to change that, the evidence records when it came, the
    // exit code is the verdict's.
    assert_eq!(code, 0, "{}", d.context());
    assert_eq!(d.outcome(), "passed", "{}", d.context());
    assert_eq!(d.evidence["reason"], Value::Null);
    assert_eq!(
        d.evidence["finally"][0]["outcome"],
        "passed",
        "{}",
        d.context()
    );
    assert!(!d.stderr.contains("interrupted"), "{}", d.context());
    assert!(
        d.stderr
            .contains("signal received after the drill's last check: the verdict stands"),
        "{}",
        d.context()
    );
    assert!(d.stdout.starts_with("PASSED"), "{}", d.context());
    let stopped = time(&d.evidence["stopped_after_checks"]);
    assert!(stopped >= time(&d.evidence["recovery_points"][0]["finished_at"]));
    assert!(stopped <= time(&d.evidence["finished_at"]));
    // The reports say it too, in the same words as the terminal.
    for report in [d.report_md(), d.report_html()] {
        assert!(
            report.contains("after the last check: the verdict stands"),
            "{report}"
        );
    }
    let history = history_json(&fx, &[]);
    assert_eq!(history[0]["outcome"], "passed", "{history:#?}");
}

#[test]
fn a_grace_period_ending_after_the_last_check_leaves_the_verdict_and_the_exit_clean() {
    let fx = Fixture::new();
    let marker = fx.root().join("finally-started");
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        extra: format!(
            "schedule: \"* * * * * *\"\nfinally:\n  - shell: \"touch '{}'; sleep 3\"\n",
            marker.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr) =
        start_schedule(&fx, &["--grace".as_ref(), "1s".as_ref(), path.as_os_str()]);
    wait_for(&marker, &stderr);
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, Duration::from_secs(30));
    let log = std::fs::read_to_string(&stderr).unwrap();
    // The grace period ended while `finally` ran: the drill was past its checks, so it is
    // recorded as it passed, and the daemon does not claim it was interrupted.
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("their evidence says `interrupted`"), "{log}");
    assert!(
        log.contains("grace period over after this drill's last check: its verdict stands"),
        "{log}"
    );
    let runs: Vec<Value> = history_json(&fx, &[])
        .into_iter()
        .filter(|e| e["state"] == "done")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["outcome"], "passed", "{runs:#?}");
    let evidence = std::path::Path::new(runs[0]["evidence"].as_str().unwrap());
    let ev: Value = serde_json::from_str(&std::fs::read_to_string(evidence).unwrap()).unwrap();
    assert_eq!(ev["outcome"], "passed");
    assert!(ev["stopped_after_checks"].is_string(), "{ev:#}");
}

#[test]
fn a_runbook_that_is_a_fifo_is_refused_at_once_not_waited_on() {
    let fx = Fixture::new();
    let fifo = fx.root().join("runbook.yaml");
    mkfifo(&fifo);
    for command in ["validate", "drill", "schedule"] {
        let child = crate::util::lifeboat()
            .current_dir(fx.root())
            .args([command, "runbook.yaml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(fx.root().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut child = crate::util::Daemon(child);
        let (code, _) = wait_exit(&mut child, Duration::from_secs(10));
        let stderr = std::fs::read_to_string(fx.root().join("stderr")).unwrap();
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(
            stderr.contains(
                "runbook.yaml:1:1: cannot read the runbook: it is a FIFO (named pipe), not a regular file"
            ),
            "{command}: {stderr}"
        );
    }
    // In a folder, `validate` finds runbooks as `schedule` does: a FIFO there is no runbook
    // file, skipped without being opened; the real one beside it is checked.
    let folder = fx.root().join("runbooks");
    std::fs::create_dir(&folder).unwrap();
    mkfifo(&folder.join("a.yaml"));
    std::fs::write(folder.join("b.yaml"), fx.runbook().yaml()).unwrap();
    let child = crate::util::lifeboat()
        .current_dir(fx.root())
        .args(["validate", "runbooks"])
        .stdout(std::fs::File::create(fx.root().join("stdout")).unwrap())
        .stderr(std::fs::File::create(fx.root().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let mut child = crate::util::Daemon(child);
    let (code, _) = wait_exit(&mut child, Duration::from_secs(10));
    let stdout = std::fs::read_to_string(fx.root().join("stdout")).unwrap();
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, "runbooks/b.yaml: ok (drill-test)\n");
}
