//! The scratch area: the one place a drill writes restored files, and how it stays that way.
//!
//! Each drill restores into a run folder of its own, `SCRATCH_ROOT/lifeboat-NAME-RUN_ID`,
//! mode 0700, and every folder lifeboat makes inside it is 0700 too. The scratch root is
//! often a temporary folder other accounts share, so:
//!
//! - The run folder is made under a hidden pending name with `mkdir` (which never follows or
//!   reuses anything already there), checked to be ours, locked with `flock` on the folder
//!   itself, and only then renamed to its final name. A folder under a lifeboat run name is
//!   therefore locked for exactly as long as the drill that made it lives: the kernel drops
//!   the lock when the process ends, however it ends, and no PID can be reused to fake it.
//! - [`remove_stale`] removes the run folders a killed drill left behind: folders under a
//!   lifeboat name, owned by the current user, reached without following a symlink or opening
//!   anything but a folder, whose lock it can take (so their drill is gone), and that do not
//!   carry [`KEPT_MARKER`] (`scratch.keep` kept them on purpose). Nothing else in the root is
//!   touched: several runners, and other accounts, may share it.
//! - [`check_outside_source`] refuses a scratch root, evidence folder or history file inside
//!   a local source, before anything runs: a restored copy written into the backup it checks
//!   would change the backup and become a recovery point of its own.
//!
//! The lock is on the folder, not a file in it, so no name inside the run folder is reserved:
//! a recovery point may be called anything and still get its folder.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use lifeboat_core::runbook::SourceSpec;

/// The mode of every folder lifeboat makes in the scratch area: its owner's alone.
pub const FOLDER_MODE: u32 = 0o700;

/// The mode of a restored object that carries none of its own (S3, Azure): readable and
/// writable by its owner only. A local object's restored copy keeps at most its own
/// permission bits (see [`restored_mode`]).
pub const REMOTE_FILE_MODE: u32 = 0o600;

/// A regular file of this name in a run folder says `scratch.keep` kept it: [`remove_stale`]
/// leaves the folder alone. Only lifeboat writes regular files at that level (recovery points
/// are folders there), so a point of the same name cannot pass for it.
pub const KEPT_MARKER: &str = ".lifeboat-kept";

/// A pending folder this old was left by a drill killed between `mkdir` and its lock, a few
/// system calls apart; a younger one may belong to a drill starting right now.
const PENDING_STALE_AFTER: Duration = Duration::from_secs(60);

/// The mode a restored file is created with: the object's permission bits without setuid,
/// setgid and sticky (`mode & 0o777`), or [`REMOTE_FILE_MODE`] when the object has no mode.
/// The process umask applies on top, as it does for `cp`; the run folder's 0700 keeps every
/// other account out whatever the bits say.
pub fn restored_mode(object_mode: Option<u32>) -> u32 {
    object_mode.map_or(REMOTE_FILE_MODE, |m| m & 0o777)
}

/// The run folder's name: `lifeboat-NAME-RUN_ID`.
pub fn folder_name(runbook: &str, run_id: &str) -> String {
    format!("lifeboat-{runbook}-{run_id}")
}

fn pending_name(folder: &str) -> String {
    format!(".{folder}.pending")
}

/// What a name in the scratch root is to lifeboat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Made {
    /// A run folder: `lifeboat-NAME-RUN_ID`.
    Run,
    /// A run folder not yet locked and renamed: `.lifeboat-NAME-RUN_ID.pending`.
    Pending,
}

/// `Some` when `name` is one lifeboat gives its folders, with a valid runbook name and run
/// id (`YYYYMMDDTHHMMSSZ-xxxxxx`); anything else in the root is not lifeboat's.
fn made_by_lifeboat(name: &str) -> Option<Made> {
    let (made, folder) = match name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".pending"))
    {
        Some(folder) => (Made::Pending, folder),
        None => (Made::Run, name),
    };
    let rest = folder.strip_prefix("lifeboat-")?;
    // The run id: 16 characters of time, `-`, 6 hex digits.
    let split = rest.len().checked_sub(24)?;
    let (runbook, run_id) = rest.split_at_checked(split)?;
    let run_id = run_id.strip_prefix('-')?.as_bytes();
    let time_ok = run_id.len() == 23
        && run_id[..8].iter().all(u8::is_ascii_digit)
        && run_id[8] == b'T'
        && run_id[9..15].iter().all(u8::is_ascii_digit)
        && run_id[15] == b'Z'
        && run_id[16] == b'-'
        && run_id[17..]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    (time_ok && is_runbook_name(runbook)).then_some(made)
}

/// `[a-z0-9][a-z0-9._-]{0,62}`, as `validate` checks a runbook's name.
fn is_runbook_name(name: &str) -> bool {
    let ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && ok(&b[0])
        && b[1..]
            .iter()
            .all(|c| ok(c) || matches!(c, b'.' | b'_' | b'-'))
}

/// A drill's run folder, locked for as long as this value lives.
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
    /// The folder itself, opened and `flock`ed: dropping it drops the lock.
    _lock: File,
}

impl RunFolder {
    /// Makes `root/name` (and `root` if missing), mode 0700, locked; see the module's doc.
    /// Fails when anything already has that name.
    pub fn create(root: &Path, name: &str) -> io::Result<RunFolder> {
        DirBuilder::new()
            .recursive(true)
            .mode(FOLDER_MODE)
            .create(root)?;
        let pending = root.join(pending_name(name));
        DirBuilder::new().mode(FOLDER_MODE).create(&pending)?;
        let made = Self::lock_and_name(&pending, root.join(name));
        if made.is_err() {
            let _ = std::fs::remove_dir(&pending);
        }
        made
    }

    fn lock_and_name(pending: &Path, path: PathBuf) -> io::Result<RunFolder> {
        let lock = open_folder(pending)?;
        let meta = lock.metadata()?;
        if meta.uid() != effective_uid() {
            return Err(io::Error::other(format!(
                "{} is not owned by this user",
                pending.display()
            )));
        }
        // Exactly 0700, whatever the umask left of it.
        lock.set_permissions(std::fs::Permissions::from_mode(FOLDER_MODE))?;
        lock.try_lock().map_err(io::Error::from)?;
        std::fs::rename(pending, &path)?;
        let named = std::fs::symlink_metadata(&path)?;
        if (named.dev(), named.ino()) != (meta.dev(), meta.ino()) {
            return Err(io::Error::other(format!(
                "{} was replaced while it was being made",
                path.display()
            )));
        }
        Ok(RunFolder { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder for recovery point `id` (made, mode 0700, if missing). `id` must be one
    /// plain name: never `..`, `.` or a path.
    pub fn point(&self, id: &str) -> io::Result<PathBuf> {
        let mut parts = Path::new(id).components();
        let (Some(Component::Normal(name)), None) = (parts.next(), parts.next()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("recovery point id {id:?} cannot name a folder"),
            ));
        };
        let dir = self.path.join(name);
        match DirBuilder::new().mode(FOLDER_MODE).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = std::fs::symlink_metadata(&dir)?;
                if meta.is_dir() { Ok(dir) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    /// Marks the folder kept ([`KEPT_MARKER`]) and lets it go: no later drill removes it.
    pub fn keep(self, run_id: &str) -> io::Result<()> {
        use std::io::Write;
        let mut marker = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.path.join(KEPT_MARKER))?;
        writeln!(
            marker,
            "Kept by lifeboat run {run_id} (scratch.keep). lifeboat never removes a folder \
             holding this file: remove the folder when you are done with it."
        )
    }

    /// Removes the folder and everything in it, then lets the lock go.
    pub fn remove(self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Makes `path` and its missing parents, each mode 0700 (less if the umask says so). For
/// folders inside a run folder only, which no other account can write into.
pub fn create_folders(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(FOLDER_MODE)
        .create(path)
}

/// Opens a folder without following a symlink, and without blocking or opening anything
/// that is not a folder (a FIFO planted under a lifeboat name fails with `ENOTDIR`).
fn open_folder(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[allow(unsafe_code)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid takes nothing, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Removes from `root` every run folder a drill that no longer runs left behind (killed, or
/// stopped by a second signal), and says so in the log: see the module's doc for which
/// folders qualify. Returns the folders removed. Never fails: what cannot be checked or
/// removed is left as it is (and logged when it was a stale folder of ours).
pub fn remove_stale(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let uid = effective_uid();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(made) = name.to_str().and_then(made_by_lifeboat) else {
            continue;
        };
        let path = root.join(&name);
        let Some(lock) = stale(&path, made, uid) else {
            continue;
        };
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::warn!(
                    "removed scratch folder {} left by a drill that did not finish (its process \
                     is gone)",
                    path.display()
                );
                removed.push(path);
            }
            Err(e) => tracing::warn!(
                "cannot remove scratch folder {} left by a drill that did not finish: {e}",
                path.display()
            ),
        }
        drop(lock);
    }
    removed
}

/// The folder's lock, taken, when `path` is a stale folder of ours; `None` otherwise.
fn stale(path: &Path, made: Made, uid: u32) -> Option<File> {
    let dir = open_folder(path).ok()?;
    let meta = dir.metadata().ok()?;
    if !meta.is_dir() || meta.uid() != uid {
        return None;
    }
    if made == Made::Pending {
        let changed = SystemTime::UNIX_EPOCH
            + Duration::new(
                u64::try_from(meta.ctime()).ok()?,
                u32::try_from(meta.ctime_nsec()).ok()?,
            );
        let age = SystemTime::now()
            .duration_since(changed)
            .unwrap_or_default();
        if age < PENDING_STALE_AFTER {
            return None;
        }
    }
    // Held by a live drill (or another cleaner right now): not ours to touch.
    dir.try_lock().ok()?;
    if made == Made::Run {
        let marker = std::fs::symlink_metadata(path.join(KEPT_MARKER));
        if marker.is_ok_and(|m| m.is_file() && m.uid() == uid) {
            return None;
        }
    }
    // Still the folder we opened and locked under that name.
    let named = std::fs::symlink_metadata(path).ok()?;
    ((named.dev(), named.ino()) == (meta.dev(), meta.ino())).then_some(dir)
}

/// Which of lifeboat's own places [`check_outside_source`] found inside a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The scratch root (`--scratch-dir`, default: the temporary folder).
    Scratch,
    /// The evidence folder (`--evidence-dir`, default: `./evidence`).
    Evidence,
    /// The history store file (`--state`).
    State,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Place::Scratch => "scratch folder",
            Place::Evidence => "evidence folder",
            Place::State => "history store",
        })
    }
}

/// A place lifeboat would write to lies inside a local source.
#[derive(Debug, thiserror::Error)]
#[error(
    "the {place} {} is inside the backup source {url} ({}): a drill would write into the backup it checks",
    path.display(),
    source_dir.display()
)]
pub struct InsideSource {
    pub place: Place,
    /// The place as given.
    pub path: PathBuf,
    /// The source URL as written in the runbook.
    pub url: String,
    /// The folder the source reads.
    pub source_dir: PathBuf,
}

/// `Err` when one of `places` lies inside the folder of a local source (or is it): compared
/// as the folders they are, so a symlink, `..` or a bind mount cannot hide one inside the
/// other. A place that does not exist yet is judged by where it would be made. A cloud
/// source, or a local one that cannot be opened (the drill then says why), has nothing to
/// be inside of.
pub fn check_outside_source(
    spec: &SourceSpec,
    places: &[(Place, &Path)],
) -> Result<(), InsideSource> {
    let Ok(source) = lifeboat_storage::Source::open(spec) else {
        return Ok(());
    };
    let Some(source_dir) = source.local_root() else {
        return Ok(());
    };
    let Ok(meta) = std::fs::metadata(source_dir) else {
        return Ok(());
    };
    let id = (meta.dev(), meta.ino());
    for &(place, path) in places {
        if is_within(path, id) {
            return Err(InsideSource {
                place,
                path: path.to_path_buf(),
                url: spec.url.clone(),
                source_dir: source_dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether the folder `id` (device, inode) is `path` or one of the folders it is in.
fn is_within(path: &Path, id: (u64, u64)) -> bool {
    physical(path)
        .ancestors()
        .any(|a| std::fs::metadata(a).is_ok_and(|m| (m.dev(), m.ino()) == id))
}

/// Where `path` is, or would be once made: its existing part with every symlink resolved,
/// then the rest as `mkdir -p` would make it (`..` of a folder yet to be made is its parent).
fn physical(path: &Path) -> PathBuf {
    let Ok(absolute) = std::path::absolute(path) else {
        return path.to_path_buf();
    };
    let mut at = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::Prefix(_) | Component::RootDir => at.push(part.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(name) => {
                at.push(name);
                if let Ok(real) = at.canonicalize() {
                    at = real;
                }
            }
        }
    }
    at
}

#[cfg(test)]
mod tests;
