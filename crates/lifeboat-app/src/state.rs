//! Where the history store is (`--state`), and opening it as a [`HistoryStore`].
//!
//! Today a location is an SQLite file; a PostgreSQL store shared by a fleet of runners would
//! be another kind of location here, opened into the same trait, and nothing that uses the
//! store would change.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_scheduler::store::{HistoryStore, SqliteStore, StoreError};

/// A history store's location, as `--state` gives it or by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLocation {
    file: PathBuf,
}

/// `--state` was not given and there is nowhere to put the default store.
#[derive(Debug, thiserror::Error)]
#[error(
    "no --state FILE given, and neither XDG_DATA_HOME nor HOME is set to an absolute path to \
     put the default history store under"
)]
pub struct NoDefaultState;

impl StateLocation {
    /// The store at `file`.
    pub fn file(file: &Path) -> Self {
        StateLocation {
            file: file.to_path_buf(),
        }
    }

    /// `--state FILE` when given, else the default file under the user's data folder
    /// (`lifeboat_scheduler::store::default_path`).
    pub fn or_default(flag: Option<&Path>) -> Result<Self, NoDefaultState> {
        match flag {
            Some(file) => Ok(Self::file(file)),
            None => lifeboat_scheduler::store::default_path(&|k| std::env::var(k).ok())
                .map(|file| StateLocation { file })
                .ok_or(NoDefaultState),
        }
    }

    /// The local file the store lives in, for the places check (a store must not lie inside
    /// a runbook's source).
    pub fn local_path(&self) -> Option<&Path> {
        Some(&self.file)
    }

    /// Opens the store, creating it if needed.
    pub fn open(&self) -> Result<Arc<dyn HistoryStore>, StoreError> {
        Ok(Arc::new(SqliteStore::open(&self.file)?))
    }

    /// Opens an existing store to read, changing nothing in it (no migration); `Ok(None)`
    /// when there is none, or its schema is older than this lifeboat's.
    pub fn open_read_only(&self) -> Result<Option<Arc<dyn HistoryStore>>, StoreError> {
        Ok(SqliteStore::open_read_only(&self.file)?.map(|s| Arc::new(s) as Arc<dyn HistoryStore>))
    }

    /// Opens an existing store without creating anything; `Ok(None)` when there is none.
    pub fn open_existing(&self) -> Result<Option<Arc<dyn HistoryStore>>, StoreError> {
        Ok(SqliteStore::open_existing(&self.file)?.map(|s| Arc::new(s) as Arc<dyn HistoryStore>))
    }
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())
    }
}
