//! The coverage ledger of a drill, kept in the history store: the adapter that lets the
//! runner, which knows no store, read and write it, and the interval of a runbook's
//! `schedule`, which the pace assumes before drills have run.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::coverage::{Listed, PhaseQuery, PhaseRecord, PointListing, Selection, Standing};
use lifeboat_core::runbook::Runbook;
use lifeboat_runner::coverage::{CoverageContext, CoverageLedger, LedgerFuture};
use lifeboat_scheduler::store::HistoryStore;

/// A history store, as the coverage ledger a drill reads and writes.
#[derive(Debug)]
pub struct StoreLedger(pub Arc<dyn HistoryStore>);

/// The store's error as the runner carries it.
fn text(e: lifeboat_scheduler::store::StoreError) -> String {
    e.to_string()
}

impl CoverageLedger for StoreLedger {
    fn points<'a>(&'a self, runbook: &'a str) -> LedgerFuture<'a, Vec<PointListing>> {
        Box::pin(async move { self.0.coverage_points(runbook).await.map_err(text) })
    }

    fn stage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .stage_coverage(runbook, t0, listing, objects)
                .await
                .map_err(text)
        })
    }

    fn retain<'a>(&'a self, runbook: &'a str, points: &'a [String]) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.0.retain_coverage(runbook, points).await.map_err(text) })
    }

    fn plan<'a>(&'a self, runbook: &'a str, query: &'a PhaseQuery) -> LedgerFuture<'a, Selection> {
        Box::pin(async move { self.0.plan_coverage(runbook, query).await.map_err(text) })
    }

    fn record<'a>(&'a self, runbook: &'a str, record: &'a PhaseRecord) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.0.record_coverage(runbook, record).await.map_err(text) })
    }

    fn standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: Duration,
    ) -> LedgerFuture<'a, Standing> {
        Box::pin(async move {
            self.0
                .coverage_standing(runbook, t0, within)
                .await
                .map_err(text)
        })
    }
}

/// What a drill of `runbook` needs for its coverage phase, with its ledger in `store`;
/// `None` when the runbook has no `coverage`.
pub fn context(
    runbook: &Runbook,
    store: &Arc<dyn HistoryStore>,
    t0: Timestamp,
) -> Option<CoverageContext> {
    runbook.coverage.as_ref()?;
    Some(CoverageContext {
        ledger: Arc::new(StoreLedger(store.clone())),
        schedule_interval: schedule_interval(runbook, t0),
    })
}

/// The gap between the first two slots of `runbook`'s `schedule` after `t0`; `None` without
/// a schedule (or one that names fewer than two later instants).
pub fn schedule_interval(runbook: &Runbook, t0: Timestamp) -> Option<Duration> {
    let schedule = lifeboat_scheduler::slots::Schedule::new(runbook.schedule.as_ref()?).ok()?;
    let first = schedule.next_after(t0)?;
    let second = schedule.next_after(first)?;
    Duration::try_from(second.duration_since(first)).ok()
}

/// Why a drill of a runbook with `coverage` cannot run without a history store.
pub const NEEDS_STATE: &str = "`coverage` keeps its ledger in the history store: drop \
                               --no-state (the default store is used), or pass --state FILE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_interval_is_the_gap_between_its_next_two_slots() {
        let parse = |schedule: &str| {
            let text = format!(
                "version: 1\nname: c\nsource:\n  url: file:///srv/b\n{schedule}coverage: {{within: 7d}}\n"
            );
            lifeboat_core::runbook::parse(&text, "c.yaml", &|_| None).unwrap()
        };
        let t0: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        assert_eq!(
            schedule_interval(&parse("schedule: \"0 2 * * *\"\n"), t0),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            schedule_interval(&parse("schedule: \"0 */6 * * *\"\n"), t0),
            Some(Duration::from_secs(6 * 3600))
        );
        assert_eq!(schedule_interval(&parse(""), t0), None);
    }
}
