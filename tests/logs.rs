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
