//! The evidence record, format version 1: what one drill did and found.
//!
//! Field names and shapes are part of lifeboat's outside interface (see `runbooks/README.md`
//! and the project's INTERFACE): add fields freely, never rename or remove one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Algorithm;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the drill was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `lifeboat drill` without `--interactive`.
    Automatic,
    /// `lifeboat drill --interactive`.
    Manual,
    /// Started by `lifeboat schedule`.
    Scheduled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub format_version: u32,
    pub run_id: String,
    pub runbook: RunbookRef,
    pub lifeboat_version: String,
    pub host: Option<String>,
    pub mode: Mode,
    /// `true` when files were streamed and hashed without being written to scratch.
    pub verify_only: bool,
    /// The simulated incident time RPO is measured from.
    pub t0: Timestamp,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: Outcome,
    /// Why the drill failed or could not complete, in one sentence; `None` when it passed.
    pub reason: Option<String>,
    /// The source the points were read from; never holds credentials.
    pub source: SourceRef,
    pub objectives: ObjectiveSeconds,
    pub measured: Measured,
    pub sample: SampleRecord,
    /// The points that were tried, newest first.
    pub recovery_points: Vec<PointResult>,
    /// Steps that always run after the points (`finally:`).
    #[serde(default)]
    pub finally: Vec<StepResult>,
    /// The scratch folder, and whether it was kept (`scratch.keep`).
    pub scratch: ScratchRecord,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunbookRef {
    pub name: String,
    /// Lowercase hex SHA-256 of the runbook file's bytes.
    pub sha256: String,
    /// The path the runbook was read from, as given.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSeconds {
    pub rto_seconds: Option<u64>,
    pub rpo_seconds: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// From the drill's start until the last check of the point that passed completed.
    pub rto_seconds: Option<f64>,
    /// T0 minus the time of the newest point that passed.
    pub rpo_seconds: Option<f64>,
    /// The id of the newest point that passed.
    pub recovery_point: Option<String>,
    /// `None` when the runbook sets no such objective.
    pub rto_met: Option<bool>,
    pub rpo_met: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub seed: u64,
    /// `files: N` from the runbook, if set.
    pub files: Option<u64>,
    /// `percent: P` from the runbook, if set.
    pub percent: Option<f64>,
    /// `true` when no `sample` was set and every file was verified.
    pub all: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub id: String,
    pub time: Timestamp,
    pub outcome: Outcome,
    /// Why the point failed as a whole (malformed manifest, failed step, N files failed...).
    pub reason: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub manifest: ManifestRecord,
    pub files: Vec<FileResult>,
    #[serde(default)]
    pub steps: Vec<StepResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub path: String,
    pub algorithm: Algorithm,
    /// Lines (entries) the manifest holds; `None` when it could not be read.
    pub entries: Option<u64>,
    /// Lowercase hex SHA-256 of the manifest's bytes, as read.
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileResult {
    pub path: String,
    pub outcome: Outcome,
    pub algorithm: Algorithm,
    pub expected: String,
    pub actual: Option<String>,
    /// Restored (decompressed) bytes.
    pub bytes: u64,
    /// The object that was read: `PATH` or `PATH.zst`; `None` when none was found.
    pub object: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub kind: String,
    pub name: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// Kind-specific details (exit code, output tails, HTTP status, operator answer...).
    #[serde(default, skip_serializing_if = "serde_json_value_is_null")]
    pub detail: Option<std::collections::BTreeMap<String, String>>,
}

fn serde_json_value_is_null(v: &Option<std::collections::BTreeMap<String, String>>) -> bool {
    v.is_none()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScratchRecord {
    pub path: String,
    pub kept: bool,
}
