//! `sample`: how many files a drill verifies, the seed that picks them, and the files
//! verified in every drill on top of them (`always`).

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{SampleSize, SampleSpec};
use crate::runbook::raw::RawSample;
use crate::runbook::wording::quote;

/// `tree_paths`: the points' files are a restic snapshot's own (`source.format: restic`
/// without `manifest`), named as `restic ls` prints them: `sample.always` names them so.
pub(super) fn sample(
    c: &mut Check<'_>,
    raw: &Spanned<RawSample>,
    tree_paths: bool,
) -> Option<SampleSpec> {
    let RawSample {
        files,
        percent,
        seed,
        always,
    } = &raw.value;
    let size = match (files, percent) {
        (Some(_), Some(_)) => {
            c.at(
                raw,
                "sample: set exactly one of `files` and `percent`, not both".to_owned(),
            );
            None
        }
        (None, None) => {
            c.at(
                raw,
                "sample: set exactly one of `files` and `percent` (or remove `sample` to verify every file)"
                    .to_owned(),
            );
            None
        }
        (Some(files), None) => c
            .integer(
                "sample.files",
                files,
                1..=i128::from(u64::MAX),
                "a whole number of files, at least 1",
            )
            .map(SampleSize::Files),
        (None, Some(percent)) => {
            let parsed = percent
                .value
                .parse::<f64>()
                .ok()
                .filter(|p| *p > 0.0 && *p <= 100.0);
            if parsed.is_none() {
                c.at(
                    percent,
                    format!(
                        "sample.percent: invalid value {}: expected a number greater than 0 and at most 100, e.g. 10 or 2.5",
                        quote(&percent.value)
                    ),
                );
            }
            parsed.map(SampleSize::Percent)
        }
    };
    let seed = seed.as_ref().map(|s| {
        c.integer::<u64>(
            "sample.seed",
            s,
            0..=i128::from(u64::MAX),
            "a whole number from 0 to 18446744073709551615",
        )
    });
    let seed = match seed {
        None => None,
        Some(s) => Some(s?),
    };
    let always = match always {
        Some(list) => always_paths(c, &list.value, tree_paths)?,
        None => Vec::new(),
    };
    Some(SampleSpec {
        size: size?,
        seed,
        always,
    })
}

/// `sample.always`: each path relative to the recovery point as its manifest lists it, once;
/// with `tree_paths`, absolute, as `restic ls` prints a snapshot's files (the rest of the
/// path under the same rules). Every problem is reported; `None` when there was one.
fn always_paths(
    c: &mut Check<'_>,
    list: &[Spanned<String>],
    tree_paths: bool,
) -> Option<Vec<String>> {
    let mut paths: Vec<String> = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let path = &item.value;
        let key = format!("sample.always[{i}]");
        let checked = if tree_paths {
            match path.strip_prefix('/') {
                Some(rest) if !rest.starts_with('/') => check_always_path(rest),
                Some(_) => {
                    Err("has an empty segment (a leading, trailing or doubled /)".to_owned())
                }
                None => Err("is relative".to_owned()),
            }
        } else {
            check_always_path(path)
        };
        if let Err(why) = checked {
            let expected = if tree_paths {
                "expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql"
            } else {
                "expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql"
            };
            c.at(item, format!("{key}: {} {why}: {expected}", quote(path)));
            ok = false;
        } else if let Some(first) = paths.iter().position(|p| p == path) {
            c.at(
                item,
                format!(
                    "{key}: {} is listed twice (first as sample.always[{first}])",
                    quote(path)
                ),
            );
            ok = false;
        }
        paths.push(path.clone());
    }
    ok.then_some(paths)
}

/// Why `path` cannot name a file of a recovery point the way its manifest would (the sentence
/// follows the quoted path). Written as the manifest's own paths are, after the restore's
/// normalisation: no `.` or empty segment, so each file has one spelling and a duplicate is
/// a duplicate; a path that could leave the point is refused as the restore refuses it.
fn check_always_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("is empty".to_owned());
    }
    if path.starts_with('/') {
        return Err("is absolute".to_owned());
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err("has an empty segment (a leading, trailing or doubled /)".to_owned()),
            "." | ".." => return Err("has a . or .. segment".to_owned()),
            _ => {}
        }
    }
    // The restore's own rule (NUL, drive prefixes, names too long): a path it would refuse
    // could never be restored, so it cannot be required.
    crate::manifest::safe_components(path)
        .map(drop)
        .map_err(|why| format!("is not a path lifeboat restores ({why})"))
}
