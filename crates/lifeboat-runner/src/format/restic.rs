//! `source.format: restic`: a restic repository's snapshots as recovery points, read through
//! `lifeboat_storage::restic` (rustic_core over lifeboat's own storage).
//!
//! Discovery lists the snapshots `source.restic`'s `host`/`paths`/`tags` match, each a
//! [`Candidate`] with the snapshot's id and time. A point's entries are the snapshot's
//! regular files, as `restic ls` lists them, or, with `manifest`, the entries of the manifest
//! inside the snapshot (`ResticFormat::read_manifest`: read through the same
//! chunk-verified reader, capped and parsed as a `files` manifest is): the population the
//! sample is drawn from.
//!
//! A sampled file is verified independently of restic's own restore
//! ([`ResticFormat::restore`]): the snapshot and the trees on its path are read, each checked
//! against its id ([`Repo::locate`]), then every chunk is read from its pack, decrypted
//! (which authenticates it) and its plaintext's SHA-256 checked against its id
//! ([`Repo::read_file`], on a blocking thread), and the verified plaintext goes through the
//! same writing and hashing pipeline as any other format's objects
//! ([`restore::restore_object`]), into `{scratch}/PATH` (PATH as `restic ls` prints it) as
//! `scratch.sync` says. The file passes only when the chunks' lengths add up to the size its
//! tree lists and to the bytes that landed, and, with a manifest, the whole file's digest is
//! the manifest's (`verdict`). Without a manifest a snapshot lists no whole-file digest:
//! the evidence's `expected` of a passed file is the digest of its chunk-verified bytes,
//! `actual` that of the bytes as restored; with one, `expected` is the manifest's. That
//! digest is BLAKE3 without a manifest ([`WHOLE_FILE`]: nothing compares it to anything,
//! every chunk was already checked with SHA-256 against its id, and a second SHA-256 pass
//! over every byte was a fifth of a drill's CPU), the manifest's algorithm with one.

use futures::StreamExt;
use lifeboat_core::evidence::{ManifestRecord, Outcome, ProjectionBasis};
use lifeboat_core::runbook::{ManifestSpec, ResticPassword, ResticSpec, Runbook};
use lifeboat_core::vocabulary::Algorithm;
use lifeboat_storage::restic::{
    ChunkProblem, DamagedSnapshot, FileRead, IndexedPack, Located, Repo, ResticError,
    SnapshotEntry, SnapshotFilter, SnapshotSize,
};
use lifeboat_storage::{Object, Source};
use sha2::Digest as _;

use super::{Candidate, Census, CoverageItem, Entry, PointRead, SourceFormat};
use crate::DrillError;
use crate::plan::{Expected, PlannedFile, Target};
use crate::restore::{self, Landing, Opened, Restored};
use crate::stop::until_cancelled;

/// What stands for the manifest of a point read from the snapshot's own tree.
pub const SNAPSHOT_TREE: &str = "(the snapshot's tree)";

/// The algorithm of a restic file's whole-file digest when no manifest names one: BLAKE3,
/// several times faster than SHA-256 on one core. The file is verified by its chunks (each
/// SHA-256 against its id); this digest only records what was restored, so the cheapest
/// strong hash serves (SHA-256 is kept when a `sha256sum` manifest asks for it).
pub const WHOLE_FILE: Algorithm = Algorithm::Blake3;

/// The recovery point the coverage ledger and the evidence key a pack under: a pack belongs
/// to the repository, whichever snapshots share it, so it is one object, verified once.
pub const REPOSITORY_POINT: &str = "repository";

/// Verified chunks (up to restic's 8 MiB each) waiting between the repository reader and
/// the writing and hashing pipeline: memory per file stays a few chunks, whatever its size.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Pack bytes the coverage phase holds at once, in MiB, whatever the number of packs read
/// in parallel: a pack is read whole, and a hostile repository may make each as large as
/// [`lifeboat_storage::restic::MAX_PACK`].
const PACK_MEMORY_MIB: u32 = 256;

/// Largest password file read: a password, not a document.
const MAX_PASSWORD_FILE: u64 = 64 << 10;

/// A restic repository as a drill's source.
pub struct ResticFormat {
    source: Source,
    spec: ResticSpec,
    /// The repository as opened at discovery, its index read then.
    repo: tokio::sync::OnceCell<Repo>,
    /// The repository opened again, its index read afresh, after something the index read
    /// before named was not in storage ([`ResticFormat::refresh`]); used from then on.
    fresh: tokio::sync::Mutex<Option<Repo>>,
    /// Objects a fresh index still names and storage lacks: damage, known. A file that finds
    /// one of them missing fails at once, without reading the index again.
    damaged: std::sync::Mutex<std::collections::HashSet<Gone>>,
    /// The sizes of each snapshot's regular files added up, as `read_point` listed them
    /// (without a manifest): the projection's total, so it does not walk the tree again.
    listed_bytes: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// The packs the coverage phase listed, by path (`data/XX/ID`), with the size storage
    /// listed for each (`None`: storage lacks it): what verifying one reads and checks.
    packs: std::sync::Mutex<std::collections::HashMap<String, (IndexedPack, Option<u64>)>>,
    /// [`PACK_MEMORY_MIB`] permits, one per MiB of pack held by a coverage read.
    pack_memory: tokio::sync::Semaphore,
}

impl ResticFormat {
    /// The runbook's source, as a restic repository. Does no I/O: the repository is opened
    /// (password read, keys tried, index read) on first use.
    pub fn open(runbook: &Runbook, spec: &ResticSpec) -> Result<Self, DrillError> {
        Ok(ResticFormat {
            source: Source::open(&runbook.source)?,
            spec: spec.clone(),
            repo: tokio::sync::OnceCell::new(),
            fresh: tokio::sync::Mutex::new(None),
            damaged: std::sync::Mutex::default(),
            listed_bytes: std::sync::Mutex::default(),
            packs: std::sync::Mutex::default(),
            pack_memory: tokio::sync::Semaphore::new(PACK_MEMORY_MIB as usize),
        })
    }

    /// The repository, opened on first use; after a [`refresh`](Self::refresh), the fresh
    /// opening.
    async fn repo(&self) -> Result<Repo, DrillError> {
        if let Some(fresh) = self.fresh.lock().await.as_ref() {
            return Ok(fresh.clone());
        }
        self.repo
            .get_or_try_init(|| async {
                let password = password(&self.spec.password, self.source.url()).await?;
                Ok(Repo::open(&self.source, &password).await?)
            })
            .await
            .cloned()
    }

    /// The repository with an index read after `stale`'s: opened again (no cache: never a
    /// copy of the index read before), unless another file already did so since it found
    /// something missing with `stale`.
    async fn refresh(&self, stale: &Repo) -> Result<Repo, DrillError> {
        let mut fresh = self.fresh.lock().await;
        if let Some(repo) = fresh.as_ref()
            && !repo.same(stale)
        {
            return Ok(repo.clone());
        }
        let password = password(&self.spec.password, self.source.url()).await?;
        let repo = Repo::open(&self.source, &password).await?;
        *fresh = Some(repo.clone());
        Ok(repo)
    }

    fn known_damage(&self, gone: &Gone) -> bool {
        self.damaged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(gone)
    }

    fn note_damage(&self, gone: Gone) {
        self.damaged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(gone);
    }
}

/// Something the index named that storage did not hold, met while restoring one file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Gone {
    /// The pack the index put one of the file's chunks in.
    Pack { chunk: String, pack: String },
    /// An object met on the way to the file's chunks: the snapshot file (`snapshots/ID`),
    /// or the pack of a tree (`data/XX/ID`).
    Object(String),
}

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gone::Pack { chunk, pack } => write!(f, "pack {pack} (holding chunk {chunk})"),
            Gone::Object(object) => f.write_str(object),
        }
    }
}

impl ResticFormat {
    /// `point` as the manifest inside its snapshot lists it (`manifest.path`, as `restic
    /// ls` prints it). The manifest is read as a sampled file is, through the chunk-verified
    /// reader (the snapshot and the trees on its path checked against their ids, each chunk
    /// decrypted and its SHA-256 checked against its id, the chunks adding up to its size),
    /// at most [`MAX_MANIFEST_BYTES`](super::files::MAX_MANIFEST_BYTES), then parsed as a
    /// `files` manifest is (the same refusals). A manifest the snapshot lacks, that is not a
    /// regular file, that is too large or cannot be read or parsed fails the point (a
    /// finding about the backup: the drill falls back); `Err` only when storage cannot be
    /// reached.
    async fn read_manifest(
        &self,
        point: &Candidate,
        spec: &ManifestSpec,
    ) -> Result<PointRead<ResticEntry>, DrillError> {
        let limit = super::files::MAX_MANIFEST_BYTES;
        let mut manifest = ManifestRecord {
            path: spec.path.clone(),
            algorithm: spec.format.algorithm(),
            entries: None,
            sha256: None,
        };
        let path = &spec.path;
        let failed =
            |manifest: ManifestRecord, reason: String| Ok(PointRead::Failed { manifest, reason });
        let repo = self.repo().await?;
        let chunks = match repo.locate(&point.id, path).await {
            Ok(Located::File(chunks)) => chunks,
            Ok(Located::NotAFile) => {
                return failed(
                    manifest,
                    format!("manifest {path} is not a regular file in the snapshot's tree"),
                );
            }
            Ok(Located::Missing) => {
                return failed(manifest, format!("manifest {path} is not in the snapshot"));
            }
            Ok(Located::Damaged(damage)) => {
                return failed(
                    manifest,
                    format!("manifest {path}: snapshot or tree damaged: {damage}"),
                );
            }
            Err(e) => return failed(manifest, format!("manifest {path}: {}", finding(e)?)),
        };
        if chunks.size > limit {
            return failed(
                manifest,
                format!(
                    "manifest {path} is {} bytes, over the {limit} a manifest may be",
                    chunks.size
                ),
            );
        }
        // Collected up to the limit whatever the tree claims: past it the reader is dropped,
        // which stops it.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
        let collect = async move {
            let mut bytes = Vec::new();
            while let Some(chunk) = rx.recv().await {
                if (bytes.len() + chunk.len()) as u64 > limit {
                    return None;
                }
                bytes.extend_from_slice(&chunk);
            }
            Some(bytes)
        };
        let (read, bytes) = tokio::join!(repo.read_file(&chunks, tx), collect);
        let read = match read {
            Ok(read) => read,
            Err(e) => return failed(manifest, format!("manifest {path}: {}", finding(e)?)),
        };
        if let Some(failure) = read.failure {
            return failed(manifest, format!("manifest {path}: {failure}"));
        }
        let Some(bytes) = bytes else {
            return failed(
                manifest,
                format!("manifest {path} holds over the {limit} bytes a manifest may be"),
            );
        };
        if read.verified != chunks.size || bytes.len() as u64 != chunks.size {
            return failed(
                manifest,
                format!(
                    "manifest {path}: size mismatch: the snapshot's tree lists {} bytes, its \
                     chunks hold {}",
                    chunks.size, read.verified
                ),
            );
        }
        manifest.sha256 = Some(hex::encode(sha2::Sha256::digest(&bytes)));
        let entries = match lifeboat_core::manifest::parse(&bytes, manifest.algorithm) {
            Ok(entries) => entries,
            Err(e) => return failed(manifest, format!("manifest {path}: {e}")),
        };
        manifest.entries = Some(entries.len() as u64);
        if entries.is_empty() {
            return failed(
                manifest,
                format!("manifest {path} lists no files: verifying nothing is never a pass"),
            );
        }
        let entries = entries
            .into_iter()
            .map(|entry| ResticEntry::Manifest(Box::new(entry)))
            .collect();
        Ok(PointRead::Listed { manifest, entries })
    }

    /// Every regular file of `point`'s snapshot, read from its trees ([`Repo::files`]).
    /// `Ok(Err(reason))`: the snapshot or a tree cannot be read or decoded (a flipped byte
    /// in a tree's pack, a tree's pack gone), a finding against this snapshot alone, so the
    /// drill falls back to an older one. A tree's pack the index names and storage lacks is
    /// asked of a fresh index first, as a restored file's is: a `restic prune` during the
    /// drill may have repacked it; a snapshot file gone by then was forgotten under the
    /// drill ([`DrillError::RepositoryChanged`]). `Err`: storage cannot be reached.
    async fn list_files(
        &self,
        point: &Candidate,
    ) -> Result<Result<Vec<SnapshotEntry>, String>, DrillError> {
        let repo = self.repo().await?;
        match repo.files(&point.id).await {
            Ok(entries) => return Ok(Ok(entries)),
            Err(ResticError::Missing { .. }) => {}
            Err(e) => return Ok(Err(format!("snapshot or tree damaged: {}", finding(e)?))),
        }
        let fresh = self.refresh(&repo).await?;
        match fresh.files(&point.id).await {
            Ok(entries) => Ok(Ok(entries)),
            Err(ResticError::Missing { object, .. }) if object.starts_with("snapshots/") => {
                Err(DrillError::RepositoryChanged {
                    snapshot: point.id.clone(),
                    missing: object,
                })
            }
            Err(e) => Ok(Err(format!("snapshot or tree damaged: {}", finding(e)?))),
        }
    }
}

/// The password, from the runbook or the first line of its file (as restic reads
/// `--password-file`).
async fn password(from: &ResticPassword, url: &str) -> Result<String, DrillError> {
    match from {
        ResticPassword::Value(v) => Ok(v.clone()),
        ResticPassword::File(path) => {
            let unreadable = |detail: String| {
                DrillError::Restic(lifeboat_storage::restic::ResticError::Repository {
                    url: url.to_owned(),
                    detail: format!(
                        "cannot read source.restic.password_file {}: {detail}",
                        path.display()
                    ),
                })
            };
            // Through safefs, as runbook files and signing keys are read: a regular file
            // reached without a link, never a FIFO that would hang, capped before it is read.
            let path = path.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                let file = lifeboat_safefs::open_regular(&path).map_err(|e| e.to_string())?;
                lifeboat_safefs::read_capped(&file, MAX_PASSWORD_FILE).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| unreadable(e.to_string()))?
            .map_err(unreadable)?;
            let text = String::from_utf8(bytes).map_err(|_| unreadable("not UTF-8".into()))?;
            Ok(text.lines().next().unwrap_or_default().to_owned())
        }
    }
}

/// One file a snapshot lists: a regular file of its tree, or, with `manifest`, an entry of
/// the manifest inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResticEntry {
    /// A regular file of the snapshot's tree, by its path as `restic ls` prints it.
    Tree(SnapshotEntry),
    /// An entry of the manifest inside the snapshot, by its path as the manifest names it
    /// (relative to the manifest's folder), with the digest it must have. Boxed so that a
    /// snapshot's own listing, which may hold millions of files, pays 40 bytes an entry
    /// (`SnapshotEntry`'s size) rather than this variant's 56.
    Manifest(Box<lifeboat_core::manifest::Entry>),
}

impl Entry for ResticEntry {
    fn path(&self) -> &str {
        match self {
            ResticEntry::Tree(e) => &e.path,
            ResticEntry::Manifest(e) => &e.path,
        }
    }
}

/// The path in the snapshot of `entry`, listed by the manifest at `manifest` (absolute, as
/// `restic ls` prints it): the entry below the manifest's folder. `Err`: the entry could
/// leave that folder (absolute, `..`, a name too long), as a `files` manifest's entry would
/// leave its point ([`lifeboat_core::manifest::safe_components`]'s reason).
fn in_snapshot(manifest: &str, entry: &str) -> Result<String, String> {
    let parts = lifeboat_core::manifest::safe_components(entry)?;
    let folder = manifest.rsplit_once('/').map_or("", |(folder, _)| folder);
    Ok(format!("{folder}/{}", parts.join("/")))
}

/// Damaged snapshots named one by one in the census's sentence; more are only counted.
const DAMAGED_NAMED: usize = 10;

/// What discovery saw in the repository.
#[derive(Debug, Default)]
pub struct ResticCensus {
    snapshots: usize,
    unmatched: usize,
    not_a_point: usize,
    after_t0: usize,
    too_old: usize,
    /// Snapshots whose file cannot be read, with why: their time is unknown, so they cannot
    /// be ordered among the points; they are accounted for here, in what `lifeboat plan`
    /// shows and the evidence's `source.listing` records.
    damaged: Vec<DamagedSnapshot>,
}

impl Census for ResticCensus {
    fn not_a_point(&mut self) {
        self.not_a_point += 1;
    }
    fn after_t0(&mut self) {
        self.after_t0 += 1;
    }
    fn too_old(&mut self) {
        self.too_old += 1;
    }
    fn describe(&self) -> String {
        let mut seen = Vec::new();
        if !self.damaged.is_empty() {
            let mut named: Vec<String> = self
                .damaged
                .iter()
                .take(DAMAGED_NAMED)
                .map(|d| format!("snapshot {} cannot be read: {}", d.id, d.reason))
                .collect();
            if self.damaged.len() > DAMAGED_NAMED {
                named.push(format!("{} more", self.damaged.len() - DAMAGED_NAMED));
            }
            seen.push(format!(
                "{} damaged ({})",
                self.damaged.len(),
                named.join("; ")
            ));
        }
        if self.unmatched > 0 {
            seen.push(format!("{} not matching source.restic", self.unmatched));
        }
        if self.not_a_point > 0 {
            seen.push(format!("{} without regular files", self.not_a_point));
        }
        if self.after_t0 > 0 {
            seen.push(format!("{} after T0", self.after_t0));
        }
        if self.too_old > 0 {
            seen.push(format!("{} older than the window", self.too_old));
        }
        let n = self.snapshots;
        let noun = if n == 1 { "snapshot" } else { "snapshots" };
        if seen.is_empty() {
            format!("{n} {noun} in the repository")
        } else {
            format!("{n} {noun} in the repository: {}", seen.join(", "))
        }
    }
}

impl SourceFormat for ResticFormat {
    type Entry = ResticEntry;
    /// The file's path in the snapshot (`/srv/app/a.txt`).
    type Locator = String;
    type Census = ResticCensus;

    /// A snapshot file that cannot be read is a finding against that snapshot alone: counted
    /// in the census with its id and why, while the others are listed and drilled.
    async fn discover(&self) -> Result<(Vec<Candidate>, ResticCensus), DrillError> {
        let repo = self.repo().await?;
        let listing = repo.list_snapshots(&SnapshotFilter::default()).await?;
        let filter = SnapshotFilter {
            host: self.spec.host.clone(),
            paths: self.spec.paths.clone(),
            tags: self.spec.tags.clone(),
        };
        for damaged in &listing.damaged {
            tracing::warn!(
                snapshot = %damaged.id,
                reason = %damaged.reason,
                "a snapshot of the restic repository cannot be read"
            );
        }
        let mut census = ResticCensus {
            snapshots: listing.snapshots.len() + listing.damaged.len(),
            damaged: listing.damaged,
            ..ResticCensus::default()
        };
        let mut found = Vec::new();
        for snapshot in listing.snapshots {
            if filter.matches(&snapshot) {
                found.push(Candidate {
                    id: snapshot.id,
                    time: snapshot.time,
                });
            } else {
                census.unmatched += 1;
            }
        }
        Ok((found, census))
    }

    async fn read_point(&self, point: &Candidate) -> Result<PointRead<ResticEntry>, DrillError> {
        if let Some(spec) = &self.spec.manifest {
            return self.read_manifest(point, spec).await;
        }
        let manifest = ManifestRecord {
            path: SNAPSHOT_TREE.to_owned(),
            algorithm: WHOLE_FILE,
            entries: None,
            sha256: None,
        };
        let entries = match self.list_files(point).await? {
            Ok(entries) => entries,
            Err(reason) => return Ok(PointRead::Failed { manifest, reason }),
        };
        self.listed_bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(point.id.clone(), entries.iter().map(|e| e.size).sum());
        let manifest = ManifestRecord {
            entries: Some(entries.len() as u64),
            ..manifest
        };
        if entries.is_empty() {
            return Ok(PointRead::Failed {
                manifest,
                reason: "the snapshot holds no regular file: verifying nothing is never a pass"
                    .to_owned(),
            });
        }
        let entries = entries.into_iter().map(ResticEntry::Tree).collect();
        Ok(PointRead::Listed { manifest, entries })
    }

    fn plan_file(
        &self,
        _point: &Candidate,
        manifest: &ManifestRecord,
        entry: &ResticEntry,
    ) -> PlannedFile<String> {
        match entry {
            ResticEntry::Tree(entry) => PlannedFile {
                // No whole-file digest exists in a snapshot: its chunks' ids are what the
                // file is verified against ([`ResticFormat::restore`], [`verdict`]); the
                // whole file's digest, BLAKE3, only records what was restored.
                expect: Expected {
                    path: entry.path.clone(),
                    algorithm: WHOLE_FILE,
                    digest: String::new(),
                    // The size the snapshot's tree lists: the chunks must add up to it.
                    size: Some(entry.size),
                },
                target: if entry.escaped {
                    // Its path is a readable stand-in, not its name: restoring or verifying
                    // by it could only ever reach another file, or none.
                    Target::Unsafe {
                        reason: format!(
                            "name not valid UTF-8: {} (bytes that are not UTF-8 written \\xHH): \
                             lifeboat names and restores files by UTF-8 paths, so it can neither \
                             restore this one under its exact name nor verify it",
                            entry.path
                        ),
                    }
                } else {
                    Target::below_point(entry.path.trim_start_matches('/'), |_| entry.path.clone())
                },
            },
            // Checked both ways: every chunk against its id and the sizes adding up, as
            // without a manifest, and the whole file against the manifest's digest. It lands
            // where `restic restore` would put it, `{scratch}/PATH` with PATH as `restic ls`
            // prints it, whatever the manifest's folder.
            ResticEntry::Manifest(entry) => PlannedFile {
                expect: Expected {
                    path: entry.path.clone(),
                    algorithm: manifest.algorithm,
                    digest: entry.digest.clone(),
                    size: None,
                },
                target: match in_snapshot(&manifest.path, &entry.path) {
                    Ok(path) => Target::Restore {
                        lands: path.trim_start_matches('/').to_owned(),
                        from: path,
                    },
                    Err(reason) => Target::Unsafe { reason },
                },
            },
        }
    }

    /// Restores the file from the repository as discovery read it and, when something its
    /// index named is missing from storage, tells a prune that ran during the drill from
    /// damage by an index read afresh: one the fresh index still names is damage (the file
    /// fails as the first try said); otherwise the file is tried once more from the fresh
    /// index (a repacked chunk is found in its new pack), and if that still meets something
    /// missing the drill cannot go on ([`DrillError::RepositoryChanged`], exit 3): its
    /// snapshot, or the data it needs, went away under it.
    async fn restore(
        &self,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &String,
        landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        if point.id == REPOSITORY_POINT {
            return self.verify_pack(expect, from, landing).await;
        }
        let repo = self.repo().await?;
        let (first, gone) = self
            .restore_from(&repo, point, expect, lands, from, landing)
            .await?;
        let Some(gone) = gone else {
            return Ok(first);
        };
        if self.known_damage(&gone) {
            return Ok(first);
        }
        let fresh = until_cancelled(landing.cancel, self.refresh(&repo)).await??;
        if let Gone::Pack { chunk, pack } = &gone
            && fresh.pack_of(chunk).as_deref() == Some(pack.as_str())
        {
            self.note_damage(gone);
            return Ok(first);
        }
        unland(lands, landing)?;
        let (second, again) = self
            .restore_from(&fresh, point, expect, lands, from, landing)
            .await?;
        match again {
            None => Ok(second),
            // The fresh index sends the file to the same tree pack: damage.
            Some(again @ Gone::Object(_)) if again == gone && !is_snapshot(&again) => {
                self.note_damage(again);
                Ok(second)
            }
            Some(again) => Err(DrillError::RepositoryChanged {
                snapshot: point.id.clone(),
                missing: again.to_string(),
            }),
        }
    }

    /// Never asked: a restic repository lists its own coverage objects, its packs, each
    /// with its identity ([`coverage_objects`](SourceFormat::coverage_objects)).
    async fn identify(
        &self,
        _point: &Candidate,
        _from: &String,
    ) -> Result<lifeboat_core::coverage::Identity, DrillError> {
        Err(DrillError::CoverageUnsupported { format: "restic" })
    }

    /// The repository's packs, every pack its index lists (data and tree packs), each one
    /// object keyed under [`REPOSITORY_POINT`] by its path `data/XX/ID` whichever snapshots
    /// share it, so coverage carries across snapshots and a pack is read once per turn.
    /// Identity: the size one listing of `data/` gives and the pack's id (its name is the
    /// SHA-256 of its bytes: other bytes are another pack); a pack the index lists and
    /// storage lacks is `missing`, and its read fails with `pack missing`. Every pack, not
    /// only those the retained snapshots' trees reach: walking every tree of every retained
    /// snapshot each drill would read the trees whole each time; a pack only snapshots
    /// outside the window use is one `restic prune` has not removed yet, still stored and
    /// still worth knowing sound.
    async fn coverage_objects(
        &self,
        window: &[Candidate],
    ) -> Result<Option<Vec<CoverageItem<String>>>, DrillError> {
        let repo = self.repo().await?;
        let indexed = repo.indexed_packs().await?;
        let stored = repo.stored_packs().await?;
        let time = window
            .iter()
            .map(|c| c.time)
            .max()
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let point = Candidate {
            id: REPOSITORY_POINT.to_owned(),
            time,
        };
        let mut items = Vec::with_capacity(indexed.len());
        let mut packs = std::collections::HashMap::with_capacity(indexed.len());
        for pack in indexed {
            let path = pack.path();
            let size = stored.get(&pack.id).copied();
            items.push(CoverageItem {
                point: point.clone(),
                planned: PlannedFile {
                    expect: Expected {
                        path: path.clone(),
                        algorithm: Algorithm::Sha256,
                        digest: pack.id.clone(),
                        size,
                    },
                    target: Target::Restore {
                        lands: path.clone(),
                        from: path.clone(),
                    },
                },
                identity: match size {
                    Some(size) => lifeboat_core::coverage::Identity {
                        size,
                        tag: format!("sha256:{}", pack.id),
                    },
                    None => lifeboat_core::coverage::Identity {
                        size: 0,
                        tag: "missing".to_owned(),
                    },
                },
            });
            packs.insert(path, (pack, size));
        }
        *self
            .packs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = packs;
        Ok(Some(items))
    }

    /// Never asked: [`point_bytes`](SourceFormat::point_bytes) sizes a snapshot whole.
    async fn stored_bytes(&self, _point: &Candidate, _paths: &[String]) -> Option<u64> {
        None
    }

    /// The snapshot's plaintext size: its summary's `total_bytes_processed` (restic ≥ 0.17),
    /// else the file sizes its tree lists, added up (as `read_point` listed them, when it
    /// did). `None` when it cannot be read: the projection is a courtesy and never changes
    /// the verdict.
    async fn point_bytes(&self, point: &Candidate) -> Option<(u64, ProjectionBasis)> {
        let repo = self.repo().await.ok()?;
        let listed = self
            .listed_bytes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&point.id)
            .copied();
        match repo.snapshot_size(&point.id, listed).await.ok()? {
            SnapshotSize::Summary(total) => Some((total, ProjectionBasis::Snapshot)),
            SnapshotSize::Tree(total) => Some((total, ProjectionBasis::Tree)),
        }
    }
}

impl ResticFormat {
    /// The coverage read of the pack at `from` (`data/XX/ID`), as
    /// [`coverage_objects`](SourceFormat::coverage_objects) listed it: read whole and checked
    /// ([`Repo::verify_pack`]), nothing written. Its `actual` is the SHA-256 of the bytes
    /// read, its bytes the pack's.
    async fn verify_pack(
        &self,
        expect: &Expected,
        from: &str,
        landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        let listed = self
            .packs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(from)
            .cloned();
        let Some((pack, size)) = listed else {
            return Ok(Restored::failed(
                expect,
                Some(from.to_owned()),
                format!("pack missing: {from} is not among the packs the index lists"),
            ));
        };
        let repo = self.repo().await?;
        let mib = size
            .map_or(1, |s| s.div_ceil(1 << 20))
            .clamp(1, u64::from(PACK_MEMORY_MIB));
        let held = until_cancelled(landing.cancel, self.pack_memory.acquire_many(mib as u32))
            .await?
            .map_err(|_| DrillError::Interrupted)?;
        let check = match until_cancelled(landing.cancel, repo.verify_pack(&pack, size)).await? {
            Ok(check) => check,
            Err(e) => {
                let reason = finding(e)?;
                return Ok(Restored::failed(
                    expect,
                    Some(from.to_owned()),
                    format!("pack unreadable: pack {}: {reason}", pack.id),
                ));
            }
        };
        drop(held);
        landing.progress.bytes(check.bytes);
        let mut result = expect.failed(Some(from.to_owned()), String::new());
        result.actual = check.sha256;
        result.bytes = check.bytes;
        result.object_bytes = size;
        match check.failure {
            None => {
                result.outcome = Outcome::Passed;
                result.reason = None;
            }
            Some(failure) => result.reason = Some(failure),
        }
        Ok(Restored {
            result,
            synced: false,
        })
    }
}

/// Whether `gone` is a snapshot file: once it is missing, the snapshot was forgotten.
fn is_snapshot(gone: &Gone) -> bool {
    matches!(gone, Gone::Object(object) if object.starts_with("snapshots/"))
}

/// Removes what a first try of a file left at `lands` below the point's folder, so the retry
/// can create it afresh (restores never write through anything already there). The run
/// folder is private and fresh: what is there is the first try's own file, or nothing.
fn unland(lands: &str, landing: &Landing<'_>) -> Result<(), DrillError> {
    let Some(dest) = landing.dest else {
        return Ok(());
    };
    let full = lands
        .split('/')
        .fold(dest.root.to_path_buf(), |p, c| p.join(c));
    match std::fs::remove_file(&full) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(crate::error::ScratchError::Create { path: full, source }.into()),
    }
}

impl ResticFormat {
    /// One try at restoring the file from `repo`: the file's result, and what the index
    /// named that storage lacked, if that is why it failed.
    async fn restore_from(
        &self,
        repo: &Repo,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &str,
        landing: &Landing<'_>,
    ) -> Result<(Restored, Option<Gone>), DrillError> {
        // The snapshot and the trees on the file's path, read through rustic_core: a tree
        // that cannot be read or decoded fails this file, a store that cannot be reached
        // ends the drill.
        // Each checked against its id (`Repo::locate`); what storage lacks is told apart,
        // so [`ResticFormat::restore`] can ask a fresh index whether a prune removed it.
        let failed = |reason: String, gone: Option<Gone>| {
            Ok((
                Restored::failed(expect, Some(from.to_owned()), reason),
                gone,
            ))
        };
        let chunks = match until_cancelled(landing.cancel, repo.locate(&point.id, from)).await? {
            Ok(Located::File(chunks)) => chunks,
            Ok(Located::NotAFile) => {
                return failed("not a regular file in the snapshot's tree".to_owned(), None);
            }
            Ok(Located::Missing) => {
                return failed(
                    format!("missing from the snapshot: {from} is not in its tree"),
                    None,
                );
            }
            Ok(Located::Damaged(damage)) => {
                let gone = damage.missing_object().map(Gone::Object);
                return failed(format!("snapshot or tree damaged: {damage}"), gone);
            }
            Err(e) => {
                return failed(format!("snapshot or tree damaged: {}", finding(e)?), None);
            }
        };
        // Chunks are read, decrypted and checked on a blocking thread and handed, verified,
        // through a bounded channel to the same writing and hashing pipeline as every other
        // format's objects.
        let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
        let stored: u64 = chunks.chunks.iter().map(|c| u64::from(c.length)).sum();
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|bytes| (Ok(bytes), rx))
        });
        let opened = Opened {
            object: Object::Stream {
                stream: stream.boxed(),
                size: stored,
            },
            name: from.to_owned(),
            compressed: false,
        };
        // The pipeline checks no digest here (a snapshot lists none for a whole file) nor
        // the size: [`verdict`] does, from what the chunks said.
        let unchecked = Expected {
            size: None,
            ..expect.clone()
        };
        let (read, restored) = tokio::join!(
            repo.read_file(&chunks, tx),
            restore::restore_object(opened, &unchecked, lands, landing)
        );
        let restored = restored?;
        let read = match read {
            Ok(read) => Ok(read),
            Err(e) => Err(finding(e)?),
        };
        // Only a file that landed is tried again (a name the scratch area refused is no
        // matter of the repository).
        let gone = match &read {
            Ok(FileRead {
                failure: Some(failure),
                ..
            }) if restored.result.actual.is_some()
                && failure.problem == ChunkProblem::PackMissing =>
            {
                failure.pack.clone().map(|pack| Gone::Pack {
                    chunk: failure.chunk.clone(),
                    pack,
                })
            }
            _ => None,
        };
        Ok((verdict(expect, chunks.size, read, restored), gone))
    }
}

/// What a repository error met while verifying one file means for it: `Ok(reason)`, a
/// finding about the repository's data (a tree or snapshot that cannot be read or decoded,
/// a pack that is a link); `Err`, the store cannot be reached and the drill cannot go on.
fn finding(e: ResticError) -> Result<String, DrillError> {
    match e {
        ResticError::Storage(s) if !s.is_finding() => Err(ResticError::Storage(s).into()),
        ResticError::Storage(s) => Ok(s.to_string()),
        ResticError::Repository { detail, .. } => Ok(detail),
        ResticError::Missing { object, .. } => Ok(format!("{object} is not in the repository")),
        // Not met once the repository is open; should it be, it ends the drill.
        e @ ResticError::WrongPassword { .. } => Err(e.into()),
    }
}

/// The file's result from what its chunks said (`read`: how many plaintext bytes were
/// verified and the first chunk that failed, or why the repository could not be read) and
/// what the pipeline restored and hashed (`restored`). It passes only when every chunk was
/// verified against its id, they add up to `tree_size` (the size the snapshot's tree lists)
/// and to the bytes that landed, and, with a manifest (`expect.digest` not empty), the
/// restored bytes hash to the manifest's digest. Its `expected` is then the manifest's
/// digest, or, without a manifest, the digest of those chunk-verified bytes (a snapshot
/// lists no whole-file digest: the chunks' ids are what the file is checked against). A
/// file whose chunks all verified but whose bytes are not what the manifest lists (the
/// backup captured it after it changed) keeps its `actual`; on a chunk failure `actual` is
/// left out, as no complete file was verified.
fn verdict(
    expect: &Expected,
    tree_size: u64,
    read: Result<FileRead, String>,
    mut restored: Restored,
) -> Restored {
    let result = &mut restored.result;
    // Failed in the pipeline (a name the scratch area cannot hold): that is the finding.
    let Some(actual) = result.actual.clone() else {
        return restored;
    };
    let reason = match read {
        Err(detail) => Some(format!("snapshot or tree damaged: {detail}")),
        Ok(FileRead {
            failure: Some(failure),
            ..
        }) => Some(failure.to_string()),
        Ok(FileRead { verified, .. }) if verified != tree_size || verified != result.bytes => {
            Some(format!(
                "size mismatch: the snapshot's tree lists {tree_size} bytes, its chunks hold \
                 {verified}, {} were restored",
                result.bytes
            ))
        }
        Ok(_) if !expect.digest.is_empty() && !actual.eq_ignore_ascii_case(&expect.digest) => {
            result.outcome = Outcome::Failed;
            result.expected = expect.digest.clone();
            result.reason = Some(format!(
                "hash mismatch: every chunk verified against its id, but the file's {} is \
                 not the one the manifest lists (the backup holds other bytes than the \
                 manifest's)",
                expect.algorithm
            ));
            return restored;
        }
        Ok(_) => None,
    };
    match reason {
        None => {
            result.outcome = Outcome::Passed;
            result.expected = if expect.digest.is_empty() {
                actual
            } else {
                expect.digest.clone()
            };
            result.reason = None;
        }
        Some(reason) => {
            result.outcome = Outcome::Failed;
            result.expected = expect.digest.clone();
            result.actual = None;
            result.reason = Some(reason);
        }
    }
    restored
}

#[cfg(test)]
mod tests;
