//! Touching files someone else controls: below a root, never through a link, never a FIFO or
//! a device, reads capped, writes exclusive.
//!
//! A backup is written by the machine it protects — the machine an attacker has most likely
//! taken — and an evidence folder or a shared temporary folder may be writable by other
//! accounts. A path below such a folder can lead anywhere: a symlink to `/etc/passwd` or
//! `/proc/self/environ`, a FIFO whose first `open` for reading blocks forever, a device that
//! never ends. This crate is the one way lifeboat touches such a tree, so that class of bug is
//! ruled out in one place rather than case by case:
//!
//! - A [`Dir`] is an open handle on a folder. Every lookup below it walks one component at a
//!   time with `openat(…, O_NOFOLLOW)`: no symlink anywhere below the handle is followed, and
//!   `..`, absolute paths and empty paths are refused before any system call.
//! - A file is opened only if it is a regular file. Its type is checked without following it
//!   before the open (so a device is never opened: opening some has side effects), the open
//!   itself is `O_NONBLOCK | O_NOFOLLOW` (so a FIFO or link swapped in meanwhile can neither
//!   block nor redirect it), and the type is checked again on the open descriptor.
//! - Files are created with `O_CREAT | O_EXCL | O_NOFOLLOW` and renamed into place
//!   ([`Dir::write_atomic`]); with [`Replace::Never`] the rename refuses to replace anything,
//!   so a record once written is never overwritten.
//! - [`read_capped`] reads at most a given number of bytes, whatever the file claims, and
//!   refuses a file whose size is over them before reading a byte.
//!
//! The folder a [`Dir`] is opened at is the operator's choice (`source.url`,
//! `--evidence-dir`, `--scratch-dir`) and may itself be reached through symlinks: only what
//! lies below it is distrusted. Errors say which component was what ([`OpenError`]), so a
//! caller can give a truthful reason ("is a FIFO (named pipe)", not "missing"). Unix only, as
//! lifeboat is.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// What a directory entry is, as `lstat` sees it (links are not followed). Ordered as
/// declared, so counts per kind list in a stable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl Kind {
    fn of(mode: rustix::fs::RawMode) -> Kind {
        match FileType::from_raw_mode(mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice => Kind::CharDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            _ => Kind::Unknown,
        }
    }

    /// The kind with its article, for a sentence: "a symbolic link", "a FIFO (named pipe)".
    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symbolic link",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Unknown => "a special file of unknown type",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a path below a [`Dir`] could not be opened. `path` is the path relative to the
/// [`Dir`], up to the component that stopped the walk.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A component does not exist.
    #[error("{path} does not exist")]
    NotFound { path: String },
    /// A component is not what the walk needs there: a link or FIFO where a folder or a
    /// regular file must be, a folder where a file must be, …
    #[error("{path} is {kind}, not {expected}")]
    WrongKind {
        path: String,
        kind: Kind,
        expected: Kind,
    },
    /// The path is absolute, holds `..`, or is empty: it could name something outside the
    /// [`Dir`], so it is refused before any lookup.
    #[error("{path:?} is not a relative path below the folder")]
    NotBelow { path: String },
    /// Something is already at a name that must be new ([`Dir::create_dir_new`]).
    #[error("{path} already exists")]
    AlreadyExists { path: String },
    /// Any other error of the system.
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl OpenError {
    /// The kind of a component that was in the way, if that is what stopped the walk.
    pub fn wrong_kind(&self) -> Option<Kind> {
        match self {
            OpenError::WrongKind { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, OpenError::NotFound { .. })
    }

    fn io(path: &Path, errno: Errno) -> OpenError {
        OpenError::Io {
            path: shown(path),
            source: errno.into(),
        }
    }
}

impl From<OpenError> for io::Error {
    fn from(e: OpenError) -> io::Error {
        let kind = match &e {
            OpenError::NotFound { .. } => io::ErrorKind::NotFound,
            OpenError::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
            OpenError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// What `lstat` says of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub kind: Kind,
    pub size: u64,
    pub modified: SystemTime,
    /// Permission bits, `0o7777` at most (set-id and sticky bits included).
    pub mode: u32,
    pub uid: u32,
}

impl Info {
    // `stat`'s field types differ between platforms: the casts are not all no-ops everywhere.
    #[allow(clippy::unnecessary_cast)]
    fn of(st: &rustix::fs::Stat) -> Info {
        let secs = st.st_mtime as i64;
        let nanos = (st.st_mtime_nsec as u32).min(999_999_999);
        let modified = if secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_nanos(u64::from(nanos))
        };
        Info {
            kind: Kind::of(st.st_mode as _),
            size: u64::try_from(st.st_size).unwrap_or(0),
            modified,
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid as u32,
        }
    }
}

/// An entry of a folder: its name exactly as the filesystem holds it (any bytes but `/` and
/// NUL), and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// Whether [`Dir::write_atomic`] may replace a file already at the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (a ledger rewritten whole).
    Allow,
    /// Fail with `AlreadyExists` (a record, written once).
    Never,
}

/// An open folder. Lookups below it never follow a link.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens the folder at `path`, the operator's choice: links on the way to it are followed
    /// (only what lies below it is distrusted). It must be a folder.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Dir> {
        let path = path.as_ref();
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The path this folder was opened at (for messages; lookups use the handle).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the same folder.
    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
        })
    }

    /// Opens the regular file at `rel` for reading.
    pub fn open_file(&self, rel: impl AsRef<Path>) -> Result<File, OpenError> {
        let rel = rel.as_ref();
        let (parent, leaf) = self.walk_parent(rel)?;
        let before = match rustix::fs::statat(parent.as_fd(self), leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Err(not_found(rel)),
            Err(e) => return Err(OpenError::io(rel, e)),
        };
        expect(rel, Kind::of(before.st_mode), Kind::File)?;
        let fd = match rustix::fs::openat(
            parent.as_fd(self),
            leaf,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(not_found(rel)),
            Err(Errno::LOOP) => return Err(wrong(rel, Kind::Symlink, Kind::File)),
            Err(e) => return Err(OpenError::io(rel, e)),
        };
        let after = rustix::fs::fstat(&fd).map_err(|e| OpenError::io(rel, e))?;
        expect(rel, Kind::of(after.st_mode), Kind::File)?;
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) {
            return Err(OpenError::Io {
                path: shown(rel),
                source: io::Error::other("it was replaced while being opened"),
            });
        }
        blocking(&fd).map_err(|e| OpenError::io(rel, e))?;
        Ok(File::from(fd))
    }

    /// Opens the folder at `rel` (`""` or `"."`: this folder again).
    pub fn open_dir(&self, rel: impl AsRef<Path>) -> Result<Dir, OpenError> {
        let rel = rel.as_ref();
        let parts = components(rel)?;
        let mut handle = Handle::Root;
        let mut walked = PathBuf::new();
        for part in parts {
            walked.push(part);
            handle = Handle::Owned(open_dir_at(handle.as_fd(self), part, &walked)?);
        }
        let fd = match handle {
            Handle::Root => self.fd.try_clone().map_err(|source| OpenError::Io {
                path: shown(rel),
                source,
            })?,
            Handle::Owned(fd) => fd,
        };
        Ok(Dir {
            fd,
            path: self.path.join(rel),
        })
    }

    /// What is at `rel`, without following it (or any link on the way).
    pub fn stat(&self, rel: impl AsRef<Path>) -> Result<Info, OpenError> {
        let rel = rel.as_ref();
        let (parent, leaf) = self.walk_parent(rel)?;
        match rustix::fs::statat(parent.as_fd(self), leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Info::of(&st)),
            Err(Errno::NOENT) => Err(not_found(rel)),
            Err(e) => Err(OpenError::io(rel, e)),
        }
    }

    /// The folder's entries (not `.` and `..`), sorted by their bytes.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Unknown => {
                    match rustix::fs::statat(&self.fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                    {
                        Ok(st) => Kind::of(st.st_mode),
                        // Gone since it was listed.
                        Err(Errno::NOENT) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                t => Kind::of(t.as_raw_mode()),
            };
            out.push(Entry {
                name: OsString::from_vec(name.to_vec()),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(out)
    }

    /// Creates the folder `name` (one component) with `mode`, or opens it if a folder is
    /// already there. A link or anything else at the name is an error, never followed.
    pub fn create_dir(&self, name: impl AsRef<Path>, mode: u32) -> Result<Dir, OpenError> {
        let name = name.as_ref();
        let leaf = single(name)?;
        match rustix::fs::mkdirat(&self.fd, leaf, Mode::from_raw_mode(mode as _)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(OpenError::io(name, e)),
        }
        let fd = open_dir_at(self.fd.as_fd(), leaf, name)?;
        Ok(Dir {
            fd,
            path: self.path.join(name),
        })
    }

    /// [`Dir::create_dir`] for each component of `rel` in turn.
    pub fn create_dir_all(&self, rel: impl AsRef<Path>, mode: u32) -> Result<Dir, OpenError> {
        let rel = rel.as_ref();
        let mut dir = self.try_clone().map_err(|source| OpenError::Io {
            path: shown(rel),
            source,
        })?;
        let mut walked = PathBuf::new();
        for part in components(rel)? {
            walked.push(part);
            dir = dir.create_dir(part, mode).map_err(|e| rebase(e, &walked))?;
        }
        Ok(Dir {
            fd: dir.fd,
            path: self.path.join(rel),
        })
    }

    /// Creates the folder at `rel`, which must not exist yet (its parent must): for a folder
    /// that only this process may have made, such as a run's evidence folder. A folder already
    /// there is [`OpenError::AlreadyExists`]; a link or anything else there is
    /// [`OpenError::WrongKind`]; nothing is followed.
    pub fn create_dir_new(&self, rel: impl AsRef<Path>, mode: u32) -> Result<Dir, OpenError> {
        let rel = rel.as_ref();
        let (parent, leaf) = self.walk_parent(rel)?;
        match rustix::fs::mkdirat(parent.as_fd(self), leaf, Mode::from_raw_mode(mode as _)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                let kind = rustix::fs::statat(parent.as_fd(self), leaf, AtFlags::SYMLINK_NOFOLLOW)
                    .map_or(Kind::Unknown, |st| Kind::of(st.st_mode));
                return Err(match kind {
                    Kind::Dir => OpenError::AlreadyExists { path: shown(rel) },
                    kind => wrong(rel, kind, Kind::Dir),
                });
            }
            Err(Errno::NOENT) => return Err(not_found(rel)),
            Err(e) => return Err(OpenError::io(rel, e)),
        }
        // Swapped for a link since it was made: refused by the open.
        let fd = open_dir_at(parent.as_fd(self), leaf, rel)?;
        Ok(Dir {
            fd,
            path: self.path.join(rel),
        })
    }

    /// Creates the file `name` (one component), which must not exist: `O_CREAT | O_EXCL |
    /// O_NOFOLLOW`, so nothing planted at the name is ever written through.
    pub fn create_new(&self, name: impl AsRef<Path>, mode: u32) -> io::Result<File> {
        let leaf = single(name.as_ref())?;
        let fd = rustix::fs::openat(
            &self.fd,
            leaf,
            OFlags::RDWR
                | OFlags::CREATE
                | OFlags::EXCL
                | OFlags::NOFOLLOW
                | OFlags::NOCTTY
                | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode as _),
        )?;
        Ok(File::from(fd))
    }

    /// Opens the regular file `name` (one component) for reading and writing, creating it if
    /// it is missing: for a lock file that several processes share. A link, FIFO or anything
    /// else at the name is an error; nothing blocks.
    pub fn open_or_create(&self, name: impl AsRef<Path>, mode: u32) -> Result<File, OpenError> {
        let name = name.as_ref();
        let leaf = single(name)?;
        let fd = match rustix::fs::openat(
            &self.fd,
            leaf,
            OFlags::RDWR
                | OFlags::CREATE
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::NOCTTY
                | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode as _),
        ) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => return Err(wrong(name, Kind::Symlink, Kind::File)),
            Err(Errno::ISDIR) => return Err(wrong(name, Kind::Dir, Kind::File)),
            Err(e) => return Err(OpenError::io(name, e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| OpenError::io(name, e))?;
        expect(name, Kind::of(st.st_mode), Kind::File)?;
        blocking(&fd).map_err(|e| OpenError::io(name, e))?;
        Ok(File::from(fd))
    }

    /// Writes `bytes` to `name` (one component) so that a crash leaves the old file or the
    /// new one, never half of one: a temporary file created exclusively beside it, flushed,
    /// renamed over `name` (or, with [`Replace::Never`], renamed only if nothing is there),
    /// then the folder flushed. The temporary name is fresh each time: a file or link
    /// planted at a predictable name is never written through, only avoided.
    pub fn write_atomic(
        &self,
        name: impl AsRef<Path>,
        bytes: &[u8],
        mode: u32,
        replace: Replace,
    ) -> io::Result<()> {
        let name = single(name.as_ref())?;
        let (tmp, mut file) = self.create_temporary(name, mode)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| self.rename_into_place(&tmp, name, replace));
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
            return Err(e);
        }
        self.sync()
    }

    /// Removes the file or link `name` (one component); never follows it.
    pub fn remove_file(&self, name: impl AsRef<Path>) -> io::Result<()> {
        let leaf = single(name.as_ref())?;
        rustix::fs::unlinkat(&self.fd, leaf, AtFlags::empty())?;
        Ok(())
    }

    /// Flushes the folder itself (its entries) to disk.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.fd)?;
        Ok(())
    }

    fn create_temporary(&self, name: &OsStr, mode: u32) -> io::Result<(OsString, File)> {
        let mut last = None;
        for _ in 0..16 {
            let mut tmp = OsString::from(".");
            tmp.push(name);
            tmp.push(format!(".tmp-{}-{:016x}", std::process::id(), random_u64()));
            match self.create_new(&tmp, mode) {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    fn rename_into_place(&self, tmp: &OsStr, name: &OsStr, replace: Replace) -> io::Result<()> {
        match replace {
            Replace::Allow => rustix::fs::renameat(&self.fd, tmp, &self.fd, name)?,
            Replace::Never => rename_noreplace(&self.fd, tmp, name)?,
        }
        Ok(())
    }

    /// Opens every folder on the way to `rel`'s last component, never following a link.
    fn walk_parent<'p>(&self, rel: &'p Path) -> Result<(Handle, &'p OsStr), OpenError> {
        let parts = components(rel)?;
        let Some((leaf, folders)) = parts.split_last() else {
            return Err(OpenError::NotBelow { path: shown(rel) });
        };
        let mut handle = Handle::Root;
        let mut walked = PathBuf::new();
        for part in folders {
            walked.push(part);
            handle = Handle::Owned(open_dir_at(handle.as_fd(self), part, &walked)?);
        }
        Ok((handle, leaf))
    }
}

/// Opens the regular file at `path`, a path the operator gave (a key file): links on the way
/// are followed, but what they lead to must be a regular file, and nothing blocks.
pub fn open_regular(path: impl AsRef<Path>) -> Result<File, OpenError> {
    let path = path.as_ref();
    let before = match rustix::fs::statat(rustix::fs::CWD, path, AtFlags::empty()) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Err(not_found(path)),
        Err(e) => return Err(OpenError::io(path, e)),
    };
    expect(path, Kind::of(before.st_mode), Kind::File)?;
    let fd = rustix::fs::openat(
        rustix::fs::CWD,
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::NOENT => not_found(path),
        e => OpenError::io(path, e),
    })?;
    let after = rustix::fs::fstat(&fd).map_err(|e| OpenError::io(path, e))?;
    expect(path, Kind::of(after.st_mode), Kind::File)?;
    blocking(&fd).map_err(|e| OpenError::io(path, e))?;
    Ok(File::from(fd))
}

/// Why [`read_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// `size` is what the file's metadata claimed, or, for a file that grew while it was
    /// read (or claims nothing, as a device does), `limit + 1`: the byte that crossed it.
    #[error("{size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads the whole of `file`, but never more than `limit` bytes. A file whose size is over
/// the limit is refused before a byte is read, so a huge one costs no memory; one that grows
/// while it is read, or claims a size it does not have (a link to `/dev/zero`), is stopped
/// one byte past the limit. Either way [`ReadError::TooLarge`].
pub fn read_capped(file: &File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: limit.saturating_add(1),
            limit,
        });
    }
    Ok(out)
}

enum Handle {
    Root,
    Owned(OwnedFd),
}

impl Handle {
    fn as_fd<'a>(&'a self, dir: &'a Dir) -> BorrowedFd<'a> {
        match self {
            Handle::Root => dir.fd.as_fd(),
            Handle::Owned(fd) => fd.as_fd(),
        }
    }
}

/// The plain components of a relative path; `.` is skipped, anything that could leave the
/// folder is refused.
fn components(rel: &Path) -> Result<Vec<&OsStr>, OpenError> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(OpenError::NotBelow { path: shown(rel) });
            }
        }
    }
    Ok(parts)
}

/// One plain component.
fn single(name: &Path) -> Result<&OsStr, OpenError> {
    match components(name)?.as_slice() {
        [one] => Ok(one),
        _ => Err(OpenError::NotBelow { path: shown(name) }),
    }
}

fn open_dir_at(parent: BorrowedFd<'_>, name: &OsStr, walked: &Path) -> Result<OwnedFd, OpenError> {
    match rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY
            | OFlags::DIRECTORY
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOENT) => Err(not_found(walked)),
        Err(Errno::LOOP | Errno::NOTDIR) => {
            let kind = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_or(Kind::Unknown, |st| Kind::of(st.st_mode));
            Err(wrong(walked, kind, Kind::Dir))
        }
        Err(e) => Err(OpenError::io(walked, e)),
    }
}

/// Clears `O_NONBLOCK` once the descriptor is known to be a regular file or a lock, so reads
/// behave as usual.
fn blocking(fd: &OwnedFd) -> Result<(), Errno> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags - OFlags::NONBLOCK)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn rename_noreplace(dir: &OwnedFd, from: &OsStr, to: &OsStr) -> Result<(), Errno> {
    match rustix::fs::renameat_with(dir, from, dir, to, rustix::fs::RenameFlags::NOREPLACE) {
        // A filesystem without RENAME_NOREPLACE: a hard link fails the same way on an
        // existing name, then the temporary name goes.
        Err(Errno::INVAL | Errno::NOSYS) => link_noreplace(dir, from, to),
        other => other,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rename_noreplace(dir: &OwnedFd, from: &OsStr, to: &OsStr) -> Result<(), Errno> {
    link_noreplace(dir, from, to)
}

fn link_noreplace(dir: &OwnedFd, from: &OsStr, to: &OsStr) -> Result<(), Errno> {
    rustix::fs::linkat(dir, from, dir, to, AtFlags::empty())?;
    rustix::fs::unlinkat(dir, from, AtFlags::empty())
}

fn expect(path: &Path, kind: Kind, expected: Kind) -> Result<(), OpenError> {
    if kind == expected {
        Ok(())
    } else {
        Err(wrong(path, kind, expected))
    }
}

fn wrong(path: &Path, kind: Kind, expected: Kind) -> OpenError {
    OpenError::WrongKind {
        path: shown(path),
        kind,
        expected,
    }
}

fn not_found(path: &Path) -> OpenError {
    OpenError::NotFound { path: shown(path) }
}

/// An error about one component, renamed to the whole path walked so far.
fn rebase(e: OpenError, walked: &Path) -> OpenError {
    let path = shown(walked);
    match e {
        OpenError::NotFound { .. } => OpenError::NotFound { path },
        OpenError::WrongKind { kind, expected, .. } => OpenError::WrongKind {
            path,
            kind,
            expected,
        },
        OpenError::NotBelow { .. } => OpenError::NotBelow { path },
        OpenError::AlreadyExists { .. } => OpenError::AlreadyExists { path },
        OpenError::Io { source, .. } => OpenError::Io { path, source },
    }
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A random u64 from the standard library's per-process hash keys, mixed with the clock.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

#[cfg(test)]
mod tests;
