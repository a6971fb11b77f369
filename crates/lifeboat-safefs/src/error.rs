//! Why a path below a [`Dir`](crate::Dir)(crate::Dir) could not be opened, naming the component.

use std::io;
use std::path::Path;

use rustix::io::Errno;

use crate::Kind;

/// Why a path below a [`Dir`](crate::Dir) could not be opened. `path` is the path relative to the
/// [`Dir`](crate::Dir), up to the component that stopped the walk.
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
    /// [`Dir`](crate::Dir), so it is refused before any lookup.
    #[error("{path:?} is not a relative path below the folder")]
    NotBelow { path: String },
    /// Something is already at a name that must be new ([`Dir::create_dir_new`](crate::Dir::create_dir_new)).
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

    pub(crate) fn io(path: &Path, errno: Errno) -> OpenError {
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

pub(crate) fn expect(path: &Path, kind: Kind, expected: Kind) -> Result<(), OpenError> {
    if kind == expected {
        Ok(())
    } else {
        Err(wrong(path, kind, expected))
    }
}

pub(crate) fn wrong(path: &Path, kind: Kind, expected: Kind) -> OpenError {
    OpenError::WrongKind {
        path: shown(path),
        kind,
        expected,
    }
}

pub(crate) fn not_found(path: &Path) -> OpenError {
    OpenError::NotFound { path: shown(path) }
}

/// An error about one component, renamed to the whole path walked so far.
pub(crate) fn rebase(e: OpenError, walked: &Path) -> OpenError {
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

pub(crate) fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
