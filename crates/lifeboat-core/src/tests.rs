//! The crate's own layering, checked on its source: the shared vocabulary depends on nothing
//! else in the crate, the runbook and the evidence record never reach into each other, and
//! inside the runbook module each part depends only on the parts before it, so no file cycle
//! can creep back between them.

use std::path::{Path, PathBuf};

/// Every `.rs` file at or below `rel` (a file or a folder under `src/`), with its text.
fn sources(rel: &str) -> Vec<(PathBuf, String)> {
    fn walk(path: &Path, out: &mut Vec<(PathBuf, String)>) {
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for e in entries {
                walk(&e, out);
            }
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push((path.to_owned(), std::fs::read_to_string(path).unwrap()));
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel),
        &mut out,
    );
    assert!(!out.is_empty(), "no source at src/{rel}");
    out
}

/// The first code line (not a comment: doc links may name any module) in the files at or
/// below `rel` that names one of `paths`.
fn first_use(rel: &str, paths: &[&str]) -> Option<String> {
    sources(rel).into_iter().find_map(|(file, src)| {
        src.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .find(|l| paths.iter().any(|p| l.contains(p)))
            .map(|l| format!("{}: {}", file.display(), l.trim()))
    })
}

#[test]
fn the_vocabulary_depends_on_nothing_in_the_crate() {
    assert_eq!(first_use("vocabulary.rs", &["crate::", "super::"]), None);
}

#[test]
fn the_evidence_record_does_not_use_the_runbook() {
    assert_eq!(first_use("evidence.rs", &["runbook::"]), None);
}

#[test]
fn the_runbook_does_not_use_the_evidence_record() {
    assert_eq!(first_use("runbook.rs", &["evidence::"]), None);
    assert_eq!(first_use("runbook", &["evidence::"]), None);
}

#[test]
fn each_part_of_the_runbook_module_depends_only_on_the_parts_before_it() {
    // problem → model → raw → validate; `runbook.rs` wires them together.
    assert_eq!(
        first_use("runbook/problem.rs", &["crate::", "super::"]),
        None
    );
    assert_eq!(first_use("runbook/model.rs", &["raw::", "validate"]), None);
    assert_eq!(first_use("runbook/raw.rs", &["model::", "validate"]), None);
    assert_eq!(first_use("runbook/raw", &["model::", "validate"]), None);
}
