//! `--evidence-dir s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`: the evidence store's
//! [`Objects`] over `lifeboat-storage`'s [`EvidenceStore`] (create-only puts, capped reads,
//! listings, S3 version counts), so `lifeboat-evidence` writes and checks a bucket with the
//! rules it applies to a folder while knowing no object store.
//!
//! The evidence crate is synchronous (a folder's writes are blocking file calls, run off the
//! async workers); each call here runs its future on a small runtime of its own and waits for
//! the answer on a channel, so it may be called from any thread — a blocking one, the main
//! thread, or a check made inside the daemon's async code — without nesting runtimes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_evidence::bucket::{Listed, ObjectError, Objects};
use lifeboat_evidence::files::Cap;
pub use lifeboat_storage::evidence_store::is_store_url;
use lifeboat_storage::evidence_store::{EvidenceStore, GetError, PutError, Retention};

/// An evidence bucket, opened.
pub struct EvidenceBucket {
    store: EvidenceStore,
    runtime: Runtime,
}

impl std::fmt::Debug for EvidenceBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.store.fmt(f)
    }
}

/// Why a bucket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Storage(#[from] lifeboat_storage::StorageError),
    #[error("cannot start the evidence store's runtime: {0}")]
    Runtime(std::io::Error),
}

impl OpenError {
    /// Whether the URL or the environment's settings cannot be used (the operator's to fix),
    /// as opposed to a store that failed.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            OpenError::Storage(lifeboat_storage::StorageError::Config { .. })
        )
    }
}

impl EvidenceBucket {
    /// Opens `url` with the environment's credentials; with `retention`, every object written
    /// is put under object-lock retention for that long (S3 COMPLIANCE mode).
    pub fn open(url: &str, retention: Option<Duration>) -> Result<Self, OpenError> {
        let store = EvidenceStore::open(url, retention.map(|period| Retention { period }))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lifeboat-evidence-store")
            .enable_all()
            .build()
            .map_err(OpenError::Runtime)?;
        Ok(EvidenceBucket {
            store,
            runtime: Runtime(Some(runtime)),
        })
    }

    /// Runs `work` on the bucket's runtime and waits for it.
    fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.handle().spawn(async move {
            let _ = tx.send(work.await);
        });
        // The store bounds every call (retries and a timeout): the answer always comes, unless
        // the runtime is gone, which only happens when the bucket is dropped.
        rx.recv()
            .expect("the evidence store's runtime answers every call")
    }
}

fn store_err(e: lifeboat_storage::StorageError) -> ObjectError {
    ObjectError::Store(e.to_string())
}

impl Objects for EvidenceBucket {
    fn url(&self) -> &str {
        self.store.url()
    }

    fn put_new(&self, name: &str, bytes: &[u8]) -> Result<(), ObjectError> {
        let (store, name, bytes) = (self.store.clone(), name.to_owned(), bytes.to_vec());
        self.run(async move { store.put_new(&name, &bytes).await })
            .map_err(|e| match e {
                PutError::Exists { name } => ObjectError::Exists { name },
                PutError::Storage(e) => store_err(e),
            })
    }

    fn get(&self, name: &str, cap: Cap) -> Result<Option<Vec<u8>>, ObjectError> {
        let (store, owned) = (self.store.clone(), name.to_owned());
        self.run(async move { store.get(&owned, cap.bytes).await })
            .map_err(|e| match e {
                GetError::TooLarge { name, size, .. } => ObjectError::TooLarge { name, size, cap },
                GetError::Storage(e) => store_err(e),
            })
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, ObjectError> {
        let (store, prefix) = (self.store.clone(), prefix.to_owned());
        let listed = self
            .run(async move { store.list(&prefix).await })
            .map_err(store_err)?;
        Ok(listed
            .into_iter()
            .map(|(name, size)| Listed { name, size })
            .collect())
    }

    fn versions(&self) -> Result<Option<BTreeMap<String, usize>>, ObjectError> {
        let store = self.store.clone();
        self.run(async move { store.versions().await })
            .map_err(store_err)
    }
}

/// A runtime that may be dropped anywhere, an async context included (where dropping a tokio
/// runtime panics): it is shut down in the background.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("present until dropped").handle()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Shared by every drill a command records.
pub type SharedBucket = Arc<EvidenceBucket>;
