//! Text from a backup, made safe to show to a person.
//!
//! Recovery point names, object names, manifest lines and the reasons that quote them are
//! written by the machine a backup protects, which an attacker may own. Printed raw, an ESC
//! sequence in a name can retitle or clear the operator's terminal, a CR or LF can print a
//! line that says `PASSED`, and a bidi override (U+202E) can make `exe.txt` read as `txt.exe`.
//! Every place lifeboat shows such text to a person (the terminal, a text log, a report)
//! passes it through [`escape`] (or [`Escaped`], which does the same without allocating), so
//! what the person sees is exactly what the name holds, one visible character at a time.
//!
//! What is escaped, and how it is shown:
//!
//! | characters | shown as |
//! | --- | --- |
//! | ESC, NUL, TAB, LF, CR | `\e`, `\0`, `\t`, `\n`, `\r` |
//! | the other C0 controls (U+0000–U+001F) and DEL | `\x07`, `\x7f`, … |
//! | C1 controls (U+0080–U+009F; U+009B is a one-character CSI on some terminals) | `\u{9b}`, … |
//! | bidi controls: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 | `\u{202e}`, … |
//! | line and paragraph separators U+2028, U+2029 | `\u{2028}`, `\u{2029}` |
//!
//! A backslash is *not* escaped: the output of [`escape`] contains none of the characters
//! above, so escaping twice changes nothing, and a layer that escapes defensively (a log
//! sink) never garbles text an earlier layer already escaped. The price is that a name holding
//! a literal backslash followed by `e` reads like one holding ESC; the evidence record
//! (`evidence.json`) keeps every name exact.
//!
//! [`clip`] bounds how much of such text one message quotes.

use std::borrow::Cow;
use std::fmt;

/// `s` with every character in the module's table replaced by its visible escape; borrowed
/// when there is nothing to escape (the common case).
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, |_| true)
}

/// Like [`escape`], but keeps line feeds: for a message of several lines that lifeboat wrote
/// itself, where each line's values were already escaped (escaping twice changes nothing).
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n')
}

/// Displays a string the way [`escape`] returns it, without allocating:
/// `format!("point {}", Escaped(&id))`.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| needs_escape(c)) {
            f.write_str(&rest[..i])?;
            write_escape(f, c)?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Whether `c` is one of the characters a terminal, a log viewer or a bidi-aware renderer
/// would act on rather than show.
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `s` cut to at most `max_chars` characters by replacing its middle with `…`: the start
/// (which usually says what failed) and the end (which usually names the object) both stay.
/// Borrowed when `s` is short enough. `max_chars` below 3 is taken as 3.
pub fn clip(s: &str, max_chars: usize) -> Cow<'_, str> {
    let max_chars = max_chars.max(3);
    // Cheap exits before counting characters: bytes bound characters from above.
    if s.len() <= max_chars || s.chars().nth(max_chars).is_none() {
        return Cow::Borrowed(s);
    }
    let head = (max_chars - 1) / 2;
    let tail = max_chars - 1 - head;
    let head_end = s.char_indices().nth(head).map_or(s.len(), |(i, _)| i);
    let tail_start = s
        .char_indices()
        .rev()
        .nth(tail - 1)
        .map_or(head_end, |(i, _)| i);
    let mut out = String::with_capacity(head_end + 3 + (s.len() - tail_start));
    out.push_str(&s[..head_end]);
    out.push('…');
    out.push_str(&s[tail_start..]);
    Cow::Owned(out)
}

/// Serialised JSON with the characters of the module's table that JSON leaves raw (DEL, the
/// C1 controls, bidi controls and line separators) written as `\uXXXX` escapes instead.
/// Lossless: the JSON decodes to exactly the same values, but no byte in it can steer a
/// terminal that shows it (`tail -f` on a JSON log, `lifeboat history --json` on a terminal).
/// `json` must be valid JSON (lines of it are fine): every such character then sits inside a
/// string, where the escape means the same character. C0 controls are left alone: JSON
/// escapes them inside strings already, and outside strings they are the line feeds and
/// spaces between values.
pub fn harden_json(json: &str) -> Cow<'_, str> {
    let raw_in_json = |c: char| c > '\u{1f}' && needs_escape(c);
    if !json.chars().any(raw_in_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw_in_json(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape_where(s: &str, escapable: impl Fn(char) -> bool) -> Cow<'_, str> {
    let wanted = |c: char| needs_escape(c) && escapable(c);
    let Some(first) = s.find(wanted) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if wanted(c) {
            // Writing into a String cannot fail.
            let _ = write_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn write_escape(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\u{1b}' => out.write_str("\\e"),
        '\0' => out.write_str("\\0"),
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\u{0}'..='\u{1f}' | '\u{7f}' => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("plain name.txt", "plain name.txt"; "nothing to escape")]
    #[test_case("\u{1b}]0;pwned\u{7}", "\\e]0;pwned\\x07"; "a title-setting OSC sequence")]
    #[test_case("x\u{1b}[2J\rPASSED", "x\\e[2J\\rPASSED"; "clear screen and carriage return")]
    #[test_case("a\nb\tc\0", "a\\nb\\tc\\0"; "newline tab and NUL")]
    #[test_case("del\u{7f}", "del\\x7f"; "DEL")]
    #[test_case("csi\u{9b}31m nel\u{85}", "csi\\u{9b}31m nel\\u{85}"; "C1 controls")]
    #[test_case("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"; "right-to-left override")]
    #[test_case("\u{2066}\u{2069}\u{200e}\u{200f}\u{061c}", "\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{61c}"; "isolates and marks")]
    #[test_case("line\u{2028}sep", "line\\u{2028}sep"; "line separator")]
    #[test_case("é 漢字 🦀 \\e", "é 漢字 🦀 \\e"; "printable unicode and backslashes stay")]
    fn escapes_what_a_terminal_would_act_on(raw: &str, shown: &str) {
        assert_eq!(escape(raw), shown);
        assert_eq!(Escaped(raw).to_string(), shown);
    }

    #[test]
    fn nothing_to_escape_borrows() {
        assert!(matches!(escape("2026-11-21T020000Z"), Cow::Borrowed(_)));
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let once = escape(&all).into_owned();
        assert!(!once.chars().any(needs_escape));
        assert_eq!(escape(&once), once);
        assert_eq!(escape_lines(&once), once);
    }

    #[test]
    fn escape_lines_keeps_only_line_feeds() {
        assert_eq!(
            escape_lines("point x\u{1b}[31m\r\n  next\tline\n"),
            "point x\\e[31m\\r\n  next\\tline\n"
        );
    }

    #[test_case("short", 10, "short"; "short text is kept")]
    #[test_case("0123456789", 10, "0123456789"; "exactly the limit is kept")]
    #[test_case("0123456789a", 10, "0123…6789a"; "one over loses the middle")]
    #[test_case("ééééééééééé", 5, "éé…éé"; "counts characters not bytes")]
    #[test_case("abcdef", 0, "a…f"; "a tiny limit still shows both ends")]
    fn clip_keeps_both_ends(s: &str, max: usize, want: &str) {
        let got = clip(s, max);
        assert_eq!(got, want);
        assert!(got.chars().count() <= max.max(3));
    }

    #[test]
    fn hardened_json_decodes_to_the_same_value() {
        let value = "p\u{9b}2J \u{202e}gpj.exe \u{7f} \u{1b} \n";
        let json = format!("{{\"id\":{}}}\n", json_string(value));
        let hard = harden_json(&json);
        let hard = hard
            .strip_suffix('\n')
            .expect("the line feed between values stays");
        assert!(!hard.chars().any(needs_escape), "{hard}");
        assert!(hard.contains("\\u009b") && hard.contains("\\u202e") && hard.contains("\\u007f"));
        assert_eq!(json_unstring(hard), value);
    }

    /// A JSON string literal, escaping only what JSON requires (as serde_json does).
    fn json_string(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// Decodes the one string value of `{"id":"..."}` (enough JSON for the test above).
    fn json_unstring(json: &str) -> String {
        let body = &json[7..json.len() - 2];
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some(c) => out.push(c),
                None => panic!("dangling backslash"),
            }
        }
        out
    }
}
