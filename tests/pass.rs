//! Drills that must pass: good backups in every supported shape.

use lifeboat_testkit::{Format, prng};
use test_case::test_case;

use crate::util::{DAY1, Drill, Fixture};

#[test_case(Format::Sha256sum ; "sha256sum")]
#[test_case(Format::B3sum ; "b3sum")]
fn clean_point_passes_and_every_file_is_verified(format: Format) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, format);
    let rb = crate::util::Runbook {
        manifest_path: format.file_name().into(),
        format,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);

    assert_eq!(d.outcome(), "passed", "{}", d.context());
    assert!(d.evidence["reason"].is_null(), "{}", d.context());
    assert_eq!(d.point_ids(), [DAY1]);
    assert_eq!(d.point(DAY1)["outcome"], "passed");
    assert_eq!(d.measured("recovery_point"), DAY1);
    assert_eq!(d.measured("rpo_seconds").as_f64(), Some(86_400.0));
    assert_eq!(d.measured("rpo_met"), true);
    assert_eq!(d.measured("rto_met"), true);
    assert_eq!(d.evidence["sample"]["all"], true);

    // Every manifest entry is verified, with the digest the testkit computed independently.
    let mut listed = d.file_paths(DAY1);
    listed.sort();
    assert_eq!(listed, p.paths());
    for e in p.entries() {
        let f = d.file(DAY1, &e.path);
        assert_eq!(f["outcome"], "passed", "{}: {f}", e.path);
        assert_eq!(f["algorithm"], format.algorithm());
        assert_eq!(f["expected"], e.digest(format));
        assert_eq!(f["actual"], e.digest(format));
        assert_eq!(
            f["bytes"], e.len,
            "{}: restored (decompressed) size",
            e.path
        );
        assert!(f["reason"].is_null(), "{f}");
    }
    // The .zst object was found, decompressed and hashed as the manifest's PATH.
    assert!(p.entry("db/dump.sql").zst);
    assert_eq!(d.file(DAY1, "db/dump.sql")["object"], "db/dump.sql.zst");
    assert_eq!(d.file(DAY1, "etc/app.conf")["object"], "etc/app.conf");
}

#[test]
fn binary_marker_lines_are_accepted() {
    let fx = Fixture::new();
    fx.set
        .point(DAY1)
        .file("a.txt", "alpha\n")
        .zst_file("b/c.log", prng::text_bytes(5000, 1))
        .binary_marker()
        .manifest(Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(DAY1).len(), 2);
}

#[test]
fn escaped_names_with_backslash_and_newline_are_restored() {
    let fx = Fixture::new();
    let p = fx
        .set
        .point(DAY1)
        .file("dir/back\\slash.txt", "one\n")
        .file("dir/new\nline.txt", "two\n")
        .file("dir/with space.txt", "three\n")
        .manifest(Format::Sha256sum);
    let text = std::fs::read_to_string(p.manifest_path()).unwrap();
    assert!(
        text.starts_with('\\'),
        "the testkit escapes like coreutils: {text}"
    );

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    for rel in [
        "dir/back\\slash.txt",
        "dir/new\nline.txt",
        "dir/with space.txt",
    ] {
        assert_eq!(d.file(DAY1, rel)["outcome"], "passed");
    }
}

#[test]
fn plain_object_wins_over_a_zst_one_of_the_same_name() {
    // "The stored object is PATH, or, where that does not exist, PATH.zst."
    let fx = Fixture::new();
    fx.set
        .point(DAY1)
        .file("report.txt", "the real bytes\n")
        .unlisted("report.txt.zst", "not even zstd")
        .manifest(Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.file(DAY1, "report.txt")["object"], "report.txt");
}

#[test]
fn objects_the_manifest_does_not_list_are_ignored() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::write(fx.source().join(DAY1).join("stray.tmp"), "x").unwrap();
    std::fs::write(fx.source().join("README"), "not a point").unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert!(!d.file_paths(DAY1).contains(&"stray.tmp".to_owned()));
    assert_eq!(Drill::reason(&d.evidence), "");
}

/// `lifeboat drill … | head -1`: a reader that leaves early must not turn a passed drill into
/// a panic (exit 101); the verdict stands, and the evidence is complete.
#[test]
fn a_closed_stdout_does_not_change_the_verdict() {
    use std::process::Stdio;

    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = fx.runbook();
    let path = fx.write("runbook.yaml", &rb.yaml());
    let mut child = fx
        .drill_command(&path, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lifeboat");
    // Close the read end before lifeboat writes anything: every write then fails with EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for lifeboat");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    // The one run folder under EVIDENCE_DIR/RUNBOOK_NAME/ holds the whole record.
    let runs: Vec<_> = std::fs::read_dir(fx.evidence_dir().join(&rb.name))
        .expect("runbook evidence folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let text = std::fs::read_to_string(runs[0].join("evidence.json")).expect("evidence.json");
    let evidence: serde_json::Value = serde_json::from_str(&text).expect("evidence is JSON");
    assert_eq!(evidence["outcome"], "passed");
}

/// The verdict is coloured only where the person asked for it: a pipe gets plain text,
/// `CLICOLOR_FORCE` forces colour into it, and `NO_COLOR` wins over both.
#[test]
fn the_verdict_honours_no_color_and_clicolor_force() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
    let stdout = |env: &[(&str, &str)]| {
        let mut cmd = fx.drill_command(&runbook, &[]);
        cmd.env_remove("NO_COLOR").env_remove("CLICOLOR");
        cmd.envs(env.iter().copied());
        let d = Drill::new(cmd.output().unwrap(), &fx.evidence_dir());
        d.assert_code(0);
        assert!(d.stdout.contains("PASSED"), "{}", d.context());
        d.stdout
    };
    assert!(!stdout(&[]).contains('\x1b'), "a pipe is not a terminal");
    assert!(stdout(&[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    assert!(!stdout(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
}
