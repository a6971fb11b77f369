//! `manifest`: the file each recovery point lists its files and digests in, and its format.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{ManifestFormat, ManifestSpec};
use crate::runbook::raw::RawManifest;
use crate::runbook::wording::quote;

pub(super) fn manifest(
    c: &mut Check<'_>,
    raw: Option<&Spanned<RawManifest>>,
) -> Option<ManifestSpec> {
    let (format, path) = match raw {
        Some(raw) => (raw.value.format.as_ref(), raw.value.path.as_ref()),
        None => (None, None),
    };
    let format = match format {
        Some(f) => c.choice(
            "manifest.format",
            f,
            &[
                ("sha256sum", ManifestFormat::Sha256sum),
                ("b3sum", ManifestFormat::B3sum),
                ("pg_backup_manifest", ManifestFormat::PgBackupManifest),
            ],
        ),
        None => Some(ManifestFormat::Sha256sum),
    };
    let path = match path {
        Some(p) => match check_manifest_path(&p.value) {
            Ok(()) => p.value.clone(),
            Err(why) => {
                c.at(
                    p,
                    format!(
                        "manifest.path: {} {why}: expected a relative /-separated path inside the recovery point, e.g. SHA256SUMS or meta/SHA256SUMS",
                        quote(&p.value)
                    ),
                );
                return None;
            }
        },
        None => match format? {
            ManifestFormat::Sha256sum => "SHA256SUMS".to_owned(),
            ManifestFormat::B3sum => "B3SUMS".to_owned(),
            ManifestFormat::PgBackupManifest => "backup_manifest".to_owned(),
        },
    };
    Some(ManifestSpec {
        path,
        format: format?,
    })
}

/// Why a manifest path could leave its recovery point or name no object; the sentence
/// follows the quoted path.
fn check_manifest_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.starts_with('/') {
        return Err("is absolute");
    }
    if path.contains('\\') {
        return Err("uses \\ (use / between folders)");
    }
    if path.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err("has an empty segment (a leading, trailing or doubled /)"),
            "." | ".." => return Err("has a . or .. segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("SHA256SUMS", Ok(()))]
    #[test_case("meta/B3SUMS", Ok(()))]
    #[test_case("", Err("is empty"))]
    #[test_case("/SHA256SUMS", Err("is absolute"))]
    #[test_case("a/../SHA256SUMS", Err("has a . or .. segment"))]
    #[test_case("./SHA256SUMS", Err("has a . or .. segment"))]
    #[test_case("a//b", Err("has an empty segment (a leading, trailing or doubled /)"))]
    #[test_case("a\\b", Err("uses \\ (use / between folders)"))]
    fn manifest_paths(path: &str, expected: Result<(), &str>) {
        assert_eq!(check_manifest_path(path), expected);
    }
}
