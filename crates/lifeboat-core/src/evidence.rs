//! The evidence record, format version 1: what one drill did and found.
//!
//! Field names and shapes are part of lifeboat's outside interface (see `runbooks/README.md`):
//! add fields freely, never rename or remove one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::vocabulary::Algorithm;
// Named through this module by the runner, scheduler, reports and CLI.
pub use crate::vocabulary::{Outcome, ScratchSync};

pub const FORMAT_VERSION: u32 = 1;

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
    /// A projection of how long restoring the *whole* recovery point would take, from the
    /// throughput measured on the sample. Never part of `measured` and never checked against
    /// an objective; `None` when no point restored any byte.
    #[serde(default)]
    pub projected: Option<Projected>,
    pub sample: SampleRecord,
    /// The points that were tried, newest first.
    pub recovery_points: Vec<PointResult>,
    /// Steps that always run after the points (`finally:`).
    #[serde(default)]
    pub finally: Vec<StepResult>,
    /// Who ran a manual drill (`--operator`); `None` for automatic and scheduled drills.
    #[serde(default)]
    pub operator: Option<String>,
    /// Webhooks posted after the verdict (`notify:`). A failed one never changes `outcome`.
    #[serde(default)]
    pub notifications: Vec<NotificationResult>,
    /// The scratch folder, and whether it was kept (`scratch.keep`).
    pub scratch: ScratchRecord,
    /// When a stop (SIGINT/SIGTERM to `lifeboat drill`, the end of `lifeboat schedule`'s
    /// grace period) came after every check had finished: too late to change the verdict,
    /// which stands (`finally` still ran; a projection still running was skipped). `None`
    /// when no stop came, or when it interrupted the drill (then `outcome` is `error`,
    /// `reason` `interrupted`).
    #[serde(default)]
    pub stopped_after_checks: Option<Timestamp>,
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
    /// What discovery saw below the source, every entry counted under the reason it was not
    /// taken (`3 entries in the source: 1 regular file, 1 whose name is not valid UTF-8`), so
    /// a record says what was skipped even when a point passed. `null` when the source was
    /// not listed (it could not be opened, or the drill was interrupted first).
    #[serde(default)]
    pub listing: Option<String>,
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

/// Projected full-restore time of one recovery point:
/// `rto_seconds = total_bytes / (sample.bytes / sample.duration_seconds)`.
///
/// Bytes are *stored* bytes (a `.zst` object counts its compressed size), so the rate and the
/// total share one basis whatever the compression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projected {
    /// The point projected: the one that passed, else the newest one that restored files.
    pub recovery_point: String,
    /// Projected seconds to restore and verify every file of the point at the sample's rate:
    /// the projected full-restore RTO. Not measured; never compared with the objective.
    pub rto_seconds: f64,
    /// Stored bytes of every object the manifest lists (see `basis`).
    pub total_bytes: u64,
    /// Where `total_bytes` comes from: `sample` (every entry was sampled: exact), `storage`
    /// (each object's size read from storage: exact), or `extrapolated` (sample's mean object
    /// size × manifest entries: an estimate, used above [`PROJECTION_HEAD_LIMIT`] entries).
    pub basis: ProjectionBasis,
    /// Manifest entries of the point.
    pub entries: u64,
    /// The measurement the rate comes from.
    pub sample: ProjectionSample,
}

/// The sample's share of a projection: what was restored, and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionSample {
    /// Files whose object was read.
    pub files: u64,
    /// Stored bytes read for them (the sum of their `object_bytes`).
    pub bytes: u64,
    /// Wall time of the point's restore step(s).
    pub duration_seconds: f64,
}

/// Points with more manifest entries than this have their total size extrapolated from the
/// sample instead of asking storage for every object's size.
pub const PROJECTION_HEAD_LIMIT: u64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectionBasis {
    Sample,
    Storage,
    Extrapolated,
}

impl ProjectionBasis {
    /// The basis, in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            ProjectionBasis::Sample => "exact: every file was sampled",
            ProjectionBasis::Storage => "exact: each object's size read from storage",
            ProjectionBasis::Extrapolated => {
                "estimate: sampled mean object size × manifest entries"
            }
        }
    }
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

impl PointResult {
    /// How many of the sampled files verified.
    pub fn files_passed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.outcome == Outcome::Passed)
            .count()
    }

    /// The bytes restored (or streamed, verify-only) over every sampled file.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
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
    /// Size of the stored object (compressed for `.zst`); `None` when none was found.
    #[serde(default)]
    pub object_bytes: Option<u64>,
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

/// One `notify` entry whose `on` list held the drill's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationResult {
    /// The runbook entry, e.g. `notify[0]`.
    pub entry: String,
    /// The webhook as the runbook writes it when its secret part comes from `${VAR}`;
    /// otherwise only `scheme://host[:port]/…`, since a literal URL may embed a token.
    pub webhook: String,
    /// `true` when the webhook answered 2xx.
    pub sent: bool,
    /// Requests made (1 + retries used).
    pub attempts: u32,
    /// HTTP status of the last answer; `None` when none came.
    pub status: Option<u16>,
    /// Why it was not sent; `None` when it was.
    pub reason: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

/// How reports describe a drill whose restored files were not flushed to disk.
pub const UNFLUSHED_NOTE: &str =
    "restored files left unflushed (scratch.sync: none): RTO measured to memory, not disk";

impl Evidence {
    /// Where this run's files go under an evidence folder: `EVIDENCE_DIR/RUNBOOK_NAME/RUN_ID/`.
    pub fn run_dir(&self, evidence_dir: &std::path::Path) -> std::path::PathBuf {
        evidence_dir.join(&self.runbook.name).join(&self.run_id)
    }

    /// Where this record itself goes under an evidence folder: `RUN_DIR/evidence.json`.
    pub fn record_path(&self, evidence_dir: &std::path::Path) -> std::path::PathBuf {
        self.run_dir(evidence_dir).join("evidence.json")
    }

    /// Restored files were written but not flushed to disk (`scratch.sync: none`), so the
    /// measured and projected RTO do not include reaching the disk.
    pub fn unflushed(&self) -> bool {
        !self.verify_only && self.scratch.sync == ScratchSync::None
    }

    /// Clips every `reason` in the record (the drill's, each point's, file's, step's and
    /// notification's) to [`MAX_REASON_CHARS`], with `…` in the middle (`text::clip`).
    ///
    /// Reasons quote what the backup holds (a missing file's name, twice; a storage error
    /// naming an object), so without a bound one hostile name is copied into the record, the
    /// reports and the terminal many times over. The names themselves stay whole in their own
    /// fields (`path`, `id`), which [`crate::manifest::MAX_PATH_BYTES`] bounds.
    pub fn clip_reasons(&mut self) {
        fn clip(reason: &mut Option<String>) {
            if let Some(r) = reason
                && let std::borrow::Cow::Owned(short) = crate::text::clip(r, MAX_REASON_CHARS)
            {
                *r = short;
            }
        }
        clip(&mut self.reason);
        for p in &mut self.recovery_points {
            clip(&mut p.reason);
            p.files.iter_mut().for_each(|f| clip(&mut f.reason));
            p.steps.iter_mut().for_each(|s| clip(&mut s.reason));
        }
        self.finally.iter_mut().for_each(|s| clip(&mut s.reason));
        self.notifications
            .iter_mut()
            .for_each(|n| clip(&mut n.reason));
    }
}

/// The longest `reason` an evidence record holds, in characters: a sentence with room to
/// quote a name or two, never a name's whole length over and over. See
/// [`Evidence::clip_reasons`].
pub const MAX_REASON_CHARS: usize = 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScratchRecord {
    pub path: String,
    pub kept: bool,
    /// When restored bytes were made durable (`scratch.sync`; records from before the key
    /// existed were all `file`).
    #[serde(default)]
    pub sync: ScratchSync,
    /// How many restored files were flushed to disk before they counted as verified: every
    /// restored file with `sync: file`, none with `sync: none` or in verify-only mode.
    #[serde(default)]
    pub synced_files: u64,
}
