//! Only data problems fall back to older recovery points (runbooks/README.md, "Which
//! failures fall back"). A failed restore, or a failed step that reads the restored data,
//! sends the drill to the next older point. An operator who stops a manual drill, a refused
//! or failed `approve`, a failed `wait`, and a failed step that names no restored data say
//! nothing about the backup: the drill stops at that point, tries no older one, and its reason
//! says what happened — never "no recovery point passed".

use lifeboat_testkit::Format;

use crate::steps::drill_with;
use crate::util::{DAY1, DAY2, Drill, Fixture, Runbook};

/// Two good points, DAY1 newest.
fn two_points() -> Fixture {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum);
    fx
}

/// The fixture's runbook with `steps` (YAML) appended; RPO wide enough for DAY2 to pass.
fn with_steps(fx: &Fixture, steps: &str) -> Runbook {
    Runbook {
        rpo: Some("3d".into()),
        extra: steps.into(),
        ..fx.runbook()
    }
}

/// The drill failed at DAY1, tried nothing older, and its reason is `reason`.
#[track_caller]
fn assert_stopped_at_newest(d: &Drill, reason: &str) {
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1], "{}", d.context());
    assert_eq!(d.point(DAY1)["outcome"], "failed");
    assert_eq!(Drill::reason(&d.evidence), reason, "{}", d.context());
    assert!(d.measured("recovery_point").is_null());
}

const APPROVE: &str = r#"steps:
  - restore: {}
  - name: dns switched
    approve: "Is DNS pointing at the standby site?"
"#;

#[test]
fn an_unattended_failed_approval_stops_the_drill_at_the_newest_point() {
    let fx = two_points();
    let rb = with_steps(&fx, &format!("{APPROVE}    unattended: fail\n"));
    let d = fx.drill(&rb, &[]);
    assert_stopped_at_newest(
        &d,
        &format!(
            "steps[1] (dns switched) failed at recovery point {DAY1}: no operator to confirm \
             (unattended: fail); an approval says nothing about the backup, so no older \
             recovery point was tried"
        ),
    );
    // The point's own reason is the step's, as for any failed step.
    assert_eq!(
        Drill::reason(d.point(DAY1)),
        "steps[1] (dns switched) failed: no operator to confirm (unattended: fail)"
    );
}

#[test]
fn a_refused_approval_in_a_manual_drill_stops_the_drill() {
    let fx = two_points();
    let rb = with_steps(&fx, APPROVE);
    // Go on with the restore; answer the approval "n", no note.
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "bob"],
        "y\nn\n\n",
        &[],
    );
    assert_stopped_at_newest(
        &d,
        &format!(
            "steps[1] (dns switched) failed at recovery point {DAY1}: bob answered \"n\"; an \
             approval says nothing about the backup, so no older recovery point was tried"
        ),
    );
    let approve = &d.point(DAY1)["steps"][1];
    assert_eq!(approve["detail"]["answer"], "n", "{}", d.context());
}

#[test]
fn an_operator_who_stops_a_manual_drill_stops_it_at_that_point() {
    let fx = two_points();
    let rb = with_steps(&fx, "steps:\n  - restore: {}\n  - wait: 1s\n");
    // Go on with the restore, not with the wait.
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "bob"],
        "y\nn\n",
        &[],
    );
    assert_stopped_at_newest(
        &d,
        &format!(
            "stopped by the operator at steps[1] (wait) of recovery point {DAY1}: bob chose \
             not to go on (answered \"n\"); no older recovery point was tried"
        ),
    );
    assert!(
        !d.stderr.contains(&format!("recovery point {DAY2}")),
        "the drill went on to an older point:\n{}",
        d.stderr
    );
}

#[test]
fn a_failed_step_that_names_no_restored_data_stops_the_drill() {
    let fx = two_points();
    let rb = with_steps(
        &fx,
        "steps:\n  - restore: {}\n  - name: dns switched\n    run: [\"false\"]\n",
    );
    assert_stopped_at_newest(
        &fx.drill(&rb, &[]),
        &format!(
            "steps[1] (dns switched) failed at recovery point {DAY1}: exit code 1, expected 0; \
             a step that names neither {{scratch}} nor {{recovery_point}} says nothing about \
             the backup, so no older recovery point was tried"
        ),
    );

    // A wait can only fail by its timeout: the runbook's mistake, not the backup's.
    let rb = with_steps(
        &fx,
        "steps:\n  - restore: {}\n  - wait: 5s\n    timeout: 1s\n",
    );
    assert_stopped_at_newest(
        &fx.drill(&rb, &[]),
        &format!(
            "steps[1] (wait) failed at recovery point {DAY1}: timed out after 1s; a wait says \
             nothing about the backup, so no older recovery point was tried"
        ),
    );
}

#[test]
fn a_failed_step_that_reads_the_restored_data_falls_back() {
    let fx = two_points();
    // Each passes on DAY2's files only: `etc/app.conf` names its point.
    for step in [
        format!(r#"run: ["grep", "-q", "point {DAY2}", "{{scratch}}/etc/app.conf"]"#),
        format!(r#"shell: 'grep -q "point {DAY2}" "$LIFEBOAT_SCRATCH/etc/app.conf"'"#),
        format!(
            "run: [\"sh\", \"-c\", 'grep -q \"point {DAY2}\" \"$CONF\"']\n    env: {{CONF: \
             \"{{scratch}}/etc/app.conf\"}}"
        ),
    ] {
        let rb = with_steps(&fx, &format!("steps:\n  - restore: {{}}\n  - {step}\n"));
        let d = fx.drill(&rb, &[]);
        d.assert_code(1);
        assert_eq!(d.point_ids(), [DAY1, DAY2], "{step}\n{}", d.context());
        assert_eq!(d.point(DAY2)["outcome"], "passed");
        assert_eq!(
            Drill::reason(&d.evidence),
            format!("recovery point {DAY1} failed; {DAY2} passed")
        );
    }
}

#[test]
fn the_runbook_says_which_failures_fall_back_where_the_text_cannot() {
    let fx = two_points();
    // Reads the restored data through its working folder, naming no placeholder.
    let relative = format!(r#"run: ["grep", "-q", "point {DAY2}", "etc/app.conf"]"#);
    let rb = with_steps(
        &fx,
        &format!("steps:\n  - restore: {{}}\n  - {relative}\n    fallback: true\n"),
    );
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2], "{}", d.context());
    assert_eq!(d.measured("recovery_point"), DAY2);

    // Names `{recovery_point}`, but only to stop a service: its failure is not the backup's.
    let rb = with_steps(
        &fx,
        "steps:\n  - restore: {}\n  - name: stop the old standby\n    run: [\"sh\", \"-c\", \
         \"exit 1\", \"sh\", \"{recovery_point}\"]\n    fallback: false\n",
    );
    assert_stopped_at_newest(
        &fx.drill(&rb, &[]),
        &format!(
            "steps[1] (stop the old standby) failed at recovery point {DAY1}: exit code 1, \
             expected 0; the step is marked `fallback: false`, so no older recovery point was \
             tried"
        ),
    );
}

#[test]
fn fallback_is_refused_where_it_cannot_apply() {
    let fx = two_points();
    for (steps, expected) in [
        (
            "steps:\n  - restore: {}\n    fallback: false\n",
            "runbook.yaml:19:15: steps[0].fallback: only applies to `run`, `shell` and `http` \
             steps, not `restore`",
        ),
        (
            "steps:\n  - restore: {}\n  - approve: \"ok?\"\n    unattended: pass\n    fallback: \
             true\n",
            "runbook.yaml:21:15: steps[1].fallback: only applies to `run`, `shell` and `http` \
             steps, not `approve`",
        ),
        (
            "finally:\n  - run: [\"true\"]\n    fallback: true\n",
            "runbook.yaml:19:15: finally[0].fallback: only applies to `steps`: `finally` runs \
             once, after the recovery points",
        ),
        (
            "steps:\n  - restore: {}\n  - run: [\"true\"]\n    fallback: maybe\n",
            "runbook.yaml:20:15: steps[1].fallback: invalid value \"maybe\": expected true or false",
        ),
    ] {
        let rb = with_steps(&fx, steps);
        let d = fx.drill(&rb, &[]);
        d.assert_code(2);
        assert!(
            d.stderr.contains(expected),
            "expected {expected:?}\n{}",
            d.context()
        );
        assert!(!fx.evidence_dir().exists(), "evidence was written");
    }
}
