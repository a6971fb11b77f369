//! `lifeboat evidence verify`, loading the `--signing-key` of `drill` and `schedule`, and
//! opening an `--evidence-dir` that is an object store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lifeboat_app::SIGNING_KEY_ENV;
use lifeboat_app::evidence_bucket::{self, EvidenceBucket};
use lifeboat_evidence::bucket::BucketVerifyError;
use lifeboat_evidence::sign::{KeyError, Password, SigningKey, VerifyingKey};
use lifeboat_evidence::verify::{self, VerifyError};

use crate::cli::VerifyArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

/// A `--signing-key` (else the file `$LIFEBOAT_SIGNING_KEY` names, when set and not empty),
/// decrypted with the password from `--key-password-env`'s variable.
pub fn signing_key(
    path: Option<&Path>,
    password_env: &str,
) -> Result<Option<SigningKey>, KeyError> {
    let from_env = std::env::var_os(SIGNING_KEY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let Some(path) = path.or(from_env.as_deref()) else {
        return Ok(None);
    };
    SigningKey::load(path, &Password::from_env(password_env)).map(Some)
}

/// The object store `--evidence-dir` names (`s3://…`, `az://…`), opened with the
/// environment's credentials; `None` for a folder. `--evidence-retention` with a folder is
/// refused: a folder has no object lock to put records under.
pub fn evidence_bucket(
    dir: &Path,
    retention: Option<Duration>,
) -> Result<Option<Arc<EvidenceBucket>>, CliError> {
    let url = dir.to_str().filter(|d| evidence_bucket::is_store_url(d));
    let Some(url) = url else {
        if retention.is_some() {
            return Err(CliError::invalid_input(format_args!(
                "--evidence-retention puts records under S3 object lock, but --evidence-dir {} \
                 is a folder: give an s3://BUCKET/PREFIX whose bucket has object lock enabled, \
                 or leave --evidence-retention out; nothing was run",
                dir.display()
            )));
        }
        return Ok(None);
    };
    match EvidenceBucket::open(url, retention) {
        Ok(b) => Ok(Some(Arc::new(b))),
        Err(e) if e.is_invalid_input() => Err(CliError::invalid_input(format_args!(
            "--evidence-dir: {e}; nothing was run"
        ))),
        Err(e) => Err(CliError::could_not_complete(format_args!(
            "--evidence-dir: {e}; nothing was run"
        ))),
    }
}

pub fn verify(args: VerifyArgs) -> Result<Exit, CliError> {
    let key = args
        .public_key
        .as_deref()
        .map(VerifyingKey::load)
        .transpose()
        .map_err(CliError::invalid_input)?;
    let report = match evidence_bucket(&args.dir, None)? {
        Some(bucket) => {
            lifeboat_evidence::bucket::verify(&*bucket, key.as_ref()).map_err(|e| match e {
                BucketVerifyError::NotEvidence { .. } => CliError::invalid_input(e),
                e => CliError::could_not_complete(e),
            })?
        }
        None => verify::verify_dir(&args.dir, key.as_ref()).map_err(|e| match e {
            VerifyError::NotADirectory { .. } | VerifyError::NotEvidence { .. } => {
                CliError::invalid_input(e)
            }
            e => CliError::could_not_complete(e),
        })?,
    };
    // A finding names a record folder, which anyone able to write the evidence folder chose.
    for f in &report.findings {
        outln!("{}", lifeboat_core::text::Escaped(&f.to_string()));
    }
    let head = report
        .head
        .as_ref()
        .map(|(n, h)| format!("head: entry {n}, sha256 {h}"))
        .unwrap_or_else(|| "head: none (empty ledger)".into());
    let signatures = match &key {
        Some(k) => format!(
            "{} record signatures and the ledger's checked with key {}",
            report.signatures_verified,
            k.key_id()
        ),
        None => "signatures NOT checked (no --public-key): only hashes, which anyone able to \
                 write the folder can recompute"
            .into(),
    };
    if report.intact() {
        outln!(
            "INTACT  {} records, chain unbroken; {signatures}; {head}",
            report.entries
        );
        Ok(Exit::Ok)
    } else {
        outln!(
            "NOT INTACT  {} problem(s) in {} ({} ledger entries); {signatures}; {head}",
            report.findings.len(),
            args.dir.display(),
            report.entries
        );
        Ok(Exit::DrillFailed)
    }
}
