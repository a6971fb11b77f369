//! Evidence in object storage (`--evidence-dir s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`):
//! the same records, signatures and pages as an evidence folder, written **create-only**, and a
//! ledger whose chain is serialised across every runner writing to the prefix.
//!
//! This module knows no object store: it is handed an [`Objects`], the four things it needs
//! from one (a create-only put, a capped get, a listing, and the version count of each name),
//! which `lifeboat-app` implements over `lifeboat-storage`'s S3 and Azure clients.
//!
//! # The layout below the prefix
//!
//! ```text
//! RUNBOOK/RUN_ID/evidence.json           the record, as in a folder
//! RUNBOOK/RUN_ID/evidence.json.minisig   its signature (with a key)
//! RUNBOOK/RUN_ID/report.md, report.html  the pages
//! ledger/00000000000000000001.json       the chain: entry N is the object named N, holding
//! ledger/00000000000000000002.json       exactly the ledger line a folder's ledger.jsonl holds
//! ledger/00000000000000000002.minisig    the signed head after entry N (with a key)
//! ```
//!
//! # Why the chain cannot fork
//!
//! A bucket has no lock a writer could hold, and rewriting one `ledger.jsonl` object is a
//! read-modify-write two runners can interleave. So each chain position is its own object,
//! created with a conditional put that fails when the name exists (`If-None-Match: *`). A
//! writer reads the head (the highest position listed), builds the entry chained after it,
//! and creates position head+1: of two runners racing for the same position exactly one put
//! succeeds; the other is told the name exists, reads the new head and chains after it. An
//! entry, once created, is never replaced, so the chain is the positions in order, with no
//! fork and no lost record. The record itself is created (create-only) before its entry, so
//! an entry never names a record that is not fully written; its signature, whose trusted
//! comment names the position, is created once the position is won.
//!
//! # Reading it back
//!
//! [`verify`] and [`materialise`] copy what the bucket holds into a local folder laid out as
//! an evidence folder (`ledger.jsonl` from the entries in position order, the newest signed
//! head as `ledger.jsonl.minisig`, each record and signature at its place) and run the folder
//! checks on it, so a bucket is held to exactly the checks a folder is. What only a bucket can
//! say is added: names lifeboat never writes (junk, `..`, a name too deep), and, where the
//! store keeps versions (S3 with object lock), every name that has more than one version — a
//! record overwritten by a newer object version, which answers reads while the locked original
//! stays underneath. Every object is size-checked from the listing before it is read, and read
//! with the folder's caps: a huge object is named, never downloaded.

use std::collections::BTreeMap;
use std::path::Path;

use lifeboat_core::evidence::Evidence;

use crate::files::Cap;
use crate::ledger::{self, Entry, RECORD_SIGNATURE_FILE, sha256_hex};
use crate::sign::{SigningKey, VerifyingKey};
use crate::verify::{Finding, Report};
use crate::{EvidenceError, Pages, RECORD_FILE, encode_run};

/// The folder of chain positions below the prefix.
pub const LEDGER_PREFIX: &str = "ledger/";
/// How many times a writer re-reads the head after losing a position to another runner
/// before giving up. Each loss means another record was chained meanwhile; 64 in a row is a
/// fleet appending far faster than drills finish, or something creating positions on purpose.
pub const MAX_RACES: usize = 64;
/// A ledger entry object: one line of about 600 bytes.
pub const ENTRY_CAP: Cap = Cap {
    bytes: 64 << 10,
    what: "a ledger entry",
};

/// Why an object operation failed. The text is already phrased for the operator and holds no
/// credential (the implementation scrubs it).
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// A create-only put met an object already at the name: nothing was overwritten.
    #[error("{name} already exists (evidence is written create-only)")]
    Exists { name: String },
    /// The object is larger than the caller reads.
    #[error("{name} is {size} bytes, larger than the {cap} limit for {}", cap.what)]
    TooLarge { name: String, size: u64, cap: Cap },
    /// The store could not be reached, refused the credentials, …
    #[error("{0}")]
    Store(String),
}

/// One listed object: its name below the prefix and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub size: u64,
}

/// What the evidence store needs from an object store, below one prefix. Names are relative
/// to the prefix, `/`-separated. Implementations block (they are called off the async
/// workers, as the folder writer is).
pub trait Objects: Send + Sync {
    /// `s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`: how messages name the store.
    fn url(&self) -> &str;
    /// Creates `name` holding `bytes`, failing with [`ObjectError::Exists`] if anything is
    /// there: never overwrites.
    fn put_new(&self, name: &str, bytes: &[u8]) -> Result<(), ObjectError>;
    /// Reads `name` whole, at most `cap` (checked before the body is read); `None` if missing.
    fn get(&self, name: &str, cap: Cap) -> Result<Option<Vec<u8>>, ObjectError>;
    /// Every object whose name starts with `prefix` (relative; "" for all).
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, ObjectError>;
    /// How many versions each name has, when the store keeps versions and can list them;
    /// `None` when it cannot tell (versioning off, or a store lifeboat cannot ask).
    fn versions(&self) -> Result<Option<BTreeMap<String, usize>>, ObjectError>;
}

/// The object name of chain position `seq`.
pub fn entry_name(seq: u64) -> String {
    format!("{LEDGER_PREFIX}{seq:020}.json")
}

/// The object name of the signed head written after position `seq`.
pub fn head_name(seq: u64) -> String {
    format!("{LEDGER_PREFIX}{seq:020}.minisig")
}

/// `ledger/N.json` → N, `ledger/N.minisig` → N (as `(N, is_signature)`); else `None`.
fn ledger_position(name: &str) -> Option<(u64, bool)> {
    let rest = name.strip_prefix(LEDGER_PREFIX)?;
    let (digits, sig) = match rest.strip_suffix(".json") {
        Some(d) => (d, false),
        None => (rest.strip_suffix(".minisig")?, true),
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0).map(|n| (n, sig))
}

fn bucket_err(objects: &dyn Objects, e: impl std::fmt::Display) -> EvidenceError {
    EvidenceError::Bucket {
        url: objects.url().to_owned(),
        reason: e.to_string(),
    }
}

/// The chain's positions as listed: entries and signed heads, by position.
struct Positions {
    entries: BTreeMap<u64, u64>,
    heads: BTreeMap<u64, u64>,
}

fn positions(objects: &dyn Objects) -> Result<Positions, ObjectError> {
    let mut p = Positions {
        entries: BTreeMap::new(),
        heads: BTreeMap::new(),
    };
    for o in objects.list(LEDGER_PREFIX)? {
        match ledger_position(&o.name) {
            Some((n, false)) => p.entries.insert(n, o.size),
            Some((n, true)) => p.heads.insert(n, o.size),
            None => None,
        };
    }
    Ok(p)
}

fn read_entry(objects: &dyn Objects, seq: u64) -> Result<Option<Vec<u8>>, ObjectError> {
    objects.get(&entry_name(seq), ENTRY_CAP)
}

/// [`crate::write_signed_run`] into an object store: the pages, then the record, each created
/// create-only under `RUNBOOK/RUN_ID/`; then the record is chained at the next free position
/// (see the module's documentation for the race), signed with its position when `key` is
/// given, and the signed head after it written. Returns the record's URL.
pub fn write_signed_run(
    objects: &dyn Objects,
    evidence: &Evidence,
    pages: &dyn Pages,
    key: Option<&SigningKey>,
) -> Result<String, EvidenceError> {
    let (json, pages) = encode_run(evidence, pages)?;
    let run_rel = format!("{}/{}", evidence.runbook.name, evidence.run_id);
    let put = |name: &str, bytes: &[u8]| {
        objects
            .put_new(&format!("{run_rel}/{name}"), bytes)
            .map_err(|e| match e {
                ObjectError::Exists { name } => EvidenceError::ObjectExists {
                    url: format!("{}/{name}", objects.url()),
                },
                e => bucket_err(objects, e),
            })
    };
    // Before anything is written, so an unreachable store or a chain that cannot be read
    // leaves no orphan record.
    head(objects)?;
    for page in &pages {
        put(page.name, &page.bytes)?;
    }
    put(RECORD_FILE, &json)?;
    let record = format!("{run_rel}/{RECORD_FILE}");
    let mut races = 0;
    let (entry, signature) = loop {
        let (seq, previous_entry_sha256, previous_sha256, previous_record) = head(objects)?;
        let seq = seq + 1;
        let mut entry = Entry {
            seq,
            first: seq == 1,
            record: record.clone(),
            run_id: evidence.run_id.clone(),
            runbook: evidence.runbook.name.clone(),
            outcome: evidence.outcome,
            finished_at: evidence.finished_at,
            sha256: sha256_hex(&json),
            signature_sha256: None,
            previous_sha256,
            previous_record,
            previous_entry_sha256,
        };
        let signature = match key {
            Some(key) => {
                let sig = key.sign(&json, &ledger::record_comment(&entry))?;
                entry.signature_sha256 = Some(sha256_hex(sig.as_bytes()));
                Some(sig)
            }
            None => None,
        };
        let line = serde_json::to_vec(&entry)?;
        match objects.put_new(&entry_name(seq), &line) {
            Ok(()) => break (entry, signature),
            Err(ObjectError::Exists { .. }) if races < MAX_RACES => races += 1,
            Err(ObjectError::Exists { .. }) => {
                return Err(bucket_err(
                    objects,
                    format!(
                        "lost the race for the next ledger position {MAX_RACES} times in a \
                         row; {record} is written but not chained"
                    ),
                ));
            }
            Err(e) => return Err(bucket_err(objects, e)),
        }
    };
    if let (Some(key), Some(sig)) = (key, signature) {
        put(RECORD_SIGNATURE_FILE, sig.as_bytes())?;
        // The signed head: every entry up to this one, as a folder's ledger.jsonl holds them.
        // Positions below ours are final (created create-only), so another runner appending
        // meanwhile changes nothing signed here.
        let mut ledger_bytes = Vec::new();
        for n in 1..=entry.seq {
            if let Some(line) = read_entry(objects, n).map_err(|e| bucket_err(objects, e))? {
                ledger_bytes.extend_from_slice(&line);
                ledger_bytes.push(b'\n');
            }
        }
        let last = ledger::last_line(&ledger_bytes)
            .map(sha256_hex)
            .unwrap_or_default();
        let sig = key.sign(
            &ledger_bytes,
            &ledger::ledger_comment(entry.seq as usize, &last, &entry.record),
        )?;
        objects
            .put_new(&head_name(entry.seq), sig.as_bytes())
            .map_err(|e| bucket_err(objects, e))?;
    }
    Ok(format!("{}/{record}", objects.url()))
}

/// The next entry's `(head position, previous_entry_sha256, previous_sha256,
/// previous_record)`, from the highest position listed.
#[allow(clippy::type_complexity)]
fn head(
    objects: &dyn Objects,
) -> Result<(u64, Option<String>, Option<String>, Option<String>), EvidenceError> {
    let p = positions(objects).map_err(|e| bucket_err(objects, e))?;
    let Some((&seq, _)) = p.entries.last_key_value() else {
        return Ok((0, None, None, None));
    };
    let refused = |reason: String| EvidenceError::Ledger {
        path: format!("{}/{}", objects.url(), entry_name(seq)).into(),
        reason,
    };
    let line = read_entry(objects, seq)
        .map_err(|e| refused(e.to_string()))?
        .ok_or_else(|| refused("listed, but gone when read".into()))?;
    let prev: Entry = serde_json::from_slice(&line).map_err(|e| {
        refused(format!(
            "the chain's head is not a ledger entry ({e}); run `lifeboat evidence verify` on it"
        ))
    })?;
    if prev.seq != seq {
        return Err(refused(format!(
            "the chain's head says seq {} at position {seq}; run `lifeboat evidence verify` on it",
            prev.seq
        )));
    }
    Ok((
        seq,
        Some(sha256_hex(&line)),
        Some(prev.sha256),
        Some(prev.record),
    ))
}

/// How much of the chain is signed ([`crate::ledger_signing`] for a bucket).
pub fn ledger_signing(objects: &dyn Objects) -> Result<crate::LedgerSigning, EvidenceError> {
    let p = positions(objects).map_err(|e| bucket_err(objects, e))?;
    let mut signed = 0;
    for &n in p.entries.keys() {
        let line = read_entry(objects, n).map_err(|e| bucket_err(objects, e))?;
        if line.is_some_and(|l| crate::signed_line(&l)) {
            signed += 1;
        }
    }
    Ok(crate::LedgerSigning {
        entries: p.entries.len(),
        signed,
        head: !p.heads.is_empty(),
    })
}

/// A part of a record's name: what a folder's reader would accept as a file name below the
/// evidence folder.
fn safe_part(p: &str) -> bool {
    !p.is_empty()
        && p != "."
        && p != ".."
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.len() <= 255
}

/// Copies the bucket's evidence into `into` (an empty folder) laid out as an evidence folder
/// (see the module's documentation), and returns the findings only a bucket can have: names
/// lifeboat never writes there. Pages are not copied (nothing checks them). Nothing in the
/// bucket chooses where a file lands beyond `RUNBOOK/RUN_ID/` with both parts checked; an
/// object over its cap becomes a sparse file one byte over it, so the folder checks name it
/// without it being downloaded.
pub fn materialise(objects: &dyn Objects, into: &Path) -> Result<Vec<Finding>, EvidenceError> {
    let fail = |e: &dyn std::fmt::Display| bucket_err(objects, e);
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|source| EvidenceError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut findings = Vec::new();
    let mut entries = BTreeMap::new();
    let mut heads = BTreeMap::new();
    for o in objects.list("").map_err(|e| fail(&e))? {
        if let Some((n, sig)) = ledger_position(&o.name) {
            if sig { &mut heads } else { &mut entries }.insert(n, o);
            continue;
        }
        let parts: Vec<&str> = o.name.split('/').collect();
        let file = parts.last().copied().unwrap_or_default();
        let is_run_file = parts.len() == 3 && parts[..2].iter().all(|p| safe_part(p));
        let cap = match file {
            RECORD_FILE => Cap::RECORD,
            RECORD_SIGNATURE_FILE => Cap::SIGNATURE,
            // A page: lifeboat writes it, nothing checks it.
            f if is_run_file && safe_part(f) && !f.starts_with('.') => continue,
            _ => {
                findings.push(Finding {
                    subject: o.name.clone(),
                    problem: "not something lifeboat writes in an evidence bucket (a record \
                              is RUNBOOK/RUN_ID/evidence.json, the chain ledger/N.json)"
                        .into(),
                });
                continue;
            }
        };
        if !is_run_file {
            findings.push(Finding {
                subject: o.name.clone(),
                problem: "a record's name must be RUNBOOK/RUN_ID/evidence.json with plain \
                          parts: it was not read"
                    .into(),
            });
            continue;
        }
        let run_dir = into.join(parts[0]).join(parts[1]);
        std::fs::create_dir_all(&run_dir).map_err(|source| EvidenceError::Write {
            path: run_dir.clone(),
            source,
        })?;
        let path = run_dir.join(file);
        fetch(objects, &o, cap, &path)?;
    }
    // The chain: entries in position order, one line each.
    let mut ledger_bytes = Vec::new();
    for o in entries.values() {
        let line = match objects.get(&o.name, ENTRY_CAP) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e @ ObjectError::TooLarge { .. }) => {
                findings.push(Finding {
                    subject: o.name.clone(),
                    problem: format!("{e}: it was not read"),
                });
                b"(not read: too large)".to_vec()
            }
            Err(e) => return Err(fail(&e)),
        };
        ledger_bytes.extend_from_slice(&line);
        ledger_bytes.push(b'\n');
    }
    if !entries.is_empty() {
        write(&into.join(ledger::LEDGER_FILE), &ledger_bytes)?;
    }
    if let Some(o) = heads.values().last() {
        fetch(
            objects,
            o,
            Cap::SIGNATURE,
            &into.join(ledger::LEDGER_SIGNATURE_FILE),
        )?;
    }
    Ok(findings)
}

/// Copies one object to `path`, or, over `cap`, makes `path` a sparse file one byte over it.
fn fetch(objects: &dyn Objects, o: &Listed, cap: Cap, path: &Path) -> Result<(), EvidenceError> {
    let write_err = |source| EvidenceError::Write {
        path: path.to_path_buf(),
        source,
    };
    let oversized = || -> Result<(), EvidenceError> {
        let f = std::fs::File::create(path).map_err(write_err)?;
        f.set_len(cap.bytes + 1).map_err(write_err)
    };
    if o.size > cap.bytes {
        return oversized();
    }
    match objects.get(&o.name, cap) {
        Ok(Some(bytes)) => std::fs::write(path, bytes).map_err(write_err),
        Ok(None) => Ok(()),
        Err(ObjectError::TooLarge { .. }) => oversized(),
        Err(e) => Err(bucket_err(objects, e)),
    }
}

/// Why a bucket could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum BucketVerifyError {
    #[error("{url} holds no ledger/ and no records: is it an evidence bucket?")]
    NotEvidence { url: String },
    #[error(transparent)]
    Read(#[from] EvidenceError),
    #[error("cannot check {url}: {reason}")]
    Local { url: String, reason: String },
}

/// The bucket's evidence copied into a new temporary folder ([`materialise`]), for readers
/// of a folder (`lifeboat report`); removed when the returned folder is dropped.
pub fn local_copy(
    objects: &dyn Objects,
) -> Result<(tempfile::TempDir, Vec<Finding>), BucketVerifyError> {
    let tmp = tempfile::tempdir().map_err(|e| BucketVerifyError::Local {
        url: objects.url().to_owned(),
        reason: e.to_string(),
    })?;
    let findings = materialise(objects, tmp.path())?;
    Ok((tmp, findings))
}

/// `lifeboat evidence verify s3://…`: the folder checks ([`crate::verify::verify_dir`]) on the
/// bucket's evidence copied into a temporary folder, plus the bucket's own findings (names it
/// should not hold; names with more than one version).
pub fn verify(
    objects: &dyn Objects,
    key: Option<&VerifyingKey>,
) -> Result<Report, BucketVerifyError> {
    let local = |e: &dyn std::fmt::Display| BucketVerifyError::Local {
        url: objects.url().to_owned(),
        reason: e.to_string(),
    };
    let (tmp, mut extra) = local_copy(objects)?;
    let mut report = match crate::verify::verify_dir(tmp.path(), key) {
        Ok(r) => r,
        Err(crate::verify::VerifyError::NotEvidence { .. }) if extra.is_empty() => {
            return Err(BucketVerifyError::NotEvidence {
                url: objects.url().to_owned(),
            });
        }
        Err(crate::verify::VerifyError::NotEvidence { .. }) => Report::default(),
        Err(e) => return Err(local(&e)),
    };
    if let Some(versions) = objects.versions().map_err(|e| local(&e))? {
        for (name, n) in versions.into_iter().filter(|(_, n)| *n > 1) {
            let (subject, what) = match name.rsplit_once('/') {
                Some((run, file)) if file == RECORD_FILE || file == RECORD_SIGNATURE_FILE => {
                    (run.to_owned(), file.to_owned())
                }
                _ => (name.clone(), "the object".to_owned()),
            };
            extra.push(Finding {
                subject,
                problem: format!(
                    "overwritten: {what} has {n} versions (lifeboat creates each name once; \
                     reads now get the newest, the locked original is an older version)"
                ),
            });
        }
    }
    report.findings.extend(extra);
    Ok(report)
}

#[cfg(test)]
mod tests;
