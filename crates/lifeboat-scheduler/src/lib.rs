//! Scheduling for `lifeboat schedule`: which slots of a runbook's cron schedule are due, missed
//! or skipped at a given instant, and (in [`store`]) the history that makes each slot run at
//! most once across restarts.
//!
//! Everything about time here is a pure function of an explicit `now`: the daemon loop asks
//! the clock and passes the answer in, so tests pin DST changes, restarts and overlaps without
//! sleeping. This crate does not run drills: `lifeboat-app` gives the daemon a driller that
//! runs them with `lifeboat-runner`. The history lives behind [`HistoryStore`] (SQLite
//! today, [`SqliteStore`]).

pub mod daemon;
pub mod metrics;
pub mod slots;
pub mod store;

pub use slots::{
    Decision, MissReason, Plan, Policy, Previous, Schedule, ScheduleError, Trigger, View, plan,
};
pub use store::{
    HistoryEntry, HistoryStore, RunCoverage, RunRecord, SlotState, SqliteStore, StoreError,
};
