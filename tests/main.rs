//! lifeboat's integration tests: one binary (ripgrep's `tests/tests.rs` layout) that drives
//! the real `lifeboat` executable against real backup sets the testkit writes in temporary
//! folders, and checks exit codes, stdout/stderr and the evidence record against the
//! interface contract.

// clippy.toml refuses print macros in the lifeboat-cli package, whose binary must print
// through its escaping sinks; the tests' own notes to the person running them are not that.
#![allow(clippy::disallowed_macros)]

mod util;

mod always;
mod browser;
mod conformance;
mod corruption;
mod coverage;
mod coverage_restic;
mod coverage_seen;
mod evidence;
mod evidence_bucket;
mod examples;
mod fallback;
mod fleet_claims;
mod fleet_store;
mod golden;
mod history;
mod hostile;
mod interrupt;
mod kubernetes;
mod ledger;
mod logs;
mod manifest_cmd;
mod manual;
mod objectives;
mod pass;
mod pg;
mod plan;
mod points;
mod projection;
mod report;
mod restic;
mod restic_changed;
mod sampling;
mod scratch;
mod scripts;
mod steps;
mod systemd;
mod validate;
mod verify_only;
