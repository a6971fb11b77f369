//! Prometheus text for `lifeboat schedule --metrics-addr`: per runbook, the last outcome, the
//! last measured RTO and RPO with their objectives, the last success and the next slot, and,
//! for a runbook with `coverage`, the coverage ratio and oldest verification its last drill
//! with a coverage phase left.
//!
//! [`render`] is a pure function of the history and the schedules, so its output is pinned by
//! tests; `lifeboat-app` serves it over HTTP.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::Timestamp;
use lifeboat_core::evidence::Outcome;

use crate::store::HistoryEntry;

/// What is known about one runbook.
#[derive(Clone, Debug, Default, PartialEq)]
struct Row {
    last_outcome: Option<Outcome>,
    last_run: Option<Timestamp>,
    last_success: Option<Timestamp>,
    rto: Option<f64>,
    rpo: Option<f64>,
    rto_objective: Option<u64>,
    rpo_objective: Option<u64>,
    next: Option<Timestamp>,
    /// From the last drill that had a coverage phase.
    coverage_ratio: Option<f64>,
    coverage_oldest: Option<Timestamp>,
}

/// Renders the metrics. `history` is the store's history (oldest first); `next` gives the next
/// slot of each runbook scheduled now. Runbooks in either appear.
pub fn render(history: &[HistoryEntry], next: &[(String, Option<Timestamp>)]) -> String {
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for e in history {
        let Some(run) = &e.run else { continue };
        let row = rows.entry(e.runbook.as_str()).or_default();
        row.last_outcome = Some(run.outcome);
        row.last_run = Some(run.started_at);
        row.rto = run.rto_seconds;
        row.rpo = run.rpo_seconds;
        row.rto_objective = run.rto_objective_seconds;
        row.rpo_objective = run.rpo_objective_seconds;
        if run.outcome == Outcome::Passed {
            row.last_success = Some(run.finished_at);
        }
        // A later drill without a coverage phase leaves the last one known in place.
        if let Some(c) = &run.coverage {
            row.coverage_ratio = Some(c.ratio);
            row.coverage_oldest = c.oldest_verified;
        }
    }
    for (name, t) in next {
        rows.entry(name.as_str()).or_default().next = *t;
    }

    let mut out = String::new();
    let secs = |t: Timestamp| t.as_millisecond() as f64 / 1000.0;
    let mut family = |name: &str, help: &str, value: &dyn Fn(&Row) -> Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (runbook, row) in &rows {
            for (extra, v) in value(row) {
                let _ = writeln!(out, "{name}{{runbook=\"{}\"{extra}}} {v}", escape(runbook));
            }
        }
    };
    family(
        "lifeboat_last_outcome",
        "The outcome of the runbook's last drill: 1 on the outcome it had, 0 on the others.",
        &|r| {
            r.last_outcome.map_or_else(Vec::new, |o| {
                [Outcome::Passed, Outcome::Failed, Outcome::Error]
                    .iter()
                    .map(|x| {
                        (
                            format!(",outcome=\"{}\"", x.as_str()),
                            if *x == o { 1.0 } else { 0.0 },
                        )
                    })
                    .collect()
            })
        },
    );
    let one = |v: Option<f64>| {
        v.map(|v| (String::new(), v))
            .into_iter()
            .collect::<Vec<_>>()
    };
    family(
        "lifeboat_last_rto_seconds",
        "RTO measured by the last drill (absent when no recovery point passed).",
        &|r| one(r.rto),
    );
    family(
        "lifeboat_last_rpo_seconds",
        "RPO measured by the last drill (absent when no recovery point passed).",
        &|r| one(r.rpo),
    );
    family(
        "lifeboat_rto_objective_seconds",
        "The RTO objective the last drill was held to.",
        &|r| one(r.rto_objective.map(|v| v as f64)),
    );
    family(
        "lifeboat_rpo_objective_seconds",
        "The RPO objective the last drill was held to.",
        &|r| one(r.rpo_objective.map(|v| v as f64)),
    );
    family(
        "lifeboat_last_run_timestamp_seconds",
        "When the last drill started, in Unix seconds.",
        &|r| one(r.last_run.map(secs)),
    );
    family(
        "lifeboat_last_success_timestamp_seconds",
        "When the last drill that passed finished, in Unix seconds.",
        &|r| one(r.last_success.map(secs)),
    );
    family(
        "lifeboat_next_run_timestamp_seconds",
        "The runbook's next scheduled slot, in Unix seconds.",
        &|r| one(r.next.map(secs)),
    );
    family(
        "lifeboat_coverage_ratio",
        "Share of the stored objects of the retained recovery points verified within \
         coverage.within, as the last drill with a coverage phase left it (absent without \
         coverage).",
        &|r| one(r.coverage_ratio),
    );
    family(
        "lifeboat_coverage_oldest_verified_timestamp_seconds",
        "The oldest last verification of a stored object, as the last drill with a coverage \
         phase left it, in Unix seconds (absent without coverage, or before any object was \
         verified).",
        &|r| one(r.coverage_oldest.map(secs)),
    );
    out
}

/// Label values escape `\`, `"` and newlines (Prometheus text format 0.0.4).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunRecord, SlotState};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn run(runbook: &str, at: &str, outcome: Outcome, rto: Option<f64>) -> HistoryEntry {
        HistoryEntry {
            runbook: runbook.into(),
            slot: None,
            state: None,
            trigger: None,
            run: Some(RunRecord {
                run_id: format!("{runbook}-{at}"),
                runbook: runbook.into(),
                mode: "scheduled".into(),
                slot: None,
                started_at: ts(at),
                finished_at: ts(at) + jiff::SignedDuration::from_secs(2),
                outcome,
                reason: None,
                rto_seconds: rto,
                rpo_seconds: rto.map(|_| 86400.0),
                rto_objective_seconds: Some(7200),
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

    #[test]
    fn renders_the_last_run_and_success_of_each_runbook() {
        let missed = HistoryEntry {
            runbook: "b".into(),
            slot: Some(ts("2026-11-23T03:00:00Z")),
            state: Some(SlotState::Missed),
            trigger: None,
            run: None,
            reason: None,
            at: ts("2026-11-23T03:00:00Z"),
        };
        let history = [
            run("a", "2026-11-22T02:00:00Z", Outcome::Passed, Some(1.5)),
            run("a", "2026-11-23T02:00:00Z", Outcome::Failed, None),
            missed,
        ];
        let next = [
            ("a".to_owned(), Some(ts("2026-11-24T02:00:00Z"))),
            ("b".to_owned(), None),
        ];
        assert_eq!(
            render(&history, &next),
            "\
# HELP lifeboat_last_outcome The outcome of the runbook's last drill: 1 on the outcome it had, 0 on the others.
# TYPE lifeboat_last_outcome gauge
lifeboat_last_outcome{runbook=\"a\",outcome=\"passed\"} 0
lifeboat_last_outcome{runbook=\"a\",outcome=\"failed\"} 1
lifeboat_last_outcome{runbook=\"a\",outcome=\"error\"} 0
# HELP lifeboat_last_rto_seconds RTO measured by the last drill (absent when no recovery point passed).
# TYPE lifeboat_last_rto_seconds gauge
# HELP lifeboat_last_rpo_seconds RPO measured by the last drill (absent when no recovery point passed).
# TYPE lifeboat_last_rpo_seconds gauge
# HELP lifeboat_rto_objective_seconds The RTO objective the last drill was held to.
# TYPE lifeboat_rto_objective_seconds gauge
lifeboat_rto_objective_seconds{runbook=\"a\"} 7200
# HELP lifeboat_rpo_objective_seconds The RPO objective the last drill was held to.
# TYPE lifeboat_rpo_objective_seconds gauge
# HELP lifeboat_last_run_timestamp_seconds When the last drill started, in Unix seconds.
# TYPE lifeboat_last_run_timestamp_seconds gauge
lifeboat_last_run_timestamp_seconds{runbook=\"a\"} 1795399200
# HELP lifeboat_last_success_timestamp_seconds When the last drill that passed finished, in Unix seconds.
# TYPE lifeboat_last_success_timestamp_seconds gauge
lifeboat_last_success_timestamp_seconds{runbook=\"a\"} 1795312802
# HELP lifeboat_next_run_timestamp_seconds The runbook's next scheduled slot, in Unix seconds.
# TYPE lifeboat_next_run_timestamp_seconds gauge
lifeboat_next_run_timestamp_seconds{runbook=\"a\"} 1795485600
# HELP lifeboat_coverage_ratio Share of the stored objects of the retained recovery points verified within coverage.within, as the last drill with a coverage phase left it (absent without coverage).
# TYPE lifeboat_coverage_ratio gauge
# HELP lifeboat_coverage_oldest_verified_timestamp_seconds The oldest last verification of a stored object, as the last drill with a coverage phase left it, in Unix seconds (absent without coverage, or before any object was verified).
# TYPE lifeboat_coverage_oldest_verified_timestamp_seconds gauge
"
        );
    }

    #[test]
    fn coverage_is_the_last_drill_with_coverage_and_only_for_runbooks_with_it() {
        let covered = |mut e: HistoryEntry, ratio: f64, oldest: Option<&str>| {
            e.run.as_mut().unwrap().coverage = Some(crate::store::RunCoverage {
                within_seconds: 86_400,
                objects: 10,
                verified_within: (ratio * 10.0) as u64,
                ratio,
                on_pace: true,
                behind_seconds: None,
                never_verified: 0,
                oldest_verified: oldest.map(ts),
                failed: 0,
            });
            e
        };
        let history = [
            covered(
                run("a\"b", "2026-11-22T02:00:00Z", Outcome::Passed, None),
                0.25,
                Some("2026-11-01T00:00:00Z"),
            ),
            // Could not complete before its coverage phase: the one before still holds.
            run("a\"b", "2026-11-23T02:00:00Z", Outcome::Error, None),
            covered(
                run("fresh", "2026-11-23T02:00:00Z", Outcome::Passed, None),
                0.0,
                None,
            ),
            run("none", "2026-11-23T02:00:00Z", Outcome::Passed, None),
        ];
        let text = render(&history, &[]);
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("lifeboat_coverage"))
            .collect();
        assert_eq!(
            samples,
            [
                "lifeboat_coverage_ratio{runbook=\"a\\\"b\"} 0.25",
                "lifeboat_coverage_ratio{runbook=\"fresh\"} 0",
                "lifeboat_coverage_oldest_verified_timestamp_seconds{runbook=\"a\\\"b\"} 1793491200",
            ]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
