//! The coverage phase: after the restore test, verify-only reads (nothing written to
//! scratch) of the stored objects of every retained recovery point, as many as the pace
//! needs (the rules of [`lifeboat_core::coverage`]), the outcome kept in the ledger (the
//! history store, through [`CoverageLedger`]) and in the record's `coverage` section.
//!
//! The phase costs what it reads, not what the ledger holds (issue 16 item 7). It lists the
//! retained points one at a time through the source format (a point's manifest, and each
//! object's storage identity: [`SourceFormat::identify`]) and hands the ledger only the
//! points whose listing changed (a point's fingerprint, [`coverage::fingerprint`], says so:
//! a recovery point once written rarely changes), then drops the points that left the
//! window; the ledger plans (in SQL, through its indexes: the objects to read and the pace,
//! never the whole ledger in memory); the phase then reads the planned objects, point by
//! point, through the format's own `restore` with no landing (the same checks as the
//! restore test: digest, size, `.zst` decompressed), and records the verifications in one
//! update. A stop ends it within a chunk per read in flight, and the verifications are then
//! not written: the next drill reads those objects again.
//!
//! Where a format lists its objects otherwise (restic: the object is the pack file, under
//! the one point "repository"), it lists them itself ([`SourceFormat::coverage_objects`],
//! once per phase, in place of the points' manifests) and its `restore` reads them (a
//! restic pack: read whole and checked); staging by fingerprint, planning and recording
//! are the same, and the read step finds the planned objects among that listing instead
//! of re-reading a manifest.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use lifeboat_core::coverage::{
    self, Identity, Ledger, Listed, ObjectKey, PhasePlan, PhaseQuery, PhaseRecord, PlanInput,
    PointListing, Selected, Selection, Standing, Verification,
};
use lifeboat_core::evidence::{CoverageObject, CoverageRecord, FileResult, Outcome};
use lifeboat_core::runbook::{CoverageSpec, Runbook};
use tokio_util::sync::CancellationToken;

use crate::format::{Candidate, PointRead, SourceFormat};
use crate::plan::{Expected, Target};
use crate::restore::{Landing, Restored};
use crate::stop::until_cancelled;
use crate::{DrillError, NoProgress, Progress};

/// What a [`CoverageLedger`] method returns.
pub type LedgerFuture<'a, T> = BoxFuture<'a, Result<T, String>>;

/// Where a drill's coverage ledger is kept: the history store, seen from the drill. The
/// caller adapts its store to it (the runner knows no store). The steps are those of
/// [`coverage::MemoryLedger`], the reference a store is tested against.
pub trait CoverageLedger: Send + Sync {
    /// `runbook`'s retained points, each with its listing's fingerprint.
    fn points<'a>(&'a self, runbook: &'a str) -> LedgerFuture<'a, Vec<PointListing>>;
    /// Stages one point's whole listing (`objects`).
    fn stage<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        listing: &'a PointListing,
        objects: &'a [Listed],
    ) -> LedgerFuture<'a, ()>;
    /// Keeps only `points`: the others left the window (or could not be listed).
    fn retain<'a>(&'a self, runbook: &'a str, points: &'a [String]) -> LedgerFuture<'a, ()>;
    /// Plans the phase.
    fn plan<'a>(&'a self, runbook: &'a str, query: &'a PhaseQuery) -> LedgerFuture<'a, Selection>;
    /// Records the phase's verifications and its T0, atomically.
    fn record<'a>(&'a self, runbook: &'a str, record: &'a PhaseRecord) -> LedgerFuture<'a, ()>;
    /// Where coverage stands at `t0` with `within`.
    fn standing<'a>(
        &'a self,
        runbook: &'a str,
        t0: Timestamp,
        within: Duration,
    ) -> LedgerFuture<'a, Standing>;
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
#[derive(Clone)]
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

/// What one retained point holds for coverage.
pub(crate) enum PointObjects<L> {
    /// Not a recovery point after all.
    NotAPoint,
    /// Its manifest could not be read: a failed object named by the manifest's path.
    Unlisted(CoverageObject),
    /// Its objects, each with its identity.
    Listed(Vec<Object<L>>, Vec<Identity>),
}

/// Lists the objects of `point` through `format`, each with its identity
/// ([`SourceFormat::identities`]: one listing of the point where the format can).
pub(crate) async fn list_point<F: SourceFormat>(
    format: &F,
    point: &Candidate,
    cancel: &CancellationToken,
) -> Result<PointObjects<F::Locator>, DrillError> {
    let objects = match until_cancelled(cancel, format.read_point(point)).await?? {
        PointRead::NotAPoint => return Ok(PointObjects::NotAPoint),
        PointRead::Failed { manifest, reason } => {
            return Ok(PointObjects::Unlisted(CoverageObject {
                recovery_point: point.id.clone(),
                path: manifest.path.clone(),
                outcome: Outcome::Failed,
                algorithm: manifest.algorithm,
                actual: None,
                bytes: 0,
                reason: Some(reason),
            }));
        }
        PointRead::Listed { manifest, entries } => entries
            .iter()
            .map(|entry| {
                let planned = format.plan_file(point, &manifest, entry);
                Object {
                    point: point.clone(),
                    expect: planned.expect,
                    target: planned.target,
                }
            })
            .collect::<Vec<_>>(),
    };
    // Unsafe paths are never looked up: nothing is read for them.
    let from: Vec<&F::Locator> = objects
        .iter()
        .filter_map(|object| match &object.target {
            Target::Restore { from, .. } => Some(from),
            Target::Unsafe { .. } => None,
        })
        .collect();
    let mut found = until_cancelled(cancel, format.identities(point, &from))
        .await??
        .into_iter();
    let identities = objects
        .iter()
        .map(|object| match &object.target {
            Target::Restore { .. } => found.next().ok_or_else(|| DrillError::Ledger {
                detail: "the source format identified fewer objects than it listed".to_owned(),
            }),
            Target::Unsafe { .. } => Ok(Identity {
                size: 0,
                tag: "unsafe".to_owned(),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PointObjects::Listed(objects, identities))
}

/// The ledger's view of a point's objects: key and identity.
fn listed<L>(objects: &[Object<L>], identities: &[Identity]) -> Vec<Listed> {
    objects
        .iter()
        .zip(identities)
        .map(|(o, identity)| Listed {
            key: ObjectKey {
                point: o.point.id.clone(),
                path: o.expect.path.clone(),
            },
            identity: identity.clone(),
        })
        .collect()
}

/// Lists the objects of every point of `window` through `format`, each with its identity,
/// all in memory: for `lifeboat plan`'s preview, which plans against the ledger read whole
/// (a drill lists point by point: [`Phase::run`]).
pub(crate) async fn list<F: SourceFormat>(
    format: &F,
    window: &[Candidate],
    cancel: &CancellationToken,
) -> Result<Listing<F::Locator>, DrillError> {
    let mut listing = Listing {
        objects: Vec::new(),
        identities: Vec::new(),
        unlisted: Vec::new(),
    };
    if let Some(own) = own_points(format, window, cancel).await? {
        for point in own {
            listing.objects.extend(point.objects);
            listing.identities.extend(point.identities);
        }
        return Ok(listing);
    }
    for point in window {
        match list_point(format, point, cancel).await? {
            PointObjects::NotAPoint => {}
            PointObjects::Unlisted(object) => listing.unlisted.push(object),
            PointObjects::Listed(objects, identities) => {
                listing.objects.extend(objects);
                listing.identities.extend(identities);
            }
        }
    }
    Ok(listing)
}

/// The objects of one point of a format that lists its own coverage objects
/// ([`SourceFormat::coverage_objects`]: a restic repository's packs, all under the one
/// point "repository"): staged, planned and recorded as any point, and found again for the
/// read step here, not in a manifest.
pub(crate) struct OwnPoint<L> {
    pub(crate) point: Candidate,
    pub(crate) objects: Vec<Object<L>>,
    pub(crate) identities: Vec<Identity>,
}

/// `format`'s own coverage objects over `window`, by point (in the order they come), if it
/// lists them itself; `None`: its objects are its points' files ([`list_point`]).
async fn own_points<F: SourceFormat>(
    format: &F,
    window: &[Candidate],
    cancel: &CancellationToken,
) -> Result<Option<Vec<OwnPoint<F::Locator>>>, DrillError> {
    let Some(items) = until_cancelled(cancel, format.coverage_objects(window)).await?? else {
        return Ok(None);
    };
    let mut points: Vec<OwnPoint<F::Locator>> = Vec::new();
    for item in items {
        let n = match points.iter().position(|p| p.point.id == item.point.id) {
            Some(n) => n,
            None => {
                points.push(OwnPoint {
                    point: item.point.clone(),
                    objects: Vec::new(),
                    identities: Vec::new(),
                });
                points.len() - 1
            }
        };
        points[n].objects.push(Object {
            point: item.point,
            expect: item.planned.expect,
            target: item.planned.target,
        });
        points[n].identities.push(item.identity);
    }
    Ok(Some(points))
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
    let listed = listed(&listing.objects, &listing.identities);
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
    fn ledger_err(detail: String) -> DrillError {
        DrillError::Ledger { detail }
    }

    /// Runs the phase over the points of `window` through `format`: lists and stages,
    /// plans, reads. The record's `coverage` section (the standing as it will be once the
    /// ledger is told), and the verifications to tell it, which the caller hands on only
    /// once the record is written. `Err`: the drill cannot complete (the source or the
    /// ledger failed, or a stop).
    pub(crate) async fn run<F: SourceFormat>(
        &self,
        format: &F,
        window: &[Candidate],
    ) -> Result<(CoverageRecord, PhaseRecord), DrillError> {
        let ledger = &self.context.ledger;
        let runbook = self.runbook.name.as_str();
        let known: std::collections::HashMap<String, String> = ledger
            .points(runbook)
            .await
            .map_err(Self::ledger_err)?
            .into_iter()
            .map(|p| (p.point, p.fingerprint))
            .collect();
        // A format that lists its own objects (restic's packs) lists them once, as the
        // objects of its own points, kept for the read step; any other, point by point.
        let own = own_points(format, window, self.cancel).await?;
        let points = match &own {
            Some(own) => own.iter().map(|p| p.point.clone()).collect(),
            None => window.to_vec(),
        };
        let mut retained = Vec::with_capacity(points.len());
        let mut unlisted = Vec::new();
        for (n, point) in points.iter().enumerate() {
            let listed = match &own {
                Some(own) => listed(&own[n].objects, &own[n].identities),
                None => match list_point(format, point, self.cancel).await? {
                    PointObjects::NotAPoint => continue,
                    PointObjects::Unlisted(object) => {
                        unlisted.push(object);
                        continue;
                    }
                    PointObjects::Listed(objects, identities) => listed(&objects, &identities),
                },
            };
            let listing = PointListing {
                point: point.id.clone(),
                fingerprint: coverage::fingerprint(&listed),
            };
            if known.get(&point.id) != Some(&listing.fingerprint) {
                ledger
                    .stage(runbook, self.t0, &listing, &listed)
                    .await
                    .map_err(Self::ledger_err)?;
            }
            retained.push(point.id.clone());
        }
        ledger
            .retain(runbook, &retained)
            .await
            .map_err(Self::ledger_err)?;
        let selection = ledger
            .plan(
                runbook,
                &PhaseQuery {
                    t0: self.t0,
                    within: self.spec.within,
                    budget: self.spec.budget,
                    schedule: self.context.schedule_interval,
                    seed: self.seed,
                },
            )
            .await
            .map_err(Self::ledger_err)?;
        // Where coverage stands before this phase's verifications: the record's standing is
        // this, moved on by what the phase read (the ledger is told only after the record).
        let before = ledger
            .standing(runbook, self.t0, self.spec.within)
            .await
            .map_err(Self::ledger_err)?;
        let results = self
            .read(format, window, own.as_deref(), &selection)
            .await?;

        let mut record = PhaseRecord {
            verified: Vec::with_capacity(results.len()),
            phase: Some(self.t0),
            run_id: self.run_id.to_owned(),
            last_verified: Vec::with_capacity(results.len()),
        };
        let mut verified = Vec::with_capacity(results.len() + unlisted.len());
        for (object, result) in selection.read.iter().zip(results) {
            record.last_verified.push(object.last.map(|l| l.at));
            record.verified.push((
                selection.key(object),
                Verification {
                    at: self.t0,
                    outcome: result.outcome,
                    algorithm: result.algorithm,
                    digest: result.actual.clone(),
                },
            ));
            verified.push(CoverageObject {
                recovery_point: selection.point(object).to_owned(),
                path: result.path,
                outcome: result.outcome,
                algorithm: result.algorithm,
                actual: result.actual,
                bytes: result.object_bytes.unwrap_or(result.bytes),
                reason: result.reason,
            });
        }
        let phase_bytes = verified.iter().map(|v| v.bytes).sum();
        verified.extend(unlisted);
        let outcomes: Vec<Outcome> = record.verified.iter().map(|(_, v)| v.outcome).collect();
        let standing =
            coverage::standing_after(&before, &selection, &outcomes, self.t0, self.spec.within);
        let section = CoverageRecord {
            within_seconds: self.spec.within.as_secs(),
            budget_bytes: self.spec.budget,
            objects: standing.objects,
            bytes: standing.bytes,
            verified_within: standing.verified_within,
            ratio: standing.ratio(),
            on_pace: selection.on_pace,
            behind_seconds: selection.behind_seconds,
            never_verified: standing.never_verified,
            oldest_verified: standing.oldest_verified,
            phase_bytes,
            verified,
        };
        Ok((section, record))
    }

    /// The objects `selection` reads, found again in their points' manifests (read once
    /// more, only for the points the phase reads from), or among `own`, the format's own
    /// objects when it lists them itself: in selection order, each the object to read or
    /// why it cannot be.
    async fn find<F: SourceFormat>(
        &self,
        format: &F,
        window: &[Candidate],
        own: Option<&[OwnPoint<F::Locator>]>,
        selection: &Selection,
    ) -> Result<Vec<Found<F::Locator>>, DrillError> {
        if let Some(own) = own {
            let mut by_key = std::collections::HashMap::new();
            for object in own.iter().flat_map(|p| &p.objects) {
                by_key.insert(
                    (object.point.id.as_str(), object.expect.path.as_str()),
                    object,
                );
            }
            return Ok(selection
                .read
                .iter()
                .map(
                    |row| match by_key.get(&(selection.point(row), &*row.path)) {
                        Some(&object) => Ok(object.clone()),
                        None => Err(Box::new(gone(
                            row,
                            "no longer listed by its source (it changed during the drill)"
                                .to_owned(),
                        ))),
                    },
                )
                .collect());
        }
        let mut wanted: std::collections::HashMap<&str, std::collections::HashMap<&str, usize>> =
            std::collections::HashMap::new();
        for (n, row) in selection.read.iter().enumerate() {
            wanted
                .entry(selection.point(row))
                .or_default()
                .insert(&*row.path, n);
        }
        let mut found: Vec<Option<Found<F::Locator>>> =
            (0..selection.read.len()).map(|_| None).collect();
        for point in window {
            let Some(paths) = wanted.get(point.id.as_str()) else {
                continue;
            };
            match until_cancelled(self.cancel, format.read_point(point)).await?? {
                PointRead::Listed { manifest, entries } => {
                    for entry in &entries {
                        let planned = format.plan_file(point, &manifest, entry);
                        if let Some(&n) = paths.get(planned.expect.path.as_str()) {
                            found[n].get_or_insert(Ok(Object {
                                point: point.clone(),
                                expect: planned.expect,
                                target: planned.target,
                            }));
                        }
                    }
                }
                PointRead::Failed { reason, .. } => {
                    for &n in paths.values() {
                        found[n] = Some(Err(Box::new(gone(&selection.read[n], reason.clone()))));
                    }
                }
                PointRead::NotAPoint => {}
            }
        }
        Ok(found
            .into_iter()
            .zip(&selection.read)
            .map(|(f, row)| {
                f.unwrap_or_else(|| {
                    Err(Box::new(gone(
                        row,
                        "no longer in its recovery point's manifest (it changed during the \
                         drill)"
                            .to_owned(),
                    )))
                })
            })
            .collect())
    }

    /// Reads the objects `selection` says, several at once, nothing written: their results
    /// in selection order.
    async fn read<F: SourceFormat>(
        &self,
        format: &F,
        window: &[Candidate],
        own: Option<&[OwnPoint<F::Locator>]>,
        selection: &Selection,
    ) -> Result<Vec<FileResult>, DrillError> {
        let objects = self.find(format, window, own, selection).await?;
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
        let objects = &objects;
        let mut stream = futures::stream::iter(0..objects.len())
            .map(|n| async move {
                let read = match &objects[n] {
                    Err(failed) => Ok(FileResult::clone(failed)),
                    Ok(object) => match &object.target {
                        Target::Unsafe { reason } => {
                            Ok(Restored::failed(&object.expect, None, reason.clone()).result)
                        }
                        Target::Restore { lands, from } => format
                            .restore(&object.point, &object.expect, lands, from, landing)
                            .await
                            .map(|restored| restored.result),
                    },
                };
                (n, read)
            })
            .buffer_unordered(parallel * 2);
        let mut results = Vec::with_capacity(objects.len());
        while let Some((n, read)) = stream.next().await {
            match read {
                Ok(result) => results.push((n, result)),
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

/// A planned object found again: the object to read, or why it cannot be read.
type Found<L> = Result<Object<L>, Box<FileResult>>;

/// The failed result of a planned object the phase cannot read, and why.
fn gone(object: &Selected, reason: String) -> FileResult {
    FileResult {
        path: object.path.to_string(),
        outcome: Outcome::Failed,
        algorithm: object
            .last
            .map_or(lifeboat_core::Algorithm::Sha256, |v| v.algorithm),
        expected: String::new(),
        actual: None,
        bytes: 0,
        object_bytes: None,
        object: None,
        reason: Some(reason),
        always: false,
    }
}

#[cfg(test)]
mod tests;
