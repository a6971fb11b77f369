//! Why a drill could not complete: the errors that end a drill with outcome `error` (exit 3),
//! as opposed to findings (a file that fails to verify, a step that fails), which fail a
//! recovery point and let the drill go on to the next.
//!
//! Each variant's message is the evidence's `reason` word for word, so the record, the
//! terminal and the webhooks say the same sentence; the drill decides what happens next by
//! the variant, never by comparing that sentence.

use std::io;
use std::path::PathBuf;

use lifeboat_storage::StorageError;

use crate::scratch::InsideSource;

/// A drill that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// Stopped through [`crate::DrillRequest::stop`] before its last check finished. Its
    /// message is the evidence's `reason` for such a drill, [`crate::INTERRUPTED`].
    #[error("{}", crate::INTERRUPTED)]
    Interrupted,
    /// The source could not be opened, listed or read: unreachable, credentials refused, a
    /// hung mount past its timeout.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A restic repository could not be opened or read: a wrong password, no `config`, an
    /// unreadable key, index or snapshot, or the storage under it. Never holds the password.
    /// (A snapshot file missing once the repository is open is [`Self::RepositoryChanged`]:
    /// see the `From` conversion.)
    #[error(transparent)]
    Restic(lifeboat_storage::restic::ResticError),
    /// Something a restic snapshot being drilled needs went away during the drill, and an
    /// index read afresh does not find it elsewhere: a `restic forget --prune` or `prune`
    /// ran meanwhile. No finding about the backup (nothing in it was shown damaged), so the
    /// drill cannot tell whether the snapshot restores.
    #[error(
        "repository changed during the drill: {missing} of snapshot {snapshot} is no longer in the repository, and a fresh index does not find it elsewhere (a `restic prune` or `forget --prune` ran?)"
    )]
    RepositoryChanged {
        /// The snapshot's id.
        snapshot: String,
        /// What is gone: `pack ID (holding chunk ID)`, `snapshots/ID`, `data/XX/ID`.
        missing: String,
    },
    /// The scratch area failed: full, read-only, a folder that cannot be made.
    #[error(transparent)]
    Scratch(#[from] ScratchError),
    /// The scratch root lies inside the local source: nothing runs.
    #[error(transparent)]
    InsideSource(#[from] InsideSource),
    /// The HTTP client for `http` steps and `notify` could not be built: nothing runs.
    #[error("cannot start an HTTP client: {detail}")]
    HttpClient {
        /// The client's error and its sources, in one line.
        detail: String,
    },
    /// A coverage phase was asked of a source format that has none yet (validation refuses
    /// such a runbook first).
    #[error("coverage is not supported yet for source.format: {format}")]
    CoverageUnsupported {
        /// The source format.
        format: &'static str,
    },
    /// The runbook has `coverage` and the drill was given no history store to keep its
    /// ledger in (the callers refuse this before anything runs).
    #[error("coverage needs the history store for its ledger, and this drill was given none")]
    NoLedger,
    /// The coverage ledger could not be read or written.
    #[error("coverage ledger: {detail}")]
    Ledger {
        /// The store's error, in one line.
        detail: String,
    },
    /// A restore's worker thread ended without an answer (it panicked, or the runtime is
    /// shutting down).
    #[error("restore worker failed: {0}")]
    Worker(#[source] tokio::task::JoinError),
}

impl From<lifeboat_storage::restic::ResticError> for DrillError {
    /// A snapshot file that is not in storage when a drill reads it is one discovery listed,
    /// and read, before: it was forgotten during the drill (discovery itself leaves out a
    /// snapshot that vanishes as it lists them). Every other error is as it is.
    fn from(e: lifeboat_storage::restic::ResticError) -> Self {
        match e {
            lifeboat_storage::restic::ResticError::Missing { object, .. }
                if object.starts_with("snapshots/") =>
            {
                DrillError::RepositoryChanged {
                    snapshot: object.trim_start_matches("snapshots/").to_owned(),
                    missing: object,
                }
            }
            e => DrillError::Restic(e),
        }
    }
}

/// The scratch area failed, so no restore can be trusted to have landed.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// The run folder, or a recovery point's folder in it, could not be made.
    #[error("cannot create the scratch folder {}: {source}", path.display())]
    Folder {
        /// The folder that could not be made.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A restored file could not be created, for a reason other than its own name.
    #[error("cannot write {} into the scratch area: {source}", path.display())]
    Create {
        /// The file that could not be created.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Writing restored bytes failed (disk full, quota, read-only).
    #[error("scratch area: writing {path}: {source}")]
    Write {
        /// The file, relative to its recovery point's folder.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// Flushing restored bytes to disk (`scratch.sync: file`) failed.
    #[error("scratch area: flushing {path}: {source}")]
    Flush {
        /// The file, relative to its recovery point's folder.
        path: String,
        /// Why.
        source: io::Error,
    },
}
