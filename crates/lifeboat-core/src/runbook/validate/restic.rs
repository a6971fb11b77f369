//! `source.format` and `source.restic`: a restic repository as the source, and what that
//! changes elsewhere — `recovery_points.time`/`time_format` mean nothing (a snapshot's time is
//! its own), and `manifest` is optional and names a file inside the snapshot.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{ManifestFormat, ManifestSpec, ResticPassword, ResticSpec};
use crate::runbook::raw::{RawManifest, RawRecoveryPoints, RawRestic, RawSource};
use crate::runbook::wording::quote;

/// `source.format`, before its details are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FormatKind {
    Files,
    Restic,
}

/// `source.format` (default `files`); `source.restic` without `format: restic` is refused.
pub(super) fn format_kind(
    c: &mut Check<'_>,
    raw: Option<&Spanned<RawSource>>,
) -> Option<FormatKind> {
    let Some(raw) = raw else {
        // `source` itself is missing: reported by `source`.
        return None;
    };
    let kind = match &raw.value.format {
        None => Some(FormatKind::Files),
        Some(f) => c.choice(
            "source.format",
            f,
            &[("files", FormatKind::Files), ("restic", FormatKind::Restic)],
        ),
    };
    if kind == Some(FormatKind::Files)
        && let Some(restic) = &raw.value.restic
    {
        c.at(
            restic,
            "source.restic: only used with `source.format: restic`; set `format: restic` or remove it"
                .to_owned(),
        );
        return None;
    }
    kind
}

/// `source.restic` and `manifest` of a `format: restic` source.
pub(super) fn restic(
    c: &mut Check<'_>,
    source: &Spanned<RawSource>,
    manifest: Option<&Spanned<RawManifest>>,
) -> Option<ResticSpec> {
    let Some(raw) = &source.value.restic else {
        c.missing(
            Some(source),
            "source.restic",
            "a map with `password: ${VAR}` or `password_file: /ABSOLUTE/PATH`",
        );
        return None;
    };
    let RawRestic {
        password,
        password_file,
        host,
        paths,
        tags,
    } = &raw.value;
    let password = match (password, password_file) {
        (Some(_), Some(file)) => {
            c.at(
                file,
                "source.restic.password_file: give either `password` or `password_file`, not both"
                    .to_owned(),
            );
            None
        }
        (None, None) => {
            c.missing(
                Some(raw),
                "source.restic.password",
                "`password: ${VAR}` or `password_file: /ABSOLUTE/PATH` (exactly one)",
            );
            None
        }
        (Some(p), None) => {
            // Never echo the value: it is a secret, whether written or from the environment.
            match c.resolve_env("source.restic.password", &p.referenced, &p.value) {
                Some(v) if v.is_empty() => {
                    c.at(p, "source.restic.password: is empty".to_owned());
                    None
                }
                Some(v) => Some(ResticPassword::Value(v)),
                None => None,
            }
        }
        (None, Some(f)) => {
            match c.resolve_env("source.restic.password_file", &f.referenced, &f.value) {
                Some(path) if path.starts_with('/') && !path.chars().any(char::is_control) => {
                    Some(ResticPassword::File(path.into()))
                }
                Some(_) => {
                    c.at(
                    f,
                    format!(
                        "source.restic.password_file: {} is not an absolute path: expected e.g. /etc/lifeboat/restic.pass",
                        quote(&f.value)
                    ),
                );
                    None
                }
                None => None,
            }
        }
    };
    let host = host.as_ref().and_then(|h| {
        word(
            c,
            "source.restic.host",
            h,
            "a host name as `restic snapshots` shows it",
        )
    });
    let host_ok = host.is_some() || raw.value.host.is_none();
    let paths = list(c, "source.restic.paths", paths.as_ref(), |c, path, p| {
        if p.value.starts_with('/') {
            word(
                c,
                path,
                p,
                "an absolute path as `restic snapshots` shows it",
            )
        } else {
            c.at(
                p,
                format!(
                    "{path}: {} is not an absolute path: expected a path as `restic snapshots` shows it, e.g. /srv/app",
                    quote(&p.value)
                ),
            );
            None
        }
    });
    let tags = list(c, "source.restic.tags", tags.as_ref(), |c, path, t| {
        if t.value.contains(',') {
            c.at(
                t,
                format!(
                    "{path}: {} holds a comma: restic splits tags at commas; list each tag on its own",
                    quote(&t.value)
                ),
            );
            None
        } else {
            word(c, path, t, "a tag as `restic snapshots` shows it")
        }
    });
    let manifest = match manifest {
        None => Some(None),
        Some(m) => in_snapshot(c, m).map(Some),
    };
    if !host_ok {
        return None;
    }
    Some(ResticSpec {
        password: password?,
        host,
        paths: paths?,
        tags: tags?,
        manifest: manifest?,
    })
}

/// `recovery_points.time` and `time_format` mean nothing for snapshots: refused.
pub(super) fn refuse_point_time(c: &mut Check<'_>, raw: Option<&Spanned<RawRecoveryPoints>>) {
    let Some(raw) = raw else { return };
    for (key, value) in [
        ("time", &raw.value.time),
        ("time_format", &raw.value.time_format),
    ] {
        if let Some(v) = value {
            c.at(
                v,
                format!(
                    "recovery_points.{key}: not used with `source.format: restic` (a snapshot's time is its own); remove it"
                ),
            );
        }
    }
}

/// `manifest` of a restic source: a file inside the snapshot, named as `restic ls` lists it.
fn in_snapshot(c: &mut Check<'_>, raw: &Spanned<RawManifest>) -> Option<ManifestSpec> {
    let format = match &raw.value.format {
        Some(f) => c.choice(
            "manifest.format",
            f,
            &[
                ("sha256sum", ManifestFormat::Sha256sum),
                ("b3sum", ManifestFormat::B3sum),
            ],
        ),
        None => Some(ManifestFormat::Sha256sum),
    };
    let path = match &raw.value.path {
        None => {
            c.missing(
                Some(raw),
                "manifest.path",
                "the manifest's path inside the snapshot as `restic ls` lists it, e.g. /srv/app/SHA256SUMS",
            );
            None
        }
        Some(p) => match check_snapshot_path(&p.value) {
            Ok(()) => Some(p.value.clone()),
            Err(why) => {
                c.at(
                    p,
                    format!(
                        "manifest.path: {} {why}: expected the manifest's path inside the snapshot as `restic ls` lists it, e.g. /srv/app/SHA256SUMS",
                        quote(&p.value)
                    ),
                );
                None
            }
        },
    };
    Some(ManifestSpec {
        path: path?,
        format: format?,
    })
}

/// Why a path cannot name a file inside a snapshot; the sentence follows the quoted path.
fn check_snapshot_path(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("is not absolute");
    };
    if path.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    for segment in rest.split('/') {
        match segment {
            "" => return Err("has an empty segment (a doubled or trailing /, or only /)"),
            "." | ".." => return Err("has a . or .. segment"),
            _ => {}
        }
    }
    Ok(())
}

/// A non-empty value without control characters.
fn word(c: &mut Check<'_>, path: &str, value: &Spanned<String>, expected: &str) -> Option<String> {
    if value.value.is_empty() || value.value.chars().any(char::is_control) {
        c.at(
            value,
            format!(
                "{path}: {} is empty or holds a control character: expected {expected}",
                quote(&value.value)
            ),
        );
        return None;
    }
    Some(value.value.clone())
}

/// Each item of a list checked by `item`; `None` if any is wrong.
fn list(
    c: &mut Check<'_>,
    path: &str,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    item: impl Fn(&mut Check<'_>, &str, &Spanned<String>) -> Option<String>,
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, v) in raw
        .map(|r| r.value.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match item(c, &format!("{path}[{i}]"), v) {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("/srv/app/SHA256SUMS", Ok(()))]
    #[test_case("SHA256SUMS", Err("is not absolute"))]
    #[test_case("/", Err("has an empty segment (a doubled or trailing /, or only /)"))]
    #[test_case(
        "/srv//SUMS",
        Err("has an empty segment (a doubled or trailing /, or only /)")
    )]
    #[test_case("/srv/../etc/shadow", Err("has a . or .. segment"))]
    #[test_case("/srv/a\nb", Err("holds a control character"))]
    fn snapshot_paths(path: &str, expected: Result<(), &str>) {
        assert_eq!(check_snapshot_path(path), expected);
    }
}
