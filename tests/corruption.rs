//! Damaged backups: each kind of damage fails the file it hit, with a reason an operator can
//! act on, fails the drill with exit 1, and leaves the other files verified.

use std::path::{Component, Path, PathBuf};

use lifeboat_testkit::{Format, Snapshot, sha256_hex};
use test_case::test_case;

use crate::util::{DAY1, Drill, Fixture, find_files};

/// Asserts the drill failed because of exactly the file `rel`, and returns its result.
fn failed_file<'d>(d: &'d Drill, rel: &str) -> &'d serde_json::Value {
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed", "{}", d.context());
    assert_eq!(d.point(DAY1)["outcome"], "failed", "{}", d.context());
    for f in d.point(DAY1)["files"].as_array().unwrap() {
        let want = if f["path"] == rel { "failed" } else { "passed" };
        assert_eq!(f["outcome"], want, "{f}\n{}", d.context());
    }
    // Nothing passed, so nothing was recovered.
    assert!(d.measured("recovery_point").is_null(), "{}", d.context());
    assert!(d.measured("rpo_seconds").is_null(), "{}", d.context());
    assert_eq!(
        d.measured("rpo_met"),
        false,
        "a null never meets an objective"
    );
    d.file(DAY1, rel)
}

#[test_case(Format::Sha256sum ; "sha256sum")]
#[test_case(Format::B3sum ; "b3sum")]
fn flipped_byte_is_a_hash_mismatch_with_both_digests(format: Format) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, format);
    p.flip_byte("data/blob.bin", 1234);
    let damaged = std::fs::read(p.path("data/blob.bin")).unwrap();

    let rb = crate::util::Runbook {
        manifest_path: format.file_name().into(),
        format,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    let f = failed_file(&d, "data/blob.bin");
    assert!(Drill::reason(f).contains("hash mismatch"), "{f}");
    assert_eq!(f["expected"], p.entry("data/blob.bin").digest(format));
    assert_eq!(
        f["actual"],
        format.digest_hex(&damaged),
        "actual is the restored bytes' digest"
    );
    assert_ne!(f["expected"], f["actual"]);
    assert_eq!(f["bytes"], damaged.len());
    assert!(
        !Drill::reason(&d.evidence).is_empty(),
        "the drill says why it failed"
    );
}

#[test]
fn truncated_object_is_a_hash_mismatch() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.truncate("data/blob.bin", 1000);
    let d = fx.drill(&fx.runbook(), &[]);
    let f = failed_file(&d, "data/blob.bin");
    assert!(Drill::reason(f).contains("hash mismatch"), "{f}");
    assert_eq!(f["bytes"], 1000);
    assert_eq!(
        f["actual"],
        sha256_hex(&std::fs::read(p.path("data/blob.bin")).unwrap())
    );
}

#[test_case("etc/app.conf" ; "plain")]
#[test_case("db/dump.sql" ; "neither PATH nor PATH.zst")]
fn missing_object_is_reported_missing(rel: &str) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.remove(rel);
    let d = fx.drill(&fx.runbook(), &[]);
    let f = failed_file(&d, rel);
    assert!(Drill::reason(f).contains("missing"), "{f}");
    assert!(f["actual"].is_null(), "{f}");
    assert_eq!(f["expected"], p.entry(rel).sha256);
}

#[test]
fn corrupt_zstd_frame_names_zstd() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.corrupt_zst("db/dump.sql");
    let d = fx.drill(&fx.runbook(), &[]);
    let f = failed_file(&d, "db/dump.sql");
    assert!(Drill::reason(f).contains("zstd"), "{f}");
}

#[test]
fn truncated_zstd_frame_names_zstd() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.truncate_zst("db/dump.sql");
    let d = fx.drill(&fx.runbook(), &[]);
    let f = failed_file(&d, "db/dump.sql");
    assert!(Drill::reason(f).contains("zstd"), "{f}");
}

/// Unsafe manifest paths. Each names a bait file that exists where a naive join would read
/// from, and a unique file name so a write anywhere up the tree can be detected.
#[test_case("../bait-dotdot-1" ; "parent of the point")]
#[test_case("../../bait-dotdot-2" ; "beside the source")]
#[test_case("a/../../bait-dotdot-3" ; "dotdot in the middle")]
#[test_case("../../../../../../../../../../lifeboat-escape-canary" ; "far above")]
#[test_case("/etc/passwd" ; "absolute")]
fn unsafe_path_fails_the_file_and_writes_nothing(unsafe_path: &str) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    // Bait where a naive join of the point folder and the path lands, with matching digests,
    // so only the path check can fail the entry.
    let bait_bytes = b"secret bait\n";
    let naive = lexical_join(p.dir(), unsafe_path);
    if naive.starts_with(fx.root()) {
        std::fs::create_dir_all(naive.parent().unwrap()).unwrap();
        std::fs::write(&naive, bait_bytes).unwrap();
    }
    let line = if unsafe_path == "/etc/passwd" {
        p.manifest_line_for(
            unsafe_path,
            &std::fs::read("/etc/passwd").unwrap_or_default(),
        )
    } else {
        p.manifest_line_for(unsafe_path, bait_bytes)
    };
    p.append_manifest_line(&line);

    let name = Path::new(unsafe_path).file_name().unwrap().to_owned();
    // The drill's own places: scratch, evidence and its default history store (`data/`).
    let outside = |root: &Path| {
        let mut s = Snapshot::take(root);
        s.entries.retain(|k, _| {
            !k.starts_with("scratch") && !k.starts_with("evidence") && !k.starts_with("data")
        });
        s
    };
    let rb = crate::util::Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let runbook = fx.write("runbook.yaml", &rb.yaml());
    let before = outside(&fx.root());

    let d = fx.drill_file(&runbook, &[]);
    let f = failed_file(&d, unsafe_path);
    assert!(Drill::reason(f).starts_with("unsafe path"), "{f}");

    // Nothing was written outside the scratch area...
    outside(&fx.root()).assert_unchanged_since(&before);
    let mut dir = fx.root();
    while let Some(parent) = dir.parent() {
        dir = parent.to_owned();
        if unsafe_path != "/etc/passwd" {
            assert!(
                !dir.join(&name).exists(),
                "{} was written",
                dir.join(&name).display()
            );
        }
    }
    // ...nor inside it, nor anything in the evidence folder but the run's record.
    let stem = name.to_str().unwrap();
    assert_eq!(find_files(&fx.scratch_dir(), stem), Vec::<PathBuf>::new());
    assert_eq!(find_files(&fx.evidence_dir(), stem), Vec::<PathBuf>::new());
    let runs: Vec<_> = std::fs::read_dir(fx.evidence_dir().join("drill-test"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1);
    // The safe files were still restored.
    assert_eq!(find_files(&fx.scratch_dir(), "etc/app.conf").len(), 1);
}

/// `base` joined with `rel`, with `..` resolved on the names alone (no file system access).
fn lexical_join(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[test_case("this is not a manifest line" ; "garbage")]
#[test_case("0123456789abcdef  short-digest.txt" ; "digest too short")]
#[test_case("da39a3ee5e6b4b0d3255bfef95601890afd80709  sha1-digest.txt" ; "sha1 length")]
#[test_case(&format!("{}  not-hex.txt", "zz".repeat(32)) ; "not hex")]
#[test_case(&"ab".repeat(32) ; "digest without a path")]
fn malformed_manifest_line_fails_the_point_naming_the_line(line: &str) {
    let fx = Fixture::new();
    let p = fx
        .set
        .point(DAY1)
        .file("a.txt", "a\n")
        .file("b.txt", "b\n")
        .manifest(Format::Sha256sum);
    p.append_manifest_line(line);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    let point = d.point(DAY1);
    assert_eq!(point["outcome"], "failed");
    assert!(Drill::reason(point).contains("line 3"), "{point}");
}

#[test_case("" ; "empty")]
#[test_case("\n\n" ; "blank lines only")]
fn empty_manifest_is_never_a_pass(text: &str) {
    let fx = Fixture::new();
    let p = fx.set.point(DAY1).manifest(Format::Sha256sum);
    std::fs::write(p.manifest_path(), text).unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert_eq!(d.point(DAY1)["outcome"], "failed");
    assert!(!Drill::reason(d.point(DAY1)).is_empty(), "{}", d.context());
}
