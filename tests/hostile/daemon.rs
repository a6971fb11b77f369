//! SECURITY.md class 10, "Truthful reasons", for the scheduler and for signals: what the
//! history and the terminal say must be what happened. A slot that only waits for a
//! `--max-concurrent` place is not an overlap; a signal that lands after a drill's last check
//! does not make a passed drill "interrupted" on the terminal while its evidence says passed.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use lifeboat_testkit::Format;
use serde_json::Value;

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
            // Skipped for overlap only while a drill of `quick` really ran (the loop may learn
            // that one ended a moment late).
            "skipped-overlap" => assert!(
                runs.iter().any(|(start, end)| *start <= slot
                    && slot <= end.checked_add(jiff::SignedDuration::from_secs(1)).unwrap()),
                "skipped for overlap, yet no drill of quick ran at {slot}: {quick:#?}"
            ),
            "missed" => assert_eq!(e["reason"], waited_reason, "{e:#}"),
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
