//! `source.format: restic` end to end, on repositories made by the real `restic` CLI
//! (lifeboat-testkit's `ResticRepo`). What lands first is the foundation: the runbook keys
//! validate, and `lifeboat drill` refuses a restic runbook with exit 2 before anything runs,
//! because verifying a snapshot's files is not implemented yet and a drill must not pretend.

use lifeboat_testkit::ResticRepo;

use crate::util::Fixture;

const PASSWORD: &str = "restic-test-password-XYZ";

/// A restic runbook for `repo` with `extra` YAML after its `source`.
fn runbook(fx: &Fixture, repo: &ResticRepo, restic_extra: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        "version: 1\nname: restic-test\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n{restic_extra}{extra}",
        repo.url(),
        repo.password_file().display()
    );
    fx.write("restic.yaml", &text)
}

#[test]
fn a_restic_drill_is_refused_before_anything_runs() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let rb = runbook(&fx, &repo, "", "");

    let validated = fx.run(&["validate", rb.to_str().unwrap()]);
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stderr)
    );

    let evidence = fx.evidence_dir();
    let out = fx.run(&[
        "drill",
        rb.to_str().unwrap(),
        "--evidence-dir",
        evidence.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("drilling a restic repository is not implemented yet")
            && stderr.contains("lifeboat plan")
            && stderr.contains("nothing was run"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD) && !String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
    assert!(!evidence.exists(), "a refused drill wrote evidence");
}

/// `lifeboat plan` on `rb` at `now`, with the fixture's own data home.
fn plan(fx: &Fixture, rb: &std::path::Path, now: &str) -> (i32, String, String) {
    let out = fx.run(&["plan", rb.to_str().unwrap(), "--now", now, "--seed", "7"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The point ids `lifeboat plan` lists under "recovery points, newest first:".
fn planned_points(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.contains("recovery points, newest first:"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// The ids `restic snapshots --json FILTERS` lists, newest first.
fn restic_ids(repo: &ResticRepo, filters: &[&str]) -> Vec<String> {
    let listed: serde_json::Value = serde_json::from_str(&repo.snapshots_json(filters)).unwrap();
    let mut listed: Vec<(jiff::Timestamp, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["time"].as_str().unwrap().parse().unwrap(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    listed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    listed.into_iter().map(|(_, id)| id).collect()
}

#[test]
fn plan_lists_the_snapshots_restic_lists_and_the_files_a_drill_would_verify() {
    let fx = Fixture::new();
    let (repo, _) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);

    // No filter: every snapshot, newest first, as restic lists them.
    let rb = runbook(&fx, &repo, "", "");
    let (code, stdout, stderr) = plan(&fx, &rb, "2026-11-21T00:00:00Z");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(planned_points(&stdout), restic_ids(&repo, &[]), "{stdout}");
    assert!(stdout.contains("4 snapshots in the repository"), "{stdout}");

    // host and tags: the same snapshots as restic's own filters.
    let rb = runbook(&fx, &repo, "    host: db01\n    tags: [nightly]\n", "");
    let (code, stdout, stderr) = plan(&fx, &rb, "2026-11-21T00:00:00Z");
    assert_eq!(code, 0, "{stderr}");
    let expected = restic_ids(&repo, &["--host", "db01", "--tag", "nightly"]);
    assert_eq!(expected.len(), 3);
    assert_eq!(planned_points(&stdout), expected, "{stdout}");
    assert!(stdout.contains("1 not matching source.restic"), "{stdout}");
    // The newest is tried first, and its files are the snapshot's regular files, as
    // `restic ls` prints them.
    let first = stdout
        .lines()
        .skip_while(|l| {
            !l.starts_with(&format!(
                "  point {}  tried first: verifies 3 files",
                expected[0]
            ))
        })
        .skip(1)
        .take(3)
        .map(str::trim)
        .collect::<Vec<_>>();
    assert_eq!(
        first,
        [
            "/srv/app/a.txt",
            "/srv/app/big.bin",
            "/srv/app/conf/app.conf"
        ],
        "{stdout}"
    );
    let ls = repo.restic(&["ls", &expected[0]], None);
    for f in &first {
        assert!(ls.lines().any(|l| l == *f), "{f} not in restic ls:\n{ls}");
    }

    // T0 before the newest: it is out of the window, the next is tried first.
    let (code, stdout, _) = plan(&fx, &rb, "2026-11-19T03:00:00Z");
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!(
            "{}  2026-11-20T02:00:00Z  out of the window: after T0",
            expected[0]
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  point {}  tried first", expected[1])),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD) && !stdout.contains(PASSWORD));
}

#[test]
fn plan_with_a_wrong_password_exits_3_without_the_password() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let wrong = fx.write("wrong.pass", "not-the-password-QQQ\n");
    let text = format!(
        "version: 1\nname: restic-test\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n",
        repo.url(),
        wrong.display()
    );
    let rb = fx.write("wrong.yaml", &text);
    let (code, stdout, stderr) = plan(&fx, &rb, "2026-11-21T00:00:00Z");
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("does not accept the password"), "{stderr}");
    for secret in ["not-the-password-QQQ", PASSWORD] {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{stderr}"
        );
    }
}
