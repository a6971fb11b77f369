//! The source-format seam: what a drill needs from a backup, whatever its format.
//!
//! A drill asks a [`SourceFormat`] four things: which recovery points there are
//! ([`discover`](SourceFormat::discover)), what one of them lists
//! ([`read_point`](SourceFormat::read_point)), what a sampled entry must verify to and where
//! its bytes come from ([`plan_file`](SourceFormat::plan_file), pure), and to restore one
//! planned file into the scratch area, checking it on the way
//! ([`restore`](SourceFormat::restore)); and, for the full-restore projection only, how
//! large the files not sampled are ([`stored_bytes`](SourceFormat::stored_bytes)), or the
//! whole point when the format knows it at once ([`point_bytes`](SourceFormat::point_bytes)).
//! Everything else — the window ([`in_window`]) and fallback, the seeded sample, the steps,
//! the measurements, the verdict and the record — is the drill's, the same for every format.
//!
//! [`files`] is the first format: recovery points are folders holding a `sha256sum`/`b3sum`
//! manifest, each file an object `PATH` or `PATH.zst`. The seam is shaped by the next two as
//! well:
//!
//! - a **restic repository**: points are snapshots (listed in any order, filtered by host,
//!   paths and tags), the entries a snapshot's regular files (each with its size and the ids
//!   of its chunks) or a manifest inside it; a sampled file is restored chunk by chunk, each
//!   chunk's SHA-256 checked against its id. Its [`Locator`](SourceFormat::Locator) would be
//!   the chunk list and size, its reading synchronous (`rustic_core`) on a blocking thread.
//! - a **PostgreSQL base backup** ([`pg`], `manifest.format: pg_backup_manifest`): points
//!   are folders holding `backup_manifest` (JSON; its own checksum checked first, a mismatch
//!   fails the point), each entry a path with its size and checksum (CRC32C or SHA-2, per
//!   file: hence an algorithm and a size per planned file, not per point). Discovery and
//!   restore are `files`'s.
//!
//! A format decides findings about its own data (a manifest that is a link, a chunk whose
//! hash is not its id) and says them in its own words; an error that means the source cannot
//! be read at all ends the drill ([`DrillError`]).

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;
use lifeboat_core::coverage::Identity;
use lifeboat_core::evidence::{ManifestRecord, ProjectionBasis};

use crate::DrillError;
use crate::plan::{Expected, PlannedFile};
use crate::restore::{Landing, Restored};

pub mod files;
pub mod pg;
pub mod restic;

/// A recovery point found by discovery: an id and the time it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The point's id, as the evidence records it (`files`: the folder's name).
    pub id: String,
    /// When the point was taken: RPO is measured from it.
    pub time: Timestamp,
}

/// What discovery saw in the source, every entry counted under the reason it was not taken,
/// so "no recovery point" can say truthfully what was there.
pub trait Census: Send {
    /// A candidate turned out not to be a point after all when it was read
    /// ([`PointRead::NotAPoint`]).
    fn not_a_point(&mut self);
    /// A candidate was taken after T0: ignored.
    fn after_t0(&mut self);
    /// A candidate is older than `recovery_points.within` before T0: ignored.
    fn too_old(&mut self);
    /// What was seen, in one sentence (`3 entries in the source: 1 regular file, ...`): the
    /// evidence's `source.listing`, and part of the reason when no point was found.
    fn describe(&self) -> String;
}

/// One file a recovery point lists: the population its sample is drawn from.
pub trait Entry: Send + Sync {
    /// Its path as the point lists it: the sample is drawn over these (sorted by their
    /// bytes), and the evidence names the file by it.
    fn path(&self) -> &str;
}

impl Entry for lifeboat_core::manifest::Entry {
    fn path(&self) -> &str {
        &self.path
    }
}

/// What reading a recovery point found.
#[derive(Debug)]
pub enum PointRead<E> {
    /// Not a recovery point after all (`files`: the folder holds no manifest); the drill
    /// counts it in the census and goes on.
    NotAPoint,
    /// The point fails before any file is tried (its manifest is not a regular file, cannot
    /// be parsed, lists nothing...): the manifest as far as it was read, and why.
    Failed {
        /// The manifest, as far as it was read.
        manifest: ManifestRecord,
        /// Why the point fails, in one sentence.
        reason: String,
    },
    /// The files the point lists, never empty.
    Listed {
        /// The manifest the entries come from.
        manifest: ManifestRecord,
        /// Every file the point lists.
        entries: Vec<E>,
    },
}

/// A backup format a drill can check. Every future it returns is `Send`, so a drill runs on
/// any worker of a multi-threaded runtime.
pub trait SourceFormat: Send + Sync {
    /// One file a point lists, as read from it.
    type Entry: Entry;
    /// Where a sampled file's bytes come from, decided when the point's plan is made
    /// (`files`: the object `PATH`, else `PATH.zst`).
    type Locator: Clone + std::fmt::Debug + Send + Sync;
    /// What discovery saw.
    type Census: Census;

    /// Every recovery point candidate in the source, with its time, in any order, and the
    /// census of everything else found there. The drill keeps those in the window
    /// ([`in_window`]).
    fn discover(
        &self,
    ) -> impl Future<Output = Result<(Vec<Candidate>, Self::Census), DrillError>> + Send;

    /// What `point` lists. A finding about the point's own data is
    /// [`PointRead::Failed`]; `Err` only when the source cannot be read.
    fn read_point(
        &self,
        point: &Candidate,
    ) -> impl Future<Output = Result<PointRead<Self::Entry>, DrillError>> + Send;

    /// The plan for one sampled entry of `point`: what it must verify to, where it lands in
    /// the point's scratch folder, and where its bytes come from. Pure: no I/O.
    fn plan_file(
        &self,
        point: &Candidate,
        manifest: &ManifestRecord,
        entry: &Self::Entry,
    ) -> PlannedFile<Self::Locator>;

    /// Restores one planned file of `point` from `from` to `lands` (`/`-separated, below the
    /// point's scratch folder) as `landing` says, checking it against `expect` on the way.
    /// A finding about the file is a failed [`Restored`]; `Err` when the source or the
    /// scratch area fails, or `landing.cancel` fires ([`DrillError::Interrupted`]). Nothing
    /// writes into the scratch area once it has returned.
    fn restore(
        &self,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &Self::Locator,
        landing: &Landing<'_>,
    ) -> impl Future<Output = Result<Restored, DrillError>> + Send;

    /// What storage says the object a planned file is read from (`from`) is: its stored size
    /// and its e-tag, else its modification time — the identity the coverage ledger keys a
    /// verification to, so an object rewritten since is verified again. An object that is
    /// missing or not a regular object has an identity too (`missing`, `unreadable`): its
    /// coverage read fails and names why. `Err` only when the source cannot be read.
    fn identify(
        &self,
        point: &Candidate,
        from: &Self::Locator,
    ) -> impl Future<Output = Result<Identity, DrillError>> + Send;

    /// The identities ([`identify`](SourceFormat::identify)) of the objects `from` of
    /// `point`, in that order: what a coverage phase keys its ledger to. The default asks
    /// about each object ([`IDENTIFY_IN_FLIGHT`] at once); a format that can list a point's
    /// objects with their identities does so in one listing instead (`files`: the point's
    /// folder, one LIST where a HEAD per object was a request per object).
    fn identities<'a>(
        &'a self,
        point: &'a Candidate,
        from: &'a [&'a Self::Locator],
    ) -> impl Future<Output = Result<Vec<Identity>, DrillError>> + Send + 'a {
        use futures::StreamExt as _;
        // By index: a closure over borrowed items would make this future not `Send`
        // (rust-lang/rust#89976).
        async move {
            futures::stream::iter(0..from.len())
                .map(move |i| self.identify(point, from[i]))
                .buffered(IDENTIFY_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect()
        }
    }

    /// Stored bytes of the files `paths` of `point`, for the full-restore projection;
    /// `None` when they cannot be told (the projection then extrapolates from the sample).
    fn stored_bytes(
        &self,
        point: &Candidate,
        paths: &[String],
    ) -> impl Future<Output = Option<u64>> + Send;

    /// The whole of `point`'s size and its basis, when the format knows it without asking
    /// about each file (a restic snapshot: its summary, else its tree's file sizes): the
    /// projection then uses it whatever the number of entries, and rates the sample by the
    /// plaintext bytes it restored. `None` (the default) when the format does not know it:
    /// the projection asks [`stored_bytes`](SourceFormat::stored_bytes) then.
    fn point_bytes(
        &self,
        _point: &Candidate,
    ) -> impl Future<Output = Option<(u64, ProjectionBasis)>> + Send {
        std::future::ready(None)
    }

    /// The coverage phase's objects, when the format's stored objects are not its points'
    /// files (a restic repository: its packs, which snapshots share): each with the point
    /// the ledger keys it under, what reading it must verify and its storage identity. The
    /// phase reads each through [`restore`](SourceFormat::restore) with no landing, as it
    /// reads a file. `None` (the default): the objects are the files of each point of
    /// `window`, as [`read_point`](SourceFormat::read_point) lists them.
    fn coverage_objects(
        &self,
        _window: &[Candidate],
    ) -> impl Future<Output = Result<Option<Vec<CoverageItem<Self::Locator>>>, DrillError>> + Send
    {
        std::future::ready(Ok(None))
    }
}

/// Identity requests in flight at once when a format asks about each object
/// ([`SourceFormat::identities`]' default).
pub const IDENTIFY_IN_FLIGHT: usize = 16;

/// One object of the coverage phase a format lists itself
/// ([`SourceFormat::coverage_objects`]).
#[derive(Clone, Debug)]
pub struct CoverageItem<L> {
    /// The point the ledger and the evidence key it under.
    pub point: Candidate,
    /// What it must verify to, and where it is read from.
    pub planned: PlannedFile<L>,
    /// Its storage identity: a new identity is a new object.
    pub identity: Identity,
}

/// Where a candidate stands against a drill's window ([`window`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Taken at or before T0 and within `recovery_points.within`: a drill may try it.
    In,
    /// Taken after T0: it did not exist at the simulated incident.
    AfterT0,
    /// Older than `recovery_points.within` before T0.
    TooOld,
}

/// Where `candidate` stands against the window of a drill at `t0` with `within`: the one rule
/// [`in_window`] keeps points by, and `lifeboat plan` shows.
pub fn window(candidate: &Candidate, t0: Timestamp, within: Option<Duration>) -> Window {
    let oldest = within
        .and_then(|w| jiff::SignedDuration::try_from(w).ok())
        .and_then(|w| t0.checked_sub(w).ok());
    if candidate.time > t0 {
        Window::AfterT0
    } else if oldest.is_some_and(|o| candidate.time < o) {
        Window::TooOld
    } else {
        Window::In
    }
}

/// Newest first (ties: by id, descending): the order fallback tries points in, as a sort
/// comparison.
pub fn newest_first(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id))
}

/// The candidates a drill may try: those taken at or before `t0` and, with `within`, no
/// earlier than `within` before it ([`window`]); newest first ([`newest_first`]), so fallback
/// goes from the newest point to older ones. Those left out are counted in `census`. The same
/// rule for every format.
pub fn in_window<C: Census>(
    mut found: Vec<Candidate>,
    t0: Timestamp,
    within: Option<Duration>,
    census: &mut C,
) -> Vec<Candidate> {
    found.retain(|c| match window(c, t0, within) {
        Window::In => true,
        Window::AfterT0 => {
            census.after_t0();
            false
        }
        Window::TooOld => {
            census.too_old();
            false
        }
    });
    found.sort_by(newest_first);
    found
}

#[cfg(test)]
mod tests;
