//! Manifests in the `sha256sum` / `b3sum` text formats, and the path-safety rule; PostgreSQL's
//! JSON `backup_manifest` is [`pg`].
//!
//! Accepted lines: `HEX  PATH` (text mode), `HEX *PATH` (binary marker) and the
//! backslash-escaped form coreutils writes for names holding `\`, newline or CR:
//! a leading `\` before the digest, then `\\`, `\n`, `\r` in the name.
//!
//! # The grammar, and why
//!
//! lifeboat reads what `sha256sum` (GNU coreutils) and `b3sum` write, and refuses anything that
//! could be read two ways: a manifest decides which bytes a drill trusts, so a doubtful line
//! is an error naming its line, never a guess.
//!
//! - **Digest**: exactly 64 hex digits (both algorithms give 32 bytes), either case, stored
//!   lowercase. Then two spaces, or a space and `*` (binary mode; meaningless on Unix but
//!   written by `sha256sum -b`). Everything after that is the name, leading and trailing
//!   spaces included.
//! - **Escapes**: a line starting with `\` has an escaped name: `\\` is `\`, `\n` a newline,
//!   `\r` a carriage return (coreutils 9.1 writes it); any other escape, or a lone `\`
//!   at the end, is malformed, as in `sha256sum -c`. Without the leading `\`, backslashes
//!   are literal.
//! - **Skipped**: empty lines, and lines starting with `#` — `sha256sum -c` (coreutils 9.1,
//!   checked) skips both. No entry line can start with `#`, so this is unambiguous. (`b3sum`
//!   refuses such lines; accepting them costs nothing.) A line of spaces is not empty: error.
//! - **Line endings**: LF. A CRLF manifest is accepted when its *first* line ends with CR LF:
//!   then every line must, and one CR is dropped from each. When the first line ends with LF
//!   alone, a line ending in CR LF is an error: `b3sum` writes a CR in a name unescaped, so
//!   that CR could be the name's last character. Mixed endings are refused both ways. (The
//!   one case left: a b3sum manifest whose first name ends in CR reads as CRLF, and that
//!   file then fails as missing — loudly.)
//! - **UTF-8**: the manifest must be UTF-8 (`b3sum`'s rule); a line holding invalid UTF-8 is
//!   an error on that line.
//! - **Refused although `sha256sum -c` takes them**: leading whitespace, a tab or a single
//!   space after the digest (`md5 -r` style: ambiguous for names starting with a space or
//!   `*`), and BSD-style `--tag` lines (a hint says so).
//! - **Duplicates**: the same file named twice is an error on the second line, naming the
//!   first; `./a` and `a//b` count as `a` and `a/b`, since they would be restored to the
//!   same place.
//! - **Unsafe names** (`../x`, `/etc/passwd`) parse: the drill refuses them per file with
//!   [`safe_components`]'s reason, so the evidence names each one.
//! - **Bounded**: a manifest is written by the machine a backup protects, so one line cannot
//!   make lifeboat's memory or evidence grow with it (SECURITY.md, class 8).
//!   A path longer than [`MAX_PATH_BYTES`] (Linux's `PATH_MAX`) is an error on its line, and
//!   a line longer than [`MAX_LINE_BYTES`] is one as soon as the parser has looked that far
//!   for its end: it never takes in more of a line than the limit. A name component longer
//!   than [`MAX_NAME_BYTES`] (`NAME_MAX`) parses, and [`safe_components`] fails that file
//!   alone, as no file system lifeboat restores into could hold it.

use crate::Algorithm;

/// The longest path a manifest entry may name, in bytes: Linux's `PATH_MAX`. No file
/// system lifeboat restores into takes a longer one, and it bounds what one entry adds to the
/// evidence.
pub const MAX_PATH_BYTES: usize = 4096;

/// The longest component of a path, in bytes: `NAME_MAX` of Linux's file systems.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest manifest line, in bytes (without its line feed): a leading `\`, the digest,
/// two separator characters, a [`MAX_PATH_BYTES`] path with every byte escaped, and a CR.
pub const MAX_LINE_BYTES: usize = 1 + 64 + 2 + 2 * MAX_PATH_BYTES + 1;

/// One line of a manifest: a file of the recovery point and the digest it must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path exactly as the manifest names it (unescaped), relative to the recovery point.
    pub path: String,
    /// The expected digest, lowercase hex.
    pub digest: String,
    /// 1-based line number in the manifest.
    pub line: usize,
}

/// Why a manifest was refused: the first line that could be read two ways, or not at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    /// 1-based line number of the offending line.
    pub line: usize,
    /// What is wrong with it, quoting at most a snippet of the line.
    pub message: String,
}

/// Parses a whole manifest. The first malformed line is an error naming its line number.
/// Blank lines are skipped. An empty manifest parses to an empty list: the caller must treat
/// "nothing to verify" as a failure.
pub fn parse(bytes: &[u8], algorithm: Algorithm) -> Result<Vec<Entry>, ManifestError> {
    imp::parse(bytes, algorithm)
}

/// Formats one manifest line (without the trailing newline) the way `sha256sum` / `b3sum`
/// would, escaping names that hold `\`, `\n` or `\r`.
///
/// `sha256sum -c` accepts every line this writes. `b3sum --check` does too, except for a name
/// holding a carriage return: b3sum neither writes nor reads the `\r` escape (lifeboat
/// reads it either way).
pub fn format_line(digest_hex: &str, path: &str) -> String {
    imp::format_line(digest_hex, path)
}

/// Checks that a manifest path stays inside the folder it is restored into, and returns its
/// `/`-separated normal components. Refuses: empty paths, absolute paths, any `..` segment,
/// empty or `.`-only results, NUL bytes, and Windows drive or UNC forms (the error is the
/// reason text, "unsafe path: ..."); and a component longer than [`MAX_NAME_BYTES`], which
/// nothing can restore ("name too long: ...").
pub fn safe_components(path: &str) -> Result<Vec<&str>, String> {
    imp::safe_components(path)
}

pub mod pg;

mod imp;
