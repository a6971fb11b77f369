//! One drill, start to verdict: take T0, find the recovery points in the window, read each
//! point's manifest, draw the seeded sample, restore and verify it, fall back to older points
//! when the newest fails, and measure RTO and RPO against the runbook's objectives.
//!
//! The result is always an [`Evidence`] record — for a pass, a failure, and a drill that could
//! not complete alike — so the caller can write it and map its outcome to an exit code. This
//! crate writes only inside the scratch area it is given; it never writes to the source.
//!
//! How a drill goes, module by module: a [`DrillRequest`] is what the caller hands it; the
//! drill asks a [`format`](mod@format) (the source-format seam; today [`format::files`]) for
//! the recovery points and what each lists; [`plan`] draws the sample into a
//! [`plan::PointPlan`] without I/O; the point's [`steps`] run in order, the `restore` step
//! executing the plan through the format and the [`restore`] pipeline into the [`scratch`]
//! area; the verdict is [`lifeboat_core::verdict::decide`]; the record assembles the
//! [`Evidence`], the [`projection`] and the [`notify`] webhooks. Every way a drill can end
//! early is a [`DrillError`].
//!
//! A drill can be stopped through [`DrillRequest::stop`]. Before its last check has finished
//! that interrupts it: it stops reading, hashing and writing within one chunk per file in
//! flight, removes its scratch folder whatever `scratch.keep` says, and returns evidence with
//! outcome `error` and reason [`INTERRUPTED`]. After it, the verdict stands ([`stop`]).
//!
//! [`preview`] is the same path up to the plan, without running it: what `lifeboat plan`
//! shows.

use lifeboat_core::evidence::Evidence;
use lifeboat_core::runbook::{ManifestFormat, Runbook, SourceFormat as SourceFormatSpec};
pub use tokio_util::sync::CancellationToken;

pub mod coverage;
mod drill;
mod error;
pub mod format;
pub mod notify;
pub mod plan;
pub mod preview;
pub mod projection;
mod record;
mod request;
pub mod restore;
pub mod scratch;
pub mod steps;
pub mod stop;

pub use error::{DrillError, ScratchError};
/// The evidence `reason` of a drill interrupted through [`DrillRequest::stop`].
pub use lifeboat_core::verdict::INTERRUPTED;
pub use request::{
    DrillRequest, NoProgress, Progress, approvals_needing_operator, new_run_id, random_u64,
};
pub use steps::{Answer, Next, Operator, StepView};
pub use stop::{Stop, StopEffect};

pub use format::files::MAX_MANIFEST_BYTES;

/// Runs one drill. Never panics on bad data; returns the evidence in every case.
pub async fn run(runbook: &Runbook, req: DrillRequest) -> Drilled {
    let ledger = req
        .coverage
        .as_ref()
        .map(|c| std::sync::Arc::clone(&c.ledger));
    let mut drill = drill::Drill::new(runbook, &req);
    match (&runbook.format, runbook.manifest.format) {
        (SourceFormatSpec::Files, ManifestFormat::PgBackupManifest) => {
            drill.check(format::pg::PgBaseBackups::open(runbook)).await;
        }
        (SourceFormatSpec::Files, ManifestFormat::Sha256sum | ManifestFormat::B3sum) => {
            drill.check(format::files::FilesFormat::open(runbook)).await;
        }
        // Snapshots of a restic repository: each sampled file read chunk by chunk, every
        // chunk authenticated and checked against its id, and against the manifest inside
        // the snapshot when the runbook names one.
        (SourceFormatSpec::Restic(spec), _) => {
            drill
                .check(format::restic::ResticFormat::open(runbook, spec))
                .await;
        }
    }
    // `finally` runs whatever happened above, for the point that passed (else the last one
    // tried); it does not count toward RTO.
    let finally = drill.run_finally().await;
    let pending = drill.coverage_pending.take();
    let evidence = record::finish(drill, finally).await;
    // Only verifications the record lists are handed on: a record without its coverage
    // section (an interrupted drill) proves none.
    let coverage = match (ledger, pending) {
        (Some(ledger), Some(record)) if evidence.coverage.is_some() => Some(PendingCoverage {
            ledger,
            runbook: runbook.name.clone(),
            record,
        }),
        _ => None,
    };
    Drilled { evidence, coverage }
}

/// What a drill leaves: its evidence, and what its coverage phase verified, for the ledger.
#[derive(Debug)]
pub struct Drilled {
    /// The record to write.
    pub evidence: Evidence,
    /// The coverage phase's verifications, when it ran: kept in the ledger only once the
    /// record that lists them is written ([`PendingCoverage::keep`]), so the ledger never
    /// claims a verification no record proves (an auditor rebuilds the ledger from the
    /// records). Dropped unkept, the ledger stays behind: the next drill reads those
    /// objects again.
    pub coverage: Option<PendingCoverage>,
}

/// A coverage phase's verifications, not yet in the ledger ([`Drilled::coverage`]).
pub struct PendingCoverage {
    ledger: std::sync::Arc<dyn coverage::CoverageLedger>,
    runbook: String,
    record: lifeboat_core::coverage::PhaseRecord,
}

impl std::fmt::Debug for PendingCoverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCoverage")
            .field("runbook", &self.runbook)
            .field("verified", &self.record.verified.len())
            .finish_non_exhaustive()
    }
}

impl PendingCoverage {
    /// Keeps the verifications in the ledger, with the phase's T0 (for the pace): call it
    /// once the record listing them is written. `Err`: the ledger's error, in one line.
    pub async fn keep(self) -> Result<(), String> {
        self.ledger.record(&self.runbook, &self.record).await
    }
}

#[cfg(test)]
mod tests;
