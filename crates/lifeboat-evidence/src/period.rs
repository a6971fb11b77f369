//! The period report's data (`lifeboat report`): every drill of an evidence directory within
//! a period, per runbook — drills run, pass rate, measured RTO and RPO against the objectives,
//! every failure with its reason, the gaps where a scheduled drill did not run, sample
//! coverage — with the chain's verification status and the SHA-256 of every record read.
//!
//! [`build`] reads the folder and [`assemble`]s the records into a [`PeriodReport`] (the
//! model, which is also the `.json` format); [`CONTROLS`] maps the evidence to the controls
//! auditors cite. Rendering it (HTML, Markdown, CSV, JSON) is `lifeboat-report`'s: this crate
//! stores and reads records and renders nothing. Gaps come from the caller (the CLI reads them
//! from the scheduler's history store): this crate knows no scheduler.

mod build;
mod controls;
mod model;

pub use build::{Contents, Drills, Earlier, RecordRead, assemble, build};
pub use controls::{CONTROLS, Control};
pub use model::*;
