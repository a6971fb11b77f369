//! Runbook format version 1: parsed from YAML into raw serde structs, then validated into
//! [`Runbook`], the only type the rest of lifeboat accepts.
//!
//! Validation collects every problem at once; each [`Problem`] knows its line, column and key
//! path so the CLI can print `FILE:LINE:COLUMN: message`.
//!
//! The parts, each depending only on those listed before it: [`Problem`] (what is wrong, and
//! where), the validated model ([`Runbook`] and its sections), the raw serde structs and the
//! YAML reading (`raw`), and the rules that turn one into the other (`validate`, one file per
//! runbook section). This file only wires them together.

pub use model::{
    CatchUp, Command, CoverageSpec, DEFAULT_START_WINDOW, EnvVar, Keep, ManifestFormat,
    ManifestSpec, NotifySpec, Objectives, PointTime, Position, RecoveryPointsSpec, ResticPassword,
    ResticSpec, Runbook, SampleSize, SampleSpec, ScheduleSpec, ScratchSpec, ScratchSync, Select,
    SourceFormat, SourceKind, SourceSpec, Step, StepKind, Unattended,
};
pub use options::{OptionType, SOURCE_OPTIONS, SourceOption, source_option, source_option_keys};
pub use problem::{Problem, RunbookError};
pub use raw::MAX_RUNBOOK_BYTES;

/// Parses and validates runbook source text.
///
/// `file` is only used to label problems. `env` resolves `${VAR}` in `source.options`
/// (pass `|k| std::env::var(k).ok()` in the binary, a fixed map in tests); an unset variable
/// is a problem naming it.
pub fn parse(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Runbook, RunbookError> {
    if text.len() > MAX_RUNBOOK_BYTES {
        return Err(failure(file, vec![too_large(text.len())]));
    }
    let raw = raw::read(text).map_err(|p| failure(file, p))?;
    validate::validate(&raw, env).map_err(|p| failure(file, p))
}

/// Like [`parse`], for a file's bytes as read. Refuses, as a problem at the start of the file
/// or at the offending byte, input over [`MAX_RUNBOOK_BYTES`] and input that is not UTF-8.
pub fn parse_bytes(
    bytes: &[u8],
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Runbook, RunbookError> {
    if bytes.len() > MAX_RUNBOOK_BYTES {
        return Err(failure(file, vec![too_large(bytes.len())]));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, file, env),
        Err(e) => Err(failure(file, vec![not_utf8(bytes, &e)])),
    }
}

/// What [`lint_bytes`] found: [`parse_bytes`]'s verdict, with each `${VAR}` that names an
/// unset variable set apart, so a runbook can be checked where its secrets are not.
#[derive(Clone, Debug)]
pub struct Lint {
    /// The file, as given (it prefixes every problem).
    pub file: String,
    /// The validated runbook: only when nothing is wrong and every variable is set. Nothing
    /// else here is a runbook a drill may run.
    pub runbook: Option<Runbook>,
    /// Every problem but unset variables, in the order of their positions. Any makes the
    /// runbook invalid.
    pub problems: Vec<Problem>,
    /// Every `${VAR}` naming a variable the environment lacks, in order. A drill refuses the
    /// runbook until they are set; what depends on their values is not checked.
    pub unset: Vec<Problem>,
    /// The runbook's `name`, when it is valid, whatever else is wrong.
    pub name: Option<String>,
    /// Its `schedule`, when it has a valid one, whatever else is wrong.
    pub schedule: Option<ScheduleSpec>,
}

impl Lint {
    /// The problems as a [`RunbookError`] (one `FILE:LINE:COLUMN: message` line each), when
    /// there are any.
    pub fn error(&self) -> Option<RunbookError> {
        (!self.problems.is_empty()).then(|| RunbookError {
            file: self.file.clone(),
            problems: self.problems.clone(),
        })
    }
}

/// Like [`parse_bytes`], but a `${VAR}` naming an unset variable is reported apart
/// ([`Lint::unset`]) instead of making the runbook invalid: `lifeboat validate` lints
/// runbooks without their secrets, while a drill (which would use the value) still refuses.
pub fn lint_bytes(bytes: &[u8], file: &str, env: &dyn Fn(&str) -> Option<String>) -> Lint {
    let mut lint = Lint {
        file: file.to_owned(),
        runbook: None,
        problems: Vec::new(),
        unset: Vec::new(),
        name: None,
        schedule: None,
    };
    if bytes.len() > MAX_RUNBOOK_BYTES {
        lint.problems.push(too_large(bytes.len()));
        return lint;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            lint.problems.push(not_utf8(bytes, &e));
            return lint;
        }
    };
    let raw = match raw::read(text) {
        Ok(raw) => raw,
        Err(mut problems) => {
            problems.sort_by_key(|p| (p.line, p.column));
            lint.problems = problems;
            return lint;
        }
    };
    let v = validate::validate_with(&raw, env, true);
    Lint {
        runbook: v.runbook,
        problems: v.problems,
        unset: v.unset,
        name: v.name,
        schedule: v.schedule,
        ..lint
    }
}

/// The time a recovery point's name stands for, under `recovery_points.time: name`:
/// `format` is `time_format` (`None`: RFC 3339). Names without an offset are UTC. The error
/// names the name and the format. Validation checked the format with this same function.
pub fn point_time_from_name(format: Option<&str>, name: &str) -> Result<jiff::Timestamp, String> {
    time_format::time_from_name(format, name)
}

/// The folder a `file://` source URL names, percent-decoded to bytes (a folder's name need
/// not be UTF-8). Refuses a host other than none or `localhost`, and a NUL byte. Validation
/// checks `source.url` with this same function and the drill opens what it returns, so a URL
/// `validate` accepts is one the drill can decode.
pub fn file_url_path(url: &str) -> Result<std::path::PathBuf, String> {
    file_url::path(url)
}

fn failure(file: &str, mut problems: Vec<Problem>) -> RunbookError {
    problems.sort_by_key(|p| (p.line, p.column));
    RunbookError {
        file: file.to_owned(),
        problems,
    }
}

fn too_large(len: usize) -> Problem {
    #[allow(clippy::cast_precision_loss)] // display only
    let mib = len as f64 / (1024.0 * 1024.0);
    Problem {
        line: 1,
        column: 1,
        message: format!(
            "runbook is {len} bytes ({mib:.1} MiB); the limit is {MAX_RUNBOOK_BYTES} bytes (1 MiB)"
        ),
    }
}

/// Points at the first byte that is not UTF-8, counting columns in characters like the YAML
/// parser does.
fn not_utf8(bytes: &[u8], e: &std::str::Utf8Error) -> Problem {
    let valid = &bytes[..e.valid_up_to()];
    let before = String::from_utf8_lossy(valid);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let byte = bytes[e.valid_up_to()];
    Problem {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        message: format!(
            "runbook is not valid UTF-8: byte 0x{byte:02x} here does not start a valid character; save the file as UTF-8"
        ),
    }
}

mod file_url;
mod model;
mod options;
pub mod placeholder;
mod problem;
mod raw;
mod time_format;
mod validate;
mod wording;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_points_at_the_bad_byte() {
        let bytes = b"version: 1\nname: caf\xe9\n".to_vec();
        let e = std::str::from_utf8(&bytes).unwrap_err();
        let p = not_utf8(&bytes, &e);
        assert_eq!((p.line, p.column), (2, 10));
        assert_eq!(
            p.message,
            "runbook is not valid UTF-8: byte 0xe9 here does not start a valid character; save the file as UTF-8"
        );
    }
}
