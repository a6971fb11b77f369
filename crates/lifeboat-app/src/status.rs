//! What `lifeboat status` knows about each runbook: its last run (and, when that did not
//! pass, its last success), the scheduled slots missed since that success and where its
//! coverage stood after its last drill with a coverage phase, from the history; its next slot
//! from its file.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lifeboat_core::evidence::Outcome;
use lifeboat_core::runbook::ScheduleSpec;
use lifeboat_scheduler::slots::MAX_SLOTS_PER_PLAN;
use lifeboat_scheduler::{HistoryEntry, RunCoverage, RunRecord, Schedule, SlotState};

/// One runbook's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunbookStatus {
    /// The last recorded run.
    pub last: Option<RunRecord>,
    /// When the last run that passed started.
    pub last_passed: Option<Timestamp>,
    /// The scheduled slots since the last success that did not run.
    pub missed: Missed,
    /// The next slot of its schedule, counted from the instant given.
    pub next: Option<Timestamp>,
    /// Its schedule as `CRON (ZONE)`, when its file was given and has one.
    pub schedule: Option<String>,
    /// Its file, when given.
    pub path: Option<String>,
    /// Coverage as its last drill with a coverage phase left it; `None` when no recorded
    /// drill had one (the runbook sets no `coverage`).
    pub coverage: Option<CoverageStatus>,
}

/// Where a runbook's coverage stood after a drill's coverage phase.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageStatus {
    /// The drill.
    pub run_id: String,
    pub started_at: Timestamp,
    pub summary: RunCoverage,
}

/// The scheduled slots of a runbook that did not run since its last success (since its
/// first entry in the history, when it never passed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missed {
    /// Slots the history records as `missed`, `skipped-overlap` or `abandoned`.
    pub recorded: usize,
    /// Slots of the runbook's schedule that nothing recorded although their start window has
    /// closed: no scheduler sharing this store was running them. Counted only when the
    /// runbook's file is given (its schedule is known) and the store has seen the runbook.
    pub unrecorded: usize,
    /// More unrecorded slots passed than are counted (at most
    /// [`MAX_SLOTS_PER_PLAN`], as the daemon records).
    pub more: bool,
}

impl Missed {
    /// Every slot missed, recorded or not.
    pub fn total(&self) -> usize {
        self.recorded + self.unrecorded
    }
}

impl std::fmt::Display for Missed {
    /// `3`, or `1005+` when more passed than were counted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.total(), if self.more { "+" } else { "" })
    }
}

/// What the history says about one runbook, gathered oldest first.
#[derive(Clone, Debug, Default)]
struct Seen {
    status: RunbookStatus,
    /// Its schedule and start window, when its file was given.
    schedule: Option<(Schedule, Duration)>,
    /// The runbook's first entry in the history.
    first: Option<Timestamp>,
    /// The newest slot the history holds for it, whatever became of it.
    newest_slot: Option<Timestamp>,
}

/// The status of every runbook given or found in the history, by name, at an instant.
#[derive(Clone, Debug)]
pub struct Statuses {
    now: Timestamp,
    by_name: BTreeMap<String, Seen>,
}

impl Statuses {
    /// No runbook yet; next and missed slots are counted at `now`.
    pub fn new(now: Timestamp) -> Self {
        Statuses {
            now,
            by_name: BTreeMap::new(),
        }
    }

    /// Adds a runbook file: its path, and its schedule (when it has one) with the next slot
    /// after `now`.
    pub fn add_file(&mut self, name: &str, path: &str, schedule: Option<&ScheduleSpec>) {
        let seen = self.by_name.entry(name.to_owned()).or_default();
        seen.status.path = Some(path.to_owned());
        if let Some(spec) = schedule {
            seen.status.schedule = Some(format!("{} ({})", spec.cron, spec.timezone));
            if let Ok(s) = Schedule::new(spec) {
                seen.status.next = s.next_after(self.now);
                seen.schedule = Some((s, spec.start_window));
            }
        }
    }

    /// Adds a history, oldest first: each runbook's last run, last success and the slots
    /// that did not run after it.
    pub fn add_history(&mut self, entries: Vec<HistoryEntry>) {
        for e in entries {
            let seen = self.by_name.entry(e.runbook).or_default();
            seen.first.get_or_insert(e.at);
            if let Some(slot) = e.slot {
                seen.newest_slot = Some(seen.newest_slot.map_or(slot, |n| n.max(slot)));
            }
            match e.run {
                Some(run) => {
                    // A later drill without coverage (the runbook dropped it, or the drill
                    // stopped before its phase) leaves the last one known in place.
                    if let Some(c) = &run.coverage {
                        seen.status.coverage = Some(CoverageStatus {
                            run_id: run.run_id.clone(),
                            started_at: run.started_at,
                            summary: c.clone(),
                        });
                    }
                    if run.outcome == Outcome::Passed {
                        seen.status.last_passed = Some(run.started_at);
                        seen.status.missed.recorded = 0;
                    }
                    seen.status.last = Some(run);
                }
                None if e.state.is_some_and(is_gap) => seen.status.missed.recorded += 1,
                None => {}
            }
        }
    }

    /// Every runbook's status, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, RunbookStatus)> {
        self.by_name.iter().map(|(name, seen)| {
            let mut status = seen.status.clone();
            if let Some((schedule, window)) = &seen.schedule {
                (status.missed.unrecorded, status.missed.more) =
                    unrecorded(seen, schedule, *window, self.now);
            }
            (name.as_str(), status)
        })
    }
}

/// The states of a slot that did not run (as `lifeboat report` counts gaps).
fn is_gap(state: SlotState) -> bool {
    matches!(
        state,
        SlotState::Missed | SlotState::SkippedOverlap | SlotState::Abandoned
    )
}

/// The slots of `schedule` after everything the history holds of the runbook (its newest
/// slot, its last success) whose start window had closed by `now`: a scheduler would have
/// recorded each one, run or not, so none was running. Nothing when the history has never
/// seen the runbook: there is no start to count from.
fn unrecorded(seen: &Seen, schedule: &Schedule, window: Duration, now: Timestamp) -> (usize, bool) {
    let after = [seen.newest_slot, seen.status.last_passed, seen.first]
        .into_iter()
        .flatten()
        .max();
    let Some(after) = after else {
        return (0, false);
    };
    let window = SignedDuration::try_from(window).unwrap_or(SignedDuration::MAX);
    let Ok(closed) = now.checked_sub(window) else {
        return (0, false);
    };
    let (slots, more) = schedule.slots_between(after, closed, MAX_SLOTS_PER_PLAN);
    (slots.len(), more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn run(runbook: &str, at: &str, outcome: Outcome) -> HistoryEntry {
        HistoryEntry {
            runbook: runbook.into(),
            slot: None,
            state: None,
            trigger: None,
            run: Some(RunRecord {
                run_id: format!("{runbook}@{at}"),
                runbook: runbook.into(),
                mode: "automatic".into(),
                slot: None,
                started_at: ts(at),
                finished_at: ts(at),
                outcome,
                reason: None,
                rto_seconds: None,
                rpo_seconds: None,
                rto_objective_seconds: None,
                rpo_objective_seconds: None,
                recovery_point: None,
                evidence: None,
                coverage: None,
                runner: None,
            }),
            reason: None,
            at: ts(at),
        }
    }

    fn slot(runbook: &str, at: &str, state: SlotState) -> HistoryEntry {
        HistoryEntry {
            runbook: runbook.into(),
            slot: Some(ts(at)),
            state: Some(state),
            trigger: Some("schedule".into()),
            run: None,
            reason: Some("why".into()),
            at: ts(at),
        }
    }

    fn scheduled(run: HistoryEntry) -> HistoryEntry {
        let slot = run.run.as_ref().unwrap().started_at;
        HistoryEntry {
            slot: Some(slot),
            state: Some(SlotState::Done),
            ..run
        }
    }

    const NIGHTLY: &str = "version: 1\nname: nightly\nsource:\n  url: file:///nonexistent\n\
                           manifest:\n  path: SHA256SUMS\nschedule: \"30 2 * * *\"\n\
                           timezone: America/New_York\nstart_window: 2h\n";

    fn nightly() -> lifeboat_core::runbook::Runbook {
        lifeboat_core::runbook::parse(NIGHTLY, "n.yaml", &|_| None).unwrap()
    }

    #[test]
    fn the_last_run_and_the_last_success_of_each_runbook() {
        let mut st = Statuses::new(ts("2026-03-07T12:00:00Z"));
        st.add_file("nightly", "n.yaml", nightly().schedule.as_ref());
        st.add_history(vec![
            run("nightly", "2026-03-05T07:30:00Z", Outcome::Passed),
            run("nightly", "2026-03-06T07:30:00Z", Outcome::Failed),
            run("gone", "2026-03-06T08:00:00Z", Outcome::Error),
        ]);
        let all: Vec<_> = st.iter().collect();
        assert_eq!(all.len(), 2);
        let (name, gone) = &all[0];
        assert_eq!(*name, "gone");
        assert_eq!(gone.path, None);
        assert_eq!(gone.last_passed, None);
        let (name, nightly) = &all[1];
        assert_eq!(*name, "nightly");
        assert_eq!(nightly.last.as_ref().unwrap().outcome, Outcome::Failed);
        assert_eq!(nightly.last_passed, Some(ts("2026-03-05T07:30:00Z")));
        assert_eq!(
            nightly.schedule.as_deref(),
            Some("30 2 * * * (America/New_York)")
        );
        // The spring-forward day: 02:30 does not exist, and runs once at 03:00 EDT.
        assert_eq!(nightly.next, Some(ts("2026-03-08T07:00:00Z")));
    }

    #[test]
    fn slots_that_did_not_run_count_from_the_last_success() {
        let mut st = Statuses::new(ts("2026-03-07T07:40:00Z"));
        st.add_history(vec![
            slot("a", "2026-03-01T07:30:00Z", SlotState::Missed),
            scheduled(run("a", "2026-03-02T07:30:00Z", Outcome::Passed)),
            slot("a", "2026-03-03T07:30:00Z", SlotState::Missed),
            slot("a", "2026-03-04T07:30:00Z", SlotState::SkippedOverlap),
            scheduled(run("a", "2026-03-05T07:30:00Z", Outcome::Failed)),
            slot("a", "2026-03-06T07:30:00Z", SlotState::Abandoned),
            // Claimed and running: not missed.
            slot("a", "2026-03-07T07:30:00Z", SlotState::Running),
            // Never passed: counted from its first entry.
            slot("b", "2026-03-01T07:30:00Z", SlotState::Missed),
            scheduled(run("b", "2026-03-02T07:30:00Z", Outcome::Error)),
            slot("b", "2026-03-03T07:30:00Z", SlotState::Missed),
        ]);
        let all: BTreeMap<_, _> = st.iter().collect();
        assert_eq!(
            all["a"].missed,
            Missed {
                recorded: 3,
                unrecorded: 0,
                more: false
            }
        );
        assert_eq!(all["b"].missed.total(), 2);
        assert_eq!(all["b"].last_passed, None);
    }

    #[test]
    fn slots_nothing_recorded_count_once_their_start_window_closed() {
        // The daemon last recorded the 5 March slot; at 6 March 11:00 UTC (06:00 in New
        // York) the 6 March 02:30 slot is past its start window (2 h): missed, though no
        // scheduler was there to record it. The 7 March one is not due yet.
        let mut st = Statuses::new(ts("2026-03-06T11:00:00Z"));
        st.add_file("nightly", "n.yaml", nightly().schedule.as_ref());
        st.add_history(vec![
            scheduled(run("nightly", "2026-03-04T07:30:00Z", Outcome::Passed)),
            slot("nightly", "2026-03-05T07:30:00Z", SlotState::Missed),
        ]);
        let (_, status) = st.iter().next().unwrap();
        assert_eq!(
            status.missed,
            Missed {
                recorded: 1,
                unrecorded: 1,
                more: false
            }
        );
        assert_eq!(status.missed.to_string(), "2");

        // Within the start window, the slot may still be starting: not missed yet.
        let mut st = Statuses::new(ts("2026-03-06T08:00:00Z"));
        st.add_file("nightly", "n.yaml", nightly().schedule.as_ref());
        st.add_history(vec![scheduled(run(
            "nightly",
            "2026-03-05T07:30:00Z",
            Outcome::Passed,
        ))]);
        assert_eq!(st.iter().next().unwrap().1.missed.total(), 0);

        // A runbook the history never saw has nothing to count from.
        let mut st = Statuses::new(ts("2026-04-01T00:00:00Z"));
        st.add_file("nightly", "n.yaml", nightly().schedule.as_ref());
        assert_eq!(st.iter().next().unwrap().1.missed.total(), 0);
    }

    #[test]
    fn coverage_is_the_one_its_last_drill_with_coverage_left() {
        let covered = |e: HistoryEntry, ratio: f64| {
            let mut e = e;
            let r = e.run.as_mut().unwrap();
            r.coverage = Some(RunCoverage {
                within_seconds: 30 * 86_400,
                objects: 100,
                verified_within: (ratio * 100.0) as u64,
                ratio,
                on_pace: true,
                behind_seconds: None,
                never_verified: 0,
                oldest_verified: Some(r.started_at),
                failed: 0,
            });
            e
        };
        let mut st = Statuses::new(ts("2026-03-07T12:00:00Z"));
        st.add_history(vec![
            covered(run("a", "2026-03-04T07:30:00Z", Outcome::Passed), 0.25),
            covered(run("a", "2026-03-05T07:30:00Z", Outcome::Failed), 0.5),
            // Its coverage phase did not run (it could not complete first).
            run("a", "2026-03-06T07:30:00Z", Outcome::Error),
            run("b", "2026-03-06T07:30:00Z", Outcome::Passed),
        ]);
        let all: BTreeMap<_, _> = st.iter().collect();
        let a = all["a"].coverage.as_ref().unwrap();
        assert_eq!(a.run_id, "a@2026-03-05T07:30:00Z");
        assert_eq!(a.summary.ratio, 0.5);
        assert_eq!(all["a"].last.as_ref().unwrap().outcome, Outcome::Error);
        assert_eq!(all["b"].coverage, None);
    }

    #[test]
    fn a_long_outage_is_counted_up_to_the_daemons_limit() {
        let text = NIGHTLY.replace("30 2 * * *", "* * * * * *");
        let rb = lifeboat_core::runbook::parse(&text, "n.yaml", &|_| None).unwrap();
        let mut st = Statuses::new(ts("2026-03-09T00:00:00Z"));
        st.add_file("nightly", "n.yaml", rb.schedule.as_ref());
        st.add_history(vec![scheduled(run(
            "nightly",
            "2026-03-01T00:00:00Z",
            Outcome::Passed,
        ))]);
        let missed = st.iter().next().unwrap().1.missed;
        assert_eq!(missed.unrecorded, MAX_SLOTS_PER_PLAN);
        assert!(missed.more);
        assert_eq!(missed.to_string(), format!("{MAX_SLOTS_PER_PLAN}+"));
    }
}
