//! Where the history store is (`--state`), and opening it as a [`HistoryStore`].
//!
//! Two kinds of location: an SQLite file (a path, the default), or a PostgreSQL database
//! shared by a fleet of runners (`postgres://USER@HOST:PORT/DB` or `postgresql://`; see
//! `lifeboat_scheduler::store::postgres`). Both open into the same trait, and nothing that
//! uses the store tells them apart. A database's password is never in the location: it is
//! read from `PGPASSWORD` or the passfile when the store is opened, and a URL holding one is
//! refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lifeboat_scheduler::store::postgres::{Target, TargetError, is_postgres_url};
use lifeboat_scheduler::store::{HistoryStore, PostgresStore, SqliteStore, StoreError};

/// A history store's location, as `--state` gives it or by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLocation {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    File(PathBuf),
    Postgres(Target),
}

/// `--state` was not given and there is nowhere to put the default store.
#[derive(Debug, thiserror::Error)]
#[error(
    "no --state FILE given, and neither XDG_DATA_HOME nor HOME is set to an absolute path to \
     put the default history store under"
)]
pub struct NoDefaultState;

/// Why `--state` names no store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    NoDefault(#[from] NoDefaultState),
    #[error(transparent)]
    Url(#[from] TargetError),
}

impl StateLocation {
    /// The store at `file`.
    pub fn file(file: &Path) -> Self {
        StateLocation {
            kind: Kind::File(file.to_path_buf()),
        }
    }

    /// What `--state` names: a `postgres://` or `postgresql://` URL, else a file.
    pub fn given(arg: &Path) -> Result<Self, TargetError> {
        match arg.to_str().filter(|s| is_postgres_url(s)) {
            Some(url) => Ok(StateLocation {
                kind: Kind::Postgres(Target::parse(url)?),
            }),
            None => Ok(Self::file(arg)),
        }
    }

    /// `--state` when given, else the default file under the user's data folder
    /// (`lifeboat_scheduler::store::default_path`).
    pub fn or_default(flag: Option<&Path>) -> Result<Self, StateError> {
        match flag {
            Some(arg) => Ok(Self::given(arg)?),
            None => lifeboat_scheduler::store::default_path(&|k| std::env::var(k).ok())
                .map(|file| Self::file(&file))
                .ok_or(StateError::NoDefault(NoDefaultState)),
        }
    }

    /// The local file the store lives in, for the places check (a store must not lie inside
    /// a runbook's source); `None` for a database, which has none.
    pub fn local_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::File(file) => Some(file),
            Kind::Postgres(_) => None,
        }
    }

    /// For `lifeboat schedule` on a SQLite file: an exclusive lock on `FILE.schedule.lock`,
    /// held while the returned file is open. A SQLite file has one runner: a second one
    /// starting would abandon the first one's running slots, so it is refused; a fleet
    /// shares a PostgreSQL store. `Ok(None)` for a database; `Err` says why (`WouldBlock`:
    /// another scheduler holds it).
    pub fn hold_for_schedule(&self) -> std::io::Result<Option<std::fs::File>> {
        let Kind::File(file) = &self.kind else {
            return Ok(None);
        };
        let mut name = file.clone().into_os_string();
        name.push(".schedule.lock");
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::path::PathBuf::from(name))?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Err(std::io::ErrorKind::WouldBlock.into()),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Opens the store, creating it (or its schema) if needed.
    pub fn open(&self) -> Result<Arc<dyn HistoryStore>, StoreError> {
        match &self.kind {
            Kind::File(file) => Ok(Arc::new(SqliteStore::open(file)?)),
            Kind::Postgres(t) => Ok(Arc::new(PostgresStore::open(t, password(t).as_deref())?)),
        }
    }

    /// Opens an existing store to read, changing nothing in it (no migration); `Ok(None)`
    /// when there is none, or its schema is older than this lifeboat's.
    pub fn open_read_only(&self) -> Result<Option<Arc<dyn HistoryStore>>, StoreError> {
        Ok(match &self.kind {
            Kind::File(file) => SqliteStore::open_read_only(file)?.map(shared),
            Kind::Postgres(t) => {
                PostgresStore::open_read_only(t, password(t).as_deref())?.map(shared)
            }
        })
    }

    /// Opens an existing store without creating anything; `Ok(None)` when there is none.
    pub fn open_existing(&self) -> Result<Option<Arc<dyn HistoryStore>>, StoreError> {
        Ok(match &self.kind {
            Kind::File(file) => SqliteStore::open_existing(file)?.map(shared),
            Kind::Postgres(t) => {
                PostgresStore::open_existing(t, password(t).as_deref())?.map(shared)
            }
        })
    }
}

fn shared(store: impl HistoryStore + 'static) -> Arc<dyn HistoryStore> {
    Arc::new(store)
}

/// The database's password, where libpq would find it.
fn password(target: &Target) -> Option<String> {
    target.password(
        &|k| std::env::var(k).ok(),
        &lifeboat_scheduler::store::postgres::target::read_private_passfile,
    )
}

/// The file's path, or the database's URL (without a password: it holds none).
impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::File(file) => write!(f, "{}", file.display()),
            Kind::Postgres(target) => write!(f, "{target}"),
        }
    }
}
