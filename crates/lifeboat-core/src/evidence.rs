//! The evidence record, format version 1: what one drill did and found.
//!
//! Field names and shapes are part of lifeboat's outside interface (see `runbooks/README.md`):
//! add fields freely, never rename or remove one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::vocabulary::Algorithm;
// Named through this module by the runner, scheduler, reports and CLI.
pub use crate::vocabulary::{Outcome, ScratchSync};

/// The evidence format version this lifeboat writes. Fields are only ever added within a
/// version.
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

impl Mode {
    /// The record's word: `automatic`, `manual` or `scheduled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Automatic => "automatic",
            Mode::Manual => "manual",
            Mode::Scheduled => "scheduled",
        }
    }
}

/// One drill's evidence record, written as `evidence.json` (format version [`FORMAT_VERSION`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Always [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// Unique per run: the start time (`%Y%m%dT%H%M%SZ`, UTC) and six hex digits; names the run's
    /// folder.
    pub run_id: String,
    /// Which runbook was drilled, and exactly which text of it.
    pub runbook: RunbookRef,
    /// The version of lifeboat that ran the drill.
    pub lifeboat_version: String,
    /// The host name of the machine that ran the drill (`uname -n`); `None` when it has none.
    pub host: Option<String>,
    /// How the drill was started.
    pub mode: Mode,
    /// `true` when files were streamed and hashed without being written to scratch.
    pub verify_only: bool,
    /// The simulated incident time RPO is measured from.
    pub t0: Timestamp,
    /// When the drill started, by the wall clock (not T0).
    pub started_at: Timestamp,
    /// When the drill finished: after its `finally` steps and the scratch folder's removal,
    /// before the webhooks.
    pub finished_at: Timestamp,
    /// The verdict: `passed` (exit 0), `failed` (exit 1) or `error` (could not complete, exit 3).
    pub outcome: Outcome,
    /// Why the drill failed or could not complete, in one sentence; `None` when it passed.
    pub reason: Option<String>,
    /// The source the points were read from; never holds credentials.
    pub source: SourceRef,
    /// The runbook's objectives, in seconds.
    pub objectives: ObjectiveSeconds,
    /// What the drill measured against them.
    pub measured: Measured,
    /// A projection of how long restoring the *whole* recovery point would take, from the
    /// throughput measured on the sample. Never part of `measured` and never checked against
    /// an objective; `None` when no point restored any byte.
    #[serde(default)]
    pub projected: Option<Projected>,
    /// How the sample was drawn, so it can be drawn again.
    pub sample: SampleRecord,
    /// The points that were tried, newest first.
    pub recovery_points: Vec<PointResult>,
    /// Steps that always run after the points (`finally:`).
    #[serde(default)]
    pub finally: Vec<StepResult>,
    /// Who ran a manual drill (`--operator`); `None` for automatic and scheduled drills.
    #[serde(default)]
    pub operator: Option<String>,
    /// The runner (`lifeboat schedule --runner`) that ran a scheduled drill; left out of
    /// the record for `lifeboat drill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
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
    /// The coverage phase (`coverage:` in the runbook): what this drill verified of the
    /// stored objects of every retained recovery point, and where coverage stands after it.
    /// Left out of the record when the runbook has no `coverage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageRecord>,
}

/// Where coverage stands after a drill's coverage phase, and what the phase verified.
///
/// Totals count the stored objects of every recovery point within `recovery_points.within`
/// at T0 (an object shared by several points, like a restic pack, counts once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageRecord {
    /// The runbook's `coverage.within`, in seconds: every object must be verified at least
    /// once in this long.
    pub within_seconds: u64,
    /// The runbook's `coverage.budget` in bytes; `None` when it sets none.
    #[serde(default)]
    pub budget_bytes: Option<u64>,
    /// Stored objects of the retained points.
    pub objects: u64,
    /// Their stored size in bytes.
    pub bytes: u64,
    /// Objects whose last verification passed and lies within `within_seconds` of T0.
    pub verified_within: u64,
    /// `verified_within / objects` (1.0 when there are no objects).
    pub ratio: f64,
    /// `true` when, at the rate drills run and within the budget, every object is verified
    /// within `within_seconds`.
    pub on_pace: bool,
    /// When the budget is too small to keep the pace, how long full coverage takes at it, in
    /// seconds; `None` when on pace.
    #[serde(default)]
    pub behind_seconds: Option<u64>,
    /// Objects never verified, after this drill.
    #[serde(default)]
    pub never_verified: u64,
    /// The oldest last verification among the objects that have one; `None` when none has.
    #[serde(default)]
    pub oldest_verified: Option<Timestamp>,
    /// Bytes this drill's coverage phase read.
    #[serde(default)]
    pub phase_bytes: u64,
    /// Every object this drill's coverage phase verified (in the order it read them), so an
    /// auditor can rebuild the ledger from the records.
    pub verified: Vec<CoverageObject>,
}

/// One stored object a coverage phase verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageObject {
    /// The recovery point the object was read from (for an object several points share, the
    /// newest of them).
    pub recovery_point: String,
    /// The object's path within the point (for restic, `data/ID` of the pack).
    pub path: String,
    /// `passed` or `failed`.
    pub outcome: Outcome,
    /// The digest algorithm used.
    pub algorithm: Algorithm,
    /// The digest of the bytes read, lowercase hex; `None` when none was computed.
    pub actual: Option<String>,
    /// Bytes read.
    #[serde(default)]
    pub bytes: u64,
    /// Why the object failed; `None` when it passed.
    pub reason: Option<String>,
}

/// The runbook a drill ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunbookRef {
    /// The runbook's `name`: the folder its evidence is filed under.
    pub name: String,
    /// Lowercase hex SHA-256 of the runbook file's bytes.
    pub sha256: String,
    /// The path the runbook was read from, made absolute (lexically, from the working folder
    /// of the drill: links are kept as named). Older records may hold it as given on the
    /// command line.
    pub path: String,
}

/// Where the recovery points were read from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    /// `source.url` as the runbook writes it. `source.options`, which may hold secrets, are
    /// never recorded.
    pub url: String,
    /// What discovery saw below the source, every entry counted under the reason it was not
    /// taken (`3 entries in the source: 1 regular file, 1 whose name is not valid UTF-8`), so
    /// a record says what was skipped even when a point passed. `null` when the source was
    /// not listed (it could not be opened, or the drill was interrupted first).
    #[serde(default)]
    pub listing: Option<String>,
}

/// The runbook's `objectives`, in whole seconds; `None` when the runbook sets none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSeconds {
    /// `objectives.rto`.
    pub rto_seconds: Option<u64>,
    /// `objectives.rpo`.
    pub rpo_seconds: Option<u64>,
}

/// What the drill measured, and whether each objective was met.
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
    /// Whether the measured RPO is at most `objectives.rpo`; `None` when the runbook sets none.
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
    /// size × manifest entries: an estimate, used above [`PROJECTION_HEAD_LIMIT`] entries);
    /// for a restic snapshot, whatever its number of files, `snapshot` (its summary's
    /// `total_bytes_processed`) or `tree` (the file sizes its tree lists, added up). With
    /// `snapshot` and `tree`, `total_bytes` and the sample's `bytes` are plaintext bytes (what
    /// a restore writes), not stored (encrypted, compressed) ones.
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
    /// Stored bytes read for them (the sum of their `object_bytes`); with the `snapshot` and
    /// `tree` bases, the plaintext bytes restored for them (the sum of their `bytes`).
    pub bytes: u64,
    /// Wall time of the point's restore step(s).
    pub duration_seconds: f64,
}

/// Points with more manifest entries than this have their total size extrapolated from the
/// sample instead of asking storage for every object's size.
pub const PROJECTION_HEAD_LIMIT: u64 = 10_000;

/// Where a projection's total size comes from (see [`Projected::basis`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectionBasis {
    /// Every entry was sampled, so the sample's bytes are the total: exact.
    Sample,
    /// Each object's size was read from storage: exact.
    Storage,
    /// The sample's mean object size times the manifest's entries: an estimate.
    Extrapolated,
    /// A restic snapshot's own summary (`total_bytes_processed`, written by restic ≥ 0.17):
    /// the plaintext bytes the backup read, as the snapshot file records them.
    Snapshot,
    /// The sizes a restic snapshot's tree lists for its regular files, added up (snapshots
    /// without a summary): exact, what `restic stats --mode restore-size` counts.
    Tree,
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
            ProjectionBasis::Snapshot => "the snapshot's own summary (total_bytes_processed)",
            ProjectionBasis::Tree => "exact: the file sizes the snapshot's tree lists",
        }
    }
}

/// How the sample was drawn: the runbook's `sample` and the seed used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// The seed used: the runbook's, `--seed`, or a random one recorded so the draw can be
    /// repeated.
    pub seed: u64,
    /// `files: N` from the runbook, if set.
    pub files: Option<u64>,
    /// `percent: P` from the runbook, if set.
    pub percent: Option<f64>,
    /// `true` when no `sample` was set and every file was verified.
    pub all: bool,
    /// `sample.always` from the runbook: files verified in every drill on top of the
    /// sample (each point's files say which were, `always: true`). Left out of the record
    /// when the runbook names none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always: Vec<String>,
}

/// One recovery point that was tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// The point's id: its folder or prefix name.
    pub id: String,
    /// The point's time (from its name or its manifest's last-modified time).
    pub time: Timestamp,
    /// `passed` when every sampled file verified and every step passed, else `failed`.
    pub outcome: Outcome,
    /// Why the point failed as a whole (malformed manifest, failed step, N files failed...).
    pub reason: Option<String>,
    /// When the drill started on this point.
    pub started_at: Timestamp,
    /// When the drill was done with this point (its last step included).
    pub finished_at: Timestamp,
    /// The manifest the point was checked against.
    pub manifest: ManifestRecord,
    /// Every sampled file, in the sample's order (by path).
    pub files: Vec<FileResult>,
    /// The point's `steps`, in runbook order, as far as they ran.
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

/// A point's manifest, as read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestRecord {
    /// `manifest.path`, relative to the point.
    pub path: String,
    /// The digest algorithm of its format.
    pub algorithm: Algorithm,
    /// Lines (entries) the manifest holds; `None` when it could not be read.
    pub entries: Option<u64>,
    /// Lowercase hex SHA-256 of the manifest's bytes, as read.
    pub sha256: Option<String>,
}

/// One sampled file: restored (or streamed) and hashed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileResult {
    /// The path the manifest names.
    pub path: String,
    /// `passed` when the restored bytes hash to `expected`, else `failed`.
    pub outcome: Outcome,
    /// The digest algorithm used.
    pub algorithm: Algorithm,
    /// The digest the manifest lists, lowercase hex.
    pub expected: String,
    /// The digest of the restored bytes, lowercase hex; `None` when none was computed (no
    /// object, an unsafe path, a read that failed).
    pub actual: Option<String>,
    /// Restored (decompressed) bytes.
    pub bytes: u64,
    /// Size of the stored object (compressed for `.zst`); `None` when none was found.
    #[serde(default)]
    pub object_bytes: Option<u64>,
    /// The object that was read: `PATH` or `PATH.zst`; `None` when none was found.
    pub object: Option<String>,
    /// Why the file failed (digest mismatch, missing object, unsafe path, ...); `None` when it
    /// passed.
    pub reason: Option<String>,
    /// `true` when the file was verified because `sample.always` names it (whether or not
    /// the seeded draw took it too); left out of the record when `false`, so the draw's
    /// files are exactly those without it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub always: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One step of `steps` or `finally`, as it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The step's kind: `restore`, `run` (also for `shell`), `http`, `approve` or `wait`.
    pub kind: String,
    /// The step's `name`, if the runbook gives one.
    pub name: Option<String>,
    /// When the step started.
    pub started_at: Timestamp,
    /// When the step finished.
    pub finished_at: Timestamp,
    /// `passed` or `failed`.
    pub outcome: Outcome,
    /// Why the step failed; `None` when it passed.
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
    /// When the first request was made.
    pub started_at: Timestamp,
    /// When the last answer came, or the last attempt gave up.
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

/// The scratch folder a drill restored into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScratchRecord {
    /// The folder's path (removed after the drill unless `kept`).
    pub path: String,
    /// Whether the folder was kept (`scratch.keep`).
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
