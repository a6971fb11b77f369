//! Read-only access to a backup set, wherever it lives: local disk, S3 or Azure Blob.
//!
//! One small API: list what is directly below the source, read an object's metadata, read a
//! small object whole (a manifest), and open an object for streaming. lifeboat never writes
//! to a backup source, so nothing here can.
//!
//! Everything in a backup is hostile input: it was written by the machine it protects.
//!
//! - A **local** source is touched only through `lifeboat-safefs` (module `local`): below the
//!   source folder no symbolic link is followed, nothing but a regular file is opened, a FIFO
//!   is never waited on, and what is found instead is named ([`StorageError::NotAnObject`]).
//!   Every call runs on a blocking thread within the source's `timeout`. Object data is read
//!   straight from the opened file ([`Object::File`]): the restore pipeline reads it with
//!   large positioned reads on a worker thread, the way the fastest peers do.
//! - **S3 and Azure** go through `object_store`, with names kept exactly as the bucket holds
//!   them: lookups never percent-encode (`p#1` is the key `p#1`), and a listing entry whose
//!   name object_store cannot represent (a control character) is skipped and reported rather
//!   than failing the listing (module `listing`).
//!
//! Errors say what to check and never carry credentials: see [`StorageError`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;

use jiff::Timestamp;
use object_store::path::{Path as StorePath, PathPart};
use object_store::{ObjectStore, ObjectStoreExt};

pub use lifeboat_core::runbook::{SourceKind, SourceSpec};
pub use lifeboat_safefs::Kind;

mod config;
mod errors;
pub mod evidence_store;
pub(crate) mod kept;
mod listing;
mod local;
mod remote;
pub mod restic;

/// Why a storage operation failed, phrased for the operator. Never holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The source itself (folder, bucket, container) does not exist.
    #[error("source {url} does not exist: {detail}")]
    SourceMissing { url: String, detail: String },
    /// Credentials were refused or are missing.
    #[error(
        "access to {url} was refused: {detail}; check the credentials in `source.options` or the environment"
    )]
    AccessDenied { url: String, detail: String },
    /// The storage could not be reached or answered with an error, after bounded retries.
    #[error("could not read from {url}: {detail}")]
    Unavailable { url: String, detail: String },
    /// An object is larger than the caller is willing to load whole.
    #[error("{path} is {size} bytes, over the {limit}-byte limit")]
    TooLarge { path: String, size: u64, limit: u64 },
    /// The source URL or options cannot be used.
    #[error("cannot open source {url}: {detail}")]
    Config { url: String, detail: String },
    /// Something other than a regular file is where an object should be (a symbolic link, a
    /// FIFO, a device, a folder), or other than a folder is on the way to it (a link where a
    /// folder should be). A finding about the backup: nothing was read from it. `path` is
    /// below the source, up to the component in the way; `modified` is that component's own
    /// time, when it could be read.
    #[error("{path} is {found}, not {expected}")]
    NotAnObject {
        path: String,
        found: Kind,
        expected: Kind,
        modified: Option<Timestamp>,
    },
    /// A name the store cannot address (in a bucket: a control character). A finding about
    /// the backup.
    #[error("{path:?} cannot be read: its name {why}")]
    Unaddressable { path: String, why: &'static str },
    /// A file below a local source could not be read (permission, I/O error). A finding about
    /// the backup's file, in the file system's words.
    #[error("{path} cannot be read: {detail}")]
    Local {
        url: String,
        path: String,
        detail: String,
    },
}

impl StorageError {
    /// A finding about one object or manifest of the backup (it is there but is not what it
    /// should be, or cannot be read), rather than a source that cannot be reached.
    pub fn is_finding(&self) -> bool {
        matches!(
            self,
            StorageError::NotAnObject { .. }
                | StorageError::Unaddressable { .. }
                | StorageError::Local { .. }
                | StorageError::TooLarge { .. }
        )
    }

    /// The error with its path said relative to `folder` (a recovery point), as a file's
    /// reason reads: `data/x is a symbolic link, not a regular file`.
    pub fn below(&self, folder: &str) -> String {
        let strip = |path: &str| -> String {
            path.strip_prefix(folder)
                .and_then(|p| p.strip_prefix('/'))
                .unwrap_or(path)
                .to_owned()
        };
        match self {
            StorageError::NotAnObject {
                path,
                found,
                expected,
                ..
            } => format!("{} is {found}, not {expected}", strip(path)),
            StorageError::Unaddressable { path, why } => {
                format!("{:?} cannot be read: its name {why}", strip(path))
            }
            StorageError::Local { path, detail, .. } => {
                format!("{} cannot be read: {detail}", strip(path))
            }
            StorageError::TooLarge { path, size, limit } => {
                format!(
                    "{} is {size} bytes, over the {limit}-byte limit",
                    strip(path)
                )
            }
            other => other.to_string(),
        }
    }
}

/// What is directly below the source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Folders (local) or common prefixes (S3, Azure): the recovery point candidates, by
    /// name, sorted.
    pub folders: Vec<String>,
    /// Every other entry, and why it is not a candidate.
    pub skipped: Vec<Skipped>,
}

/// An entry below the source that cannot be a recovery point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The name, quoted and with control characters and bytes that are not UTF-8 escaped
    /// (`"stray\tfile"`, `"caf\xE9"`): safe to print.
    pub shown: String,
    pub why: Skip,
}

/// Why an entry below the source is not a recovery point candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// It is not a folder: a file (or, in a bucket, an object), a symbolic link (a point
    /// reached through a link could be anywhere), a FIFO, a device…
    NotAFolder(Kind),
    /// Its name cannot be represented: "is not valid UTF-8", "holds a control character".
    Unusable(&'static str),
}

/// Metadata of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: Timestamp,
    pub e_tag: Option<String>,
}

/// One object a listing found ([`Source::list_objects`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    /// Its `/`-separated path below the source.
    pub path: String,
    /// What the listing says it is.
    pub info: ObjectInfo,
}

/// An object opened for reading.
pub enum Object {
    /// A local file: read it with large positioned reads (or map it) on a worker thread.
    File { file: std::fs::File, size: u64 },
    /// A remote object's body, in arrival order.
    Stream {
        stream: BoxStream<'static, Result<Bytes, StorageError>>,
        size: u64,
    },
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Object::File { size, .. } => write!(f, "Object::File({size} bytes)"),
            Object::Stream { size, .. } => write!(f, "Object::Stream({size} bytes)"),
        }
    }
}

impl Object {
    pub fn size(&self) -> u64 {
        match self {
            Object::File { size, .. } | Object::Stream { size, .. } => *size,
        }
    }
}

/// A backup source, opened read-only.
#[derive(Clone)]
pub struct Source {
    backend: Backend,
    /// The URL, safe to print (it never holds credentials: they live in options).
    url: String,
}

#[derive(Clone)]
enum Backend {
    Local(Arc<local::Local>),
    Cloud(Cloud),
}

#[derive(Clone)]
struct Cloud {
    store: Arc<dyn ObjectStore>,
    /// The prefix of the backup set inside the bucket or container.
    prefix: StorePath,
    /// Bound on one storage operation, retries included.
    timeout: Duration,
    /// How a large remote object is read (single stream or parallel ranged GETs).
    read_plan: remote::ReadPlan,
    /// Values of the secret options, scrubbed from every error text as a last line of defence.
    secrets: Arc<[String]>,
    /// Listing entries the HTTP layer took out because object_store cannot represent them.
    unlisted: Arc<listing::Unlisted>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("url", &self.url).finish()
    }
}

impl Source {
    /// Opens a source. Does no I/O: the first operation says whether the folder, bucket or
    /// container is there and readable.
    pub fn open(spec: &SourceSpec) -> Result<Source, StorageError> {
        config::open(spec)
    }

    /// The URL, safe to print.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The folder a local (`file://`) source reads, as its URL decodes; `None` for a cloud
    /// source. lifeboat's own scratch and evidence folders are checked against it, so they
    /// are judged by the very folder the drill reads.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Local(local) => Some(local.path()),
            Backend::Cloud(_) => None,
        }
    }

    /// What is directly below the source: the folders (prefixes) that may be recovery
    /// points, and every other entry with why it is not one. Names are as the file system or
    /// bucket holds them; one that cannot be represented is skipped, never an error.
    pub async fn list_children(&self) -> Result<Listing, StorageError> {
        let mut listing = match &self.backend {
            Backend::Local(local) => local.list().await?,
            Backend::Cloud(cloud) => cloud.list(&self.url).await?,
        };
        listing.folders.sort();
        listing.skipped.sort_by(|a, b| a.shown.cmp(&b.shown));
        Ok(listing)
    }

    /// Metadata of `rel` (a `/`-separated path below the source); `None` if it does not
    /// exist; [`StorageError::NotAnObject`] if something other than a regular file is there.
    pub async fn head(&self, rel: &str) -> Result<Option<ObjectInfo>, StorageError> {
        match &self.backend {
            Backend::Local(local) => local.head(rel).await,
            Backend::Cloud(cloud) => cloud.head(&self.url, rel).await,
        }
    }

    /// Reads a small object whole (a manifest); `None` if it does not exist. Objects larger
    /// than `max_bytes` are refused rather than loaded.
    pub async fn read_small(
        &self,
        rel: &str,
        max_bytes: u64,
    ) -> Result<Option<(Bytes, ObjectInfo)>, StorageError> {
        match &self.backend {
            Backend::Local(local) => local.read_small(rel, max_bytes).await,
            Backend::Cloud(cloud) => cloud.read_small(&self.url, rel, max_bytes).await,
        }
    }

    /// Opens `rel` for reading; `None` if it does not exist.
    pub async fn open_object(&self, rel: &str) -> Result<Option<Object>, StorageError> {
        match &self.backend {
            Backend::Local(local) => local.open_object(rel).await,
            Backend::Cloud(cloud) => cloud.open_object(&self.url, rel).await,
        }
    }
}

impl Source {
    /// Every object below `prefix` (a `/`-separated folder below the source; locally at most
    /// `depth` folders down, links never followed), with its size, named by its path below
    /// the source, sorted. Nothing if there is no such folder.
    pub async fn list_files(
        &self,
        prefix: &str,
        depth: usize,
    ) -> Result<Vec<(String, u64)>, StorageError> {
        Ok(self
            .list_objects(prefix, depth, None)
            .await?
            .into_iter()
            .map(|o| (o.path, o.info.size))
            .collect())
    }

    /// Every object below `prefix`, as [`list_files`](Source::list_files) finds them, each
    /// with what storage says it is: size and e-tag (S3, Azure: as the listing gives them,
    /// the same values a HEAD request would), or size and modification time (local disk).
    /// One listing, not a request per object: a coverage phase identifies a point's
    /// objects with it. With `wanted`, only those paths are kept as the listing arrives,
    /// so what a folder holds besides them (a hostile point's millions of stray objects)
    /// costs listing time, not memory.
    pub async fn list_objects(
        &self,
        prefix: &str,
        depth: usize,
        wanted: Option<&std::collections::HashSet<String>>,
    ) -> Result<Vec<ListedObject>, StorageError> {
        let mut objects = match &self.backend {
            Backend::Local(local) => {
                let mut all = local.list_files(prefix, depth).await?;
                if let Some(wanted) = wanted {
                    all.retain(|o| wanted.contains(&o.path));
                }
                all
            }
            Backend::Cloud(cloud) => cloud.list_files(&self.url, prefix, wanted).await?,
        };
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(objects)
    }

    /// `len` bytes of `rel` from `offset`; `None` if it does not exist. A shorter object is
    /// an error.
    pub async fn read_range(
        &self,
        rel: &str,
        offset: u64,
        len: usize,
    ) -> Result<Option<Bytes>, StorageError> {
        match &self.backend {
            Backend::Local(local) => local.read_range(rel, offset, len).await,
            Backend::Cloud(cloud) => cloud.read_range(&self.url, rel, offset, len).await,
        }
    }
}

impl Cloud {
    async fn list_files(
        &self,
        url: &str,
        prefix: &str,
        wanted: Option<&std::collections::HashSet<String>>,
    ) -> Result<Vec<ListedObject>, StorageError> {
        use futures::TryStreamExt as _;
        let path = self.path(prefix)?;
        let below = format!("{}/", self.prefix.as_ref());
        let strip = |p: &str| -> String {
            if self.prefix.as_ref().is_empty() {
                p.to_owned()
            } else {
                p.strip_prefix(below.as_str()).unwrap_or(p).to_owned()
            }
        };
        self.unlisted.take();
        let listed = self
            .bounded(
                self.store
                    .list(Some(&path))
                    .map_ok(|meta| ListedObject {
                        path: strip(meta.location.as_ref()),
                        info: ObjectInfo {
                            size: meta.size,
                            last_modified: to_timestamp(&meta.last_modified),
                            e_tag: meta.e_tag,
                        },
                    })
                    .try_filter(|o| std::future::ready(wanted.is_none_or(|w| w.contains(&o.path))))
                    .try_collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| self.classify(url, e, prefix));
        // Entries object_store cannot name are not restic's files (restic names are hex).
        self.unlisted.take();
        listed
    }

    async fn read_range(
        &self,
        url: &str,
        rel: &str,
        offset: u64,
        len: usize,
    ) -> Result<Option<Bytes>, StorageError> {
        let path = self.path(rel)?;
        let end = offset.saturating_add(len as u64);
        match self.bounded(self.store.get_range(&path, offset..end)).await {
            Ok(bytes) if bytes.len() == len => Ok(Some(bytes)),
            Ok(bytes) => Err(StorageError::Unavailable {
                url: url.to_owned(),
                detail: format!(
                    "{rel}: asked for {len} bytes at {offset}, got {}",
                    bytes.len()
                ),
            }),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(url, e, rel)),
        }
    }

    async fn list(&self, url: &str) -> Result<Listing, StorageError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        // Entries taken out of an earlier listing are not this one's.
        self.unlisted.take();
        let result = self
            .bounded(self.store.list_with_delimiter(prefix))
            .await
            .map_err(|e| self.classify(url, e, "listing recovery points"));
        let unlisted = self.unlisted.take();
        let result = result?;
        let mut listing = Listing {
            folders: result
                .common_prefixes
                .iter()
                .filter_map(|p| p.filename().map(str::to_owned))
                .collect(),
            skipped: Vec::new(),
        };
        for object in &result.objects {
            // A "folder" marker object for the prefix itself is not an entry below it.
            if object.location == self.prefix {
                continue;
            }
            if let Some(name) = object.location.filename() {
                listing.skipped.push(Skipped {
                    shown: format!("{name:?}"),
                    why: Skip::NotAFolder(Kind::File),
                });
            }
        }
        let below = format!("{}/", self.prefix.as_ref());
        for (raw, why) in unlisted {
            let name = raw.strip_prefix(below.as_str()).unwrap_or(&raw);
            let name = name.strip_suffix('/').unwrap_or(name);
            listing.skipped.push(Skipped {
                shown: format!("{name:?}"),
                why: Skip::Unusable(why),
            });
        }
        Ok(listing)
    }

    async fn head(&self, url: &str, rel: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let path = self.path(rel)?;
        match self.bounded(self.store.head(&path)).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                size: meta.size,
                last_modified: to_timestamp(&meta.last_modified),
                e_tag: meta.e_tag,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(url, e, rel)),
        }
    }

    async fn read_small(
        &self,
        url: &str,
        rel: &str,
        max_bytes: u64,
    ) -> Result<Option<(Bytes, ObjectInfo)>, StorageError> {
        let Some(info) = self.head(url, rel).await? else {
            return Ok(None);
        };
        if info.size > max_bytes {
            return Err(StorageError::TooLarge {
                path: rel.to_string(),
                size: info.size,
                limit: max_bytes,
            });
        }
        let path = self.path(rel)?;
        let read = async {
            let got = self.store.get(&path).await?;
            got.bytes().await
        };
        match self.bounded(read).await {
            Ok(bytes) if bytes.len() as u64 > max_bytes => Err(StorageError::TooLarge {
                path: rel.to_string(),
                size: bytes.len() as u64,
                limit: max_bytes,
            }),
            Ok(bytes) => Ok(Some((bytes, info))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(url, e, rel)),
        }
    }

    async fn open_object(&self, url: &str, rel: &str) -> Result<Option<Object>, StorageError> {
        let path = self.path(rel)?;
        match self.bounded(self.store.get(&path)).await {
            Ok(got) => {
                let size = got.meta.size;
                let stream = remote::body(
                    Arc::clone(&self.store),
                    path,
                    got,
                    self.read_plan.clone(),
                    remote::Names {
                        url: url.to_owned(),
                        what: rel.to_owned(),
                        secrets: Arc::clone(&self.secrets),
                    },
                );
                Ok(Some(Object::Stream { stream, size }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(url, e, rel)),
        }
    }

    /// `rel` below the prefix, each part exactly as written: never percent-encoded, so the
    /// key `p#1/a b` is looked up as `p#1/a b`. A part object_store cannot hold is refused.
    fn path(&self, rel: &str) -> Result<StorePath, StorageError> {
        let mut parts: Vec<PathPart<'_>> = self.prefix.parts().collect();
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            let part = PathPart::parse(c).map_err(|_| StorageError::Unaddressable {
                path: rel.to_owned(),
                why: if c.chars().any(|ch| ch.is_ascii_control()) {
                    listing::CONTROL
                } else {
                    listing::SEGMENT
                },
            })?;
            parts.push(part);
        }
        Ok(StorePath::from_iter(parts))
    }

    async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(object_store::Error::Generic {
                store: "lifeboat",
                source: format!(
                    "no answer within {} (set `source.options.timeout` to wait longer)",
                    lifeboat_core::duration::human(self.timeout.as_secs_f64())
                )
                .into(),
            }),
        }
    }

    fn classify(&self, url: &str, e: object_store::Error, what: &str) -> StorageError {
        let full = errors::describe(&e);
        errors::classify(url, what, &full, Some(&e), &self.secrets)
    }
}

fn to_timestamp(t: &chrono::DateTime<chrono::Utc>) -> Timestamp {
    // object_store hands out chrono times; lifeboat uses jiff from here on.
    Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Removes anything that looks like a credential from an error text before it is shown:
/// query strings (SAS tokens, presigned signatures) and `Authorization`-like headers.
pub fn redact(text: &str) -> String {
    errors::redact(text)
}
