//! A manual drill shows what happened (runbooks/README.md, "Manual drills"): after each step
//! the operator sees its result — passed or failed and why, and how long it took — before
//! the next question; when the drill falls back to an older point it says so and why; an
//! approval is asked once. And every drill's summary, manual or not, names the scratch folder
//! it kept.

use lifeboat_testkit::Format;

use crate::steps::drill_with;
use crate::util::{DAY1, DAY2, Drill, Fixture, Runbook};

const MANUAL: &[&str] = &["--interactive", "--operator", "alice"];

/// Two good points, DAY1 newest.
fn two_points() -> Fixture {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum);
    fx
}

fn with_steps(fx: &Fixture, steps: &str) -> Runbook {
    Runbook {
        rpo: Some("3d".into()),
        extra: steps.into(),
        ..fx.runbook()
    }
}

/// Panics unless each of `parts` occurs in `text`, one after the other.
#[track_caller]
fn assert_in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for p in parts {
        match text[from..].find(p) {
            Some(i) => from += i + p.len(),
            None => panic!("{p:?} not found after byte {from} of:\n{text}"),
        }
    }
}

/// The rest of the line after the first `needle` in `text`.
#[track_caller]
fn rest_of_line<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"));
    let rest = &text[at + needle.len()..];
    rest.split('\n').next().unwrap_or_default()
}

/// A time as lifeboat prints one: `0.05s`, `12.5s`, `1m 3s`.
#[track_caller]
fn assert_took(text: &str) {
    let took = text.split(':').next().unwrap_or_default();
    assert!(
        took.ends_with('s') && took.starts_with(|c: char| c.is_ascii_digit()),
        "not a time taken: {text:?}"
    );
}

const CHECKED_STEPS: &str = r#"steps:
  - restore: {}
  - name: config is there
    run: ["test", "-s", "{scratch}/etc/app.conf"]
  - name: dns switched
    approve: "Is DNS pointing at the standby site?"
"#;

#[test]
fn a_manual_drill_shows_each_steps_result_before_the_next_question() {
    let fx = two_points();
    let rb = with_steps(&fx, CHECKED_STEPS);
    // Go on with the restore and the check; approve, no note.
    let d = drill_with(&fx, &rb.yaml(), MANUAL, "y\ny\ny\n\n", &[]);
    d.assert_code(0);
    assert_in_order(
        &d.stderr,
        &[
            &format!("next: steps[0] restore for recovery point {DAY1}"),
            "run this step? [y/n] ",
            "steps[0] restore passed in ",
            "next: steps[1] run \"config is there\"",
            "run this step? [y/n] ",
            "steps[1] run \"config is there\" passed in ",
            "next: steps[2] approve \"dns switched\"",
            "Is DNS pointing at the standby site? [y/n] ",
            "steps[2] approve \"dns switched\" passed in ",
            &format!("recovery point {DAY1} passed"),
        ],
    );
    assert_took(rest_of_line(&d.stderr, "steps[0] restore passed in "));
    assert_took(rest_of_line(&d.stderr, "\"config is there\" passed in "));
}

#[test]
fn a_manual_drill_says_why_a_step_failed_and_that_it_falls_back() {
    let fx = two_points();
    // The check passes on DAY2's files only: `etc/app.conf` names its point.
    let rb = with_steps(
        &fx,
        &format!(
            "steps:\n  - restore: {{}}\n  - name: config is DAY2's\n    run: [\"grep\", \"-q\", \
             \"point {DAY2}\", \"{{scratch}}/etc/app.conf\"]\n"
        ),
    );
    let d = drill_with(&fx, &rb.yaml(), MANUAL, "y\ny\ny\ny\n", &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    let failed = "steps[1] run \"config is DAY2's\" failed after ";
    assert_in_order(
        &d.stderr,
        &[
            &format!("next: steps[1] run \"config is DAY2's\" for recovery point {DAY1}"),
            failed,
            ": exit code 1, expected 0\n",
            &format!(
                "recovery point {DAY1} failed: steps[1] (config is DAY2's) failed: exit code 1, \
                 expected 0\n"
            ),
            "falling back to the next older recovery point\n",
            &format!("next: steps[0] restore for recovery point {DAY2}"),
            &format!("recovery point {DAY2} passed"),
        ],
    );
    assert_took(rest_of_line(&d.stderr, failed));
}

#[test]
fn a_failed_restore_names_its_failed_files_before_falling_back() {
    let fx = two_points();
    fx.set.point(DAY1).flip_byte("data/blob.bin", 100);
    let rb = Runbook {
        rpo: Some("3d".into()),
        keep: "on-failure".into(),
        ..fx.runbook()
    };
    let d = drill_with(&fx, &rb.yaml(), MANUAL, "y\ny\n", &[]);
    d.assert_code(1);
    assert_in_order(
        &d.stderr,
        &[
            "steps[0] restore failed after ",
            ": 1 of 5 sampled files failed\n",
            "      data/blob.bin: hash mismatch\n",
            &format!("recovery point {DAY1} failed: 1 of 5 sampled files failed\n"),
            "falling back to the next older recovery point\n",
            &format!("next: steps[0] restore for recovery point {DAY2}"),
            "steps[0] restore passed in ",
        ],
    );
    // The manual drill's summary names the folder `keep: on-failure` kept.
    let kept = d.evidence["scratch"]["path"].as_str().unwrap();
    assert_eq!(d.evidence["scratch"]["kept"], true);
    assert!(
        d.stdout
            .contains(&format!("  scratch folder kept: {kept}\n")),
        "{}",
        d.context()
    );
}

#[test]
fn the_last_point_failing_says_none_is_left() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("data/blob.bin", 100);
    let d = drill_with(&fx, &fx.runbook().yaml(), MANUAL, "y\n", &[]);
    d.assert_code(1);
    assert_in_order(
        &d.stderr,
        &[
            &format!("recovery point {DAY1} failed: 1 of 5 sampled files failed\n"),
            "no older recovery point is left to try\n",
        ],
    );
}

#[test]
fn a_manual_drill_that_stops_says_why_it_tries_no_older_point() {
    let fx = two_points();
    let rb = with_steps(&fx, CHECKED_STEPS);
    let d = drill_with(&fx, &rb.yaml(), MANUAL, "y\ny\nn\n\n", &[]);
    d.assert_code(1);
    assert_in_order(
        &d.stderr,
        &[
            "steps[2] approve \"dns switched\" failed after ",
            ": alice answered \"n\"\n",
            &format!(
                "recovery point {DAY1} failed: steps[2] (dns switched) failed: alice answered \
                 \"n\"\n"
            ),
            "the drill stops here: an approval says nothing about the backup, so no older \
             recovery point is tried\n",
        ],
    );
    assert!(!d.stderr.contains("falling back"), "{}", d.stderr);
}

#[test]
fn an_approval_is_asked_once() {
    let fx = two_points();
    let rb = with_steps(
        &fx,
        "steps:\n  - restore: {}\n  - name: dns switched\n    approve: \"Is DNS pointing at the \
         standby site?\"\n",
    );
    // Go on with the restore; approve; a note.
    let d = drill_with(&fx, &rb.yaml(), MANUAL, "y\ny\nTTL was 60s\n", &[]);
    d.assert_code(0);
    assert_eq!(
        d.stderr.matches("run this step?").count(),
        1,
        "the go-on question is asked for the restore only:\n{}",
        d.stderr
    );
    assert_eq!(d.stderr.matches("[y/n]").count(), 2, "{}", d.stderr);
    // It is still shown like every step before it is asked.
    assert_in_order(
        &d.stderr,
        &[
            &format!("next: steps[1] approve \"dns switched\" for recovery point {DAY1}"),
            "operator alice, please confirm:\n",
            "Is DNS pointing at the standby site? [y/n] ",
        ],
    );
    let approve = &d.point(DAY1)["steps"][1]["detail"];
    assert_eq!(approve["answer"], "y", "{}", d.context());
    assert_eq!(approve["note"], "TTL was 60s");
    assert!(approve.get("go_on_answer").is_none(), "{}", d.context());
}

#[test]
fn every_drill_summary_names_the_scratch_folder_it_kept() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let kept = d.evidence["scratch"]["path"].as_str().unwrap();
    assert!(std::path::Path::new(kept).join(DAY1).is_dir());
    assert!(
        d.stdout
            .contains(&format!("  scratch folder kept: {kept}\n")),
        "{}",
        d.context()
    );

    // A folder removed is not named.
    let rb = Runbook {
        keep: "on-failure".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert!(!d.stdout.contains("scratch folder kept"), "{}", d.context());
    assert_eq!(Drill::reason(&d.evidence), "");
}
