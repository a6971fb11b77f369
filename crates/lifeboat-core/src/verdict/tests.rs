//! Every verdict rule, on findings written by hand: no backup, no clock, no storage.

use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::Algorithm;
use crate::evidence::ManifestRecord;

const T0: &str = "2026-11-22T00:00:00Z";
const NEWEST: &str = "2026-11-21T020000Z";
const OLDER: &str = "2026-11-20T020000Z";
const OLDEST: &str = "2026-11-19T020000Z";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A point named like the fixtures name them (`2026-11-21T020000Z`), taken at that time.
fn point(id: &str, outcome: Outcome) -> PointResult {
    let time = crate::runbook::point_time_from_name(Some("%Y-%m-%dT%H%M%SZ"), id).unwrap();
    PointResult {
        id: id.to_owned(),
        time,
        outcome,
        reason: (outcome != Outcome::Passed).then(|| "1 of 4 sampled files failed".to_owned()),
        started_at: at(T0),
        finished_at: at(T0),
        manifest: ManifestRecord {
            path: "SHA256SUMS".to_owned(),
            algorithm: Algorithm::Sha256,
            entries: Some(4),
            sha256: None,
        },
        files: Vec::new(),
        steps: Vec::new(),
    }
}

fn step(kind: &str, name: Option<&str>, outcome: Outcome, reason: Option<&str>) -> StepResult {
    StepResult {
        kind: kind.to_owned(),
        name: name.map(str::to_owned),
        started_at: at(T0),
        finished_at: at(T0),
        outcome,
        reason: reason.map(str::to_owned),
        detail: None,
    }
}

fn objectives(rto: Option<u64>, rpo: Option<u64>) -> Objectives {
    Objectives {
        rto: rto.map(Duration::from_secs),
        rpo: rpo.map(Duration::from_secs),
    }
}

/// Findings of a drill whose checks ran to their end, measured 12.3456 s in.
fn checked<'a>(objectives: &'a Objectives, points: &'a [PointResult]) -> Findings<'a> {
    Findings {
        t0: at(T0),
        objectives,
        within: None,
        ending: Ending::Checked,
        points,
        rto: Some(Duration::from_secs_f64(12.3456)),
        listing: Some("2 entries in the source"),
        stopped: None,
        finally: &[],
        coverage: None,
    }
}

#[test]
fn a_point_that_passed_within_both_objectives_passes_the_drill_and_is_measured() {
    let goals = objectives(Some(3600), Some(26 * 3600));
    let points = [point(NEWEST, Outcome::Passed)];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!(v.reason, None);
    assert_eq!(
        v.objectives,
        ObjectiveSeconds {
            rto_seconds: Some(3600),
            rpo_seconds: Some(93_600)
        }
    );
    assert_eq!(
        v.measured,
        Measured {
            // To the millisecond.
            rto_seconds: Some(12.346),
            // T0 minus the point's time: 22 hours.
            rpo_seconds: Some(79_200.0),
            recovery_point: Some(NEWEST.to_owned()),
            rto_met: Some(true),
            rpo_met: Some(true),
        }
    );
}

#[test]
fn without_objectives_nothing_is_met_or_missed() {
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Passed)];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!((v.measured.rto_met, v.measured.rpo_met), (None, None));
    assert_eq!(v.objectives, ObjectiveSeconds::default());
}

#[test]
fn a_failed_newer_point_fails_the_drill_even_when_an_older_one_passed() {
    let goals = objectives(None, None);
    let points = [
        point(NEWEST, Outcome::Failed),
        point(OLDER, Outcome::Passed),
    ];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some("recovery point 2026-11-21T020000Z failed; 2026-11-20T020000Z passed")
    );
    // Measured on the point that passed.
    assert_eq!(v.measured.recovery_point.as_deref(), Some(OLDER));
    assert_eq!(v.measured.rpo_seconds, Some(165_600.0));

    let points = [
        point(NEWEST, Outcome::Failed),
        point(OLDER, Outcome::Failed),
        point(OLDEST, Outcome::Passed),
    ];
    assert_eq!(
        decide(&checked(&goals, &points)).reason.as_deref(),
        Some(
            "recovery points 2026-11-21T020000Z, 2026-11-20T020000Z failed; \
             2026-11-19T020000Z passed"
        )
    );
}

#[test]
fn with_select_all_the_newest_point_that_passed_is_measured() {
    let goals = objectives(None, None);
    let points = [
        point(NEWEST, Outcome::Passed),
        point(OLDER, Outcome::Failed),
        point(OLDEST, Outcome::Passed),
    ];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.measured.recovery_point.as_deref(), Some(NEWEST));
    assert_eq!(
        v.reason.as_deref(),
        Some("recovery point 2026-11-20T020000Z failed; 2026-11-21T020000Z passed")
    );
}

#[test]
fn when_no_point_passed_each_one_tried_is_named_and_no_objective_is_met() {
    let goals = objectives(Some(3600), Some(3600));
    let points = [
        point(NEWEST, Outcome::Failed),
        point(OLDER, Outcome::Failed),
    ];
    let mut findings = checked(&goals, &points);
    findings.rto = None;
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    // No measurement, so no "objective missed" sentence: the objectives are simply not met.
    assert_eq!(
        v.reason.as_deref(),
        Some("no recovery point passed (tried: 2026-11-21T020000Z, 2026-11-20T020000Z)")
    );
    assert_eq!(
        v.measured,
        Measured {
            rto_met: Some(false),
            rpo_met: Some(false),
            ..Measured::default()
        }
    );
}

#[test]
fn a_missed_rto_fails_the_drill_with_the_measured_seconds() {
    let goals = objectives(Some(10), None);
    let points = [point(NEWEST, Outcome::Passed)];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some("RTO objective missed: measured 12.3s, objective 10s")
    );
    assert_eq!(v.measured.rto_met, Some(false));
    assert_eq!(v.measured.recovery_point.as_deref(), Some(NEWEST));
}

#[test]
fn an_rto_equal_to_its_objective_is_met() {
    let goals = objectives(Some(12), None);
    let points = [point(NEWEST, Outcome::Passed)];
    let mut findings = checked(&goals, &points);
    findings.rto = Some(Duration::from_secs(12));
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!(v.measured.rto_met, Some(true));
}

#[test]
fn a_missed_rpo_fails_the_drill_in_the_words_every_surface_prints() {
    let goals = objectives(None, Some(26 * 3600));
    let points = [
        point(NEWEST, Outcome::Failed),
        point(OLDER, Outcome::Passed),
    ];
    let mut findings = checked(&goals, &points);
    findings.t0 = at("2026-11-22T02:00:00Z");
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    // The golden record's sentence: the fallback, then the objective, its durations spelt
    // as the terminal's RPO column and the reports spell them (`duration::human`).
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "recovery point 2026-11-21T020000Z failed; 2026-11-20T020000Z passed; \
             RPO objective missed: measured 2d 0h 0m 0s, objective 1d 2h 0m 0s"
        )
    );
    assert_eq!(v.measured.rpo_met, Some(false));
}

#[test]
fn the_reason_rounds_a_duration_as_the_terminal_and_the_reports_do() {
    let goals = objectives(None, Some(2 * 3600));
    let points = [point(NEWEST, Outcome::Passed)];
    let mut findings = checked(&goals, &points);
    findings.t0 = at("2026-11-22T01:00:00.5Z");
    // 23 h and half a second: the RPO column rounds it to 23h 0m 1s, and so must the reason
    // (it cut the fraction and said "23h" beside a column saying "23h 0m 1s").
    assert_eq!(
        decide(&findings).reason.as_deref(),
        Some("RPO objective missed: measured 23h 0m 1s, objective 2h 0m 0s")
    );
}

#[test]
fn missed_objectives_and_failed_finally_steps_are_all_said_in_order() {
    let goals = objectives(Some(1), Some(1));
    let points = [point(NEWEST, Outcome::Passed)];
    let finally = [
        step(
            "run",
            Some("cleanup"),
            Outcome::Failed,
            Some("exit code 1, expected 0"),
        ),
        step("wait", None, Outcome::Passed, None),
        step("http", None, Outcome::Failed, None),
    ];
    let mut findings = checked(&goals, &points);
    findings.finally = &finally;
    assert_eq!(
        decide(&findings).reason.as_deref(),
        Some(
            "RTO objective missed: measured 12.3s, objective 1s; \
             RPO objective missed: measured 22h 0m 0s, objective 1s; \
             finally[0] (cleanup) failed: exit code 1, expected 0; \
             finally[2] (http) failed: no reason given"
        )
    );
}

#[test]
fn a_failed_finally_step_fails_a_drill_whose_point_passed() {
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Passed)];
    let finally = [step(
        "run",
        None,
        Outcome::Failed,
        Some("timed out after 30s"),
    )];
    let mut findings = checked(&goals, &points);
    findings.finally = &finally;
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some("finally[0] (run) failed: timed out after 30s")
    );
    // The point's measurements stand: `finally` never counts toward RTO.
    assert_eq!(v.measured.rto_seconds, Some(12.346));
}

#[test]
fn an_interrupted_drill_is_an_error_and_measures_nothing_even_after_a_pass() {
    let goals = objectives(Some(3600), None);
    let points = [point(NEWEST, Outcome::Passed)];
    let finally = [step(
        "run",
        None,
        Outcome::Failed,
        Some("exit code 1, expected 0"),
    )];
    let mut findings = checked(&goals, &points);
    findings.ending = Ending::Interrupted;
    findings.finally = &finally;
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Error);
    // The one sentence, whatever else was found.
    assert_eq!(v.reason.as_deref(), Some(INTERRUPTED));
    assert_eq!(
        v.measured,
        Measured {
            rto_met: Some(false),
            ..Measured::default()
        }
    );
}

#[test]
fn a_stop_after_the_last_check_leaves_the_verdict() {
    // Such a stop leaves the checks `Checked` (see `Ending`): the findings decide, and a
    // drill whose point passed passes, measured.
    let goals = objectives(Some(3600), None);
    let points = [point(NEWEST, Outcome::Passed)];
    let v = decide(&checked(&goals, &points));
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!(v.measured.recovery_point.as_deref(), Some(NEWEST));
    assert_eq!(v.measured.rto_met, Some(true));
}

#[test]
fn a_drill_that_could_not_complete_is_an_error_with_its_reason() {
    let goals = objectives(None, Some(3600));
    let points = [point(NEWEST, Outcome::Failed)];
    let mut findings = checked(&goals, &points);
    findings.ending =
        Ending::CouldNotComplete("could not read from s3://b/p: connection refused".to_owned());
    findings.rto = None;
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Error);
    assert_eq!(
        v.reason.as_deref(),
        Some("could not read from s3://b/p: connection refused")
    );
    assert_eq!(v.measured.rpo_met, Some(false));
}

#[test]
fn a_point_that_passed_before_the_drill_could_not_complete_is_still_measured() {
    // `select: all`: the newest point passed, then storage went away on an older one.
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Passed)];
    let mut findings = checked(&goals, &points);
    findings.ending = Ending::CouldNotComplete("scratch area: writing a: disk full".to_owned());
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Error);
    assert_eq!(v.measured.recovery_point.as_deref(), Some(NEWEST));
}

#[test]
fn no_point_found_says_where_it_looked_and_what_was_there() {
    let goals = objectives(None, Some(3600));
    let mut findings = checked(&goals, &[]);
    findings.rto = None;
    findings.listing = Some("3 entries in the source: 1 regular file, 2 without SHA256SUMS");
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "no recovery point at or before T0 2026-11-22T00:00:00Z (3 entries in the source: \
             1 regular file, 2 without SHA256SUMS)"
        )
    );
    assert_eq!(v.measured.rpo_met, Some(false));

    findings.within = Some(Duration::from_secs(30 * 86_400));
    findings.listing = Some("1 entry in the source: 1 older than the window");
    assert_eq!(
        decide(&findings).reason.as_deref(),
        Some(
            "no recovery point within 30d 0h 0m 0s before T0 2026-11-22T00:00:00Z (1 entry in the \
             source: 1 older than the window)"
        )
    );
}

#[test]
fn an_operator_stop_says_where_and_never_that_no_point_passed() {
    let goals = objectives(None, Some(26 * 3600));
    let points = [point(NEWEST, Outcome::Failed)];
    let declined = step(
        "wait",
        None,
        Outcome::Failed,
        Some("ada chose not to go on (answered \"n\")"),
    );
    let mut findings = checked(&goals, &points);
    findings.rto = None;
    findings.stopped = Some(Stopped {
        point: NEWEST,
        key: "steps[1]",
        step: &declined,
        why: NoFallback::Operator,
    });
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "stopped by the operator at steps[1] (wait) of recovery point 2026-11-21T020000Z: \
             ada chose not to go on (answered \"n\"); no older recovery point was tried"
        )
    );
    // Nothing passed, so nothing is measured; a missed objective without a measurement is
    // not a sentence of its own.
    assert_eq!(v.measured.recovery_point, None);
    assert_eq!(v.measured.rpo_met, Some(false));
}

#[test]
fn a_step_that_says_nothing_about_the_backup_stops_the_drill_and_says_why() {
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Failed)];
    for (why, kind, reason, sentence) in [
        (
            NoFallback::Approval,
            "approve",
            "bob answered \"n\"",
            "steps[1] (dns switched) failed at recovery point 2026-11-21T020000Z: bob answered \
             \"n\"; an approval says nothing about the backup, so no older recovery point was \
             tried",
        ),
        (
            NoFallback::Wait,
            "wait",
            "timed out after 1s",
            "steps[1] (dns switched) failed at recovery point 2026-11-21T020000Z: timed out \
             after 1s; a wait says nothing about the backup, so no older recovery point was \
             tried",
        ),
        (
            NoFallback::NamesNoData,
            "run",
            "exit code 1, expected 0",
            "steps[1] (dns switched) failed at recovery point 2026-11-21T020000Z: exit code 1, \
             expected 0; a step that names neither {scratch} nor {recovery_point} says nothing \
             about the backup, so no older recovery point was tried",
        ),
        (
            NoFallback::Runbook,
            "http",
            "status 503, expected 200",
            "steps[1] (dns switched) failed at recovery point 2026-11-21T020000Z: status 503, \
             expected 200; the step is marked `fallback: false`, so no older recovery point \
             was tried",
        ),
    ] {
        let failed = step(kind, Some("dns switched"), Outcome::Failed, Some(reason));
        let mut findings = checked(&goals, &points);
        findings.rto = None;
        findings.stopped = Some(Stopped {
            point: NEWEST,
            key: "steps[1]",
            step: &failed,
            why,
        });
        let v = decide(&findings);
        assert_eq!(v.outcome, Outcome::Failed);
        assert_eq!(v.reason.as_deref(), Some(sentence), "{why:?}");
    }
}

#[test]
fn a_stop_after_a_data_failure_names_both() {
    let goals = objectives(None, None);
    let points = [
        point(NEWEST, Outcome::Failed),
        point(OLDER, Outcome::Failed),
    ];
    let refused = step(
        "approve",
        None,
        Outcome::Failed,
        Some("no operator to confirm (unattended: fail)"),
    );
    let mut findings = checked(&goals, &points);
    findings.rto = None;
    findings.stopped = Some(Stopped {
        point: OLDER,
        key: "steps[1]",
        step: &refused,
        why: NoFallback::Approval,
    });
    assert_eq!(
        decide(&findings).reason.as_deref(),
        Some(
            "steps[1] (approve) failed at recovery point 2026-11-20T020000Z: no operator to \
             confirm (unattended: fail); an approval says nothing about the backup, so no older \
             recovery point was tried; recovery point 2026-11-21T020000Z failed"
        )
    );
}

#[test]
fn a_stop_after_a_pass_under_select_all_fails_the_drill_and_keeps_the_measurement() {
    let goals = objectives(None, None);
    let points = [
        point(NEWEST, Outcome::Passed),
        point(OLDER, Outcome::Failed),
    ];
    let refused = step("approve", None, Outcome::Failed, Some("bob answered \"n\""));
    let mut findings = checked(&goals, &points);
    findings.stopped = Some(Stopped {
        point: OLDER,
        key: "steps[1]",
        step: &refused,
        why: NoFallback::Approval,
    });
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(v.measured.recovery_point.as_deref(), Some(NEWEST));
    assert_eq!(
        v.reason.as_deref(),
        Some(
            "steps[1] (approve) failed at recovery point 2026-11-20T020000Z: bob answered \
             \"n\"; an approval says nothing about the backup, so no older recovery point was \
             tried"
        )
    );
}

#[test]
fn a_step_is_named_by_its_name_else_its_kind() {
    let named = step(
        "run",
        Some("integrity"),
        Outcome::Failed,
        Some("exit code 2, expected 0"),
    );
    assert_eq!(
        step_failure("steps[1]", &named),
        "steps[1] (integrity) failed: exit code 2, expected 0"
    );
    let unnamed = step("http", None, Outcome::Failed, None);
    assert_eq!(
        step_failure("finally[0]", &unnamed),
        "finally[0] (http) failed: no reason given"
    );
}

fn coverage_of(outcomes: &[Outcome]) -> crate::evidence::CoverageRecord {
    crate::evidence::CoverageRecord {
        within_seconds: 86_400,
        budget_bytes: Some(1),
        objects: 10,
        bytes: 10,
        verified_within: 3,
        ratio: 0.3,
        on_pace: false,
        behind_seconds: Some(864_000),
        never_verified: 7,
        oldest_verified: None,
        phase_bytes: 1,
        verified: outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| crate::evidence::CoverageObject {
                recovery_point: "2026-11-01T020000Z".into(),
                path: format!("f{i}"),
                outcome: *o,
                algorithm: crate::Algorithm::Sha256,
                actual: None,
                bytes: 1,
                reason: (*o == Outcome::Failed).then(|| "sha256 mismatch".into()),
            })
            .collect(),
    }
}

#[test]
fn a_clean_coverage_phase_never_changes_the_verdict_even_when_behind() {
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Passed)];
    let coverage = coverage_of(&[Outcome::Passed, Outcome::Passed]);
    let mut findings = checked(&goals, &points);
    findings.coverage = Some(&coverage);
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Passed);
    assert_eq!(v.reason, None);
}

#[test]
fn an_object_coverage_found_failing_fails_the_drill_and_is_named() {
    let goals = objectives(None, None);
    let points = [point(NEWEST, Outcome::Passed)];
    let coverage = coverage_of(&[Outcome::Passed, Outcome::Failed]);
    let mut findings = checked(&goals, &points);
    findings.coverage = Some(&coverage);
    let v = decide(&findings);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason.as_deref(),
        Some("coverage: 1 stored object failed: 2026-11-01T020000Z/f1")
    );
    // Many: the first few named, the rest counted.
    let coverage = coverage_of(&[Outcome::Failed; 7]);
    findings.coverage = Some(&coverage);
    assert_eq!(
        decide(&findings).reason.as_deref(),
        Some(
            "coverage: 7 stored objects failed: 2026-11-01T020000Z/f0, 2026-11-01T020000Z/f1, \
             2026-11-01T020000Z/f2, 2026-11-01T020000Z/f3, 2026-11-01T020000Z/f4 and 2 more"
        )
    );
}
