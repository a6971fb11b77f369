//! SECURITY.md classes 4 and 5 for names: a `file://` URL is decoded by one function that
//! `validate` and the drill share (no panic, `%00` refused before anything runs), and a
//! recovery point or file name is data whatever it holds — a space, `#`, `%`, `%20`, `[`,
//! `{`, a non-ASCII letter, a TAB or a newline — on local disk and in a bucket. An entry
//! lifeboat cannot represent is skipped and counted with its reason; it never fails the drill.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use lifeboat_testkit::cloud;
use lifeboat_testkit::{Format, prng};
use test_case::test_case;

use crate::conformance::{drill_yaml, runbook_yaml};
use crate::util::{DAY1, Drill, Fixture, Runbook};

/// Names a point may have: each one is found and drilled, locally and in a bucket.
const ODD: &[&str] = &[
    "p 1",
    "p#1",
    "p%1",
    "p%201",
    "p[1]",
    "p{1}",
    "pé",
    "p\\1",
    "p*?1",
    " lead",
    "trail ",
    "p\u{202e}1",
];

/// Names that hold a control character: a folder on local disk, not addressable through
/// object_store in a bucket.
const CONTROL: &[&str] = &["p\t1", "p\n1", "p\r1", "p\u{1b}[2J1"];

/// A file inside every point whose name needs escaping in a URL and in a manifest.
const ODD_FILE: &str = "docs/a#b [1] {x} 100% é.txt";

/// T0 for `time: modified`: the manifests were written just now, so T0 is later.
const LATER: &str = "2099-01-01T00:00:00Z";

fn odd_point(fx: &Fixture, id: &str) {
    let seed = prng::seed_of(id);
    fx.set
        .point(id)
        .file("etc/app.conf", format!("# point {id:?}\n"))
        .text_file(ODD_FILE, 2000, seed)
        .zst_file("db/dump 1%.sql", prng::text_bytes(10_000, seed ^ 1))
        .manifest(Format::Sha256sum);
}

fn by_modified(fx: &Fixture) -> Runbook {
    Runbook {
        time: "modified".into(),
        time_format: None,
        select: "all".into(),
        rpo: None,
        ..fx.runbook()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// --- file:// URLs: one decoder, shared by validate and the drill ------------------------------

#[test]
fn the_issue_url_with_a_broken_escape_and_a_non_ascii_letter_never_panics() {
    let fx = Fixture::new();
    let url = "file:///tmp/%aé/x";
    assert!(!std::path::Path::new("/tmp/%aé").exists());
    let rb = Runbook {
        url: url.into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    // `%a` is no escape, so it stays as written: a valid path, which does not exist.
    let out = fx.run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let d = fx.drill_file(&path, &[]);
    d.assert_code(3);
    let reason = Drill::reason(&d.evidence);
    assert!(
        reason.contains("no folder at /tmp/%aé/x"),
        "{}",
        d.context()
    );
}

#[test_case("%aé"; "a broken escape and a non-ASCII letter")]
#[test_case("a%25b%20%C3%A9%231"; "escaped percent, space, letter and hash")]
#[test_case("caf%E9"; "a Latin-1 byte: not UTF-8, still a path")]
fn a_source_folder_whose_name_needs_escapes_is_found(escaped: &str) {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let decoded: Vec<u8> = percent_decode(escaped.as_bytes());
    let folder = fx.root().join(OsStr::from_bytes(&decoded));
    std::fs::rename(fx.source(), &folder).unwrap();
    let rb = Runbook {
        url: format!("file://{}/{escaped}", fx.root().display()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
}

/// The test's own decoder (RFC 3986): `%XX` with two hex digits is a byte, anything else is
/// itself.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

#[test_case("file:///srv/a%00b", "NUL"; "an escaped NUL")]
#[test_case("file://backup-host/srv/x", "host \"backup-host\""; "a remote host")]
fn a_file_url_that_cannot_be_opened_is_refused_by_validate(url: &str, says: &str) {
    let fx = Fixture::new();
    let rb = Runbook {
        url: url.into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let out = fx.run(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("source.url"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.starts_with(&format!("{}:7:8: source.url: ", path.display())),
        "{line}"
    );
    assert!(line.contains(says), "{line}");
    // The drill refuses it the same way, before anything runs.
    let d = fx.drill_file(&path, &[]);
    d.assert_code(2);
    assert!(!fx.evidence_dir().exists());
}

#[test]
fn localhost_names_this_host() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        url: format!("file://localhost{}", fx.source().display()),
        ..fx.runbook()
    };
    fx.drill(&rb, &[]).assert_code(0);
}

// --- odd names on local disk ------------------------------------------------------------------

#[test]
fn odd_point_names_on_local_disk_are_found_and_drilled() {
    let fx = Fixture::new();
    let mut want = Vec::new();
    for id in ODD.iter().chain(CONTROL) {
        odd_point(&fx, id);
        want.push(id.to_string());
    }
    // Beside the points: stray files whose names hold a TAB and a newline, and a point
    // whose name is not UTF-8 (the evidence records ids as text: skipped, and said so).
    std::fs::write(fx.source().join("stray\tfile"), "x").unwrap();
    std::fs::write(fx.source().join("stray\nfile"), "x").unwrap();
    let latin1 = fx.source().join(OsStr::from_bytes(b"caf\xe9"));
    std::fs::rename(fx.source().join(ODD[0]), &latin1).unwrap();
    odd_point(&fx, ODD[0]);

    let d = fx.drill(&by_modified(&fx), &["--now", LATER]);
    d.assert_code(0);
    let got: Vec<String> = d.point_ids().iter().map(|s| s.to_string()).collect();
    assert_eq!(sorted(got), sorted(want), "{}", d.context());
    for id in ODD.iter().chain(CONTROL) {
        assert_eq!(d.point(id)["outcome"], "passed", "{id:?}");
        assert_eq!(d.file(id, ODD_FILE)["outcome"], "passed", "{id:?}");
    }
    assert!(
        d.stderr.contains("\"caf\\xE9\"") && d.stderr.contains("not valid UTF-8"),
        "{}",
        d.stderr
    );
}

#[test]
fn the_census_says_why_each_entry_was_not_taken() {
    let fx = Fixture::new();
    let src = fx.source();
    std::fs::write(src.join("notes.txt"), "x").unwrap();
    let elsewhere = Fixture::new();
    let p = elsewhere.standard_point(DAY1, Format::Sha256sum);
    std::os::unix::fs::symlink(p.dir(), src.join("2026-11-21T010000Z")).unwrap();
    std::fs::create_dir_all(src.join(DAY1).join("etc")).unwrap();
    std::fs::create_dir(src.join("lost+found")).unwrap();
    std::fs::create_dir(src.join("p\t1")).unwrap();
    std::fs::create_dir(src.join(OsStr::from_bytes(b"caf\xe9"))).unwrap();

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(&d.evidence),
        "no recovery point at or before T0 2026-11-22T02:00:00Z (6 entries in the source: \
         1 regular file, 1 symbolic link, 1 whose name is not valid UTF-8, \
         1 without SHA256SUMS, 2 whose name is not a time)",
        "{}",
        d.context()
    );
}

#[test]
fn a_passing_drill_still_records_what_it_skipped() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let src = fx.source();
    std::fs::write(src.join("notes\ttxt"), "x").unwrap();
    std::fs::create_dir(src.join(OsStr::from_bytes(b"2026-11-22T010000Z-caf\xe9"))).unwrap();
    std::os::unix::fs::symlink("/etc", src.join("2026-11-21T030000Z")).unwrap();

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.measured("recovery_point"), DAY1);
    assert_eq!(
        d.evidence["source"]["listing"],
        "4 entries in the source: 1 regular file, 1 symbolic link, \
         1 whose name is not valid UTF-8",
        "{}",
        d.context()
    );
    for report in [d.report_md(), d.report_html()] {
        assert!(
            report.contains("1 whose name is not valid UTF-8"),
            "the reports say what was skipped:\n{report}"
        );
    }
}

// --- odd names in a bucket --------------------------------------------------------------------

#[test]
fn odd_point_names_in_a_bucket_are_found_and_drilled() {
    let fx = Fixture::new();
    for id in ODD {
        odd_point(&fx, id);
    }
    let s3 = &cloud::servers().moto;
    let bucket = cloud::unique_name("odd-names");
    // At the bucket's root, so a name's leading space is the key's first character.
    s3.upload_dir(&bucket, "", fx.source());
    // Keys object_store cannot address, as a backup tool may write them. (moto's router
    // refuses a newline in a key; S3 itself takes one.)
    for key in [
        "stray\tfile",
        "stray\rfile",
        "p\t1/SHA256SUMS",
        "p\u{1}1/etc/x",
    ] {
        s3.put_raw(&bucket, key, b"x");
    }
    let yaml = runbook_yaml(&by_modified(&fx), &s3.url(&bucket, ""), &s3.options());
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &["--now", LATER], &[]);
    d.assert_code(0);
    let got: Vec<String> = d.point_ids().iter().map(|s| s.to_string()).collect();
    let want: Vec<String> = ODD.iter().map(|s| s.to_string()).collect();
    assert_eq!(sorted(got), sorted(want), "{}", d.context());
    for id in ODD {
        assert_eq!(d.file(id, ODD_FILE)["outcome"], "passed", "{id:?}");
        assert_eq!(d.file(id, "db/dump 1%.sql")["outcome"], "passed", "{id:?}");
    }
    for name in [
        r#""stray\tfile""#,
        r#""stray\rfile""#,
        r#""p\t1""#,
        r#""p\u{1}1""#,
    ] {
        assert!(
            d.stderr.contains(name),
            "the skipped {name} is not reported:\n{}",
            d.stderr
        );
    }
}

#[test]
fn a_bucket_of_names_object_store_cannot_address_is_a_finding_not_an_error() {
    let fx = Fixture::new();
    let s3 = &cloud::servers().moto;
    let bucket = cloud::unique_name("control-names");
    s3.create_bucket(&bucket);
    for key in ["b/stray\tfile", "b/p\t1/SHA256SUMS", "b/p\r1/SHA256SUMS"] {
        s3.put_raw(&bucket, key, b"x");
    }
    let yaml = runbook_yaml(&fx.runbook(), &s3.url(&bucket, "b"), &s3.options());
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(&d.evidence),
        "no recovery point at or before T0 2026-11-22T02:00:00Z (3 entries in the source: \
         3 whose name holds a control character)",
        "{}",
        d.context()
    );
}

#[test]
fn odd_point_names_in_an_azure_container_are_found_and_drilled() {
    let fx = Fixture::new();
    // Azure Blob turns `\` in a blob name into `/` on upload (`p\1/x` is stored as `p/1/x`):
    // such a point is not in the container to be found.
    let odd: Vec<&str> = ODD.iter().copied().filter(|n| !n.contains('\\')).collect();
    for id in &odd {
        odd_point(&fx, id);
    }
    let az = &cloud::servers().azurite;
    let container = cloud::unique_name("odd-names");
    az.upload_dir(&container, "", fx.source());
    let yaml = runbook_yaml(&by_modified(&fx), &az.url(&container, ""), &az.options());
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &["--now", LATER], &[]);
    d.assert_code(0);
    let got: Vec<String> = d.point_ids().iter().map(|s| s.to_string()).collect();
    let want: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
    assert_eq!(sorted(got), sorted(want), "{}", d.context());
    for id in &odd {
        assert_eq!(d.file(id, ODD_FILE)["outcome"], "passed", "{id:?}");
    }
}

#[test]
fn a_listed_file_whose_name_a_bucket_cannot_address_fails_with_that_reason() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    // A manifest may name a file with a TAB; object_store cannot ask a bucket for it.
    p.append_manifest_line(&p.manifest_line_for("docs/tab\there", b"x"));
    let s3 = &cloud::servers().moto;
    let bucket = cloud::unique_name("control-file");
    s3.upload_dir(&bucket, "b", fx.source());
    let yaml = runbook_yaml(&fx.runbook(), &s3.url(&bucket, "b"), &s3.options());
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.file(DAY1, "docs/tab\there")),
        r#""docs/tab\there" cannot be read: its name holds a control character"#,
        "{}",
        d.context()
    );
    assert_eq!(d.file(DAY1, "etc/app.conf")["outcome"], "passed");
}
