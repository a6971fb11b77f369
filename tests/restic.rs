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
