//! `lifeboat plan`: what a drill would do, shown without doing it. The files it lists are the
//! files the drill then verifies, for the same seed and T0; it writes nothing anywhere.

use std::path::Path;

use lifeboat_testkit::{Format, Snapshot};

use crate::util::{DAY1, DAY2, DAY3, Fixture, Runbook, T0, lifeboat};

/// `lifeboat plan RUNBOOK ARGS...` in the fixture folder, with its own empty data home (the
/// default history store lives there) and `--now T0` unless `args` has one.
fn plan(fx: &Fixture, runbook: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = lifeboat();
    cmd.current_dir(fx.root())
        .env("XDG_DATA_HOME", fx.root().join("data-home"))
        .env("HOME", fx.root().join("home"))
        .env("TMPDIR", fx.root().join("tmp"))
        .arg("plan")
        .arg(runbook);
    if !args.contains(&"--now") {
        cmd.args(["--now", T0]);
    }
    cmd.args(args).output().expect("run lifeboat")
}

/// The file lines of the point shown as `point ID  ...: verifies ...`: each `    PATH` line
/// after it, with a `  (sample.always)` mark kept.
pub fn planned_files(stdout: &str, id: &str) -> Vec<String> {
    let mut lines = stdout
        .lines()
        .skip_while(|l| !(l.starts_with(&format!("  point {id}  ")) && l.contains(": verifies ")));
    assert!(
        lines.next().is_some(),
        "no files planned for {id}:\n{stdout}"
    );
    lines
        .take_while(|l| l.starts_with("    ") && !l.starts_with("    then its steps"))
        .map(|l| l.trim().to_owned())
        .collect()
}

fn many_files(fx: &Fixture, id: &str, n: usize) -> lifeboat_testkit::Point {
    let mut p = fx.set.point(id);
    for i in 0..n {
        p = p.file(&format!("dir{}/f{i:02}.txt", i % 3), format!("{id} {i}\n"));
    }
    p.manifest(Format::Sha256sum)
}

#[test]
fn the_plan_lists_the_files_the_drill_then_verifies() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 20);
    many_files(&fx, DAY2, 20);
    let rb = Runbook {
        sample: Some("{files: 4, always: [dir2/f02.txt]}".into()),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    for seed in ["1", "2", "77"] {
        let out = plan(&fx, &path, &["--seed", seed]);
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let planned = planned_files(&stdout, DAY1);
        let d = fx.drill(&rb, &["--seed", seed]);
        d.assert_code(0);
        let drilled: Vec<String> = d.point(DAY1)["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap();
                if f["always"] == true {
                    format!("{path}  (sample.always)")
                } else {
                    path.to_owned()
                }
            })
            .collect();
        assert_eq!(planned, drilled, "seed {seed}\n{stdout}");
        assert!(
            stdout.contains(&format!(
                "the same drill: lifeboat drill {} --seed {seed} --now {T0}",
                path.display()
            )),
            "{stdout}"
        );
    }
}

#[test]
fn the_plan_shows_every_point_against_the_window_and_the_fallback() {
    let fx = Fixture::new();
    // After T0, in the window (newest corrupt manifest, then a good one), and too old.
    many_files(&fx, "2026-11-23T020000Z", 3);
    let newest = many_files(&fx, DAY1, 3);
    std::fs::write(newest.dir().join("SHA256SUMS"), "not a manifest line\n").unwrap();
    many_files(&fx, DAY2, 5);
    many_files(&fx, "2026-10-01T020000Z", 3);
    // Not points: a stray file, and a folder without a manifest.
    std::fs::write(fx.source().join("README"), "hello").unwrap();
    std::fs::create_dir(fx.source().join(DAY3)).unwrap();
    let rb = Runbook {
        within: Some("30d".into()),
        sample: Some("{files: 2, seed: 9}".into()),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let out = plan(&fx, &path, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for line in [
        "  seed  9, from the runbook's sample.seed".to_owned(),
        "    2026-11-23T020000Z  2026-11-23T02:00:00Z  out of the window: after T0".to_owned(),
        format!("    {DAY1}  2026-11-21T02:00:00Z  in the window"),
        format!("    {DAY2}  2026-11-20T02:00:00Z  in the window"),
        format!("    {DAY3}  2026-11-19T02:00:00Z  in the window"),
        "    2026-10-01T020000Z  2026-10-01T02:00:00Z  out of the window: older than within (30d)"
            .to_owned(),
        format!(
            "  point {DAY1}  tried first: fails before any file is restored: manifest SHA256SUMS: \
             line 1: "
        ),
        format!("  point {DAY2}  then: verifies 2 files (manifest SHA256SUMS, 5 entries):"),
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&line)),
            "no line starting {line:?}\n{stdout}"
        );
    }
    assert!(
        stdout.contains("\n  seen    6 entries in the source: 1 regular file"),
        "{stdout}"
    );
    // DAY3 (no manifest) is older than DAY2: the plan stops at the first point it would
    // restore, as the drill does.
    assert!(!stdout.contains(&format!("point {DAY3}")), "{stdout}");
    // And the drill does what the plan said.
    let planned = planned_files(&stdout, DAY2);
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    assert_eq!(d.file_paths(DAY2), planned);
}

#[test]
fn the_plan_writes_nothing() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 5);
    std::fs::create_dir(fx.root().join("tmp")).unwrap();
    let path = fx.write("runbook.yaml", &fx.runbook().yaml());
    let source = Snapshot::take(fx.source());
    let before = Snapshot::take(&fx.root());
    let out = plan(&fx, &path, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // No scratch folder (not even in TMPDIR), no evidence, no history, no default store.
    assert_eq!(Snapshot::take(&fx.root()), before);
    assert_eq!(Snapshot::take(fx.source()), source);
    assert!(!fx.evidence_dir().exists());
}

#[test]
fn the_plan_exits_as_a_drill_would_on_a_bad_runbook_or_an_unreadable_source() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 3);
    let bad = fx.write(
        "bad.yaml",
        &fx.runbook()
            .yaml()
            .replace("  select: latest", "  select: newest"),
    );
    let out = plan(&fx, &bad, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("recovery_points.select: unknown value"),
        "{stderr}"
    );

    let gone = Runbook {
        url: format!("{}/missing", fx.set.url()),
        ..fx.runbook()
    };
    let gone = fx.write("gone.yaml", &gone.yaml());
    let out = plan(&fx, &gone, &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("the source cannot be read"), "{stderr}");

    // No point in the window: the plan says a drill would fail, and still exits 0.
    let out = plan(
        &fx,
        &fx.write("rb.yaml", &fx.runbook().yaml()),
        &["--now", "2026-01-01T00:00:00Z"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("no recovery point in the window would be restored: a drill would fail"),
        "{stdout}"
    );
}
