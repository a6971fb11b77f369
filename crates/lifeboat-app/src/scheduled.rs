//! The daemon's driller: how `lifeboat schedule` runs the drill of a slot the scheduler
//! started. The same [`Recording::drill_and_record`] as `lifeboat drill`, on a task of its own.

use std::sync::Arc;

use lifeboat_core::evidence::Mode;
use lifeboat_runner::{DrillRequest, NoProgress, Stop, StopEffect};
use lifeboat_scheduler::daemon::{DrillFuture, Driller, Job};
use lifeboat_scheduler::{HistoryStore, RunRecord};

use crate::{DrillJob, Places, Recording, RunbookFile};

/// Runs scheduled drills and writes their evidence, as `lifeboat drill` does; the daemon
/// records the [`RunRecord`] each returns, with its slot.
#[derive(Debug)]
pub struct ScheduledDrills {
    recording: Recording,
    places: Places,
    ledger: Option<Arc<dyn HistoryStore>>,
}

impl ScheduledDrills {
    /// Drills into `recording`, checking `places` again at each start.
    pub fn new(recording: Recording, places: Places) -> Self {
        ScheduledDrills {
            recording,
            places,
            ledger: None,
        }
    }

    /// Keeps the coverage ledger of runbooks with `coverage` in `store` (the daemon's own).
    pub fn with_ledger(mut self, store: Arc<dyn HistoryStore>) -> Self {
        self.ledger = Some(store);
        self
    }
}

impl Driller<RunbookFile> for ScheduledDrills {
    fn drill(&self, job: Job<RunbookFile>) -> DrillFuture {
        let recording = self.recording.clone();
        let places = self.places.clone();
        let ledger = self.ledger.clone();
        Box::pin(async move {
            let file = job.payload;
            // Checked again at each start: the source may have been made or moved since the
            // runbook was loaded. The slot is then abandoned, with nothing written.
            places
                .check(&file, "this slot does not run")
                .map_err(|e| e.to_string())?;
            // And whether the evidence folder became signed since the daemon started
            // without a key: an unsigned record would damage its chain.
            recording
                .check_signing()
                .map_err(|e| format!("{e}; this slot does not run"))?;
            // The scheduler cancels the job's token at the end of the grace period: that is
            // a stop, which the drill and this log describe as what it did.
            let stop = Stop::new();
            let claim = job.claim;
            let (cancel, watch_stop, runbook) = (job.cancel, stop.clone(), job.runbook);
            let stop_when = async move {
                cancel.cancelled().await;
                if watch_stop.request() == StopEffect::AfterChecks {
                    tracing::warn!(%runbook, "grace period over after this drill's last check: its verdict stands");
                }
            };
            let request = DrillRequest {
                runbook_path: file.recorded_path(),
                runbook_sha256: file.sha256.clone(),
                now: None,
                seed: None,
                scratch_root: places.scratch_root().to_path_buf(),
                evidence_dir: None,
                verify_only: false,
                jobs: 0,
                mode: Mode::Scheduled,
                operator: None,
                progress: Arc::new(NoProgress),
                stop,
                coverage: None,
            };
            let job = DrillJob {
                runbook: file,
                request,
                history: None,
                slot: Some(job.slot),
                ledger,
                claim,
            };
            // A task of its own: a drill that panics is a slot abandoned with the panic as
            // its reason, and a drill the daemon leaves behind at its end (it no longer
            // waits) goes on until the process exits, as it would on any thread.
            let recorded =
                tokio::spawn(async move { recording.drill_and_record(job, stop_when).await })
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            // Kept folders are the operator's to inspect and remove (`scratch.keep`): say where.
            let scratch = &recorded.evidence.scratch;
            if scratch.kept {
                tracing::info!(
                    runbook = %recorded.run.runbook,
                    run_id = %recorded.run.run_id,
                    path = %scratch.path,
                    "scratch folder kept"
                );
            }
            Ok::<RunRecord, String>(recorded.run)
        })
    }
}
