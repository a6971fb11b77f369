//! `lifeboat evidence verify`: checks an evidence directory against its ledger and, with a
//! public key, every signature, and names each record that does not check out.
//!
//! What is checked, and what each check catches:
//!
//! - each ledger line's `previous_entry_sha256` against the line before it: an entry deleted,
//!   inserted, edited or moved (named as "out of order" when the entry it was chained after is
//!   still in the ledger, elsewhere);
//! - each record's bytes against the SHA-256 its entry holds: a record edited or deleted;
//! - each signature file against the SHA-256 its entry holds, and with `--public-key` against
//!   the key: a signature replaced, deleted, or made with another key; its trusted comment
//!   (run id, runbook, outcome, sequence number, previous entry) against the ledger: a ledger
//!   rewritten around a record;
//! - the ledger's own signature (the signed head: number of entries and last entry's hash):
//!   a ledger cut short at its tail, or edited anywhere;
//! - every `RUNBOOK/RUN_ID/evidence.json` on disk against the ledger: records the ledger lost
//!   (a truncated tail whose files remain) or that were added outside lifeboat.
//!
//! Without a public key, only the hashes are checked: that catches accidents and naive edits,
//! but anyone who can write the directory can rewrite records and ledger consistently.
//!
//! Everything is read through [`crate::files`]: a link planted below the folder is named, not
//! followed; a FIFO or device is named, not opened; every read is capped. Such a file where a
//! record, a signature, the ledger or its lock belongs is a finding (someone other than
//! lifeboat put it there), never a hang.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lifeboat_safefs::Dir;

use crate::files::{self, Cap, Hold, LOCK_WAIT, LockError, ReadError};
use crate::ledger::{
    self, Entry, LEDGER_FILE, LEDGER_SIGNATURE_FILE, LOCK_FILE, RECORD_SIGNATURE_FILE, sha256_hex,
};
use crate::sign::{Signature, SignatureProblem, VerifyingKey, comment_value};

/// Why a directory could not be checked at all (as opposed to a finding in it).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path} is not a folder")]
    NotADirectory { path: PathBuf },
    #[error("{path} holds no {LEDGER_FILE} and no records: is it an evidence folder?")]
    NotEvidence { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take a shared hold of {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: LockError,
    },
}

/// One problem, about one record (`RUNBOOK/RUN_ID`) or about the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub subject: String,
    pub problem: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.problem)
    }
}

/// The outcome of checking one evidence directory.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries in the ledger.
    pub entries: usize,
    /// Record signatures that verified with the public key.
    pub signatures_verified: usize,
    /// The ledger's signature verified with the public key, covering this many entries.
    pub ledger_signed_entries: Option<usize>,
    /// The last entry: its number and its line's SHA-256 (write it down to detect a later
    /// rollback of the whole directory).
    pub head: Option<(usize, String)>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }

    fn find(&mut self, subject: impl Into<String>, problem: impl Into<String>) {
        self.findings.push(Finding {
            subject: subject.into(),
            problem: problem.into(),
        });
    }
}

/// `RUNBOOK/RUN_ID/evidence.json` → `RUNBOOK/RUN_ID`: how findings name a record.
fn name(record: &str) -> &str {
    record.strip_suffix("/evidence.json").unwrap_or(record)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A record path from the ledger, accepted only as `RUNBOOK/RUN_ID/evidence.json` inside the
/// directory (the ledger is untrusted input).
fn safe_record_path(record: &str) -> bool {
    let parts: Vec<&str> = record.split('/').collect();
    parts.len() == 3
        && parts[2] == "evidence.json"
        && parts[..2]
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\'))
}

/// Checks `dir`; `key` adds every signature check.
pub fn verify_dir(dir: &Path, key: Option<&VerifyingKey>) -> Result<Report, VerifyError> {
    let read_err = |path: PathBuf| move |source| VerifyError::Read { path, source };
    let root = match Dir::open(dir) {
        Ok(d) => d,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(VerifyError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(read_err(dir.to_path_buf())(e)),
    };
    let mut report = Report::default();
    // A shared hold, so a drill appending right now is either wholly seen or not at all. No
    // lock file: no drill ever appended (verify creates nothing).
    let _lock = match root.open_file(LOCK_FILE) {
        Ok(f) => {
            files::lock(&f, Hold::Shared, LOCK_WAIT).map_err(|source| VerifyError::Lock {
                path: dir.join(LOCK_FILE),
                source,
            })?;
            Some(f)
        }
        Err(e) if e.is_not_found() => None,
        Err(e @ lifeboat_safefs::OpenError::Io { .. }) => {
            return Err(read_err(dir.join(LOCK_FILE))(e.into()));
        }
        Err(e) => {
            report.find(LOCK_FILE, format!("{e}: lifeboat never makes one"));
            None
        }
    };

    let ledger_bytes = match files::read_below(&root, LEDGER_FILE, Cap::LEDGER) {
        Ok(b) => Ok(b),
        Err(e) if e.is_not_found() => Err(None),
        Err(e) if e.is_planted() => Err(Some(e)),
        Err(e) => return Err(read_err(dir.join(LEDGER_FILE))(unplanted(e))),
    };
    let on_disk = ledger::records_on_disk(&root).map_err(read_err(dir.to_path_buf()))?;
    let ledger_bytes = match ledger_bytes {
        Ok(b) => b,
        Err(problem) => {
            if problem.is_none() && on_disk.is_empty() && report.findings.is_empty() {
                return Err(VerifyError::NotEvidence {
                    path: dir.to_path_buf(),
                });
            }
            let (ledger, record) = match problem {
                None => (
                    "missing: no record can be checked against the chain".to_string(),
                    "not in the ledger",
                ),
                Some(e) => (
                    format!("{e}: no record can be checked against the chain"),
                    "not checked: the ledger cannot be read",
                ),
            };
            report.find(LEDGER_FILE, ledger);
            for r in &on_disk {
                report.find(name(r), record);
            }
            return Ok(report);
        }
    };

    let lines = ledger::lines(&ledger_bytes);
    let hashes: Vec<String> = lines.iter().map(|l| sha256_hex(l)).collect();
    let entries: Vec<Option<Entry>> = lines
        .iter()
        .map(|l| serde_json::from_slice(l).ok())
        .collect();
    let label = |i: usize| -> String {
        entries[i]
            .as_ref()
            .map(|e| name(&e.record).to_string())
            .unwrap_or_else(|| format!("{LEDGER_FILE} line {}", i + 1))
    };
    report.entries = lines.len();
    if !ledger_bytes.is_empty() && !ledger_bytes.ends_with(b"\n") {
        report.find(LEDGER_FILE, "its last line is incomplete (cut or edited)");
    }
    let mut seen: HashMap<String, usize> = HashMap::new();

    for (i, line) in lines.iter().enumerate() {
        let pos = i + 1;
        let Some(e) = &entries[i] else {
            let err = serde_json::from_slice::<Entry>(line)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            report.find(label(i), format!("not a ledger entry ({err})"));
            continue;
        };
        let subject = name(&e.record).to_string();

        // The chain link.
        let expected = i.checked_sub(1).map(|j| hashes[j].as_str());
        if e.previous_entry_sha256.as_deref() != expected {
            let problem = match e.previous_entry_sha256.as_deref() {
                None => format!(
                    "out of order: it is the first record of the chain but is now entry {pos}"
                ),
                Some(p) => match hashes.iter().position(|h| h == p) {
                    Some(j) => format!(
                        "out of order: it was chained after {} (now entry {}), but is entry \
                         {pos}, after {}",
                        label(j),
                        j + 1,
                        if i == 0 {
                            "nothing".to_string()
                        } else {
                            label(i - 1)
                        }
                    ),
                    None if i == 0 => format!(
                        "chain broken: it was chained after an entry ({}…) that is no longer \
                         in the ledger: the ledger lost its head",
                        short(p)
                    ),
                    None => format!(
                        "chain broken: it was chained after {} ({}…), which is no longer in \
                         the ledger: that entry was deleted, or entry {i} ({}) was edited",
                        e.previous_record.as_deref().map(name).unwrap_or("an entry"),
                        short(p),
                        label(i - 1)
                    ),
                },
            };
            report.find(&subject, problem);
            if let Some(prev) = &e.previous_record
                && !hashes
                    .iter()
                    .any(|h| Some(h.as_str()) == e.previous_entry_sha256.as_deref())
                && !entries.iter().flatten().any(|x| &x.record == prev)
            {
                report.find(
                    name(prev),
                    format!("deleted from the ledger: {subject} was chained after it"),
                );
            }
        } else {
            if e.seq != pos as u64 || e.first != (i == 0) {
                report.find(
                    &subject,
                    format!(
                        "its entry says seq {} (first: {}) but it is entry {pos}",
                        e.seq, e.first
                    ),
                );
            }
            let prev_record = i
                .checked_sub(1)
                .and_then(|j| entries[j].as_ref())
                .map(|p| p.sha256.as_str());
            if i > 0 && prev_record.is_some() && e.previous_sha256.as_deref() != prev_record {
                report.find(
                    &subject,
                    "its previous-record hash does not match the record before it",
                );
            }
        }
        if let Some(first) = seen.insert(e.record.clone(), pos) {
            report.find(
                &subject,
                format!("listed twice in the ledger (entries {first} and {pos})"),
            );
            continue;
        }
        if !safe_record_path(&e.record) {
            report.find(&subject, "the ledger names a path outside RUNBOOK/RUN_ID/");
            continue;
        }

        // The record.
        let bytes = match files::read_below(&root, &e.record, Cap::RECORD) {
            Ok(b) => b,
            Err(err) if err.is_not_found() => {
                report.find(&subject, "deleted: its evidence.json is missing");
                continue;
            }
            Err(err) if err.is_planted() => {
                report.find(&subject, format!("{err}: it was not read"));
                continue;
            }
            Err(err) => {
                report.find(&subject, format!("unreadable: {err}"));
                continue;
            }
        };
        let actual = sha256_hex(&bytes);
        if actual != e.sha256 {
            report.find(
                &subject,
                format!(
                    "edited: evidence.json's SHA-256 is {}…, the ledger recorded {}…",
                    short(&actual),
                    short(&e.sha256)
                ),
            );
        }

        // Its signature.
        let sig_rel = Path::new(&e.record).with_file_name(RECORD_SIGNATURE_FILE);
        let sig_text = match read_signature(&root, &sig_rel) {
            Ok(t) => t,
            Err(problem) => {
                report.find(&subject, problem);
                continue;
            }
        };
        match (&e.signature_sha256, &sig_text) {
            (Some(_), None) => report.find(&subject, "signature deleted"),
            (Some(h), Some(t)) if sha256_hex(t) != *h => report.find(
                &subject,
                "signature replaced: evidence.json.minisig is not the one chained",
            ),
            (None, Some(_)) => report.find(
                &subject,
                "signature added after the record was chained (the ledger has it unsigned)",
            ),
            (None, None) if key.is_some() => report.find(&subject, "not signed"),
            _ => {}
        }
        if let (Some(key), Some(t)) = (key, &sig_text) {
            let t = String::from_utf8_lossy(t);
            match key.verify(&bytes, &t) {
                Err(p @ SignatureProblem::OtherKey(_)) => report.find(&subject, p.to_string()),
                Err(SignatureProblem::Invalid) => report.find(
                    &subject,
                    "bad signature: it does not match evidence.json (record or signature edited)",
                ),
                Err(p) => report.find(&subject, format!("bad signature: {p}")),
                Ok(tc) => {
                    report.signatures_verified += 1;
                    let ours = ledger::record_comment(e);
                    if tc != ours {
                        let signed_seq = comment_value(&tc, "seq").unwrap_or("?");
                        report.find(
                            &subject,
                            format!(
                                "the ledger was rewritten around it: its signature places it \
                                 at seq {signed_seq} ({tc:?}), the ledger at entry {pos}"
                            ),
                        );
                    }
                }
            }
        }
    }

    // Records the ledger does not know.
    for r in &on_disk {
        if !seen.contains_key(r) {
            report.find(
                name(r),
                "not in the ledger: the ledger lost its tail, or the record was added outside \
                 lifeboat",
            );
        }
    }

    // The signed head.
    report.head = lines
        .len()
        .checked_sub(1)
        .map(|i| (i + 1, hashes[i].clone()));
    match read_signature(&root, Path::new(LEDGER_SIGNATURE_FILE)) {
        Ok(sig) => {
            let sig_text = sig.map(|b| String::from_utf8_lossy(&b).into_owned());
            check_head(&mut report, &lines, &hashes, sig_text.as_deref(), key);
        }
        Err(problem) => report.find(LEDGER_SIGNATURE_FILE, problem),
    }
    Ok(report)
}

/// A signature file's bytes; `None` when there is none; a finding's text when something is
/// there that cannot be read as one.
fn read_signature(root: &Dir, rel: &Path) -> Result<Option<Vec<u8>>, String> {
    match files::read_below(root, rel, Cap::SIGNATURE) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) if e.is_planted() => Err(format!("{e}: it was not read")),
        Err(e) => Err(format!("unreadable: {e}")),
    }
}

/// A read error that is the system's, not something planted, as the `io::Error` it is.
fn unplanted(e: ReadError) -> std::io::Error {
    match e {
        ReadError::Open(e) => e.into(),
        ReadError::Io { source, .. } => source,
        e @ ReadError::TooLarge { .. } => std::io::Error::other(e.to_string()),
    }
}

/// Checks the ledger's signature, which covers the first `entries` lines named in its
/// trusted comment: drills without a key append after it, and it must never name more entries
/// than the ledger holds.
fn check_head(
    report: &mut Report,
    lines: &[&[u8]],
    hashes: &[String],
    sig_text: Option<&str>,
    key: Option<&VerifyingKey>,
) {
    let m = lines.len();
    let Some(sig_text) = sig_text else {
        if key.is_some() {
            report.find(
                LEDGER_SIGNATURE_FILE,
                "missing: the ledger has no signed head, so a cut tail cannot be detected",
            );
        }
        return;
    };
    let sig = match Signature::parse(sig_text) {
        Ok(s) => s,
        Err(p) => {
            report.find(LEDGER_SIGNATURE_FILE, p.to_string());
            return;
        }
    };
    let tc = sig.trusted_comment.clone();
    let n: Option<usize> = comment_value(&tc, "entries").and_then(|v| v.parse().ok());
    let head = comment_value(&tc, "head").unwrap_or("");
    let last = comment_value(&tc, "last").map(name).unwrap_or("?");
    let Some(n) = n else {
        report.find(
            LEDGER_SIGNATURE_FILE,
            "its trusted comment names no entry count",
        );
        return;
    };
    let unauthenticated = if key.is_some() {
        ""
    } else {
        " (not authenticated: pass --public-key to check the signature)"
    };
    if n > m {
        let problem = if hashes.iter().any(|h| h == head) {
            "entries deleted"
        } else {
            "truncated"
        };
        report.find(
            LEDGER_FILE,
            format!(
                "{problem}: the signed head names {n} entries, the last being {last}, but the \
                 ledger holds {m}{unauthenticated}"
            ),
        );
        return;
    }
    if n == 0 || hashes[n - 1] != head {
        report.find(
            LEDGER_FILE,
            format!(
                "edited: entry {n} is not the signed head ({}…){unauthenticated}",
                short(head)
            ),
        );
    }
    let Some(key) = key else { return };
    let mut prefix = Vec::new();
    for l in &lines[..n] {
        prefix.extend_from_slice(l);
        prefix.push(b'\n');
    }
    match key.verify(&prefix, sig_text) {
        Ok(_) => {
            report.ledger_signed_entries = Some(n);
            for (i, line) in lines.iter().enumerate().skip(n) {
                let subject = serde_json::from_slice::<Entry>(line)
                    .map(|e| name(&e.record).to_string())
                    .unwrap_or_else(|_| format!("{LEDGER_FILE} line {}", i + 1));
                report.find(
                    subject,
                    format!(
                        "after the signed head (entry {n}): appended without a signing key, \
                         or the head was not re-signed"
                    ),
                );
            }
        }
        Err(p @ SignatureProblem::OtherKey(_)) => {
            report.find(LEDGER_SIGNATURE_FILE, format!("the ledger is {p}"))
        }
        Err(SignatureProblem::Invalid) => report.find(
            LEDGER_FILE,
            format!("edited: its first {n} entries do not match the ledger's signature"),
        ),
        Err(p) => report.find(LEDGER_SIGNATURE_FILE, p.to_string()),
    }
}
