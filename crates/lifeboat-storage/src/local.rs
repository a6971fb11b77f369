//! A backup on local disk, touched only through `lifeboat-safefs`.
//!
//! The machine a backup protects writes it, so anything below the source folder may be a
//! symbolic link (to `/etc/passwd`, to `/proc/self/environ`), a FIFO whose first read blocks
//! forever, a socket or a device. Every lookup here walks from an open handle on the source
//! folder one component at a time without following a link, and opens nothing but a regular
//! file (a FIFO is never opened for reading, so it cannot block). What is found instead is
//! named ([`StorageError::NotAnObject`]), and nothing is read from it.
//!
//! The source folder itself is the operator's path and may be reached through links; a
//! recovery point folder is *below* it, so a point that is a link is not followed (discovery
//! lists it as a link, not a folder).
//!
//! Every call runs on a blocking thread and is bounded by the source's `timeout`: a hung
//! network mount stalls neither the async runtime's workers (which the daemon's other
//! runbooks share) nor the drill's cancellation.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use jiff::Timestamp;
use lifeboat_safefs::{Dir, Kind, OpenError};

use crate::{ListedObject, Listing, Object, ObjectInfo, Skip, Skipped, StorageError};

/// A local source: its folder, opened on first use.
pub(crate) struct Local {
    path: PathBuf,
    url: String,
    timeout: Duration,
    root: tokio::sync::OnceCell<Arc<Dir>>,
}

impl Local {
    /// The source folder, as the URL decodes (it may be reached through links).
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(crate) fn new(path: PathBuf, url: String, timeout: Duration) -> Local {
        Local {
            path,
            url,
            timeout,
            root: tokio::sync::OnceCell::new(),
        }
    }

    /// Everything directly in the source folder, by its raw name: folders are point
    /// candidates; a link, a file or a name that is not UTF-8 is skipped with its reason.
    pub(crate) async fn list(&self) -> Result<Listing, StorageError> {
        let entries = self
            .blocking("listing recovery points", |root| root.entries())
            .await?
            .map_err(|e| self.root_error(&e))?;
        let mut listing = Listing::default();
        for entry in entries {
            let Some(name) = entry.name.to_str() else {
                listing.skipped.push(Skipped {
                    shown: format!("{:?}", entry.name),
                    why: Skip::Unusable("is not valid UTF-8"),
                });
                continue;
            };
            match entry.kind {
                Kind::Dir => listing.folders.push(name.to_owned()),
                kind => listing.skipped.push(Skipped {
                    shown: format!("{name:?}"),
                    why: Skip::NotAFolder(kind),
                }),
            }
        }
        Ok(listing)
    }

    /// What is at `rel`: a regular file's metadata, `None` when nothing is there, or
    /// [`StorageError::NotAnObject`] for anything else there or in the way.
    pub(crate) async fn head(&self, rel: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let path = split(rel);
        let shown = rel.to_owned();
        self.blocking(rel, move |root| match root.stat(&path) {
            Ok(info) if info.kind == Kind::File => Ok(Some(object_info(info.size, info.modified))),
            Ok(info) => Err(not_an_object(
                &shown,
                info.kind,
                Kind::File,
                Some(info.modified),
            )),
            Err(e) => open_error(root, &shown, e),
        })
        .await?
        .map_err(|e| self.finish(e))
    }

    /// Reads the regular file at `rel` whole, refusing more than `max_bytes` whatever its
    /// size claims.
    pub(crate) async fn read_small(
        &self,
        rel: &str,
        max_bytes: u64,
    ) -> Result<Option<(Bytes, ObjectInfo)>, StorageError> {
        let path = split(rel);
        let shown = rel.to_owned();
        self.blocking(rel, move |root| {
            let file = match root.open_file(&path) {
                Ok(f) => f,
                Err(e) => return open_error(root, &shown, e),
            };
            let bytes = match lifeboat_safefs::read_capped(&file, max_bytes) {
                Ok(b) => b,
                Err(lifeboat_safefs::ReadError::TooLarge { size, limit }) => {
                    return Err(Failure::TooLarge {
                        path: shown,
                        size,
                        limit,
                    });
                }
                Err(lifeboat_safefs::ReadError::Io(e)) => return Err(io(&shown, &e)),
            };
            let meta = file.metadata().map_err(|e| io(&shown, &e))?;
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let info = object_info(bytes.len() as u64, modified);
            Ok(Some((Bytes::from(bytes), info)))
        })
        .await?
        .map_err(|e| self.finish(e))
    }

    /// Opens the regular file at `rel` for the restore pipeline.
    pub(crate) async fn open_object(&self, rel: &str) -> Result<Option<Object>, StorageError> {
        let path = split(rel);
        let shown = rel.to_owned();
        self.blocking(rel, move |root| {
            let file = match root.open_file(&path) {
                Ok(f) => f,
                Err(e) => return open_error(root, &shown, e),
            };
            let size = file.metadata().map_err(|e| io(&shown, &e))?.len();
            Ok(Some(Object::File { file, size }))
        })
        .await?
        .map_err(|e| self.finish(e))
    }

    /// Every regular file below `prefix` (at most `depth` folders down), with its size, as
    /// `/`-separated paths below the source; nothing if `prefix` is not there. Links and
    /// anything else that is not a file or folder are left out, never followed; so are names
    /// that are not UTF-8.
    pub(crate) async fn list_files(
        &self,
        prefix: &str,
        depth: usize,
    ) -> Result<Vec<ListedObject>, StorageError> {
        let path = split(prefix);
        let shown = prefix.trim_matches('/').to_owned();
        self.blocking(prefix, move |root| {
            let dir = match root.open_dir(&path) {
                Ok(d) => d,
                Err(e) => return open_error::<()>(root, &shown, e).map(|_| Vec::new()),
            };
            let mut out = Vec::new();
            walk(&dir, &shown, depth, &mut out)?;
            Ok(out)
        })
        .await?
        .map_err(|e| self.finish(e))
    }

    /// `len` bytes of `rel` from `offset`, read with positioned reads; `None` if there is no
    /// such file. Fewer bytes than asked (the file is shorter) is an error.
    pub(crate) async fn read_range(
        &self,
        rel: &str,
        offset: u64,
        len: usize,
    ) -> Result<Option<Bytes>, StorageError> {
        use std::io::{Read as _, Seek as _};
        let path = split(rel);
        let shown = rel.to_owned();
        self.blocking(rel, move |root| {
            let file = match root.open_file(&path) {
                Ok(f) => f,
                Err(e) => return open_error(root, &shown, e),
            };
            // The range may come from a hostile index (restic's pack offsets): checked
            // against the file before a buffer of its length is made.
            let size = file.metadata().map_err(|e| io(&shown, &e))?.len();
            if offset.checked_add(len as u64).is_none_or(|end| end > size) {
                return Err(Failure::Io {
                    detail: format!("asked for {len} bytes at {offset}, the file holds {size}"),
                    path: shown,
                });
            }
            // Read into the buffer's spare capacity (not zeroed first); `take` stops at
            // `len` bytes, a file that shrank since its size was read ends it sooner.
            let mut buf = crate::kept::KeptBuffer::with_capacity(len);
            let mut reader = &file;
            reader
                .seek(std::io::SeekFrom::Start(offset))
                .and_then(|_| reader.take(len as u64).read_to_end(buf.vec()))
                .map_err(|e| io(&shown, &e))?;
            if buf.vec().len() != len {
                return Err(Failure::Io {
                    detail: format!(
                        "asked for {len} bytes at {offset}, the file ended after {} of them",
                        buf.vec().len()
                    ),
                    path: shown,
                });
            }
            Ok(Some(buf.into_bytes()))
        })
        .await?
        .map_err(|e| self.finish(e))
    }

    /// Runs `work` on a blocking thread with the source folder, within the timeout.
    async fn blocking<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce(&Dir) -> T + Send + 'static,
    ) -> Result<T, StorageError> {
        let root = Arc::clone(self.root().await?);
        let job = tokio::task::spawn_blocking(move || work(&root));
        match tokio::time::timeout(self.timeout, job).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(StorageError::Unavailable {
                url: self.url.clone(),
                detail: format!("{what}: the file system worker failed: {e}"),
            }),
            Err(_) => Err(self.hung(what)),
        }
    }

    /// The source folder, opened on first use (links on the way to it are followed: it is
    /// the operator's path).
    async fn root(&self) -> Result<&Arc<Dir>, StorageError> {
        self.root
            .get_or_try_init(|| async {
                let path = self.path.clone();
                let job = tokio::task::spawn_blocking(move || Dir::open(&path));
                match tokio::time::timeout(self.timeout, job).await {
                    Ok(Ok(Ok(dir))) => Ok(Arc::new(dir)),
                    Ok(Ok(Err(e))) => Err(self.root_error(&e)),
                    Ok(Err(e)) => Err(StorageError::Unavailable {
                        url: self.url.clone(),
                        detail: format!("opening the source folder: {e}"),
                    }),
                    Err(_) => Err(self.hung("opening the source folder")),
                }
            })
            .await
    }

    /// The source folder cannot be opened or listed: the drill cannot complete.
    fn root_error(&self, e: &std::io::Error) -> StorageError {
        let url = self.url.clone();
        let at = self.path.display();
        match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::SourceMissing {
                url,
                detail: format!("no folder at {at}"),
            },
            std::io::ErrorKind::PermissionDenied => StorageError::AccessDenied {
                url,
                detail: format!("cannot read folder {at}: {e}"),
            },
            std::io::ErrorKind::NotADirectory => StorageError::SourceMissing {
                url,
                detail: format!("{at} is not a folder"),
            },
            _ => StorageError::Unavailable {
                url,
                detail: format!("cannot read folder {at}: {e}"),
            },
        }
    }

    fn hung(&self, what: &str) -> StorageError {
        StorageError::Unavailable {
            url: self.url.clone(),
            detail: format!(
                "{what}: the file system did not answer within {} (a hung network mount?); \
                 set `source.options.timeout` to wait longer",
                lifeboat_core::duration::human(self.timeout.as_secs_f64())
            ),
        }
    }

    fn finish(&self, failure: Failure) -> StorageError {
        match failure {
            Failure::Error(e) => e,
            Failure::Io { path, detail } => StorageError::Local {
                url: self.url.clone(),
                path,
                detail,
            },
            Failure::TooLarge { path, size, limit } => StorageError::TooLarge { path, size, limit },
        }
    }
}

/// What went wrong on the blocking thread, before the source's URL is attached.
enum Failure {
    Error(StorageError),
    Io { path: String, detail: String },
    TooLarge { path: String, size: u64, limit: u64 },
}

/// `NotFound` is `None`; a link, FIFO, folder… where a file or a folder belongs is named.
fn open_error<T>(root: &Dir, shown: &str, e: OpenError) -> Result<Option<T>, Failure> {
    match e {
        OpenError::NotFound { .. } => Ok(None),
        OpenError::WrongKind {
            path,
            kind,
            expected,
        } => {
            // The component in the way: its own time, for `time: modified` discovery.
            let modified = root.stat(&path).ok().map(|i| i.modified);
            Err(not_an_object(&path, kind, expected, modified))
        }
        OpenError::NotBelow { path } => Err(Failure::Io {
            path,
            detail: "not a relative path below the source".into(),
        }),
        // Only creation reports this; a source is never written.
        OpenError::AlreadyExists { path } => Err(Failure::Io {
            path,
            detail: "already exists".into(),
        }),
        OpenError::Io { source, .. } => Err(io(shown, &source)),
    }
}

fn not_an_object(path: &str, kind: Kind, expected: Kind, modified: Option<SystemTime>) -> Failure {
    Failure::Error(StorageError::NotAnObject {
        path: path.to_owned(),
        found: kind,
        expected,
        modified: modified.map(timestamp),
    })
}

fn io(path: &str, e: &std::io::Error) -> Failure {
    Failure::Io {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// Regular files below `dir` (shown as `at/NAME`) into `out`, `depth` folders down at most.
fn walk(dir: &Dir, at: &str, depth: usize, out: &mut Vec<ListedObject>) -> Result<(), Failure> {
    let entries = dir.entries().map_err(|e| io(at, &e))?;
    for entry in entries {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        let shown = if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}/{name}")
        };
        match entry.kind {
            Kind::File => match dir.stat(name) {
                // A file replaced by something else since it was listed is not an object.
                Ok(info) if info.kind == Kind::File => out.push(ListedObject {
                    path: shown,
                    info: object_info(info.size, info.modified),
                }),
                Ok(_) => {}
                // Gone since it was listed: as if it had not been there.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(io(&shown, &std::io::Error::other(e.to_string()))),
            },
            Kind::Dir if depth > 0 => {
                let sub = match dir.open_dir(name) {
                    Ok(d) => d,
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(io(&shown, &std::io::Error::other(e.to_string()))),
                };
                walk(&sub, &shown, depth - 1, out)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A `/`-separated path below the source, as a path of its raw components.
fn split(rel: &str) -> PathBuf {
    rel.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| OsStr::from_bytes(c.as_bytes()))
        .collect::<PathBuf>()
}

fn object_info(size: u64, modified: SystemTime) -> ObjectInfo {
    ObjectInfo {
        size,
        last_modified: timestamp(modified),
        e_tag: None,
    }
}

fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH)
}
