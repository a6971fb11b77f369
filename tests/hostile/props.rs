//! SECURITY.md, class 4: no input panics. Property tests over what a hostile backup or a
//! careless runbook controls — URLs, manifest lines, recovery point names, runbook text —
//! each asserting that lifeboat answers with a documented exit code (0–3) or a clean error,
//! never a panic (exit 101), and, where the input is fine, that it is handled as data.
//!
//! Two tiers: the parsers are called in-process over many cases (cheap); the binary is run
//! end to end over fewer cases, since each one is a real drill. A failing case is shrunk by
//! proptest and printed; add it to the table tests of its class once it is fixed.

use std::process::Output;

use lifeboat_core::Algorithm;
use lifeboat_testkit::{Format, manifest_line, sha256_hex};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::util::{Fixture, Runbook};

/// Characters a hostile name is made of: the ones that broke lifeboat before (quotes, `$`,
/// `%`, `#`, brackets, controls, bidi overrides, non-ASCII), and any character at all.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '\u{1b}', '\u{7}', '\n', '\r', '\t', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2028}',
            '%', '#', '[', ']', '{', '}', '$', '`', '\'', '"', '\\', ' ', '.', ':', '?', '@',
            '*', ';', '&', '|', '<', '>', '(', ')', '!', '~', '=', '+', 'é', 'ß', '日', '🦀',
        ]),
        2 => proptest::char::range('a', 'z'),
        1 => any::<char>(),
    ]
}

fn hostile_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// A name a Linux file system accepts for a file or folder: no `/`, no NUL, not `.` or
/// `..`, not empty, at most 255 bytes.
fn file_name() -> impl Strategy<Value = String> {
    hostile_string(24).prop_filter_map("not a file name", |s| {
        let s: String = s.chars().filter(|c| !matches!(c, '/' | '\0')).collect();
        (!s.is_empty() && s != "." && s != ".." && s.len() <= 255).then_some(s)
    })
}

/// Text that looks like the path part of a URL: hostile characters, percent escapes valid
/// and not, NUL escapes, `..` segments and slashes.
fn url_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => hostile_char().prop_map(String::from),
        2 => "%[0-9a-fA-F]{2}",
        1 => "%[^0-9a-fA-F]?",
        1 => "%[0-9a-fA-F][^0-9a-fA-F]",
        1 => Just("%00".to_owned()),
        1 => Just("%2f".to_owned()),
        1 => Just("%ff".to_owned()),
        1 => Just("..".to_owned()),
        2 => Just("/".to_owned()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "file://",
        "file:///",
        "file://localhost/",
        "file://host/",
        "file:",
        "FILE://",
        "s3://",
        "az://",
        "http://",
        "",
    ]);
    (scheme, url_path()).prop_map(|(s, p)| format!("{s}{p}"))
}

/// A YAML scalar holding exactly `s`: JSON's string syntax is a subset of YAML's
/// double-quoted one.
/// proptest's settings with `cases` (`PROPTEST_CASES=N` in the environment searches longer);
/// failures found are kept beside this file (`props.regressions`, committed) and re-run
/// first, every time.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn env(_: &str) -> Option<String> {
    None
}

/// A documented exit code of `drill` (a panic is 101; a signal has none).
fn documented(out: &Output) -> Option<i32> {
    out.status.code().filter(|c| (0..=3).contains(c))
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `lifeboat validate` then `lifeboat drill` on one runbook text: validate answers 0 or 2,
/// the drill a documented code, and what validation refused the drill refuses too (they
/// read the runbook with the same functions).
fn validate_then_drill(fx: &Fixture, text: &str) -> Result<(), TestCaseError> {
    let path = fx.write("runbook.yaml", text);
    let validated = fx.run(&["validate", path.to_str().unwrap()]);
    let v = validated.status.code();
    prop_assert!(
        matches!(v, Some(0 | 2)),
        "validate: {}\n--- runbook\n{text}",
        show(&validated)
    );
    let drilled = fx.drill_command(&path, &[]).output().unwrap();
    let d = documented(&drilled);
    prop_assert!(
        d.is_some(),
        "drill: {}\n--- runbook\n{text}",
        show(&drilled)
    );
    if v == Some(2) {
        prop_assert_eq!(
            d,
            Some(2),
            "validate refused, the drill did not: {}",
            show(&drilled)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn manifest_parsing_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = lifeboat_core::manifest::parse(&bytes, Algorithm::Sha256);
    }

    #[test]
    fn pg_backup_manifest_parsing_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = lifeboat_core::manifest::pg::parse(&bytes);
    }

    #[test]
    fn sealed_pg_backup_manifests_of_hostile_names_parse_back_exactly(
        name in hostile_string(40),
        size in any::<u64>(),
    ) {
        let entry = serde_json::json!({ "Path": name, "Size": size, "Checksum-Algorithm": "NONE" });
        let mut text = format!(
            "{{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n{entry}\n],\n"
        );
        let sum = lifeboat_testkit::sha256_hex(text.as_bytes());
        text.push_str(&format!("\"Manifest-Checksum\": \"{sum}\"}}\n"));
        let parsed = lifeboat_core::manifest::pg::parse(text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        prop_assert_eq!(parsed.files.len(), 1);
        prop_assert_eq!(&parsed.files[0].path, &name);
        prop_assert_eq!(parsed.files[0].size, size);
    }

    #[test]
    fn manifest_lines_of_hostile_names_parse_back_exactly(
        names in prop::collection::vec(hostile_string(40), 1..6),
        binary in any::<bool>(),
    ) {
        let mut text = String::new();
        let mut want = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let path = format!("f{i}/{name}");
            let digest = sha256_hex(path.as_bytes());
            text.push_str(&manifest_line(&digest, &path, binary));
            text.push('\n');
            want.push((path, digest));
        }
        let parsed = lifeboat_core::manifest::parse(text.as_bytes(), Algorithm::Sha256);
        let parsed = parsed.map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        let got: Vec<(String, String)> = parsed.into_iter().map(|e| (e.path, e.digest)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn safe_components_never_lets_a_path_leave_the_point(path in hostile_string(40)) {
        if let Ok(parts) = lifeboat_core::manifest::safe_components(&path) {
            prop_assert!(!parts.is_empty());
            for part in parts {
                prop_assert!(!part.is_empty() && part != "." && part != "..", "{part:?} of {path:?}");
                prop_assert!(!part.contains(['/', '\0']), "{part:?} of {path:?}");
            }
        }
    }

    #[test]
    fn runbook_parsing_never_panics_on_any_text(text in hostile_string(400)) {
        let _ = lifeboat_core::runbook::parse(&text, "rb.yaml", &env);
    }

    #[test]
    fn runbook_parsing_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = lifeboat_core::runbook::parse_bytes(&bytes, "rb.yaml", &env);
    }

    #[test]
    fn point_times_never_panic(name in hostile_string(40), format in prop::option::of(hostile_string(12))) {
        let _ = lifeboat_core::runbook::point_time_from_name(format.as_deref(), &name);
        let _ = lifeboat_core::runbook::point_time_from_name(Some("%Y-%m-%dT%H%M%SZ"), &name);
    }

    #[test]
    fn escaped_text_holds_nothing_a_terminal_acts_on(s in hostile_string(60)) {
        let once = lifeboat_core::text::escape(&s);
        prop_assert!(!once.chars().any(lifeboat_core::text::needs_escape), "{once:?}");
        prop_assert_eq!(lifeboat_core::text::escape(&once), once.clone());
    }

    #[test]
    fn runbooks_with_any_source_url_parse_or_refuse(url in url()) {
        let text = format!("version: 1\nname: p\nsource:\n  url: {}\n", yaml_string(&url));
        let parsed = lifeboat_core::runbook::parse(&text, "rb.yaml", &env);
        // What validation accepted as a local source, the drill can turn into a path.
        if let Ok(rb) = parsed
            && url.to_ascii_lowercase().starts_with("file:")
        {
            let path = lifeboat_core::runbook::file_url_path(&rb.source.url);
            prop_assert!(path.is_ok(), "{url:?} validated, then {path:?}");
        }
    }

    #[test]
    fn file_urls_decode_to_a_path_or_an_error(path in url_path()) {
        if let Ok(p) = lifeboat_core::runbook::file_url_path(&format!("file://{path}")) {
            prop_assert!(!p.as_os_str().as_encoded_bytes().contains(&0), "{p:?} holds NUL");
        }
    }
}

/// The valid runbook every end-to-end mutation starts from: the harness's default, drilling
/// a real point.
fn base_runbook(fx: &Fixture) -> Runbook {
    fx.standard_point(crate::util::DAY1, Format::Sha256sum);
    fx.runbook()
}

proptest! {
    // Each case runs the real binary once or twice.
    #![proptest_config(config(64))]

    #[test]
    fn any_source_url_validates_or_drills_with_a_documented_exit(url in url()) {
        let fx = Fixture::new();
        let mut rb = base_runbook(&fx);
        // Never reach for a real cloud: the drill of an s3:// or az:// URL would go looking
        // for AWS or Azure. Those are parsed in-process above.
        let url = match url.split_once("://") {
            Some((scheme, rest)) if !scheme.eq_ignore_ascii_case("file") => format!("file:///{rest}"),
            _ => url,
        };
        rb.url = yaml_string(&url);
        validate_then_drill(&fx, &rb.yaml())?;
    }

    #[test]
    fn any_runbook_text_validates_or_drills_with_a_documented_exit(
        line in 0usize..40,
        action in 0u8..4,
        noise in hostile_string(40),
    ) {
        let fx = Fixture::new();
        let text = base_runbook(&fx).yaml();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let i = line % lines.len();
        match action {
            // Replace a value, keeping the key and its indentation.
            0 => {
                let l = &lines[i];
                let keep = l.find(": ").map_or(l.len(), |c| c + 2);
                lines[i] = format!("{}{noise}", &l[..keep]);
            }
            1 => lines.insert(i, noise),
            2 => {
                lines.remove(i);
            }
            _ => lines[i].push_str(&noise),
        }
        let mut text = lines.join("\n");
        text.push('\n');
        validate_then_drill(&fx, &text)?;
    }

    #[test]
    fn any_file_name_a_manifest_lists_is_restored_and_verified(
        names in prop::collection::vec(file_name(), 1..5),
    ) {
        let fx = Fixture::new();
        let point = fx.source().join(crate::util::DAY1);
        let mut manifest = String::new();
        for (i, name) in names.iter().enumerate() {
            // A folder per file, so no two names collide or nest.
            let rel = format!("f{i}/{name}");
            let bytes = format!("file {i}: {name:?}\n").into_bytes();
            let full = point.join(format!("f{i}")).join(name);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, &bytes).unwrap();
            manifest.push_str(&manifest_line(&sha256_hex(&bytes), &rel, false));
            manifest.push('\n');
        }
        std::fs::write(point.join("SHA256SUMS"), &manifest).unwrap();
        let drill = fx.drill(&fx.runbook(), &[]);
        prop_assert_eq!(drill.code, 0, "{}\n--- manifest\n{:?}", drill.context(), manifest);
        prop_assert_eq!(drill.file_paths(crate::util::DAY1).len(), names.len());
    }

    #[test]
    fn any_point_name_the_file_system_allows_is_found_and_drilled(name in file_name()) {
        let fx = Fixture::new();
        fx.set
            .point(&name)
            .file("etc/app.conf", b"port = 8080\n")
            .manifest(Format::Sha256sum);
        let mut rb = fx.runbook();
        // Any name is a point when its time comes from the manifest's modification time.
        rb.time = "modified".into();
        rb.time_format = None;
        rb.rpo = None;
        let drill = fx.drill(&rb, &["--now", "2099-01-01T00:00:00Z"]);
        prop_assert_eq!(drill.code, 0, "point {:?}\n{}", name, drill.context());
        prop_assert_eq!(drill.measured("recovery_point").as_str(), Some(name.as_str()));
    }
}
