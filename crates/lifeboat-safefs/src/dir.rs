//! [`Dir`]: an open folder, and every lookup, creation and rename below it, one component
//! at a time, never through a link.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{expect, not_found, rebase, shown, wrong};
use crate::{Entry, Info, Kind, OpenError};

/// Whether [`Dir::write_atomic`] may replace a file already at the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (a ledger rewritten whole).
    Allow,
    /// Fail with `AlreadyExists` (a record, written once).
    Never,
}

/// What [`Dir::write_atomic_all`] could not do: write, flush or rename the file `name`, or
/// (`name` is `None`) flush the folder.
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", .name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default())]
pub struct WriteAllError {
    /// The file it is about; `None` for the folder itself.
    pub name: Option<String>,
    #[source]
    pub source: io::Error,
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
        self.write_atomic_with(name, mode, replace, |file| file.write_all(bytes))
    }

    /// [`Dir::write_atomic`] for content written as it is made (a manifest of a million
    /// lines), never held whole: `write` writes it into the temporary file (buffer it: each
    /// `write` there is a system call), which is then flushed and renamed into place the same
    /// way. When `write` fails the temporary file is removed and `name` is left as it was.
    pub fn write_atomic_with(
        &self,
        name: impl AsRef<Path>,
        mode: u32,
        replace: Replace,
        write: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        let name = single(name.as_ref())?;
        let (tmp, mut file) = self.create_temporary(name, mode)?;
        let written = write(&mut file)
            .and_then(|()| file.sync_all())
            .and_then(|()| self.rename_into_place(&tmp, name, replace));
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
            return Err(e);
        }
        self.sync()
    }

    /// [`Dir::write_atomic`] for several files at once, each `(name, bytes)` whole or not at
    /// all: every one written to a fresh temporary file, all of them flushed together (the
    /// filesystem commits concurrent flushes as one), renamed into place in order, then the
    /// folder flushed once, where one by one each file cost two flushes in turn. When writing
    /// or flushing any fails nothing is renamed; when a rename fails the files before it stay
    /// in place (whole) and the others do not. The error names the file it is about, or
    /// none when flushing the folder failed.
    pub fn write_atomic_all(
        &self,
        files: &[(&str, &[u8])],
        mode: u32,
        replace: Replace,
    ) -> Result<(), WriteAllError> {
        let failed = |name: &str| {
            let name = name.to_owned();
            move |source| WriteAllError {
                name: Some(name),
                source,
            }
        };
        let mut temporaries: Vec<(OsString, File)> = Vec::with_capacity(files.len());
        let remove = |temporaries: &[(OsString, File)]| {
            for (tmp, _) in temporaries {
                let _ = rustix::fs::unlinkat(&self.fd, tmp, AtFlags::empty());
            }
        };
        for (name, bytes) in files {
            let created = single(Path::new(name))
                .map_err(io::Error::from)
                .and_then(|leaf| self.create_temporary(leaf, mode));
            let written = created.and_then(|(tmp, mut file)| {
                let written = file.write_all(bytes);
                temporaries.push((tmp, file));
                written
            });
            if let Err(e) = written {
                remove(&temporaries);
                return Err(failed(name)(e));
            }
        }
        // A file whose thread cannot be started (the process is at its thread limit) is
        // flushed on this one instead.
        let flushed: Vec<io::Result<()>> =
            std::thread::scope(|scope| {
                let others: Vec<_> = temporaries
                    .iter()
                    .skip(1)
                    .map(|(_, file)| {
                        #[cfg(test)]
                        if crate::tests::spawns_refused() {
                            return Err(file);
                        }
                        std::thread::Builder::new()
                            .spawn_scoped(scope, || file.sync_all())
                            .map_err(|_| file)
                    })
                    .collect();
                let first = temporaries.first().map(|(_, file)| file.sync_all());
                first
                    .into_iter()
                    .chain(others.into_iter().map(|flushing| match flushing {
                        Ok(thread) => thread.join().unwrap_or_else(|_| {
                            Err(io::Error::other("the flushing thread panicked"))
                        }),
                        Err(file) => {
                            #[cfg(test)]
                            crate::tests::flushed_here();
                            file.sync_all()
                        }
                    }))
                    .collect()
            });
        if let Some((n, Err(e))) = flushed.into_iter().enumerate().find(|(_, r)| r.is_err()) {
            remove(&temporaries);
            return Err(failed(files[n].0)(e));
        }
        for (n, ((name, _), (tmp, _))) in files.iter().zip(&temporaries).enumerate() {
            if let Err(e) = self.rename_into_place(tmp, OsStr::new(name), replace) {
                remove(&temporaries[n..]);
                return Err(failed(name)(e));
            }
        }
        self.sync()
            .map_err(|source| WriteAllError { name: None, source })
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
pub(crate) fn blocking(fd: &OwnedFd) -> Result<(), Errno> {
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
