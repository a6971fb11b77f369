//! `source`: where the recovery points are (`url`), and how to reach them (`options`, checked
//! against the table of [`crate::runbook::SOURCE_OPTIONS`], with `${VAR}` resolved).

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::check::{Check, parse_bool};
use crate::duration;
use crate::runbook::model::{SourceKind, SourceSpec};
use crate::runbook::options::{self, OptionType};
use crate::runbook::raw::{OptionEntries, RawSource};
use crate::runbook::wording::{backticked, did_you_mean, quote};
use crate::runbook::{file_url, placeholder};

const SCHEMES: &str = "file://, s3:// or az:// (azure://)";

pub(super) fn source(c: &mut Check<'_>, raw: Option<&Spanned<RawSource>>) -> Option<SourceSpec> {
    let Some(raw) = raw else {
        c.at_top(
            "source: required key is missing: expected a map with `url`, e.g. `url: file:///srv/backups/payments`"
                .to_owned(),
        );
        return None;
    };
    let RawSource { url, options, .. } = &raw.value;
    let kind = match url {
        None => {
            c.missing(
                Some(raw),
                "source.url",
                "file:///ABSOLUTE/PATH, s3://BUCKET[/PREFIX] or az://CONTAINER[/PREFIX]",
            );
            None
        }
        Some(url) => match source_kind(&url.value) {
            Ok(kind) => Some(kind),
            Err(e) => {
                c.at(url, format!("source.url: {e}"));
                None
            }
        },
    };
    let options = source_options(c, kind, options.as_ref());
    Some(SourceSpec {
        url: url.as_ref()?.value.clone(),
        kind: kind?,
        options: options?,
    })
}

/// The backend a source URL names. The error is a sentence to put after the key path.
fn source_kind(url: &str) -> Result<SourceKind, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "{} is not a URL: expected file:///ABSOLUTE/PATH, s3://BUCKET[/PREFIX] or az://CONTAINER[/PREFIX]",
            quote(url)
        ));
    };
    let kind = match scheme {
        "file" => SourceKind::File,
        "s3" => SourceKind::S3,
        "az" | "azure" => SourceKind::Azure,
        "gs" | "gcs" => {
            // Not offered: there is no GCS server to test against here.
            return Err(format!(
                "scheme {} (Google Cloud Storage) is not supported: expected {SCHEMES}",
                quote(scheme)
            ));
        }
        _ => {
            return Err(format!(
                "scheme {} is not supported: expected {SCHEMES}",
                quote(scheme)
            ));
        }
    };
    if url.contains(['?', '#']) || url.chars().any(char::is_control) {
        return Err(format!(
            "{} holds a query (?), fragment (#) or control character: expected a plain location",
            quote(url)
        ));
    }
    match kind {
        // The drill decodes the URL with this same function.
        SourceKind::File => file_url::path(url).map(|_| kind),
        SourceKind::S3 | SourceKind::Azure if rest.split('/').next().is_none_or(str::is_empty) => {
            let what = if kind == SourceKind::S3 {
                "bucket"
            } else {
                "container"
            };
            Err(format!(
                "{} names no {what}: expected {scheme}://{}[/PREFIX]",
                quote(url),
                what.to_uppercase()
            ))
        }
        _ => Ok(kind),
    }
}

fn source_options(
    c: &mut Check<'_>,
    kind: Option<SourceKind>,
    raw: Option<&Spanned<OptionEntries>>,
) -> Option<BTreeMap<String, String>> {
    let mut resolved = BTreeMap::new();
    let mut ok = true;
    for (key, value) in raw.map(|r| r.value.0.as_slice()).unwrap_or_default() {
        let path = format!("source.options.{}", key.value);
        // With an unusable URL the backend is unknown, so only the values are checked.
        let spec = match kind.map(|k| (k, options::source_option(k, &key.value))) {
            Some((_, Some(spec))) => Some(spec),
            Some((kind, None)) => {
                let allowed: Vec<_> = options::source_option_keys(kind).collect();
                c.at(
                    key,
                    format!(
                        "{path}: unknown option for {}:// sources: expected one of {}{}",
                        kind.scheme(),
                        backticked(allowed.iter().copied()),
                        did_you_mean(&key.value, allowed.iter().copied())
                    ),
                );
                ok = false;
                continue;
            }
            None => None,
        };
        let Some(text) = &value.value else {
            c.at(
                value,
                format!("{path}: no value: expected text, a number or true/false"),
            );
            ok = false;
            continue;
        };
        let Some(resolved_value) = c.resolve_env(&path, &value.referenced, text) else {
            ok = false;
            continue;
        };
        let Some(spec) = spec else { continue };
        // Never echo the resolved value: it may be a secret. Echo what the file says instead,
        // and only when the file holds no reference (the literal is then not from the
        // environment and is not a credential, since only Text options can be credentials).
        let from_env = placeholder::env::has_reference(text);
        let shown = || {
            if from_env {
                format!("{} (from the environment)", quote(text))
            } else {
                quote(text)
            }
        };
        let normalized = match spec.value {
            OptionType::Text => Some(resolved_value),
            OptionType::Bool => match parse_bool(&resolved_value) {
                Some(b) => Some(b.to_string()),
                None => {
                    c.at(
                        value,
                        format!("{path}: invalid value {}: expected true or false", shown()),
                    );
                    None
                }
            },
            OptionType::Duration => match duration::parse(&resolved_value) {
                Ok(d) if !d.is_zero() => Some(resolved_value),
                _ => {
                    c.at(
                        value,
                        format!(
                            "{path}: invalid duration {}: expected digits followed by a unit (d, h, m, s), more than 0s, e.g. 30s or 2m",
                            shown()
                        ),
                    );
                    None
                }
            },
            OptionType::Count { min, max } => match resolved_value.trim().parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Some(n.to_string()),
                _ => {
                    c.at(
                        value,
                        format!(
                            "{path}: invalid number {}: expected a whole number from {min} to {max}",
                            shown()
                        ),
                    );
                    None
                }
            },
            OptionType::OneOf(words) => {
                match words
                    .iter()
                    .find(|w| w.eq_ignore_ascii_case(&resolved_value))
                {
                    Some(w) => Some((*w).to_owned()),
                    None => {
                        c.at(
                            value,
                            format!(
                                "{path}: unknown value {}: expected one of {}",
                                shown(),
                                words.join(", ")
                            ),
                        );
                        None
                    }
                }
            }
        };
        match normalized {
            Some(v) => {
                resolved.insert(key.value.clone(), v);
            }
            None => ok = false,
        }
    }
    if ok && !plain_http_allowed(kind, &resolved) {
        let at = raw
            .and_then(|r| r.value.0.iter().find(|(k, _)| k.value == "endpoint"))
            .map(|(k, _)| k);
        if let Some(at) = at {
            c.at(
                at,
                "source.options.endpoint: a plain http:// endpoint sends requests unencrypted: set `allow_http: true` under source.options to accept that, or use https://".to_string(),
            );
            ok = false;
        }
    }
    ok.then_some(resolved)
}

/// Whether a cloud source's `endpoint`, if plain `http://`, is allowed to be: the store
/// client refuses it otherwise, with nothing better than "builder error" on the first request.
fn plain_http_allowed(kind: Option<SourceKind>, resolved: &BTreeMap<String, String>) -> bool {
    let yes = |k: &str| resolved.get(k).is_some_and(|v| v == "true");
    let plain = resolved.get("endpoint").is_some_and(|e| {
        e.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    });
    match kind {
        Some(SourceKind::S3) => !plain || yes("allow_http"),
        // The emulator is plain http by design.
        Some(SourceKind::Azure) => !plain || yes("allow_http") || yes("use_emulator"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("file:///srv/backups", Ok(SourceKind::File))]
    #[test_case("s3://bucket", Ok(SourceKind::S3))]
    #[test_case("s3://bucket/a/b/", Ok(SourceKind::S3))]
    #[test_case("az://container/x", Ok(SourceKind::Azure))]
    #[test_case("azure://container", Ok(SourceKind::Azure))]
    #[test_case("s3:///prefix", Err("\"s3:///prefix\" names no bucket: expected s3://BUCKET[/PREFIX]".into()))]
    #[test_case("az://", Err("\"az://\" names no container: expected az://CONTAINER[/PREFIX]".into()))]
    #[test_case("/srv/backups", Err("\"/srv/backups\" is not a URL: expected file:///ABSOLUTE/PATH, s3://BUCKET[/PREFIX] or az://CONTAINER[/PREFIX]".into()))]
    #[test_case("s3://b/x?versionId=1", Err("\"s3://b/x?versionId=1\" holds a query (?), fragment (#) or control character: expected a plain location".into()))]
    #[test_case("file://backups/x", Err("\"file://backups/x\" names host \"backups\": a file:// source is a folder on this host (mount a remote share and name its mount point); write file:// followed by an absolute path, e.g. file:///srv/backups/payments".into()))]
    #[test_case("file:///srv/a%00b", Err("\"file:///srv/a%00b\" decodes to a path holding a NUL byte (%00), which no file system allows".into()))]
    #[test_case("file:///tmp/%aé/x", Ok(SourceKind::File))]
    #[test_case("file://localhost/srv", Ok(SourceKind::File))]
    fn source_kinds(url: &str, expected: Result<SourceKind, String>) {
        assert_eq!(source_kind(url), expected);
    }
}
