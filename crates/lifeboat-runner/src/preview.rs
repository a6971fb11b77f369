//! A drill's plan without the drill (`lifeboat plan`): the recovery points the source holds
//! and where each stands against the window, the point a drill would try first, and the
//! files its sample would verify.
//!
//! It walks the same path as a drill, through the same functions: the source format's
//! [`discover`](SourceFormat::discover) and [`read_point`](SourceFormat::read_point), the
//! window's rule ([`format::window`]), and the point's plan as the drill makes it
//! (`drill::plan_point`, [`PointPlan`]). So what it shows is what a drill with the same T0
//! and seed would restore, and nothing else. It reads storage (the listing and the manifests
//! of the points it reaches) and writes nothing: no scratch folder, no evidence, no history.
//!
//! Points are read newest first until one lists files a drill would restore, as a drill
//! tries them: a folder without the manifest is not a point and is passed over; a point whose
//! manifest fails (or lacks a `sample.always` file) is one a drill tries, fails and falls back
//! from, so the preview shows why and goes on to the next.

use jiff::Timestamp;
use lifeboat_core::evidence::ManifestRecord;
use lifeboat_core::runbook::{ManifestFormat, Runbook, SourceFormat as SourceFormatSpec};

use crate::format::{self, Candidate, Census, PointRead, SourceFormat, Window};
use crate::plan::{PointPlan, Target};
use crate::{DrillError, random_u64};

/// What a drill of a runbook would do, at T0 with a seed.
#[derive(Debug)]
pub struct Preview {
    /// The T0 the window is counted back from.
    pub t0: Timestamp,
    /// The seed the sample is drawn with.
    pub seed: u64,
    /// Where the seed came from.
    pub seed_from: SeedFrom,
    /// Every recovery point candidate found, newest first, with where it stands against the
    /// window.
    pub points: Vec<(Candidate, Window)>,
    /// What discovery saw below the source, every entry counted under the reason it was not
    /// taken (the evidence's `source.listing`; as far as the preview read).
    pub listing: String,
    /// The points a drill would try, in order, up to and including the first whose files it
    /// would restore; empty when none is left in the window.
    pub tried: Vec<Tried>,
}

/// Where a preview's seed came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedFrom {
    /// `--seed`.
    Request,
    /// The runbook's `sample.seed`.
    Runbook,
    /// Neither: drawn at random, as a drill would draw its own.
    Random,
}

/// A point a drill would try, and what would happen there.
#[derive(Debug)]
pub struct Tried {
    /// The point.
    pub point: Candidate,
    /// What the drill would do with it.
    pub what: WouldDo,
}

/// What a drill would do with a point it reaches.
#[derive(Debug)]
pub enum WouldDo {
    /// Pass it over: it is not a recovery point after all (no manifest).
    PassOver,
    /// Fail it before restoring any file, for this reason, and fall back.
    Fail {
        /// The manifest, as far as it was read.
        manifest: ManifestRecord,
        /// Why, in the words the evidence would use.
        reason: String,
    },
    /// Restore and verify these files, then run the runbook's steps.
    Restore {
        /// The manifest the files come from.
        manifest: ManifestRecord,
        /// The files, in the order the drill lists them (by path).
        files: Vec<PlannedFile>,
    },
}

/// A file a drill would verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    /// Its path, as the manifest lists it.
    pub path: String,
    /// Verified because `sample.always` names it.
    pub always: bool,
    /// Why it would fail without a byte being read (an unsafe path); `None`: restored.
    pub refused: Option<String>,
}

/// What a drill of `runbook` at `t0` (`None`: now) with `seed` (`None`: the runbook's, else a
/// random one) would do. `Err` when the source cannot be read: a drill would end with exit 3.
pub async fn preview(
    runbook: &Runbook,
    t0: Option<Timestamp>,
    seed: Option<u64>,
) -> Result<Preview, DrillError> {
    match (&runbook.format, runbook.manifest.format) {
        (SourceFormatSpec::Files, ManifestFormat::PgBackupManifest) => {
            let format = format::pg::PgBaseBackups::open(runbook)?;
            preview_with(&format, runbook, t0, seed).await
        }
        (SourceFormatSpec::Files, ManifestFormat::Sha256sum | ManifestFormat::B3sum) => {
            let format = format::files::FilesFormat::open(runbook)?;
            preview_with(&format, runbook, t0, seed).await
        }
        (SourceFormatSpec::Restic(spec), _) => {
            let format = format::restic::ResticFormat::open(runbook, spec)?;
            preview_with(&format, runbook, t0, seed).await
        }
    }
}

async fn preview_with<F: SourceFormat>(
    format: &F,
    runbook: &Runbook,
    t0: Option<Timestamp>,
    seed: Option<u64>,
) -> Result<Preview, DrillError> {
    let t0 = t0.unwrap_or_else(Timestamp::now);
    let runbook_seed = runbook.sample.as_ref().and_then(|s| s.seed);
    let (seed, seed_from) = match (seed, runbook_seed) {
        (Some(s), _) => (s, SeedFrom::Request),
        (None, Some(s)) => (s, SeedFrom::Runbook),
        (None, None) => (random_u64(), SeedFrom::Random),
    };
    let (found, mut census) = format.discover().await?;
    let within = runbook.recovery_points.within;
    let mut points: Vec<(Candidate, Window)> = found
        .iter()
        .map(|c| (c.clone(), format::window(c, t0, within)))
        .collect();
    points.sort_by(|(a, _), (b, _)| format::newest_first(a, b));
    let candidates = format::in_window(found, t0, within, &mut census);
    let mut tried = Vec::new();
    for candidate in candidates {
        let what = match format.read_point(&candidate).await? {
            PointRead::NotAPoint => {
                census.not_a_point();
                WouldDo::PassOver
            }
            PointRead::Failed { manifest, reason } => WouldDo::Fail { manifest, reason },
            PointRead::Listed { manifest, entries } => {
                let plan = crate::drill::plan_point(
                    runbook,
                    format,
                    candidate.clone(),
                    manifest,
                    entries,
                    seed,
                );
                match plan.unlisted_reason() {
                    Some(reason) => WouldDo::Fail {
                        manifest: plan.manifest,
                        reason,
                    },
                    None => restore(plan),
                }
            }
        };
        let last = matches!(what, WouldDo::Restore { .. });
        tried.push(Tried {
            point: candidate,
            what,
        });
        if last {
            break;
        }
    }
    Ok(Preview {
        t0,
        seed,
        seed_from,
        points,
        listing: census.describe(),
        tried,
    })
}

fn restore<L>(plan: PointPlan<L>) -> WouldDo {
    let files = plan
        .files
        .iter()
        .map(|f| PlannedFile {
            path: f.expect.path.clone(),
            always: plan.is_always(&f.expect.path),
            refused: match &f.target {
                Target::Restore { .. } => None,
                Target::Unsafe { reason } => Some(reason.clone()),
            },
        })
        .collect();
    WouldDo::Restore {
        manifest: plan.manifest,
        files,
    }
}

/// What the next coverage phase of a runbook would read (`lifeboat plan`): its plan over the
/// ledger as it stands, nothing read and nothing written.
#[derive(Debug)]
pub struct CoveragePreview {
    /// Where coverage stands before the phase.
    pub standing: lifeboat_core::coverage::Standing,
    /// Retained points whose manifest could not be read (the phase would fail them).
    pub unlisted: Vec<lifeboat_core::evidence::CoverageObject>,
    /// The phase's plan: what it reads, in order, and the pace.
    pub plan: lifeboat_core::coverage::PhasePlan,
}

/// The next coverage phase of `runbook` at `t0` with `seed`, over `ledger` (empty before the
/// first phase); `None` when the runbook has no `coverage`. `Err` when the source cannot be
/// read, as a drill would end.
pub async fn coverage(
    runbook: &Runbook,
    t0: Timestamp,
    seed: u64,
    ledger: &lifeboat_core::coverage::Ledger,
    schedule_interval: Option<std::time::Duration>,
) -> Result<Option<CoveragePreview>, DrillError> {
    let Some(spec) = &runbook.coverage else {
        return Ok(None);
    };
    let input = CoverageInput {
        runbook,
        spec,
        t0,
        seed,
        ledger,
        schedule_interval,
    };
    let preview = match (&runbook.format, runbook.manifest.format) {
        (SourceFormatSpec::Files, ManifestFormat::PgBackupManifest) => {
            input
                .preview(&format::pg::PgBaseBackups::open(runbook)?)
                .await?
        }
        (SourceFormatSpec::Files, ManifestFormat::Sha256sum | ManifestFormat::B3sum) => {
            input
                .preview(&format::files::FilesFormat::open(runbook)?)
                .await?
        }
        // Its packs, listed as a drill's phase lists them (the index and one listing of
        // `data/`), as the objects of the one point `repository`.
        (SourceFormatSpec::Restic(spec), _) => {
            input
                .preview(&format::restic::ResticFormat::open(runbook, spec)?)
                .await?
        }
    };
    Ok(Some(preview))
}

struct CoverageInput<'a> {
    runbook: &'a Runbook,
    spec: &'a lifeboat_core::runbook::CoverageSpec,
    t0: Timestamp,
    seed: u64,
    ledger: &'a lifeboat_core::coverage::Ledger,
    schedule_interval: Option<std::time::Duration>,
}

impl CoverageInput<'_> {
    async fn preview<F: SourceFormat>(&self, format: &F) -> Result<CoveragePreview, DrillError> {
        let (found, mut census) = format.discover().await?;
        let window = format::in_window(
            found,
            self.t0,
            self.runbook.recovery_points.within,
            &mut census,
        );
        let never = tokio_util::sync::CancellationToken::new();
        let listing = crate::coverage::list(format, &window, &never).await?;
        let plan = crate::coverage::plan_phase(
            &listing,
            self.spec,
            self.ledger,
            self.t0,
            self.seed,
            self.schedule_interval,
        );
        let standing = lifeboat_core::coverage::standing(
            plan.objects.iter().map(|o| &o.row),
            self.t0,
            self.spec.within,
        );
        Ok(CoveragePreview {
            standing,
            unlisted: listing.unlisted,
            plan,
        })
    }
}
