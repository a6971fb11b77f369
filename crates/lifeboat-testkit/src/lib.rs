//! Real backup sets on disk, and real damage to them, for lifeboat's integration tests,
//! examples and benches.
//!
//! A [`BackupSet`] is a source folder; each [`Point`] is a recovery point folder holding real
//! objects (plain, or zstd-compressed as `PATH.zst`) and a `sha256sum` / `b3sum` manifest of
//! the uncompressed bytes. After the manifest is written, a point can be damaged the ways
//! backups really break: a flipped byte, a truncated or missing object, a corrupt or cut
//! zstd frame, a hostile or malformed manifest line.
//!
//! This crate deliberately hashes with `sha2` / `blake3` directly and shares no code with
//! lifeboat itself, so a bug in lifeboat's manifest or hashing code cannot hide in the
//! fixtures that are meant to catch it. Content comes from a seeded SplitMix64
//! ([`prng`]), so every fixture is the same bytes on every run. Not shipped.
//!
//! [`cloud`] puts the same sets into real object storage: it starts local S3 (moto, s3s-fs)
//! and Azure Blob (Azurite) servers through `scripts/servers.sh` and uploads a set's files to
//! a fresh bucket or container, for the storage conformance suite and the cloud examples.
//!
//! [`postgres`] makes real PostgreSQL base backups: a throwaway cluster on 127.0.0.1 and
//! `pg_basebackup -Fp`, checked by `pg_verifybackup`.
//!
//! ```no_run
//! use lifeboat_testkit::{BackupSet, Format};
//! let set = BackupSet::new("/tmp/example-source");
//! let p = set
//!     .point("2026-11-21T020000Z")
//!     .file("etc/app.conf", b"port = 8080\n")
//!     .random_file("data/blob.bin", 1 << 20, 7)
//!     .zst_file("db/dump.sql", b"INSERT INTO t VALUES (1);\n")
//!     .manifest(Format::Sha256sum);
//! p.flip_byte("data/blob.bin", 4096);
//! ```

pub mod backup;
pub mod cloud;
pub mod counting;
pub mod postgres;
pub mod prng;
pub mod restic;
pub mod snapshot;

pub use backup::{BackupSet, Entry, Format, Point, file_url, manifest_line, zst_path};
pub use restic::{Pack, PackBlob, ResticRepo, nested_trees, wide_trees};
pub use snapshot::Snapshot;

/// How many bytes of the file at `path` are in the page cache (util-linux's `fincore`), or
/// `None` where that says nothing: on tmpfs, which has no disk to drop its pages to.
pub fn cached_bytes(path: &std::path::Path) -> Option<u64> {
    if command_output("stat", &["-f", "-c", "%T"], path) == "tmpfs" {
        return None;
    }
    let cached = command_output(
        "fincore",
        &["--bytes", "--noheadings", "--output", "RES"],
        path,
    );
    Some(cached.parse().expect("fincore prints a byte count"))
}

/// What `program ARGS PATH` prints, trimmed; it must succeed (`stat` and `fincore` are on
/// every Debian system).
fn command_output(program: &str, args: &[&str], path: &std::path::Path) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Lowercase hex BLAKE3 of `bytes`.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_values() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            blake3_hex(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
