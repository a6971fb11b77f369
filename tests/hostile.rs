//! The threat model's tests, in one place (SECURITY.md): what a hostile backup, a planted
//! file in the evidence folder or a hostile name must never make lifeboat do. Each module is
//! one class of SECURITY.md; a new source format or evidence store adds its cases here.

mod coverage;
mod daemon;
mod evidence_bucket;
mod evidence_dir;
mod local_source;
mod manifest_cmd;
mod names;
mod output;
mod pg_manifest;
mod props;
mod restic;
mod scratch;
mod shell;

/// `mkfifo PATH`: a FIFO, the file that blocks whoever opens it for reading.
pub fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}
