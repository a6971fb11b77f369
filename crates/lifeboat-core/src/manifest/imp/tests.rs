use std::path::{Path, PathBuf};
use std::process::Command;

use test_case::test_case;

use crate::Algorithm;
use crate::manifest::{ManifestError, format_line, parse, safe_components};

const A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const B: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn paths_and_digests(text: &[u8]) -> Vec<(String, String, usize)> {
    parse(text, Algorithm::Sha256)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| (e.path, e.digest, e.line))
        .collect()
}

#[test_case(format!("{A}  a\n"), &[("a", A, 1)] ; "text mode")]
#[test_case(format!("{A} *a\n"), &[("a", A, 1)] ; "binary marker")]
#[test_case(format!("{A}  a"), &[("a", A, 1)] ; "no final newline")]
#[test_case(format!("{A}  a\n\n{B}  b\n"), &[("a", A, 1), ("b", B, 3)] ; "blank line skipped, numbering kept")]
#[test_case(format!("# made by backup job\n{A}  a\n"), &[("a", A, 2)] ; "comment line skipped like sha256sum -c")]
#[test_case(format!("{A}  #a\n"), &[("#a", A, 1)] ; "hash sign inside an entry is part of the name")]
#[test_case(format!("{}  a\n", A.to_uppercase()), &[("a", A, 1)] ; "uppercase digest stored lowercase")]
#[test_case(format!("{A}   a\n"), &[(" a", A, 1)] ; "leading space in name kept")]
#[test_case(format!("{A}  a \n"), &[("a ", A, 1)] ; "trailing space in name kept")]
#[test_case(format!("{A} **a\n"), &[("*a", A, 1)] ; "name starting with star after binary marker")]
#[test_case(format!("{A}  *a\n"), &[("*a", A, 1)] ; "name starting with star in text mode")]
#[test_case(format!("{A}  a\\b\n"), &[("a\\b", A, 1)] ; "unescaped line keeps backslash literally")]
#[test_case(format!("\\{A}  a\\\\b\n"), &[("a\\b", A, 1)] ; "escaped backslash")]
#[test_case(format!("\\{A}  a\\nb\n"), &[("a\nb", A, 1)] ; "escaped newline")]
#[test_case(format!("\\{A}  a\\rb\n"), &[("a\rb", A, 1)] ; "escaped carriage return")]
#[test_case(format!("\\{A}  plain\n"), &[("plain", A, 1)] ; "escape marker with nothing escaped")]
#[test_case(format!("\\{A}  \\\\\\n\\r\\\\\n"), &[("\\\n\r\\", A, 1)] ; "only escapes")]
#[test_case(format!("{A}  dir/ünï cødé ✓.txt\n"), &[("dir/ünï cødé ✓.txt", A, 1)] ; "unicode")]
#[test_case(format!("{A}  a\tb\n"), &[("a\tb", A, 1)] ; "tab in name")]
#[test_case(format!("{A}  a\r\n{B}  b\r\n"), &[("a", A, 1), ("b", B, 2)] ; "CRLF manifest")]
#[test_case(format!("{A}  a\r\n\r\n{B}  b"), &[("a", A, 1), ("b", B, 3)] ; "CRLF manifest, blank line, last line unterminated")]
#[test_case(format!("{A}  a\rb\n"), &[("a\rb", A, 1)] ; "raw CR inside a name kept")]
#[test_case(format!("{A}  ../etc/passwd\n"), &[("../etc/passwd", A, 1)] ; "unsafe paths parse; the drill refuses them per file")]
#[test_case(String::new(), &[] ; "empty manifest")]
#[test_case("\n\n".to_owned(), &[] ; "only blank lines")]
fn parses(text: String, want: &[(&str, &str, usize)]) {
    let got = paths_and_digests(text.as_bytes());
    let want: Vec<_> = want
        .iter()
        .map(|(p, d, l)| (p.to_string(), d.to_string(), *l))
        .collect();
    assert_eq!(got, want);
}

const EXP: &str = r#"expected "<64 hex digits>  <path>", found"#;

#[test_case(format!("{A}  a\nxyz\n"), 2, format!(r#"{EXP} "xyz": the line does not start with a hex digest"#) ; "not hex")]
#[test_case(format!("{}  a\n", &A[..40]), 1, format!(r#"{EXP} "{}  a": the digest has 40 hex digits; sha256 digests have 64"#, &A[..40]) ; "short digest")]
#[test_case(format!("{A}0  a\n"), 1, format!(r#"{EXP} "{A}0  a": the digest has 65 hex digits; sha256 digests have 64"#) ; "long digest")]
#[test_case(format!("{}g  a\n", &A[..63]), 1, format!(r#"{EXP} "{}g  a": 'g' is not a hex digit"#, &A[..63]) ; "bad hex digit")]
#[test_case(format!("{A}\n"), 1, format!(r#"{EXP} "{A}": the path is missing"#) ; "digest only")]
#[test_case(format!("{A} \n"), 1, format!(r#"{EXP} "{A} ": the path is missing"#) ; "digest and one space")]
#[test_case(format!("{A}  \n"), 1, format!(r#"{EXP} "{A}  ": the path is empty"#) ; "empty path")]
#[test_case(format!("{A} a\n"), 1, format!(r#"{EXP} "{A} a": the digest must be followed by two spaces, or by a space and `*`; a single space (the `md5 -r` form) is refused because a name starting with a space or `*` would be ambiguous"#) ; "single space")]
#[test_case(format!("{A}\ta\n"), 1, format!(r#"{EXP} "{A}\ta": the digest must be followed by two spaces, or by a space and `*`"#) ; "tab separator")]
#[test_case(format!(" {A}  a\n"), 1, format!(r#"{EXP} " {A}  a": the line does not start with a hex digest"#) ; "leading space")]
#[test_case(format!("SHA256 (a) = {A}\n"), 1, format!(r#"{EXP} "SHA256 (a) = {A}": this is a BSD-style tagged line (written with --tag); write the manifest without --tag"#) ; "tagged line")]
#[test_case(format!("{A}0 {}\n", "x".repeat(200)), 1, format!(r#"{EXP} "{A}0 {}…": the digest has 65 hex digits; sha256 digests have 64"#, "x".repeat(34)) ; "long line truncated")]
#[test_case(format!("\\{A}  a\\tb\n"), 1, format!(r#"{EXP} "\\{A}  a\\tb": `\t` is not a valid escape in a name (the line starts with `\`); only `\\`, `\n` and `\r` are"#) ; "bad escape")]
#[test_case(format!("\\{A}  a\\\n"), 1, format!(r#"{EXP} "\\{A}  a\\": the name ends with a lone `\` (the line starts with `\`, so a backslash in the name must be written `\\`)"#) ; "lone trailing backslash")]
#[test_case(format!("{A}  a\n{B}  b\r\n"), 2, format!(r#"{EXP} "{B}  b\r": the line ends with CR LF but the manifest's first line ends with LF alone, so the CR could be the last character of the name; use one line ending throughout, and write a CR in a name as \r (with a leading \ on the line, as sha256sum does)"#) ; "CR LF after LF")]
#[test_case(format!("{A}  a\r\n{B}  b\n"), 2, format!(r#"{EXP} "{B}  b": the line ends with LF alone but the manifest's first line ends with CR LF; use one line ending throughout"#) ; "LF after CR LF")]
#[test_case(format!("{A}  a\n  \n"), 2, format!(r#"{EXP} "  ": the line does not start with a hex digest"#) ; "whitespace-only line is not blank")]
#[test_case(format!("\u{feff}{A}  a\n"), 1, format!(r#"{EXP} "\u{{feff}}{A}  a": the line does not start with a hex digest"#) ; "byte order mark")]
#[test_case(format!("{A}  a\n{B}  b\n{A}  a\n"), 3, r#"duplicate path "a": already listed on line 1"#.to_owned() ; "duplicate")]
#[test_case(format!("{A}  a/b\n{B}  ./a//b\n"), 2, r#"duplicate path "./a//b": names the same file as "a/b" on line 1"#.to_owned() ; "duplicate after normalising")]
#[test_case(format!("{A}  a\n{A}  a\nxyz\n"), 2, r#"duplicate path "a": already listed on line 1"#.to_owned() ; "duplicate before a malformed line wins")]
#[test_case(format!("{A}  a\nxyz\n{A}  a\n"), 2, format!(r#"{EXP} "xyz": the line does not start with a hex digest"#) ; "malformed line before a duplicate wins")]
fn rejects(text: String, line: usize, message: String) {
    assert_eq!(
        parse(text.as_bytes(), Algorithm::Sha256),
        Err(ManifestError { line, message })
    );
}

#[test]
fn names_the_algorithm_in_digest_length_errors() {
    let err = parse(format!("{}  a\n", &A[..40]).as_bytes(), Algorithm::Blake3).unwrap_err();
    assert!(err.message.ends_with("blake3 digests have 64"), "{err}");
}

#[test]
fn invalid_utf8_is_an_error_on_its_line() {
    let mut text = format!("{A}  a\n{B}  b\n").into_bytes();
    text.extend_from_slice(format!("{A}  c").as_bytes());
    text.push(0xff);
    text.extend_from_slice(b"d\n");
    text.extend_from_slice(format!("{A}  e\n").as_bytes());
    let err = parse(&text, Algorithm::Sha256).unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(
        err.message,
        format!(
            r#"{EXP} "{A}  c{}d": byte 68 (0xff) is not valid UTF-8; lifeboat reads manifests as UTF-8, as b3sum writes them"#,
            char::REPLACEMENT_CHARACTER
        )
    );
}

#[test]
fn malformed_line_before_invalid_utf8_is_reported_first() {
    let mut text = b"xyz\n".to_vec();
    text.extend_from_slice(format!("{A}  ").as_bytes());
    text.push(0xff);
    let err = parse(&text, Algorithm::Sha256).unwrap_err();
    assert_eq!(err.line, 1);
}

#[test]
fn numbers_many_lines_and_keeps_order() {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("{A}  dir/file-{i:05}\n"));
        if i % 1000 == 0 {
            text.push('\n');
        }
    }
    let entries = parse(text.as_bytes(), Algorithm::Blake3).unwrap();
    assert_eq!(entries.len(), 10_000);
    assert_eq!(entries[0].line, 1);
    assert_eq!(entries[1].line, 3);
    assert_eq!(entries[9_999].path, "dir/file-09999");
    assert_eq!(entries[9_999].line, 10_010);
}

#[test_case("a", &format!("{A}  a") ; "plain")]
#[test_case("a b", &format!("{A}  a b") ; "space")]
#[test_case("*a", &format!("{A}  *a") ; "leading star")]
#[test_case("a\\b", &format!("\\{A}  a\\\\b") ; "backslash")]
#[test_case("a\nb", &format!("\\{A}  a\\nb") ; "newline")]
#[test_case("a\rb", &format!("\\{A}  a\\rb") ; "carriage return")]
#[test_case("ü/\\\n", &format!("\\{A}  ü/\\\\\\n") ; "mixed")]
fn formats(path: &str, want: &str) {
    assert_eq!(format_line(A, path), want);
}

#[test]
fn format_then_parse_round_trips() {
    let names = [
        "a", "a b", " a", "a ", "*a", "#a", "a\\b", "\\", "a\nb", "\n", "a\rb", "a\r", "\r\n",
        "x\\n", "ü ✓", "d/e/f",
    ];
    let mut text = String::new();
    for name in names {
        text.push_str(&format_line(A, name));
        text.push('\n');
    }
    let got: Vec<String> = parse(text.as_bytes(), Algorithm::Sha256)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(got, names);
}

#[test_case("a", Ok(vec!["a"]) ; "plain")]
#[test_case("a/b/c.txt", Ok(vec!["a", "b", "c.txt"]) ; "nested")]
#[test_case("./a//b", Ok(vec!["a", "b"]) ; "dot and empty segments")]
#[test_case("a/./b/", Ok(vec!["a", "b"]) ; "inner dot and trailing slash")]
#[test_case("a\\..\\b", Ok(vec!["a\\..\\b"]) ; "backslashes are ordinary on unix")]
#[test_case("..a/b..", Ok(vec!["..a", "b.."]) ; "dots inside names")]
#[test_case("...", Ok(vec!["..."]) ; "three dots")]
#[test_case("ab:c", Ok(vec!["ab:c"]) ; "colon not after a single letter")]
#[test_case("a:b", Err("unsafe path: drive or UNC prefix") ; "drive letter without slash")]
#[test_case("", Err("unsafe path: empty path") ; "empty")]
#[test_case("/etc/passwd", Err("unsafe path: absolute path") ; "absolute")]
#[test_case("//server/share", Err("unsafe path: absolute path") ; "double slash")]
#[test_case("..", Err("unsafe path: \"..\" segment") ; "dotdot")]
#[test_case("a/../../b", Err("unsafe path: \"..\" segment") ; "dotdot inside")]
#[test_case("a/..", Err("unsafe path: \"..\" segment") ; "dotdot at end even if it stays inside")]
#[test_case("a\0b", Err("unsafe path: NUL byte") ; "nul")]
#[test_case("C:\\Windows", Err("unsafe path: drive or UNC prefix") ; "drive")]
#[test_case("c:x", Err("unsafe path: drive or UNC prefix") ; "drive relative")]
#[test_case("\\\\server\\share\\x", Err("unsafe path: drive or UNC prefix") ; "unc")]
#[test_case(".", Err("unsafe path: no file name (only \".\" and empty segments)") ; "dot")]
#[test_case("././/", Err("unsafe path: no file name (only \".\" and empty segments)") ; "dots and slashes")]
fn safety(path: &str, want: Result<Vec<&str>, &str>) {
    assert_eq!(safe_components(path), want.map_err(str::to_owned));
}

// ---- against the real coreutils ----------------------------------------------------------

/// A temporary folder removed on drop (lifeboat-core has no I/O dependencies, so no tempfile).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lifeboat-core-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        eprintln!("note: `{tool}` not found; skipping the comparison with it");
    }
    found
}

const TRICKY: &[&str] = &[
    "plain.txt",
    "with space",
    " leading space",
    "trailing space ",
    "back\\slash",
    "new\nline",
    "carriage\rreturn",
    "*star",
    "#hash",
    "ünïcødé ✓.txt",
    "sub/dir/nested file",
];

fn make_tricky_files(dir: &Path) {
    for (i, name) in TRICKY.iter().enumerate() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("content {i} of {name:?}\n")).unwrap();
    }
}

/// sha256sum's digest of some bytes, read from stdin (no file name involved).
fn sha256sum_of(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn reads_real_sha256sum_output() {
    if !have("sha256sum") {
        return;
    }
    let tmp = TempDir::new("sha256sum-read");
    make_tricky_files(&tmp.0);
    for binary in [false, true] {
        let mut cmd = Command::new("sha256sum");
        if binary {
            cmd.arg("--binary");
        }
        let out = cmd
            .arg("--")
            .args(TRICKY)
            .current_dir(&tmp.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let entries = parse(&out.stdout, Algorithm::Sha256).unwrap();
        let got: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, TRICKY, "binary: {binary}");
        for e in &entries {
            let content = std::fs::read(tmp.0.join(&e.path)).unwrap();
            assert_eq!(e.digest, sha256sum_of(&content), "{:?}", e.path);
        }
    }
}

#[test]
fn sha256sum_accepts_format_line() {
    if !have("sha256sum") {
        return;
    }
    let tmp = TempDir::new("sha256sum-check");
    make_tricky_files(&tmp.0);
    let manifest = |corrupt: Option<usize>| {
        let mut text = String::new();
        for (i, name) in TRICKY.iter().enumerate() {
            let mut digest = sha256sum_of(&std::fs::read(tmp.0.join(name)).unwrap());
            if corrupt == Some(i) {
                digest.replace_range(0..1, if digest.starts_with('0') { "1" } else { "0" });
            }
            text.push_str(&format_line(&digest, name));
            text.push('\n');
        }
        text
    };
    let check = |text: String| {
        std::fs::write(tmp.0.join("SHA256SUMS"), text).unwrap();
        Command::new("sha256sum")
            .args(["--check", "--strict", "SHA256SUMS"])
            .current_dir(&tmp.0)
            .output()
            .unwrap()
    };
    let ok = check(manifest(None));
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).matches(": OK").count(),
        TRICKY.len()
    );
    // The same check must be able to fail, or the one above proves nothing.
    let bad = check(manifest(Some(5)));
    assert!(!bad.status.success(), "{bad:?}");
}

#[test]
fn the_longest_path_with_every_byte_escaped_fits_in_a_line() {
    use crate::manifest::{MAX_LINE_BYTES, MAX_PATH_BYTES};
    let path = "\n".repeat(MAX_PATH_BYTES);
    let line = format_line(A, &path);
    assert_eq!(
        line.len() + 1,
        MAX_LINE_BYTES,
        "with a CR for a CRLF manifest"
    );
    let entries = parse(format!("{line}\r\n").as_bytes(), Algorithm::Sha256).unwrap();
    assert_eq!(entries[0].path, path);
    // And a path of PATH_MAX bytes with nothing escaped.
    let path = "p".repeat(MAX_PATH_BYTES);
    assert_eq!(
        paths_and_digests(format!("{A}  {path}").as_bytes())[0].0,
        path
    );
}

#[test]
fn a_path_over_path_max_is_an_error_on_its_line() {
    let path = "p".repeat(4097);
    let err = parse(
        format!("{A}  a\n{A}  {path}\n").as_bytes(),
        Algorithm::Sha256,
    )
    .unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(
        err.message,
        format!(
            r#"{EXP} "{A}  {}…": the path is 4097 bytes, over the 4096-byte limit (PATH_MAX)"#,
            "p".repeat(34)
        )
    );
}

#[test_case(8261, true ; "one byte over the limit")]
#[test_case(10_000_000, true ; "ten megabytes")]
#[test_case(8260, false ; "at the limit")]
fn an_over_long_line_is_an_error_however_long(len: usize, too_long: bool) {
    // Unterminated too: the parser must not need the line's end to refuse it.
    for end in ["\n", ""] {
        let line = format!("{A}  {}", "n".repeat(len - 66));
        assert_eq!(line.len(), len);
        let text = format!("{A}  a\n{line}{end}{B}  b\n");
        let err = parse(text.as_bytes(), Algorithm::Sha256).unwrap_err();
        assert_eq!(err.line, 2, "{}", err.message);
        let over = err.message.contains("over the 8260-byte limit");
        // At the limit the line is read, and its path (8194 bytes) is what is too long.
        assert_eq!(over, too_long || end.is_empty(), "{}", err.message);
        assert!(err.message.len() < 1024, "the error quotes a snippet only");
    }
}

#[test]
fn an_over_long_line_holding_invalid_utf8_quotes_a_snippet_only() {
    let mut text = format!("{A}  ").into_bytes();
    text.extend(std::iter::repeat_n(b'n', 5_000_000));
    text.push(0xff);
    let err = parse(&text, Algorithm::Sha256).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(
        err.message.contains("byte 5000067 (0xff)"),
        "{}",
        err.message
    );
    assert!(err.message.len() < 1024);
}

#[test]
fn a_duplicate_quotes_snippets_of_long_paths() {
    let path = "d".repeat(4000);
    let err = parse(
        format!("{A}  {path}\n{B}  {path}\n").as_bytes(),
        Algorithm::Sha256,
    )
    .unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.len() < 300, "{}", err.message);
}

#[test]
fn a_component_over_name_max_fails_that_file() {
    let long = "n".repeat(256);
    let err = safe_components(&format!("d/{long}/f")).unwrap_err();
    assert_eq!(
        err,
        format!(
            "name too long: the component \"{}…\" is 256 bytes; no file system lifeboat \
             restores into holds more than 255 (NAME_MAX)",
            "n".repeat(100)
        )
    );
    assert_eq!(safe_components(&long[1..]).unwrap(), [&long[1..]]);
}
