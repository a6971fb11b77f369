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
//! the evidence's `expected` of a passed file is the digest (SHA-256) of its chunk-verified
//! bytes, `actual` that of the bytes as restored; with one, `expected` is the manifest's.

use futures::StreamExt;
use lifeboat_core::evidence::{ManifestRecord, Outcome};
use lifeboat_core::runbook::{ManifestSpec, ResticPassword, ResticSpec, Runbook};
use lifeboat_core::vocabulary::Algorithm;
use lifeboat_storage::restic::{
    FileRead, Located, Repo, ResticError, SnapshotEntry, SnapshotFilter,
};
use lifeboat_storage::{Object, Source};
use sha2::Digest as _;

use super::{Candidate, Census, Entry, PointRead, SourceFormat};
use crate::DrillError;
use crate::plan::{Expected, PlannedFile, Target};
use crate::restore::{self, Landing, Opened, Restored};
use crate::stop::until_cancelled;

/// What stands for the manifest of a point read from the snapshot's own tree.
pub const SNAPSHOT_TREE: &str = "(the snapshot's tree)";

/// Verified chunks (up to restic's 8 MiB each) waiting between the repository reader and
/// the writing and hashing pipeline: memory per file stays a few chunks, whatever its size.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Largest password file read: a password, not a document.
const MAX_PASSWORD_FILE: u64 = 64 << 10;

/// A restic repository as a drill's source.
pub struct ResticFormat {
    source: Source,
    spec: ResticSpec,
    repo: tokio::sync::OnceCell<Repo>,
}

impl ResticFormat {
    /// The runbook's source, as a restic repository. Does no I/O: the repository is opened
    /// (password read, keys tried, index read) on first use.
    pub fn open(runbook: &Runbook, spec: &ResticSpec) -> Result<Self, DrillError> {
        Ok(ResticFormat {
            source: Source::open(&runbook.source)?,
            spec: spec.clone(),
            repo: tokio::sync::OnceCell::new(),
        })
    }

    async fn repo(&self) -> Result<&Repo, DrillError> {
        self.repo
            .get_or_try_init(|| async {
                let password = password(&self.spec.password, self.source.url()).await?;
                Ok(Repo::open(&self.source, &password).await?)
            })
            .await
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
        let entries = entries.into_iter().map(ResticEntry::Manifest).collect();
        Ok(PointRead::Listed { manifest, entries })
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
    /// (relative to the manifest's folder), with the digest it must have.
    Manifest(lifeboat_core::manifest::Entry),
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

/// What discovery saw in the repository.
#[derive(Debug, Default)]
pub struct ResticCensus {
    snapshots: usize,
    unmatched: usize,
    not_a_point: usize,
    after_t0: usize,
    too_old: usize,
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

    async fn discover(&self) -> Result<(Vec<Candidate>, ResticCensus), DrillError> {
        let repo = self.repo().await?;
        let all = repo.snapshots(&SnapshotFilter::default()).await?;
        let filter = SnapshotFilter {
            host: self.spec.host.clone(),
            paths: self.spec.paths.clone(),
            tags: self.spec.tags.clone(),
        };
        let mut census = ResticCensus {
            snapshots: all.len(),
            ..ResticCensus::default()
        };
        let mut found = Vec::new();
        for snapshot in all {
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
        let entries = self.repo().await?.files(&point.id).await?;
        let manifest = ManifestRecord {
            path: SNAPSHOT_TREE.to_owned(),
            algorithm: Algorithm::Sha256,
            entries: Some(entries.len() as u64),
            sha256: None,
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
                // file is verified against ([`ResticFormat::restore`], [`verdict`]).
                expect: Expected {
                    path: entry.path.clone(),
                    algorithm: Algorithm::Sha256,
                    digest: String::new(),
                    // The size the snapshot's tree lists: the chunks must add up to it.
                    size: Some(entry.size),
                },
                target: Target::below_point(entry.path.trim_start_matches('/'), |_| {
                    entry.path.clone()
                }),
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

    async fn restore(
        &self,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &String,
        landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        let repo = self.repo().await?;
        // The snapshot and the trees on the file's path, read through rustic_core: a tree
        // that cannot be read or decoded fails this file, a store that cannot be reached
        // ends the drill.
        // Each checked against its id (`Repo::locate`).
        let failed = |reason: String| Ok(Restored::failed(expect, Some(from.clone()), reason));
        let chunks = match until_cancelled(landing.cancel, repo.locate(&point.id, from)).await? {
            Ok(Located::File(chunks)) => chunks,
            Ok(Located::NotAFile) => {
                return failed("not a regular file in the snapshot's tree".to_owned());
            }
            Ok(Located::Missing) => {
                return failed(format!(
                    "missing from the snapshot: {from} is not in its tree"
                ));
            }
            Ok(Located::Damaged(damage)) => {
                return failed(format!("snapshot or tree damaged: {damage}"));
            }
            Err(e) => return failed(format!("snapshot or tree damaged: {}", finding(e)?)),
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
            name: from.clone(),
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
        Ok(verdict(expect, chunks.size, read, restored))
    }

    /// Coverage of a restic repository is of its packs, which snapshots share: not modelled
    /// yet, and validation refuses `coverage` on a restic source before a drill runs.
    async fn identify(
        &self,
        _point: &Candidate,
        _from: &String,
    ) -> Result<lifeboat_core::coverage::Identity, DrillError> {
        Err(DrillError::CoverageUnsupported { format: "restic" })
    }

    async fn stored_bytes(&self, _point: &Candidate, _paths: &[String]) -> Option<u64> {
        None
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
