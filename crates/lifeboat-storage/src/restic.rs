//! restic repositories, read through lifeboat's own storage: `source.format: restic`.
//!
//! [`Backend`] is rustic_core's backend trait implemented over a [`Source`], read-only: the
//! repository on `file://`, `s3://` or `az://` is reached with the same object_store client,
//! `source.options`, timeouts and error redaction as any other source — one HTTP stack, one
//! credential story — and every write or removal rustic_core might attempt is refused.
//! rustic_backend's OpenDAL backends (about 150 more crates, and a runtime of their own that
//! panics inside tokio, rustic_core#522) are not used.
//!
//! rustic_core is synchronous. Its calls must run on a blocking thread, never on an async
//! worker: [`Repo::open`] and every [`Repo`] method move to one with `spawn_blocking`, and
//! the backend reaches the async store from there with [`tokio::runtime::Handle::block_on`]
//! (which would panic on a worker). Its cache is off: a cached copy of an index or snapshot
//! could hide damage in the repository itself.
//!
//! What a repository holds is hostile input like any backup: an error rustic_core reports is
//! an error here, and the password never appears in one ([`ResticError`] scrubs it as a last
//! line of defence; rustic_core does not print it).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aes256ctr_poly1305aes::Aes256CtrPoly1305Aes;
use bytes::Bytes;
use jiff::Timestamp;
use rustic_core::repofile::{BlobType, Node, SnapshotFile};
use rustic_core::{
    BlobId, Credentials, ErrorKind, FileType, Id, IndexedFullStatus, ReadBackend, Repository,
    RepositoryBackends, RepositoryOptions, RusticError, RusticResult, TreeId, WriteBackend,
};

use crate::kept::KeptBuffer;
use crate::{Source, StorageError};

pub mod key;
mod pack;
pub mod tree;
pub use pack::{IndexedPack, MAX_PACK, PackBlob, PackCheck, pack_path};

/// Largest repository file read whole (config, key, snapshot, index): far above what restic
/// writes (its index files hold at most about 4 MiB of JSON), far below what could exhaust
/// memory.
const MAX_FULL_READ: u64 = 256 << 20;

/// Largest snapshot file read whole: a snapshot decodes to at most 128 MiB of JSON (the
/// vendored rustic_core's `file_decoded_limit`, half of its `MAX_SNAPSHOT_TAKES`), and zstd
/// and the seal add almost nothing to what they hold, so a file stored larger than that and
/// its nonce and MAC is padding restic never writes, refused before it is read (a finding
/// against that snapshot alone). restic's own snapshot files are some KiB.
const MAX_SNAPSHOT_READ: u64 = (rustic_core::MAX_SNAPSHOT_TAKES / 2 + SEAL_OVERHEAD) as u64;

/// The most bytes of a whole repository file of type `tpe` read: [`MAX_SNAPSHOT_READ`] for a
/// snapshot file, [`MAX_FULL_READ`] for the others.
fn full_read_limit(tpe: FileType) -> u64 {
    match tpe {
        FileType::Snapshot => MAX_SNAPSHOT_READ,
        _ => MAX_FULL_READ,
    }
}

/// Whole repository files (index files, snapshot files) read and decoded at once.
///
/// rustic_core reads them on rayon's pool, one per core, and each holds what it read, its
/// plaintext and what that decodes to (up to 256 MiB, and 256 MiB more of a snapshot's
/// strings: `vendor/rustic_core`'s bounds): on a machine of 64 cores, a repository forged of
/// such files would have some 64 of them decoded at once. lifeboat runs that reading on a pool
/// of its own this size, so what it holds at once is bounded whatever the machine. restic's
/// own files are some KiB to some MiB, and reading them is latency more than CPU: four at
/// once keep a remote repository's round trips overlapped.
pub const FILE_READERS: usize = 4;

/// Largest gap between two chunks of one pack that [`Repo::read_file`] reads and drops to
/// fetch both in one ranged read: cheaper than a second request on object storage (about
/// one round trip's worth of bytes), small beside a run.
pub const MAX_GAP: u32 = 1 << 20;

/// Largest span of a pack one ranged read fetches (a chunk larger than this, which restic
/// never writes, is read on its own by rustic_core).
pub const MAX_RUN: u32 = 16 << 20;

/// Stored bytes of the consecutive chunks [`Repo::read_file`] plans its reads for at once
/// (a window): its runs are read while the window before is checked, so at most two
/// windows' bytes are held per file, and a drill restores up to 16 files at once.
pub const WINDOW: u64 = 16 << 20;

/// MiB of packs [`Repo::read_file`] holds read ahead from local disk, not yet checked, over
/// all the files restoring at once: [`WINDOW`] per core, at least two windows. Reading from
/// local disk costs no round trip, so reading further ahead than the cores can check only
/// holds memory: every file in flight reading its next window at once made a one-core
/// drill touch about 90 MB of fresh buffers, each page a fault and a zeroed page. Object
/// storage is not held to it: there the read-ahead is what hides the round trips.
#[derive(Clone, Debug)]
struct Budget {
    permits: Arc<tokio::sync::Semaphore>,
    /// The whole budget: a window needing more takes all of it, so it still reads.
    mib: u32,
}

impl Budget {
    fn local() -> Budget {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cores = u32::try_from(cores).unwrap_or(u32::MAX).max(2);
        let mib = ((WINDOW >> 20) as u32).saturating_mul(cores);
        Budget {
            permits: Arc::new(tokio::sync::Semaphore::new(mib as usize)),
            mib,
        }
    }

    /// The MiB a window reading `bytes` takes: at least one, at most the whole budget (a
    /// window larger than the budget, which gaps between its chunks can make, still reads
    /// once every other window has given its share back).
    fn share(&self, bytes: u64) -> u32 {
        bytes.div_ceil(1 << 20).clamp(1, u64::from(self.mib)) as u32
    }

    /// Waits for the share of a window reading `bytes`; `None` only if the semaphore were
    /// closed, which it never is.
    async fn acquire(self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let share = self.share(bytes);
        self.permits.acquire_many_owned(share).await.ok()
    }
}

/// Ranged reads one window makes at once (different packs, or distant parts of one).
pub const RUNS_IN_FLIGHT: usize = 4;

/// A run shorter than this (a small file's chunks, which restic packs together with other
/// small files') is read from object storage as the whole aligned block of its pack that
/// holds it, through the drill's cache of pack blocks, so the files restoring at once that
/// share the block make one request between them. From local disk a run is read exactly:
/// there the page cache is the shared copy, a read costs no round trip, and a whole block
/// for a file of a few KiB only copies and faults in bytes nobody checks (measured on the
/// bench repository: 14 % fewer page faults, see benches/README.md).
pub const SHARED_BLOCK: u64 = 1 << 20;

/// Most plaintext bytes a chunk may hold for [`Repo::read_file`] to read it: the repository's
/// own largest chunk (its config's `chunk_max_size`, restic's 8 MiB when it says none, and
/// never taken as less than that), up to this. The index gives each chunk's stored length
/// and plaintext length; a chunk longer than its repository's chunker can cut is refused
/// unread ([`ChunkProblem::TooLarge`]), so a hostile index cannot make the reader allocate
/// gigabytes.
pub const MAX_CHUNK: u32 = 64 << 20;

/// restic's largest chunk: its chunker cuts at most 8 MiB.
const RESTIC_CHUNK: u32 = 8 << 20;

/// Most bytes of blocks the drill's cache of pack blocks keeps for files that have yet to ask
/// for them; beyond it the oldest are dropped (a file already holding a block keeps it).
pub const SHARED_BYTES: u64 = 32 << 20;

/// Why a restic repository could not be read. Never holds the password.
#[derive(Debug, thiserror::Error)]
pub enum ResticError {
    /// The storage under the repository failed (unreachable, refused, a missing bucket).
    #[error(transparent)]
    Storage(Arc<StorageError>),
    /// No key of the repository opens with the password.
    #[error(
        "the restic repository at {url} does not accept the password (check `source.restic.password` or `password_file`)"
    )]
    WrongPassword { url: String },
    /// The repository cannot be opened or read: no `config`, an unreadable key, a damaged
    /// index or snapshot, a blocking thread that failed.
    #[error("cannot read the restic repository at {url}: {detail}")]
    Repository { url: String, detail: String },
    /// An object the repository names (a snapshot file, the pack the index puts a tree or
    /// chunk in) is not in storage: damage, or a `restic prune` that ran since the index was
    /// read. Which, only a fresh index can tell.
    #[error("cannot read the restic repository at {url}: {object} is not in the repository")]
    Missing {
        url: String,
        /// Its path in the repository: `snapshots/ID`, `data/XX/ID`.
        object: String,
    },
}

impl ResticError {
    /// What went wrong, without the repository's URL: the sentence after `cannot read the
    /// restic repository at URL: `.
    pub fn detail(&self) -> String {
        match self {
            ResticError::Storage(s) => s.to_string(),
            ResticError::WrongPassword { .. } => "no key accepts the password".to_owned(),
            ResticError::Repository { detail, .. } => detail.clone(),
            ResticError::Missing { object, .. } => format!("{object} is not in the repository"),
        }
    }
}

/// One snapshot of a repository, in lifeboat's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The snapshot id, 64 hex digits (`restic snapshots` shows its first 8).
    pub id: String,
    pub time: Timestamp,
    pub hostname: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
}

impl Snapshot {
    /// About the bytes it holds: itself, and each string with its header.
    fn held_bytes(&self) -> u64 {
        let strings = |all: &[String]| -> u64 {
            all.iter()
                .map(|s| (s.len() + std::mem::size_of::<String>()) as u64)
                .sum()
        };
        (std::mem::size_of::<Snapshot>() + self.id.len() + self.hostname.len()) as u64
            + strings(&self.paths)
            + strings(&self.tags)
    }
}

/// Which snapshots count: every filter given must match (as `restic snapshots --host H
/// --path P --tag T` with one value each: the snapshot has that host, all those paths, all
/// those tags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    pub host: Option<String>,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
}

impl SnapshotFilter {
    pub fn matches(&self, s: &Snapshot) -> bool {
        self.host.as_ref().is_none_or(|h| *h == s.hostname)
            && self.paths.iter().all(|p| s.paths.contains(p))
            && self.tags.iter().all(|t| s.tags.contains(t))
    }
}

/// A snapshot file that cannot be read: a finding against that one snapshot. Its time,
/// host and tags are in the file, so they are unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedSnapshot {
    /// The snapshot's id: its file's name below `snapshots/`.
    pub id: String,
    /// Why it cannot be read, in rustic_core's words (`Data decryption failed, MAC check
    /// failed.`), one line, never the password.
    pub reason: String,
}

/// What [`Repo::list_snapshots`] found: the snapshots a filter matches, and those that
/// cannot be read at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotListing {
    /// Those the filter matches, newest first (ties by id).
    pub snapshots: Vec<Snapshot>,
    /// Those that cannot be read, by id. Whether the filter would match them is unknown.
    pub damaged: Vec<DamagedSnapshot>,
}

/// A regular file of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// As `restic ls` prints it: `/srv/app/a.txt`. When [`escaped`](Self::escaped), a name
    /// a person can read instead, unique in the snapshot ([`escape_path`]).
    pub path: String,
    pub size: u64,
    /// The file's path is not UTF-8 (a Unix name may hold any byte but `/` and NUL; restic
    /// stores it exactly, escaped in the tree's JSON as Go's `strconv.Quote` writes it, and
    /// rustic_core decodes it back to the exact bytes). `path` is then not its name, and no
    /// path lifeboat can restore to is: the file cannot be restored or verified by `path`.
    pub escaped: bool,
}

/// A tree's entries, decoded once ([`tree::decode`]) and shared.
type Nodes = Arc<Vec<Node>>;

/// The most bytes of decoded trees (each as [`tree::weigh`] counts what its entries keep) one
/// listing of a snapshot ([`Repo::files`]) keeps to reuse, oldest out first, on top of the
/// trees it holds along one path: a tree that many folders name is read from storage once.
pub const TREE_CACHE_BYTES: u64 = 4 << 20;

/// Decoded trees by id, up to `most` bytes (each as [`tree::weigh`] counts what its entries
/// keep): first in, first out. One listing's ([`TREE_CACHE_BYTES`]), and the checked trees of
/// a drill's sampled paths ([`VERIFIED_TREE_BYTES`]).
struct TreeCache {
    trees: HashMap<TreeId, (Nodes, u64)>,
    order: std::collections::VecDeque<TreeId>,
    bytes: u64,
    most: u64,
}

impl TreeCache {
    fn new(most: u64) -> Self {
        TreeCache {
            trees: HashMap::new(),
            order: std::collections::VecDeque::new(),
            bytes: 0,
            most,
        }
    }

    /// Tree `id`'s entries and the bytes they were kept as.
    fn get(&self, id: &TreeId) -> Option<(Nodes, u64)> {
        self.trees
            .get(id)
            .map(|(nodes, bytes)| (Arc::clone(nodes), *bytes))
    }

    /// Keeps `nodes`, `bytes` long, pushing out the oldest trees while the cache would hold
    /// more than its `most` bytes; a tree longer than that is not kept.
    fn insert(&mut self, id: TreeId, nodes: Nodes, bytes: u64) {
        if bytes > self.most || self.trees.contains_key(&id) {
            return;
        }
        while self.bytes + bytes > self.most {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, freed)) = self.trees.remove(&oldest) {
                self.bytes -= freed;
            }
        }
        self.trees.insert(id, (nodes, bytes));
        self.order.push_back(id);
        self.bytes += bytes;
    }
}

/// The most bytes of decoded trees (each as [`tree::weigh`] counts what its entries keep)
/// that [`Repo::locate`] keeps checked for the sampled files that follow, oldest out first:
/// the trees on a sample's paths are few and small (a folder's tree takes about 600 bytes per
/// entry decoded). A tree larger than this is kept apart ([`VERIFIED_LARGE_TREE_BYTES`]).
pub const VERIFIED_TREE_BYTES: u64 = 32 << 20;

/// The bytes of decoded trees [`Repo::locate`] keeps checked apart from the others
/// ([`VERIFIED_TREE_BYTES`]), for trees larger than those: oldest out first. A folder of a
/// hundred thousand files or more (a maildir, a cache) has such a tree, and the sample is
/// drawn in path order, so its sampled files come one after the other and share one check
/// (two such folders, one inside the other, are both kept, up to this: a folder of about a
/// million and a half files); before, each of them checked it again (400 files sampled from
/// a folder of 150,000: 13.1 s, and 1.8 s since). A tree larger than this is checked again
/// for each file.
pub const VERIFIED_LARGE_TREE_BYTES: u64 = 1 << 30;

/// The most bytes of trees being checked at once for [`Repo::locate`], whatever the number
/// of files in flight: each tree's JSON (up to 1 GiB, vendor/README.md) and what decoding it
/// takes ([`tree::weigh`], up to [`tree::MAX_TREE_WEIGHT`]); 16 files under 16 large trees
/// would otherwise hold 16 times that. A tree larger than this is checked alone.
pub const VERIFYING_BYTES: u64 = 2 << 30;

/// What checking one tree came to, shared by the files that waited for it: its entries and
/// the bytes they keep, or its damage; `None` when the storage failed (each file then reads
/// the tree itself).
type Checked = Option<Result<(Nodes, u64), Damage>>;

/// What one attempt at checking a tree came to ([`VerifiedTrees::shared`]).
enum Checking {
    /// Checked: its entries and the bytes they keep ([`tree::Weight::kept`]), or its damage.
    Done(Result<(Nodes, u64), Damage>),
    /// Its entries need more bytes than were free to decode them: this many in all, the
    /// tree's JSON and decoding.
    Needs(u64),
}

/// Trees [`Repo::locate`] has checked against their ids, shared by every file of a drill
/// (every clone of the [`Repo`]): a tree is checked once, by the first file that needs it,
/// while the others needing it wait; those that checked out are kept up to
/// [`VERIFIED_TREE_BYTES`], and those larger than that apart, up to
/// [`VERIFIED_LARGE_TREE_BYTES`]. A damaged tree, or one the storage failed to give, is
/// not kept: each file after it reads it again and says so itself.
struct VerifiedTrees {
    state: std::sync::Mutex<VerifiedState>,
    /// Signalled when a check ends and its bytes are free again.
    freed: std::sync::Condvar,
    /// [`VERIFYING_BYTES`], smaller in tests.
    at_once: u64,
    /// The most one tree may take decoded: [`tree::MAX_TREE_WEIGHT`], smaller in tests.
    largest: u64,
    /// Trees checked (read, hashed and decoded), kept or not.
    checks: AtomicU64,
}

/// Where a tree [`Repo::locate`] needs stands.
enum Verified {
    /// Checked and kept.
    Kept(Nodes),
    /// Being checked by another file, or to be checked by this one: the slot to wait on or
    /// to fill.
    Slot(Arc<std::sync::OnceLock<Checked>>),
}

impl Default for VerifiedTrees {
    fn default() -> Self {
        VerifiedTrees::new(
            VERIFIED_TREE_BYTES,
            VERIFIED_LARGE_TREE_BYTES,
            VERIFYING_BYTES,
        )
    }
}

struct VerifiedState {
    /// One per tree being checked, until the file that checked it settles it.
    slots: HashMap<TreeId, Arc<std::sync::OnceLock<Checked>>>,
    /// Those that checked out, within [`VERIFIED_TREE_BYTES`].
    kept: TreeCache,
    /// Those that checked out too large for `kept`, within [`VERIFIED_LARGE_TREE_BYTES`].
    large: TreeCache,
    /// Bytes of the trees being checked now.
    checking: u64,
}

impl VerifiedTrees {
    /// Keeping checked trees up to `keep` bytes, and larger ones apart up to `large` bytes;
    /// checking at most `at_once` bytes at a time.
    fn new(keep: u64, large: u64, at_once: u64) -> Self {
        VerifiedTrees {
            state: std::sync::Mutex::new(VerifiedState {
                slots: HashMap::new(),
                kept: TreeCache::new(keep),
                large: TreeCache::new(large),
                checking: 0,
            }),
            freed: std::sync::Condvar::new(),
            at_once,
            largest: tree::MAX_TREE_WEIGHT,
            checks: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VerifiedState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tree `id`, kept, or the slot of its check.
    fn find(&self, id: TreeId) -> Verified {
        let mut state = self.lock();
        if let Some((nodes, _)) = state.kept.get(&id).or_else(|| state.large.get(&id)) {
            return Verified::Kept(nodes);
        }
        Verified::Slot(Arc::clone(state.slots.entry(id).or_default()))
    }

    /// Tree `id` as `check` finds it, checked once for every file that needs it: kept, or
    /// being checked by another file (then waited for), or checked here within
    /// [`VERIFYING_BYTES`] ([`VerifiedTrees::check_within`]; `bytes`: its JSON's length) and
    /// settled. When the storage fails the file that checked it, each file that waited
    /// checks it itself, within the same bytes: a server failing the first read on purpose
    /// cannot make them decode at once.
    fn shared(
        &self,
        id: TreeId,
        bytes: impl FnOnce() -> u64,
        check: impl Fn(&mut Reserved<'_>) -> Result<Checking, ResticError>,
    ) -> Result<Result<Nodes, Damage>, ResticError> {
        let slot = match self.find(id) {
            Verified::Kept(nodes) => return Ok(Ok(nodes)),
            Verified::Slot(slot) => slot,
        };
        let bytes = bytes();
        let mut failed = None;
        let outcome = slot
            .get_or_init(|| match self.check_within(bytes, &check) {
                Ok(checked) => Some(checked),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            })
            .clone();
        self.settle(id, &slot, &outcome);
        let entries = |checked: Result<(Nodes, u64), Damage>| checked.map(|(nodes, _)| nodes);
        match (outcome, failed) {
            (Some(checked), _) => Ok(entries(checked)),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(entries(self.check_within(bytes, &check)?)),
        }
    }

    /// `check` run with `bytes` (the tree's JSON) counted as being checked, and then what it
    /// asks for to decode: when that is more than is free, `check` is run again once it
    /// fits (or nothing else is being checked), rather than holding what it has while it
    /// waits (a file waiting so with its tree's JSON read would hold it uncounted).
    fn check_within(
        &self,
        bytes: u64,
        check: impl Fn(&mut Reserved<'_>) -> Result<Checking, ResticError>,
    ) -> Result<Result<(Nodes, u64), Damage>, ResticError> {
        let mut held = self.reserve(bytes);
        loop {
            match check(&mut held)? {
                Checking::Done(checked) => return Ok(checked),
                // The same tree asks for the same bytes again (its JSON is checked against
                // its id before it is weighed), and now holds them.
                Checking::Needs(all) => {
                    drop(held);
                    held = self.reserve(all);
                }
            }
        }
    }

    /// Waits until `bytes` more can be checked within [`VERIFYING_BYTES`] (at once when
    /// nothing is being checked), and counts them until the guard is dropped.
    fn reserve(&self, bytes: u64) -> Reserved<'_> {
        let mut state = self.lock();
        while state.checking > 0 && state.checking.saturating_add(bytes) > self.at_once {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.checking += bytes;
        Reserved { trees: self, bytes }
    }

    /// After `slot` was filled with `outcome`: its slot is dropped (once: a file that waited
    /// on it finds it gone), and a tree that checked out is kept, as the bytes its entries
    /// keep (within
    /// [`VERIFIED_TREE_BYTES`], pushing out the oldest; a larger one apart, within
    /// [`VERIFIED_LARGE_TREE_BYTES`], the same way); any other outcome is not, so that the
    /// next file tries again.
    fn settle(&self, id: TreeId, slot: &Arc<std::sync::OnceLock<Checked>>, outcome: &Checked) {
        let mut state = self.lock();
        if !state.slots.get(&id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            return;
        }
        state.slots.remove(&id);
        if let Some(Ok((nodes, bytes))) = outcome {
            let bytes = *bytes;
            if bytes <= state.kept.most {
                state.kept.insert(id, Arc::clone(nodes), bytes);
            } else {
                state.large.insert(id, Arc::clone(nodes), bytes);
            }
        }
    }
}

/// Bytes counted as being checked ([`VerifiedTrees::reserve`]) until dropped.
struct Reserved<'a> {
    trees: &'a VerifiedTrees,
    bytes: u64,
}

impl Reserved<'_> {
    /// Counts `all` bytes in place of those held, if they fit within [`VERIFYING_BYTES`]
    /// with the others being checked, or nothing else is; `false`, counting nothing more,
    /// when they do not (never waiting: a file waiting for more while it holds some could
    /// wait on another doing the same).
    fn grow_to(&mut self, all: u64) -> bool {
        if all <= self.bytes {
            return true;
        }
        let mut state = self.trees.lock();
        let more = all - self.bytes;
        if state.checking > self.bytes && state.checking.saturating_add(more) > self.trees.at_once {
            return false;
        }
        state.checking += more;
        self.bytes = all;
        true
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.trees.lock().checking -= self.bytes;
        self.trees.freed.notify_all();
    }
}

/// How much of a snapshot [`Repo::files`] lists before it refuses the snapshot. restic stores
/// a folder's tree once however many folders hold the same entries, so a snapshot's listing
/// can be exponentially larger than its trees: one tree naming another twice, that one naming
/// a third twice, and so on 40 deep, is a few KiB stored and a trillion files listed. The
/// listing is held in memory to draw the sample from, as a manifest is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingLimits {
    /// Entries of any kind (files, folders, links, ...).
    pub entries: u64,
    /// Folders, each a tree read.
    pub folders: u64,
    /// Bytes of the regular files' paths, as held in memory.
    pub path_bytes: u64,
    /// Bytes of the trees held at once: those of the folders on one path, from the root
    /// down, each as [`tree::weigh`] counts what its entries keep decoded, and the tree
    /// being read, its JSON and what decoding it takes.
    pub tree_bytes: u64,
    /// Bytes of trees' JSON decoded in all, each time one is read from storage (a tree the
    /// [`TREE_CACHE_BYTES`] cache holds is not decoded again; one larger than the cache is,
    /// once per folder that names it).
    pub decoded_bytes: u64,
    /// Bytes one tree may take decoded, as [`tree::weigh`] counts them
    /// ([`tree::MAX_TREE_WEIGHT`], as for the trees on a sample's paths).
    pub tree_weight: u64,
}

impl ListingLimits {
    /// 20 million entries, 2 million folders, 512 MiB of paths (as much as a manifest may
    /// hold: `MAX_MANIFEST_BYTES`), 3 GiB of trees along one path (the largest tree the
    /// decoder lets through, 1 GiB of JSON, vendor/README.md, and up to
    /// [`tree::MAX_TREE_WEIGHT`] decoding it; restic's tree of a folder of a million files
    /// is about 300 MB of JSON and 500 MB decoded), 16 GiB of trees' JSON decoded in all (restic's trees take about 300 bytes per
    /// entry and 67 per chunk of a file, so an honest snapshot of 20 million entries decodes
    /// about 6 GB of them once; a tree of 1 GiB forged from a few KiB of zstd and named by a
    /// thousand folders would otherwise be decoded a thousand times). A snapshot beyond any
    /// of them is refused as damaged (the drill falls back to an older one) rather than
    /// allowed to exhaust the host.
    pub const DEFAULT: ListingLimits = ListingLimits {
        entries: 20_000_000,
        folders: 2_000_000,
        path_bytes: 512 << 20,
        tree_bytes: 3 << 30,
        decoded_bytes: 16 << 30,
        tree_weight: tree::MAX_TREE_WEIGHT,
    };

    /// Which bound `self`, a count so far, has passed, said as the bound.
    fn beyond(&self, limits: &ListingLimits) -> Option<String> {
        if self.entries > limits.entries {
            Some(format!("{} entries", limits.entries))
        } else if self.folders > limits.folders {
            Some(format!("{} folders", limits.folders))
        } else if self.path_bytes > limits.path_bytes {
            Some(format!("{} bytes of paths", limits.path_bytes))
        } else {
            None
        }
    }
}

/// Where one chunk of a file is stored, as the repository's index says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkLocation {
    /// The chunk's id: the SHA-256 of its plaintext, 64 hex digits.
    pub chunk: String,
    /// Where it is: the pack's id, or `None` when the index does not list the chunk (a
    /// damaged repository: the file cannot be restored).
    pub pack: Option<String>,
    /// Where its stored (encrypted, maybe compressed) bytes start in the pack, and how many
    /// there are; 0 when not indexed.
    pub offset: u32,
    pub length: u32,
    /// Its plaintext length when the index records it (compressed chunks, repository format
    /// 2), else `None` (the stored length minus restic's 32 bytes of nonce and MAC).
    pub plain_length: Option<u32>,
}

/// A file of a snapshot and where its chunks are: what restoring it will read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChunks {
    /// Its size as the snapshot's tree records it.
    pub size: u64,
    /// Its chunks, in file order.
    pub chunks: Vec<ChunkLocation>,
}

/// Why one chunk of a file could not be verified: a finding about the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkProblem {
    /// The index does not list the chunk.
    NotIndexed,
    /// The index lists the chunk's pack, but storage does not hold it.
    PackMissing,
    /// The pack is there but cannot be read (a link, a short file, a read error).
    Unreadable { detail: String },
    /// The stored bytes did not decrypt (authentication failed: the ciphertext changed) or
    /// did not decompress; `detail` is rustic_core's own account.
    Undecryptable { detail: String },
    /// The plaintext's SHA-256 is not the chunk's id.
    HashMismatch { actual: String },
    /// The index says the chunk holds more bytes than the repository's chunker ever cuts
    /// (`declared`, over `largest`): refused unread.
    TooLarge { declared: u64, largest: u32 },
}

/// The first chunk of a file that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkFailure {
    /// Its place in the file, from 0.
    pub index: usize,
    pub chunk: String,
    pub pack: Option<String>,
    pub problem: ChunkProblem,
}

impl std::fmt::Display for ChunkFailure {
    /// `KIND: chunk N (ID) in pack PACK[: detail]`, KIND in the words operators search for:
    /// `not indexed`, `pack missing`, `pack unreadable`, `authentication failed (ciphertext
    /// changed)`, `chunk hash mismatch`, `chunk too large`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pack = self.pack.as_deref().unwrap_or("(none)");
        let kind = match &self.problem {
            ChunkProblem::NotIndexed => "not indexed",
            ChunkProblem::PackMissing => "pack missing",
            ChunkProblem::Unreadable { .. } => "pack unreadable",
            ChunkProblem::Undecryptable { .. } => "authentication failed (ciphertext changed)",
            ChunkProblem::HashMismatch { .. } => "chunk hash mismatch",
            ChunkProblem::TooLarge { .. } => "chunk too large",
        };
        write!(
            f,
            "{kind}: chunk {} ({}) in pack {pack}",
            self.index, self.chunk
        )?;
        match &self.problem {
            ChunkProblem::NotIndexed => f.write_str(": the index does not list it"),
            ChunkProblem::PackMissing => f.write_str(": the index lists it, storage lacks it"),
            ChunkProblem::Unreadable { detail } | ChunkProblem::Undecryptable { detail } => {
                write!(f, ": {detail}")
            }
            ChunkProblem::HashMismatch { actual } => {
                write!(f, ": its plaintext hashes to {actual}, not to its id")
            }
            ChunkProblem::TooLarge { declared, largest } => write!(
                f,
                ": the index gives it {declared} bytes, more than the repository's largest \
                 chunk ({largest} bytes): not read"
            ),
        }
    }
}

/// What reading a file chunk by chunk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRead {
    /// Plaintext bytes verified and handed on, in file order.
    pub verified: u64,
    /// The first chunk that failed; reading stops there.
    pub failure: Option<ChunkFailure>,
}

/// What is at a path of a snapshot ([`Repo::locate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Located {
    /// A regular file, and where its chunks are.
    File(FileChunks),
    /// Something that is not a regular file: a folder, a link, a device.
    NotAFile,
    /// Nothing of that name: the path is not in the snapshot.
    Missing,
    /// The snapshot, or a tree on the path, is damaged: nothing below it can be trusted.
    Damaged(Damage),
}

/// How a snapshot or a tree on a file's path is damaged: a finding about the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The snapshot file's stored bytes do not hash to its name (restic names it by the
    /// SHA-256 of those bytes): another snapshot's bytes, or bytes changed and re-encrypted.
    SnapshotId { snapshot: String, actual: String },
    /// The snapshot file cannot be read, decrypted or decoded.
    SnapshotUnreadable { snapshot: String, detail: String },
    /// A tree's plaintext does not hash to its id: a validly encrypted tree, but not the one
    /// the snapshot or its parent tree names.
    TreeId {
        tree: String,
        pack: String,
        actual: String,
    },
    /// A tree the index does not list (`pack`: `None`), or whose pack cannot be read or
    /// decrypted, or whose plaintext is no tree.
    TreeUnreadable {
        tree: String,
        pack: Option<String>,
        detail: String,
    },
    /// The snapshot file is not in storage (a `restic forget` may have removed it during the
    /// drill: the caller tells that from damage).
    SnapshotGone { snapshot: String },
    /// The pack the index puts a tree in is not in storage (a prune may have repacked it
    /// during the drill: the caller tells that from damage).
    TreePackGone { tree: String, pack: String },
}

impl Damage {
    /// The stored object the damage is the absence of (`snapshots/ID`, `data/XX/PACK`), so a
    /// caller can ask a fresh index whether it went away on purpose; `None` for damage to
    /// what is there.
    pub fn missing_object(&self) -> Option<String> {
        match self {
            Damage::SnapshotGone { snapshot } => Some(format!("snapshots/{snapshot}")),
            Damage::TreePackGone { pack, .. } => {
                Some(format!("data/{}/{pack}", pack.get(..2).unwrap_or_default()))
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Damage {
    /// `snapshot ID: …` or `tree ID in pack PACK: …`, in the words operators search for.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::SnapshotId { snapshot, actual } => write!(
                f,
                "snapshot {snapshot}: its stored bytes hash to {actual}, not to its name"
            ),
            Damage::SnapshotUnreadable { snapshot, detail } => {
                write!(f, "snapshot {snapshot}: {detail}")
            }
            Damage::TreeId { tree, pack, actual } => write!(
                f,
                "tree {tree} in pack {pack}: its plaintext hashes to {actual}, not to its id"
            ),
            Damage::TreeUnreadable { tree, pack, detail } => {
                let pack = pack.as_deref().unwrap_or("(none)");
                write!(f, "tree {tree} in pack {pack}: {detail}")
            }
            Damage::SnapshotGone { snapshot } => {
                write!(f, "snapshot {snapshot}: not in the repository")
            }
            Damage::TreePackGone { tree, pack } => write!(
                f,
                "tree {tree} in pack {pack}: pack missing: the index lists it, storage lacks it"
            ),
        }
    }
}

/// How large a snapshot is, restored whole: the plaintext bytes of its regular files, and
/// where that figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotSize {
    /// The snapshot's own summary (`summary.total_bytes_processed`, written by restic ≥ 0.17
    /// and rustic): what the backup read.
    Summary(u64),
    /// The sum of the sizes the snapshot's tree lists for its regular files (what `restic
    /// stats --mode restore-size` adds up): snapshots without a summary.
    Tree(u64),
}

/// An open, indexed restic repository.
#[derive(Clone)]
pub struct Repo {
    inner: Arc<Repository<IndexedFullStatus>>,
    /// The threads that read whole repository files (index files when it is opened, snapshot
    /// files when they are listed): [`FILE_READERS`] of them, whatever the cores.
    files: Arc<rayon::ThreadPool>,
    /// The same storage, read directly: a snapshot file's stored bytes, hashed against its
    /// name ([`Repo::locate`]), which rustic_core never shows.
    store: Arc<Backend>,
    /// The root tree of each snapshot whose file was checked against its name: a sampled
    /// file after the first reads no snapshot file again (restic never rewrites one; a
    /// snapshot found damaged is not kept, so each file says so).
    roots: Arc<std::sync::Mutex<std::collections::HashMap<String, TreeId>>>,
    /// Trees on sampled files' paths, checked against their ids: each is read, hashed and
    /// decoded once for all the files under it ([`VerifiedTrees`]).
    verified: Arc<VerifiedTrees>,
    /// restic's cipher with the repository's master key: [`Repo::read_file`] opens the chunks
    /// it read ahead with it ([`open_chunk`]); `None` reads every chunk through rustic_core.
    cipher: Option<Arc<Aes256CtrPoly1305Aes>>,
    /// The most plaintext bytes a chunk may hold ([`MAX_CHUNK`]).
    largest: u32,
    url: String,
    secret: Arc<str>,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("url", &self.url).finish()
    }
}

impl Repo {
    /// Opens the repository at `source` with `password` and reads its index (on a blocking
    /// thread; call it from async code). The index is all rustic_core keeps in memory.
    pub async fn open(source: &Source, password: &str) -> Result<Repo, ResticError> {
        let backend = Arc::new(Backend::new(
            source.clone(),
            tokio::runtime::Handle::current(),
        ));
        let url = source.url().to_owned();
        let secret: Arc<str> = Arc::from(password);
        let (u, s) = (url.clone(), Arc::clone(&secret));
        blocking(&url, move || {
            let backends = RepositoryBackends::new(Arc::clone(&backend) as _, None);
            // Cache off: a cached index or snapshot could hide damage in the repository.
            let opts = RepositoryOptions::default().no_cache(true);
            // The key's scrypt lanes run on a pool of their own, so that a key file's `p`
            // cannot make every core of a large machine hold a lane's memory at once.
            let threads = std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(key::KEY_THREADS);
            let keys = pool(&u, threads, "key", "derive the key")?;
            let files = Arc::new(pool(&u, FILE_READERS, "files", "read the index")?);
            let repo = keys
                .install(|| {
                    Repository::new(&opts, &backends)
                        .and_then(|r| r.open(&Credentials::password(&*s)))
                })
                // The index files are read on the pool of [`FILE_READERS`], not one per core.
                .and_then(|r| files.install(|| r.to_indexed()))
                .map_err(|e| convert(&u, &s, &e))?;
            let cipher = cipher_of(&repo.key()).map(Arc::new);
            let largest = u32::try_from(repo.config().chunk_max_size())
                .unwrap_or(MAX_CHUNK)
                .clamp(RESTIC_CHUNK, MAX_CHUNK);
            Ok(Repo {
                inner: Arc::new(repo),
                files,
                store: backend,
                roots: Arc::default(),
                verified: Arc::default(),
                cipher,
                largest,
                url: u,
                secret: s,
            })
        })
        .await
    }

    /// The pack this repository's index puts chunk `chunk` (64 hex digits) in, `None` when
    /// it lists no such chunk. A lookup in the index read at [`Repo::open`]: no I/O.
    pub fn pack_of(&self, chunk: &str) -> Option<String> {
        let id = chunk.parse::<rustic_core::BlobId>().ok()?;
        let entry = self
            .inner
            .get_index_entry(&rustic_core::DataId::from(id))
            .ok()?;
        Some(entry.pack.to_hex().to_string())
    }

    /// Whether `other` is this very opening of the repository (the same index read), not
    /// another one of the same repository.
    pub fn same(&self, other: &Repo) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Every snapshot of the repository: those `filter` matches, newest first, and those
    /// whose file cannot be read (decrypted, decoded) at all, each a finding against that
    /// snapshot alone, with why (one that holds more than [`MAX_SNAPSHOT_BYTES`] too). `Err`
    /// when the repository's storage fails (unreachable, refused), `snapshots/` cannot be
    /// listed, or the snapshots that match hold more than [`MAX_SNAPSHOT_LISTING_BYTES`]. A
    /// snapshot whose file vanished between the listing and its reading (a `restic forget`
    /// just ran) is not there: left out.
    pub async fn list_snapshots(
        &self,
        filter: &SnapshotFilter,
    ) -> Result<SnapshotListing, ResticError> {
        self.list_snapshots_within(filter, MAX_SNAPSHOT_BYTES, MAX_SNAPSHOT_LISTING_BYTES)
            .await
    }

    /// [`Repo::list_snapshots`] within `each` and `all` bytes for the snapshots kept (smaller
    /// in tests).
    async fn list_snapshots_within(
        &self,
        filter: &SnapshotFilter,
        each: u64,
        all: u64,
    ) -> Result<SnapshotListing, ResticError> {
        use rustic_core::repofile::SnapshotId;
        let me = self.clone();
        let filter = filter.clone();
        blocking(&self.url, move || {
            let ids: Vec<SnapshotId> = me
                .inner
                .list::<SnapshotId>()
                .map_err(|e| me.convert(&e))?
                .collect();
            // Read in parallel, as rustic_core reads them, each kept only as far as the
            // filter matches it (never every snapshot file decoded at once); a result that
            // failed does not say which file it was, so those not read are read again one by
            // one for why.
            let mut kept = Keeping {
                url: &me.url,
                filter: &filter,
                each,
                all,
                held: 0,
                listing: SnapshotListing::default(),
            };
            let mut read = std::collections::HashSet::new();
            // rustic_core's reader runs on the pool it is started from: lifeboat's, of
            // [`FILE_READERS`] threads, and this thread takes what they read.
            let stream = me
                .files
                .install(|| me.inner.stream_files_list::<SnapshotFile>(ids.clone()))
                .map_err(|e| me.convert(&e))?;
            for (id, file) in stream.into_iter().flatten() {
                read.insert(id);
                kept.keep(id, file)?;
            }
            for id in ids {
                if read.contains(&id) {
                    continue;
                }
                match me.inner.get_file::<SnapshotFile>(&id) {
                    Ok(file) => kept.keep(id, file)?,
                    Err(e) => match me.convert(&e) {
                        ResticError::Storage(s) if !s.is_finding() => {
                            return Err(ResticError::Storage(s));
                        }
                        ResticError::Missing { .. } => {}
                        damage => kept.listing.damaged.push(DamagedSnapshot {
                            id: id.to_hex().to_string(),
                            reason: damage.detail(),
                        }),
                    },
                }
            }
            let mut listing = kept.listing;
            listing
                .snapshots
                .sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.id.cmp(&b.id)));
            listing.damaged.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(listing)
        })
        .await
    }

    /// Every regular file of snapshot `id`, as `restic ls` lists them (depth first), with
    /// the size its tree records; an error when the listing would pass [`ListingLimits`]'s
    /// bounds.
    pub async fn files(&self, id: &str) -> Result<Vec<SnapshotEntry>, ResticError> {
        self.files_within(id, ListingLimits::DEFAULT).await
    }

    async fn files_within(
        &self,
        id: &str,
        limits: ListingLimits,
    ) -> Result<Vec<SnapshotEntry>, ResticError> {
        let me = self.clone();
        let id = id.to_owned();
        blocking(&self.url, move || {
            let mut seen = ListingLimits::default();
            let snap = me.snapshot_file(&id)?;
            let refuse = |what: String| ResticError::Repository {
                url: me.url.clone(),
                detail: format!(
                    "snapshot {id} lists more than {what}, which lifeboat refuses (a tree that names one subtree many times can make a snapshot of a few KiB list trillions of files)"
                ),
            };
            // Depth first, as `restic ls` (and rustic_core's `ls`, which this walk replaces
            // so that it can count what it holds): a folder, then what it holds. Each folder
            // on the way down keeps its tree until its last entry is listed, so the trees
            // held at once are those of one path; what they keep decoded is bounded too
            // (`tree_bytes`), with the tree being read, its JSON and decoding.
            struct Level {
                nodes: Nodes,
                next: usize,
                path: std::path::PathBuf,
                bytes: u64,
            }
            let mut levels: Vec<Level> = Vec::new();
            let mut held = 0u64;
            let mut decoded = 0u64;
            // Trees already decoded, by id, up to `TREE_CACHE_BYTES` (the first read are
            // kept, then each new one pushes out the oldest): a tree that folders name many
            // times (identical folders; a forged tree naming one subtree twice per level) is
            // read from storage once, not once per folder, which on object storage would be
            // a request per folder.
            let mut cache = TreeCache::new(TREE_CACHE_BYTES);
            let mut open = |tree: TreeId,
                            path: std::path::PathBuf,
                            levels: &mut Vec<Level>,
                            held: &mut u64|
             -> Result<(), ResticError> {
                let too_much = || ResticError::Repository {
                    url: me.url.clone(),
                    detail: format!(
                        "snapshot {id} holds more than {} bytes of trees along one path (at /{}), which lifeboat refuses (a folder's tree is held while what it holds is listed, so trees nested deep, or forged of many tiny entries, could exhaust the host)",
                        limits.tree_bytes,
                        escape_path(path.as_os_str().as_encoded_bytes())
                    ),
                };
                let (nodes, bytes) = match cache.get(&tree) {
                    Some(kept) => kept,
                    None => {
                        // The tree's JSON, as long as the index says (the decoder refuses
                        // more), must fit before it is read.
                        let json = me.tree_bytes(tree);
                        if held.saturating_add(json) > limits.tree_bytes {
                            return Err(too_much());
                        }
                        // Counted before it is read: the bound is on the work.
                        decoded += json;
                        if decoded > limits.decoded_bytes {
                            return Err(ResticError::Repository {
                                url: me.url.clone(),
                                detail: format!(
                                    "snapshot {id} decodes more than {} bytes of trees to list (at /{}), which lifeboat refuses (a tree too large to keep is decoded again for each folder that names it, so a large tree named by many folders could take hours)",
                                    limits.decoded_bytes,
                                    escape_path(path.as_os_str().as_encoded_bytes())
                                ),
                            });
                        }
                        let plain = me
                            .inner
                            .get_blob_cached(&BlobId::from(*tree), BlobType::Tree)
                            .map_err(|e| me.convert(&e))?;
                        let not_a_tree = |e: serde_json::Error| ResticError::Repository {
                            url: me.url.clone(),
                            detail: format!(
                                "snapshot {id}: tree {} (at /{}) is not a tree: {e}",
                                tree.to_hex().as_str(),
                                escape_path(path.as_os_str().as_encoded_bytes())
                            ),
                        };
                        let weight = tree::weigh(&plain).map_err(not_a_tree)?;
                        if weight.bytes > limits.tree_weight {
                            return Err(ResticError::Repository {
                                url: me.url.clone(),
                                detail: format!(
                                    "snapshot {id}: tree {} (at /{}) would take {} bytes decoded, more than the {} lifeboat decodes of one tree (a tree forged of many tiny entries)",
                                    tree.to_hex().as_str(),
                                    escape_path(path.as_os_str().as_encoded_bytes()),
                                    weight.bytes,
                                    limits.tree_weight
                                ),
                            });
                        }
                        // Decoding it must fit too, with the JSON it is decoded from.
                        let decoding = (plain.len() as u64).saturating_add(weight.bytes);
                        if held.saturating_add(decoding) > limits.tree_bytes {
                            return Err(too_much());
                        }
                        let nodes: Nodes =
                            Arc::new(tree::decode(&plain, &weight).map_err(not_a_tree)?);
                        cache.insert(tree, Arc::clone(&nodes), weight.kept);
                        (nodes, weight.kept)
                    }
                };
                // A kept tree too: it may be named again deeper down.
                *held = held.saturating_add(bytes);
                if *held > limits.tree_bytes {
                    return Err(too_much());
                }
                levels.push(Level {
                    nodes,
                    next: 0,
                    path,
                    bytes,
                });
                Ok(())
            };
            open(snap.tree, std::path::PathBuf::new(), &mut levels, &mut held)?;
            let mut out = Vec::new();
            while let Some(level) = levels.last_mut() {
                let Some(node) = level.nodes.get(level.next) else {
                    held -= level.bytes;
                    levels.pop();
                    continue;
                };
                level.next += 1;
                let path = level.path.join(node.name());
                let (subtree, is_file, size) = (node.subtree, node.is_file(), node.meta.size);
                seen.entries += 1;
                seen.folders += u64::from(node.is_dir());
                if is_file {
                    seen.path_bytes += path.as_os_str().len() as u64 + 1;
                }
                if let Some(what) = seen.beyond(&limits) {
                    return Err(refuse(what));
                }
                if let Some(subtree) = subtree {
                    open(subtree, path.clone(), &mut levels, &mut held)?;
                }
                if is_file {
                    // Never `to_string_lossy`: it would name the file as another one
                    // (`a\xffb` and `a\u{fffd}b` both as `a\u{fffd}b`).
                    let (path, escaped) = match path.to_str() {
                        Some(exact) => (format!("/{exact}"), false),
                        None => {
                            use std::os::unix::ffi::OsStrExt;
                            (
                                format!("/{}", escape_path(path.as_os_str().as_bytes())),
                                true,
                            )
                        }
                    };
                    out.push(SnapshotEntry {
                        path,
                        size,
                        escaped,
                    });
                }
            }
            unique_escaped(&mut out);
            Ok(out)
        })
        .await
    }

    /// How large snapshot `id` is restored whole: its summary's `total_bytes_processed` when
    /// it has a summary, else the sizes its tree lists for its regular files, added up:
    /// `listed` when the caller has already listed them ([`Repo::files`]), else read here
    /// (every tree of the snapshot, never a data pack).
    pub async fn snapshot_size(
        &self,
        id: &str,
        listed: Option<u64>,
    ) -> Result<SnapshotSize, ResticError> {
        let me = self.clone();
        let snapshot = id.to_owned();
        let summary = blocking(&self.url, move || {
            let snap = me.snapshot_file(&snapshot)?;
            Ok(snap.summary.map(|s| s.total_bytes_processed))
        })
        .await?;
        match summary {
            Some(total) => Ok(SnapshotSize::Summary(total)),
            None => match listed {
                Some(total) => Ok(SnapshotSize::Tree(total)),
                None => {
                    let files = self.files(id).await?;
                    Ok(SnapshotSize::Tree(files.iter().map(|f| f.size).sum()))
                }
            },
        }
    }

    /// The chunks of the regular file `path` (as `restic ls` prints it) of snapshot `id`, each
    /// with the pack the index puts it in; `None` when what is there is not a regular file,
    /// an error when nothing is there or the snapshot or a tree on the way is damaged. Reads
    /// the snapshot and the trees on the path, each checked against its id ([`Repo::locate`],
    /// whose typed answer tells those cases apart), never a data pack.
    pub async fn file_chunks(
        &self,
        id: &str,
        path: &str,
    ) -> Result<Option<FileChunks>, ResticError> {
        let detail = match self.locate(id, path).await? {
            Located::File(chunks) => return Ok(Some(chunks)),
            Located::NotAFile => return Ok(None),
            Located::Missing => format!("{path} is not in snapshot {id}"),
            Located::Damaged(damage) => damage.to_string(),
        };
        Err(ResticError::Repository {
            url: self.url.clone(),
            detail,
        })
    }

    /// What is at `path` (as `restic ls` prints it) of snapshot `id`, found by reading the
    /// snapshot and every tree on the path, each checked against its id: the snapshot file's
    /// stored bytes must hash (SHA-256) to its name, each tree's plaintext to the tree's id.
    /// rustic_core checks neither (it decrypts, which authenticates the bytes against the
    /// key, but a validly encrypted snapshot or tree under another id passes it). A damaged
    /// snapshot or tree is [`Located::Damaged`], naming it and its pack; `Err` only when the
    /// storage itself fails (unreachable, refused), which is no finding about the snapshot.
    pub async fn locate(&self, id: &str, path: &str) -> Result<Located, ResticError> {
        let me = self.clone();
        let id = id.to_owned();
        let path = path.to_owned();
        blocking(&self.url, move || me.locate_blocking(&id, &path)).await
    }

    fn locate_blocking(&self, id: &str, path: &str) -> Result<Located, ResticError> {
        let known = self.roots.lock().ok().and_then(|r| r.get(id).copied());
        let root = match known {
            Some(root) => root,
            None => match self.verified_snapshot(id)? {
                Ok(root) => {
                    if let Ok(mut roots) = self.roots.lock() {
                        roots.insert(id.to_owned(), root);
                    }
                    root
                }
                Err(damage) => return Ok(Located::Damaged(damage)),
            },
        };
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((last, folders)) = parts.split_last() else {
            // The snapshot's root is a folder.
            return Ok(Located::NotAFile);
        };
        let mut tree = root;
        for folder in folders {
            let nodes = match self.shared_tree(tree)? {
                Ok(nodes) => nodes,
                Err(damage) => return Ok(Located::Damaged(damage)),
            };
            match find(&nodes, folder) {
                Some(Node {
                    subtree: Some(sub), ..
                }) => tree = *sub,
                // Nothing of that name, or something that is not a folder: the path is not
                // in the snapshot.
                _ => return Ok(Located::Missing),
            }
        }
        let nodes = match self.shared_tree(tree)? {
            Ok(nodes) => nodes,
            Err(damage) => return Ok(Located::Damaged(damage)),
        };
        Ok(match find(&nodes, last) {
            None => Located::Missing,
            Some(node) if node.is_file() => Located::File(self.chunks_of(node)),
            Some(_) => Located::NotAFile,
        })
    }

    /// [`Repo::verified_tree`] through [`VerifiedTrees::shared`]: a tree another file already
    /// checked is not read again, one another file is checking now is waited for, and the
    /// trees being checked at once take at most [`VERIFYING_BYTES`] between them.
    fn shared_tree(&self, id: TreeId) -> Result<Result<Nodes, Damage>, ResticError> {
        self.verified.shared(
            id,
            || self.tree_bytes(id),
            |held| self.verified_tree(id, held),
        )
    }

    /// Snapshot `id`'s root tree, its file's stored bytes checked against its name first;
    /// `Ok(Err(damage))` when they do not hash to it or it cannot be read or decoded.
    fn verified_snapshot(&self, id: &str) -> Result<Result<TreeId, Damage>, ResticError> {
        let snapshot = |detail: String| Damage::SnapshotUnreadable {
            snapshot: id.to_owned(),
            detail,
        };
        let Ok(file_id) = id.parse::<Id>() else {
            return Ok(Err(snapshot("not a snapshot id".to_owned())));
        };
        let stored = match self.store.read_full(FileType::Snapshot, &file_id) {
            Ok(bytes) => bytes,
            Err(e) if matches!(chunk_problem(&e), Ok(ChunkProblem::PackMissing)) => {
                return Ok(Err(Damage::SnapshotGone {
                    snapshot: id.to_owned(),
                }));
            }
            Err(e) => return Ok(Err(snapshot(damage_detail(&e)?))),
        };
        {
            use sha2::Digest as _;
            let actual = hex(&sha2::Sha256::digest(&stored));
            if actual != id {
                return Ok(Err(Damage::SnapshotId {
                    snapshot: id.to_owned(),
                    actual,
                }));
            }
        }
        // Decoded by rustic_core from a second read: the bytes just checked are not handed
        // to it (its decryption is internal). A file replaced between the two reads is the
        // one gap; both reads are of a file restic never rewrites.
        match self.inner.get_snapshots(&[id]) {
            Ok(found) => match found.into_iter().next() {
                Some(snap) => Ok(Ok(snap.tree)),
                None => Ok(Err(snapshot("not in the repository".to_owned()))),
            },
            Err(e) if matches!(chunk_problem(&e), Ok(ChunkProblem::PackMissing)) => {
                Ok(Err(Damage::SnapshotGone {
                    snapshot: id.to_owned(),
                }))
            }
            Err(e) => Ok(Err(snapshot(damage_detail(&e)?))),
        }
    }

    /// How long tree `id`'s JSON is, as the index says (the decoder refuses more:
    /// vendor/README.md); 0 when the index does not list it (reading it then fails).
    fn tree_bytes(&self, id: TreeId) -> u64 {
        self.inner.get_index_entry(&id).map_or(0, |entry| {
            entry.location.uncompressed_length.map_or_else(
                || u64::from(entry.location.length).saturating_sub(SEAL_OVERHEAD as u64),
                |n| u64::from(n.get()),
            )
        })
    }

    /// Tree `id`'s entries, its plaintext checked against its id, and the bytes they keep:
    /// `Done(Err(damage))` when the index does not list it, its pack cannot be read or
    /// decrypted, its plaintext does not hash to its id, or is no tree, or would take more
    /// than [`tree::MAX_TREE_WEIGHT`] decoded. `held` counts its plaintext as being checked,
    /// and is grown to count decoding it too before it is decoded; `Needs` when that does
    /// not fit now.
    fn verified_tree(&self, id: TreeId, held: &mut Reserved<'_>) -> Result<Checking, ResticError> {
        self.verified.checks.fetch_add(1, Ordering::Relaxed);
        let tree = id.to_hex().to_string();
        let Ok(entry) = self.inner.get_index_entry(&id) else {
            return Ok(Checking::Done(Err(Damage::TreeUnreadable {
                tree,
                pack: None,
                detail: "the index does not list it".to_owned(),
            })));
        };
        let pack = entry.pack.to_hex().to_string();
        let unreadable = |detail: String| Damage::TreeUnreadable {
            tree: tree.clone(),
            pack: Some(pack.clone()),
            detail,
        };
        let plain = match self
            .inner
            .get_blob_cached(&BlobId::from(*id), BlobType::Tree)
        {
            Ok(bytes) => bytes,
            Err(e) => {
                let detail = match chunk_problem(&e) {
                    Ok(ChunkProblem::PackMissing) => {
                        return Ok(Checking::Done(Err(Damage::TreePackGone {
                            tree: tree.clone(),
                            pack: pack.clone(),
                        })));
                    }
                    Ok(ChunkProblem::Unreadable { detail }) => {
                        format!("pack unreadable: {detail}")
                    }
                    Ok(problem) => {
                        let detail = match problem {
                            ChunkProblem::Undecryptable { detail } => detail,
                            _ => String::new(),
                        };
                        format!("authentication failed (ciphertext changed): {detail}")
                    }
                    Err(storage) => return Err(ResticError::Storage(storage)),
                };
                return Ok(Checking::Done(Err(unreadable(detail))));
            }
        };
        use sha2::Digest as _;
        let actual = hex(&sha2::Sha256::digest(&plain));
        if actual != tree {
            return Ok(Checking::Done(Err(Damage::TreeId { tree, pack, actual })));
        }
        let weight = match tree::weigh(&plain) {
            Ok(weight) => weight,
            Err(e) => return Ok(Checking::Done(Err(unreadable(format!("not a tree: {e}"))))),
        };
        if weight.bytes > self.verified.largest {
            return Ok(Checking::Done(Err(unreadable(format!(
                "its {} entries would take {} bytes decoded, more than the {} lifeboat decodes of one tree (a tree forged of many tiny entries)",
                weight.nodes, weight.bytes, self.verified.largest
            )))));
        }
        let all = (plain.len() as u64).saturating_add(weight.bytes);
        if !held.grow_to(all) {
            return Ok(Checking::Needs(all));
        }
        match tree::decode(&plain, &weight) {
            Ok(nodes) => Ok(Checking::Done(Ok((Arc::new(nodes), weight.kept)))),
            Err(e) => Ok(Checking::Done(Err(unreadable(format!("not a tree: {e}"))))),
        }
    }

    /// Where `node`'s chunks are, as the index says.
    fn chunks_of(&self, node: &Node) -> FileChunks {
        let chunks = node
            .content
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|chunk| match self.inner.get_index_entry(chunk) {
                Ok(entry) => ChunkLocation {
                    chunk: chunk.to_hex().to_string(),
                    pack: Some(entry.pack.to_hex().to_string()),
                    offset: entry.location.offset,
                    length: entry.location.length,
                    plain_length: entry.location.uncompressed_length.map(u32::from),
                },
                Err(_) => ChunkLocation {
                    chunk: chunk.to_hex().to_string(),
                    pack: None,
                    offset: 0,
                    length: 0,
                    plain_length: None,
                },
            })
            .collect();
        FileChunks {
            size: node.meta.size,
            chunks,
        }
    }

    /// Reads `file`'s chunks in order, each from its pack, authenticated and decrypted
    /// (restic's AES-256-CTR and Poly1305-AES) and decompressed, checks that the SHA-256 of
    /// each plaintext is the chunk's id, and sends each verified plaintext to `out` (bounded: the reader waits
    /// for the consumer). Stops at the first chunk that fails, naming it, its pack and why;
    /// `Err` only when the storage itself fails (unreachable, refused), which is no finding
    /// about the file. Whether the verified bytes add up to [`FileChunks::size`] is the
    /// caller's check. Not rustic's restore path: it does not recompute chunk hashes.
    ///
    /// Storage is read ahead, a window of consecutive chunks ([`WINDOW`] stored bytes) at a
    /// time, in runs: the window's chunks of one pack, in pack order (restic does not
    /// write a file's chunks in file order), neighbours joined into one ranged read (a gap of
    /// up to [`MAX_GAP`] read and dropped, up to [`MAX_RUN`] bytes a read), up to
    /// [`RUNS_IN_FLIGHT`] reads at once; the next window is read while this one is checked.
    /// Memory per file read: at most two windows (32 MiB) of stored bytes, plus the chunks `out`
    /// holds. What is read ahead is only a cache of the pack: each chunk is still decrypted
    /// and checked on its own, in file order, here (`open_chunk`: on the thread that hashes
    /// it, into the buffer handed on, not through rustic_core's blob cache and its copies),
    /// and a run that cannot be read whole (a pack missing, short, unreadable) is read again
    /// chunk by chunk by rustic_core, so a finding names the exact chunk and pack as before.
    /// A chunk the index says is larger than the repository's chunker cuts is refused
    /// unread ([`MAX_CHUNK`]).
    pub async fn read_file(
        &self,
        file: &FileChunks,
        out: tokio::sync::mpsc::Sender<Bytes>,
    ) -> Result<FileRead, ResticError> {
        let chunks: Arc<[ChunkLocation]> = file.chunks.clone().into();
        let windows = windows(&chunks);
        let fetch = |window: &std::ops::Range<usize>| {
            let runs = runs(&chunks, window.clone());
            let (source, reads, shared, budget) = (
                self.store.source.clone(),
                Arc::clone(&self.store.pack_reads),
                Arc::clone(&self.store.shared),
                self.store.local_budget.clone(),
            );
            // Spawned, so the next window reads while this one is checked.
            Ahead(tokio::spawn(async move {
                let held = match budget {
                    Some(budget) => {
                        let bytes = runs.iter().map(|r| u64::from(r.stop - r.start)).sum();
                        budget.acquire(bytes).await
                    }
                    None => None,
                };
                (held, fetch_runs(source, reads, shared, runs).await)
            }))
        };
        let mut ahead = windows.first().map(fetch);
        let mut verified = 0u64;
        for (k, window) in windows.iter().enumerate() {
            // The window's share of the read-ahead budget, given back once it is checked.
            let (_held, fetched) = match ahead.take() {
                Some(mut next) => (&mut next.0).await.unwrap_or_default(),
                None => (None, Vec::new()),
            };
            ahead = windows.get(k + 1).map(fetch);
            let staged: Vec<StageKey> = fetched
                .into_iter()
                .flat_map(|(run, bytes)| self.store.staging.stage(&run, &chunks, bytes))
                .collect();
            let me = self.clone();
            let (all, range, sender) = (Arc::clone(&chunks), window.clone(), out.clone());
            let checked = blocking(&self.url, move || {
                me.check_chunks(&all, range, verified, &sender)
            })
            .await;
            self.store.staging.unstage(&staged);
            let read = checked?;
            verified = read.verified;
            if read.failure.is_some() || out.is_closed() {
                return Ok(read);
            }
        }
        Ok(FileRead {
            verified,
            failure: None,
        })
    }

    /// Decrypts and checks `chunks[range]` (each from its staged run, else through
    /// rustic_core from storage), sending each verified plaintext to `out`; `verified`:
    /// the plaintext bytes verified before them. On a blocking thread.
    fn check_chunks(
        &self,
        chunks: &[ChunkLocation],
        range: std::ops::Range<usize>,
        mut verified: u64,
        out: &tokio::sync::mpsc::Sender<Bytes>,
    ) -> Result<FileRead, ResticError> {
        use sha2::Digest as _;
        for index in range {
            let c = &chunks[index];
            let fail = |problem| {
                Ok(FileRead {
                    verified,
                    failure: Some(ChunkFailure {
                        index,
                        chunk: c.chunk.clone(),
                        pack: c.pack.clone(),
                        problem,
                    }),
                })
            };
            if c.pack.is_none() {
                return fail(ChunkProblem::NotIndexed);
            }
            let Ok(id) = c.chunk.parse::<rustic_core::BlobId>() else {
                return fail(ChunkProblem::NotIndexed);
            };
            if let Some(declared) = too_large(c, self.largest) {
                return fail(ChunkProblem::TooLarge {
                    declared,
                    largest: self.largest,
                });
            }
            // Read ahead: opened here, on this thread, into the buffer handed on. Not read
            // ahead (its run could not be read whole): through rustic_core, which reads it
            // from storage and names what is wrong (a pack missing, short, unreadable).
            let staged = match (&self.cipher, c.pack.as_deref().map(str::parse::<Id>)) {
                (Some(cipher), Some(Ok(pack))) => self
                    .store
                    .staging
                    .get(&(pack, c.offset, c.length))
                    .map(|stored| (cipher, stored)),
                _ => None,
            };
            let plain = match staged {
                Some((cipher, stored)) => {
                    match open_chunk(cipher, &stored, c.offset, c.plain_length) {
                        Ok(plain) => plain,
                        Err(problem) => return fail(problem),
                    }
                }
                None => match self
                    .inner
                    .get_blob_cached(&id, rustic_core::repofile::BlobType::Data)
                {
                    Ok(bytes) => bytes,
                    Err(e) => match chunk_problem(&e) {
                        Ok(problem) => return fail(problem),
                        Err(storage) => return Err(ResticError::Storage(storage)),
                    },
                },
            };
            let actual = hex(&sha2::Sha256::digest(&plain));
            if actual != c.chunk {
                return fail(ChunkProblem::HashMismatch { actual });
            }
            verified += plain.len() as u64;
            if out.blocking_send(plain).is_err() {
                // The consumer is gone (the drill stopped): nothing more to do.
                break;
            }
        }
        Ok(FileRead {
            verified,
            failure: None,
        })
    }

    /// How many ranged reads of packs (data and tree) this repository has made of its
    /// storage: what
    /// [`Repo::read_file`]'s coalescing saves, for tests and benchmarks.
    pub fn pack_reads(&self) -> u64 {
        self.store.pack_reads.reads.load(Ordering::Relaxed)
    }

    /// How many bytes of packs those reads asked storage for, for tests and benchmarks.
    pub fn pack_bytes_read(&self) -> u64 {
        self.store.pack_reads.bytes.load(Ordering::Relaxed)
    }

    /// The most bytes of packs [`Repo::read_file`] reads ahead of their check over every
    /// file read at once, from local disk; `None` on object storage, where it is not held
    /// to one.
    pub fn read_ahead_budget(&self) -> Option<u64> {
        self.store
            .local_budget
            .as_ref()
            .map(|b| u64::from(b.mib) << 20)
    }

    /// Snapshot `id`, read and decrypted (on a blocking thread: rustic_core is synchronous).
    fn snapshot_file(&self, id: &str) -> Result<SnapshotFile, ResticError> {
        self.inner
            .get_snapshots(&[id])
            .map_err(|e| self.convert(&e))?
            .into_iter()
            .next()
            .ok_or_else(|| ResticError::Repository {
                url: self.url.clone(),
                detail: format!("snapshot {id} is not there"),
            })
    }

    fn convert(&self, e: &RusticError) -> ResticError {
        convert(&self.url, &self.secret, e)
    }
}

/// Chunks of a file stored close together in one pack, read from storage in one ranged read.
#[derive(Debug)]
struct Run {
    pack: Id,
    /// The span of the pack read: `start..stop`.
    start: u32,
    stop: u32,
    /// The chunks (indexes into the file's chunks) it holds, in pack order.
    chunks: Vec<usize>,
}

/// `chunks` cut into windows of consecutive chunks of up to [`WINDOW`] stored bytes (at least
/// one chunk each).
fn windows(chunks: &[ChunkLocation]) -> Vec<std::ops::Range<usize>> {
    let mut windows: Vec<std::ops::Range<usize>> = Vec::new();
    let mut bytes = 0u64;
    for (index, c) in chunks.iter().enumerate() {
        let length = u64::from(c.length);
        match windows.last_mut() {
            Some(last) if bytes + length <= WINDOW => {
                last.end = index + 1;
                bytes += length;
            }
            _ => {
                windows.push(index..index + 1);
                bytes = length;
            }
        }
    }
    windows
}

/// The [`Run`]s that read `chunks[window]` ahead: per pack, its chunks in pack order, a chunk
/// joining the run before it when it starts at or after the run's end, no more than
/// [`MAX_GAP`] after it, and the run stays within [`MAX_RUN`] bytes. Chunks not indexed, or
/// larger than a run, are not read ahead (rustic_core reads, or reports, them on its own);
/// a chunk met twice is read once. The gaps read and dropped add up to at most [`WINDOW`]
/// per window: past that a chunk starts a run of its own. Without it a hostile index (tiny
/// chunks a gap apart in a large pack) could make one window of a few KiB of chunks read,
/// and hold at once, a thousand times as much.
fn runs(chunks: &[ChunkLocation], window: std::ops::Range<usize>) -> Vec<Run> {
    let mut located: Vec<(Id, u32, u32, usize)> = window
        .filter_map(|index| {
            let c = &chunks[index];
            let pack = c.pack.as_deref()?.parse::<Id>().ok()?;
            let stop = c.offset.checked_add(c.length)?;
            (c.length <= MAX_RUN).then_some((pack, c.offset, stop, index))
        })
        .collect();
    located.sort_unstable();
    let mut runs: Vec<Run> = Vec::new();
    let mut gaps = 0u64;
    for (pack, offset, stop, index) in located {
        if let Some(last) = runs.last_mut()
            && last.pack == pack
        {
            if offset < last.stop && stop <= last.stop {
                // A chunk already in the run (met twice in the file): it is staged with it.
                last.chunks.push(index);
                continue;
            }
            // `None`: the chunk starts inside the run (overlapping chunks of a hostile index).
            if let Some(gap) = offset.checked_sub(last.stop)
                && gap <= MAX_GAP
                && stop - last.start <= MAX_RUN
                && gaps + u64::from(gap) <= WINDOW
            {
                gaps += u64::from(gap);
                last.stop = stop;
                last.chunks.push(index);
                continue;
            }
        }
        runs.push(Run {
            pack,
            start: offset,
            stop,
            chunks: vec![index],
        });
    }
    runs
}

/// Reads `runs` from storage, [`RUNS_IN_FLIGHT`] at once; each with its bytes, or `None` when
/// it could not be read whole (each of its chunks is then read on its own, which names what
/// is wrong). A short run is cut from its pack's shared block ([`PackCache`]) on object
/// storage, read exactly from local disk.
async fn fetch_runs(
    source: Source,
    reads: Arc<Tally>,
    shared: Arc<PackCache>,
    runs: Vec<Run>,
) -> Vec<(Run, Option<Bytes>)> {
    use futures::StreamExt as _;
    futures::stream::iter(runs)
        .map(|run| {
            let (source, reads, shared) = (&source, &reads, &shared);
            async move {
                // Blocks are shared on object storage only ([`SHARED_BLOCK`]).
                if source.local_root().is_none()
                    && let Some(bytes) = shared.run(source, reads, &run).await
                {
                    return (run, bytes);
                }
                let path = Backend::path(FileType::Pack, &run.pack);
                let len = (run.stop - run.start) as usize;
                let bytes = read_exactly(source, reads, &path, u64::from(run.start), len).await;
                (run, bytes)
            }
        })
        .buffer_unordered(RUNS_IN_FLIGHT)
        .collect()
        .await
}

/// `len` bytes of `path` from `offset`, counted as a pack read; `None` unless read whole.
async fn read_exactly(
    source: &Source,
    reads: &Tally,
    path: &str,
    offset: u64,
    len: usize,
) -> Option<Bytes> {
    reads.count(len as u64);
    match source.read_range(path, offset, len).await {
        Ok(Some(bytes)) if bytes.len() == len => Some(bytes),
        _ => None,
    }
}

/// Blocks of packs read for one drill (one [`Repo`]) and shared by the files restoring at
/// once: the files of a pack of small files read it once. A block is the
/// [`SHARED_BLOCK`]-aligned span of a pack (the last one ends with the pack, whose size is
/// asked of storage once), read whole or not at all; a file asking for a block being read
/// waits for that read instead of making its own. A pack's name is the hash of its bytes,
/// so a block kept is never stale; it is only a copy of storage: each chunk cut from it is
/// still decrypted and checked on its own. Blocks kept: at most [`SHARED_BYTES`], oldest
/// dropped first.
#[derive(Debug, Default)]
struct PackCache {
    state: std::sync::Mutex<Shared>,
}

/// A block's bytes, once read: `None` when it could not be read whole.
type Block = Arc<tokio::sync::OnceCell<Option<Bytes>>>;

#[derive(Debug, Default)]
struct Shared {
    /// Each pack's size, as storage said (`None`: it could not say).
    sizes: HashMap<Id, Arc<tokio::sync::OnceCell<Option<u64>>>>,
    /// Blocks by (pack, block number), read or being read.
    blocks: HashMap<(Id, u64), Block>,
    /// Blocks kept, oldest first, with their lengths, and those added up.
    order: std::collections::VecDeque<((Id, u64), u64)>,
    bytes: u64,
}

impl PackCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `run`'s bytes cut from its pack's shared block: `Some(None)` when the block could not
    /// be read whole, `None` when the run is not one to share (long, across two blocks, or
    /// in a pack whose size storage did not give): the caller reads it on its own.
    async fn run(&self, source: &Source, reads: &Tally, run: &Run) -> Option<Option<Bytes>> {
        let (start, stop) = (u64::from(run.start), u64::from(run.stop));
        let number = start / SHARED_BLOCK;
        // An empty run (a hostile index) is not shared either.
        if stop <= start || stop - start >= SHARED_BLOCK || (stop - 1) / SHARED_BLOCK != number {
            return None;
        }
        let path = Backend::path(FileType::Pack, &run.pack);
        let size = {
            let cell = Arc::clone(self.lock().sizes.entry(run.pack).or_default());
            cell.get_or_init(|| async { source.head(&path).await.ok().flatten().map(|i| i.size) })
                .await
                .to_owned()?
        };
        let from = number * SHARED_BLOCK;
        let to = size.min(from + SHARED_BLOCK);
        if stop > to {
            return None;
        }
        let key = (run.pack, number);
        let block = Arc::clone(self.lock().blocks.entry(key).or_default());
        let len = (to - from) as usize;
        let bytes = block
            .get_or_init(|| async {
                let bytes = read_exactly(source, reads, &path, from, len).await;
                self.keep(key, bytes.as_ref().map_or(0, |b| b.len() as u64));
                bytes
            })
            .await
            .as_ref()
            .map(|b| b.slice((start - from) as usize..(stop - from) as usize));
        Some(bytes)
    }

    /// Counts a block just read as kept, dropping the oldest beyond [`SHARED_BYTES`].
    fn keep(&self, key: (Id, u64), bytes: u64) {
        let mut shared = self.lock();
        shared.order.push_back((key, bytes));
        shared.bytes += bytes;
        while shared.bytes > SHARED_BYTES {
            let Some((old, held)) = shared.order.pop_front() else {
                break;
            };
            shared.blocks.remove(&old);
            shared.bytes -= held;
        }
    }
}

/// Ranged reads of packs made of storage, and the bytes they asked for.
#[derive(Debug, Default)]
struct Tally {
    reads: AtomicU64,
    bytes: AtomicU64,
}

impl Tally {
    fn count(&self, bytes: u64) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A window's reads, stopped when no longer wanted (a file that failed stops reading).
struct Ahead(tokio::task::JoinHandle<Fetched>);

/// A window's runs, each with its bytes (`None`: not read whole), and the share of the local
/// read-ahead budget they hold until they are checked.
type Fetched = (
    Option<tokio::sync::OwnedSemaphorePermit>,
    Vec<(Run, Option<Bytes>)>,
);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Pack ranges [`Repo::read_file`] has read ahead, which [`Backend::read_partial`] serves
/// rustic_core from instead of storage. Keyed by (pack, offset, length) of one chunk, each
/// with how many runs staged it (two files read at once may share a chunk).
#[derive(Debug, Default)]
struct Staging {
    ranges: std::sync::Mutex<HashMap<StageKey, (Bytes, usize)>>,
}

/// A staged chunk: its pack, offset and stored length.
type StageKey = (Id, u32, u32);

impl Staging {
    /// Stages each chunk of `run` as its slice of `bytes`; returns the keys to unstage.
    fn stage(&self, run: &Run, chunks: &[ChunkLocation], bytes: Option<Bytes>) -> Vec<StageKey> {
        let Some(bytes) = bytes else {
            return Vec::new();
        };
        let mut ranges = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        run.chunks
            .iter()
            .map(|&index| {
                let c = &chunks[index];
                let from = (c.offset - run.start) as usize;
                let key = (run.pack, c.offset, c.length);
                let slot = ranges
                    .entry(key)
                    .or_insert_with(|| (bytes.slice(from..from + c.length as usize), 0));
                slot.1 += 1;
                key
            })
            .collect()
    }

    fn unstage(&self, keys: &[StageKey]) {
        let mut ranges = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some(slot) = ranges.get_mut(key) {
                slot.1 -= 1;
                if slot.1 == 0 {
                    ranges.remove(key);
                }
            }
        }
    }

    fn get(&self, key: &StageKey) -> Option<Bytes> {
        let ranges = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        ranges.get(key).map(|(bytes, _)| bytes.clone())
    }
}

/// The length the index gives chunk `c` when it is more than a repository whose chunker cuts
/// at most `largest` bytes can hold: its plaintext length, or, stored uncompressed, its stored
/// length less restic's 32 bytes; or its stored length when that is more than zstd could
/// make of the largest chunk.
fn too_large(c: &ChunkLocation, largest: u32) -> Option<u64> {
    let largest = u64::from(largest);
    let stored = u64::from(c.length);
    let plain = c.plain_length.map_or(stored.saturating_sub(32), u64::from);
    if plain > largest {
        return Some(plain);
    }
    // zstd's worst case is its input plus 1/256 of it and a few bytes of framing.
    (stored > largest + largest / 128 + 4096).then_some(stored)
}

/// The cipher that seals restic's blobs, with the repository's master key: `None` when the
/// key rustic_core opened is not restic's 64 bytes (never, for a key that opened), and every
/// chunk is then read through rustic_core.
fn cipher_of(key: &rustic_core::repofile::MasterKey) -> Option<Aes256CtrPoly1305Aes> {
    let (encrypt, k, r) = (&key.encrypt, &key.mac.k, &key.mac.r);
    if (encrypt.len(), k.len(), r.len()) != (32, 16, 16) {
        return None;
    }
    let mut bytes = aes256ctr_poly1305aes::Key::default();
    bytes[..32].copy_from_slice(encrypt);
    bytes[32..48].copy_from_slice(k);
    bytes[48..].copy_from_slice(r);
    Some(Aes256CtrPoly1305Aes::new(&bytes))
}

/// restic's nonce and MAC around every sealed blob: 16 bytes each.
const SEAL_OVERHEAD: usize = 32;

/// restic's `nonce ‖ ciphertext ‖ MAC` decrypted and authenticated under `cipher`; `None`
/// when it is shorter than the nonce and MAC or does not authenticate. The one decryption
/// of both the restore path ([`open_chunk`]) and a pack's check ([`Repo::verify_pack`]).
fn unseal(cipher: &Aes256CtrPoly1305Aes, sealed: &[u8]) -> Option<Vec<u8>> {
    let mut plain = Vec::new();
    unseal_into(cipher, sealed, &mut plain)?;
    Some(plain)
}

/// [`unseal`] into `plain` (cleared first), so a caller can use one buffer again; `None`
/// leaves in it bytes that did not authenticate, never to be used.
fn unseal_into(cipher: &Aes256CtrPoly1305Aes, sealed: &[u8], plain: &mut Vec<u8>) -> Option<()> {
    use aes256ctr_poly1305aes::aead::AeadInPlace as _;
    let ciphertext_end = sealed.len().checked_sub(16)?;
    if ciphertext_end < 16 {
        return None;
    }
    let (nonce, rest) = sealed[..ciphertext_end].split_at(16);
    let tag = &sealed[ciphertext_end..];
    plain.clear();
    plain.extend_from_slice(rest);
    cipher
        .decrypt_in_place_detached(nonce.into(), &[], plain, tag.into())
        .ok()
}

/// The plaintext of one chunk from its `stored` bytes (restic's 16-byte nonce, the
/// ciphertext, the 16-byte Poly1305-AES tag), as rustic_core would give it, without its
/// copies: authenticated, decrypted in one buffer, and, when the index gives a plaintext
/// length (`plain_length`: repository format 2 compresses every data blob), zstd-decoded
/// into a buffer of at most that length. Nothing is allocated beyond the stored length
/// (a run holds at most [`MAX_RUN`]) and the declared one, which the caller has bounded
/// ([`ChunkProblem::TooLarge`]). The SHA-256 against the chunk's id is the caller's.
fn open_chunk(
    cipher: &Aes256CtrPoly1305Aes,
    stored: &[u8],
    offset: u32,
    plain_length: Option<u32>,
) -> Result<Bytes, ChunkProblem> {
    let undecryptable = |detail: String| ChunkProblem::Undecryptable { detail };
    if stored.len() < SEAL_OVERHEAD {
        return Err(undecryptable(format!(
            "{} stored bytes at offset {offset}: shorter than restic's nonce and MAC (32 bytes)",
            stored.len()
        )));
    }
    let not_sealed = || {
        undecryptable(format!(
            "Data decryption failed, MAC check failed: the {} stored bytes at offset {offset} are \
             not what the repository's key sealed",
            stored.len()
        ))
    };
    let mut out = KeptBuffer::with_capacity(plain_length.map_or(stored.len(), |n| n as usize));
    let Some(declared) = plain_length else {
        return match unseal_into(cipher, stored, out.vec()) {
            Some(()) => Ok(out.into_bytes()),
            None => Err(not_sealed()),
        };
    };
    // Compressed: decrypted into a buffer of its own, decoded into the spare capacity of
    // `out` (at least `declared` bytes, not zeroed first; a kept buffer may hold more).
    // zstd refuses to write past that capacity: a bomb is never allocated, and a frame
    // longer than `declared` that fits is refused just below.
    let mut plain = KeptBuffer::with_capacity(stored.len());
    unseal_into(cipher, stored, plain.vec()).ok_or_else(not_sealed)?;
    let decoded = DECOMPRESSOR
        .with(|cell| {
            let mut slot = cell.borrow_mut();
            let decompressor = match slot.as_mut() {
                Some(d) => d,
                None => slot.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress_to_buffer(plain.vec().as_slice(), out.vec())
        })
        .map_err(|e| {
            undecryptable(format!(
                "Failed to decode zstd compressed data (the index says {declared} bytes): {e}"
            ))
        })?;
    if decoded != declared as usize {
        return Err(undecryptable(format!(
            "its plaintext decompresses to {decoded} bytes, the index says {declared}"
        )));
    }
    Ok(out.into_bytes())
}

thread_local! {
    /// A zstd decoding context per blocking thread, kept between chunks (making one
    /// allocates and initialises its tables).
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The most bytes of host, paths and tags one snapshot that matches may hold in a listing
/// ([`Repo::list_snapshots`]): restic records the paths given to `restic backup`, a
/// handful usually, and a few tags; a snapshot file forged with the key can list millions.
/// One that holds more is a finding against it (damaged), not kept.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 << 20;

/// The most bytes of hosts, paths and tags the snapshots that match may hold in a listing
/// between them, as much as a manifest may hold: an honest repository of 100,000 snapshots
/// holds some 30 MB. Past it the listing is refused: forged snapshot files, each within
/// [`MAX_SNAPSHOT_BYTES`], could otherwise exhaust the host between them.
pub const MAX_SNAPSHOT_LISTING_BYTES: u64 = 512 << 20;

/// The snapshots a listing keeps ([`Repo::list_snapshots`]), and the bytes they hold.
struct Keeping<'a> {
    url: &'a str,
    filter: &'a SnapshotFilter,
    /// The most one may hold ([`MAX_SNAPSHOT_BYTES`]).
    each: u64,
    /// The most all those kept may hold ([`MAX_SNAPSHOT_LISTING_BYTES`]).
    all: u64,
    held: u64,
    listing: SnapshotListing,
}

impl Keeping<'_> {
    /// `file`, snapshot `id`, kept if the filter matches it: a finding when it alone holds
    /// more than `each` bytes, an error when those kept hold more than `all`.
    fn keep(
        &mut self,
        id: rustic_core::repofile::SnapshotId,
        mut file: SnapshotFile,
    ) -> Result<(), ResticError> {
        file.id = id;
        let found = snapshot(&file);
        drop(file);
        if !self.filter.matches(&found) {
            return Ok(());
        }
        let bytes = found.held_bytes();
        if bytes > self.each {
            self.listing.damaged.push(DamagedSnapshot {
                id: found.id,
                reason: format!(
                    "it holds {bytes} bytes of host, paths and tags, more than the {} lifeboat keeps of one snapshot",
                    self.each
                ),
            });
            return Ok(());
        }
        self.held += bytes;
        if self.held > self.all {
            return Err(ResticError::Repository {
                url: self.url.to_owned(),
                detail: format!(
                    "the snapshots that match hold more than {} bytes of hosts, paths and tags, which lifeboat refuses (forged snapshot files, each listing many paths or tags, could exhaust the host)",
                    self.all
                ),
            });
        }
        self.listing.snapshots.push(found);
        Ok(())
    }
}

fn snapshot(s: &SnapshotFile) -> Snapshot {
    let t = s.time.timestamp();
    Snapshot {
        id: s.id.to_hex().to_string(),
        time: Timestamp::new(t.as_second(), t.subsec_nanosecond()).unwrap_or(Timestamp::UNIX_EPOCH),
        hostname: s.hostname.clone(),
        paths: s.paths.iter().cloned().collect(),
        tags: s.tags.iter().cloned().collect(),
    }
}

/// The node named `name` among `nodes`.
fn find<'a>(nodes: &'a [Node], name: &str) -> Option<&'a Node> {
    nodes
        .iter()
        .find(|n| n.name() == std::ffi::OsStr::new(name))
}

/// What a failed read of a snapshot file says about it, in one line; `Err` when the storage
/// itself failed (no finding about the snapshot).
fn damage_detail(e: &RusticError) -> Result<String, ResticError> {
    match chunk_problem(e) {
        Ok(ChunkProblem::PackMissing) => Ok("not in the repository".to_owned()),
        Ok(ChunkProblem::Unreadable { detail } | ChunkProblem::Undecryptable { detail }) => {
            Ok(detail)
        }
        Ok(problem) => Ok(format!("{problem:?}")),
        Err(storage) => Err(ResticError::Storage(storage)),
    }
}

/// `bytes`, a path that is not UTF-8, as a person can read it: each byte that is not part of
/// a valid UTF-8 sequence written `\xHH`, each backslash doubled (as restic escapes a name in
/// a tree). Control characters are left to the places that print it (SECURITY.md class 7).
pub fn escape_path(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Makes every escaped path of `entries` differ from every other path: an escaped name can
/// still read like another file's real one (`a\xffb` for the byte 0xff, and a file that is
/// named with those four characters), so it gets ` (not UTF-8)` added until it is unique.
/// Costs nothing when no path is escaped (nearly every snapshot); otherwise the other paths
/// are looked up borrowed, not copied (a million-file listing held a second copy of every
/// path here, about 70 MiB, for no escaped name at all).
fn unique_escaped(entries: &mut [SnapshotEntry]) {
    use std::collections::HashSet;
    if !entries.iter().any(|e| e.escaped) {
        return;
    }
    let renamed: Vec<(usize, String)> = {
        let plain: HashSet<&str> = entries
            .iter()
            .filter(|e| !e.escaped)
            .map(|e| e.path.as_str())
            .collect();
        let mut chosen: HashSet<String> = HashSet::new();
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.escaped)
            .map(|(i, e)| {
                let mut path = e.path.clone();
                while plain.contains(path.as_str()) || chosen.contains(&path) {
                    path.push_str(" (not UTF-8)");
                }
                chosen.insert(path.clone());
                (i, path)
            })
            .collect()
    };
    for (i, path) in renamed {
        entries[i].path = path;
    }
}

/// A pool of `threads` threads named `restic-NAME-N` for the repository at `url`; what they
/// are for (`to`) names them in the error when they cannot be started.
fn pool(url: &str, threads: usize, name: &str, to: &str) -> Result<rayon::ThreadPool, ResticError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name({
            let name = name.to_owned();
            move |i| format!("restic-{name}-{i}")
        })
        .build()
        .map_err(|e| ResticError::Repository {
            url: url.to_owned(),
            detail: format!("cannot start the threads that {to}: {e}"),
        })
}

/// Runs rustic_core's synchronous `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
    url: &str,
    work: impl FnOnce() -> Result<T, ResticError> + Send + 'static,
) -> Result<T, ResticError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(out) => out,
        Err(e) => Err(ResticError::Repository {
            url: url.to_owned(),
            detail: if e.is_panic() {
                "the repository reader panicked (a bug in lifeboat or rustic_core: please report it)"
                    .to_owned()
            } else {
                format!("the repository reader was cancelled: {e}")
            },
        }),
    }
}

/// A rustic_core error as lifeboat's: the storage failure it carries if any, a wrong password
/// by its code, else rustic_core's own words, with the password scrubbed.
fn convert(url: &str, secret: &str, e: &RusticError) -> ResticError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(failure) = c.downcast_ref::<Failure>() {
            return ResticError::Storage(Arc::clone(&failure.0));
        }
        if let Some(Missing(object)) = c.downcast_ref::<Missing>() {
            return ResticError::Missing {
                url: url.to_owned(),
                object: object.clone(),
            };
        }
        if let Some(key::Refused(why)) = c.downcast_ref::<key::Refused>() {
            return ResticError::Repository {
                url: url.to_owned(),
                detail: why.clone(),
            };
        }
        cause = c.source();
    }
    if e.is_incorrect_password() {
        return ResticError::WrongPassword {
            url: url.to_owned(),
        };
    }
    let mut detail = concise(e);
    if !secret.is_empty() {
        detail = detail.replace(secret, "***");
    }
    ResticError::Repository {
        url: url.to_owned(),
        detail: crate::redact(&detail),
    }
}

/// What a failed chunk read says about the repository; `Err` when the storage itself failed.
fn chunk_problem(e: &RusticError) -> Result<ChunkProblem, Arc<StorageError>> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<Missing>().is_some() {
            return Ok(ChunkProblem::PackMissing);
        }
        if let Some(failure) = c.downcast_ref::<Failure>() {
            return if failure.0.is_finding() {
                Ok(ChunkProblem::Unreadable {
                    detail: failure.0.to_string(),
                })
            } else {
                Err(Arc::clone(&failure.0))
            };
        }
        cause = c.source();
    }
    Ok(ChunkProblem::Undecryptable { detail: concise(e) })
}

/// rustic_core's account of `e` in one line: each error of its chain by its message only
/// (`error processing Pack:… at …: Data decryption failed, MAC check failed.: aead::Error`).
/// Its own `Display` spans many lines and, with `RUST_BACKTRACE` set, a backtrace: not a
/// reason an evidence record should carry.
fn concise(e: &RusticError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let rustic = c
            .downcast_ref::<RusticError>()
            .or_else(|| c.downcast_ref::<Box<RusticError>>().map(|b| &**b));
        let part = match rustic {
            Some(r) => {
                let log = r.display_log();
                let log = log.trim_start_matches("Error: ");
                log.split(" (kind: ")
                    .next()
                    .unwrap_or(log)
                    .trim()
                    .to_owned()
            }
            None => c
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        };
        if !part.is_empty() && !parts.contains(&part) {
            parts.push(part);
        }
        cause = c.source();
    }
    parts.join(": ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An object the repository should hold and storage does not, carried through rustic_core.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not in the repository")]
struct Missing(String);

/// A storage error carried through rustic_core back to [`convert`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failure(Arc<StorageError>);

/// rustic_core's backend over a lifeboat [`Source`], read-only. Its methods block on the
/// async store: call them only from a blocking thread (rustic_core's, or `spawn_blocking`).
#[derive(Debug)]
pub struct Backend {
    source: Source,
    runtime: tokio::runtime::Handle,
    /// Pack ranges read ahead by [`Repo::read_file`].
    staging: Staging,
    /// Ranged reads of packs made of storage, and their bytes.
    pack_reads: Arc<Tally>,
    /// Blocks of packs shared by the files read at once.
    shared: Arc<PackCache>,
    /// MiB of packs read ahead from local disk and not yet checked, over every file
    /// restoring at once ([`Budget`]); `None` on object storage.
    local_budget: Option<Budget>,
    /// Key files read so far: at most [`key::MAX_KEYS`] are tried.
    keys_read: AtomicUsize,
}

impl Backend {
    pub fn new(source: Source, runtime: tokio::runtime::Handle) -> Backend {
        Backend {
            runtime,
            staging: Staging::default(),
            pack_reads: Arc::default(),
            local_budget: source.local_root().is_some().then(Budget::local),
            source,
            shared: Arc::default(),
            keys_read: AtomicUsize::new(0),
        }
    }

    /// The object of `id` of type `tpe` below the source: `config`, `keys/ID`,
    /// `snapshots/ID`, `index/ID`, `data/XX/ID`.
    fn path(tpe: FileType, id: &Id) -> String {
        let hex = id.to_hex();
        match tpe {
            FileType::Config => "config".to_owned(),
            FileType::Pack => format!("data/{}/{}", &hex[..2], &*hex),
            other => format!("{}/{}", other.dirname(), &*hex),
        }
    }

    fn failed(e: StorageError) -> Box<RusticError> {
        RusticError::with_source(
            ErrorKind::Backend,
            "the repository's storage failed",
            Failure(Arc::new(e)),
        )
    }

    fn refused(why: String) -> Box<RusticError> {
        RusticError::with_source(
            ErrorKind::Key,
            "a key file of the repository is refused",
            key::Refused(why),
        )
    }

    /// The key file `path`, read whole if it is small ([`key::MAX_KEY_FILE`]) and only if it
    /// asks for a key derivation within lifeboat's bounds ([`key::check`]), and only for the
    /// first [`key::MAX_KEYS`] key files asked for.
    fn read_key(&self, path: &str) -> RusticResult<Bytes> {
        if self.keys_read.fetch_add(1, Ordering::Relaxed) >= key::MAX_KEYS {
            return Err(Self::refused(format!(
                "the repository has more key files than lifeboat tries ({}, as restic) and none of those tried accepts the password",
                key::MAX_KEYS
            )));
        }
        let (bytes, _) = self
            .runtime
            .block_on(self.source.read_small(path, key::MAX_KEY_FILE))
            .map_err(|e| match e {
                e if e.is_finding() => Self::refused(format!("the key file {e}")),
                e => Self::failed(e),
            })?
            .ok_or_else(|| Self::missing(path))?;
        key::check(path, &bytes).map_err(Self::refused)?;
        Ok(bytes)
    }

    fn missing(path: &str) -> Box<RusticError> {
        RusticError::with_source(
            ErrorKind::Backend,
            "an object is not in the repository",
            Missing(path.to_owned()),
        )
    }
}

impl ReadBackend for Backend {
    fn location(&self) -> String {
        self.source.url().to_owned()
    }

    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        if tpe == FileType::Config {
            let head = self
                .runtime
                .block_on(self.source.head("config"))
                .map_err(Self::failed)?;
            return Ok(head
                .map(|info| (Id::default(), u32::try_from(info.size).unwrap_or(u32::MAX)))
                .into_iter()
                .collect());
        }
        // data/ has one level of XX folders; the others are flat.
        let depth = usize::from(tpe == FileType::Pack);
        let files = self
            .runtime
            .block_on(self.source.list_files(tpe.dirname(), depth))
            .map_err(Self::failed)?;
        // Names that are not ids (a stray file, a temporary upload) are not the repository's.
        Ok(files
            .into_iter()
            .filter_map(|(path, size)| {
                let name = path.rsplit('/').next()?;
                let id = name.parse::<Id>().ok()?;
                Some((id, u32::try_from(size).unwrap_or(u32::MAX)))
            })
            .collect())
    }

    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        let path = Self::path(tpe, id);
        if tpe == FileType::Key {
            return self.read_key(&path);
        }
        #[cfg(test)]
        tests::whole_read(self.source.url(), tpe);
        match self
            .runtime
            .block_on(self.source.read_small(&path, full_read_limit(tpe)))
            .map_err(Self::failed)?
        {
            Some((bytes, _)) => Ok(bytes),
            None => Err(Self::missing(&path)),
        }
    }

    fn read_partial(
        &self,
        tpe: FileType,
        id: &Id,
        _cacheable: bool,
        offset: u32,
        length: u32,
    ) -> RusticResult<Bytes> {
        if tpe == FileType::Pack {
            if let Some(bytes) = self.staging.get(&(*id, offset, length)) {
                return Ok(bytes);
            }
            self.pack_reads.count(u64::from(length));
        }
        let path = Self::path(tpe, id);
        match self
            .runtime
            .block_on(
                self.source
                    .read_range(&path, u64::from(offset), length as usize),
            )
            .map_err(Self::failed)?
        {
            Some(bytes) => Ok(bytes),
            None => Err(Self::missing(&path)),
        }
    }

    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        Self::path(tpe, id)
    }
}

impl WriteBackend for Backend {
    fn create(&self) -> RusticResult<()> {
        Err(read_only())
    }

    fn write_bytes(
        &self,
        _tpe: FileType,
        _id: &Id,
        _cacheable: bool,
        _content: rustic_core::BytesList,
    ) -> RusticResult<()> {
        Err(read_only())
    }

    fn remove(&self, _tpe: FileType, _id: &Id, _cacheable: bool) -> RusticResult<()> {
        Err(read_only())
    }
}

fn read_only() -> Box<RusticError> {
    RusticError::new(
        ErrorKind::Unsupported,
        "lifeboat reads backups and never writes to them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustic_core derives a restic key with the scrypt crate, which lifeboat builds from
    /// vendor/scrypt: its lanes run in parallel, one set of lane vectors per run of lanes
    /// instead of one vector per lane, and two or four lanes mixed at once where the CPU has
    /// AVX2 or AVX-512F (vendor/README.md). RFC 7914's p = 16 vector (four groups of four
    /// lanes of 1 MiB) must come out the same whatever the pool's size and however the groups
    /// are split among its threads; so must p = 7 (a group of four and one of three, whose
    /// spare quarter copies its last lane), against Python's `hashlib.scrypt` (OpenSSL's
    /// scrypt); and RFC 7914's N = 16384 vector (one 16 MiB lane in a group of its own).
    #[test]
    fn the_patched_scrypt_still_derives_rfc_7914s_vectors_on_any_pool() {
        let vectors = [
            (
                16,
                "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
                 2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
            ),
            (
                7,
                "f4257222f31ac21a10511eaba9b2dc4c9d4cb0458fff41b0fa39a65f202c6f48\
                 574a451ea4f0802f86a537ebf0c15679f46e826742eceb9b363a1942a635f5a9",
            ),
        ];
        for (p, expected) in vectors {
            let params = scrypt::Params::new(10, 8, p).unwrap();
            for threads in [1, 2, 3, 5, 16] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut key = [0u8; 64];
                pool.install(|| scrypt::scrypt(b"password", b"NaCl", &params, &mut key))
                    .unwrap();
                assert_eq!(hex(&key), expected, "p = {p}, {threads} threads");
            }
        }
        let expected = "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
                        d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887";
        let params = scrypt::Params::new(14, 8, 1).unwrap();
        let mut key = [0u8; 64];
        scrypt::scrypt(b"pleaseletmein", b"SodiumChloride", &params, &mut key).unwrap();
        assert_eq!(hex(&key), expected);
    }

    fn at(pack: Option<&str>, offset: u32, length: u32) -> ChunkLocation {
        ChunkLocation {
            chunk: "c".repeat(64),
            pack: pack.map(str::to_owned),
            offset,
            length,
            plain_length: None,
        }
    }

    /// (pack's first hex digit, start, stop, chunks) of each run.
    fn spans(chunks: &[ChunkLocation]) -> Vec<(char, u32, u32, Vec<usize>)> {
        runs(chunks, 0..chunks.len())
            .into_iter()
            .map(|r| {
                (
                    r.pack.to_hex().chars().next().unwrap(),
                    r.start,
                    r.stop,
                    r.chunks,
                )
            })
            .collect()
    }

    #[test]
    fn runs_join_neighbours_of_one_pack_in_pack_order_within_the_gap_and_size_bounds() {
        let (a, b) = (Some(&*"a".repeat(64)), Some(&*"b".repeat(64)));
        // File order is not pack order; b's chunk sits between a's; a chunk past the gap
        // starts a new run.
        let chunks = [
            at(a, 200, 100),
            at(b, 0, 10),
            at(a, 0, 100),
            at(a, 300 + MAX_GAP, 5),
            at(a, 305 + MAX_GAP + MAX_GAP + 1, 5),
        ];
        assert_eq!(
            spans(&chunks),
            [
                ('a', 0, 305 + MAX_GAP, vec![2, 0, 3]),
                ('a', 306 + 2 * MAX_GAP, 311 + 2 * MAX_GAP, vec![4]),
                ('b', 0, 10, vec![1]),
            ]
        );
        // A run stops growing at MAX_RUN bytes.
        let big = [at(a, 0, MAX_RUN - 10), at(a, MAX_RUN - 10, 20)];
        assert_eq!(spans(&big).len(), 2);
    }

    #[test]
    fn a_window_larger_than_the_read_ahead_budget_takes_all_of_it_and_still_reads() {
        let budget = Budget::local();
        assert!(budget.mib >= 2 * (WINDOW >> 20) as u32);
        assert_eq!(budget.share(0), 1);
        assert_eq!(budget.share(1), 1);
        assert_eq!(budget.share((1 << 20) + 1), 2);
        // Three windows' worth (chunks and the gaps between them), or a length no index
        // could give: the whole budget, never more than it holds.
        assert_eq!(budget.share(3 * WINDOW), budget.mib);
        assert_eq!(budget.share(u64::MAX), budget.mib);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let wait = std::time::Duration::from_secs(5);
            let all = tokio::time::timeout(wait, budget.clone().acquire(u64::MAX))
                .await
                .expect("a window as large as the budget does not wait on an idle one");
            // Another waits while the budget is taken, and reads once it is given back.
            let next = tokio::spawn(budget.clone().acquire(1));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(!next.is_finished(), "a window read past a taken budget");
            drop(all);
            let one = tokio::time::timeout(wait, next)
                .await
                .expect("given back")
                .unwrap();
            assert!(one.is_some());
        });
    }

    #[test]
    fn the_gaps_a_window_reads_and_drops_add_up_to_at_most_a_window() {
        // A hostile index: 64 one-byte chunks, each a whole gap after the one before. Joined
        // without a bound they would read 63 MiB for 64 bytes; a run still joins them
        // until the gaps reach WINDOW, and every chunk is still read.
        let a = Some(&*"a".repeat(64));
        let chunks: Vec<ChunkLocation> = (0..64u32).map(|i| at(a, i * (MAX_GAP + 1), 1)).collect();
        let runs = runs(&chunks, 0..chunks.len());
        let read: u64 = runs.iter().map(|r| u64::from(r.stop - r.start)).sum();
        assert!(
            read <= WINDOW + 64,
            "{read} bytes read for 64 bytes of chunks"
        );
        let mut staged: Vec<usize> = runs.iter().flat_map(|r| r.chunks.clone()).collect();
        staged.sort_unstable();
        assert_eq!(staged, (0..64).collect::<Vec<_>>());
        assert!(runs.len() > 1 && runs.len() < 64, "{} runs", runs.len());
    }

    #[test]
    fn a_hostile_index_never_makes_a_run_panic_or_read_more_than_a_run() {
        let a = Some(&*"a".repeat(64));
        let chunks = [
            // Not indexed, not a pack id, past u32, larger than a run: not read ahead.
            at(None, 0, 10),
            at(Some("not hex"), 0, 10),
            at(a, u32::MAX - 1, 10),
            at(a, 0, MAX_RUN + 1),
            // Overlapping and repeated chunks.
            at(a, 100, 50),
            at(a, 120, 50),
            at(a, 100, 50),
        ];
        let runs = runs(&chunks, 0..chunks.len());
        assert!(runs.iter().all(|r| r.stop - r.start <= MAX_RUN));
        let read: Vec<usize> = runs.iter().flat_map(|r| r.chunks.clone()).collect();
        assert!(!read.iter().any(|i| *i < 4), "{runs:?}");
        // Staging slices each chunk out of its run's bytes without going past them.
        let staging = Staging::default();
        for run in &runs {
            let bytes = Bytes::from(vec![0u8; (run.stop - run.start) as usize]);
            let keys = staging.stage(run, &chunks, Some(bytes));
            for &i in &run.chunks {
                let c = &chunks[i];
                let got = staging.get(&(run.pack, c.offset, c.length)).unwrap();
                assert_eq!(got.len(), c.length as usize);
            }
            staging.unstage(&keys);
        }
        assert!(staging.ranges.lock().unwrap().is_empty());
    }

    /// A chunk as restic seals it: nonce, ciphertext, tag, under `cipher`.
    fn seal(cipher: &Aes256CtrPoly1305Aes, plain: &[u8]) -> Vec<u8> {
        use aes256ctr_poly1305aes::aead::AeadInPlace as _;
        let nonce = [7u8; 16];
        let mut sealed = plain.to_vec();
        let tag = cipher
            .encrypt_in_place_detached(&nonce.into(), &[], &mut sealed)
            .unwrap();
        [&nonce[..], &sealed, &tag].concat()
    }

    fn test_cipher() -> Aes256CtrPoly1305Aes {
        let key: Vec<u8> = (0..64u8).collect();
        Aes256CtrPoly1305Aes::new(aes256ctr_poly1305aes::Key::from_slice(&key))
    }

    #[test]
    fn a_chunk_opens_only_when_it_authenticates_and_decompresses_to_its_declared_length() {
        let cipher = test_cipher();
        let plain: Vec<u8> = b"restic chunk ".repeat(1000);
        let packed = zstd::bulk::compress(&plain, 3).unwrap();
        let declared = Some(plain.len() as u32);
        // Uncompressed (format 1) and compressed (format 2): the plaintext, exactly.
        assert_eq!(
            open_chunk(&cipher, &seal(&cipher, &plain), 0, None).unwrap(),
            plain
        );
        assert_eq!(
            open_chunk(&cipher, &seal(&cipher, &packed), 0, declared).unwrap(),
            plain
        );
        let refused =
            |stored: &[u8], plain_length| match open_chunk(&cipher, stored, 96, plain_length) {
                Err(ChunkProblem::Undecryptable { detail }) => detail,
                other => panic!("{other:?}"),
            };
        // Any byte changed, in the nonce, the ciphertext or the tag: authentication fails.
        let sealed = seal(&cipher, &packed);
        for at in [0, 16, sealed.len() / 2, sealed.len() - 1] {
            let mut flipped = sealed.clone();
            flipped[at] ^= 1;
            let detail = refused(&flipped, declared);
            assert!(
                detail.contains("MAC check failed") && detail.contains("offset 96"),
                "{detail}"
            );
        }
        // Under another key: the same.
        let other = Aes256CtrPoly1305Aes::new(&aes256ctr_poly1305aes::Key::default());
        assert!(refused(&seal(&other, &plain), None).contains("MAC check failed"));
        // Shorter than a nonce and a tag, empty: refused, never a panic.
        for len in [0, 1, 16, 31] {
            assert!(refused(&sealed[..len], declared).contains("shorter than"));
        }
        // Authentic but not zstd, or decompressing to more or fewer bytes than declared.
        assert!(refused(&seal(&cipher, &plain), declared).contains("zstd"));
        let more = refused(&sealed, Some(plain.len() as u32 - 1));
        let fewer = refused(&sealed, Some(plain.len() as u32 + 1));
        assert!(
            more.contains("zstd") || more.contains("decompresses"),
            "{more}"
        );
        assert!(
            fewer.contains(&format!("decompresses to {} bytes", plain.len())),
            "{fewer}"
        );
        // A bomb: a few stored bytes declaring 0 but decompressing to 8 MiB: refused at
        // the declared length, not allocated.
        let bomb = zstd::bulk::compress(&vec![0u8; 8 << 20], 19).unwrap();
        assert!(bomb.len() < 4096);
        assert!(refused(&seal(&cipher, &bomb), Some(0)).contains("zstd"));
    }

    #[test]
    fn a_chunk_longer_than_the_repositorys_chunker_cuts_is_refused_unread() {
        let a = Some(&*"a".repeat(64));
        let with = |length: u32, plain: Option<u32>| ChunkLocation {
            plain_length: plain,
            ..at(a, 0, length)
        };
        let largest = RESTIC_CHUNK;
        // restic's largest chunk, stored uncompressed or compressed (incompressible: a bit
        // more stored than plain): read.
        assert_eq!(too_large(&with(largest + 32, None), largest), None);
        assert_eq!(
            too_large(&with(largest + largest / 256 + 64, Some(largest)), largest),
            None
        );
        // More plaintext than that, declared or implied by the stored length: refused.
        assert_eq!(
            too_large(&with(100, Some(u32::MAX)), largest),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(
            too_large(&with(u32::MAX, None), largest),
            Some(u64::from(u32::MAX) - 32)
        );
        assert_eq!(
            too_large(&with(u32::MAX, Some(10)), largest),
            Some(u64::from(u32::MAX))
        );
        // Nothing underflows on a chunk shorter than its nonce and tag.
        assert_eq!(too_large(&with(0, None), largest), None);
        let said = ChunkFailure {
            index: 2,
            chunk: "c".repeat(64),
            pack: a.map(str::to_owned),
            problem: ChunkProblem::TooLarge {
                declared: u64::from(u32::MAX),
                largest,
            },
        }
        .to_string();
        assert!(
            said.starts_with("chunk too large: chunk 2 (")
                && said.contains(
                    "4294967295 bytes, more than the repository's largest chunk (8388608 bytes)"
                ),
            "{said}"
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_is_escaped_and_never_named_as_another() {
        assert_eq!(escape_path(b"srv/a\xffb"), r"srv/a\xffb");
        assert_eq!(escape_path(b"s\\v/a\xff\xfe"), r"s\\v/a\xff\xfe");
        assert_eq!(escape_path(b"\xc3\xa9\xff"), "\u{e9}\\xff");
        let entry = |path: &str, escaped| SnapshotEntry {
            path: path.to_owned(),
            size: 0,
            escaped,
        };
        let mut entries = vec![
            entry(r"/a\xffb", true),
            entry(r"/a\xffb", false),
            entry(r"/a\xffb (not UTF-8)", false),
            entry(r"/c\xff", true),
            entry(r"/c\xff", true),
        ];
        unique_escaped(&mut entries);
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                r"/a\xffb (not UTF-8) (not UTF-8)",
                r"/a\xffb",
                r"/a\xffb (not UTF-8)",
                r"/c\xff",
                r"/c\xff (not UTF-8)"
            ]
        );
        // Nothing escaped: nothing renamed (and nothing copied).
        let mut plain = vec![entry("/a", false), entry("/a", false)];
        unique_escaped(&mut plain);
        assert!(plain.iter().all(|e| e.path == "/a"));
    }

    #[test]
    fn a_shared_block_serves_only_what_it_read_whole_and_a_hostile_run_never_panics() {
        let tmp = tempfile::tempdir().unwrap();
        let pack = "ab".repeat(32);
        let dir = tmp.path().join("data/ab");
        std::fs::create_dir_all(&dir).unwrap();
        let content: Vec<u8> = (0..100u8).collect();
        std::fs::write(dir.join(&pack), &content).unwrap();
        let source = Source::open(&crate::SourceSpec {
            url: format!("file://{}", tmp.path().display()),
            kind: crate::SourceKind::File,
            options: Default::default(),
        })
        .unwrap();
        let pack: Id = pack.parse().unwrap();
        let run = |start: u32, stop: u32| Run {
            pack,
            start,
            stop,
            chunks: Vec::new(),
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let (cache, reads) = (PackCache::default(), Tally::default());
            // Two runs of one block: one read of the pack (it is 100 bytes: the block too).
            let a = cache.run(&source, &reads, &run(10, 20)).await;
            let b = cache.run(&source, &reads, &run(40, 45)).await;
            assert_eq!(a, Some(Some(Bytes::copy_from_slice(&content[10..20]))));
            assert_eq!(b, Some(Some(Bytes::copy_from_slice(&content[40..45]))));
            assert_eq!(reads.reads.load(Ordering::Relaxed), 1);
            assert_eq!(reads.bytes.load(Ordering::Relaxed), 100);
            // Empty, past the pack's end, across blocks, longer than a block: not shared.
            for (start, stop) in [(0, 0), (5, 3), (90, 200)] {
                assert_eq!(cache.run(&source, &reads, &run(start, stop)).await, None);
            }
            let across = run(SHARED_BLOCK as u32 - 1, SHARED_BLOCK as u32 + 1);
            assert_eq!(cache.run(&source, &reads, &across).await, None);
            // A pack storage does not hold: not shared, read (and named) on its own.
            let gone = Run {
                pack: Id::default(),
                ..run(0, 10)
            };
            assert_eq!(cache.run(&source, &reads, &gone).await, None);
            assert_eq!(reads.reads.load(Ordering::Relaxed), 1);
        });
    }

    /// A snapshot whose listing passes a bound is refused, naming the bound; one that meets
    /// it exactly is listed. (A snapshot that lists trillions of files from a few KiB of
    /// trees needs trees forged with the key; the counting is what this checks, on a real
    /// repository made by restic.)
    #[test]
    fn a_snapshot_listing_past_a_bound_is_refused_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (fixture, id) = three_files(tmp.path());
        let (runtime, repo) = open_repo(&fixture);
        let list = |limits: ListingLimits| runtime.block_on(repo.files_within(&id, limits));
        let unbounded = ListingLimits {
            entries: u64::MAX,
            folders: u64::MAX,
            path_bytes: u64::MAX,
            tree_bytes: u64::MAX,
            decoded_bytes: u64::MAX,
            tree_weight: u64::MAX,
        };
        let files = list(unbounded).unwrap();
        assert_eq!(files.len(), 3);
        let bytes: u64 = files.iter().map(|f| f.path.len() as u64).sum();
        let exact = ListingLimits {
            path_bytes: bytes,
            ..unbounded
        };
        assert_eq!(list(exact).unwrap(), files);
        for (limits, says) in [
            (
                ListingLimits {
                    path_bytes: bytes - 1,
                    ..unbounded
                },
                format!("more than {} bytes of paths", bytes - 1),
            ),
            (
                ListingLimits {
                    folders: 2,
                    ..unbounded
                },
                "more than 2 folders".to_owned(),
            ),
            (
                ListingLimits {
                    entries: 3,
                    ..unbounded
                },
                "more than 3 entries".to_owned(),
            ),
        ] {
            let err = list(limits).unwrap_err();
            assert_refused(&err, &format!("snapshot {id} lists {says}"));
        }

        // The trees held at once: the root's, srv's, and a's or b's, each as what it keeps
        // decoded, the one being read as its JSON and what decoding it takes. The trees are
        // restic's own.
        let tree = |path: &str| {
            let json = fixture.restic_bytes(&["cat", "blob", &fixture.tree_id(&id, path)]);
            let weight = tree::weigh(&json).unwrap();
            (json.len() as u64 + weight.bytes, weight.kept)
        };
        let ((root, root_kept), (srv, srv_kept)) = (tree(""), tree("srv"));
        let ((a, a_kept), (b, _)) = (tree("srv/a"), tree("srv/b"));
        let above = root_kept + srv_kept;
        // In the order the walk reads them; the first to need the most is where it stops.
        let needs = [
            ("", root),
            ("srv", root_kept + srv),
            ("srv/a", above + a),
            ("srv/b", above + b),
        ];
        let most = needs.iter().map(|(_, n)| *n).max().unwrap();
        let deepest = needs.iter().find(|(_, n)| *n == most).unwrap().0;
        let exact = ListingLimits {
            tree_bytes: most,
            ..unbounded
        };
        assert_eq!(list(exact).unwrap(), files);
        let err = list(ListingLimits {
            tree_bytes: most - 1,
            ..unbounded
        })
        .unwrap_err();
        assert_refused(
            &err,
            &format!(
                "snapshot {id} holds more than {} bytes of trees along one path (at /{deepest})",
                most - 1
            ),
        );
        // Trees on different paths are not held together: a bound that holds one path's
        // but not a's kept on top of b's lists the snapshot.
        assert!(above + a_kept + b > most);
    }

    #[test]
    fn the_tree_cache_keeps_the_newest_trees_within_its_bytes() {
        let id = |n: u8| TreeId::from(Id::new([n; 32]));
        let none: Nodes = Arc::new(Vec::new());
        let mut cache = TreeCache::new(TREE_CACHE_BYTES);
        let third = TREE_CACHE_BYTES / 3;
        for n in 1..=3 {
            cache.insert(id(n), Arc::clone(&none), third);
        }
        assert!((1..=3).all(|n| cache.get(&id(n)).is_some()));
        // A fourth pushes out the first only.
        cache.insert(id(4), Arc::clone(&none), third);
        assert!(cache.get(&id(1)).is_none());
        assert!((2..=4).all(|n| cache.get(&id(n)).is_some()));
        assert!(cache.bytes <= TREE_CACHE_BYTES);
        // One larger than the whole cache is not kept, and pushes nothing out.
        cache.insert(id(5), Arc::clone(&none), TREE_CACHE_BYTES + 1);
        assert!(cache.get(&id(5)).is_none());
        assert!((2..=4).all(|n| cache.get(&id(n)).is_some()));
        // One as large as the cache pushes out everything else.
        cache.insert(id(6), none, TREE_CACHE_BYTES);
        assert!((2..=4).all(|n| cache.get(&id(n)).is_none()));
        assert_eq!(cache.bytes, TREE_CACHE_BYTES);
        assert_eq!(cache.order.len(), 1);
    }

    /// A repository made by restic in `dir` (password `pw`) holding one snapshot of
    /// `srv/a/x`, `srv/a/y` and `srv/b/z`, and that snapshot's id.
    fn three_files(dir: &std::path::Path) -> (lifeboat_testkit::ResticRepo, String) {
        let fixture = lifeboat_testkit::ResticRepo::init(dir, "pw");
        let id = fixture.backup(
            "2026-11-20 02:00:00",
            "db01",
            &[],
            &[
                ("srv/a/x", b"x\n"),
                ("srv/a/y", b"y\n"),
                ("srv/b/z", b"z\n"),
            ],
        );
        (fixture, id)
    }

    /// A listing refused as the repository's problem (exit 3), saying `says`.
    #[track_caller]
    fn assert_refused(err: &ResticError, says: &str) {
        assert!(matches!(err, ResticError::Repository { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }

    /// The repository of `fixture`, opened as a drill opens it (password `pw`).
    fn open_repo(fixture: &lifeboat_testkit::ResticRepo) -> (tokio::runtime::Runtime, Repo) {
        let source = Source::open(&crate::SourceSpec {
            url: fixture.url(),
            kind: crate::SourceKind::File,
            options: Default::default(),
        })
        .unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let repo = runtime.block_on(Repo::open(&source, "pw")).unwrap();
        (runtime, repo)
    }

    /// A forged snapshot whose trees each name the next one twice, 40 deep: under 32 KiB of
    /// trees, 2^40 files listed. The walk is refused at the first bound it passes, having read
    /// each distinct tree from storage once, not once per folder that names it.
    #[test]
    fn a_forged_snapshot_naming_each_subtree_twice_is_refused_by_its_count() {
        let tmp = tempfile::tempdir().unwrap();
        let fixture = lifeboat_testkit::ResticRepo::init(tmp.path(), "pw");
        let trees = lifeboat_testkit::nested_trees(40, &["a", "b"]);
        assert!(trees.iter().map(Vec::len).sum::<usize>() < 32 << 10);
        let ids = fixture.forge_trees(&trees);
        let id = fixture.forge_snapshot(ids.last().unwrap(), "2026-11-21T02:00:00Z", "forged");
        let (runtime, repo) = open_repo(&fixture);
        let before = repo.pack_reads();
        let limits = ListingLimits {
            entries: 100_000,
            ..ListingLimits::DEFAULT
        };
        let err = runtime
            .block_on(repo.files_within(&id, limits))
            .unwrap_err();
        assert_refused(
            &err,
            &format!("snapshot {id} lists more than 100000 entries"),
        );
        // 41 distinct trees; 100,000 entries are about 50,000 folders opened.
        let reads = repo.pack_reads() - before;
        assert!(reads <= 41, "{reads} reads of packs for 41 distinct trees");
        // The same snapshot under the default bounds: refused too (at 2 million folders).
        let err = runtime.block_on(repo.files(&id)).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("snapshot {id} lists more than 2000000 folders")),
            "{err}"
        );
    }

    /// A forged chain of 10,000 folders, each the only entry of the one above, with one empty
    /// file at the bottom: listed without recursion (a recursive walk would overflow the
    /// stack of a blocking thread), the file's path whole; and refused once the trees held
    /// along that one path (what each keeps decoded, and the one being read, its JSON and
    /// decoding) pass `tree_bytes`.
    #[test]
    fn a_forged_chain_of_ten_thousand_folders_lists_its_one_file_or_is_refused_by_its_trees() {
        const DEPTH: usize = 10_000;
        let tmp = tempfile::tempdir().unwrap();
        let fixture = lifeboat_testkit::ResticRepo::init(tmp.path(), "pw");
        let trees = lifeboat_testkit::nested_trees(DEPTH, &["a"]);
        let ids = fixture.forge_trees(&trees);
        let id = fixture.forge_snapshot(ids.last().unwrap(), "2026-11-21T02:00:00Z", "forged");
        let (runtime, repo) = open_repo(&fixture);
        let files = runtime.block_on(repo.files(&id)).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, format!("{}/f", "/a".repeat(DEPTH)));
        assert_eq!(files[0].size, 0);

        // Root first: each tree needs those above it, as they keep, and itself being decoded.
        let (mut above, mut held, mut deepest) = (0u64, 0u64, 0usize);
        for (depth, json) in trees.iter().rev().enumerate() {
            let weight = tree::weigh(json).unwrap();
            let needs = above + json.len() as u64 + weight.bytes;
            if needs > held {
                (held, deepest) = (needs, depth);
            }
            above += weight.kept;
        }
        assert_eq!(deepest, DEPTH, "the bottom tree needs the most");
        let exact = ListingLimits {
            tree_bytes: held,
            ..ListingLimits::DEFAULT
        };
        assert_eq!(
            runtime.block_on(repo.files_within(&id, exact)).unwrap(),
            files
        );
        let err = runtime
            .block_on(repo.files_within(
                &id,
                ListingLimits {
                    tree_bytes: held - 1,
                    ..ListingLimits::DEFAULT
                },
            ))
            .unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "snapshot {id} holds more than {} bytes of trees along one path (at /{})",
                held - 1,
                "a/".repeat(DEPTH - 1) + "a"
            )),
            "{}",
            &err.to_string()[..300]
        );
    }

    /// A forged root naming one tree larger than the cache under four folders: that tree is
    /// decoded once per folder (it cannot be kept), and the listing is refused once the
    /// bytes decoded in all pass `decoded_bytes`, however few entries it lists.
    #[test]
    fn a_forged_tree_too_large_to_keep_is_decoded_once_per_folder_within_a_bound() {
        let tmp = tempfile::tempdir().unwrap();
        let fixture = lifeboat_testkit::ResticRepo::init(tmp.path(), "pw");
        let trees = lifeboat_testkit::wide_trees(20_000, &["a", "b", "c", "d"]);
        let (wide, root) = (trees[0].len() as u64, trees[1].len() as u64);
        let kept = tree::weigh(&trees[0]).unwrap().kept;
        assert!(
            kept > TREE_CACHE_BYTES,
            "{kept} bytes: the cache would keep it"
        );
        let ids = fixture.forge_trees(&trees);
        let id = fixture.forge_snapshot(ids.last().unwrap(), "2026-11-21T02:00:00Z", "forged");
        let (runtime, repo) = open_repo(&fixture);
        let list = |limits: ListingLimits| runtime.block_on(repo.files_within(&id, limits));

        let before = repo.pack_reads();
        let files = list(ListingLimits::DEFAULT).unwrap();
        assert_eq!(files.len(), 80_000);
        assert_eq!(files[0].path, "/a/f0");
        assert_eq!(files[79_999].path, "/d/f19999");
        // Read from storage once each (rustic_core keeps up to 32 MB of trees' JSON read),
        // the wide tree decoded once per folder: what `decoded_bytes` counts.
        assert_eq!(repo.pack_reads() - before, 2, "the root and the wide tree");

        let all = root + 4 * wide;
        let exact = ListingLimits {
            decoded_bytes: all,
            ..ListingLimits::DEFAULT
        };
        assert_eq!(list(exact).unwrap(), files);
        let err = list(ListingLimits {
            decoded_bytes: all - 1,
            ..ListingLimits::DEFAULT
        })
        .unwrap_err();
        assert_refused(
            &err,
            &format!(
                "snapshot {id} decodes more than {} bytes of trees to list (at /d)",
                all - 1
            ),
        );
    }

    /// Files under the same folders, located from several threads at once: each tree on
    /// their paths is read, hashed and decoded once for all of them, and each file is found
    /// as a lookup that keeps nothing finds it.
    #[test]
    fn the_trees_on_sampled_paths_are_checked_once_for_all_the_files_under_them() {
        let tmp = tempfile::tempdir().unwrap();
        let (fixture, id) = three_files(tmp.path());
        let (runtime, repo) = open_repo(&fixture);
        let paths = [
            "/srv/a/x", "/srv/a/y", "/srv/b/z", "/srv/a/x", "/srv/a", "/srv/a/w",
        ];
        let lone = Repo {
            verified: Arc::new(VerifiedTrees::new(0, 0, VERIFYING_BYTES)),
            ..repo.clone()
        };
        let expected: Vec<Located> = paths
            .iter()
            .map(|path| runtime.block_on(lone.locate(&id, path)).unwrap())
            .collect();
        assert!(matches!(expected[0], Located::File(_)), "{:?}", expected[0]);
        assert_eq!(expected[4], Located::NotAFile);
        assert_eq!(expected[5], Located::Missing);
        // Keeping nothing, each lookup checks every tree on its path: the root's, srv's,
        // then a's or b's (the folder /srv/a: the root's and srv's).
        assert_eq!(lone.verified.checks.load(Ordering::Relaxed), 3 * 5 + 2);

        let found: Vec<Located> = std::thread::scope(|scope| {
            let threads: Vec<_> = paths
                .iter()
                .map(|path| scope.spawn(|| repo.locate_blocking(&id, path).unwrap()))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(found, expected);
        assert_eq!(
            repo.verified.checks.load(Ordering::Relaxed),
            4,
            "root, srv, a, b"
        );
    }

    /// A tree that does not check out is not kept: each file under it reads it again and is
    /// told why. And one larger than what is kept is checked again for each file.
    #[test]
    fn a_damaged_tree_or_one_too_large_to_keep_is_checked_again_for_each_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (fixture, id) = three_files(tmp.path());
        let (runtime, repo) = open_repo(&fixture);
        let small = Repo {
            verified: Arc::new(VerifiedTrees::new(1, 1, VERIFYING_BYTES)),
            ..repo.clone()
        };
        for path in ["/srv/a/x", "/srv/a/y"] {
            assert!(matches!(
                runtime.block_on(small.locate(&id, path)).unwrap(),
                Located::File(_)
            ));
        }
        assert_eq!(small.verified.checks.load(Ordering::Relaxed), 6);
        let state = small.verified.lock();
        assert!(
            state.slots.is_empty() && state.kept.trees.is_empty() && state.large.trees.is_empty()
        );
        drop(state);

        // a's tree damaged: each lookup is told, and it is not kept.
        let tree = fixture.tree_id(&id, "srv/a");
        let pack = fixture.pack_of(&tree);
        let blob = pack.blobs.iter().find(|b| b.id == tree).unwrap();
        fixture.flip_pack_byte(&pack.id, blob.offset + 20);
        let (runtime, repo) = open_repo(&fixture);
        for path in ["/srv/a/x", "/srv/a/y"] {
            let found = runtime.block_on(repo.locate(&id, path)).unwrap();
            assert!(matches!(found, Located::Damaged(_)), "{found:?}");
        }
        let state = repo.verified.lock();
        assert!(
            state.kept.trees.len() <= 2,
            "only the root's and srv's, which check out"
        );
        let tree = tree.parse::<TreeId>().unwrap();
        assert!(!state.kept.trees.contains_key(&tree) && !state.slots.contains_key(&tree));
    }

    /// A folder whose tree is too large to keep with the others (a maildir of 150,000 files)
    /// is kept apart: the sampled files under it, which come one after the other, share one
    /// check. Trees kept so stay within their own bytes, oldest out first; one larger than
    /// all of them is checked again for each file.
    #[test]
    fn trees_too_large_to_keep_with_the_others_are_kept_apart_within_their_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let fixture = lifeboat_testkit::ResticRepo::init(tmp.path(), "pw");
        let snapshot = |files: usize, time: &str| {
            let trees = lifeboat_testkit::wide_trees(files, &["a"]);
            let ids = fixture.forge_trees(&trees);
            let id = fixture.forge_snapshot(ids.last().unwrap(), time, "forged");
            let wide: TreeId = ids[0].parse().unwrap();
            (id, wide, tree::weigh(&trees[0]).unwrap().kept)
        };
        let (first, first_a, wide) = snapshot(2_000, "2026-11-20T02:00:00Z");
        let (second, second_a, wider) = snapshot(2_001, "2026-11-21T02:00:00Z");
        let keep = 64 << 10;
        assert!(keep < wide && wide < wider, "{keep} {wide} {wider}");
        let (runtime, repo) = open_repo(&fixture);
        let keeping = |large: u64| Repo {
            verified: Arc::new(VerifiedTrees::new(keep, large, VERIFYING_BYTES)),
            ..repo.clone()
        };
        let checks = |repo: &Repo, lookups: &[(&str, &str)]| {
            let before = repo.verified.checks.load(Ordering::Relaxed);
            for (id, path) in lookups {
                let found = runtime.block_on(repo.locate(id, path)).unwrap();
                assert!(matches!(found, Located::File(_)), "{path}: {found:?}");
            }
            repo.verified.checks.load(Ordering::Relaxed) - before
        };

        let repo = keeping(wider);
        let under_first = [(&*first, "/a/f0"), (&first, "/a/f1"), (&first, "/a/f1999")];
        assert_eq!(checks(&repo, &under_first), 2, "the root and a, once");
        let under_second = [(&*second, "/a/f0"), (&second, "/a/f2000")];
        assert_eq!(checks(&repo, &under_second), 2, "the second root and its a");
        assert_eq!(
            checks(&repo, &[(&first, "/a/f2")]),
            1,
            "the first a again, pushed out by the second's; the first root still kept"
        );

        let repo = keeping(wide + wider);
        assert_eq!(checks(&repo, &under_first), 2);
        assert_eq!(checks(&repo, &under_second), 2);
        let both = [(&*first, "/a/f3"), (&second, "/a/f4")];
        assert_eq!(checks(&repo, &both), 0, "both kept");

        let repo = keeping(wider - 1);
        assert_eq!(
            checks(&repo, &under_second),
            2 + 1,
            "the second a for each file"
        );
        assert_eq!(
            checks(&repo, &under_first),
            2,
            "the first a within the bound"
        );
        let state = repo.verified.lock();
        let kept = |tree: TreeId| {
            state.large.trees.contains_key(&tree) || state.kept.trees.contains_key(&tree)
        };
        assert!(kept(first_a) && !kept(second_a));
    }

    /// The storage fails the file that checks a tree while another waits for that check:
    /// the one that read it is told, and the one that waited checks the tree itself, its
    /// bytes counted as being checked while it does (not kept: the next file tries again).
    #[test]
    fn a_file_that_waited_on_a_check_the_storage_failed_checks_the_tree_itself_within_the_bytes() {
        let trees = VerifiedTrees::new(1 << 20, 0, 100);
        let id = TreeId::from(Id::new([7; 32]));
        let refused = || ResticError::Repository {
            url: "s3://bucket/repo".to_owned(),
            detail: "the server refused the read".to_owned(),
        };
        let checking_seen = AtomicU64::new(u64::MAX);
        let started = std::sync::Barrier::new(2);
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                trees.shared(
                    id,
                    || 60,
                    |_| {
                        started.wait();
                        // Fail only once the second file holds the same slot: the map's, this
                        // file's and the second's.
                        while trees.lock().slots.get(&id).map(Arc::strong_count) != Some(3) {
                            std::thread::yield_now();
                        }
                        Err(refused())
                    },
                )
            });
            let second = scope.spawn(|| {
                started.wait(); // the first file is checking
                trees.shared(
                    id,
                    || 60,
                    |_| {
                        checking_seen.store(trees.lock().checking, Ordering::SeqCst);
                        Ok(Checking::Done(Ok((Arc::new(Vec::new()), 0))))
                    },
                )
            });
            (first.join().unwrap(), second.join().unwrap())
        });
        assert!(
            matches!(first, Err(ResticError::Repository { .. })),
            "{first:?}"
        );
        assert!(matches!(second, Ok(Ok(_))), "{second:?}");
        assert_eq!(
            checking_seen.load(Ordering::SeqCst),
            60,
            "the second file's own check counted"
        );
        let state = trees.lock();
        assert_eq!(state.checking, 0);
        assert!(state.slots.is_empty() && state.kept.trees.is_empty());
    }

    #[test]
    fn checked_trees_are_kept_within_their_bytes_oldest_out_first() {
        let trees = VerifiedTrees::new(100, 0, VERIFYING_BYTES);
        let id = |n: u8| TreeId::from(Id::new([n; 32]));
        let ok = |bytes: u64| -> Checked { Some(Ok((Arc::new(Vec::new()), bytes))) };
        let check = |n: u8, outcome: &Checked| {
            let Verified::Slot(slot) = trees.find(id(n)) else {
                panic!("tree {n} kept before it was checked");
            };
            let _ = slot.set(outcome.clone());
            trees.settle(id(n), &slot, outcome);
            slot
        };
        let mut slots: Vec<_> = (1..=3).map(|n| check(n, &ok(40))).collect();
        {
            let state = trees.lock();
            let kept = &state.kept.trees;
            assert!(!kept.contains_key(&id(1)), "pushed out by the third");
            assert!(kept.contains_key(&id(2)) && kept.contains_key(&id(3)));
            assert_eq!(state.kept.bytes, 80);
            assert!(state.slots.is_empty());
        }
        // A file that waited on the second tree's slot settles it too: nothing changes.
        trees.settle(id(2), &slots.remove(1), &ok(40));
        assert_eq!(trees.lock().kept.bytes, 80);
        assert_eq!(trees.lock().kept.order.len(), 2);
        // A kept tree is found, not checked again.
        assert!(matches!(trees.find(id(2)), Verified::Kept(_)));
        // Storage failed, or larger than what is kept: dropped, the others stay.
        check(4, &None);
        check(5, &ok(101));
        let state = trees.lock();
        let kept = &state.kept.trees;
        assert!(!kept.contains_key(&id(4)) && !kept.contains_key(&id(5)));
        assert!(state.slots.is_empty());
        assert_eq!(state.kept.bytes, 80);
    }

    /// The trees being checked at once stay within their bytes: a check that would pass
    /// them waits for the one before to end; one larger than all of them goes alone.
    #[test]
    fn trees_are_checked_at_once_only_within_their_bytes() {
        use std::sync::atomic::AtomicBool;
        let trees = VerifiedTrees::new(0, 0, 100);
        let first = trees.reserve(60);
        let waited = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let second = scope.spawn(|| {
                let held = trees.reserve(50);
                waited.store(true, Ordering::SeqCst);
                drop(held);
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(!waited.load(Ordering::SeqCst), "110 bytes checked at once");
            drop(first);
            second.join().unwrap();
        });
        assert!(waited.load(Ordering::SeqCst));
        assert_eq!(trees.lock().checking, 0);
        // Larger than the bound, alone: at once.
        let huge = trees.reserve(1_000);
        assert_eq!(trees.lock().checking, 1_000);
        drop(huge);
        // Within it, side by side: at once.
        let (a, b) = (trees.reserve(40), trees.reserve(60));
        assert_eq!(trees.lock().checking, 100);
        drop((a, b));
    }

    /// A tree whose decoding needs more than is free gives back what it holds and waits for
    /// room (rather than holding its JSON while it waits), then is read again; alone, it
    /// grows past the bound.
    #[test]
    fn a_tree_that_needs_more_to_decode_than_is_free_waits_for_room_and_is_read_again() {
        let trees = VerifiedTrees::new(1 << 20, 0, 100);
        let id = TreeId::from(Id::new([9; 32]));
        let other = trees.reserve(60);
        let attempts = AtomicU64::new(0);
        let decoding = AtomicU64::new(0);
        std::thread::scope(|scope| {
            let file = scope.spawn(|| {
                trees.shared(
                    id,
                    || 30,
                    |held| {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        // 30 of JSON and 50 to decode it: 140 with the other file's 60.
                        if !held.grow_to(80) {
                            return Ok(Checking::Needs(80));
                        }
                        decoding.store(trees.lock().checking, Ordering::SeqCst);
                        Ok(Checking::Done(Ok((Arc::new(Vec::new()), 10))))
                    },
                )
            });
            while attempts.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert_eq!(attempts.load(Ordering::SeqCst), 1, "read again too soon");
            assert_eq!(trees.lock().checking, 60, "its JSON's 30 given back");
            drop(other);
            assert!(matches!(file.join().unwrap(), Ok(Ok(_))));
        });
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert_eq!(
            decoding.load(Ordering::SeqCst),
            80,
            "decoded counting all 80"
        );
        let state = trees.lock();
        assert_eq!(state.checking, 0);
        assert_eq!(state.kept.bytes, 10, "kept as what its entries keep");
        drop(state);

        // Alone, a tree grows past the bound (it is checked alone, as one larger than the
        // bound is); beside another, it does not, and counts nothing more.
        let mut alone = trees.reserve(30);
        assert!(alone.grow_to(1_000));
        assert_eq!(trees.lock().checking, 1_000);
        drop(alone);
        let (mut one, _two) = (trees.reserve(30), trees.reserve(30));
        assert!(one.grow_to(70) && !one.grow_to(71));
        assert_eq!(trees.lock().checking, 100);
    }

    /// A forged folder of 20,000 of the smallest entries rustic_core decodes, about 30 bytes
    /// of JSON each and some 370 bytes decoded: counted as what it decodes to, not its length,
    /// by the listing and by the check of a sampled file's path, and refused by both past
    /// their bound, though its JSON is well within it.
    #[test]
    fn a_tree_forged_of_tiny_entries_is_counted_as_what_it_decodes_to() {
        let tmp = tempfile::tempdir().unwrap();
        let fixture = lifeboat_testkit::ResticRepo::init(tmp.path(), "pw");
        let entries: Vec<String> = (0..20_000)
            .map(|n| format!(r#"{{"name":"f{n}","type":"file"}}"#))
            .collect();
        let tiny = format!("{{\"nodes\":[{}]}}", entries.join(",")).into_bytes();
        let root = format!(
            r#"{{"nodes":[{{"name":"a","type":"dir","subtree":"{}"}}]}}"#,
            lifeboat_testkit::sha256_hex(&tiny)
        )
        .into_bytes();
        let weight = tree::weigh(&tiny).unwrap();
        assert!(weight.bytes > 10 * tiny.len() as u64, "{weight:?}");
        let ids = fixture.forge_trees(&[tiny.clone(), root.clone()]);
        let id = fixture.forge_snapshot(&ids[1], "2026-11-21T02:00:00Z", "forged");
        let (runtime, repo) = open_repo(&fixture);

        // The listing: held along the path as it decodes, refused below that.
        let files = runtime.block_on(repo.files(&id)).unwrap();
        assert_eq!(files.len(), 20_000);
        let root_kept = tree::weigh(&root).unwrap().kept;
        let needs = root_kept + tiny.len() as u64 + weight.bytes;
        let within = |tree_bytes: u64| ListingLimits {
            tree_bytes,
            ..ListingLimits::DEFAULT
        };
        assert_eq!(
            runtime
                .block_on(repo.files_within(&id, within(needs)))
                .unwrap(),
            files
        );
        let err = runtime
            .block_on(repo.files_within(&id, within(needs - 1)))
            .unwrap_err();
        assert_refused(
            &err,
            &format!(
                "snapshot {id} holds more than {} bytes of trees along one path (at /a)",
                needs - 1
            ),
        );
        assert!(
            needs - 1 > 4 * tiny.len() as u64,
            "its JSON alone would pass"
        );
        // One tree past what one may take decoded, however much the path may hold.
        let heaviest = |tree_weight: u64| ListingLimits {
            tree_weight,
            ..ListingLimits::DEFAULT
        };
        assert_eq!(
            runtime
                .block_on(repo.files_within(&id, heaviest(weight.bytes)))
                .unwrap(),
            files
        );
        let err = runtime
            .block_on(repo.files_within(&id, heaviest(weight.bytes - 1)))
            .unwrap_err();
        assert_refused(
            &err,
            &format!(
                "snapshot {id}: tree {} (at /a) would take {} bytes decoded, more than the {} lifeboat decodes of one tree",
                ids[0],
                weight.bytes,
                weight.bytes - 1
            ),
        );

        // A sampled file under it: found within the bound, damage past it.
        let verified = |largest: u64| Repo {
            verified: Arc::new(VerifiedTrees {
                largest,
                ..VerifiedTrees::default()
            }),
            ..repo.clone()
        };
        let found = runtime
            .block_on(verified(weight.bytes).locate(&id, "/a/f19999"))
            .unwrap();
        assert!(matches!(found, Located::File(_)), "{found:?}");
        let found = runtime
            .block_on(verified(weight.bytes - 1).locate(&id, "/a/f19999"))
            .unwrap();
        let Located::Damaged(damage) = found else {
            panic!("{found:?}");
        };
        let said = damage.to_string();
        assert!(
            said.contains(&format!(
                "its 20000 entries would take {} bytes decoded, more than the {} lifeboat decodes of one tree",
                weight.bytes,
                weight.bytes - 1
            )) && said.contains(&ids[0]),
            "{said}"
        );
    }

    /// Snapshot files forged to list thousands of tags: a listing keeps only the snapshots
    /// the filter matches, each counted as what it holds; one holding more than its bound is
    /// a finding against it, and those kept holding more than theirs between them refuse the
    /// listing.
    #[test]
    fn a_snapshot_listing_keeps_what_matches_within_its_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let (fixture, honest) = three_files(tmp.path());
        let forge = |tags: usize, time: &str| {
            let tags: Vec<String> = (0..tags).map(|t| format!("tag-{t:06}")).collect();
            let json = serde_json::json!({
                "time": time, "tree": "0".repeat(64), "paths": ["/srv"], "hostname": "forged",
                "username": "root", "tags": tags,
            });
            fixture.forge_file("snapshots", json.to_string().as_bytes())
        };
        let large = forge(20_000, "2026-11-21T02:00:00Z");
        let small = forge(10, "2026-11-22T02:00:00Z");
        let (runtime, repo) = open_repo(&fixture);
        let list = |filter: &SnapshotFilter, each: u64, all: u64| {
            runtime.block_on(repo.list_snapshots_within(filter, each, all))
        };
        let everything = SnapshotFilter::default();
        let listed = list(&everything, u64::MAX, u64::MAX).unwrap();
        let ids: Vec<&str> = listed.snapshots.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [small.as_str(), large.as_str(), honest.as_str()]);
        let held: Vec<u64> = listed.snapshots.iter().map(Snapshot::held_bytes).collect();
        assert!(held[1] > 20_000 * 34, "{held:?}");
        let total: u64 = held.iter().sum();

        // One snapshot past its bound: a finding against it, the others kept.
        let each = held[1] - 1;
        let within = list(&everything, each, u64::MAX).unwrap();
        assert_eq!(within.snapshots.len(), 2);
        assert_eq!(within.damaged.len(), 1);
        assert_eq!(within.damaged[0].id, large);
        assert!(
            within.damaged[0].reason.contains(&format!(
                "it holds {} bytes of host, paths and tags, more than the {each} lifeboat keeps of one snapshot",
                held[1]
            )),
            "{}",
            within.damaged[0].reason
        );

        // All of them past theirs: refused; exactly theirs: listed.
        assert_eq!(list(&everything, u64::MAX, total).unwrap(), listed);
        let err = list(&everything, u64::MAX, total - 1).unwrap_err();
        assert_refused(
            &err,
            &format!(
                "the snapshots that match hold more than {} bytes of hosts, paths and tags",
                total - 1
            ),
        );
        // Those the filter does not match are not kept, so not counted.
        let db01 = SnapshotFilter {
            host: Some("db01".to_owned()),
            ..SnapshotFilter::default()
        };
        let only = list(&db01, held[2], held[2]).unwrap();
        assert_eq!(only.snapshots.len(), 1);
        assert_eq!(only.snapshots[0].id, honest);
    }

    /// Every whole file read of an index or snapshot file, by the source's URL: its type and
    /// the name of the thread that read it.
    static WHOLE_READS: std::sync::Mutex<Vec<(String, FileType, Option<String>)>> =
        std::sync::Mutex::new(Vec::new());

    /// Called by [`Backend::read_full`] for every file but a key.
    pub(super) fn whole_read(url: &str, tpe: FileType) {
        let thread = std::thread::current().name().map(str::to_owned);
        WHOLE_READS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((url.to_owned(), tpe, thread));
    }

    /// The index and snapshot files of a repository are read on lifeboat's pool of
    /// [`FILE_READERS`] threads (so that a repository forged of large ones cannot have one
    /// decoded per core), both when it is opened and when its snapshots are listed.
    #[test]
    fn index_and_snapshot_files_are_read_by_the_file_readers_not_one_thread_per_core() {
        let tmp = tempfile::tempdir().unwrap();
        let (fixture, _) = three_files(tmp.path());
        for day in 21..27 {
            fixture.backup(
                &format!("2026-11-{day} 02:00:00"),
                "db01",
                &[],
                &[(&format!("srv/{day}"), format!("{day}\n").as_bytes())],
            );
        }
        let (runtime, repo) = open_repo(&fixture);
        let listed = runtime
            .block_on(repo.list_snapshots(&SnapshotFilter::default()))
            .unwrap();
        assert_eq!(listed.snapshots.len(), 7);
        let reads: Vec<(FileType, Option<String>)> = WHOLE_READS
            .lock()
            .unwrap()
            .iter()
            .filter(|(url, tpe, _)| {
                *url == fixture.url() && matches!(tpe, FileType::Index | FileType::Snapshot)
            })
            .map(|(_, tpe, thread)| (*tpe, thread.clone()))
            .collect();
        let count = |t: FileType| reads.iter().filter(|(tpe, _)| *tpe == t).count();
        assert_eq!(count(FileType::Snapshot), 7, "{reads:?}");
        assert!(count(FileType::Index) >= 7, "{reads:?}");
        let pool: Vec<String> = (0..FILE_READERS)
            .map(|i| format!("restic-files-{i}"))
            .collect();
        for (tpe, thread) in &reads {
            assert!(
                thread.as_ref().is_some_and(|t| pool.contains(t)),
                "{tpe:?} read on {thread:?}, not on one of the {FILE_READERS} file readers"
            );
        }
    }

    #[test]
    fn the_backend_refuses_every_write_and_removal() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config"), b"untouched").unwrap();
        let source = Source::open(&crate::SourceSpec {
            url: format!("file://{}", tmp.path().display()),
            kind: crate::SourceKind::File,
            options: Default::default(),
        })
        .unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let backend = Backend::new(source, runtime.handle().clone());
        let id = Id::default();
        assert!(backend.create().is_err());
        assert!(
            backend
                .write_bytes(
                    FileType::Config,
                    &id,
                    false,
                    Bytes::from_static(b"x").into()
                )
                .is_err()
        );
        assert!(backend.remove(FileType::Config, &id, false).is_err());
        assert_eq!(
            std::fs::read(tmp.path().join("config")).unwrap(),
            b"untouched"
        );
        // And what it does read, it reads from the source.
        assert_eq!(
            &backend.read_full(FileType::Config, &id).unwrap()[..],
            b"untouched"
        );
        assert_eq!(
            &backend
                .read_partial(FileType::Config, &id, false, 2, 3)
                .unwrap()[..],
            b"tou"
        );
    }
}
