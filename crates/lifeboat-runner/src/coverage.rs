//! The coverage phase: after the restore test, verify-only reads (nothing written to
//! scratch) of the stored objects of every retained recovery point, as many as the pace
//! needs ([`lifeboat_core::coverage::plan`]), the outcome kept in the ledger (the history
//! store, through [`CoverageLedger`]) and in the record's `coverage` section.
//!
//! The phase lists every retained point through the source format (its manifest, and each
//! object's storage identity: [`SourceFormat::identify`]), reads the ledger, plans, reads
//! what the plan says through the format's own `restore` with no landing (the same
//! checks as the restore test: digest, size, `.zst` decompressed), and writes the ledger in
//! one update. A stop ends it within a chunk per read in flight, and the ledger is then not
//! written: the next drill reads those objects again.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use lifeboat_core::coverage::{
    self, Identity, Ledger, LedgerRow, LedgerUpdate, Listed, ObjectKey, PhasePlan, PlanInput,
    Verification,
};
use lifeboat_core::evidence::{CoverageObject, CoverageRecord, Outcome};
use lifeboat_core::runbook::{CoverageSpec, Runbook};
use tokio_util::sync::CancellationToken;

use crate::format::{Candidate, CoverageItem, PointRead, SourceFormat};
use crate::plan::{Expected, Target};
use crate::restore::{Landing, Restored};
use crate::stop::until_cancelled;
use crate::{DrillError, NoProgress, Progress};

/// Concurrent storage identity requests while listing the retained points.
const HEADS_IN_FLIGHT: usize = 16;

/// Where a drill's coverage ledger is kept: the history store, seen from the drill. The
/// caller adapts its store to it (the runner knows no store).
pub trait CoverageLedger: Send + Sync {
    /// `runbook`'s ledger, as it stands.
    fn read<'a>(&'a self, runbook: &'a str) -> BoxFuture<'a, Result<Ledger, String>>;
    /// Applies one phase's changes to `runbook`'s ledger, atomically.
    fn update<'a>(
        &'a self,
        runbook: &'a str,
        update: &'a LedgerUpdate,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// What a drill with `coverage` is given besides the runbook.
#[derive(Clone)]
pub struct CoverageContext {
    /// The ledger.
    pub ledger: Arc<dyn CoverageLedger>,
    /// The interval of the runbook's `schedule`, if it has one: the pace before the rate
    /// drills run at is known.
    pub schedule_interval: Option<Duration>,
}

impl std::fmt::Debug for CoverageContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoverageContext")
            .field("schedule_interval", &self.schedule_interval)
            .finish_non_exhaustive()
    }
}

/// One stored object of a retained point, listed: where it is read from and what it must
/// verify to.
pub(crate) struct Object<L> {
    pub(crate) point: Candidate,
    pub(crate) expect: Expected,
    pub(crate) target: Target<L>,
}

/// Every retained point listed: its objects with their identities, and the points whose
/// manifest could not be read (each a failed object named by the manifest's path).
pub(crate) struct Listing<L> {
    pub(crate) objects: Vec<Object<L>>,
    pub(crate) identities: Vec<Identity>,
    pub(crate) unlisted: Vec<CoverageObject>,
}

/// Lists the objects of every point of `window` through `format`, each with its identity.
pub(crate) async fn list<F: SourceFormat>(
    format: &F,
    window: &[Candidate],
    cancel: &CancellationToken,
) -> Result<Listing<F::Locator>, DrillError> {
    if let Some(own) = until_cancelled(cancel, format.coverage_objects(window)).await?? {
        return Ok(own_listing(own));
    }
    let mut objects = Vec::new();
    let mut unlisted = Vec::new();
    for point in window {
        match until_cancelled(cancel, format.read_point(point)).await?? {
            PointRead::NotAPoint => {}
            PointRead::Failed { manifest, reason } => unlisted.push(CoverageObject {
                recovery_point: point.id.clone(),
                path: manifest.path.clone(),
                outcome: Outcome::Failed,
                algorithm: manifest.algorithm,
                actual: None,
                bytes: 0,
                reason: Some(reason),
            }),
            PointRead::Listed { manifest, entries } => {
                for entry in &entries {
                    let planned = format.plan_file(point, &manifest, entry);
                    objects.push(Object {
                        point: point.clone(),
                        expect: planned.expect,
                        target: planned.target,
                    });
                }
            }
        }
    }
    // By index: a closure over borrowed items would make this future not `Send`
    // (rust-lang/rust#89976).
    let objects_ref = &objects;
    let identities = futures::stream::iter(0..objects_ref.len())
        .map(|i| async move {
            let object = &objects_ref[i];
            match &object.target {
                Target::Restore { from, .. } => format.identify(&object.point, from).await,
                Target::Unsafe { .. } => Ok(Identity {
                    size: 0,
                    tag: "unsafe".to_owned(),
                }),
            }
        })
        .buffered(HEADS_IN_FLIGHT)
        .collect::<Vec<Result<Identity, DrillError>>>();
    let identities = until_cancelled(cancel, identities)
        .await?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Listing {
        objects,
        identities,
        unlisted,
    })
}

/// The listing of a format that lists its own coverage objects
/// ([`SourceFormat::coverage_objects`]: a restic repository's packs).
fn own_listing<L>(own: Vec<CoverageItem<L>>) -> Listing<L> {
    let mut objects = Vec::with_capacity(own.len());
    let mut identities = Vec::with_capacity(own.len());
    for item in own {
        objects.push(Object {
            point: item.point,
            expect: item.planned.expect,
            target: item.planned.target,
        });
        identities.push(item.identity);
    }
    Listing {
        objects,
        identities,
        unlisted: Vec::new(),
    }
}

/// The plan of the next phase over `listing`, with `ledger` as it stands.
pub(crate) fn plan_phase<L>(
    listing: &Listing<L>,
    spec: &CoverageSpec,
    ledger: &Ledger,
    t0: Timestamp,
    seed: u64,
    schedule_interval: Option<Duration>,
) -> PhasePlan {
    let listed = listing
        .objects
        .iter()
        .zip(&listing.identities)
        .map(|(o, identity)| Listed {
            key: ObjectKey {
                point: o.point.id.clone(),
                path: o.expect.path.clone(),
            },
            identity: identity.clone(),
        })
        .collect();
    coverage::plan(
        listed,
        &PlanInput {
            t0,
            within: spec.within,
            budget: spec.budget,
            schedule: schedule_interval,
            seed,
            ledger,
        },
    )
}

/// What a drill's phase needs from the drill.
pub(crate) struct Phase<'a> {
    pub(crate) runbook: &'a Runbook,
    pub(crate) spec: &'a CoverageSpec,
    pub(crate) context: &'a CoverageContext,
    pub(crate) run_id: &'a str,
    pub(crate) t0: Timestamp,
    pub(crate) seed: u64,
    /// Objects read at once; 0: one per core, twice over.
    pub(crate) jobs: usize,
    pub(crate) cancel: &'a CancellationToken,
}

impl Phase<'_> {
    /// Runs the phase over the points of `window` through `format`: lists, plans, reads,
    /// writes the ledger. The record's `coverage` section. `Err`: the drill cannot complete
    /// (the source or the ledger failed, or a stop).
    pub(crate) async fn run<F: SourceFormat>(
        &self,
        format: &F,
        window: &[Candidate],
    ) -> Result<CoverageRecord, DrillError> {
        let listing = list(format, window, self.cancel).await?;
        let ledger = self
            .context
            .ledger
            .read(&self.runbook.name)
            .await
            .map_err(|detail| DrillError::Ledger { detail })?;
        let plan = plan_phase(
            &listing,
            self.spec,
            &ledger,
            self.t0,
            self.seed,
            self.context.schedule_interval,
        );
        // The plan holds what it needs of the ledger: at millions of objects the ledger is
        // most of the phase's memory, so it goes before the reads.
        drop(ledger);
        let results = self.read(format, &listing, &plan).await?;

        // The plan's rows are moved, not cloned, into the ledger update: the update is built
        // once per phase over every listed object.
        let PhasePlan {
            objects,
            read,
            gone,
            on_pace,
            behind_seconds,
            ..
        } = plan;
        let mut written: Vec<bool> = objects.iter().map(|o| o.changed).collect();
        let mut rows: Vec<LedgerRow> = objects.into_iter().map(|o| o.row).collect();
        let mut verified = Vec::with_capacity(results.len() + listing.unlisted.len());
        for (&i, result) in read.iter().zip(results) {
            rows[i].verified = Some(Verification {
                at: self.t0,
                outcome: result.outcome,
                algorithm: result.algorithm,
                digest: result.actual.clone(),
            });
            written[i] = true;
            verified.push(CoverageObject {
                recovery_point: rows[i].key.point.clone(),
                path: result.path,
                outcome: result.outcome,
                algorithm: result.algorithm,
                actual: result.actual,
                bytes: result.object_bytes.unwrap_or(result.bytes),
                reason: result.reason,
            });
        }
        let phase_bytes = verified.iter().map(|v| v.bytes).sum();
        verified.extend(listing.unlisted);
        let standing = coverage::standing(&rows, self.t0, self.spec.within);
        let update = LedgerUpdate {
            remove: gone,
            upsert: rows
                .into_iter()
                .zip(written)
                .filter_map(|(row, written)| written.then_some(row))
                .collect(),
            phase: Some(self.t0),
            run_id: self.run_id.to_owned(),
        };
        self.context
            .ledger
            .update(&self.runbook.name, &update)
            .await
            .map_err(|detail| DrillError::Ledger { detail })?;
        Ok(CoverageRecord {
            within_seconds: self.spec.within.as_secs(),
            budget_bytes: self.spec.budget,
            objects: standing.objects,
            bytes: standing.bytes,
            verified_within: standing.verified_within,
            ratio: standing.ratio(),
            on_pace,
            behind_seconds,
            never_verified: standing.never_verified,
            oldest_verified: standing.oldest_verified,
            phase_bytes,
            verified,
        })
    }

    /// Reads the objects `plan` says, several at once, nothing written: their results in
    /// plan order.
    async fn read<F: SourceFormat>(
        &self,
        format: &F,
        listing: &Listing<F::Locator>,
        plan: &PhasePlan,
    ) -> Result<Vec<lifeboat_core::evidence::FileResult>, DrillError> {
        let progress: Arc<dyn Progress> = Arc::new(NoProgress);
        let landing = Landing {
            dest: None,
            progress: &progress,
            cancel: self.cancel,
        };
        let landing = &landing;
        let parallel = if self.jobs == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.jobs
        };
        let mut stream = futures::stream::iter(0..plan.read.len())
            .map(|n| async move {
                let object = &listing.objects[plan.read[n]];
                let read = match &object.target {
                    Target::Unsafe { reason } => {
                        Ok(Restored::failed(&object.expect, None, reason.clone()))
                    }
                    Target::Restore { lands, from } => {
                        format
                            .restore(&object.point, &object.expect, lands, from, landing)
                            .await
                    }
                };
                (n, read)
            })
            .buffer_unordered(parallel * 2);
        let mut results = Vec::with_capacity(plan.read.len());
        while let Some((n, read)) = stream.next().await {
            match read {
                Ok(restored) => results.push((n, restored.result)),
                // Drain the rest: each read in flight stops at its next chunk.
                Err(_) if self.cancel.is_cancelled() => {}
                Err(e) => return Err(e),
            }
        }
        if self.cancel.is_cancelled() {
            return Err(DrillError::Interrupted);
        }
        results.sort_by_key(|(n, _)| *n);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

#[cfg(test)]
mod tests;
