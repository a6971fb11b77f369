//! The crate's own layering, checked on its source: the shared vocabulary depends on nothing
//! else in the crate, and the runbook model and the evidence record never reach into each
//! other, so no file cycle can creep back between them.

/// The lines of `src` that are code, not comments: doc links may name any module.
fn code(src: &str) -> impl Iterator<Item = &str> {
    src.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// Whether any code line of `src` names one of `paths`.
fn names(src: &str, paths: &[&str]) -> Option<String> {
    code(src)
        .find(|l| paths.iter().any(|p| l.contains(p)))
        .map(str::to_owned)
}

#[test]
fn the_vocabulary_depends_on_nothing_in_the_crate() {
    let src = include_str!("vocabulary.rs");
    assert_eq!(names(src, &["crate::", "super::"]), None);
}

#[test]
fn the_evidence_record_does_not_use_the_runbook_model() {
    let src = include_str!("evidence.rs");
    assert_eq!(names(src, &["crate::runbook", "runbook::"]), None);
}

#[test]
fn the_runbook_model_does_not_use_the_evidence_record() {
    for (file, src) in [
        ("runbook.rs", include_str!("runbook.rs")),
        ("runbook/model.rs", include_str!("runbook/model.rs")),
        ("runbook/problem.rs", include_str!("runbook/problem.rs")),
        ("runbook/raw.rs", include_str!("runbook/raw.rs")),
        ("runbook/validate.rs", include_str!("runbook/validate.rs")),
    ] {
        assert_eq!(
            names(src, &["crate::evidence", "evidence::"]),
            None,
            "{file}"
        );
    }
}

#[test]
fn raw_parsing_knows_nothing_of_validation_or_the_model() {
    let src = include_str!("runbook/raw.rs");
    assert_eq!(names(src, &["validate", "model::"]), None);
    // Each part of the runbook module depends only on the parts before it (see its docs).
    assert_eq!(
        names(include_str!("runbook/model.rs"), &["validate", "raw::"]),
        None
    );
    assert_eq!(
        names(include_str!("runbook/problem.rs"), &["super::", "crate::"]),
        None
    );
}
