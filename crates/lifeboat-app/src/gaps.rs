//! The period report's gaps (`lifeboat report --state`): the scheduled slots a history store
//! holds that never ran, and every slot it holds, to count the drills a schedule expected.

use lifeboat_evidence::period::{Gap, GapSource, Slot};
use lifeboat_scheduler::{HistoryEntry, HistoryStore, SlotState, StoreError};

/// The slots of `entries` that were missed, skipped for overlap or abandoned, and have no
/// run: each is a gap in the drills a period should have had.
pub fn gaps(entries: Vec<HistoryEntry>) -> Vec<Gap> {
    entries
        .into_iter()
        .filter_map(|e| {
            let state = e.state?;
            let gap = matches!(
                state,
                SlotState::Missed | SlotState::SkippedOverlap | SlotState::Abandoned
            );
            (gap && e.run.is_none()).then(|| Gap {
                runbook: e.runbook,
                slot: e.slot.unwrap_or(e.at),
                state: state.as_str().to_string(),
                reason: e.reason,
            })
        })
        .collect()
}

/// Every scheduled slot of `entries`, whatever became of it: what the schedule expected. A
/// run with no slot (`lifeboat drill`) is none.
pub fn slots(entries: &[HistoryEntry]) -> Vec<Slot> {
    entries
        .iter()
        .filter_map(|e| {
            Some(Slot {
                runbook: e.runbook.clone(),
                slot: e.slot?,
                state: e.state?.as_str().to_string(),
                run_id: e.run.as_ref().map(|r| r.run_id.clone()),
            })
        })
        .collect()
}

/// The gaps and slots `store` holds, of `runbook`'s slots or all, named after the store.
pub async fn from_store(
    store: &dyn HistoryStore,
    runbook: Option<&str>,
) -> Result<GapSource, StoreError> {
    let entries = store.history(runbook).await?;
    Ok(GapSource {
        description: format!("history store {}", store.location()),
        slots: slots(&entries),
        gaps: gaps(entries),
    })
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use lifeboat_core::evidence::Outcome;
    use lifeboat_scheduler::RunRecord;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slot(state: Option<SlotState>, at: &str) -> HistoryEntry {
        HistoryEntry {
            runbook: "a".into(),
            slot: Some(ts(at)),
            state,
            trigger: Some("schedule".into()),
            run: None,
            reason: Some("why".into()),
            at: ts(at),
        }
    }

    #[test]
    fn only_slots_that_never_ran_are_gaps() {
        let run = RunRecord {
            run_id: "r".into(),
            runbook: "a".into(),
            mode: "scheduled".into(),
            slot: Some(ts("2026-11-01T02:00:00Z")),
            started_at: ts("2026-11-01T02:00:00Z"),
            finished_at: ts("2026-11-01T02:00:05Z"),
            outcome: Outcome::Passed,
            reason: None,
            rto_seconds: None,
            rpo_seconds: None,
            rto_objective_seconds: None,
            rpo_objective_seconds: None,
            recovery_point: None,
            evidence: None,
            coverage: None,
            runner: None,
        };
        let mut done = slot(Some(SlotState::Done), "2026-11-01T02:00:00Z");
        done.run = Some(run);
        let mut abandoned_with_a_run = slot(Some(SlotState::Abandoned), "2026-11-02T02:00:00Z");
        abandoned_with_a_run.run = done.run.clone();
        let entries = vec![
            done,
            abandoned_with_a_run,
            slot(Some(SlotState::Missed), "2026-11-03T02:00:00Z"),
            slot(Some(SlotState::SkippedOverlap), "2026-11-04T02:00:00Z"),
            slot(Some(SlotState::Abandoned), "2026-11-05T02:00:00Z"),
            slot(Some(SlotState::Running), "2026-11-06T02:00:00Z"),
            slot(Some(SlotState::Recorded), "2026-11-07T02:00:00Z"),
            slot(None, "2026-11-08T02:00:00Z"),
        ];
        let expected: Vec<(String, String, Option<String>)> = slots(&entries)
            .into_iter()
            .map(|s| (s.slot.to_string(), s.state, s.run_id))
            .collect();
        let ran = || Some("r".to_string());
        assert_eq!(
            expected,
            [
                ("2026-11-01T02:00:00Z".into(), "done".into(), ran()),
                ("2026-11-02T02:00:00Z".into(), "abandoned".into(), ran()),
                ("2026-11-03T02:00:00Z".into(), "missed".into(), None),
                (
                    "2026-11-04T02:00:00Z".into(),
                    "skipped-overlap".into(),
                    None
                ),
                ("2026-11-05T02:00:00Z".into(), "abandoned".into(), None),
                ("2026-11-06T02:00:00Z".into(), "running".into(), None),
                ("2026-11-07T02:00:00Z".into(), "recorded".into(), None),
            ],
            "every slot, with whether it ran; the entry without a state is no slot"
        );
        let found: Vec<(String, String)> = gaps(entries)
            .into_iter()
            .map(|g| (g.slot.to_string(), g.state))
            .collect();
        assert_eq!(
            found,
            [
                ("2026-11-03T02:00:00Z".into(), "missed".into()),
                ("2026-11-04T02:00:00Z".into(), "skipped-overlap".into()),
                ("2026-11-05T02:00:00Z".into(), "abandoned".into()),
            ]
        );
    }
}
