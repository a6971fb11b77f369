//! The per-evidence-directory ledger: `EVIDENCE_DIR/ledger.jsonl`, one JSON line per record,
//! in the order the records were written.
//!
//! Each entry holds the SHA-256 of its record's bytes (`evidence.json`), of its signature file
//! if the record was signed, of the previous record, and of the previous *ledger line*; the
//! first entry says `"first": true` and has no previous hashes. Changing, removing, inserting
//! or reordering any record or entry therefore breaks a link that `evidence verify` finds.
//!
//! With a signing key, every append also re-signs the whole ledger as
//! `ledger.jsonl.minisig`, whose trusted comment names the number of entries and the last
//! entry's hash: the signed head. It is what detects a ledger cut short at its tail.
//!
//! Appends are serialized by an exclusive lock on `EVIDENCE_DIR/ledger.lock` (`flock`), so
//! concurrent drills never fork the chain; the ledger is replaced atomically (temporary file,
//! fsync, rename, fsync of the folder), so a crash leaves the old ledger or the new one.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use lifeboat_core::evidence::{Evidence, Outcome};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::EvidenceError;
use crate::sign::{self, SigningKey};

/// The ledger's file name inside an evidence directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";
/// The signed head: a minisign signature of the whole ledger.
pub const LEDGER_SIGNATURE_FILE: &str = "ledger.jsonl.minisig";
/// The lock file appends hold exclusively and `evidence verify` holds shared.
pub const LOCK_FILE: &str = "ledger.lock";
/// A record's signature file name, beside `evidence.json`.
pub const RECORD_SIGNATURE_FILE: &str = "evidence.json.minisig";

/// One ledger line. Field order is the serialization order; the entry's own hash is the
/// SHA-256 of the line's exact bytes (without the newline), never of a re-serialization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1 for the first record of the directory, then +1.
    pub seq: u64,
    /// `true` only for the first entry: nothing came before it.
    pub first: bool,
    /// The record's path relative to the evidence directory: `RUNBOOK/RUN_ID/evidence.json`.
    pub record: String,
    pub run_id: String,
    pub runbook: String,
    pub outcome: Outcome,
    pub finished_at: Timestamp,
    /// SHA-256 of the record's bytes.
    pub sha256: String,
    /// SHA-256 of `evidence.json.minisig`, when the record was signed.
    pub signature_sha256: Option<String>,
    /// SHA-256 of the previous entry's record; `None` for the first.
    pub previous_sha256: Option<String>,
    /// The previous entry's `record`, so a record removed together with its entry can
    /// still be named.
    pub previous_record: Option<String>,
    /// SHA-256 of the previous ledger line; `None` for the first.
    pub previous_entry_sha256: Option<String>,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The trusted comment of a record's signature: who, what, and where in the chain, so the
/// signature (checkable with the `minisign` CLI alone) binds the record to its position.
pub fn record_comment(entry: &Entry) -> String {
    let seq = entry.seq.to_string();
    sign::trusted_comment(&[
        ("lifeboat", "evidence"),
        ("run_id", &entry.run_id),
        ("runbook", &entry.runbook),
        ("outcome", entry.outcome.as_str()),
        ("seq", &seq),
        (
            "previous_entry",
            entry.previous_entry_sha256.as_deref().unwrap_or("none"),
        ),
    ])
}

/// The trusted comment of the ledger's signature: the signed head.
pub fn ledger_comment(entries: usize, head: &str, last_record: &str) -> String {
    let n = entries.to_string();
    sign::trusted_comment(&[
        ("lifeboat", "ledger"),
        ("entries", &n),
        ("head", head),
        ("last", last_record),
    ])
}

/// The ledger's lines (without newlines) and each one's hash.
pub(crate) fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Writes a run's record into the chain: under the directory's lock, signs `evidence.json`
/// (when `key` is given) with its position in the trusted comment, appends the entry, and
/// re-signs the ledger. `record` is the path of the `evidence.json` already written.
pub(crate) fn append(
    evidence_dir: &Path,
    record: &Path,
    evidence: &Evidence,
    key: Option<&SigningKey>,
) -> Result<Entry, EvidenceError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Write { path, source }
    };
    let lock_path = evidence_dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    // Blocks until other drills writing into this directory are done; released on drop.
    lock.lock().map_err(io(&lock_path))?;

    let ledger_path = evidence_dir.join(LEDGER_FILE);
    let mut ledger = match fs::read(&ledger_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&ledger_path)(e)),
    };
    if !ledger.is_empty() && !ledger.ends_with(b"\n") {
        return Err(EvidenceError::Ledger {
            path: ledger_path,
            reason: "its last line is incomplete; run `lifeboat evidence verify` on the folder"
                .into(),
        });
    }
    let previous = lines(&ledger).last().map(|l| {
        let prev: Result<Entry, _> = serde_json::from_slice(l);
        (sha256_hex(l), prev)
    });
    let (seq, previous_entry_sha256, previous_sha256, previous_record) = match previous {
        None => (1, None, None, None),
        Some((hash, Ok(prev))) => (
            prev.seq + 1,
            Some(hash),
            Some(prev.sha256),
            Some(prev.record),
        ),
        Some((_, Err(e))) => {
            return Err(EvidenceError::Ledger {
                path: ledger_path,
                reason: format!("its last line is not a ledger entry ({e})"),
            });
        }
    };
    let rel = record
        .strip_prefix(evidence_dir)
        .unwrap_or(record)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let bytes = fs::read(record).map_err(io(record))?;
    let mut entry = Entry {
        seq,
        first: seq == 1,
        record: rel,
        run_id: evidence.run_id.clone(),
        runbook: evidence.runbook.name.clone(),
        outcome: evidence.outcome,
        finished_at: evidence.finished_at,
        sha256: sha256_hex(&bytes),
        signature_sha256: None,
        previous_sha256,
        previous_record,
        previous_entry_sha256,
    };
    if let Some(key) = key {
        let sig = key.sign(&bytes, &record_comment(&entry))?;
        let sig_path = record.with_file_name(RECORD_SIGNATURE_FILE);
        crate::atomic_write(&sig_path, sig.as_bytes()).map_err(io(&sig_path))?;
        entry.signature_sha256 = Some(sha256_hex(sig.as_bytes()));
    }
    let line = serde_json::to_vec(&entry)?;
    let head = sha256_hex(&line);
    ledger.extend_from_slice(&line);
    ledger.push(b'\n');
    crate::atomic_write(&ledger_path, &ledger).map_err(io(&ledger_path))?;
    if let Some(key) = key {
        let sig = key.sign(&ledger, &ledger_comment(seq as usize, &head, &entry.record))?;
        let sig_path = evidence_dir.join(LEDGER_SIGNATURE_FILE);
        crate::atomic_write(&sig_path, sig.as_bytes()).map_err(io(&sig_path))?;
    }
    drop(lock);
    Ok(entry)
}

/// `EVIDENCE_DIR/*/*/evidence.json`: every record on disk, as paths relative to the
/// directory, sorted.
pub(crate) fn records_on_disk(evidence_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for rb in fs::read_dir(evidence_dir)? {
        let rb = rb?;
        if !rb.file_type()?.is_dir() {
            continue;
        }
        for run in fs::read_dir(rb.path())? {
            let run = run?;
            let p: PathBuf = run.path().join("evidence.json");
            if run.file_type()?.is_dir() && p.is_file() {
                out.push(format!(
                    "{}/{}/evidence.json",
                    rb.file_name().to_string_lossy(),
                    run.file_name().to_string_lossy()
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}
