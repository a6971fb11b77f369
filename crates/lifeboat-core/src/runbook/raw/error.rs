//! Turning a failed typed parse into problems a person can act on.
//!
//! serde-saphyr reports the first thing it refused with a position. We add what it cannot
//! know: the key path (from [`tree::locate`]), what was found there, the allowed keys worded
//! our way, and every other unknown or duplicate key in the file (from [`tree::key_issues`]).

use serde_saphyr::{Error, Location, MessageFormatter, UserMessageFormatter};

use super::tree::{self, KeyIssue, Node, Seg};
use super::{
    RawHttp, RawManifest, RawNotify, RawObjectives, RawRecoveryPoints, RawRunbook, RawSample,
    RawScratch, RawSource, RawStep, struct_fields,
};
use crate::runbook::problem::Problem;
use crate::runbook::wording::{backticked, did_you_mean, problem_at, problem_at_top};

/// The keys each raw struct accepts, by where its map sits. Paths not listed take any key
/// (`source.options` is checked later, per backend) or are not maps.
fn allowed_at(path: &[Seg]) -> Option<&'static [&'static str]> {
    use Seg::{Index, Key};
    let key = |s: &Seg, name: &str| matches!(s, Key(k) if k == name);
    Some(match path {
        [] => struct_fields::<RawRunbook>(),
        [k] if key(k, "objectives") => struct_fields::<RawObjectives>(),
        [k] if key(k, "source") => struct_fields::<RawSource>(),
        [k] if key(k, "recovery_points") => struct_fields::<RawRecoveryPoints>(),
        [k] if key(k, "manifest") => struct_fields::<RawManifest>(),
        [k] if key(k, "sample") => struct_fields::<RawSample>(),
        [k] if key(k, "scratch") => struct_fields::<RawScratch>(),
        [k, Index(_)] if key(k, "steps") || key(k, "finally") => struct_fields::<RawStep>(),
        [k, Index(_), h] if (key(k, "steps") || key(k, "finally")) && key(h, "http") => {
            struct_fields::<RawHttp>()
        }
        [k, Index(_)] if key(k, "notify") => struct_fields::<RawNotify>(),
        _ => return None,
    })
}

/// `"source: "` for a nested map, nothing at the top level.
fn prefix(path: &[Seg]) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{}: ", tree::path_string(path))
    }
}

fn unknown_key(map: &[Seg], key: &str, allowed: &[&'static str]) -> String {
    format!(
        "{}unknown key `{key}`, expected one of {}{}",
        prefix(map),
        backticked(allowed.iter().copied()),
        did_you_mean(key, allowed.iter().copied())
    )
}

fn duplicate_key(map: &[Seg], key: &str, first: Option<&Location>) -> String {
    let first = first.map_or_else(String::new, |l| {
        format!(" (first set at line {}, column {})", l.line(), l.column())
    });
    format!("{}duplicate key `{key}`{first}", prefix(map))
}

/// serde-saphyr wraps errors met through an alias; the inner one says what went wrong.
fn original(mut err: &Error) -> &Error {
    loop {
        match err {
            Error::AliasError { error, .. } | Error::WithSnippet { error, .. } => err = error,
            other => return other,
        }
    }
}

pub(super) fn problems(text: &str, err: &Error) -> Vec<Problem> {
    let tree = tree::build(text);
    let mut problems = Vec::new();
    if let Some(root) = &tree {
        for issue in tree::key_issues(root, &allowed_at) {
            problems.push(match issue {
                KeyIssue::Unknown { map, key, allowed } => {
                    problem_at(&key.referenced, unknown_key(&map, &key.value, allowed))
                }
                KeyIssue::Duplicate { map, key, first } => problem_at(
                    &key.referenced,
                    duplicate_key(&map, &key.value, Some(&first.referenced)),
                ),
            });
        }
    }

    let location = err.location();
    let at = |message: String| match &location {
        Some(l) => problem_at(l, message),
        None => problem_at_top(message),
    };
    let primary = at(describe(original(err), tree.as_ref(), location.as_ref()));
    // The walk above already reported the key serde stopped at, worded the same way.
    if !problems
        .iter()
        .any(|p| (p.line, p.column) == (primary.line, primary.column))
    {
        problems.push(primary);
    }
    problems
}

fn describe(
    err: &Error,
    tree: Option<&serde_saphyr::Spanned<Node>>,
    location: Option<&Location>,
) -> String {
    let (path, found) = match (tree, location) {
        (Some(root), Some(l)) => tree::locate(root, l),
        _ => (Vec::new(), None),
    };
    let found = found.map_or_else(String::new, |n| format!(", found {}", n.describe()));
    let at = prefix(&path);
    match err {
        Error::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(&path, field, expected),
        Error::DuplicateMappingKey { key, .. } => {
            duplicate_key(&path, key.as_deref().unwrap_or("?"), None)
        }
        Error::Unexpected { expected, .. } => {
            let wanted = match *expected {
                "mapping start" | "empty mapping start" => "a map of keys and values",
                "sequence start" => "a list",
                "string scalar" | "scalar" => "a single value",
                other => other,
            };
            format!("{at}expected {wanted}{found}")
        }
        Error::NullIntoString { .. } => format!("{at}expected a value, found nothing (null)"),
        Error::SerdeInvalidType { expected, .. } | Error::SerdeInvalidValue { expected, .. } => {
            format!("{at}expected {expected}{found}")
        }
        Error::MultipleDocuments { .. } => {
            "a runbook file holds one YAML document, but this one has a second (after `---`)"
                .to_owned()
        }
        Error::Budget { breach, .. } => format!(
            "the YAML is too large or too complex for a runbook (limit reached: {breach:?}); \
             aliases (*name) count every time they are used"
        ),
        other => format!("{at}{}", UserMessageFormatter.format_message(other)),
    }
}
