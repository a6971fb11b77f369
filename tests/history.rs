//! The history store from the outside: `lifeboat drill --state` records, `lifeboat history`
//! and `lifeboat status` read it back, with the real binary.

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::util::{DAY1, Fixture, Runbook};

fn json_of(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON: {e}\n{text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn history_json(fx: &Fixture, extra: &[&str]) -> Vec<Value> {
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
    assert!(
        text.contains("drill-test  last passed at")
            && text.contains("next 2026-03-08T07:00:00Z  [30 2 * * * (America/New_York)]"),
        "{text}"
    );
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
