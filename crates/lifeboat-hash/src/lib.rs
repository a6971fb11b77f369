//! The hashing core of lifeboat: SHA-256 (SHA-NI where the CPU has it) and BLAKE3, over byte
//! streams fed chunk by chunk and over whole local files, across cores.
//!
//! Synchronous on purpose: it is driven from plain threads (rayon, or the runner's blocking
//! workers) fed through bounded channels, and knows nothing of tokio or storage.

use std::io;
use std::path::{Path, PathBuf};

use lifeboat_core::Algorithm;

/// Inputs at least this long are hashed with `blake3::Hasher::update_rayon`.
const BLAKE3_RAYON_MIN_BYTES: usize = 128 * 1024;

/// SHA-256 inputs at least this long (a mapped window, straight from the page cache) are
/// copied through a small buffer before hashing, [`SHA256_BOUNCE_BYTES`] at a time.
///
/// SHA-NI hashes one block at a time with a long dependency chain, so the core cannot keep
/// enough loads in flight to stream from memory. Copying each 64 KiB piece first into a
/// buffer that stays in L2 is faster (the copy streams with full memory parallelism; the hash
/// then reads from cache; benches/README.md has the figures). OpenSSL gets the same effect
/// from `read` into its buffer. Shorter inputs were just written by `read` or a decoder and
/// are already in cache.
const SHA256_BOUNCE_MIN_BYTES: usize = 256 * 1024;
const SHA256_BOUNCE_BYTES: usize = 64 * 1024;

/// Inputs being hashed at this moment by callers that said so ([`Busy`]), across the process.
static BUSY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Says that one input is being hashed on its own thread for as long as it lives.
///
/// A big BLAKE3 input forks across the rayon pool only while fewer inputs than the pool has
/// threads are being hashed: when a restore keeps 16 files in flight on two cores, every core
/// is already busy with a file of its own, and splitting each 8 MiB window across the pool
/// only adds fork/join and wake-ups (measured: half the `futex` calls, and the large bench
/// set restored 2–8 % faster and verified 7 % faster with each file hashed on its own thread;
/// benches/README.md, "Hashing alone when every core is busy"). The file hashed last, alone,
/// forks again, so one big file still uses every core.
#[derive(Debug)]
#[must_use = "the input counts as busy only while the guard lives"]
pub struct Busy(());

impl Busy {
    pub fn start() -> Self {
        BUSY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether a big input is worth splitting across the current rayon pool: it has more than one
/// thread, and fewer inputs than threads are being hashed ([`Busy`]).
fn fork_pays() -> bool {
    let threads = rayon::current_num_threads();
    threads > 1 && BUSY.load(std::sync::atomic::Ordering::Relaxed) < threads
}

thread_local! {
    static BOUNCE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An incremental hasher for one of the manifest algorithms (SHA-256 and BLAKE3 tuned for
/// throughput; CRC-32C, SHA-224/384/512 as PostgreSQL's `backup_manifest` lists them).
pub struct Hasher {
    inner: Inner,
}

enum Inner {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
    Crc32c(u32),
    Sha224(sha2::Sha224),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    None,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm())
            .finish()
    }
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Self {
        use sha2::Digest;
        let inner = match algorithm {
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Blake3 => Inner::Blake3(Box::new(blake3::Hasher::new())),
            Algorithm::Crc32c => Inner::Crc32c(0),
            Algorithm::Sha224 => Inner::Sha224(sha2::Sha224::new()),
            Algorithm::Sha384 => Inner::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            Algorithm::None => Inner::None,
        };
        Hasher { inner }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Sha256(_) => Algorithm::Sha256,
            Inner::Blake3(_) => Algorithm::Blake3,
            Inner::Crc32c(_) => Algorithm::Crc32c,
            Inner::Sha224(_) => Algorithm::Sha224,
            Inner::Sha384(_) => Algorithm::Sha384,
            Inner::Sha512(_) => Algorithm::Sha512,
            Inner::None => Algorithm::None,
        }
    }

    /// Feeds bytes. Large BLAKE3 inputs (a whole mapped file, a big buffer) are hashed
    /// across cores.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        match &mut self.inner {
            Inner::Sha256(h) if bytes.len() >= SHA256_BOUNCE_MIN_BYTES => {
                BOUNCE.with_borrow_mut(|buf| {
                    buf.resize(SHA256_BOUNCE_BYTES, 0);
                    for piece in bytes.chunks(SHA256_BOUNCE_BYTES) {
                        let buf = &mut buf[..piece.len()];
                        buf.copy_from_slice(piece);
                        h.update(buf);
                    }
                })
            }
            Inner::Sha256(h) => h.update(bytes),
            Inner::Blake3(h) => {
                // blake3's docs put the break-even of `update_rayon` at about 128 KiB on
                // x86_64: below it the fork/join costs more than the second core gains.
                // Streaming callers feed 64 KiB–1 MiB chunks, so only the larger ones fork.
                // With one thread in the pool (one core, or `--jobs 1`) the fork/join only
                // hands the work to that thread and waits, and with every thread busy hashing
                // an input of its own it only adds hand-offs ([`Busy`]): hash here instead.
                if bytes.len() >= BLAKE3_RAYON_MIN_BYTES && fork_pays() {
                    h.update_rayon(bytes);
                } else {
                    h.update(bytes);
                }
            }
            Inner::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, bytes),
            Inner::Sha224(h) => h.update(bytes),
            Inner::Sha384(h) => h.update(bytes),
            Inner::Sha512(h) => h.update(bytes),
            Inner::None => {}
        }
    }

    /// The digest as lowercase hex; CRC-32C as its 4 bytes in little-endian order, as
    /// PostgreSQL's `backup_manifest` lists it (see `lifeboat_core::manifest::pg`); empty
    /// for [`Algorithm::None`].
    pub fn finalize_hex(self) -> String {
        use sha2::Digest;
        match self.inner {
            Inner::Sha256(h) => hex::encode(h.finalize()),
            Inner::Blake3(h) => h.finalize().to_hex().to_string(),
            Inner::Crc32c(crc) => hex::encode(crc.to_le_bytes()),
            Inner::Sha224(h) => hex::encode(h.finalize()),
            Inner::Sha384(h) => hex::encode(h.finalize()),
            Inner::Sha512(h) => hex::encode(h.finalize()),
            Inner::None => String::new(),
        }
    }
}

/// Hashes one local file, returning (lowercase hex digest, size in bytes).
///
/// Regular files of 16 KiB and more are memory-mapped and hashed in place (BLAKE3 across the
/// current rayon pool's threads); empty, small and special files, and any file that cannot
/// be mapped, are read through a 1 MiB per-thread buffer. Errors keep their kind and name the
/// path.
pub fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<(String, u64)> {
    files::hash_file(path, algorithm)
}

/// Hashes every regular file under `dir` (recursively, symlinks not followed) on a pool of
/// `jobs` threads (0: one per core). Returns `(path relative to dir, '/'-separated, digest
/// hex)` sorted by the bytes of that path. A file name that is not UTF-8 is an error naming
/// it. With [`lifeboat_core::manifest::format_line`] this gives a manifest that
/// `sha256sum -c` / `b3sum -c` accept when run inside `dir`.
pub fn hash_tree(
    dir: &Path,
    algorithm: Algorithm,
    jobs: usize,
) -> io::Result<Vec<(String, String)>> {
    hash_tree_with(dir, jobs, &|_, _| Ok(false), &|_, path| {
        hash_file(path, algorithm).map(|(hex, _)| hex)
    })
}

/// [`hash_tree`] with the choices left to the caller: `skip` is asked about every regular
/// file and folder below `dir` before it is hashed or entered (its path relative to `dir`, and
/// its directory entry, whose `metadata()` does not follow links), and `hash` turns each file
/// kept (its `/`-separated name relative to `dir`, and its path) into a result. Files are
/// hashed on a pool of `jobs` threads (0: one per core); the results come back sorted by the
/// bytes of the name. The first error of either ends it.
pub fn hash_tree_with<R: Send>(
    dir: &Path,
    jobs: usize,
    skip: &(dyn Fn(&Path, &std::fs::DirEntry) -> io::Result<bool> + Sync),
    hash: &(dyn Fn(&str, &Path) -> io::Result<R> + Sync),
) -> io::Result<Vec<(String, R)>> {
    files::hash_tree_with(dir, jobs, skip, hash)
}

/// Lists regular files under `dir` recursively, sorted by [`Path`]'s order (component by
/// component). Symlinks inside `dir` are skipped, whether they point to files or folders;
/// `dir` itself is followed if it is one. Errors name the path they are about.
pub fn walk_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    files::walk_files(dir)
}

/// Reads the first `len` bytes of a local regular file as a sequence of memory-mapped windows
/// of at most `window` bytes each, mapped one at a time; see [`Windows`].
pub fn map_windows(file: &std::fs::File, len: u64, window: usize) -> Windows<'_> {
    files::Windows::new(file, len, window)
}

/// Maps `len` bytes of a local regular file from `offset` (a multiple of 64 KiB) as one
/// [`Window`]. The caller must know the file holds those bytes: touching a page past the end
/// of the file raises SIGBUS.
pub fn map_range(file: &std::fs::File, offset: u64, len: usize) -> io::Result<Window> {
    files::map_window(file, offset, len)
}

pub use files::{Window, Windows};

mod files;
mod guard;

#[cfg(test)]
mod tests;
