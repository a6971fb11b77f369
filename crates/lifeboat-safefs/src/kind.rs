//! What an entry is and what `lstat` says of it.

use std::ffi::OsString;
use std::time::{Duration, SystemTime};

use rustix::fs::FileType;

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
    pub(crate) fn of(mode: rustix::fs::RawMode) -> Kind {
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
    pub(crate) fn of(st: &rustix::fs::Stat) -> Info {
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
