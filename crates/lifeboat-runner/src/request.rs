//! What a caller hands a drill besides the runbook: where to work, what to record, who is
//! at the terminal, where progress goes, and how to stop it.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use lifeboat_core::evidence::{FileResult, Mode, PointResult};
use lifeboat_core::runbook::Runbook;

use crate::{Operator, Stop};

/// Receives progress while a drill runs (a terminal progress bar, logs). All no-ops by default.
pub trait Progress: Send + Sync {
    /// A recovery point is being tried with this many sampled files.
    fn point_started(&self, _id: &str, _files: usize) {}
    /// Restored bytes (after decompression).
    fn bytes(&self, _n: u64) {}
    /// A file was verified (or failed).
    fn file_done(&self, _result: &FileResult) {}
    fn point_finished(&self, _result: &PointResult) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Everything a drill needs besides the runbook.
#[derive(Clone)]
pub struct DrillRequest {
    /// The path the runbook was read from, as given (recorded in the evidence).
    pub runbook_path: String,
    /// Lowercase hex SHA-256 of the runbook file's bytes.
    pub runbook_sha256: String,
    /// T0, the simulated incident time; `None`: the drill's start.
    pub now: Option<Timestamp>,
    /// Overrides the runbook's sample seed.
    pub seed: Option<u64>,
    /// The folder under which this run's scratch folder is created.
    pub scratch_root: PathBuf,
    /// The evidence folder the caller will write this run's record into, so `notify`
    /// webhooks can say where the record is (`EVIDENCE_DIR/NAME/RUN_ID/evidence.json`);
    /// `None`: not said.
    pub evidence_dir: Option<PathBuf>,
    /// Stream and hash only, write nothing to scratch (also set by the runbook's `verify_only`).
    pub verify_only: bool,
    /// Files verified at once; 0: one per core.
    pub jobs: usize,
    pub mode: Mode,
    /// The person at the terminal of a manual drill (`--interactive --operator NAME`): shown
    /// each step before it runs, and asked every `approve` question. `None`: nobody is there,
    /// and `approve` steps follow their `unattended` setting.
    pub operator: Option<Arc<dyn Operator>>,
    pub progress: Arc<dyn Progress>,
    /// Stops the drill (SIGINT/SIGTERM, or the scheduler's grace period ran out). Before the
    /// last check has finished, restores in flight stop at their next chunk; the evidence
    /// says `error`, [`INTERRUPTED`](crate::INTERRUPTED); the scratch folder is removed even
    /// under `scratch.keep: always`, as a half-restored point is nothing to inspect. After
    /// it, the verdict stands and `stopped_after_checks` records the stop. `Stop::new()` for
    /// a drill nobody stops.
    pub stop: Stop,
    /// The coverage ledger and what the pace needs, for a runbook with `coverage`; `None`
    /// for one without (a runbook with `coverage` and no ledger ends as an error: the
    /// callers refuse that before anything runs).
    pub coverage: Option<crate::coverage::CoverageContext>,
}

impl std::fmt::Debug for DrillRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillRequest")
            .field("runbook_path", &self.runbook_path)
            .field("now", &self.now)
            .field("seed", &self.seed)
            .field("scratch_root", &self.scratch_root)
            .field("verify_only", &self.verify_only)
            .field("stop_requested", &self.stop.is_requested())
            .finish_non_exhaustive()
    }
}

/// Every `approve` step a drill without an operator cannot run (no `unattended` setting), as
/// `(key path, line, column)`. `lifeboat drill` without `--interactive`, and `lifeboat
/// schedule`, refuse such a runbook before anything runs.
pub fn approvals_needing_operator(runbook: &Runbook) -> Vec<(String, u32, u32)> {
    runbook
        .approvals_needing_operator()
        .into_iter()
        .map(|(key, at)| (key, at.line, at.column))
        .collect()
}

/// A run id: sortable by start time, unique enough to never collide in one evidence folder.
pub fn new_run_id(started: Timestamp) -> String {
    let stamp = started.strftime("%Y%m%dT%H%M%SZ");
    format!("{stamp}-{:06x}", random_u64() & 0xff_ffff)
}

/// A random u64 from the standard library's per-process hash keys, mixed with the clock.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}
