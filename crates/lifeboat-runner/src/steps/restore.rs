//! `restore` steps: the point's plan carried out, every sampled file restored into the
//! point's scratch folder (or streamed and hashed only, verify-only) and checked, several at
//! once, bounded by the step's `timeout`. The step fails when any file fails; the files'
//! findings go into the point's record.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use futures::future::BoxFuture;
use lifeboat_core::evidence::{FileResult, Outcome};
use lifeboat_core::runbook::Step;
use tokio_util::sync::CancellationToken;

use super::Ended;
use crate::format::SourceFormat;
use crate::plan::{PointPlan, Target};
use crate::restore::{Dest, Landing, Restored};
use crate::{DrillError, Progress};

/// Files restored into scratch at once, at least: see [`Restoring::in_flight`].
const RESTORE_IN_FLIGHT: usize = 16;
/// Local files verified at once without restoring them, at least: see [`files_in_flight`].
const VERIFY_IN_FLIGHT: usize = 8;
/// Files read from S3 or Azure at once, at least, restored or verified only: see
/// [`Restoring::in_flight`].
const REMOTE_IN_FLIGHT: usize = 32;

/// A point's sample, ready to be restored: what a `restore` step runs. Object-safe, so
/// the steps need not know the source format.
pub(crate) trait Sample: Sync {
    /// Restores and checks every planned file; the results in plan order. `Err` when the
    /// drill cannot complete, or `cancel` fired ([`DrillError::Interrupted`]): then every
    /// restore still in flight has stopped, and nothing writes into the scratch area.
    fn restore<'a>(
        &'a self,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Vec<FileResult>, DrillError>>;
}

/// The `restore` step of one point: its plan, executed through its format.
pub(crate) struct Restoring<'a, F: SourceFormat> {
    /// The source format the plan was made by.
    pub format: &'a F,
    /// The point's plan.
    pub plan: &'a PointPlan<F::Locator>,
    /// The point's scratch folder; `None`: verify only.
    pub dest: Option<Dest<'a>>,
    /// Files verified at once; 0: one per core.
    pub jobs: usize,
    /// The source is S3 or Azure: every file is a request whose answer takes a round trip.
    pub remote: bool,
    /// Told of each file and byte.
    pub progress: &'a Arc<dyn Progress>,
    /// Counts restored files flushed to disk before they were verified.
    pub synced: &'a AtomicU64,
}

impl<F: SourceFormat> Restoring<'_, F> {
    /// Files in flight at once: see [`files_in_flight`].
    fn in_flight(&self) -> usize {
        let parallel = if self.jobs == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.jobs
        };
        files_in_flight(parallel, self.dest.is_some(), self.remote)
    }

    async fn restore_all(&self, cancel: &CancellationToken) -> Result<Vec<FileResult>, DrillError> {
        let plan = self.plan;
        self.progress
            .point_started(&plan.point.id, plan.files.len());
        let landing = Landing {
            dest: self.dest,
            progress: self.progress,
            cancel,
        };
        let landing = &landing;
        let mut results: Vec<(usize, FileResult)> = Vec::with_capacity(plan.files.len());
        // By index: a closure over borrowed items would make this future not `Send`
        // (rust-lang/rust#89976).
        let mut stream = futures::stream::iter(0..plan.files.len())
            .map(|i| async move {
                let file = &plan.files[i];
                let restored = match &file.target {
                    // Refused by the plan: nothing is read or written for it.
                    Target::Unsafe { reason } => {
                        Ok(Restored::failed(&file.expect, None, reason.clone()))
                    }
                    Target::Restore { lands, from } => {
                        self.format
                            .restore(&plan.point, &file.expect, lands, from, landing)
                            .await
                    }
                };
                (i, restored)
            })
            .buffer_unordered(self.in_flight());
        while let Some((i, restored)) = stream.next().await {
            match restored {
                Ok(Restored { mut result, synced }) => {
                    result.always = plan.is_always(&result.path);
                    self.progress.file_done(&result);
                    self.synced.fetch_add(u64::from(synced), Ordering::Relaxed);
                    results.push((i, result));
                }
                // Interrupted: drain the stream rather than drop it, so no restore is still
                // writing into the scratch folder the caller is about to remove. Each one
                // left stops at its next chunk; those not begun return at once.
                Err(_) if cancel.is_cancelled() => {}
                Err(e) => return Err(e),
            }
        }
        if cancel.is_cancelled() {
            return Err(DrillError::Interrupted);
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

impl<F: SourceFormat> Sample for Restoring<'_, F> {
    fn restore<'a>(
        &'a self,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Vec<FileResult>, DrillError>> {
        Box::pin(self.restore_all(cancel))
    }
}

/// Files in flight at once, `parallel` files verified at once: a few more than cores, so I/O
/// waits overlap with hashing. A local verify-only drill keeps at least
/// [`VERIFY_IN_FLIGHT`] going: most of a point's files are a few KiB, each opened and hashed
/// on a blocking thread, and with two per core the hand-offs between threads left a core idle
/// between them (measured on the plain bench set, two cores: 0.48 s with 4 in flight, 0.45 s
/// with 8, `b3sum --check` 0.45 s; on one core 0.79–0.81 s with 2, 4 or 8, and no change on
/// the set of larger files). A restore into scratch waits mostly on each file's
/// `fdatasync`, and the filesystem commits concurrent ones together, so it keeps more files
/// going. A remote source keeps as many going in verify-only mode too: a small object is one
/// GET whose time is mostly the server's turnaround, not hashing, and with two files per core
/// in flight the server sat idle between answers (measured against s3s-fs on loopback:
/// benches/README.md, "Cloud sources"). Memory stays bounded: a large object's parts share
/// the source's `parallel_reads` permits, and a small one is a short queue of chunks.
fn files_in_flight(parallel: usize, restoring: bool, remote: bool) -> usize {
    if remote {
        (parallel * 2).max(REMOTE_IN_FLIGHT)
    } else if restoring {
        (parallel * 2).max(RESTORE_IN_FLIGHT)
    } else {
        (parallel * 2).max(VERIFY_IN_FLIGHT)
    }
}

/// Runs a `restore` step: `sample` restored, within the step's `timeout`. `stop` is the
/// drill's: a stop ends the step with [`DrillError::Interrupted`]; a timeout stops the
/// restore the same way (so nothing still writes into scratch afterwards), through a token
/// of its own, and fails the step.
pub(super) async fn run(
    step: &Step,
    sample: &dyn Sample,
    stop: &CancellationToken,
) -> Result<(Ended, Vec<FileResult>), DrillError> {
    let token = stop.child_token();
    let restoring = sample.restore(&token);
    tokio::pin!(restoring);
    let mut timed_out = false;
    let files = match step.timeout {
        None => restoring.await,
        Some(t) => tokio::select! {
            files = &mut restoring => files,
            () = tokio::time::sleep(t) => {
                timed_out = true;
                token.cancel();
                restoring.await
            }
        },
    };
    let files = match files {
        Err(_) if timed_out && !stop.is_cancelled() => {
            let after =
                lifeboat_core::duration::human(step.timeout.unwrap_or_default().as_secs_f64());
            return Ok((
                Ended::Failed(format!("timed out after {after}")),
                Vec::new(),
            ));
        }
        Err(e) => return Err(e),
        Ok(files) => files,
    };
    let failed = files
        .iter()
        .filter(|f| f.outcome != Outcome::Passed)
        .count();
    let ended = if failed == 0 {
        Ended::Passed
    } else {
        Ended::Failed(format!("{failed} of {} sampled files failed", files.len()))
    };
    Ok((ended, files))
}

#[cfg(test)]
mod tests {
    use super::files_in_flight;

    /// Two cores: a local verify-only drill keeps eight files going, a restore into scratch
    /// sixteen; a remote source 32 either way, since its files wait on the server.
    #[test]
    fn remote_sources_keep_the_server_busy_in_both_modes() {
        assert_eq!(files_in_flight(2, false, false), 8);
        assert_eq!(files_in_flight(2, true, false), 16);
        assert_eq!(files_in_flight(2, false, true), 32);
        assert_eq!(files_in_flight(2, true, true), 32);
        // More cores than that: never fewer than two per core.
        assert_eq!(files_in_flight(32, false, true), 64);
        assert_eq!(files_in_flight(32, false, false), 64);
    }
}
