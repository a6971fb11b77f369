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

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

mod dir;
mod error;
mod kind;

pub use dir::{Dir, Replace, WriteAllError};
pub use error::OpenError;
pub use kind::{Entry, Info, Kind};

use dir::blocking;
use error::{expect, not_found};

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

#[cfg(test)]
mod tests;
