//! lifeboat's application layer: what each command does, between the engines below it
//! (`lifeboat-runner`, `lifeboat-evidence`, `lifeboat-report`, `lifeboat-scheduler`) and the
//! binary above it, which is left with arguments, printing and exit codes. It is not an
//! engine: it decides no verdict, no slot and no record format; it puts the crates that do
//! in order, the same order for every command that needs it.
//!
//! - [`runbook_file`]: a runbook file read (a regular file only, capped), hashed and parsed.
//! - [`manifest`]: the manifest a backup job publishes (`lifeboat manifest`), never listing
//!   itself, written atomically.
//! - [`runbooks`]: the runbook files a list of paths names.
//! - [`places`]: where a drill writes, checked against each runbook's source.
//! - [`state`]: where the history store is, opened as a `HistoryStore`.
//! - [`record`]: one drill run and recorded ([`Recording::drill_and_record`]), for `lifeboat
//!   drill` and the scheduler alike.
//! - [`scheduled`]: the scheduler's driller, which runs each slot's drill that way.
//! - [`runbook_set`]: the runbooks `lifeboat schedule` was given, reloaded on demand.
//! - [`metrics`]: the daemon's Prometheus endpoint.
//! - [`status`] and [`gaps`]: what `lifeboat status` and `lifeboat report` read from the
//!   history.
//!
//! This crate prints nothing (it logs through `tracing`, as the engines do): what the
//! operator should read comes back as values — errors whose `Display` is the message, the
//! runbook set's notices — so the binary decides how it is shown and which exit code it means.

pub mod coverage;
pub mod evidence_bucket;
pub mod gaps;
pub mod manifest;
pub mod metrics;
pub mod places;
pub mod record;
pub mod runbook_file;
pub mod runbook_set;
pub mod runbooks;
pub mod scheduled;
pub mod state;
pub mod status;

pub use evidence_bucket::EvidenceBucket;
pub use places::{PlaceError, Places};
pub use record::{DrillJob, RecordError, Recorded, Recording, SIGNING_KEY_ENV, SigningError};
pub use runbook_file::{LoadError, ReadError, RunbookFile};
pub use state::StateLocation;
