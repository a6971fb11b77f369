use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::runbook::{CatchUp, ScheduleSpec};
use test_case::test_case;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn schedule(cron: &str, zone: &str) -> Schedule {
    Schedule::new(&spec(cron, zone)).unwrap()
}

fn spec(cron: &str, zone: &str) -> ScheduleSpec {
    ScheduleSpec {
        cron: cron.into(),
        timezone: zone.into(),
        catch_up: CatchUp::None,
        start_window: Duration::from_secs(3600),
        jitter: Duration::ZERO,
    }
}

fn next_n(s: &Schedule, after: &str, n: usize) -> Vec<String> {
    let mut t = ts(after);
    let mut out = Vec::new();
    for _ in 0..n {
        t = s.next_after(t).unwrap();
        out.push(t.to_string());
    }
    out
}

// DST: every row starts the day before a change, in local noon, and lists the next slots as
// UTC instants. New York 2026: spring forward Sun 8 Mar 02:00 EST -> 03:00 EDT, fall back
// Sun 1 Nov 02:00 EDT -> 01:00 EST. Berlin 2026: 29 Mar 02:00 CET -> 03:00 CEST, 25 Oct
// 03:00 CEST -> 02:00 CET.
#[test_case("America/New_York", "30 2 * * *", "2026-03-07T17:00:00Z",
    &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"] ; "ny spring gap slot runs once at the end of the gap")]
#[test_case("America/New_York", "0 2 * * *", "2026-03-07T17:00:00Z",
    &["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"] ; "ny spring slot at the gap start runs once")]
#[test_case("America/New_York", "30 1 * * *", "2026-03-07T17:00:00Z",
    &["2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"] ; "ny spring slot before the gap unchanged")]
#[test_case("America/New_York", "30 1 * * *", "2026-10-31T16:00:00Z",
    &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"] ; "ny fall overlap slot runs once at its first occurrence")]
#[test_case("America/New_York", "0 1 * * *", "2026-10-31T16:00:00Z",
    &["2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"] ; "ny fall slot at the overlap start runs once")]
#[test_case("America/New_York", "0 2 * * *", "2026-10-31T16:00:00Z",
    &["2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"] ; "ny fall slot after the overlap")]
#[test_case("America/New_York", "*/30 * * * *", "2026-11-01T04:45:00Z",
    &["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"] ; "ny interval job keeps its real time interval through the overlap")]
#[test_case("America/New_York", "*/30 * * * *", "2026-03-08T06:15:00Z",
    &["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"] ; "ny interval job through the gap")]
#[test_case("Europe/Berlin", "30 2 * * *", "2026-03-28T11:00:00Z",
    &["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"] ; "berlin spring gap slot runs once")]
#[test_case("Europe/Berlin", "30 2 * * *", "2026-10-24T10:00:00Z",
    &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"] ; "berlin fall overlap slot runs once")]
#[test_case("UTC", "0 0 2 * * *", "2026-11-23T12:00:00Z",
    &["2026-11-24T02:00:00Z", "2026-11-25T02:00:00Z"] ; "six fields with seconds")]
#[test_case("UTC", "*/5 * * * * *", "2026-11-23T12:00:00Z",
    &["2026-11-23T12:00:05Z", "2026-11-23T12:00:10Z"] ; "every five seconds")]
fn next_slots(zone: &str, cron: &str, after: &str, expected: &[&str]) {
    let s = schedule(cron, zone);
    assert_eq!(next_n(&s, after, expected.len()), expected);
}

#[test_case("America/New_York", "30 2 * * *", "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z" ; "ny spring daily")]
#[test_case("America/New_York", "30 1 * * *", "2026-10-25T00:00:00Z", "2026-11-08T00:00:00Z" ; "ny fall daily")]
#[test_case("America/New_York", "*/20 * * * *", "2026-10-31T20:00:00Z", "2026-11-01T12:00:00Z" ; "ny fall interval")]
#[test_case("America/New_York", "*/20 * * * *", "2026-03-07T20:00:00Z", "2026-03-08T12:00:00Z" ; "ny spring interval")]
#[test_case("Europe/Berlin", "30 2 * * *", "2026-03-20T00:00:00Z", "2026-04-05T00:00:00Z" ; "berlin spring daily")]
#[test_case("Europe/Berlin", "30 2 * * *", "2026-10-18T00:00:00Z", "2026-11-01T00:00:00Z" ; "berlin fall daily")]
fn slots_between_walks_back_to_the_same_slots_as_forward(
    zone: &str,
    cron: &str,
    from: &str,
    to: &str,
) {
    let s = schedule(cron, zone);
    let (from, to) = (ts(from), ts(to));
    let mut forward = Vec::new();
    let mut t = from;
    while let Some(n) = s.next_after(t).filter(|n| *n <= to) {
        forward.push(n);
        t = n;
    }
    let (between, truncated) = s.slots_between(from, to, 10_000);
    assert!(!truncated);
    assert!(forward.len() > 10, "{forward:?}");
    assert_eq!(between, forward);
}

#[test]
fn daily_slot_on_dst_days_happens_exactly_once_per_local_day() {
    for (zone, cron, from, to) in [
        (
            "America/New_York",
            "30 2 * * *",
            "2026-03-07T05:00:00Z",
            "2026-03-10T05:00:00Z",
        ),
        (
            "America/New_York",
            "30 1 * * *",
            "2026-10-31T04:00:00Z",
            "2026-11-03T05:00:00Z",
        ),
        (
            "Europe/Berlin",
            "30 2 * * *",
            "2026-03-27T23:00:00Z",
            "2026-03-30T22:00:00Z",
        ),
        (
            "Europe/Berlin",
            "30 2 * * *",
            "2026-10-23T22:00:00Z",
            "2026-10-26T23:00:00Z",
        ),
    ] {
        let s = schedule(cron, zone);
        let (slots, _) = s.slots_between(ts(from), ts(to), 100);
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let days: Vec<_> = slots
            .iter()
            .map(|t| t.to_zoned(tz.clone()).date())
            .collect();
        let mut unique = days.clone();
        unique.dedup();
        assert_eq!(days, unique, "{zone} {cron}: {slots:?}");
        assert_eq!(days.len(), 3, "{zone} {cron}: {slots:?}");
    }
}

#[test]
fn slots_between_is_half_open_and_keeps_the_newest_when_truncated() {
    let s = schedule("0 * * * *", "UTC");
    let (slots, truncated) =
        s.slots_between(ts("2026-11-23T01:00:00Z"), ts("2026-11-23T04:00:00Z"), 10);
    assert_eq!(
        slots,
        [
            ts("2026-11-23T02:00:00Z"),
            ts("2026-11-23T03:00:00Z"),
            ts("2026-11-23T04:00:00Z")
        ]
    );
    assert!(!truncated);
    let (slots, truncated) =
        s.slots_between(ts("2026-11-23T01:00:00Z"), ts("2026-11-23T04:00:00Z"), 2);
    assert_eq!(
        slots,
        [ts("2026-11-23T03:00:00Z"), ts("2026-11-23T04:00:00Z")]
    );
    assert!(truncated);
    assert_eq!(
        s.slots_between(ts("2026-11-23T04:00:00Z"), ts("2026-11-23T01:00:00Z"), 2),
        (vec![], false)
    );
}

// Planning ----------------------------------------------------------------------------------

const HOURLY: &str = "0 * * * *";

fn policy(catch_up: CatchUp, window_secs: u64) -> Policy {
    Policy {
        catch_up,
        start_window: Duration::from_secs(window_secs),
        jitter: Duration::ZERO,
    }
}

fn view(last_seen: Option<&str>, online_since: &str, now: &str, running: bool) -> View {
    View {
        last_seen: last_seen.map(ts),
        online_since: ts(online_since),
        now: ts(now),
        previous: if running {
            Previous::Running
        } else {
            Previous::Idle
        },
    }
}

fn run(slot: &str, trigger: Trigger) -> Decision {
    Decision::Run {
        slot: ts(slot),
        trigger,
    }
}

fn missed(slot: &str, reason: MissReason) -> Decision {
    Decision::Missed {
        slot: ts(slot),
        reason,
    }
}

#[test]
fn nothing_due_between_slots() {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::None, 600),
        &view(
            Some("2026-11-23T10:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T10:59:59Z",
            false,
        ),
    );
    assert_eq!(p, Plan::default());
}

#[test]
fn a_slot_runs_at_its_time_and_only_once() {
    let s = schedule(HOURLY, "UTC");
    let pol = policy(CatchUp::None, 600);
    let first = plan(
        &s,
        &pol,
        &view(
            Some("2026-11-23T10:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T11:00:00.002Z",
            false,
        ),
    );
    assert_eq!(
        first.decisions,
        [run("2026-11-23T11:00:00Z", Trigger::Schedule)]
    );
    // Once recorded, the store's last slot moves on and the same slot is never planned again,
    // however often the loop wakes (a restart reads the same store).
    let again = plan(
        &s,
        &pol,
        &view(
            Some("2026-11-23T11:00:00Z"),
            "2026-11-23T11:00:05Z",
            "2026-11-23T11:00:06Z",
            false,
        ),
    );
    assert_eq!(again, Plan::default());
}

#[test]
fn a_new_runbook_starts_at_its_next_slot() {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::Latest, 3600),
        &view(None, "2026-11-23T10:30:00Z", "2026-11-23T10:45:00Z", false),
    );
    assert_eq!(p, Plan::default());
    let p = plan(
        &s,
        &policy(CatchUp::Latest, 3600),
        &view(None, "2026-11-23T10:30:00Z", "2026-11-23T11:00:00Z", false),
    );
    assert_eq!(
        p.decisions,
        [run("2026-11-23T11:00:00Z", Trigger::Schedule)]
    );
}

#[test]
fn overlap_is_skipped_not_queued() {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::None, 600),
        &view(
            Some("2026-11-23T10:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T11:00:01Z",
            true,
        ),
    );
    assert_eq!(
        p.decisions,
        [Decision::SkippedOverlap {
            slot: ts("2026-11-23T11:00:00Z")
        }]
    );
}

#[test]
fn a_slot_due_while_the_previous_one_has_not_started_is_missed_saying_why() {
    let s = schedule(HOURLY, "UTC");
    for (previous, reason) in [
        (Previous::Queued, MissReason::PreviousQueued),
        (Previous::Jitter, MissReason::PreviousJitter),
    ] {
        let p = plan(
            &s,
            &policy(CatchUp::None, 600),
            &View {
                previous,
                ..view(
                    Some("2026-11-23T10:00:00Z"),
                    "2026-11-23T09:00:00Z",
                    "2026-11-23T11:00:01Z",
                    false,
                )
            },
        );
        assert_eq!(p.decisions, [missed("2026-11-23T11:00:00Z", reason)]);
    }
    assert_eq!(
        MissReason::PreviousQueued.describe(),
        "this runbook's previous slot was still waiting for a place under --max-concurrent"
    );
}

#[test]
fn a_late_wake_within_the_window_runs_only_the_newest_slot() {
    // Host suspended 10:50..12:05 while the daemon ran: 11:00 is superseded, 12:00 runs.
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::None, 600),
        &view(
            Some("2026-11-23T10:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T12:05:00Z",
            false,
        ),
    );
    assert_eq!(
        p.decisions,
        [
            missed("2026-11-23T11:00:00Z", MissReason::Superseded),
            run("2026-11-23T12:00:00Z", Trigger::Schedule),
        ]
    );
}

#[test]
fn a_wake_after_the_window_misses_the_slot() {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::Latest, 600),
        &view(
            Some("2026-11-23T10:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T11:10:01Z",
            false,
        ),
    );
    assert_eq!(
        p.decisions,
        [missed("2026-11-23T11:00:00Z", MissReason::StartWindow)]
    );
}

// Restarts: the daemon was down from just after 10:00 until `online_since`.
#[test_case(CatchUp::None, 3600, "2026-11-23T13:20:00Z",
    &[("2026-11-23T11:00:00Z", None), ("2026-11-23T12:00:00Z", None), ("2026-11-23T13:00:00Z", None)] ; "none misses every slot")]
#[test_case(CatchUp::Latest, 3600, "2026-11-23T13:20:00Z",
    &[("2026-11-23T11:00:00Z", None), ("2026-11-23T12:00:00Z", None), ("2026-11-23T13:00:00Z", Some(Trigger::CatchUp))] ; "latest catches up the newest")]
#[test_case(CatchUp::Latest, 600, "2026-11-23T13:20:00Z",
    &[("2026-11-23T11:00:00Z", None), ("2026-11-23T12:00:00Z", None), ("2026-11-23T13:00:00Z", None)] ; "latest outside the window misses all")]
#[test_case(CatchUp::Latest, 1200, "2026-11-23T13:20:00Z",
    &[("2026-11-23T11:00:00Z", None), ("2026-11-23T12:00:00Z", None), ("2026-11-23T13:00:00Z", Some(Trigger::CatchUp))] ; "latest exactly at the window edge runs")]
fn restart_policy(catch_up: CatchUp, window: u64, now: &str, expected: &[(&str, Option<Trigger>)]) {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(catch_up, window),
        &view(Some("2026-11-23T10:00:00Z"), now, now, false),
    );
    let got: Vec<(String, Option<Trigger>)> = p
        .decisions
        .iter()
        .map(|d| match *d {
            Decision::Run { slot, trigger } => (slot.to_string(), Some(trigger)),
            Decision::Missed { slot, .. } => (slot.to_string(), None),
            Decision::SkippedOverlap { slot } => panic!("overlap at {slot}"),
        })
        .collect();
    let expected: Vec<(String, Option<Trigger>)> = expected
        .iter()
        .map(|(s, t)| ((*s).to_owned(), *t))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn restart_reasons_say_why() {
    let s = schedule(HOURLY, "UTC");
    let now = "2026-11-23T12:10:00Z";
    let latest = plan(
        &s,
        &policy(CatchUp::Latest, 3600),
        &view(Some("2026-11-23T10:00:00Z"), now, now, false),
    );
    assert_eq!(
        latest.decisions,
        [
            missed("2026-11-23T11:00:00Z", MissReason::CaughtUpLater),
            run("2026-11-23T12:00:00Z", Trigger::CatchUp),
        ]
    );
    let none = plan(
        &s,
        &policy(CatchUp::None, 3600),
        &view(Some("2026-11-23T10:00:00Z"), now, now, false),
    );
    assert_eq!(
        none.decisions,
        [
            missed("2026-11-23T11:00:00Z", MissReason::NotRunning),
            missed("2026-11-23T12:00:00Z", MissReason::NotRunning),
        ]
    );
}

#[test]
fn a_long_outage_is_truncated_to_the_newest_slots() {
    let s = schedule("* * * * * *", "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::Latest, 5),
        &view(
            Some("2026-11-20T00:00:00Z"),
            "2026-11-23T00:00:02.5Z",
            "2026-11-23T00:00:02.9Z",
            false,
        ),
    );
    assert!(p.truncated);
    assert_eq!(p.decisions.len(), MAX_SLOTS_PER_PLAN);
    assert_eq!(
        p.decisions.last(),
        Some(&run("2026-11-23T00:00:02Z", Trigger::CatchUp))
    );
}

#[test]
fn a_clock_stepped_back_plans_nothing() {
    let s = schedule(HOURLY, "UTC");
    let p = plan(
        &s,
        &policy(CatchUp::Latest, 3600),
        &view(
            Some("2026-11-23T12:00:00Z"),
            "2026-11-23T09:00:00Z",
            "2026-11-23T11:30:00Z",
            false,
        ),
    );
    assert_eq!(p, Plan::default());
}

#[test]
fn a_runbook_spec_builds_its_policy() {
    let mut sp = spec(HOURLY, "UTC");
    sp.catch_up = CatchUp::Latest;
    assert_eq!(Policy::of(&sp), policy(CatchUp::Latest, 3600));
    let bad = ScheduleSpec {
        timezone: "Nowhere/Atlantis".into(),
        ..spec(HOURLY, "UTC")
    };
    assert!(matches!(
        Schedule::new(&bad),
        Err(ScheduleError::TimeZone(_))
    ));
}

#[test]
fn jitter_delay_is_fixed_bounded_and_spread() {
    let slot = ts("2026-11-23T02:00:00Z");
    let j = Duration::from_secs(600);
    assert_eq!(jitter_delay("a", slot, Duration::ZERO), Duration::ZERO);
    // The same runbook and slot: the same delay (a restart does not move it).
    assert_eq!(jitter_delay("a", slot, j), jitter_delay("a", slot, j));
    // Always below the jitter, and spread over it: 200 runbooks at one slot cover each
    // tenth of the range.
    let mut tenths = [0u32; 10];
    for i in 0..200 {
        let d = jitter_delay(&format!("runbook-{i}"), slot, j);
        assert!(d < j, "{d:?}");
        tenths[(d.as_secs() / 60) as usize] += 1;
    }
    assert!(tenths.iter().all(|&n| n > 0), "{tenths:?}");
    // Another slot of the same runbook gets another delay.
    assert_ne!(
        jitter_delay("a", slot, j),
        jitter_delay("a", ts("2026-11-24T02:00:00Z"), j)
    );
}
