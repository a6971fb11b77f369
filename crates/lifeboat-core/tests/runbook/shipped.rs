//! Every runbook the project ships parses without a single problem, so an example can never
//! drift out of date with the format it documents.

use std::path::{Path, PathBuf};

use lifeboat_core::runbook;

/// Any `${VAR}` in a shipped runbook stands for the reader's own secret; a shipped runbook
/// must validate whatever its value.
fn any_variable(_: &str) -> Option<String> {
    Some("dummy-value".to_owned())
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn check_all(files: &[PathBuf]) {
    let root = repo_root();
    let mut failures = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        if let Err(e) = runbook::parse_bytes(&bytes, &shown, &any_variable) {
            failures.push(e.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "shipped runbooks with problems:\n{}",
        failures.join("\n")
    );
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn runbooks_folder_parses() {
    let dir = repo_root().join("runbooks");
    let files = yaml_files(&dir);
    assert!(!files.is_empty(), "no runbooks under {}", dir.display());
    check_all(&files);
}

#[test]
fn examples_folder_parses() {
    let dir = repo_root().join("examples");
    if !dir.is_dir() {
        return; // examples/ is optional; runbooks/ is not.
    }
    check_all(&yaml_files(&dir));
}
