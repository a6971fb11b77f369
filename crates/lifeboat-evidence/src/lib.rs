//! The evidence store: records on disk, `EVIDENCE_DIR/RUNBOOK/RUN_ID/evidence.json`, with the
//! human pages a [`Pages`] renderer makes beside it (`lifeboat-report`'s `report.md` and
//! `report.html`), each written atomically (a temporary file under a fresh random name,
//! fsynced, renamed into place, the folder fsynced), so a crash leaves the old file or the new
//! one, never half.
//!
//! Every record is also chained into the directory's ledger ([`ledger`]), and, with a key,
//! signed with minisign ([`sign`]); [`verify`] checks a directory against both. Only
//! `evidence.json` is chained and signed: it is the record. The pages are renderings of it
//! (`report.html` shows the SHA-256 of the `evidence.json` it was rendered from); an edited
//! page is not detected by `evidence verify`, so an auditor in doubt trusts the JSON.
//! [`period`] reads the records of a period for the report over many drills (`lifeboat
//! report`).
//!
//! The evidence folder may be shared with other accounts: everything this crate reads or
//! writes there goes through [`files`], which never follows a link planted below the folder,
//! never opens a FIFO or a device, and caps every read.
//!
//! This crate stores and reads records; it renders no page (the renderer is handed in, so the
//! store cannot depend on one) and knows nothing of storage or how drills run.

use std::io;
use std::path::{Path, PathBuf};

use lifeboat_core::evidence::Evidence;
/// Whether [`atomic_write_with`] may replace a file already there.
pub use lifeboat_safefs::Replace;
use lifeboat_safefs::{Dir, Kind, OpenError};

pub mod bucket;
pub mod files;
pub mod ledger;
pub mod period;
pub mod sign;
pub mod verify;

use files::{Cap, DIR_MODE, FILE_MODE};

/// The record's file name inside its run's folder.
pub const RECORD_FILE: &str = "evidence.json";

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write evidence to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot write evidence: {path} already exists, but a run's folder is made by that run \
         alone (was it planted by another account?)"
    )]
    RunFolderExists { path: PathBuf },
    #[error("cannot write evidence: the record is {bytes} bytes, over the {cap} limit for {}", cap.what)]
    RecordTooLarge { bytes: u64, cap: Cap },
    #[error("cannot encode the evidence record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot chain the record into the ledger {path}: {reason}")]
    Ledger { path: PathBuf, reason: String },
    #[error("cannot take the ledger's lock {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: files::LockError,
    },
    #[error(transparent)]
    Key(#[from] sign::KeyError),
    #[error(
        "cannot write the page {name:?} beside a record: a page is a plain file name other \
         than the record's and its signature's"
    )]
    PageName { name: String },
    /// The object store holding the evidence refused or failed (its text is scrubbed of
    /// credentials by the store's implementation).
    #[error("cannot write evidence to {url}: {reason}")]
    Bucket { url: String, reason: String },
    /// A create-only put found the name taken: nothing was overwritten.
    #[error(
        "cannot write evidence: {url} already exists, but a run's objects are created by that \
         run alone and never overwritten (was it planted?)"
    )]
    ObjectExists { url: String },
}

/// A human rendering written beside a record, such as `report.html`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The file name in the run's folder: not the record's or its signature's, no `/`, not
    /// starting with `.`.
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// What renders the pages written beside each record. The store hands it the record and the
/// SHA-256 of the exact `evidence.json` bytes it is about to write, so a page can show which
/// record it was rendered from.
pub trait Pages {
    fn pages(&self, evidence: &Evidence, record_sha256: &str) -> Vec<Page>;
}

/// No pages: the record alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPages;

impl Pages for NoPages {
    fn pages(&self, _: &Evidence, _: &str) -> Vec<Page> {
        Vec::new()
    }
}

impl EvidenceError {
    /// An error about `rel`, a path below the evidence folder `dir`.
    fn open(dir: &Path, rel: &str, e: OpenError) -> EvidenceError {
        let path = dir.join(rel);
        match e {
            OpenError::AlreadyExists { .. } => EvidenceError::RunFolderExists { path },
            e => EvidenceError::Write {
                path,
                source: e.into(),
            },
        }
    }
}

/// Writes `evidence.json` and the pages `pages` renders for one run, chains the record into
/// the evidence directory's ledger, and returns the path of `evidence.json`. Unsigned: see
/// [`write_signed_run`].
pub fn write_run(
    evidence_dir: &Path,
    evidence: &Evidence,
    pages: &dyn Pages,
) -> Result<PathBuf, EvidenceError> {
    write_signed_run(evidence_dir, evidence, pages, None)
}

/// [`write_run`], and with `key` also `evidence.json.minisig` beside the record (trusted
/// comment: run id, runbook, outcome and the record's place in the chain) and a fresh
/// signature of the ledger.
///
/// All of it happens under the ledger's lock, taken first: a lock or ledger that is not a
/// regular file stops the write before anything is written. The run's folder is made new
/// (one already there was not made by this run); the JSON is written after the pages, and
/// chained last, so a record in the ledger is fully written.
pub fn write_signed_run(
    evidence_dir: &Path,
    evidence: &Evidence,
    pages: &dyn Pages,
    key: Option<&sign::SigningKey>,
) -> Result<PathBuf, EvidenceError> {
    let (json, pages) = encode_run(evidence, pages)?;
    write_encoded(evidence_dir, evidence, &json, &pages, key)
}

/// The record's bytes as written (`evidence.json`) and its pages, named as a run's folder
/// allows; rendered before anything is written, so a renderer that names a page wrongly
/// writes nothing. Shared by the folder and the bucket writers.
pub(crate) fn encode_run(
    evidence: &Evidence,
    pages: &dyn Pages,
) -> Result<(Vec<u8>, Vec<Page>), EvidenceError> {
    // Names from the backup stay exact, and `cat evidence.json` stays as safe as lifeboat's
    // own output: the C1 and bidi controls JSON leaves raw are written as \u escapes.
    let json = serde_json::to_string_pretty(evidence)?;
    let mut json = lifeboat_core::text::harden_json(&json)
        .into_owned()
        .into_bytes();
    json.push(b'\n');
    if json.len() as u64 > Cap::RECORD.bytes {
        return Err(EvidenceError::RecordTooLarge {
            bytes: json.len() as u64,
            cap: Cap::RECORD,
        });
    }
    let pages = pages.pages(evidence, &ledger::sha256_hex(&json));
    let mut names = vec![RECORD_FILE, ledger::RECORD_SIGNATURE_FILE];
    for page in &pages {
        let n = page.name;
        if n.is_empty() || n.starts_with('.') || n.contains('/') || names.contains(&n) {
            return Err(EvidenceError::PageName { name: n.into() });
        }
        names.push(n);
    }
    Ok((json, pages))
}

fn write_encoded(
    evidence_dir: &Path,
    evidence: &Evidence,
    json: &[u8],
    pages: &[Page],
    key: Option<&sign::SigningKey>,
) -> Result<PathBuf, EvidenceError> {
    let write = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Write { path, source }
    };
    // The folder itself is the operator's choice: made if missing, links to it followed.
    std::fs::create_dir_all(evidence_dir).map_err(write(evidence_dir))?;
    let root = Dir::open(evidence_dir).map_err(write(evidence_dir))?;
    let chain = ledger::Chain::lock(&root)?;

    let runbook = evidence.runbook.name.as_str();
    let run_rel = format!("{runbook}/{}", evidence.run_id);
    let runbook_dir = root
        .create_dir(runbook, DIR_MODE)
        .map_err(|e| EvidenceError::open(evidence_dir, runbook, e))?;
    let run = root
        .create_dir_new(&run_rel, DIR_MODE)
        .map_err(|e| EvidenceError::open(evidence_dir, &run_rel, e))?;
    let (entry, signature) =
        chain.entry(&format!("{run_rel}/{RECORD_FILE}"), json, evidence, key)?;
    // The pages, the record and its signature, each whole, flushed together, then the run's
    // folder; then the folder's own name in the runbook's folder, so the ledger never names
    // a record a crash could lose with its folder. The runbook's folder's name is flushed
    // with the ledger's, in the same folder.
    let mut files: Vec<(&str, &[u8])> = pages.iter().map(|p| (p.name, &p.bytes[..])).collect();
    files.push((RECORD_FILE, json));
    if let Some(sig) = &signature {
        files.push((ledger::RECORD_SIGNATURE_FILE, sig.as_bytes()));
    }
    files::write_together(&run, &files, Replace::Never)?;
    runbook_dir
        .sync()
        .map_err(write(&evidence_dir.join(runbook)))?;
    chain.append(&entry, key)?;
    Ok(evidence.record_path(evidence_dir))
}

/// Checks, before a drill runs, that its evidence can be recorded in `evidence_dir`: nothing
/// but a regular file where the lock and the ledger belong (and a ledger under its cap), and
/// nothing but a folder where the runbook's folder belongs. [`write_signed_run`] checks all of
/// it again (something may be planted meanwhile); this spares running a drill, and whatever
/// its steps do, when its evidence could not be recorded. A missing folder is fine.
pub fn check_dir(evidence_dir: &Path, runbook: &str) -> Result<(), EvidenceError> {
    let root = match Dir::open(evidence_dir) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(EvidenceError::Write {
                path: evidence_dir.to_path_buf(),
                source,
            });
        }
    };
    let expected = [
        (ledger::LOCK_FILE, Kind::File),
        (ledger::LEDGER_FILE, Kind::File),
        (runbook, Kind::Dir),
    ];
    for (name, expected) in expected {
        let info = match root.stat(name) {
            Ok(info) => info,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(EvidenceError::open(evidence_dir, name, e)),
        };
        if info.kind != expected {
            let e = OpenError::WrongKind {
                path: name.to_string(),
                kind: info.kind,
                expected,
            };
            return Err(EvidenceError::open(evidence_dir, name, e));
        }
        if name == ledger::LEDGER_FILE && info.size > Cap::LEDGER.bytes {
            return Err(EvidenceError::Ledger {
                path: evidence_dir.join(name),
                reason: files::ReadError::TooLarge {
                    path: name.to_string(),
                    cap: Cap::LEDGER,
                }
                .to_string(),
            });
        }
    }
    Ok(())
}

/// How much of an evidence folder's ledger is signed: what a drill without a key would
/// break (`evidence verify --public-key` names an unsigned record after signed ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerSigning {
    /// The ledger's entries.
    pub entries: usize,
    /// Entries whose record was signed.
    pub signed: usize,
    /// Whether the ledger's own signature, the signed head, is there (a regular file).
    pub head: bool,
}

impl LedgerSigning {
    /// Whether anything in the folder is signed.
    pub fn any(&self) -> bool {
        self.signed > 0 || self.head
    }
}

/// Whether a ledger line says its record was signed: it is JSON with a `signature_sha256`
/// that is not null. Only that field is read, the others skipped, not decoded (a ledger grows
/// by a line a drill); a line that is not JSON, or not an entry, is not signed unless it
/// says so (`evidence verify` names a line that is not a ledger entry). The one reading for
/// a folder's ledger and a bucket's ([`bucket::ledger_signing`]), so that both count alike.
pub(crate) fn signed_line(line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Signed {
        signature_sha256: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Signed>(line).is_ok_and(|e| e.signature_sha256.is_some())
}

/// Reads how much of `evidence_dir`'s ledger is signed, through the capped reads every file
/// there goes through ([`files`]): a link, FIFO, device or oversized file in the ledger's
/// place is an error naming it, never followed, waited on or read. A missing folder or ledger
/// is an empty one; a line that is not JSON, or has no `signature_sha256`, counts as an
/// unsigned entry (`evidence verify` names a line that is not a ledger entry).
pub fn ledger_signing(evidence_dir: &Path) -> Result<LedgerSigning, EvidenceError> {
    let root = match Dir::open(evidence_dir) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LedgerSigning::default()),
        Err(source) => {
            return Err(EvidenceError::Write {
                path: evidence_dir.to_path_buf(),
                source,
            });
        }
    };
    let ledger = match files::read_below(&root, ledger::LEDGER_FILE, Cap::LEDGER) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            return Err(EvidenceError::Ledger {
                path: evidence_dir.join(ledger::LEDGER_FILE),
                reason: e.to_string(),
            });
        }
    };
    let (mut entries, mut signed) = (0, 0);
    for line in ledger::lines(&ledger) {
        entries += 1;
        signed += usize::from(signed_line(line));
    }
    let head = root
        .stat(ledger::LEDGER_SIGNATURE_FILE)
        .is_ok_and(|info| info.kind == Kind::File);
    Ok(LedgerSigning {
        entries,
        signed,
        head,
    })
}

/// The runbooks `evidence_dir` holds records of: the names of its folders that hold a run's
/// `evidence.json` (a drill writes `RUNBOOK/RUN_ID/evidence.json`), sorted. Nothing below the
/// folder is followed or opened; the names are whatever the folder holds (another account may
/// have planted one), to be escaped where they are shown. A missing folder holds none.
pub fn runbooks_with_records(
    evidence_dir: &Path,
) -> io::Result<std::collections::BTreeSet<String>> {
    let root = match Dir::open(evidence_dir) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e),
    };
    Ok(ledger::records_on_disk(&root)?
        .into_iter()
        .filter_map(|rel| rel.split_once('/').map(|(runbook, _)| runbook.to_owned()))
        .collect())
}

/// Replaces the file at `path` (a path the operator gave, such as `report --out`) with `bytes`
/// atomically: [`atomic_write_with`], mode 0644, replacing what is there.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    atomic_write_with(path, bytes, FILE_MODE, Replace::Allow)
}

/// Writes `bytes` to `path` atomically through [`Dir::write_atomic`] on its folder: a
/// temporary file under a fresh random name, created `O_EXCL | O_NOFOLLOW` with `mode`,
/// fsynced, renamed into place (with [`Replace::Never`], only if nothing is there), the folder
/// fsynced. Nothing planted at a temporary name is written through.
pub fn atomic_write_with(path: &Path, bytes: &[u8], mode: u32, replace: Replace) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    Dir::open(dir)?.write_atomic(name, bytes, mode, replace)
}

#[cfg(test)]
mod tests {
    use std::fs;

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
    fn check_dir_names_what_is_planted_and_accepts_a_fresh_or_used_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let ev = tmp.path().join("evidence");
        check_dir(&ev, "rb").unwrap();
        fs::create_dir(&ev).unwrap();
        fs::create_dir(ev.join("rb")).unwrap();
        fs::write(ev.join("ledger.jsonl"), b"").unwrap();
        fs::write(ev.join("ledger.lock"), b"").unwrap();
        check_dir(&ev, "rb").unwrap();
        fs::remove_file(ev.join("ledger.lock")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), ev.join("ledger.lock")).unwrap();
        let e = check_dir(&ev, "rb").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("ledger.lock: ledger.lock is a symbolic link, not a regular file"),
            "{e}"
        );
        fs::remove_file(ev.join("ledger.lock")).unwrap();
        fs::remove_dir(ev.join("rb")).unwrap();
        fs::write(ev.join("rb"), b"").unwrap();
        let e = check_dir(&ev, "rb").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("rb is a regular file, not a directory"),
            "{e}"
        );
    }

    #[test]
    fn the_last_line_found_from_the_end_is_the_last_of_the_lines() {
        for bytes in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"a\nb\n",
            b"a\n\n",
            b"\n\nlast\n",
        ] {
            assert_eq!(
                ledger::last_line(bytes),
                ledger::lines(bytes).last().copied(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn ledger_signing_counts_signed_entries_and_the_head_without_following_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let ev = tmp.path().join("evidence");
        assert_eq!(ledger_signing(&ev).unwrap(), LedgerSigning::default());
        write_run(&ev, &record(), &NoPages).unwrap();
        let unsigned = ledger_signing(&ev).unwrap();
        assert_eq!(
            unsigned,
            LedgerSigning {
                entries: 1,
                signed: 0,
                head: false
            }
        );
        assert!(!unsigned.any());
        // The signed head alone says the folder is signed.
        fs::write(ev.join("ledger.jsonl.minisig"), b"x").unwrap();
        assert!(ledger_signing(&ev).unwrap().any());
        fs::remove_file(ev.join("ledger.jsonl.minisig")).unwrap();
        // An entry with a signature, beside a line that is no entry.
        let mut ledger = fs::read_to_string(ev.join("ledger.jsonl")).unwrap();
        let signed = ledger.replace("\"signature_sha256\":null", "\"signature_sha256\":\"00\"");
        ledger.push_str("not an entry\n");
        ledger.push_str(&signed);
        fs::write(ev.join("ledger.jsonl"), ledger).unwrap();
        let s = ledger_signing(&ev).unwrap();
        assert_eq!((s.entries, s.signed, s.head), (3, 1, false));
        // A ledger planted as a link or a FIFO is named, not followed or opened.
        fs::remove_file(ev.join("ledger.jsonl")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), ev.join("ledger.jsonl")).unwrap();
        let e = ledger_signing(&ev).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        fs::remove_file(ev.join("ledger.jsonl")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(ev.join("ledger.jsonl"))
            .status()
            .unwrap();
        assert!(made.success());
        let e = ledger_signing(&ev).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn the_runbooks_with_records_are_the_folders_holding_one() {
        let tmp = tempfile::tempdir().unwrap();
        let ev = tmp.path().join("evidence");
        assert!(runbooks_with_records(&ev).unwrap().is_empty());
        write_run(&ev, &record(), &NoPages).unwrap();
        fs::create_dir_all(ev.join("empty/run")).unwrap();
        fs::create_dir_all(ev.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(ev.join("drill-test"), ev.join("linked")).unwrap();
        let names: Vec<String> = runbooks_with_records(&ev).unwrap().into_iter().collect();
        assert_eq!(names, ["drill-test"]);
    }

    /// Renders the pages it was made with, whatever the record.
    struct Fixed(Vec<&'static str>);

    impl Pages for Fixed {
        fn pages(&self, _: &Evidence, sha: &str) -> Vec<Page> {
            self.0
                .iter()
                .map(|&name| Page {
                    name,
                    bytes: sha.as_bytes().to_vec(),
                })
                .collect()
        }
    }

    fn record() -> Evidence {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "run_id": "20261122T020000Z-abcdef",
            "runbook": { "name": "drill-test", "sha256": "00", "path": "rb.yaml" },
            "lifeboat_version": "0.1.0", "host": null, "mode": "automatic", "verify_only": false,
            "t0": "2026-11-22T02:00:00Z", "started_at": "2026-11-22T02:00:00Z",
            "finished_at": "2026-11-22T02:00:01Z", "outcome": "passed", "reason": null,
            "source": { "url": "file:///b" }, "objectives": { "rto_seconds": null, "rpo_seconds": null },
            "measured": {}, "sample": { "seed": 1, "files": null, "percent": null, "all": true },
            "recovery_points": [], "scratch": { "path": "/tmp/s", "kept": false }
        }))
        .unwrap()
    }

    #[test]
    fn pages_are_written_beside_the_record_and_know_its_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let ev = record();
        let path = write_run(tmp.path(), &ev, &Fixed(vec!["a.md", "b.html"])).unwrap();
        let json = fs::read(&path).unwrap();
        let sha = ledger::sha256_hex(&json);
        for page in ["a.md", "b.html"] {
            assert_eq!(fs::read_to_string(path.with_file_name(page)).unwrap(), sha);
        }
    }

    #[test]
    fn a_page_cannot_take_the_record_s_place_or_leave_the_run_s_folder() {
        for bad in [
            "evidence.json",
            "evidence.json.minisig",
            "../x",
            "a/b",
            ".hidden",
            "",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let e = write_run(tmp.path(), &record(), &Fixed(vec![bad])).unwrap_err();
            assert!(matches!(e, EvidenceError::PageName { .. }), "{bad:?}: {e}");
            // Nothing was written: no run folder, no ledger entry.
            assert!(!tmp.path().join("drill-test").exists(), "{bad:?}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let twice = Fixed(vec!["r.md", "r.md"]);
        assert!(write_run(tmp.path(), &record(), &twice).is_err());
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
