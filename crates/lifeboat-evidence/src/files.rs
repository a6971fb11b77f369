//! How this crate touches the evidence folder and key files: through `lifeboat-safefs`, and
//! only through the functions here.
//!
//! An evidence folder may be writable by other accounts (SECURITY.md, classes 2 and 6), so
//! anything in it may have been planted: a link to `/dev/zero` or to another account's file, a
//! FIFO whose first read blocks forever, a file of any size. Therefore:
//!
//! - every file read there is opened below the folder's handle without following any link
//!   ([`Dir::open_file`]); it must be a regular file (a FIFO or a device is named, never
//!   opened for reading), and is read with a [`Cap`], checked against its size before the
//!   read (a huge file costs no memory) and enforced during it (a file that grows);
//! - every file written there is created under a fresh random name with `O_CREAT | O_EXCL |
//!   O_NOFOLLOW` and renamed into place ([`Dir::write_atomic`], [`Dir::write_atomic_all`]); a
//!   record is never renamed over anything ([`lifeboat_safefs::Replace::Never`]);
//! - `ledger.lock` is opened with `O_NOFOLLOW | O_NONBLOCK` and must be a regular file
//!   ([`Dir::open_or_create`]), and is waited for at most [`LOCK_WAIT`].
//!
//! Key files are the operator's paths: links to them are followed, but they must end at a
//! regular file, and are read with [`Cap::KEY`] ([`read_key`]).

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use lifeboat_safefs::{Dir, OpenError, Replace};

use crate::EvidenceError;

/// Permission bits of what lifeboat writes in the evidence folder (the umask may take more
/// away): an auditor may read it; only its writer may change it.
pub(crate) const FILE_MODE: u32 = 0o644;
pub(crate) const DIR_MODE: u32 = 0o755;

/// Writes `files` (name, bytes) into `dir` together ([`Dir::write_atomic_all`]: each whole,
/// flushed at once, the folder flushed once); a failure names the file's path, or the
/// folder's when flushing the folder failed.
pub(crate) fn write_together(
    dir: &Dir,
    files: &[(&str, &[u8])],
    replace: Replace,
) -> Result<(), EvidenceError> {
    dir.write_atomic_all(files, FILE_MODE, replace)
        .map_err(|e| EvidenceError::Write {
            path: e
                .name
                .map_or_else(|| dir.path().to_path_buf(), |name| dir.path().join(name)),
            source: e.source,
        })
}

/// How long a drill waits for `ledger.lock` while another process holds it, and
/// `evidence verify` for its shared hold. An append holds the lock for milliseconds (read the
/// ledger, sign, write two small files); a holder for longer than this is a lifeboat stuck on
/// a dead disk or another account holding the lock on purpose, and waiting on would hang the
/// drill (its signal handlers are gone by the time it records) or the daemon's slot.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The most lifeboat reads of one kind of file, with the reason for the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    pub bytes: u64,
    /// What is capped, with its article: "a record".
    pub what: &'static str,
}

impl Cap {
    /// `evidence.json`. A record lists every file the drill verified, about 300 bytes each,
    /// and lifeboat does not bound how many files a drill verifies (the default is the whole
    /// manifest): 1 GiB is some three million files, far beyond any drill seen, and a drill
    /// refuses to write a record larger than this, so writer and reader agree.
    pub const RECORD: Cap = Cap {
        bytes: 1 << 30,
        what: "a record",
    };
    /// `ledger.jsonl`: one line of about 600 bytes per record, so about 1.7 million records.
    /// Every append reads and rewrites the whole ledger; an evidence folder that large should
    /// be archived and a new one started well before this.
    pub const LEDGER: Cap = Cap {
        bytes: 1 << 30,
        what: "the ledger",
    };
    /// A `.minisig` file: under 1 KiB (two comment lines, two base64 lines; the trusted
    /// comments lifeboat writes are a few hundred bytes).
    pub const SIGNATURE: Cap = Cap {
        bytes: 64 << 10,
        what: "a signature",
    };
    /// A minisign key file: under 1 KiB (a comment line and one base64 line).
    pub const KEY: Cap = Cap {
        bytes: 64 << 10,
        what: "a key",
    };
}

impl fmt::Display for Cap {
    /// "1 GiB", "64 KiB": the caps are whole binary units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bytes;
        match b {
            _ if b >= 1 << 30 && b.is_multiple_of(1 << 30) => write!(f, "{} GiB", b >> 30),
            _ if b >= 1 << 20 && b.is_multiple_of(1 << 20) => write!(f, "{} MiB", b >> 20),
            _ if b >= 1 << 10 && b.is_multiple_of(1 << 10) => write!(f, "{} KiB", b >> 10),
            _ => write!(f, "{b} bytes"),
        }
    }
}

/// Why a file in the evidence folder, or a key file, was not read. Each names the path.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Missing, a link below the evidence folder, a FIFO, a device, a folder, …
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{path} is larger than the {cap} limit for {}", cap.what)]
    TooLarge { path: String, cap: Cap },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Open(e) if e.is_not_found())
    }

    /// Whether the file is there but is not what lifeboat writes (a planted link, FIFO,
    /// device or huge file), as opposed to the system failing to read it.
    pub fn is_planted(&self) -> bool {
        match self {
            ReadError::Open(OpenError::Io { .. }) | ReadError::Io { .. } => false,
            ReadError::Open(e) => !e.is_not_found(),
            ReadError::TooLarge { .. } => true,
        }
    }
}

/// Reads the regular file at `rel` below `dir`, never following a link, at most `cap`.
pub(crate) fn read_below(dir: &Dir, rel: impl AsRef<Path>, cap: Cap) -> Result<Vec<u8>, ReadError> {
    let rel = rel.as_ref();
    let file = dir.open_file(rel)?;
    read_open(file, &rel.to_string_lossy(), cap)
}

/// Reads a key file the operator named: links followed, but it must be a regular file of at
/// most [`Cap::KEY`]; never blocks on a FIFO, never reads a device.
pub fn read_key(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = lifeboat_safefs::open_regular(path)?;
    read_open(file, &path.display().to_string(), Cap::KEY)
}

fn read_open(file: File, shown: &str, cap: Cap) -> Result<Vec<u8>, ReadError> {
    lifeboat_safefs::read_capped(&file, cap.bytes).map_err(|e| match e {
        lifeboat_safefs::ReadError::TooLarge { .. } => ReadError::TooLarge {
            path: shown.to_string(),
            cap,
        },
        lifeboat_safefs::ReadError::Io(source) => ReadError::Io {
            path: shown.to_string(),
            source,
        },
    })
}

/// Shared (`evidence verify`) or exclusive (an append).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    Shared,
    Exclusive,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another process has held it for over {} s (a lifeboat stuck while recording, or \
         another account holding it)",
        waited.as_secs()
    )]
    Held { waited: Duration },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Takes `hold` of `file`'s lock, waiting at most `wait` for another process to let go.
pub(crate) fn lock(file: &File, hold: Hold, wait: Duration) -> Result<(), LockError> {
    let deadline = Instant::now() + wait;
    loop {
        let tried = match hold {
            Hold::Shared => file.try_lock_shared(),
            Hold::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Err(LockError::Held { waited: wait });
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn caps_read_as_their_unit() {
        assert_eq!(Cap::RECORD.to_string(), "1 GiB");
        assert_eq!(Cap::KEY.to_string(), "64 KiB");
        let odd = Cap {
            bytes: 1000,
            what: "x",
        };
        assert_eq!(odd.to_string(), "1000 bytes");
    }

    #[test]
    fn a_file_larger_than_its_cap_is_refused_before_it_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let f = File::create(tmp.path().join("record")).unwrap();
        f.set_len(Cap::SIGNATURE.bytes + 1).unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let e = read_below(&dir, "record", Cap::SIGNATURE).unwrap_err();
        assert_eq!(
            e.to_string(),
            "record is larger than the 64 KiB limit for a signature"
        );
        assert!(e.is_planted());
        f.set_len(Cap::SIGNATURE.bytes).unwrap();
        assert_eq!(
            read_below(&dir, "record", Cap::SIGNATURE).unwrap().len() as u64,
            Cap::SIGNATURE.bytes
        );
    }

    #[test]
    fn links_below_the_folder_are_named_not_followed_and_missing_files_are_not_planted() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("real"), b"bytes").unwrap();
        symlink(tmp.path().join("real"), tmp.path().join("link")).unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let e = read_below(&dir, "link", Cap::RECORD).unwrap_err();
        assert_eq!(e.to_string(), "link is a symbolic link, not a regular file");
        assert!(e.is_planted());
        let e = read_below(&dir, "missing", Cap::RECORD).unwrap_err();
        assert!(e.is_not_found() && !e.is_planted(), "{e}");
    }

    #[test]
    fn a_key_may_be_reached_through_a_link_but_never_be_a_device() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("k"), b"key").unwrap();
        symlink(tmp.path().join("k"), tmp.path().join("k-link")).unwrap();
        assert_eq!(read_key(&tmp.path().join("k-link")).unwrap(), b"key");
        let e = read_key(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero is a character device, not a regular file"
        );
    }

    #[test]
    fn a_lock_held_too_long_is_an_error_not_a_hang() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.lock");
        let holder = File::create(&path).unwrap();
        holder.lock().unwrap();
        // flock locks belong to the open file: a second open conflicts, even in one process.
        let waiter = File::open(&path).unwrap();
        let start = Instant::now();
        let e = lock(&waiter, Hold::Exclusive, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(e, LockError::Held { .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(lock(&waiter, Hold::Shared, Duration::from_millis(50)).is_err());
        holder.unlock().unwrap();
        lock(&waiter, Hold::Shared, Duration::from_millis(200)).unwrap();
    }

    #[test]
    fn a_lock_released_while_waiting_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.lock");
        let holder = File::create(&path).unwrap();
        holder.lock().unwrap();
        let waiter = File::open(&path).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(holder);
        });
        lock(&waiter, Hold::Exclusive, Duration::from_secs(10)).unwrap();
        release.join().unwrap();
    }
}
