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

/// Runs `script` with `sh -c`, `lifeboat` on its PATH, in `dir` (also `$POINT`).
fn shell(dir: &Path, script: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_lifeboat")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("POINT", dir)
        .env("PATH", path)
        .output()
        .unwrap()
}

/// `sha256sum -c --strict FILE` inside `dir`, which must accept every line.
fn sha256sum_check(dir: &Path, file: &str) {
    let out = Command::new("sha256sum")
        .args(["-c", "--strict", file])
        .current_dir(dir)
        .output()
        .expect("sha256sum is installed");
    assert!(out.status.success(), "sha256sum -c {file}: {out:?}");
}

/// A recovery point: files in folders, written as a backup job would, before its manifest.
fn job_point(fx: &Fixture) -> std::path::PathBuf {
    let point = fx.source().join(crate::util::DAY1);
    std::fs::create_dir_all(point.join("etc")).unwrap();
    std::fs::write(point.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::write(point.join("data.bin"), prng::random_bytes(100_000, 3)).unwrap();
    std::fs::write(point.join("notes.txt"), "notes\n").unwrap();
    point
}

#[test]
fn the_documented_backup_job_line_never_lists_the_manifest_it_writes() {
    let fx = Fixture::new();
    let point = job_point(&fx);
    // With the algorithm spelled out, then the documented line as it is written (sha256 is
    // the default); the second run finds the first one's SHA256SUMS there, and must not list
    // that one either.
    for line in [
        "cd \"$POINT\" && lifeboat manifest . --algorithm sha256 > SHA256SUMS",
        "cd \"$POINT\" && lifeboat manifest . > SHA256SUMS",
    ] {
        let out = shell(&point, line);
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(point.join("SHA256SUMS")).unwrap();
        let listed = parse(&text);
        assert_eq!(
            listed.keys().collect::<Vec<_>>(),
            ["data.bin", "etc/hosts", "notes.txt"],
            "{text}"
        );
        sha256sum_check(&point, "SHA256SUMS");
        // Every file of the point, the manifest as published: a full drill passes.
        let d = fx.drill(&fx.runbook(), &[]);
        d.assert_code(0);
        assert_eq!(d.file_paths(crate::util::DAY1).len(), 3);
    }
}

#[test]
fn output_writes_the_manifest_atomically_and_leaves_it_out() {
    let fx = Fixture::new();
    let point = job_point(&fx);
    // A stale manifest from yesterday is replaced, never listed, and never half-written.
    std::fs::write(point.join("SHA256SUMS"), "stale\n").unwrap();
    let out = fx.run(&[
        "manifest",
        point.to_str().unwrap(),
        "--output",
        point.join("SHA256SUMS").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let text = std::fs::read_to_string(point.join("SHA256SUMS")).unwrap();
    assert_eq!(parse(&text).len(), 3, "{text}");
    assert!(!text.contains("SHA256SUMS"), "{text}");
    sha256sum_check(&point, "SHA256SUMS");
    // Nothing but the manifest was added: no temporary file left beside it.
    let mut names: Vec<String> = std::fs::read_dir(&point)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["SHA256SUMS", "data.bin", "etc", "notes.txt"]);
    fx.drill(&fx.runbook(), &[]).assert_code(0);
}

#[test]
fn exclude_leaves_out_files_folders_and_paths() {
    let fx = Fixture::new();
    let point = job_point(&fx);
    std::fs::create_dir_all(point.join("logs/old")).unwrap();
    std::fs::write(point.join("logs/today.log"), "x").unwrap();
    std::fs::write(point.join("logs/old/a.log"), "x").unwrap();
    std::fs::write(point.join("upload.tmp"), "x").unwrap();
    std::fs::write(point.join("etc/x.tmp"), "x").unwrap();
    std::fs::write(point.join("B3SUMS"), "x").unwrap();
    let out = fx.run(&[
        "manifest",
        point.to_str().unwrap(),
        "--exclude",
        "logs",
        "--exclude",
        "**/*.tmp",
        // A path from the current folder (the fixture's root) names a file inside DIR.
        "--exclude",
        &format!("source/{}/B3SUMS", crate::util::DAY1),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listed = parse(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        ["data.bin", "etc/hosts", "notes.txt"]
    );
    // `*` stays within a folder: the top-level pattern does not reach etc/x.tmp.
    let out = fx.run(&["manifest", point.to_str().unwrap(), "--exclude", "*.tmp"]);
    let listed = parse(&String::from_utf8(out.stdout).unwrap());
    assert!(listed.contains_key("etc/x.tmp"), "{listed:?}");
    assert!(!listed.contains_key("upload.tmp"), "{listed:?}");
}

/// `bytes` compressed by the real `zstd` CLI, read from a pipe (no content size in the frame).
fn zstd_cli(bytes: &[u8], args: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("zstd")
        .args(args)
        .args(["-q", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("zstd is installed");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

#[test]
fn decompressed_publishes_what_the_drill_restores_from_zst_objects() {
    let fx = Fixture::new();
    let point = job_point(&fx);
    let dump = prng::text_bytes(300_000, 9);
    std::fs::create_dir_all(point.join("db")).unwrap();
    std::fs::write(point.join("db/dump.sql.zst"), zstd_cli(&dump, &["-19"])).unwrap();
    // Stored both ways: the drill reads the plain object for `both`, so its `.zst` twin is
    // listed as it is stored.
    std::fs::write(point.join("both"), "plain\n").unwrap();
    std::fs::write(point.join("both.zst"), zstd_cli(b"other\n", &[])).unwrap();
    let out = shell(
        &point,
        "lifeboat manifest . --decompressed --output SHA256SUMS",
    );
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(point.join("SHA256SUMS")).unwrap();
    let listed = parse(&text);
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        [
            "both",
            "both.zst",
            "data.bin",
            "db/dump.sql",
            "etc/hosts",
            "notes.txt"
        ],
        "{text}"
    );
    assert_eq!(listed["db/dump.sql"], sha256_hex(&dump));
    // What `zstd -dc | sha256sum` says of the stored object, lifeboat says too.
    let piped = shell(&point, "zstd -dc db/dump.sql.zst | sha256sum");
    assert!(String::from_utf8_lossy(&piped.stdout).starts_with(&listed["db/dump.sql"]));
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(
        d.file(crate::util::DAY1, "db/dump.sql")["object"],
        "db/dump.sql.zst"
    );
    assert_eq!(d.file(crate::util::DAY1, "both")["object"], "both");

    // A `.zst` that is no zstd stream cannot be published decompressed: exit 3, naming it.
    std::fs::write(point.join("broken.zst"), "not zstd").unwrap();
    let out = fx.run(&["manifest", point.to_str().unwrap(), "--decompressed"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("corrupt zstd stream in broken.zst"),
        "{stderr}"
    );
}

#[test]
fn decompressed_reproduces_the_manifest_an_independent_backup_writer_published() {
    // The testkit shares no code with lifeboat: its point stores some objects as PATH.zst and
    // lists PATH with the digest of the plain bytes. `--decompressed` must publish the same
    // text, byte for byte, in both formats — including where dropping `.zst` moves a name in
    // the sort order (`a.zst` sorts after `a-b`, `a` before it).
    let fx = Fixture::new();
    let point = fx
        .set
        .point(crate::util::DAY1)
        .zst_file("a", b"compressed a\n")
        .file("a-b", b"plain\n")
        .zst_file("db/dump.sql", prng::text_bytes(200_000, 4))
        .file("db/orders.csv", prng::text_bytes(3_000, 5))
        .zst_file("var/log/app.log", prng::text_bytes(50_000, 6))
        .file("sub/with space.txt", b"space\n")
        .file("sub/back\\slash", b"backslash\n")
        .manifest(Format::Sha256sum)
        .manifest(Format::B3sum);
    let dir = point.dir().to_str().unwrap().to_owned();
    for (algorithm, published) in [("sha256", "SHA256SUMS"), ("blake3", "B3SUMS")] {
        let out = fx.run(&[
            "manifest",
            &dir,
            "--decompressed",
            "--algorithm",
            algorithm,
            "--exclude",
            "SHA256SUMS",
            "--exclude",
            "B3SUMS",
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let want = std::fs::read_to_string(point.dir().join(published)).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{algorithm}");
    }
}
