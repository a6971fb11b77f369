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
//! concurrent drills never fork the chain; the lock must be a regular file, and is waited for
//! at most [`crate::files::LOCK_WAIT`]. The ledger is replaced atomically
//! (temporary file, fsync, rename, fsync of the folder), so a crash leaves the old ledger or
//! the new one. Everything here goes through [`crate::files`].

// The ledger line is an on-disk format auditors and `evidence verify` rely on: every public
// item says what it is.
#![warn(missing_docs)]

use std::fs::File;

use std::path::Path;

use jiff::Timestamp;
use lifeboat_core::evidence::{Evidence, Outcome};
use lifeboat_safefs::{Dir, Kind, Replace};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::EvidenceError;
use crate::files::{self, Cap, FILE_MODE, Hold, LOCK_WAIT};
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
    /// The record's `run_id`.
    pub run_id: String,
    /// The record's runbook name.
    pub runbook: String,
    /// The record's `outcome`.
    pub outcome: Outcome,
    /// The record's `finished_at`.
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

/// The last of [`lines`], found from the end: a drill appends to a ledger that grows by a
/// line a drill, and reads only its last line to chain the next (a ledger of 100,000
/// entries is 53 MB).
pub(crate) fn last_line(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.is_empty() {
        return None;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |n| n + 1);
    Some(&body[start..])
}

/// The ledger, locked for an append: taken before a run writes anything, so a lock or ledger
/// that is not a regular file stops the run's write before it starts.
pub(crate) struct Chain<'a> {
    root: &'a Dir,
    ledger: Vec<u8>,
    /// `(seq, previous_entry_sha256, previous_sha256, previous_record)` of the next entry.
    next: (u64, Option<String>, Option<String>, Option<String>),
    /// Held until the chain is dropped.
    _lock: File,
}

impl<'a> Chain<'a> {
    /// Takes `ledger.lock` exclusively (waiting at most [`LOCK_WAIT`]) and reads the ledger.
    pub(crate) fn lock(root: &'a Dir) -> Result<Chain<'a>, EvidenceError> {
        let lock_path = root.path().join(LOCK_FILE);
        let lock = root
            .open_or_create(LOCK_FILE, FILE_MODE)
            .map_err(|e| EvidenceError::Write {
                path: lock_path.clone(),
                source: e.into(),
            })?;
        files::lock(&lock, Hold::Exclusive, LOCK_WAIT).map_err(|source| EvidenceError::Lock {
            path: lock_path,
            source,
        })?;

        let ledger_path = root.path().join(LEDGER_FILE);
        let refused = |reason: String| EvidenceError::Ledger {
            path: ledger_path.clone(),
            reason,
        };
        let ledger = match files::read_below(root, LEDGER_FILE, Cap::LEDGER) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(refused(e.to_string())),
        };
        if !ledger.is_empty() && !ledger.ends_with(b"\n") {
            return Err(refused(
                "its last line is incomplete; run `lifeboat evidence verify` on the folder".into(),
            ));
        }
        let next = match last_line(&ledger) {
            None => (1, None, None, None),
            Some(l) => match serde_json::from_slice::<Entry>(l) {
                Ok(prev) => (
                    prev.seq + 1,
                    Some(sha256_hex(l)),
                    Some(prev.sha256),
                    Some(prev.record),
                ),
                Err(e) => {
                    return Err(refused(format!(
                        "its last line is not a ledger entry ({e})"
                    )));
                }
            },
        };
        Ok(Chain {
            root,
            ledger,
            next,
            _lock: lock,
        })
    }

    /// The entry that chains the record `record` (`RUNBOOK/RUN_ID/evidence.json`, to be
    /// written with `bytes`), and, when `key` is given, the record's signature with its
    /// position in the trusted comment: both known before anything is written, so the
    /// record and its signature are written together ([`Chain::append`] then appends the
    /// entry).
    pub(crate) fn entry(
        &self,
        record: &str,
        bytes: &[u8],
        evidence: &Evidence,
        key: Option<&SigningKey>,
    ) -> Result<(Entry, Option<String>), EvidenceError> {
        let (seq, previous_entry_sha256, previous_sha256, previous_record) = self.next.clone();
        let mut entry = Entry {
            seq,
            first: seq == 1,
            record: record.to_string(),
            run_id: evidence.run_id.clone(),
            runbook: evidence.runbook.name.clone(),
            outcome: evidence.outcome,
            finished_at: evidence.finished_at,
            sha256: sha256_hex(bytes),
            signature_sha256: None,
            previous_sha256,
            previous_record,
            previous_entry_sha256,
        };
        let signature = match key {
            Some(key) => {
                let sig = key.sign(bytes, &record_comment(&entry))?;
                entry.signature_sha256 = Some(sha256_hex(sig.as_bytes()));
                Some(sig)
            }
            None => None,
        };
        Ok((entry, signature))
    }

    /// Appends `entry` ([`Chain::entry`]; its record and signature written and flushed) and,
    /// when `key` is given, re-signs the ledger: the ledger and its signature are written
    /// together, each whole. The lock goes with `self`.
    pub(crate) fn append(
        self,
        entry: &Entry,
        key: Option<&SigningKey>,
    ) -> Result<(), EvidenceError> {
        let line = serde_json::to_vec(entry)?;
        let head = sha256_hex(&line);
        let mut ledger = self.ledger;
        ledger.extend_from_slice(&line);
        ledger.push(b'\n');
        let signature = match key {
            Some(key) => Some(key.sign(
                &ledger,
                &ledger_comment(entry.seq as usize, &head, &entry.record),
            )?),
            None => None,
        };
        let mut files: Vec<(&str, &[u8])> = vec![(LEDGER_FILE, &ledger)];
        if let Some(sig) = &signature {
            files.push((LEDGER_SIGNATURE_FILE, sig.as_bytes()));
        }
        files::write_together(self.root, &files, Replace::Allow)
    }
}

/// `EVIDENCE_DIR/*/*/evidence.json`: every record on disk, as paths relative to the
/// directory, sorted. Only real folders are walked (a link in place of a runbook's or a run's
/// folder is not followed: the ledger's own entries name it when they lead through it); an
/// `evidence.json` of any kind counts, so a planted one is reported, not hidden.
pub(crate) fn records_on_disk(root: &Dir) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for rb in root.entries()? {
        if rb.kind != Kind::Dir {
            continue;
        }
        let rb_dir = match root.open_dir(&rb.name) {
            Ok(d) => d,
            // Gone, or swapped for something else, since it was listed.
            Err(e) if e.is_not_found() || e.wrong_kind().is_some() => continue,
            Err(e) => return Err(e.into()),
        };
        for run in rb_dir.entries()? {
            if run.kind != Kind::Dir {
                continue;
            }
            let rel = Path::new(&rb.name).join(&run.name).join(crate::RECORD_FILE);
            match root.stat(&rel) {
                Ok(_) => out.push(format!(
                    "{}/{}/{}",
                    rb.name.to_string_lossy(),
                    run.name.to_string_lossy(),
                    crate::RECORD_FILE
                )),
                Err(e) if e.is_not_found() || e.wrong_kind().is_some() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    out.sort();
    Ok(out)
}
