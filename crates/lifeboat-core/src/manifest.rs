//! Manifests in the `sha256sum` / `b3sum` text formats, and the path-safety rule.
//!
//! Accepted lines: `HEX  PATH` (text mode), `HEX *PATH` (binary marker) and the
//! backslash-escaped form coreutils writes for names holding `\`, newline or CR:
//! a leading `\` before the digest, then `\\`, `\n`, `\r` in the name.

use crate::Algorithm;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path exactly as the manifest names it (unescaped), relative to the recovery point.
    pub path: String,
    /// The expected digest, lowercase hex.
    pub digest: String,
    /// 1-based line number in the manifest.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    pub line: usize,
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
pub fn format_line(digest_hex: &str, path: &str) -> String {
    imp::format_line(digest_hex, path)
}

/// Checks that a manifest path stays inside the folder it is restored into, and returns its
/// `/`-separated normal components. Refuses: empty paths, absolute paths, any `..` segment,
/// empty or `.`-only results, NUL bytes, and Windows drive or UNC forms. The error is the
/// reason text ("unsafe path: ...").
pub fn safe_components(path: &str) -> Result<Vec<&str>, String> {
    imp::safe_components(path)
}

mod imp;
