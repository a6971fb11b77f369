//! The runbook's placeholder syntax, in one place: `{scratch}` and `{recovery_point}` (how a
//! step names the recovery point being drilled, and why a value from the backup can never
//! become code), and `${NAME}`, a value from lifeboat's own environment ([`mod@env`]).
//!
//! Both values come from the backup: a point's id is a folder or prefix name the backed-up
//! machine chose, and the scratch folder's path ends in it. So each place a placeholder may
//! stand treats its value as data, by construction:
//!
//! - **`shell:` text** never holds a value. [`shell_script`] writes each placeholder as a
//!   reference to the environment variable lifeboat sets for every step
//!   (`LIFEBOAT_SCRATCH`, `LIFEBOAT_RECOVERY_POINT`), quoted for where it stands, so the shell
//!   expands it as data in every context; it refuses the places where a shell would read the
//!   expanded value again as code (another interpreter's code, `eval`, `$((...))`).
//! - **`run:` arguments and `env:` values** get the value as it is, one argument or one
//!   variable, through [`substitute`]: no shell reads them. An argument another interpreter
//!   runs as code (`sh -c SCRIPT`, `python3 -c CODE`, ...) may hold no placeholder:
//!   [`code::runs_as_code`].
//! - **`http` URLs** get it percent-encoded ([`url_component`]), and only after the host.
//!
//! Every `{word}` in a step's text must be one of these two ([`misuses`]), so a typo such as
//! `{scrach}` cannot reach a command as literal text.
//!
//! This module only computes text; validation reports what it refuses, and the drill runs what
//! validation accepted.

pub mod code;
pub mod env;
pub mod shell;
mod trouble;

pub use shell::shell_script;
pub use trouble::Trouble;

/// A placeholder a step may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{scratch}`: the folder holding the point's restored files.
    Scratch,
    /// `{recovery_point}`: the point's id.
    RecoveryPoint,
}

impl Placeholder {
    /// Every placeholder, in the order messages list them.
    pub const ALL: [Placeholder; 2] = [Placeholder::Scratch, Placeholder::RecoveryPoint];

    /// The word between the braces.
    pub fn word(self) -> &'static str {
        match self {
            Placeholder::Scratch => "scratch",
            Placeholder::RecoveryPoint => "recovery_point",
        }
    }

    /// As a runbook writes it, braces included.
    pub fn text(self) -> &'static str {
        match self {
            Placeholder::Scratch => "{scratch}",
            Placeholder::RecoveryPoint => "{recovery_point}",
        }
    }

    /// The environment variable that holds its value in every `run`/`shell` step.
    pub fn var(self) -> &'static str {
        match self {
            Placeholder::Scratch => "LIFEBOAT_SCRATCH",
            Placeholder::RecoveryPoint => "LIFEBOAT_RECOVERY_POINT",
        }
    }

    /// The placeholder starting at byte `at` of `text`. `${scratch}` is the shell's own
    /// syntax, never a placeholder.
    pub fn at(text: &str, at: usize) -> Option<Placeholder> {
        if at > 0 && text.as_bytes().get(at - 1) == Some(&b'$') {
            return None;
        }
        let rest = text.get(at..)?;
        Placeholder::ALL
            .into_iter()
            .find(|p| rest.starts_with(p.text()))
    }
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// Every placeholder in `text`, with its byte offset.
pub fn find(text: &str) -> Vec<(usize, Placeholder)> {
    text.match_indices('{')
        .filter_map(|(i, _)| Placeholder::at(text, i).map(|p| (i, p)))
        .collect()
}

/// A misuse of the placeholder syntax in one value of a step, as [`misuses`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misuse<'a> {
    /// A path built on a placeholder that leads out of the folder it names: the text from the
    /// placeholder through the `..` that climbs out ([`climbs_out`]).
    ClimbsOut(&'a str),
    /// `{word}` where `word` is a name but no placeholder: the word.
    Unknown(&'a str),
}

/// Every misuse in `text`, in the order met: a `{word}` that names no placeholder, and a path
/// on a placeholder that climbs out of it. `${word}` is left alone: that is the environment's
/// syntax ([`mod@env`]), or, in a `shell:` line, the shell's own.
pub fn misuses(text: &str) -> Vec<Misuse<'_>> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices('{') {
        if text[..start].ends_with('$') {
            continue;
        }
        let inner = &text[start + 1..];
        let Some(end) = inner.find('}') else { continue };
        let word = &inner[..end];
        if let Some(climbing) = climbs_out(text, start) {
            found.push(Misuse::ClimbsOut(climbing));
        }
        if env::is_name(word) && !Placeholder::ALL.iter().any(|p| p.word() == word) {
            found.push(Misuse::Unknown(word));
        }
    }
    found
}

/// `text` with each placeholder replaced by its value passed through `encode`: as it is for a
/// `run:` argument or an `env:` value, [`url_component`] for a URL.
pub fn substitute(
    text: &str,
    scratch: &str,
    recovery_point: &str,
    encode: &dyn Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, p) in find(text) {
        out.push_str(&text[copied..at]);
        out.push_str(&encode(match p {
            Placeholder::Scratch => scratch,
            Placeholder::RecoveryPoint => recovery_point,
        }));
        copied = at + p.text().len();
    }
    out.push_str(&text[copied..]);
    out
}

/// `value` percent-encoded as one URL component: every byte but RFC 3986's unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`), so no `/`, `?`, `#`, `@`, `&`, `=`, `+` or `%` in it
/// can change what the URL means.
pub fn url_component(value: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    /// Every byte but the unreserved characters: `NON_ALPHANUMERIC` also encodes `-._~`.
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The text from a placeholder at `at` through the `..` segment that leads out of the folder
/// it names, if any: `{scratch}/..`, `{scratch}/a/../..`, `{scratch}/./..`, `{scratch}//..`.
/// The path is normalised lexically: `.` and empty segments stay put, a name goes down, `..`
/// goes up; quotes are skipped (`"{scratch}"/..` is the same path to a shell). Text glued to
/// the placeholder (`{scratch}-old/..`) names a sibling, so a `..` after it leads out too.
/// The path ends at a blank or a shell operator.
pub fn climbs_out(text: &str, at: usize) -> Option<&str> {
    let p = Placeholder::at(text, at)?;
    let start = at + p.text().len();
    let mut depth = 0usize;
    // Bytes of the segment being read; `None` before the first `/` (glued to the
    // placeholder's own last segment).
    let mut segment: Option<Vec<u8>> = None;
    let mut end = start;
    let bytes = text.as_bytes();
    loop {
        let b = bytes.get(end).copied();
        let closes = match b {
            None => true,
            Some(b) => b == b'/' || b.is_ascii_whitespace() || b";|&()<>`".contains(&b),
        };
        if closes {
            if let Some(seg) = segment.take() {
                match seg.as_slice() {
                    b"" | b"." => {}
                    b".." if depth == 0 => return Some(&text[at..end]),
                    b".." => depth -= 1,
                    _ => depth += 1,
                }
            }
            if b != Some(b'/') {
                return None;
            }
            segment = Some(Vec::new());
        } else if let (Some(seg), Some(b)) = (segment.as_mut(), b)
            && b != b'"'
            && b != b'\''
        {
            seg.push(b);
        }
        end += 1;
    }
}

#[cfg(test)]
mod tests;
