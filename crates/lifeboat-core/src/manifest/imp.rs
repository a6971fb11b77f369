//! The manifest grammar and the path-safety rule; the accepted format and the reasons for each
//! choice are in the parent module's doc.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;

use super::*;

/// Both algorithms produce 32-byte digests.
const DIGEST_HEX_LEN: usize = 64;

/// What every malformed-line message says was expected.
const EXPECTED: &str = r#"expected "<64 hex digits>  <path>""#;

/// Longest piece of a bad line quoted back in an error, in characters: the digest and the
/// start of the path, which is what tells the reader which line it is. Lines can be long
/// (deep paths, or a binary file mistaken for a manifest).
const SNIPPET_CHARS: usize = 100;

pub(super) fn parse(bytes: &[u8], algorithm: Algorithm) -> Result<Vec<Entry>, ManifestError> {
    // Validate UTF-8 once for the whole manifest rather than per line: it is far faster, and it
    // lets the line splitting below use `str`'s memchr-based search. When a byte is invalid,
    // only the lines before the one holding it are parsed as text; that line is then the error
    // (unless an earlier line already is one).
    let (text, bad_utf8) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = e.valid_up_to();
            let line_start = bytes[..valid]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let text = std::str::from_utf8(&bytes[..line_start])
                .expect("a prefix of valid UTF-8 ending at a newline is valid UTF-8");
            (text, Some((line_start, valid)))
        }
    };

    let mut entries = Vec::new();
    let mut first_error = None;
    let mut line_no = 0;
    let mut crlf = None;
    let mut rest = text;
    while !rest.is_empty() {
        line_no += 1;
        // Look no further for the line's end than the longest line allowed: a line with no
        // end within it is an error, whatever its length.
        let mut window = rest.len().min(MAX_LINE_BYTES + 1);
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        let (raw, terminated) = match rest[..window].find('\n') {
            Some(i) => {
                let raw = &rest[..i];
                rest = &rest[i + 1..];
                (raw, true)
            }
            None if rest.len() > MAX_LINE_BYTES => {
                first_error = Some(ManifestError {
                    line: line_no,
                    message: format!(
                        "{EXPECTED}, found {}: the line is over the {MAX_LINE_BYTES}-byte limit \
                         (a digest and a path of at most {MAX_PATH_BYTES} bytes, PATH_MAX, \
                         with every byte escaped)",
                        snippet(&rest[..window])
                    ),
                });
                break;
            }
            None => (std::mem::take(&mut rest), false),
        };
        match parse_line(raw, terminated, &mut crlf, algorithm) {
            Ok(None) => {}
            Ok(Some((digest, path))) => entries.push(Entry {
                path,
                digest,
                line: line_no,
            }),
            Err(message) => {
                first_error = Some(ManifestError {
                    line: line_no,
                    message,
                });
                break;
            }
        }
    }
    if first_error.is_none()
        && let Some((line_start, valid)) = bad_utf8
    {
        first_error = Some(utf8_error(
            &bytes[line_start..],
            valid - line_start,
            line_no + 1,
        ));
    }

    // A duplicate is reported at its second occurrence; the entries collected so far all lie
    // before any line error, so whichever of the two comes first in the file wins.
    if let Some(dup) = find_duplicate(&entries) {
        return Err(dup);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(entries),
    }
}

/// Parses one line (without its `\n`). `Ok(None)` for blank and comment lines.
/// `crlf` records whether the first line ended with CR LF, which fixes the manifest's line
/// ending for every later line.
fn parse_line(
    raw: &str,
    terminated: bool,
    crlf: &mut Option<bool>,
    algorithm: Algorithm,
) -> Result<Option<(String, String)>, String> {
    let ends_cr = raw.ends_with('\r');
    let line = match (*crlf, terminated) {
        (None, true) => {
            *crlf = Some(ends_cr);
            raw.strip_suffix('\r').unwrap_or(raw)
        }
        // A last line without a newline: nothing to compare against, so take a CR as the
        // CRLF ending only in a CRLF manifest (or a one-line one), as for the other lines.
        (None, false) | (Some(true), _) => raw.strip_suffix('\r').unwrap_or(raw),
        (Some(false), _) if ends_cr => {
            return Err(format!(
                "{EXPECTED}, found {}: the line ends with CR LF but the manifest's first line \
                 ends with LF alone, so the CR could be the last character of the name; use one \
                 line ending throughout, and write a CR in a name as \\r (with a leading \\ on \
                 the line, as sha256sum does)",
                snippet(raw)
            ));
        }
        (Some(false), _) => raw,
    };
    if *crlf == Some(true) && terminated && !ends_cr {
        return Err(format!(
            "{EXPECTED}, found {}: the line ends with LF alone but the manifest's first line \
             ends with CR LF; use one line ending throughout",
            snippet(raw)
        ));
    }
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }

    let bad = |detail: &str| format!("{EXPECTED}, found {}: {detail}", snippet(line));
    let (escaped, body) = match line.strip_prefix('\\') {
        Some(body) => (true, body),
        None => (false, line),
    };
    let hex_len = body.bytes().take_while(u8::is_ascii_hexdigit).count();
    if hex_len != DIGEST_HEX_LEN {
        if hex_len == 0 {
            if is_tagged(body) {
                return Err(bad(
                    "this is a BSD-style tagged line (written with --tag); write the manifest \
                     without --tag",
                ));
            }
            return Err(bad("the line does not start with a hex digest"));
        }
        let next = body[hex_len..].chars().next();
        if hex_len > DIGEST_HEX_LEN || matches!(next, None | Some(' ' | '\t')) {
            return Err(bad(&format!(
                "the digest has {hex_len} hex digits; {algorithm} digests have {DIGEST_HEX_LEN}"
            )));
        }
        return Err(bad(&format!(
            "{:?} is not a hex digit",
            next.expect("checked above")
        )));
    }
    let after = &body[DIGEST_HEX_LEN..];
    let path = match after.as_bytes() {
        [b' ', b' ' | b'*', ..] => &after[2..],
        [] | [b' '] => return Err(bad("the path is missing")),
        [b' ', ..] => {
            return Err(bad(
                "the digest must be followed by two spaces, or by a space and `*`; a single \
                 space (the `md5 -r` form) is refused because a name starting with a space or \
                 `*` would be ambiguous",
            ));
        }
        _ => {
            return Err(bad(
                "the digest must be followed by two spaces, or by a space and `*`",
            ));
        }
    };
    if path.is_empty() {
        return Err(bad("the path is empty"));
    }
    let path = if escaped {
        unescape(path).map_err(|detail| bad(&detail))?
    } else {
        path.to_owned()
    };
    if path.len() > MAX_PATH_BYTES {
        return Err(bad(&format!(
            "the path is {} bytes, over the {MAX_PATH_BYTES}-byte limit (PATH_MAX)",
            path.len()
        )));
    }
    Ok(Some((body[..DIGEST_HEX_LEN].to_ascii_lowercase(), path)))
}

/// Whether a line looks like coreutils' `--tag` form, `SHA256 (path) = hex`.
fn is_tagged(body: &str) -> bool {
    let name_len = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    name_len > 0 && body[name_len..].starts_with(" (") && body.contains(") = ")
}

/// Undoes coreutils' name escaping: `\\`, `\n` and `\r`; anything else is malformed, as in
/// `sha256sum -c`.
fn unescape(path: &str) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                return Err(format!(
                    "`\\{}` is not a valid escape in a name (the line starts with `\\`); only \
                     `\\\\`, `\\n` and `\\r` are",
                    other.escape_debug()
                ));
            }
            None => {
                return Err(
                    "the name ends with a lone `\\` (the line starts with `\\`, so a backslash \
                     in the name must be written `\\\\`)"
                        .to_owned(),
                );
            }
        }
    }
    Ok(out)
}

/// The error for the line holding the first invalid UTF-8 byte. `line` starts at that line;
/// `offset` is the bad byte's offset in it.
fn utf8_error(line: &[u8], offset: usize, line_no: usize) -> ManifestError {
    // Only the snippet's worth of the line is decoded: the line may be megabytes long.
    let end = line.len().min(4 * SNIPPET_CHARS + 4);
    let end = line[..end].iter().position(|&b| b == b'\n').unwrap_or(end);
    let shown = String::from_utf8_lossy(&line[..end]);
    ManifestError {
        line: line_no,
        message: format!(
            "{EXPECTED}, found {}: byte {} (0x{:02x}) is not valid UTF-8; lifeboat reads \
             manifests as UTF-8, as b3sum writes them",
            snippet(shown.trim_end_matches('\r')),
            offset + 1,
            line[offset]
        ),
    }
}

/// The start of a bad line, quoted and with control characters made visible.
fn snippet(line: &str) -> String {
    let mut out = String::from('"');
    let mut chars = line.chars();
    for c in chars.by_ref().take(SNIPPET_CHARS) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

/// The first entry naming a file an earlier entry already named. `./a` and `a//b` name the
/// same files as `a` and `a/b`: both would be restored to the same place.
fn find_duplicate(entries: &[Entry]) -> Option<ManifestError> {
    let mut seen: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        match seen.entry(dedup_key(&entry.path)) {
            Slot::Vacant(v) => {
                v.insert(i);
            }
            Slot::Occupied(o) => {
                let first = &entries[*o.get()];
                let message = if first.path == entry.path {
                    format!(
                        "duplicate path {}: already listed on line {}",
                        snippet(&entry.path),
                        first.line
                    )
                } else {
                    format!(
                        "duplicate path {}: names the same file as {} on line {}",
                        snippet(&entry.path),
                        snippet(&first.path),
                        first.line
                    )
                };
                return Some(ManifestError {
                    line: entry.line,
                    message,
                });
            }
        }
    }
    None
}

/// The path itself when it is already in normal form (the common case: no allocation),
/// otherwise its normalised form; unsafe paths are compared as written.
fn dedup_key(path: &str) -> Cow<'_, str> {
    if path.split('/').all(|s| !s.is_empty() && s != ".") {
        return Cow::Borrowed(path);
    }
    match safe_components(path) {
        Ok(parts) => Cow::Owned(parts.join("/")),
        Err(_) => Cow::Borrowed(path),
    }
}

pub(super) fn format_line(digest_hex: &str, path: &str) -> String {
    let escape = path.contains(['\\', '\n', '\r']);
    let mut out = String::with_capacity(digest_hex.len() + path.len() + 4);
    if escape {
        out.push('\\');
    }
    out.push_str(digest_hex);
    out.push_str("  ");
    if escape {
        for c in path.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    } else {
        out.push_str(path);
    }
    out
}

pub(super) fn safe_components(path: &str) -> Result<Vec<&str>, String> {
    let unsafe_path = |why: &str| Err(format!("unsafe path: {why}"));
    if path.is_empty() {
        return unsafe_path("empty path");
    }
    if path.contains('\0') {
        return unsafe_path("NUL byte");
    }
    if path.starts_with('/') {
        return unsafe_path("absolute path");
    }
    // `C:\x`, `C:x` and `\\server\share` mean nothing special on Unix, but a restore or a
    // later copy on Windows would leave the scratch area: refuse them everywhere.
    let b = path.as_bytes();
    if (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') || path.starts_with("\\\\") {
        return unsafe_path("drive or UNC prefix");
    }
    let mut parts = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return unsafe_path("\"..\" segment"),
            s if s.len() > MAX_NAME_BYTES => {
                return Err(format!(
                    "name too long: the component {} is {} bytes; no file system lifeboat \
                     restores into holds more than {MAX_NAME_BYTES} (NAME_MAX)",
                    snippet(s),
                    s.len()
                ));
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return unsafe_path("no file name (only \".\" and empty segments)");
    }
    Ok(parts)
}

#[cfg(test)]
mod tests;
