//! lifeboat's application layer: what each command does, between the engines below it
//! (`lifeboat-runner`, `lifeboat-evidence`, `lifeboat-report`, `lifeboat-scheduler`) and the
//! binary above it, which is left with arguments, printing and exit codes.
//!
//! - [`runbook_file`]: a runbook file read (a regular file only, capped), hashed and parsed.
//! - [`runbooks`]: the runbook files a list of paths names.
//! - [`places`]: where a drill writes, checked against each runbook's source.
//!
//! This crate prints nothing: what the operator should read comes back as values (errors
//! whose `Display` is the message), so the binary decides how it is shown.

pub mod places;
pub mod runbook_file;
pub mod runbooks;

pub use places::{PlaceError, Places};
pub use runbook_file::{LoadError, ReadError, RunbookFile};
