//! A runbook file: read, capped, hashed and parsed into the validated [`Runbook`] everything
//! after it trusts.
//!
//! The path is the operator's, so links are followed; but what they lead to must be a regular
//! file (`lifeboat_safefs::open_regular`): a FIFO or a device in a runbook folder is refused
//! at once instead of blocking `validate`, a drill or the daemon's reload (SECURITY.md,
//! class 2). One byte past [`MAX_RUNBOOK_BYTES`] is read, so the parser refuses an oversized
//! file with its size without anything loading it whole.

use std::io::Read;
use std::path::Path;

use lifeboat_core::runbook::{Lint, MAX_RUNBOOK_BYTES, Runbook, RunbookError};
use sha2::Digest;

/// A validated runbook and the facts about its file the evidence records.
#[derive(Clone, Debug)]
pub struct RunbookFile {
    pub runbook: Runbook,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The path as the user gave it.
    pub path: String,
}

/// Why a runbook file could not be used. The message is ready to print: one
/// `FILE:LINE:COLUMN: message` line per problem.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}:1:1: cannot read the runbook: {source}")]
    Read {
        /// The path as the user gave it.
        path: String,
        #[source]
        source: ReadError,
    },
    #[error(transparent)]
    Invalid(#[from] RunbookError),
}

/// Why a runbook file's bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A FIFO, a device, a folder…: never opened for reading.
    #[error("it is {0}, not a regular file")]
    NotARegularFile(lifeboat_safefs::Kind),
    #[error(transparent)]
    Open(lifeboat_safefs::OpenError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl RunbookFile {
    /// The path the evidence records: the one given, made absolute from the working folder
    /// (lexically: links are kept as the operator named them), so the record's reproduce
    /// line (`lifeboat drill PATH --seed N --now T0`) runs from any folder. As given when
    /// the working folder cannot be read.
    pub fn recorded_path(&self) -> String {
        std::path::absolute(&self.path)
            .map_or_else(|_| self.path.clone(), |p| p.display().to_string())
    }

    /// Reads and validates the runbook at `path`; `${VAR}` in it reads the environment.
    pub fn load(path: &Path) -> Result<RunbookFile, LoadError> {
        let (shown, bytes) = read_shown(path)?;
        let runbook = lifeboat_core::runbook::parse_bytes(&bytes, &shown, &process_env)?;
        Ok(RunbookFile {
            runbook,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            path: shown,
        })
    }
}

/// Reads and lints the runbook at `path` (`lifeboat validate`, `lifeboat status`): as
/// [`RunbookFile::load`], but a `${VAR}` naming a variable the environment lacks is set apart
/// ([`Lint::unset`]) rather than making the runbook invalid. `Err` only when the file cannot
/// be read.
pub fn lint(path: &Path) -> Result<Lint, LoadError> {
    let (shown, bytes) = read_shown(path)?;
    Ok(lifeboat_core::runbook::lint_bytes(
        &bytes,
        &shown,
        &process_env,
    ))
}

/// The file at `path` as messages name it, and its bytes ([`read_bytes`]).
fn read_shown(path: &Path) -> Result<(String, Vec<u8>), LoadError> {
    let shown = path.display().to_string();
    let bytes = read_bytes(path).map_err(|source| LoadError::Read {
        path: shown.clone(),
        source,
    })?;
    Ok((shown, bytes))
}

/// `${VAR}` in a runbook reads the process's environment.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A runbook file's bytes, for [`RunbookFile::load`] and the daemon's change detection alike:
/// a regular file only, and at most one byte past [`MAX_RUNBOOK_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = lifeboat_safefs::open_regular(path).map_err(|e| match e {
        lifeboat_safefs::OpenError::WrongKind { kind, .. } => ReadError::NotARegularFile(kind),
        e => ReadError::Open(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_RUNBOOK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "version: 1\nname: unit\nsource:\n  url: file:///nonexistent/backups\nmanifest:\n  path: SHA256SUMS\n";

    #[test]
    fn a_runbook_is_parsed_and_hashed_as_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unit.yaml");
        std::fs::write(&path, VALID).unwrap();
        let file = RunbookFile::load(&path).unwrap();
        assert_eq!(file.runbook.name, "unit");
        assert_eq!(file.path, path.display().to_string());
        assert_eq!(
            file.sha256,
            hex::encode(sha2::Sha256::digest(VALID.as_bytes()))
        );
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runbook.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let err = RunbookFile::load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}:1:1: cannot read the runbook: it is a FIFO (named pipe), not a regular file",
                path.display()
            )
        );
    }

    #[test]
    fn at_most_one_byte_past_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'#'; MAX_RUNBOOK_BYTES + 4096]).unwrap();
        assert_eq!(read_bytes(&path).unwrap().len(), MAX_RUNBOOK_BYTES + 1);
        assert!(matches!(
            RunbookFile::load(&path),
            Err(LoadError::Invalid(_))
        ));
    }

    #[test]
    fn a_missing_file_says_so_at_line_one() {
        let err = RunbookFile::load(Path::new("/nonexistent/r.yaml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/r.yaml:1:1: cannot read the runbook: "),
            "{err}"
        );
    }
}
