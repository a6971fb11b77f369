//! `lifeboat manifest DIR --algorithm ...`: what it prints must be accepted by the standard
//! tools, so a backup job can publish it and anyone can check it without lifeboat.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use lifeboat_testkit::{Format, blake3_hex, prng, sha256_hex};

use crate::util::Fixture;

/// A folder with nested files, an empty one, a space and a backslash in names.
fn tree(fx: &Fixture) -> std::path::PathBuf {
    let dir = fx.root().join("tree");
    let files: &[(&str, Vec<u8>)] = &[
        ("a.txt", b"alpha\n".to_vec()),
        ("empty", Vec::new()),
        ("sub/dir/b.bin", prng::random_bytes(300_000, 5)),
        ("sub/with space.txt", b"space\n".to_vec()),
        ("sub/back\\slash.txt", b"backslash\n".to_vec()),
    ];
    for (rel, bytes) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// Runs `lifeboat manifest` and returns stdout, checking the exit code.
fn manifest(fx: &Fixture, dir: &Path, algorithm: &str) -> String {
    let out = fx.run(&["manifest", dir.to_str().unwrap(), "--algorithm", algorithm]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Parses `HEX  PATH` lines (with coreutils' backslash escaping) into path -> digest.
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (escaped, line) = match line.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (hex, path) = line.split_at(64);
            let path = path
                .strip_prefix("  ")
                .or_else(|| path.strip_prefix(" *"))
                .unwrap_or_else(|| panic!("not a manifest line: {line:?}"));
            let path = if escaped {
                path.replace("\\\\", "\u{0}")
                    .replace("\\n", "\n")
                    .replace('\u{0}', "\\")
            } else {
                path.to_owned()
            };
            (path.trim_start_matches("./").to_owned(), hex.to_owned())
        })
        .collect()
}

fn expected(dir: &Path, format: Format) -> BTreeMap<String, String> {
    lifeboat_testkit::Snapshot::take(dir)
        .files()
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(rel)).unwrap();
            (rel.to_str().unwrap().to_owned(), format.digest_hex(&bytes))
        })
        .collect()
}

#[test]
fn sha256_manifest_is_accepted_by_sha256sum() {
    let fx = Fixture::new();
    let dir = tree(&fx);
    let text = manifest(&fx, &dir, "sha256");
    assert_eq!(parse(&text), expected(&dir, Format::Sha256sum));

    if Command::new("sha256sum").arg("--version").output().is_err() {
        eprintln!("note: sha256sum not installed; skipped the cross-check with coreutils");
        return;
    }
    // Saved outside DIR, so the manifest does not list itself; checked from inside DIR.
    let file = fx.write("SHA256SUMS", &text);
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg("--strict")
        .arg(&file)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sha256sum -c rejected it: {out:?}\n{text}"
    );
    let ok = String::from_utf8_lossy(&out.stdout).matches(": OK").count();
    assert_eq!(ok, 5, "{out:?}");
}

#[test]
fn blake3_manifest_matches_independent_hashes() {
    let fx = Fixture::new();
    let dir = tree(&fx);
    let text = manifest(&fx, &dir, "blake3");
    let got = parse(&text);
    assert_eq!(got, expected(&dir, Format::B3sum));
    assert_eq!(got["empty"], blake3_hex(b""));
    assert_eq!(got["a.txt"], blake3_hex(b"alpha\n"));
    assert_ne!(got["a.txt"], sha256_hex(b"alpha\n"));
}

#[test]
fn manifest_of_a_missing_dir_fails_and_bad_algorithm_is_exit_2() {
    let fx = Fixture::new();
    let missing = fx.root().join("missing");
    let out = fx.run(&[
        "manifest",
        missing.to_str().unwrap(),
        "--algorithm",
        "sha256",
    ]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let out = fx.run(&[
        "manifest",
        fx.root().to_str().unwrap(),
        "--algorithm",
        "md5",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_published_manifest_drives_a_passing_drill() {
    // The round trip a backup job would do: write the objects, publish `lifeboat manifest`
    // output as the point's SHA256SUMS, drill.
    let fx = Fixture::new();
    let point = fx.source().join(crate::util::DAY1);
    std::fs::create_dir_all(point.join("etc")).unwrap();
    std::fs::write(point.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::write(point.join("data.bin"), prng::random_bytes(10_000, 1)).unwrap();
    let text = manifest(&fx, &point, "sha256");
    std::fs::write(point.join("SHA256SUMS"), text).unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(crate::util::DAY1).len(), 2);
}
