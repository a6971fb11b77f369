//! A restic repository that changes or is damaged under a drill, on repositories made by the
//! real `restic` CLI: a `restic forget --prune` that runs during the drill (a `run` step
//! before the `restore` step: the index was read when the repository was opened, at
//! discovery) is told from damage, and a damaged snapshot file is a finding against that one
//! snapshot, not the end of discovery.

use lifeboat_testkit::{ResticRepo, sha256_hex};

use crate::util::{Drill, Fixture};

const PASSWORD: &str = "restic-test-password-XYZ";

/// A restic runbook for `repo`'s db01 snapshots, with `steps` (YAML) when given.
fn runbook(fx: &Fixture, repo: &ResticRepo, steps: &str) -> std::path::PathBuf {
    let text = format!(
        "version: 1\nname: restic-changed\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n    host: db01\n{steps}",
        repo.url(),
        repo.password_file().display()
    );
    fx.write("restic.yaml", &text)
}

/// A `steps` list whose first step runs `restic forget ARGS --prune` on `repo` (so it runs
/// after discovery read the index, before any file is restored), then restores.
fn prune_first(repo: &ResticRepo, args: &[&str]) -> String {
    let mut argv: Vec<String> = [
        "restic",
        "-r",
        repo.path().to_str().unwrap(),
        "--no-cache",
        "--password-file",
        repo.password_file().to_str().unwrap(),
        "forget",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    argv.extend(args.iter().map(|s| (*s).to_owned()));
    argv.push("--prune".into());
    let argv = serde_json::to_string(&argv).unwrap();
    format!("steps:\n  - name: prune during the drill\n    run: {argv}\n  - restore: {{}}\n")
}

fn drill(fx: &Fixture, rb: &std::path::Path) -> Drill {
    fx.drill_file(rb, &["--now", "2026-11-21T00:00:00Z", "--seed", "7"])
}

/// `restic forget` of the oldest db01 snapshot with `--max-unused 0` makes prune repack the
/// pack that held its own `a.txt` chunk together with chunks the newest snapshot still uses:
/// the index read at discovery names a pack that is gone, a fresh index names the new one,
/// and the file's one retry from it passes.
#[test]
fn a_pack_repacked_by_a_prune_during_the_drill_is_read_again_from_a_fresh_index() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let day0 = repo.pack_of(&sha256_hex(b"day 0\n"));
    let conf = sha256_hex(b"port = 8080\n");
    // The test means something only if the newest snapshot reads from a pack prune repacks.
    assert_eq!(
        repo.pack_of(&conf).id,
        day0.id,
        "the fixture's first pack no longer holds app.conf"
    );

    let steps = prune_first(&repo, &[&ids[0], "--max-unused", "0"]);
    let d = drill(&fx, &runbook(&fx, &repo, &steps));
    d.assert_code(0);
    assert_eq!(d.outcome(), "passed", "{}", d.context());
    assert_eq!(d.point_ids(), [ids[3].as_str()], "{}", d.context());
    let file = d.file(&ids[3], "/srv/app/conf/app.conf");
    assert_eq!(file["outcome"], "passed", "{}", d.context());
    assert_eq!(file["actual"], sha256_hex(b"port = 8080\n").as_str());
    // The prune did run during the drill: the pack discovery's index named is gone, and the
    // chunk lives in another one.
    assert!(!repo.pack_path(&day0.id).exists(), "prune did not repack");
    assert_ne!(repo.pack_of(&conf).id, day0.id);
}

/// `restic forget` of the very snapshot being drilled, with `--prune`: its snapshot file and
/// the packs only it used are gone when its files are restored. That is no finding about the
/// backup: the drill ends with exit 3, "repository changed during the drill", naming it.
#[test]
fn a_snapshot_pruned_during_the_drill_ends_it_with_exit_3_repository_changed() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let steps = prune_first(&repo, &[&ids[3]]);
    let d = drill(&fx, &runbook(&fx, &repo, &steps));
    d.assert_code(3);
    assert_eq!(d.outcome(), "error", "{}", d.context());
    let reason = Drill::reason(&d.evidence);
    assert!(
        reason.starts_with("repository changed during the drill")
            && reason.contains(&ids[3])
            && !reason.contains("damaged")
            && !reason.contains('\n'),
        "{reason}\n{}",
        d.context()
    );
    assert!(
        d.stderr.contains("repository changed during the drill"),
        "{}",
        d.context()
    );
    assert!(!d.stderr.contains(PASSWORD) && !d.evidence.to_string().contains(PASSWORD));
}
