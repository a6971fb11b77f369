//! `--log-format json`: every stderr line of `schedule` and `drill` is one JSON object a log
//! pipeline can parse, the messages a person would read included.

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::history::{start_schedule, wait_for_runs};
use crate::util::{DAY1, Fixture, Runbook, signal, wait_exit};

/// Parses every non-empty line of `stderr` as a JSON object with the keys log pipelines
/// index; panics naming the first line that is not.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l:?}\n{stderr}"));
            for key in ["timestamp", "level", "message"] {
                assert!(v.get(key).is_some(), "no `{key}` in {l}");
            }
            v
        })
        .collect()
}

#[test]
fn schedule_logs_one_json_object_per_line_with_fields() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::create_dir(fx.root().join("runbooks")).unwrap();
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..fx.runbook()
    };
    fx.write("runbooks/good.yaml", &rb.yaml());
    // An invalid runbook beside it: its problem is reported as an event, not a bare line.
    fx.write(
        "runbooks/bad.yaml",
        &format!("{}manfest: oops\n", rb.yaml()),
    );
    let (mut daemon, stderr_path) = start_schedule(
        &fx,
        &[
            "runbooks".as_ref(),
            "--log-format".as_ref(),
            "json".as_ref(),
        ],
    );
    wait_for_runs(&fx, 1, &stderr_path);
    signal(&daemon.0, "-TERM");
    let (code, _) = wait_exit(&mut daemon, std::time::Duration::from_secs(60));
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(code, 0, "{stderr}");

    let events = json_lines(&stderr);
    let finished = events
        .iter()
        .find(|e| e["message"] == "drill finished")
        .unwrap_or_else(|| panic!("no `drill finished` event:\n{stderr}"));
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["runbook"], "drill-test");
    assert_eq!(finished["outcome"], "passed");
    assert!(finished["slot"].is_string(), "{finished}");
    assert!(
        finished["evidence"]
            .as_str()
            .is_some_and(|e| e.ends_with("evidence.json")),
        "{finished}"
    );
    let bad = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .contains("unknown key `manfest`")
        })
        .unwrap_or_else(|| panic!("the invalid runbook is not reported:\n{stderr}"));
    assert_eq!(bad["level"], "ERROR");
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "lifeboat schedule stopped"),
        "{stderr}"
    );
}

/// What the daemon's log says matters as much as what it does: a failed drill is a warning
/// and one that could not complete an error, each with its reason; the start names every
/// runbook with its next slot; a scratch folder left behind is named with its path.
#[test]
fn the_daemon_logs_failures_louder_than_passes_names_its_runbooks_and_kept_scratch() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::create_dir(fx.root().join("runbooks")).unwrap();
    let every_second = "schedule: \"* * * * * *\"\nstart_window: 30s\n";
    let passes = Runbook {
        name: "passes".into(),
        rpo: None,
        keep: "always".into(),
        extra: every_second.into(),
        ..fx.runbook()
    };
    let fails = Runbook {
        name: "fails".into(),
        // The fixture's point is from 2026-11-21: older than a minute whatever the clock.
        rpo: Some("1m".into()),
        extra: every_second.into(),
        ..fx.runbook()
    };
    let errors = Runbook {
        name: "errors".into(),
        url: format!("file://{}/nowhere", fx.root().display()),
        extra: every_second.into(),
        ..fx.runbook()
    };
    for rb in [&passes, &fails, &errors] {
        fx.write(&format!("runbooks/{}.yaml", rb.name), &rb.yaml());
    }
    let (mut daemon, stderr_path) = start_schedule(
        &fx,
        &[
            "runbooks".as_ref(),
            "--max-concurrent".as_ref(),
            "3".as_ref(),
            "--log-format".as_ref(),
            "json".as_ref(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let all = crate::history::history_json(&fx, &[]);
        let done = |name: &str| {
            all.iter()
                .any(|e| e["runbook"] == name && e["state"] == "done")
        };
        if done("passes") && done("fails") && done("errors") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{all:#?}\n{}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    signal(&daemon.0, "-TERM");
    wait_exit(&mut daemon, std::time::Duration::from_secs(60));
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    let events = json_lines(&stderr);

    let started = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("lifeboat schedule started")
        })
        .unwrap_or_else(|| panic!("no start event:\n{stderr}"));
    let message = started["message"].as_str().unwrap();
    for name in ["errors", "fails", "passes"] {
        assert!(
            message.contains(&format!("{name} (next 20")),
            "the start line does not name {name} with its next slot: {message}"
        );
    }

    let finished = |name: &str| -> &Value {
        events
            .iter()
            .find(|e| e["message"] == "drill finished" && e["runbook"] == name)
            .unwrap_or_else(|| panic!("no `drill finished` event for {name}:\n{stderr}"))
    };
    assert_eq!(finished("passes")["level"], "INFO");
    assert!(finished("passes").get("reason").is_none_or(Value::is_null));
    let failed = finished("fails");
    assert_eq!(failed["level"], "WARN", "{failed}");
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["reason"].as_str().is_some_and(|r| r.contains("RPO")),
        "{failed}"
    );
    let error = finished("errors");
    assert_eq!(error["level"], "ERROR", "{error}");
    assert!(
        error["reason"]
            .as_str()
            .is_some_and(|r| r.contains("nowhere")),
        "{error}"
    );

    let kept = events
        .iter()
        .find(|e| e["message"] == "scratch folder kept")
        .unwrap_or_else(|| panic!("no `scratch folder kept` event:\n{stderr}"));
    assert_eq!(kept["runbook"], "passes");
    let path = std::path::Path::new(kept["path"].as_str().unwrap());
    assert!(
        path.starts_with(fx.scratch_dir()) && path.is_dir(),
        "{kept}"
    );
}

#[test]
fn drill_messages_are_json_events_too() {
    let fx = Fixture::new();
    // No such source folder: the drill cannot complete, and says so on stderr.
    let rb = Runbook {
        url: format!("file://{}/nowhere", fx.root().display()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--log-format", "json", "-v"]);
    d.assert_code(3);
    let events = json_lines(&d.stderr);
    let error = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("lifeboat: the drill could not complete")
        })
        .unwrap_or_else(|| panic!("{}", d.context()));
    assert_eq!(error["level"], "ERROR");
}

#[test]
fn text_is_the_default_and_messages_stay_plain() {
    let fx = Fixture::new();
    let rb = Runbook {
        url: format!("file://{}/nowhere", fx.root().display()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(3);
    assert!(
        d.stderr
            .lines()
            .any(|l| l.starts_with("lifeboat: the drill could not complete")),
        "{}",
        d.context()
    );
}
