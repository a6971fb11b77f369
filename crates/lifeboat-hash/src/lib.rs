//! The hashing core of lifeboat: SHA-256 (SHA-NI where the CPU has it) and BLAKE3, over byte
//! streams fed chunk by chunk and over whole local files, across cores.
//!
//! Synchronous on purpose: it is driven from plain threads (rayon, or the runner's blocking
//! workers) fed through bounded channels, and knows nothing of tokio or storage.

use std::io;
use std::path::{Path, PathBuf};

use lifeboat_core::Algorithm;

/// An incremental hasher for one of the manifest algorithms.
pub struct Hasher {
    inner: Inner,
}

enum Inner {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
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
        };
        Hasher { inner }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Sha256(_) => Algorithm::Sha256,
            Inner::Blake3(_) => Algorithm::Blake3,
        }
    }

    /// Feeds bytes. Large BLAKE3 inputs (a whole mapped file, a big buffer) are hashed
    /// across cores.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        match &mut self.inner {
            Inner::Sha256(h) => h.update(bytes),
            Inner::Blake3(h) => {
                // Below ~128 KiB rayon's fork/join costs more than it gains.
                if bytes.len() >= 128 * 1024 {
                    h.update_rayon(bytes);
                } else {
                    h.update(bytes);
                }
            }
        }
    }

    /// The digest as lowercase hex.
    pub fn finalize_hex(self) -> String {
        use sha2::Digest;
        match self.inner {
            Inner::Sha256(h) => hex::encode(h.finalize()),
            Inner::Blake3(h) => h.finalize().to_hex().to_string(),
        }
    }
}

/// Hashes one local file, returning (lowercase hex digest, size in bytes).
pub fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<(String, u64)> {
    files::hash_file(path, algorithm)
}

/// Hashes every regular file under `dir` (recursively, symlinks not followed) on up to
/// `jobs` threads. Returns `(path relative to dir, '/'-separated, digest hex)` sorted by path.
/// A file name that is not UTF-8 is an error naming it.
pub fn hash_tree(
    dir: &Path,
    algorithm: Algorithm,
    jobs: usize,
) -> io::Result<Vec<(String, String)>> {
    files::hash_tree(dir, algorithm, jobs)
}

/// Lists regular files under `dir` recursively, sorted; symlinks are not followed.
pub fn walk_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    files::walk_files(dir)
}

mod files;
