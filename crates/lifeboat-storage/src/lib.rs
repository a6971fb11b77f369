//! Read-only access to a backup set, wherever it lives: local disk, S3 or Azure Blob.
//!
//! One small API over `object_store`: list the direct children of the source prefix, read an
//! object's metadata, read a small object whole (a manifest), and open an object for
//! streaming. lifeboat never writes to a backup source, so nothing here can.
//!
//! Discovery (listing, metadata) goes through `object_store` for every backend, so local and
//! cloud sources follow one code path. Object *data* from a local source is read straight from
//! the file ([`Object::File`]) rather than through `object_store`'s small-chunk stream: the
//! restore pipeline reads it with large positioned reads on a worker thread, the way the
//! fastest peers do.
//!
//! Errors say what to check and never carry credentials: see [`StorageError`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;

use jiff::Timestamp;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};

pub use lifeboat_core::runbook::{SourceKind, SourceSpec};

mod config;
mod errors;
mod remote;

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
}

/// Metadata of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: Timestamp,
    pub e_tag: Option<String>,
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
    store: Arc<dyn ObjectStore>,
    /// The prefix of the backup set inside the store (empty for a local root).
    prefix: StorePath,
    /// For local sources, the root folder, so data can be read directly.
    local_root: Option<PathBuf>,
    /// The URL, safe to print (it never holds credentials: they live in options).
    url: String,
    /// Bound on one storage operation, retries included.
    timeout: Duration,
    /// How a large remote object is read (single stream or parallel ranged GETs).
    read_plan: remote::ReadPlan,
    /// Values of the secret options, scrubbed from every error text as a last line of defence.
    secrets: Arc<[String]>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("url", &self.url).finish()
    }
}

impl Source {
    /// Opens a source. Does no I/O for cloud sources (their first request may still fail);
    /// a local source must be an existing, readable folder.
    pub fn open(spec: &SourceSpec) -> Result<Source, StorageError> {
        config::open(spec)
    }

    /// The URL, safe to print.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Names of the direct child "folders" (common prefixes) of the source, sorted.
    pub async fn list_children(&self) -> Result<Vec<String>, StorageError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let listing = self
            .bounded(self.store.list_with_delimiter(prefix))
            .await
            .map_err(|e| self.classify(e, "listing recovery points"))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Metadata of `rel` (a `/`-separated path below the source); `None` if it does not exist.
    pub async fn head(&self, rel: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let path = self.path(rel)?;
        match self.bounded(self.store.head(&path)).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                size: meta.size,
                last_modified: to_timestamp(&meta.last_modified),
                e_tag: meta.e_tag,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(e, rel)),
        }
    }

    /// Reads a small object whole (a manifest); `None` if it does not exist. Objects larger
    /// than `max_bytes` are refused rather than loaded.
    pub async fn read_small(
        &self,
        rel: &str,
        max_bytes: u64,
    ) -> Result<Option<(Bytes, ObjectInfo)>, StorageError> {
        let Some(info) = self.head(rel).await? else {
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
            Ok(bytes) => Ok(Some((bytes, info))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(e, rel)),
        }
    }

    /// Opens `rel` for reading; `None` if it does not exist.
    pub async fn open_object(&self, rel: &str) -> Result<Option<Object>, StorageError> {
        if let Some(root) = &self.local_root {
            let full = rel.split('/').fold(root.clone(), |p, c| p.join(c));
            return match std::fs::File::open(&full) {
                Ok(file) => {
                    let meta = file.metadata().map_err(|e| self.io_error(rel, &e))?;
                    if !meta.is_file() {
                        return Ok(None);
                    }
                    Ok(Some(Object::File {
                        file,
                        size: meta.len(),
                    }))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.io_error(rel, &e)),
            };
        }
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
                        url: self.url.clone(),
                        what: rel.to_owned(),
                        secrets: Arc::clone(&self.secrets),
                    },
                );
                Ok(Some(Object::Stream { stream, size }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.classify(e, rel)),
        }
    }

    fn path(&self, rel: &str) -> Result<StorePath, StorageError> {
        let mut parts: Vec<object_store::path::PathPart<'_>> = self.prefix.parts().collect();
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            parts.push(object_store::path::PathPart::from(c));
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
                    "no answer within {}s (set `source.options.timeout` to wait longer)",
                    self.timeout.as_secs()
                )
                .into(),
            }),
        }
    }

    fn io_error(&self, rel: &str, e: &std::io::Error) -> StorageError {
        StorageError::Unavailable {
            url: self.url.clone(),
            detail: format!("{rel}: {e}"),
        }
    }

    fn classify(&self, e: object_store::Error, what: &str) -> StorageError {
        let full = errors::describe(&e);
        errors::classify(&self.url, what, &full, Some(&e), &self.secrets)
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
