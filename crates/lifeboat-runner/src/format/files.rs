//! The `files` format: every direct child folder of `source.url` holding the manifest is a
//! recovery point; its manifest (`sha256sum`/`b3sum` text) lists the files, and each file is
//! the object `PATH` of the point or, where that does not exist, `PATH.zst`, decompressed
//! while it is restored. The hash is always of the restored bytes.

use futures::StreamExt;
use lifeboat_core::evidence::ManifestRecord;
use lifeboat_core::manifest::Entry;
use lifeboat_core::runbook::{ManifestSpec, RecoveryPointsSpec, Runbook};
use lifeboat_storage::{ObjectInfo, Source, StorageError};
use sha2::Digest;

use lifeboat_core::coverage::Identity;

use super::{Candidate, PointRead, SourceFormat};
use crate::DrillError;
use crate::plan::{Expected, PlannedFile, Target};
use crate::restore::{self, Landing, Opened, Restored};
use crate::stop::until_cancelled;

pub mod discover;

/// Manifests larger than this are refused rather than loaded (about 4 million entries).
pub const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;

/// Concurrent size requests while sizing a point for the projection.
const HEADS_IN_FLIGHT: usize = 16;

/// The objects a sampled file may be stored as, relative to its point: `PATH`, else
/// `PATH.zst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objects {
    /// `PATH`: the file as it is.
    pub plain: String,
    /// `PATH.zst`: the file zstd-compressed, read only where `PATH` does not exist.
    pub compressed: String,
}

/// A `files` source: folders with a manifest, below a local folder, a bucket or a container.
#[derive(Debug)]
pub struct FilesFormat {
    source: Source,
    points: RecoveryPointsSpec,
    manifest: ManifestSpec,
}

impl FilesFormat {
    /// The runbook's source, as a `files` source. Does no I/O: the first listing says
    /// whether the source is there and readable.
    pub fn open(runbook: &Runbook) -> Result<Self, DrillError> {
        Ok(FilesFormat {
            source: Source::open(&runbook.source)?,
            points: runbook.recovery_points.clone(),
            manifest: runbook.manifest.clone(),
        })
    }

    /// `rel` of point `point`, as a path below the source.
    fn below(point: &Candidate, rel: &str) -> String {
        format!("{}/{rel}", point.id)
    }

    /// Opens `PATH`, else `PATH.zst`. `Ok(Err(reason))`: a finding about the file (missing,
    /// or not a regular object), with the object's name where one was there.
    async fn open_object(
        &self,
        point: &Candidate,
        from: &Objects,
        landing: &Landing<'_>,
    ) -> Result<Result<Opened, (Option<String>, String)>, DrillError> {
        let opened = until_cancelled(
            landing.cancel,
            self.source.open_object(&Self::below(point, &from.plain)),
        )
        .await?;
        let (name, opened, compressed) = match opened {
            Ok(Some(object)) => {
                return Ok(Ok(Opened {
                    object,
                    name: from.plain.clone(),
                    compressed: false,
                }));
            }
            Ok(None) => {
                let opened = until_cancelled(
                    landing.cancel,
                    self.source
                        .open_object(&Self::below(point, &from.compressed)),
                )
                .await?;
                (&from.compressed, opened, true)
            }
            Err(e) => (&from.plain, Err(e), false),
        };
        match opened {
            Ok(Some(object)) => Ok(Ok(Opened {
                object,
                name: name.clone(),
                compressed,
            })),
            Ok(None) => Ok(Err((
                None,
                format!(
                    "missing object: neither {} nor {} exists",
                    from.plain, from.compressed
                ),
            ))),
            // A link, FIFO or folder where the object should be, or an object that cannot be
            // read, is a finding about this file, said relative to the point; a store that
            // cannot be reached ends the drill.
            Err(e) if e.is_finding() => Ok(Err((Some(name.clone()), e.below(&point.id)))),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads `point`'s manifest (`manifest.path`, at most [`MAX_MANIFEST_BYTES`]): its
    /// record (SHA-256 of its bytes; `entries` left for the parser) and its bytes; or, as
    /// `Err`, what the point is without them (not a point, or failed: the manifest is a
    /// link, a FIFO, too large or unreadable). Every format whose points are folders with a
    /// manifest reads it here.
    pub(super) async fn read_manifest<E>(
        &self,
        point: &Candidate,
    ) -> Result<Result<(ManifestRecord, bytes::Bytes), PointRead<E>>, DrillError> {
        let mut manifest = ManifestRecord {
            path: self.manifest.path.clone(),
            algorithm: self.manifest.format.algorithm(),
            entries: None,
            sha256: None,
        };
        let read = self
            .source
            .read_small(&Self::below(point, &self.manifest.path), MAX_MANIFEST_BYTES)
            .await;
        let bytes = match read {
            Ok(Some((bytes, _))) => bytes,
            Ok(None) => return Ok(Err(PointRead::NotAPoint)),
            // A manifest that is a link, a FIFO, too large or unreadable fails this point
            // (nothing was read from it); the drill goes on to older points.
            Err(e) if e.is_finding() => {
                return Ok(Err(PointRead::Failed {
                    manifest,
                    reason: format!("manifest {}", e.below(&point.id)),
                }));
            }
            Err(e) => return Err(e.into()),
        };
        manifest.sha256 = Some(hex::encode(sha2::Sha256::digest(&bytes)));
        Ok(Ok((manifest, bytes)))
    }

    /// The objects a file listed at `lands` (checked, below the point) may be stored as.
    pub(super) fn objects(lands: &str) -> Objects {
        Objects {
            plain: lands.to_owned(),
            compressed: format!("{lands}.zst"),
        }
    }

    /// The stored size of the file at `path` of `point` (`PATH`, else `PATH.zst`; missing
    /// and unsafe paths count 0); `None` on a storage error.
    async fn stored_size(&self, point: &Candidate, path: &str) -> Option<u64> {
        let Ok(parts) = lifeboat_core::manifest::safe_components(path) else {
            return Some(0);
        };
        let rel = Self::below(point, &parts.join("/"));
        // What is not a regular object (a link, a FIFO…) would restore nothing: 0.
        let size = |head: Result<Option<ObjectInfo>, StorageError>| match head {
            Ok(info) => Some(info.map(|i| i.size)),
            Err(e) if e.is_finding() => Some(Some(0)),
            Err(_) => None,
        };
        match size(self.source.head(&rel).await)? {
            Some(n) => Some(n),
            None => Some(size(self.source.head(&format!("{rel}.zst")).await)?.unwrap_or(0)),
        }
    }
}

impl SourceFormat for FilesFormat {
    type Entry = Entry;
    type Locator = Objects;
    type Census = discover::Census;

    async fn discover(&self) -> Result<(Vec<Candidate>, discover::Census), DrillError> {
        Ok(discover::candidates(&self.source, &self.points, &self.manifest.path).await?)
    }

    async fn read_point(&self, point: &Candidate) -> Result<PointRead<Entry>, DrillError> {
        let (mut manifest, bytes) = match self.read_manifest(point).await? {
            Ok(read) => read,
            Err(not_listed) => return Ok(not_listed),
        };
        let algorithm = manifest.algorithm;
        let entries = match lifeboat_core::manifest::parse(&bytes, algorithm) {
            Ok(entries) => entries,
            Err(e) => {
                let reason = format!("manifest {}: {e}", self.manifest.path);
                return Ok(PointRead::Failed { manifest, reason });
            }
        };
        manifest.entries = Some(entries.len() as u64);
        if entries.is_empty() {
            let reason = format!(
                "manifest {} lists no files: verifying nothing is never a pass",
                self.manifest.path
            );
            return Ok(PointRead::Failed { manifest, reason });
        }
        Ok(PointRead::Listed { manifest, entries })
    }

    fn plan_file(
        &self,
        _point: &Candidate,
        manifest: &ManifestRecord,
        entry: &Entry,
    ) -> PlannedFile<Objects> {
        PlannedFile {
            expect: Expected {
                path: entry.path.clone(),
                algorithm: manifest.algorithm,
                digest: entry.digest.clone(),
                size: None,
            },
            target: Target::below_point(&entry.path, Self::objects),
        }
    }

    async fn restore(
        &self,
        point: &Candidate,
        expect: &Expected,
        lands: &str,
        from: &Objects,
        landing: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        match self.open_object(point, from, landing).await? {
            Ok(opened) => restore::restore_object(opened, expect, lands, landing).await,
            Err((object, reason)) => Ok(Restored::failed(expect, object, reason)),
        }
    }

    async fn identify(&self, point: &Candidate, from: &Objects) -> Result<Identity, DrillError> {
        for object in [&from.plain, &from.compressed] {
            match self.source.head(&Self::below(point, object)).await {
                Ok(Some(info)) => return Ok(identity(info)),
                Ok(None) => {}
                // A link, FIFO or folder in its place: its coverage read says what it is.
                Err(e) if e.is_finding() => return Ok(no_object("unreadable")),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(no_object("missing"))
    }

    /// One listing of the point's folder, as deep as its deepest object, instead of a HEAD
    /// per object, keeping only the objects asked about (what else the folder holds costs
    /// listing time, not memory). What the listing lacks (missing, or not a regular file: a
    /// link, a FIFO, a folder) is `missing`, and its coverage read says what is there. A
    /// listing that fails (the point's own damage, a folder that cannot be read, or a
    /// listing too long for the source's `timeout`) falls back to asking about each
    /// object, so each is identified as far as it can be, and a source that cannot be read
    /// at all still ends the drill.
    async fn identities<'a>(
        &'a self,
        point: &'a Candidate,
        from: &'a [&'a Objects],
    ) -> Result<Vec<Identity>, DrillError> {
        let depth = from
            .iter()
            .map(|o| o.plain.matches('/').count())
            .max()
            .unwrap_or(0);
        let wanted: std::collections::HashSet<String> = from
            .iter()
            .flat_map(|o| [&o.plain, &o.compressed])
            .map(|rel| Self::below(point, rel))
            .collect();
        let listed = match self
            .source
            .list_objects(&point.id, depth, Some(&wanted))
            .await
        {
            Ok(listed) => listed,
            Err(_) => {
                let mut out = Vec::with_capacity(from.len());
                for object in from {
                    out.push(self.identify(point, object).await?);
                }
                return Ok(out);
            }
        };
        let below = Self::below(point, "");
        let by_path: std::collections::HashMap<&str, &ObjectInfo> = listed
            .iter()
            .filter_map(|o| Some((o.path.strip_prefix(below.as_str())?, &o.info)))
            .collect();
        Ok(from
            .iter()
            .map(|o| {
                by_path
                    .get(o.plain.as_str())
                    .or_else(|| by_path.get(o.compressed.as_str()))
                    .map_or_else(|| no_object("missing"), |&info| identity(info.clone()))
            })
            .collect())
    }

    async fn stored_bytes(&self, point: &Candidate, paths: &[String]) -> Option<u64> {
        // By index: a closure over borrowed items would make this future not `Send`
        // (rust-lang/rust#89976).
        let sizes: Vec<Option<u64>> = futures::stream::iter(0..paths.len())
            .map(|i| self.stored_size(point, &paths[i]))
            .buffer_unordered(HEADS_IN_FLIGHT)
            .collect()
            .await;
        sizes.into_iter().sum()
    }
}

/// An e-tag longer than this (real ones are 34-70 characters) is kept as its SHA-256: a
/// listing's e-tags come from the bucket's server, and each is stored with its object in
/// the ledger (SECURITY.md class 8).
const MAX_ETAG_CHARS: usize = 128;

/// An object's identity as storage describes it: its size, and its e-tag where storage has
/// one (a long one by its digest: still another identity when it changes), else its
/// modification time.
pub(crate) fn identity(info: ObjectInfo) -> Identity {
    Identity {
        size: info.size,
        tag: match info.e_tag {
            Some(tag) if tag.len() > MAX_ETAG_CHARS => {
                format!("etag-sha256:{}", hex::encode(sha2::Sha256::digest(tag)))
            }
            Some(tag) => format!("etag:{tag}"),
            None => format!("mtime:{:.9}", info.last_modified),
        },
    }
}

/// The identity of an object with nothing to read (`missing`, `unreadable`).
fn no_object(tag: &str) -> Identity {
    Identity {
        size: 0,
        tag: tag.to_owned(),
    }
}

#[cfg(test)]
mod tests;
