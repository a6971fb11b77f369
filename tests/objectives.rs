//! RTO / RPO objectives: a drill whose files all verify still fails when it misses one.

use lifeboat_testkit::Format;

use crate::util::{DAY1, Drill, Fixture, Runbook};

#[test]
fn missed_rpo_fails_the_drill_though_every_file_passed() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: Some("12h".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert_eq!(d.point(DAY1)["outcome"], "passed");
    assert_eq!(d.evidence["objectives"]["rpo_seconds"], 43_200);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(86_400.0));
    assert_eq!(d.measured("rpo_met"), false);
    assert_eq!(d.measured("rto_met"), true);
    // The reason spells the durations as the RPO line above it does: one way everywhere.
    assert!(
        Drill::reason(&d.evidence)
            .contains("RPO objective missed: measured 1d 0h 0m 0s, objective 12h 0m 0s"),
        "the reason names the objective, in the terminal's words\n{}",
        d.context()
    );
    assert!(d.stdout.contains("RPO  1d 0h 0m 0s"), "{}", d.context());
}

#[test]
fn rpo_equal_to_the_measured_value_is_met() {
    // "An objective is met when the measured value is at most the objective."
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: Some("1d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.evidence["objectives"]["rpo_seconds"], 86_400);
    assert_eq!(d.measured("rpo_met"), true);
}

#[test]
fn missed_rto_fails_the_drill() {
    // A `wait` step makes the restore take at least 2 s, deterministically over a 1 s RTO.
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rto: Some("1s".into()),
        extra: "steps:\n  - restore: {}\n  - wait: 2s\n".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert_eq!(d.point(DAY1)["outcome"], "passed");
    assert_eq!(d.evidence["objectives"]["rto_seconds"], 1);
    let rto = d.measured("rto_seconds").as_f64().unwrap();
    assert!(rto >= 2.0, "measured RTO {rto} includes the wait step");
    assert_eq!(d.measured("rto_met"), false);
    assert_eq!(d.measured("rpo_met"), true);
    let reason = Drill::reason(&d.evidence).to_lowercase();
    assert!(
        reason.contains("rto"),
        "the reason names the objective\n{}",
        d.context()
    );
}

#[test]
fn without_objectives_nothing_is_judged_but_the_files() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rto: None,
        rpo: None,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert!(d.evidence["objectives"]["rto_seconds"].is_null());
    assert!(d.evidence["objectives"]["rpo_seconds"].is_null());
    assert!(d.measured("rto_met").is_null());
    assert!(d.measured("rpo_met").is_null());
    assert_eq!(
        d.measured("rpo_seconds").as_f64(),
        Some(86_400.0),
        "still measured"
    );
}
