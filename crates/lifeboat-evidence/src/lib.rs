//! Evidence records on disk: `EVIDENCE_DIR/RUNBOOK/RUN_ID/evidence.json` and two human
//! renderings beside it, `report.md` ([`markdown`]) and `report.html` ([`html`]), each written
//! atomically (write a temporary file, fsync it, rename it into place, fsync the folder), so a
//! crash leaves the old file or the new one, never half.
//!
//! Every record is also chained into the directory's ledger ([`ledger`]), and, with a key,
//! signed with minisign ([`sign`]); [`verify`] checks a directory against both. Only
//! `evidence.json` is chained and signed: it is the record. The reports are renderings of it
//! (`report.html` shows the SHA-256 of the `evidence.json` it was rendered from); an edited
//! report is not detected by `evidence verify`, so an auditor in doubt trusts the JSON.
//! [`period`] builds the report over many records (`lifeboat report`).
//!
//! This crate formats and stores records; it knows nothing of storage or how drills run.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use lifeboat_core::evidence::Evidence;

pub mod html;
pub mod ledger;
pub mod markdown;
pub mod period;
pub mod sign;
pub mod verify;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write evidence to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot encode the evidence record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot chain the record into the ledger {path}: {reason}")]
    Ledger { path: PathBuf, reason: String },
    #[error(transparent)]
    Key(#[from] sign::KeyError),
}

/// Writes `evidence.json` and `report.md` for one run, chains the record into the evidence
/// directory's ledger, and returns the path of `evidence.json`. Unsigned: see
/// [`write_signed_run`].
pub fn write_run(evidence_dir: &Path, evidence: &Evidence) -> Result<PathBuf, EvidenceError> {
    write_signed_run(evidence_dir, evidence, None)
}

/// [`write_run`], and with `key` also `evidence.json.minisig` beside the record (trusted
/// comment: run id, runbook, outcome and the record's place in the chain) and a fresh
/// signature of the ledger. The JSON is written after `report.md` and `report.html`, and
/// chained last, so a record in the ledger is fully written.
pub fn write_signed_run(
    evidence_dir: &Path,
    evidence: &Evidence,
    key: Option<&sign::SigningKey>,
) -> Result<PathBuf, EvidenceError> {
    let dir = evidence.run_dir(evidence_dir);
    let wrap = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Write { path, source }
    };
    fs::create_dir_all(&dir).map_err(wrap(&dir))?;
    let mut json = serde_json::to_vec_pretty(evidence)?;
    json.push(b'\n');
    let report = dir.join("report.md");
    atomic_write(&report, markdown::render(evidence).as_bytes()).map_err(wrap(&report))?;
    let html = dir.join("report.html");
    let page = html::render_run(evidence, Some(&ledger::sha256_hex(&json)));
    atomic_write(&html, page.as_bytes()).map_err(wrap(&html))?;
    let path = evidence.record_path(evidence_dir);
    atomic_write(&path, &json).map_err(wrap(&path))?;
    ledger::append(evidence_dir, &path, evidence, key)?;
    Ok(path)
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same folder is written and
/// fsynced, renamed over `path`, and the folder is fsynced so the rename itself is durable.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads one `evidence.json`.
pub fn read_run(path: &Path) -> Result<Evidence, EvidenceError> {
    let bytes = fs::read(path).map_err(|source| EvidenceError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(serde_json::from_slice(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evidence.json");
        atomic_write(&p, b"old").unwrap();
        atomic_write(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("evidence.json")]);
    }

    #[test]
    fn failed_atomic_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evidence.json");
        atomic_write(&p, b"old").unwrap();
        // Renaming a file over a non-empty folder fails: the old content must survive.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(atomic_write(&blocked, b"new").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(blocked.join("x").exists());
    }
}
