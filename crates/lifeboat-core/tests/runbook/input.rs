//! What is refused before the YAML is even read: size and encoding.

use lifeboat_core::runbook::{self, MAX_RUNBOOK_BYTES, Problem};

use super::env;

const VALID: &str = "version: 1\nname: demo\nsource:\n  url: file:///srv/backups/demo\n";

/// A valid runbook padded with a comment to exactly `len` bytes.
fn padded(len: usize) -> Vec<u8> {
    let mut bytes = VALID.as_bytes().to_vec();
    bytes.extend_from_slice(b"# ");
    bytes.resize(len - 1, b'x');
    bytes.push(b'\n');
    bytes
}

#[test]
fn over_the_size_limit_is_refused_unread() {
    let bytes = padded(MAX_RUNBOOK_BYTES + MAX_RUNBOOK_BYTES / 2);
    let err = runbook::parse_bytes(&bytes, "big.yaml", &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "big.yaml:1:1: runbook is 1572864 bytes (1.5 MiB); the limit is 1048576 bytes (1 MiB)"
    );
    // The text entry point applies the same limit.
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(runbook::parse(&text, "big.yaml", &env).unwrap_err(), err);
}

#[test]
fn exactly_the_size_limit_is_read() {
    let bytes = padded(MAX_RUNBOOK_BYTES);
    assert_eq!(bytes.len(), MAX_RUNBOOK_BYTES);
    assert!(runbook::parse_bytes(&bytes, "rb.yaml", &env).is_ok());
    let one_more = padded(MAX_RUNBOOK_BYTES + 1);
    let err = runbook::parse_bytes(&one_more, "rb.yaml", &env).unwrap_err();
    assert_eq!(
        err.problems,
        [Problem {
            line: 1,
            column: 1,
            message: "runbook is 1048577 bytes (1.0 MiB); the limit is 1048576 bytes (1 MiB)"
                .into(),
        }]
    );
}

#[test]
fn non_utf8_is_refused_at_the_bad_byte() {
    let mut bytes = VALID.as_bytes().to_vec();
    bytes.extend_from_slice(b"description: caf\xe9 latin-1\n");
    let err = runbook::parse_bytes(&bytes, "rb.yaml", &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rb.yaml:5:17: runbook is not valid UTF-8: byte 0xe9 here does not start a valid character; save the file as UTF-8"
    );
}

#[test]
fn utf16_is_refused_at_the_start() {
    let bytes: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(VALID.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let err = runbook::parse_bytes(&bytes, "rb.yaml", &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rb.yaml:1:1: runbook is not valid UTF-8: byte 0xff here does not start a valid character; save the file as UTF-8"
    );
}

#[test]
fn alias_bombs_are_cut_short() {
    // Nine levels of nine aliases each would expand to 387 million strings.
    let mut text = String::from(VALID);
    text.push_str("description: &a0 x\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("x{level}: &a{level} [{refs}]\n"));
    }
    // Anchors need a home, and only unknown keys can hold these, so the typed parse stops at
    // once; the second read that explains the error is what the budget must stop.
    let started = std::time::Instant::now();
    let err = runbook::parse(&text, "rb.yaml", &env).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(
        err.to_string(),
        "rb.yaml:6:1: unknown key `x1`, expected one of `version`, `name`, `description`, `objectives`, `source`, `recovery_points`, `manifest`, `sample`, `scratch`, `verify_only`, `schedule`, `timezone`, `catch_up`, `start_window`, `jitter`, `steps`, `finally`, `notify`, `coverage`, `runners`"
    );
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let crlf = VALID.replace('\n', "\r\n");
    let with_bom = format!("\u{feff}{crlf}");
    let expected = runbook::parse(VALID, "rb.yaml", &env).unwrap();
    assert_eq!(
        runbook::parse_bytes(with_bom.as_bytes(), "rb.yaml", &env),
        Ok(expected)
    );
    // Positions still count lines and characters of the file as an editor shows them.
    let broken = format!("\u{feff}{crlf}sample: {{files: 0}}\r\n");
    assert_eq!(
        runbook::parse_bytes(broken.as_bytes(), "rb.yaml", &env)
            .unwrap_err()
            .to_string(),
        "rb.yaml:5:17: sample.files: invalid value \"0\": expected a whole number of files, at least 1"
    );
}
