//! What `lifeboat status` knows about each runbook: its last run (and, when that did not
//! pass, its last success) from the history, its next slot from its file.

use std::collections::BTreeMap;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;
use lifeboat_scheduler::{HistoryEntry, RunRecord, Schedule};

use crate::RunbookFile;

/// One runbook's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunbookStatus {
    /// The last recorded run.
    pub last: Option<RunRecord>,
    /// When the last run that passed started.
    pub last_passed: Option<Timestamp>,
    /// The next slot of its schedule, counted from the instant given.
    pub next: Option<Timestamp>,
    /// Its schedule as `CRON (ZONE)`, when its file was given and has one.
    pub schedule: Option<String>,
    /// Its file, when given.
    pub path: Option<String>,
}

/// The status of every runbook given or found in the history, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statuses(BTreeMap<String, RunbookStatus>);

impl Statuses {
    /// Adds a runbook file: its path, schedule and next slot after `now`.
    pub fn add_file(&mut self, file: &RunbookFile, now: Timestamp) {
        let st = self.0.entry(file.runbook.name.clone()).or_default();
        st.path = Some(file.path.clone());
        if let Some(spec) = &file.runbook.schedule {
            st.schedule = Some(format!("{} ({})", spec.cron, spec.timezone));
            st.next = Schedule::new(spec).ok().and_then(|s| s.next_after(now));
        }
    }

    /// Adds a history, oldest first: each runbook's last run and last success.
    pub fn add_history(&mut self, entries: Vec<HistoryEntry>) {
        for e in entries {
            let Some(run) = e.run else { continue };
            let st = self.0.entry(e.runbook).or_default();
            if run.outcome == Outcome::Passed {
                st.last_passed = Some(run.started_at);
            }
            st.last = Some(run);
        }
    }

    /// Every runbook's status, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RunbookStatus)> {
        self.0.iter().map(|(name, st)| (name.as_str(), st))
    }
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
            }),
            reason: None,
            at: ts(at),
        }
    }

    #[test]
    fn the_last_run_and_the_last_success_of_each_runbook() {
        let text = "version: 1\nname: nightly\nsource:\n  url: file:///nonexistent\nmanifest:\n  \
                    path: SHA256SUMS\nschedule: \"30 2 * * *\"\ntimezone: America/New_York\n";
        let file = RunbookFile {
            runbook: lifeboat_core::runbook::parse(text, "n.yaml", &|_| None).unwrap(),
            sha256: String::new(),
            path: "n.yaml".into(),
        };
        let mut st = Statuses::default();
        st.add_file(&file, ts("2026-03-07T12:00:00Z"));
        st.add_history(vec![
            run("nightly", "2026-03-05T07:30:00Z", Outcome::Passed),
            run("nightly", "2026-03-06T07:30:00Z", Outcome::Failed),
            run("gone", "2026-03-06T08:00:00Z", Outcome::Error),
        ]);
        let all: Vec<_> = st.iter().collect();
        assert_eq!(all.len(), 2);
        let (name, gone) = all[0];
        assert_eq!(name, "gone");
        assert_eq!(gone.path, None);
        assert_eq!(gone.last_passed, None);
        let (name, nightly) = all[1];
        assert_eq!(name, "nightly");
        assert_eq!(nightly.last.as_ref().unwrap().outcome, Outcome::Failed);
        assert_eq!(nightly.last_passed, Some(ts("2026-03-05T07:30:00Z")));
        assert_eq!(
            nightly.schedule.as_deref(),
            Some("30 2 * * * (America/New_York)")
        );
        // The spring-forward day: 02:30 does not exist, and runs once at 03:00 EDT.
        assert_eq!(nightly.next, Some(ts("2026-03-08T07:00:00Z")));
    }
}
