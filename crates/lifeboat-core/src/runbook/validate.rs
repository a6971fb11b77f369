//! From the raw structs to a [`Runbook`]: every rule of runbook v1 that serde cannot express,
//! with every broken rule reported, each at the value it is about.
//!
//! The functions here never stop at the first problem. Each returns what it could build
//! (`None` where a value was unusable) and records problems in [`Check`]; a runbook is built
//! only when no problem was recorded.

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::model::{
    CatchUp, Command, DEFAULT_START_WINDOW, EnvVar, Keep, ManifestFormat, ManifestSpec, NotifySpec,
    Objectives, PointTime, Position, RecoveryPointsSpec, Runbook, SampleSize, SampleSpec,
    ScheduleSpec, ScratchSpec, ScratchSync, Select, SourceKind, SourceSpec, Step, StepKind,
    Unattended,
};
use super::options::{self, OptionType};
use super::problem::Problem;
use super::raw::{
    Argv, RawHttp, RawManifest, RawNotify, RawObjectives, RawRecoveryPoints, RawRunbook, RawSample,
    RawScratch, RawSource, RawStep,
};
use super::wording::{backticked, did_you_mean, problem_at, problem_at_top, quote};
use super::{placeholder, time_format};
use crate::duration;
use crate::vocabulary::Outcome;

/// The placeholders a `run`/`shell` step may use; the drill substitutes them.
const PLACEHOLDERS: [&str; 2] = ["scratch", "recovery_point"];

const STEP_KINDS: &str = "restore, run, shell, http, approve, wait";
const NAME_RULE: &str = "[a-z0-9][a-z0-9._-]{0,62}";
const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
const RUN_EXAMPLE: &str = r#"["sqlite3", "{scratch}/app.db", "PRAGMA integrity_check"]"#;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

struct Check<'a> {
    problems: Vec<Problem>,
    env: Env<'a>,
}

impl Check<'_> {
    fn at<T>(&mut self, value: &Spanned<T>, message: String) {
        self.at_location(&value.referenced, message);
    }

    fn at_location(&mut self, location: &Location, message: String) {
        self.problems.push(problem_at(location, message));
    }

    fn at_top(&mut self, message: String) {
        self.problems.push(problem_at_top(message));
    }

    /// A missing required key, reported at its enclosing map (or 1:1 for the document).
    fn missing<T>(&mut self, parent: Option<&Spanned<T>>, path: &str, expected: &str) {
        let message = format!("{path}: required key is missing: expected {expected}");
        match parent {
            Some(p) => self.at(p, message),
            None => self.at_top(message),
        }
    }

    /// One word out of a fixed set.
    fn choice<T: Copy>(
        &mut self,
        path: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        if let Some(&(_, v)) = choices.iter().find(|(word, _)| *word == value.value) {
            return Some(v);
        }
        let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
        self.at(
            value,
            format!(
                "{path}: unknown value {}: expected one of {}",
                quote(&value.value),
                words.join(", ")
            ),
        );
        None
    }

    /// A duration that must be more than zero.
    fn positive_duration(&mut self, path: &str, value: &Spanned<String>) -> Option<Duration> {
        match duration::parse(&value.value) {
            Ok(d) if d.is_zero() => {
                self.at(
                    value,
                    format!(
                        "{path}: duration {} is zero: expected more than 0s",
                        quote(&value.value)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.at(value, format!("{path}: {e}"));
                None
            }
        }
    }

    fn bool(&mut self, path: &str, value: &Spanned<String>) -> Option<bool> {
        let parsed = parse_bool(&value.value);
        if parsed.is_none() {
            self.at(
                value,
                format!(
                    "{path}: invalid value {}: expected true or false",
                    quote(&value.value)
                ),
            );
        }
        parsed
    }

    /// A whole number in `range`; `expected` finishes "expected ...".
    fn integer<T: TryFrom<i128> + Copy>(
        &mut self,
        path: &str,
        value: &Spanned<String>,
        range: std::ops::RangeInclusive<i128>,
        expected: &str,
    ) -> Option<T> {
        let parsed = value
            .value
            .parse::<i128>()
            .ok()
            .filter(|n| range.contains(n))
            .and_then(|n| T::try_from(n).ok());
        if parsed.is_none() {
            self.at(
                value,
                format!(
                    "{path}: invalid value {}: expected {expected}",
                    quote(&value.value)
                ),
            );
        }
        parsed
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub(super) fn validate(raw: &RawRunbook, env: Env<'_>) -> Result<Runbook, Vec<Problem>> {
    let mut c = Check {
        problems: Vec::new(),
        env,
    };

    match &raw.version {
        None => c.at_top("version: required key is missing: expected `version: 1`".to_owned()),
        Some(v) if v.value == "1" => {}
        Some(v) => c.at(
            v,
            format!(
                "version: unsupported runbook version {}: expected 1",
                quote(&v.value)
            ),
        ),
    }
    let name = runbook_name(&mut c, raw.name.as_ref());
    let objectives = objectives(&mut c, raw.objectives.as_ref());
    let source = source(&mut c, raw.source.as_ref());
    let recovery_points = recovery_points(&mut c, raw.recovery_points.as_ref());
    let manifest = manifest(&mut c, raw.manifest.as_ref());
    let sample = raw.sample.as_ref().and_then(|s| sample(&mut c, s));
    let scratch = scratch(&mut c, raw.scratch.as_ref());
    let verify_only = match &raw.verify_only {
        Some(v) => c.bool("verify_only", v),
        None => Some(false),
    };
    let schedule = schedule(&mut c, raw);
    let steps = steps(&mut c, raw.steps.as_ref());
    let finally = finally(&mut c, raw.finally.as_ref());
    let notify = notify(&mut c, raw.notify.as_ref());

    let mut problems = c.problems;
    if !problems.is_empty() {
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(problems);
    }
    // No problem was recorded, so every part was built; a `None` here is a validator bug.
    let (
        Some(name),
        Some(source),
        Some(recovery_points),
        Some(manifest),
        Some(scratch),
        Some(verify_only),
    ) = (
        name,
        source,
        recovery_points,
        manifest,
        scratch,
        verify_only,
    )
    else {
        return Err(vec![problem_at_top(
            "internal error: runbook validation left a value unset without saying why".to_owned(),
        )]);
    };
    Ok(Runbook {
        name,
        description: raw.description.as_ref().map(|d| d.value.clone()),
        objectives,
        source,
        recovery_points,
        manifest,
        sample,
        scratch,
        verify_only,
        schedule,
        steps,
        finally,
        notify,
    })
}

fn runbook_name(c: &mut Check<'_>, name: Option<&Spanned<String>>) -> Option<String> {
    let Some(name) = name else {
        c.at_top(format!(
            "name: required key is missing: expected a name matching {NAME_RULE}, e.g. payments-files"
        ));
        return None;
    };
    if is_runbook_name(&name.value) {
        Some(name.value.clone())
    } else {
        c.at(
            name,
            format!(
                "name: {} is not a valid runbook name: expected {NAME_RULE}",
                quote(&name.value)
            ),
        );
        None
    }
}

/// `[a-z0-9][a-z0-9._-]{0,62}`: safe as a folder name on every system evidence lands on.
fn is_runbook_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    matches!(bytes.first(), Some(b) if lower_alnum(b))
        && bytes.len() <= 63
        && bytes[1..]
            .iter()
            .all(|b| lower_alnum(b) || matches!(b, b'.' | b'_' | b'-'))
}

fn objectives(c: &mut Check<'_>, raw: Option<&Spanned<RawObjectives>>) -> Objectives {
    let Some(raw) = raw else {
        return Objectives::default();
    };
    let RawObjectives { rto, rpo } = &raw.value;
    Objectives {
        rto: rto
            .as_ref()
            .and_then(|v| c.positive_duration("objectives.rto", v)),
        rpo: rpo
            .as_ref()
            .and_then(|v| c.positive_duration("objectives.rpo", v)),
    }
}

const SCHEMES: &str = "file://, s3:// or az:// (azure://)";

fn source(c: &mut Check<'_>, raw: Option<&Spanned<RawSource>>) -> Option<SourceSpec> {
    let Some(raw) = raw else {
        c.at_top(
            "source: required key is missing: expected a map with `url`, e.g. `url: file:///srv/backups/payments`"
                .to_owned(),
        );
        return None;
    };
    let RawSource { url, options } = &raw.value;
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
        SourceKind::File => super::file_url::path(url).map(|_| kind),
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
    raw: Option<&Spanned<super::raw::OptionEntries>>,
) -> Option<std::collections::BTreeMap<String, String>> {
    let mut resolved = std::collections::BTreeMap::new();
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
        let Some(resolved_value) = resolve_env(c, &path, &value.referenced, text) else {
            ok = false;
            continue;
        };
        let Some(spec) = spec else { continue };
        // Never echo the resolved value: it may be a secret. Echo what the file says instead,
        // and only when the file holds no reference (the literal is then not from the
        // environment and is not a credential, since only Text options can be credentials).
        let from_env = text.contains("${");
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
fn plain_http_allowed(
    kind: Option<SourceKind>,
    resolved: &std::collections::BTreeMap<String, String>,
) -> bool {
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

/// Replaces each `${NAME}` with the variable's value. Every unset variable is a problem; the
/// messages name variables, never values.
fn resolve_env(c: &mut Check<'_>, path: &str, at: &Location, text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut ok = true;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name = after.find('}').map(|end| &after[..end]).filter(|n| {
            n.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
        let Some(name) = name else {
            c.at_location(
                at,
                format!(
                    "{path}: malformed variable reference: expected ${{NAME}}, NAME made of letters, digits and _"
                ),
            );
            return None;
        };
        match (c.env)(name) {
            Some(value) => out.push_str(&value),
            None => {
                c.at_location(
                    at,
                    format!("{path}: environment variable {name} is not set"),
                );
                ok = false;
            }
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    ok.then_some(out)
}

fn recovery_points(
    c: &mut Check<'_>,
    raw: Option<&Spanned<RawRecoveryPoints>>,
) -> Option<RecoveryPointsSpec> {
    let Some(raw) = raw else {
        return Some(RecoveryPointsSpec {
            time: PointTime::Modified,
            select: Select::Latest,
            within: None,
        });
    };
    let RawRecoveryPoints {
        time,
        time_format,
        select,
        within,
    } = &raw.value;
    // `None`: `time` is unusable (already reported).
    let by_name = match time {
        Some(t) => c.choice(
            "recovery_points.time",
            t,
            &[("name", true), ("modified", false)],
        ),
        None => Some(false),
    };
    let format = match (time_format, by_name) {
        (None, _) => None,
        // `time` itself is wrong and already reported; its format means nothing yet.
        (Some(_), None) => None,
        (Some(f), Some(false)) => {
            c.at(
                f,
                "recovery_points.time_format: only used with `time: name`; set `time: name` or remove it"
                    .to_owned(),
            );
            None
        }
        (Some(f), Some(true)) => match time_format::check_format(&f.value) {
            Ok(()) => Some(f.value.clone()),
            Err(e) => {
                c.at(f, format!("recovery_points.time_format: {e}"));
                None
            }
        },
    };
    let select = match select {
        Some(s) => c.choice(
            "recovery_points.select",
            s,
            &[("latest", Select::Latest), ("all", Select::All)],
        ),
        None => Some(Select::Latest),
    };
    let within = within
        .as_ref()
        .map(|w| c.positive_duration("recovery_points.within", w));
    if time_format.is_some() && format.is_none() {
        return None;
    }
    let within = match within {
        None => None,
        Some(w) => Some(w?),
    };
    Some(RecoveryPointsSpec {
        time: if by_name? {
            PointTime::Name { format }
        } else {
            PointTime::Modified
        },
        select: select?,
        within,
    })
}

fn manifest(c: &mut Check<'_>, raw: Option<&Spanned<RawManifest>>) -> Option<ManifestSpec> {
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

fn sample(c: &mut Check<'_>, raw: &Spanned<RawSample>) -> Option<SampleSpec> {
    let RawSample {
        files,
        percent,
        seed,
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
    Some(SampleSpec { size: size?, seed })
}

fn scratch(c: &mut Check<'_>, raw: Option<&Spanned<RawScratch>>) -> Option<ScratchSpec> {
    let keep = match raw.and_then(|r| r.value.keep.as_ref()) {
        Some(k) => c.choice(
            "scratch.keep",
            k,
            &[
                ("never", Keep::Never),
                ("on-failure", Keep::OnFailure),
                ("always", Keep::Always),
            ],
        ),
        None => Some(Keep::Never),
    };
    let sync = match raw.and_then(|r| r.value.sync.as_ref()) {
        Some(s) => c.choice(
            "scratch.sync",
            s,
            &[("file", ScratchSync::File), ("none", ScratchSync::None)],
        ),
        None => Some(ScratchSync::File),
    };
    Some(ScratchSpec {
        keep: keep?,
        sync: sync?,
    })
}

fn schedule(c: &mut Check<'_>, raw: &RawRunbook) -> Option<ScheduleSpec> {
    let Some(cron) = raw.schedule.as_ref() else {
        for (key, value) in [
            ("timezone", &raw.timezone),
            ("catch_up", &raw.catch_up),
            ("start_window", &raw.start_window),
            ("jitter", &raw.jitter),
        ] {
            if let Some(v) = value {
                c.at(
                    v,
                    format!("{key}: only used with `schedule`; add a schedule or remove it"),
                );
            }
        }
        return None;
    };
    let catch_up = match &raw.catch_up {
        Some(v) => c.choice(
            "catch_up",
            v,
            &[("none", CatchUp::None), ("latest", CatchUp::Latest)],
        ),
        None => Some(CatchUp::None),
    };
    let start_window = match &raw.start_window {
        Some(v) => c.positive_duration("start_window", v),
        None => Some(DEFAULT_START_WINDOW),
    };
    let jitter = match &raw.jitter {
        Some(v) => match (c.positive_duration("jitter", v), start_window) {
            (Some(j), Some(w)) if j >= w => {
                c.at(
                    v,
                    format!(
                        "jitter: {} is not shorter than start_window ({}): a drill delayed that long could miss its own window; shorten jitter or lengthen start_window",
                        quote(&v.value),
                        crate::duration::format(w)
                    ),
                );
                None
            }
            (j, _) => j,
        },
        None => Some(Duration::ZERO),
    };
    let timezone = match raw.timezone.as_ref() {
        None => Some("UTC".to_owned()),
        Some(tz) => match jiff::tz::TimeZone::get(&tz.value) {
            Ok(_) => Some(tz.value.clone()),
            Err(_) => {
                c.at(
                    tz,
                    format!(
                        "timezone: unknown time zone {}: expected an IANA name such as UTC, Europe/Berlin or America/New_York",
                        quote(&tz.value)
                    ),
                );
                None
            }
        },
    };
    if let Err(why) = check_cron(&cron.value) {
        c.at(
            cron,
            format!(
                "schedule: invalid cron expression {}: {why}: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"",
                quote(&cron.value)
            ),
        );
        return None;
    }
    Some(ScheduleSpec {
        cron: cron.value.clone(),
        timezone: timezone?,
        catch_up: catch_up?,
        start_window: start_window?,
        jitter: jitter?,
    })
}

/// Why croner refuses an expression, worded for runbook authors. The field count is checked
/// here because croner's own message for it talks about a year field runbooks cannot have.
fn check_cron(expr: &str) -> Result<(), String> {
    let fields = expr.split_whitespace().count();
    if !expr.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!("it has {fields} fields"));
    }
    super::model::cron_parser()
        .parse(expr)
        .map(drop)
        .map_err(|e| {
            let text = match e {
                croner::errors::CronError::InvalidPattern(m)
                | croner::errors::CronError::IllegalCharacters(m)
                | croner::errors::CronError::ComponentError(m) => m,
                other => other.to_string(),
            };
            let text = text.trim_end_matches('.');
            let mut chars = text.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_lowercase().chain(chars).collect()
            })
        })
}

fn steps(c: &mut Check<'_>, raw: Option<&Spanned<Vec<Spanned<RawStep>>>>) -> Vec<Step> {
    let Some(raw) = raw else {
        return vec![Step {
            name: None,
            timeout: None,
            kind: StepKind::Restore,
        }];
    };
    let mut first_restore: Option<&Location> = None;
    for (i, step) in raw.value.iter().enumerate() {
        let Some(restore) = &step.value.restore else {
            continue;
        };
        match first_restore {
            None => first_restore = Some(&restore.referenced),
            Some(first) => c.at(
                restore,
                format!(
                    "steps[{i}].restore: `restore` appears more than once in `steps` (first at line {}, column {}): each recovery point is restored once",
                    first.line(),
                    first.column()
                ),
            ),
        }
    }
    if first_restore.is_none() {
        c.at(
            raw,
            "steps: no `restore` step: add `- restore: {}` where the sampled files should be restored and verified"
                .to_owned(),
        );
    }
    step_list(c, "steps", &raw.value)
}

fn finally(c: &mut Check<'_>, raw: Option<&Spanned<Vec<Spanned<RawStep>>>>) -> Vec<Step> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    for (i, step) in raw.value.iter().enumerate() {
        if let Some(restore) = &step.value.restore {
            c.at(
                restore,
                format!(
                    "finally[{i}].restore: not allowed in `finally`: files are restored by the `restore` step in `steps`"
                ),
            );
        }
    }
    step_list(c, "finally", &raw.value)
}

fn step_list(c: &mut Check<'_>, section: &str, raw: &[Spanned<RawStep>]) -> Vec<Step> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| step(c, &format!("{section}[{i}]"), s))
        .collect()
}

fn step(c: &mut Check<'_>, path: &str, raw: &Spanned<RawStep>) -> Option<Step> {
    let s = &raw.value;
    let present: Vec<&str> = [
        ("restore", s.restore.is_some()),
        ("run", s.run.is_some()),
        ("shell", s.shell.is_some()),
        ("http", s.http.is_some()),
        ("approve", s.approve.is_some()),
        ("wait", s.wait.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    // `Some(None)`: a timeout was written but is unusable (already reported).
    let timeout = s
        .timeout
        .as_ref()
        .map(|t| c.positive_duration(&format!("{path}.timeout"), t));
    let kind = match present.as_slice() {
        [] => {
            c.at(
                raw,
                format!("{path}: no step kind: expected exactly one of {STEP_KINDS}"),
            );
            None
        }
        [kind] => {
            if let Some(v) = &s.env
                && !matches!(*kind, "run" | "shell")
            {
                c.at(
                    v,
                    format!("{path}.env: only applies to `run` and `shell` steps, not `{kind}`"),
                );
            }
            for (key, value) in [
                ("expect_exit", &s.expect_exit),
                ("expect_stdout", &s.expect_stdout),
            ] {
                if let Some(v) = value
                    && !matches!(*kind, "run" | "shell")
                {
                    c.at(
                        v,
                        format!(
                            "{path}.{key}: only applies to `run` and `shell` steps, not `{kind}`"
                        ),
                    );
                }
            }
            if let Some(v) = &s.unattended
                && *kind != "approve"
            {
                c.at(
                    v,
                    format!("{path}.unattended: only applies to `approve` steps, not `{kind}`"),
                );
            }
            step_kind(c, path, s)
        }
        [rest @ .., last] => {
            c.at(
                raw,
                format!(
                    "{path}: sets {} and {}: expected exactly one of {STEP_KINDS}",
                    backticked(rest.iter().copied()),
                    backticked([*last])
                ),
            );
            None
        }
    };
    let timeout = match timeout {
        None => None,
        Some(t) => Some(t?),
    };
    Some(Step {
        name: s.name.as_ref().map(|n| n.value.clone()),
        timeout,
        kind: kind?,
    })
}

fn step_kind(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<StepKind> {
    if let Some(restore) = &s.restore {
        if let Some(key) = restore.value.as_ref().and_then(|b| b.keys.first()) {
            c.at(
                key,
                format!(
                    "{path}.restore: takes no settings, found `{}`: write `restore: {{}}`",
                    key.value
                ),
            );
            return None;
        }
        return Some(StepKind::Restore);
    }
    if let Some(run) = &s.run {
        let empty = || {
            format!(
                "{path}.run: empty command: expected a list of the program and its arguments, e.g. {RUN_EXAMPLE}"
            )
        };
        let argv = match &run.value {
            None => {
                c.at(run, empty());
                return None;
            }
            Some(Argv::Text) => {
                c.at(
                    run,
                    format!(
                        "{path}.run: expected a list of the program and its arguments, e.g. {RUN_EXAMPLE}; for a command line, use `shell:` instead"
                    ),
                );
                return None;
            }
            Some(Argv::List(items)) if items.is_empty() => {
                c.at(run, empty());
                return None;
            }
            Some(Argv::List(items)) => items,
        };
        let mut ok = true;
        if argv[0].value.is_empty() {
            c.at(&argv[0], format!("{path}.run[0]: empty program name"));
            ok = false;
        }
        for (j, arg) in argv.iter().enumerate() {
            ok &= placeholders(c, &format!("{path}.run[{j}]"), &arg.referenced, &arg.value);
        }
        ok &= no_placeholder_in_code(c, path, argv);
        let env = step_env(c, path, s);
        let (expect_exit, expect_stdout) = run_expectations(c, path, s)?;
        let env = env?;
        return ok.then(|| StepKind::Run {
            command: Command::Argv(argv.iter().map(|a| a.value.clone()).collect()),
            expect_exit,
            expect_stdout,
            env,
        });
    }
    if let Some(shell) = &s.shell {
        let Some(text) = shell.value.as_ref().filter(|t| !t.trim().is_empty()) else {
            c.at(
                shell,
                format!("{path}.shell: empty command: expected a command line to run with sh -c"),
            );
            return None;
        };
        let ok = placeholders(c, &format!("{path}.shell"), &shell.referenced, text);
        let script = match placeholder::shell_script(text) {
            Ok(script) => Some(script),
            Err(troubles) => {
                for t in troubles {
                    c.at(shell, format!("{path}.shell: {t}"));
                }
                None
            }
        };
        let env = step_env(c, path, s);
        let (expect_exit, expect_stdout) = run_expectations(c, path, s)?;
        let env = env?;
        let script = script?;
        return ok.then(|| StepKind::Run {
            command: Command::Shell {
                text: text.clone(),
                script,
            },
            expect_exit,
            expect_stdout,
            env,
        });
    }
    if let Some(http) = &s.http {
        let Some(raw) = &http.value else {
            c.at(
                http,
                format!(
                    "{path}.http: expected a map with at least `url`, e.g. {{url: \"http://127.0.0.1:8080/health\"}}"
                ),
            );
            return None;
        };
        return http_step(c, &format!("{path}.http"), http, raw);
    }
    if let Some(approve) = &s.approve {
        let Some(prompt) = approve.value.as_ref().filter(|t| !t.trim().is_empty()) else {
            c.at(
                approve,
                format!(
                    "{path}.approve: empty prompt: expected the question the operator must confirm, e.g. \"Is DNS pointing at the standby site?\""
                ),
            );
            return None;
        };
        let unattended = match &s.unattended {
            None => None,
            Some(u) => Some(c.choice(
                &format!("{path}.unattended"),
                u,
                &[("pass", Unattended::Pass), ("fail", Unattended::Fail)],
            )?),
        };
        return Some(StepKind::Approve {
            prompt: prompt.clone(),
            unattended,
            at: Position {
                line: u32::try_from(approve.referenced.line()).unwrap_or(u32::MAX),
                column: u32::try_from(approve.referenced.column()).unwrap_or(u32::MAX),
            },
        });
    }
    if let Some(wait) = &s.wait {
        let text = wait.value.clone().unwrap_or_default();
        let spanned = Spanned::new(text, wait.referenced, wait.defined);
        return c
            .positive_duration(&format!("{path}.wait"), &spanned)
            .map(StepKind::Wait);
    }
    None
}

/// Set by lifeboat itself for every `run`/`shell` step; `env:` may not override them.
const RESERVED_ENV: [&str; 2] = ["LIFEBOAT_SCRATCH", "LIFEBOAT_RECOVERY_POINT"];

/// `env:` of a run or shell step: names a shell accepts, values text with `${VAR}` resolved
/// (never echoed) and only known placeholders.
fn step_env(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<Vec<EnvVar>> {
    let Some(raw) = &s.env else {
        return Some(Vec::new());
    };
    let mut vars = Vec::new();
    let mut ok = true;
    for (key, value) in &raw.value.0 {
        let at = format!("{path}.env.{}", key.value);
        let name_ok = key
            .value
            .starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
            && key
                .value
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !name_ok {
            c.at(
                key,
                format!(
                    "{path}.env: {} is not a variable name: expected letters, digits and _, not starting with a digit",
                    quote(&key.value)
                ),
            );
            ok = false;
            continue;
        }
        if RESERVED_ENV.contains(&key.value.as_str()) {
            c.at(
                key,
                format!("{at}: set by lifeboat for every step; choose another name"),
            );
            ok = false;
            continue;
        }
        let Some(text) = &value.value else {
            c.at(value, format!("{at}: no value: expected text"));
            ok = false;
            continue;
        };
        if !placeholders(c, &at, &value.referenced, text) {
            ok = false;
            continue;
        }
        if let Some(&(_, p)) = placeholder::find(text).first()
            && placeholder::code::variable_runs_as_code(&key.value)
        {
            c.at(
                value,
                format!(
                    "{at}: {p} is in a variable whose value shells expand as code (BASH_ENV, ENV, the prompts): a value from the backup must never become code; name a file the runbook controls"
                ),
            );
            ok = false;
            continue;
        }
        match resolve_env(c, &at, &value.referenced, text) {
            Some(resolved) => vars.push(EnvVar {
                name: key.value.clone(),
                value: resolved,
                template: text.clone(),
            }),
            None => ok = false,
        }
    }
    ok.then_some(vars)
}

/// `expect_exit` and `expect_stdout` of a run or shell step.
fn run_expectations(c: &mut Check<'_>, path: &str, s: &RawStep) -> Option<(i32, Option<String>)> {
    let expect_exit = match &s.expect_exit {
        Some(e) => c.integer::<i32>(
            &format!("{path}.expect_exit"),
            e,
            0..=255,
            "an exit code from 0 to 255",
        )?,
        None => 0,
    };
    Some((
        expect_exit,
        s.expect_stdout.as_ref().map(|e| e.value.clone()),
    ))
}

/// Every `{word}` must be a known placeholder, so `{scrach}` cannot reach a command as
/// literal text. `${word}` is left alone: that is the shell's own syntax. A path built on a
/// placeholder may not climb out of the folder it names ([`placeholder::climbs_out`]).
fn placeholders(c: &mut Check<'_>, path: &str, at: &Location, text: &str) -> bool {
    let mut ok = true;
    for (start, _) in text.match_indices('{') {
        if text[..start].ends_with('$') {
            continue;
        }
        let inner = &text[start + 1..];
        let Some(end) = inner.find('}') else { continue };
        let word = &inner[..end];
        let is_word = word.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
            && word
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if let Some(climbing) = placeholder::climbs_out(text, start) {
            c.at_location(
                at,
                format!(
                    "{path}: `{climbing}` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders"
                ),
            );
            ok = false;
        }
        if is_word && !PLACEHOLDERS.contains(&word) {
            c.at_location(
                at,
                format!(
                    "{path}: unknown placeholder {{{word}}}: expected {{scratch}} or {{recovery_point}}{}",
                    did_you_mean(word, PLACEHOLDERS)
                ),
            );
            ok = false;
        }
    }
    ok
}

/// A `run:` argument another interpreter runs as code (`sh -c SCRIPT`, `python3 -c CODE`)
/// holds no placeholder: the value would become code ([`placeholder::code`]).
fn no_placeholder_in_code(c: &mut Check<'_>, path: &str, argv: &[Spanned<String>]) -> bool {
    let words: Vec<&str> = argv.iter().map(|a| a.value.as_str()).collect();
    let mut ok = true;
    for (j, arg) in argv.iter().enumerate() {
        let Some(&(_, p)) = placeholder::find(&arg.value).first() else {
            continue;
        };
        if let Some(interpreter) = placeholder::code::runs_as_code(&words, j) {
            let trouble = placeholder::Trouble::Code {
                placeholder: p,
                interpreter,
            };
            c.at(
                arg,
                format!(
                    "{path}.run[{j}]: {trouble} (a `shell:` step does this for a shell script: its placeholders are references to the environment)"
                ),
            );
            ok = false;
        }
    }
    ok
}

/// The first placeholder before the path of `url` (in its scheme, user, host or port).
fn placeholder_in_authority(url: &str) -> Option<placeholder::Placeholder> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    placeholder::find(url)
        .into_iter()
        .find(|&(at, _)| at < path)
        .map(|(_, p)| p)
}

fn http_url_ok(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    }) && !url.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

fn http_step(
    c: &mut Check<'_>,
    path: &str,
    at: &Spanned<Option<RawHttp>>,
    raw: &RawHttp,
) -> Option<StepKind> {
    let RawHttp {
        url,
        method,
        expect_status,
        expect_body,
        retries,
        interval,
    } = raw;
    let url = match url {
        None => {
            c.missing(
                Some(at),
                &format!("{path}.url"),
                "an http:// or https:// URL",
            );
            None
        }
        Some(u) if !placeholders(c, &format!("{path}.url"), &u.referenced, &u.value) => None,
        Some(u) => match resolve_env(c, &format!("{path}.url"), &u.referenced, &u.value) {
            Some(url) if let Some(p) = placeholder_in_authority(&url) => {
                c.at(
                    u,
                    format!(
                        "{path}.url: {p} is in the URL's host: a value from the backup must not choose where lifeboat connects; put it in the path or the query, where it is percent-encoded"
                    ),
                );
                None
            }
            Some(url) if http_url_ok(&url) => Some(url),
            Some(_) => {
                // The template is shown, never the resolved URL: `${VAR}` may hold a token.
                let from_env = if u.value.contains("${") {
                    " (with ${VAR} resolved from the environment)"
                } else {
                    ""
                };
                c.at(
                    u,
                    format!(
                        "{path}.url: {}{from_env} is not an http:// or https:// URL",
                        quote(&u.value)
                    ),
                );
                None
            }
            None => None,
        },
    };
    let method = match method {
        None => Some("GET".to_owned()),
        Some(m) => {
            let upper = m.value.to_ascii_uppercase();
            if HTTP_METHODS.contains(&upper.as_str()) {
                Some(upper)
            } else {
                c.at(
                    m,
                    format!(
                        "{path}.method: unknown value {}: expected one of {}",
                        quote(&m.value),
                        HTTP_METHODS.join(", ")
                    ),
                );
                None
            }
        }
    };
    let expect_status = match expect_status {
        None => Some(200),
        Some(s) => c.integer::<u16>(
            &format!("{path}.expect_status"),
            s,
            100..=599,
            "an HTTP status code from 100 to 599",
        ),
    };
    let retries = match retries {
        None => Some(0),
        Some(r) => c.integer::<u32>(
            &format!("{path}.retries"),
            r,
            0..=i128::from(u32::MAX),
            "a whole number of retries, 0 or more",
        ),
    };
    let interval = match interval {
        None => Some(Duration::from_secs(1)),
        Some(i) => c.positive_duration(&format!("{path}.interval"), i),
    };
    Some(StepKind::Http {
        url: url?,
        url_template: raw
            .url
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_default(),
        method: method?,
        expect_status: expect_status?,
        expect_body: expect_body.as_ref().map(|b| b.value.clone()),
        retries: retries?,
        interval: interval?,
    })
}

fn notify(c: &mut Check<'_>, raw: Option<&Spanned<Vec<Spanned<RawNotify>>>>) -> Vec<NotifySpec> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    raw.value
        .iter()
        .enumerate()
        .filter_map(|(i, n)| notify_one(c, &format!("notify[{i}]"), n))
        .collect()
}

fn notify_one(c: &mut Check<'_>, path: &str, raw: &Spanned<RawNotify>) -> Option<NotifySpec> {
    let RawNotify { webhook, on } = &raw.value;
    let webhook_template = webhook
        .as_ref()
        .map(|w| w.value.clone())
        .unwrap_or_default();
    let webhook = match webhook {
        None => {
            c.missing(
                Some(raw),
                &format!("{path}.webhook"),
                "an http:// or https:// URL",
            );
            None
        }
        Some(w) => {
            let path = format!("{path}.webhook");
            match resolve_env(c, &path, &w.referenced, &w.value) {
                // Not echoed: webhook URLs usually embed the token that authorizes posting.
                Some(url) if !http_url_ok(&url) => {
                    c.at(
                        w,
                        format!(
                            "{path}: expected an http:// or https:// URL (value not shown: webhook URLs often hold tokens)"
                        ),
                    );
                    None
                }
                other => other,
            }
        }
    };
    let outcomes = [
        ("passed", Outcome::Passed),
        ("failed", Outcome::Failed),
        ("error", Outcome::Error),
    ];
    let on = match on {
        None => Some(vec![Outcome::Failed, Outcome::Error]),
        Some(list) if list.value.is_empty() => {
            c.at(
                list,
                format!("{path}.on: empty list: expected one or more of passed, failed, error"),
            );
            None
        }
        Some(list) => {
            let mut chosen = Vec::new();
            let mut ok = true;
            for (j, item) in list.value.iter().enumerate() {
                match c.choice(&format!("{path}.on[{j}]"), item, &outcomes) {
                    Some(o) if !chosen.contains(&o) => chosen.push(o),
                    Some(_) => {}
                    None => ok = false,
                }
            }
            ok.then_some(chosen)
        }
    };
    Some(NotifySpec {
        webhook: webhook?,
        webhook_template,
        on: on?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("payments-files", true)]
    #[test_case("a", true)]
    #[test_case("0.db_main-2", true)]
    #[test_case("Payments", false)]
    #[test_case("-x", false)]
    #[test_case(".x", false)]
    #[test_case("", false)]
    #[test_case("a b", false)]
    #[test_case("é", false)]
    fn runbook_names(name: &str, ok: bool) {
        assert_eq!(is_runbook_name(name), ok);
    }

    #[test]
    fn runbook_name_length_limit() {
        assert!(is_runbook_name(&"a".repeat(63)));
        assert!(!is_runbook_name(&"a".repeat(64)));
    }

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
