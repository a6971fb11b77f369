//! Reading runbook files, and `lifeboat validate`.

use std::io::Read;
use std::path::Path;

use lifeboat_core::runbook::{MAX_RUNBOOK_BYTES, Runbook, RunbookError};
use sha2::Digest;

use crate::cli::ValidateArgs;
use crate::exit_codes;

/// A validated runbook and the facts about its file the evidence records.
pub struct Loaded {
    pub runbook: Runbook,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The path as the user gave it.
    pub path: String,
}

/// Reads and validates a runbook. The error is ready to print: one `FILE:LINE:COLUMN: message`
/// line per problem.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let shown = path.display().to_string();
    let bytes =
        read_runbook(path).map_err(|e| format!("{shown}:1:1: cannot read the runbook: {e}"))?;
    let env = |name: &str| std::env::var(name).ok();
    match lifeboat_core::runbook::parse_bytes(&bytes, &shown, &env) {
        Ok(runbook) => Ok(Loaded {
            runbook,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            path: shown,
        }),
        Err(RunbookError { file, problems }) => Err(RunbookError { file, problems }.to_string()),
    }
}

/// A runbook file's bytes, for [`load`] and the daemon's change detection alike. Links are
/// followed (the path is the operator's), but what they lead to must be a regular file: a
/// FIFO or a device in a runbook folder is refused at once instead of blocking the daemon.
/// One byte past [`MAX_RUNBOOK_BYTES`] is read, so the parser refuses an oversized file
/// with its size without anything loading it whole.
pub fn read_runbook(path: &Path) -> Result<Vec<u8>, String> {
    let file = lifeboat_safefs::open_regular(path).map_err(|e| match e {
        lifeboat_safefs::OpenError::WrongKind { kind, .. } => {
            format!("it is {kind}, not a regular file")
        }
        e => e.to_string(),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_RUNBOOK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// `lifeboat validate RUNBOOK...`: every problem of every file, then exit 0 or 2.
pub fn validate(args: ValidateArgs) -> u8 {
    let mut code = exit_codes::OK;
    for path in &args.runbooks {
        match load(path) {
            Ok(l) => {
                outln!("{}: ok ({})", l.path, l.runbook.name);
                for (key, line, column) in lifeboat_runner::approvals_needing_operator(&l.runbook) {
                    errln!(
                        "{}:{line}:{column}: note: {key} has no `unattended` setting: only a manual \
                         drill (--interactive --operator NAME) can run this runbook",
                        l.path
                    );
                }
            }
            Err(e) => {
                errln!("{e}");
                code = exit_codes::INVALID_INPUT;
            }
        }
    }
    code
}
