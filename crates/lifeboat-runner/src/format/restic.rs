//! `source.format: restic`: a restic repository's snapshots as recovery points, read through
//! `lifeboat_storage::restic` (rustic_core over lifeboat's own storage).
//!
//! Discovery lists the snapshots `source.restic`'s `host`/`paths`/`tags` match, each a
//! [`Candidate`] with the snapshot's id and time; a point's entries are the snapshot's regular
//! files, as `restic ls` lists them, the population the sample is drawn from. A sampled file
//! is verified independently of restic's own restore ([`ResticFormat::restore`]): the
//! snapshot and the trees on its path are read, then every chunk is read from its pack,
//! decrypted (which authenticates it) and its plaintext's SHA-256 checked against its id
//! ([`Repo::read_file`], on a blocking thread), and the verified plaintext goes through the
//! same writing and hashing pipeline as any other format's objects
//! ([`restore::restore_object`]), into `{scratch}/PATH` as `scratch.sync` says. The file
//! passes only when the chunks' lengths add up to the size its tree lists and to the bytes
//! that landed. A snapshot lists no whole-file digest: the evidence's `expected` of a passed
//! file is the digest (SHA-256) of its chunk-verified bytes, `actual` that of
//! the bytes as restored.

use futures::StreamExt;
use lifeboat_core::evidence::{ManifestRecord, Outcome, ProjectionBasis};
use lifeboat_core::runbook::{ResticPassword, ResticSpec, Runbook};
use lifeboat_core::vocabulary::Algorithm;
use lifeboat_storage::restic::{
    FileRead, Repo, ResticError, SnapshotEntry, SnapshotFilter, SnapshotSize,
};
use lifeboat_storage::{Object, Source};

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

impl Entry for SnapshotEntry {
    fn path(&self) -> &str {
        &self.path
    }
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
    type Entry = SnapshotEntry;
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

    async fn read_point(&self, point: &Candidate) -> Result<PointRead<SnapshotEntry>, DrillError> {
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
        Ok(PointRead::Listed { manifest, entries })
    }

    fn plan_file(
        &self,
        _point: &Candidate,
        _manifest: &ManifestRecord,
        entry: &SnapshotEntry,
    ) -> PlannedFile<String> {
        PlannedFile {
            // No whole-file digest exists in a snapshot: its chunks' ids are what the file
            // is verified against ([`ResticFormat::restore`], [`verdict`]).
            expect: Expected {
                path: entry.path.clone(),
                algorithm: Algorithm::Sha256,
                digest: String::new(),
                // The size the snapshot's tree lists: the chunks must add up to it.
                size: Some(entry.size),
            },
            target: Target::below_point(entry.path.trim_start_matches('/'), |_| entry.path.clone()),
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
        let chunks =
            match until_cancelled(landing.cancel, repo.file_chunks(&point.id, from)).await? {
                Ok(Some(chunks)) => chunks,
                Ok(None) => {
                    return Ok(Restored::failed(
                        expect,
                        Some(from.clone()),
                        "not a regular file in the snapshot's tree".to_owned(),
                    ));
                }
                Err(e) => {
                    let reason = finding(e)?;
                    return Ok(Restored::failed(
                        expect,
                        Some(from.clone()),
                        format!("snapshot or tree damaged: {reason}"),
                    ));
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

    /// Never asked: [`point_bytes`](SourceFormat::point_bytes) sizes a snapshot whole.
    async fn stored_bytes(&self, _point: &Candidate, _paths: &[String]) -> Option<u64> {
        None
    }

    /// The snapshot's plaintext size: its summary's `total_bytes_processed` (restic ≥ 0.17),
    /// else the file sizes its tree lists, added up. `None` when it cannot be read: the
    /// projection is a courtesy and never changes the verdict.
    async fn point_bytes(&self, point: &Candidate) -> Option<(u64, ProjectionBasis)> {
        let repo = self.repo().await.ok()?;
        match repo.snapshot_size(&point.id).await.ok()? {
            SnapshotSize::Summary(total) => Some((total, ProjectionBasis::Snapshot)),
            SnapshotSize::Tree(total) => Some((total, ProjectionBasis::Tree)),
        }
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
/// verified against its id, and they add up to `tree_size` (the size the snapshot's tree
/// lists) and to the bytes that landed. Its `expected` is then the digest of those
/// chunk-verified bytes (a snapshot lists no whole-file digest: the chunks' ids are what the
/// file is checked against); on a failure it stays empty and `actual` is left out, as no
/// complete file was verified.
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
        Ok(_) => None,
    };
    match reason {
        None => {
            result.outcome = Outcome::Passed;
            result.expected = actual;
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
