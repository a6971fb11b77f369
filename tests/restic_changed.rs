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
    assert_eq!(
        file["actual"],
        lifeboat_testkit::blake3_hex(b"port = 8080\n").as_str()
    );
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

/// Damages snapshot file `id` of `repo` as `how` says: `flipped` (one byte of its ciphertext),
/// `truncated` (cut to half), or `foreign` (not a restic snapshot at all: replaced by bytes
/// no key encrypted).
fn damage_snapshot(repo: &ResticRepo, id: &str, how: &str) {
    let file = repo.path().join("snapshots").join(id);
    let mut bytes = std::fs::read(&file).unwrap();
    match how {
        "flipped" => {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        "truncated" => bytes.truncate(bytes.len() / 2),
        "foreign" => bytes = b"{\"time\":\"2026-11-20T02:00:00Z\",\"tree\":\"00\"}\n".to_vec(),
        other => panic!("no damage {other}"),
    }
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, &bytes).unwrap();
}

/// `lifeboat plan` of `rb`: exit code, stdout, stderr.
fn plan(fx: &Fixture, rb: &std::path::Path) -> (Option<i32>, String, String) {
    let out = fx.run(&[
        "plan",
        rb.to_str().unwrap(),
        "--now",
        "2026-11-21T00:00:00Z",
        "--seed",
        "7",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One snapshot file that cannot be read (a flipped byte, cut short, or no restic snapshot
/// at all) no longer ends discovery: the other snapshots are listed and drilled, and the
/// damaged one is counted, with its id and why, in what `lifeboat plan` shows and in the
/// evidence's `source.listing`.
#[test]
fn a_damaged_snapshot_file_is_a_finding_against_it_and_the_others_are_drilled() {
    for how in ["flipped", "truncated", "foreign"] {
        let fx = Fixture::new();
        let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
        // The newest db01 snapshot: the one a drill would otherwise have tried first.
        damage_snapshot(&repo, &ids[3], how);
        let rb = runbook(&fx, &repo, "");

        let (code, stdout, stderr) = plan(&fx, &rb);
        assert_eq!(code, Some(0), "{how}: {stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "{how}: {stderr}");
        let listed = format!("1 damaged (snapshot {} cannot be read:", ids[3]);
        assert!(stdout.contains(&listed), "{how}: {stdout}");
        assert!(stdout.contains(&ids[1][..8]), "{how}: {stdout}");

        let d = drill(&fx, &rb);
        d.assert_code(0);
        assert_eq!(d.point_ids(), [ids[1].as_str()], "{how}: {}", d.context());
        let listing = d.evidence["source"]["listing"].as_str().unwrap_or_default();
        assert!(
            listing.starts_with("4 snapshots in the repository:") && listing.contains(&listed),
            "{how}: {listing}"
        );
        assert!(!d.evidence.to_string().contains(PASSWORD));
    }
}

/// When no snapshot can be read there is no recovery point: the usual failure (exit 1),
/// whose reason says what discovery saw.
#[test]
fn a_repository_whose_every_snapshot_is_damaged_has_no_recovery_point() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    for (id, how) in ids
        .iter()
        .zip(["flipped", "truncated", "foreign", "flipped"])
    {
        damage_snapshot(&repo, id, how);
    }
    let d = drill(&fx, &runbook(&fx, &repo, ""));
    d.assert_code(1);
    assert!(d.points().is_empty(), "{}", d.context());
    let reason = Drill::reason(&d.evidence);
    assert!(
        reason.contains("no recovery point") && reason.contains("4 damaged"),
        "{reason}"
    );
}

/// A snapshot discovery listed, forgotten before the drill falls back to it (here by the
/// newest point's own `run` step, while a flipped byte fails that point): reading it is no
/// finding about the backup either. Exit 3, "repository changed during the drill".
#[test]
fn a_fallback_snapshot_forgotten_during_the_drill_ends_it_with_exit_3() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let blob = sha256_hex(b"day 3\n");
    let pack = repo.pack_of(&blob);
    let at = pack.blobs.iter().find(|b| b.id == blob).unwrap();
    repo.flip_pack_byte(&pack.id, at.offset + at.length / 2);
    let steps = prune_first(&repo, &[&ids[1]]);
    let d = drill(&fx, &runbook(&fx, &repo, &steps));
    d.assert_code(3);
    assert_eq!(d.outcome(), "error", "{}", d.context());
    let reason = Drill::reason(&d.evidence);
    assert!(
        reason.starts_with("repository changed during the drill") && reason.contains(&ids[1]),
        "{reason}\n{}",
        d.context()
    );
}
