//! The words the runbook and the evidence record share: a digest [`Algorithm`], a verdict
//! [`Outcome`], and when restored bytes are made durable ([`ScratchSync`]).
//!
//! A runbook names them (`manifest.format` picks an algorithm, `notify[].on` lists outcomes,
//! `scratch.sync` a sync mode) and the evidence records them, so both [`crate::runbook`] and
//! [`crate::evidence`] need them. They live here, depending on nothing else in the crate, so
//! that neither of those two modules has to reach into the other. Their serialized spellings
//! are part of the evidence format: never rename one.

use serde::{Deserialize, Serialize};

/// The digest algorithm a manifest lists a file's checksum in: `sha256sum` and `b3sum`
/// manifests use one for every file; a PostgreSQL `backup_manifest` names one per file
/// (CRC32C, the SHA-2 family, or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// SHA-256, as `sha256sum` writes it.
    Sha256,
    /// BLAKE3, as `b3sum` writes it.
    Blake3,
    /// CRC-32C (Castagnoli), as PostgreSQL's `backup_manifest` writes it: the 4 bytes of the
    /// CRC in little-endian order, in hex (pg_basebackup's default checksum).
    Crc32c,
    /// SHA-224 (a `backup_manifest` checksum).
    Sha224,
    /// SHA-384 (a `backup_manifest` checksum).
    Sha384,
    /// SHA-512 (a `backup_manifest` checksum).
    Sha512,
    /// No checksum (`backup_manifest`'s `NONE`): only the file's size is checked.
    None,
}

impl Algorithm {
    /// The name as manifests, the CLI and the evidence write it: `sha256`, `blake3`,
    /// `crc32c`, `sha224`, `sha384`, `sha512` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
            Algorithm::Crc32c => "crc32c",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
            Algorithm::None => "none",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Algorithm::Sha256),
            "blake3" => Ok(Algorithm::Blake3),
            other => Err(format!(
                "unknown algorithm `{other}`; expected one of: sha256, blake3"
            )),
        }
    }
}

/// The verdict on a drill, a recovery point, a file or a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Everything checked was as expected (exit code 0 for a drill).
    Passed,
    /// Something checked was wrong: a hash mismatch, a missing object, a failed step, a
    /// missed objective (exit code 1 for a drill).
    Failed,
    /// The drill could not complete: storage unreachable, scratch full, interrupted (exit
    /// code 3 for a drill).
    Error,
}

impl Outcome {
    /// The word as the evidence and runbooks (`notify[].on`) write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
        }
    }

    /// The verdict in capitals, wherever a person reads it: the terminal, the reports and
    /// the webhooks. `error` is "COULD NOT COMPLETE", never "ERROR": it is what exit code 3
    /// means (the backup was not judged), and "ERROR" reads like a fault in lifeboat.
    pub fn verdict(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Error => "COULD NOT COMPLETE",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When restored bytes are made durable (`scratch.sync`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScratchSync {
    /// Each restored file is flushed to disk (`fdatasync`) before it counts as verified, so
    /// the measured RTO, and the full-restore RTO projected from it, include writing to disk.
    #[default]
    File,
    /// Restored bytes are left to the kernel's writeback, as `cp` and `restic restore` leave
    /// them: faster on a sample that fits in memory, but the RTO then measures memory, not
    /// the disk a real restore would have to reach.
    None,
}
