//! Which recovery points a drill tries, in what order, and the RPO it measures from them.

use std::time::{Duration, SystemTime};

use lifeboat_testkit::Format;

use crate::util::{DAY1, DAY2, DAY3, Drill, Fixture, Runbook, T0, age_seconds};

/// Not on a whole hour, so an off-by-timezone or rounding error shows.
const ODD_NEW: &str = "2026-11-21T173015Z";
const ODD_OLD: &str = "2026-11-20T173015Z";

#[test]
fn corrupt_newest_point_falls_back_to_the_older_one_and_still_fails() {
    let fx = Fixture::new();
    fx.standard_point(ODD_NEW, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    fx.standard_point(ODD_OLD, Format::Sha256sum);
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);

    assert_eq!(d.outcome(), "failed", "any tried point failed");
    assert_eq!(d.point_ids(), [ODD_NEW, ODD_OLD], "newest first");
    assert_eq!(d.point(ODD_NEW)["outcome"], "failed");
    assert_eq!(d.point(ODD_OLD)["outcome"], "passed");
    assert_eq!(d.measured("recovery_point"), ODD_OLD);
    let rpo = age_seconds(ODD_OLD, T0);
    assert_eq!(rpo, 86_400.0 + 30_585.0);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(rpo));
    assert_eq!(d.measured("rpo_met"), true);
    assert!(
        d.measured("rto_seconds").as_f64().is_some(),
        "{}",
        d.context()
    );
    // Point times are the parsed names, in UTC.
    let time: jiff::Timestamp = d.point(ODD_OLD)["time"].as_str().unwrap().parse().unwrap();
    assert_eq!(time, "2026-11-20T17:30:15Z".parse().unwrap());
}

#[test]
fn newest_good_point_is_the_only_one_tried_with_select_latest() {
    let fx = Fixture::new();
    for id in [DAY1, DAY2, DAY3] {
        fx.standard_point(id, Format::Sha256sum);
    }
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
}

#[test]
fn select_all_verifies_every_point_in_the_window() {
    let fx = Fixture::new();
    for id in [DAY3, DAY1, DAY2] {
        fx.standard_point(id, Format::Sha256sum);
    }
    fx.standard_point("2026-10-01T020000Z", Format::Sha256sum); // outside `within`
    let rb = Runbook {
        select: "all".into(),
        within: Some("7d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1, DAY2, DAY3]);
    for id in [DAY1, DAY2, DAY3] {
        assert_eq!(d.point(id)["outcome"], "passed");
        assert_eq!(d.file_paths(id).len(), 5);
    }
    assert_eq!(d.measured("recovery_point"), DAY1);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(86_400.0));
}

#[test]
fn select_all_fails_when_an_older_point_is_bad() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum)
        .remove("etc/app.conf");
    fx.standard_point(DAY3, Format::Sha256sum);
    let rb = Runbook {
        select: "all".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert_eq!(d.point(DAY2)["outcome"], "failed");
    assert_eq!(d.point(DAY3)["outcome"], "passed");
    assert_eq!(
        d.measured("recovery_point"),
        DAY1,
        "the newest point that passed"
    );
}

#[test]
fn within_stops_the_fallback_at_the_window() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .remove("data/blob.bin");
    fx.standard_point("2026-11-01T020000Z", Format::Sha256sum); // 21 days old: good but outside
    let rb = Runbook {
        within: Some("7d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1]);
    assert!(d.measured("recovery_point").is_null());
    assert!(d.measured("rpo_seconds").is_null());
    assert_eq!(d.measured("rpo_met"), false);
}

#[test]
fn nothing_in_the_window_fails_with_no_recovery_point() {
    let fx = Fixture::new();
    fx.standard_point("2026-10-01T020000Z", Format::Sha256sum);
    let rb = Runbook {
        within: Some("7d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert!(d.points().is_empty(), "{}", d.context());
    assert!(
        Drill::reason(&d.evidence).contains("no recovery point"),
        "{}",
        d.context()
    );
    assert!(d.measured("rpo_seconds").is_null());
    assert_eq!(d.measured("rpo_met"), false);
}

#[test]
fn empty_source_fails_with_no_recovery_point() {
    let fx = Fixture::new();
    // A folder without the manifest is not a recovery point, whatever its name.
    std::fs::create_dir_all(fx.source().join("lost+found")).unwrap();
    std::fs::create_dir_all(fx.source().join(DAY1).join("etc")).unwrap();
    std::fs::write(fx.source().join(DAY1).join("etc/hosts"), "x").unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert!(
        Drill::reason(&d.evidence).contains("no recovery point"),
        "{}",
        d.context()
    );
}

#[test]
fn folders_without_a_manifest_are_not_points() {
    let fx = Fixture::new();
    fx.standard_point(DAY2, Format::Sha256sum);
    // Newer by name, and not a parseable time, but neither holds SHA256SUMS.
    std::fs::create_dir_all(fx.source().join(DAY1)).unwrap();
    std::fs::create_dir_all(fx.source().join("zzz-incomplete")).unwrap();
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY2]);
}

#[test]
fn point_after_t0_is_ignored() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // One second after T0: a backup that, at the simulated incident, did not exist yet.
    fx.standard_point("2026-11-22T020001Z", Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(86_400.0));
}

#[test]
fn earlier_now_moves_t0_back() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum);
    // T0 between the two points: only DAY2 existed then, 12 h old.
    let d = fx.drill(&fx.runbook(), &["--now", "2026-11-20T14:00:00Z"]);
    d.assert_code(0);
    assert_eq!(d.evidence["t0"], "2026-11-20T14:00:00Z");
    assert_eq!(d.measured("recovery_point"), DAY2);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(43_200.0));
}

/// `--now 2026-11-22` is that day's midnight UTC, as `report --from` reads a date; a time of
/// day without an offset is refused with the forms that work, and nothing runs.
#[test]
fn now_as_a_date_is_its_midnight_utc() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &["--now", "2026-11-22"]);
    d.assert_code(0);
    assert_eq!(d.evidence["t0"], "2026-11-22T00:00:00Z");
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(79_200.0));

    let out = fx.run(&["status", "--state", "state.db", "--now", "2026-11-22"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &["--now", "2026-11-22T02:00"]);
    d.assert_code(2);
    assert!(
        d.stderr.contains("2026-11-22T02:00:00Z") && d.stderr.contains("a date such as 2026-11-22"),
        "the error shows the expected forms\n{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists(), "evidence written");
}

#[test]
fn time_modified_uses_the_manifest_mtime() {
    let fx = Fixture::new();
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let at = |secs_before: u64| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(t0.as_second() as u64 - secs_before)
    };
    // Names sort the other way round from the times: only the mtime may decide.
    fx.standard_point("a-nightly", Format::Sha256sum)
        .set_manifest_mtime(at(5_000));
    fx.standard_point("b-nightly", Format::Sha256sum)
        .set_manifest_mtime(at(90_000));
    fx.standard_point("c-after-t0", Format::Sha256sum)
        .set_manifest_mtime(
            SystemTime::UNIX_EPOCH + Duration::from_secs(t0.as_second() as u64 + 60),
        );
    let rb = Runbook {
        time: "modified".into(),
        time_format: None,
        select: "all".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), ["a-nightly", "b-nightly"]);
    assert_eq!(d.measured("recovery_point"), "a-nightly");
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(5_000.0));
    let time: jiff::Timestamp = d.point("b-nightly")["time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(time, t0 - jiff::SignedDuration::from_secs(90_000));
}

#[test]
fn time_name_defaults_to_rfc3339() {
    let fx = Fixture::new();
    fx.standard_point("2026-11-21T02:00:00Z", Format::Sha256sum);
    fx.standard_point("2026-11-20T02:00:00Z", Format::Sha256sum);
    let rb = Runbook {
        time_format: None,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.measured("recovery_point"), "2026-11-21T02:00:00Z");
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(86_400.0));
}
