//! `source.format: restic` end to end, on repositories made by the real `restic` CLI
//! (lifeboat-testkit's `ResticRepo`): `lifeboat plan` lists what restic lists, and `lifeboat
//! drill` verifies sampled files chunk by chunk, passing on a clean repository with the bytes
//! `restic dump` gives, and failing, naming the chunk and the pack, on a flipped byte or a
//! deleted pack; and, with a manifest inside the snapshot (written by the real `sha256sum`),
//! checking each file against it as well, so a snapshot that captured a file changed after
//! its manifest was written fails although restic's chunks are intact.

use lifeboat_testkit::{ResticRepo, sha256_hex};

use crate::util::{Drill, Fixture, find_files};

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

/// A drill of `rb` with the fixture's folders, at T0 `now`, seed 7.
fn drill(fx: &Fixture, rb: &std::path::Path, now: &str) -> Drill {
    fx.drill_file(rb, &["--now", now, "--seed", "7"])
}

/// Evidence, reports and output never hold the password.
fn assert_no_password(fx: &Fixture, d: &Drill) {
    let mut texts = vec![d.stdout.clone(), d.stderr.clone(), d.evidence.to_string()];
    if d.evidence_path.is_some() {
        texts.push(d.report_md());
        texts.push(d.report_html());
    }
    for text in texts {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    }
    let _ = fx;
}

/// The db01 nightly snapshots, newest first: (id, the files a drill verifies).
const DB01_FILES: [&str; 3] = [
    "/srv/app/a.txt",
    "/srv/app/big.bin",
    "/srv/app/conf/app.conf",
];

#[test]
fn a_clean_drill_passes_and_restores_what_restic_restores() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let rb = runbook(&fx, &repo, "    host: db01\n", "scratch:\n  keep: always\n");
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(0);
    assert_eq!(d.outcome(), "passed");
    let newest = &ids[3];
    assert_eq!(d.point_ids(), [newest.as_str()], "{}", d.context());
    assert_eq!(d.file_paths(newest), DB01_FILES);
    assert_no_password(&fx, &d);

    // Every file restored into the kept scratch area is byte for byte what `restic dump`
    // gives for the same snapshot, and its recorded digest is that of those bytes: BLAKE3,
    // as no manifest asks for another (each chunk was checked with SHA-256 against its id).
    for path in DB01_FILES {
        let rel = path.trim_start_matches('/');
        let found = find_files(&fx.scratch_dir(), rel);
        assert_eq!(found.len(), 1, "{rel} in {found:?}");
        let restored = std::fs::read(&found[0]).unwrap();
        let dumped = repo.restic_bytes(&["dump", newest, path]);
        assert!(restored == dumped, "{path} differs from restic dump");
        let file = d.file(newest, path);
        assert_eq!(file["outcome"], "passed", "{}", d.context());
        let digest = lifeboat_testkit::blake3_hex(&dumped);
        assert_eq!(file["algorithm"], "blake3");
        assert_eq!(file["actual"], digest.as_str());
        assert_eq!(file["expected"], digest.as_str());
        assert_eq!(file["bytes"], dumped.len() as u64);
    }
}

#[test]
fn the_same_seed_and_t0_verify_the_files_lifeboat_plan_lists() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let rb = runbook(&fx, &repo, "", "sample:\n  files: 2\n");
    let now = "2026-11-21T00:00:00Z";
    let (code, stdout, stderr) = plan(&fx, &rb, now);
    assert_eq!(code, 0, "{stderr}");
    let planned: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.contains("tried first: verifies 2 files"))
        .skip(1)
        .take(2)
        .map(|l| l.trim().to_owned())
        .collect();
    assert_eq!(planned.len(), 2, "{stdout}");
    let d = drill(&fx, &rb, now);
    d.assert_code(0);
    assert_eq!(d.file_paths(&ids[3]), planned, "{}", d.context());
}

#[test]
fn a_flipped_byte_in_a_data_pack_fails_its_files_and_the_drill_falls_back() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    // "day 3\n" is stored once, by the newest snapshot only: its pack holds no chunk an
    // older db01 snapshot uses, so the one before it can still pass.
    let blob = sha256_hex(b"day 3\n");
    let pack = repo.pack_of(&blob);
    assert!(pack.is_data());
    let at = pack.blobs.iter().find(|b| b.id == blob).unwrap();
    repo.flip_pack_byte(&pack.id, at.offset + at.length / 2);

    let rb = runbook(&fx, &repo, "    host: db01\n", "");
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    // Damage fails the drill (exit 1) even though an older point restores: as for files.
    d.assert_code(1);
    assert_eq!(
        d.point_ids(),
        [ids[3].as_str(), ids[1].as_str()],
        "{}",
        d.context()
    );
    assert_eq!(
        d.measured("recovery_point"),
        ids[1].as_str(),
        "{}",
        d.context()
    );
    let failed = d.file(&ids[3], "/srv/app/a.txt");
    assert_eq!(failed["outcome"], "failed");
    let reason = Drill::reason(failed);
    assert!(
        reason.starts_with("authentication failed (ciphertext changed): chunk 0")
            && reason.contains(&blob)
            && reason.contains(&format!("in pack {}", pack.id))
            && reason.contains("MAC check failed")
            && !reason.contains('\n'),
        "{reason}"
    );
    assert_eq!(failed["actual"], serde_json::Value::Null);
    // The other files of that snapshot do not use the pack, and pass.
    assert_eq!(d.file(&ids[3], "/srv/app/big.bin")["outcome"], "passed");
    assert_eq!(d.point(&ids[1])["outcome"], "passed", "{}", d.context());
    assert_no_password(&fx, &d);
}

/// The newest snapshot's root tree damaged: listing the snapshot's files (the sample is
/// drawn over them) cannot read it, which is a finding against that snapshot alone (exit 1,
/// the drill falls back to an older one), never a drill that could not complete (exit 3).
/// Found by a CI run in which `coverage_restic` happened to flip a byte of a tree pack.
#[test]
fn a_damaged_or_deleted_root_tree_fails_its_snapshot_and_the_drill_falls_back() {
    for delete in [false, true] {
        let fx = Fixture::new();
        let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
        let root = repo.tree_id(&ids[3], "");
        let pack = repo.pack_of(&root);
        assert!(!pack.is_data());
        // No older db01 snapshot's root is in that pack: each backup wrote its own.
        for older in [&ids[1], &ids[0]] {
            assert!(!pack.blobs.iter().any(|b| b.id == repo.tree_id(older, "")));
        }
        if delete {
            repo.delete_pack(&pack.id);
        } else {
            let at = pack.blobs.iter().find(|b| b.id == root).unwrap();
            repo.flip_pack_byte(&pack.id, at.offset + at.length / 2);
        }

        let rb = runbook(&fx, &repo, "    host: db01\n", "");
        let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
        d.assert_code(1);
        assert_eq!(d.outcome(), "failed", "{}", d.context());
        assert_eq!(
            d.point_ids(),
            [ids[3].as_str(), ids[1].as_str()],
            "{}",
            d.context()
        );
        let newest = d.point(&ids[3]);
        assert_eq!(newest["outcome"], "failed");
        assert_eq!(newest["files"].as_array().map(Vec::len), Some(0));
        let reason = Drill::reason(newest);
        let names_the_pack = if delete {
            reason.contains(&format!(
                "data/{}/{} is not in the repository",
                &pack.id[..2],
                pack.id
            ))
        } else {
            reason.contains(&pack.id[..8]) && reason.contains("MAC check failed")
        };
        assert!(
            reason.starts_with("snapshot or tree damaged: ") && names_the_pack,
            "{reason}"
        );
        assert_eq!(d.point(&ids[1])["outcome"], "passed", "{}", d.context());
        assert_eq!(d.measured("recovery_point"), ids[1].as_str());
        assert_no_password(&fx, &d);
    }
}

/// The newest snapshot forged by someone holding the key: 41 trees (under 32 KiB), each
/// naming the next one twice, so it would list 2^40 files. Listing it stops at the first
/// bound it passes (2 million folders), each tree read from storage once, and that is a
/// finding against that snapshot alone: the drill falls back to the real one before it.
#[test]
fn a_forged_snapshot_that_would_list_trillions_of_files_fails_and_the_drill_falls_back() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let trees = lifeboat_testkit::nested_trees(40, &["a", "b"]);
    let root = repo.forge_trees(&trees).pop().unwrap();
    let forged = repo.forge_snapshot(&root, "2026-11-20T12:00:00Z", "db01");

    let rb = runbook(&fx, &repo, "    host: db01\n", "");
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(1);
    assert_eq!(
        d.point_ids(),
        [forged.as_str(), ids[3].as_str()],
        "{}",
        d.context()
    );
    let newest = d.point(&forged);
    assert_eq!(newest["outcome"], "failed");
    assert_eq!(newest["files"].as_array().map(Vec::len), Some(0));
    let reason = Drill::reason(newest);
    assert!(
        reason.starts_with(&format!(
            "snapshot or tree damaged: snapshot {forged} lists more than 2000000 folders"
        )),
        "{reason}"
    );
    assert_eq!(d.point(&ids[3])["outcome"], "passed", "{}", d.context());
    assert_eq!(d.measured("recovery_point"), ids[3].as_str());
    assert_no_password(&fx, &d);
}

#[test]
fn a_deleted_pack_fails_the_files_it_held_as_pack_missing() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    // app.conf never changes: every db01 snapshot uses its one chunk, so no point can pass.
    let conf = sha256_hex(b"port = 8080\n");
    let pack = repo.pack_of(&conf);
    repo.delete_pack(&pack.id);

    let rb = runbook(&fx, &repo, "    host: db01\n", "");
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(1);
    assert_eq!(d.outcome(), "failed");
    assert_eq!(
        d.point_ids(),
        [ids[3].as_str(), ids[1].as_str(), ids[0].as_str()]
    );
    for id in [&ids[3], &ids[1], &ids[0]] {
        let reason = Drill::reason(d.file(id, "/srv/app/conf/app.conf"));
        assert!(
            reason.starts_with("pack missing: chunk 0")
                && reason.contains(&conf)
                && reason.contains(&pack.id),
            "{reason}"
        );
    }
}

#[test]
fn a_drill_with_a_wrong_password_exits_3_without_the_password() {
    let fx = Fixture::new();
    let (repo, _) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let wrong = fx.write("wrong.pass", "not-the-password-QQQ\n");
    let text = format!(
        "version: 1\nname: restic-test\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n",
        repo.url(),
        wrong.display()
    );
    let rb = fx.write("wrong.yaml", &text);
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(3);
    assert!(
        d.stderr.contains("does not accept the password"),
        "{}",
        d.context()
    );
    let all = format!("{}{}{}", d.stdout, d.stderr, d.evidence);
    assert!(
        !all.contains("not-the-password-QQQ") && !all.contains(PASSWORD),
        "{all}"
    );
}

/// The files of db01's backups with a manifest inside the snapshot, relative to
/// `/srv/app`, the manifest's folder.
const MANIFEST_FILES: [&str; 3] = ["a.txt", "conf/app.conf", "db/dump.sql"];

/// A db01 backup at `time` of `/srv/app` holding [`MANIFEST_FILES`] (`a.txt` says `day`) and
/// `SHA256SUMS`, written by the real `sha256sum` in `/srv/app` as a backup job would; then
/// `after` runs on the work tree before restic reads it (a file changed after the manifest
/// was written, the manifest removed). Returns the snapshot's id.
fn backup_with_manifest(
    repo: &ResticRepo,
    time: &str,
    day: &str,
    after: impl FnOnce(&std::path::Path),
) -> String {
    let files: [(&str, &[u8]); 3] = [
        ("srv/app/a.txt", day.as_bytes()),
        ("srv/app/conf/app.conf", b"port = 8080\n"),
        ("srv/app/db/dump.sql", b"CREATE TABLE t (id int);\n"),
    ];
    repo.backup_with(time, "db01", &["nightly"], &files, |tree| {
        let app = tree.join("srv/app");
        let out = std::process::Command::new("sha256sum")
            .args(MANIFEST_FILES)
            .current_dir(&app)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        std::fs::write(app.join("SHA256SUMS"), out.stdout).unwrap();
        after(tree);
    })
}

const WITH_MANIFEST: &str = "manifest:\n  path: /srv/app/SHA256SUMS\n  format: sha256sum\n";

#[test]
fn a_clean_snapshot_passes_against_the_manifest_inside_it() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let id = backup_with_manifest(&repo, "2026-11-20 02:00:00", "day 1\n", |_| {});
    let rb = runbook(
        &fx,
        &repo,
        "",
        &format!("{WITH_MANIFEST}scratch:\n  keep: always\n"),
    );
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(0);
    assert_eq!(d.point_ids(), [id.as_str()], "{}", d.context());
    assert_eq!(d.file_paths(&id), MANIFEST_FILES, "{}", d.context());
    let stored = repo.restic_bytes(&["dump", &id, "/srv/app/SHA256SUMS"]);
    let manifest = &d.point(&id)["manifest"];
    assert_eq!(manifest["path"], "/srv/app/SHA256SUMS", "{}", d.context());
    assert_eq!(manifest["algorithm"], "sha256");
    assert_eq!(manifest["entries"], 3);
    assert_eq!(manifest["sha256"], sha256_hex(&stored).as_str());
    let listed = String::from_utf8(stored).unwrap();
    for rel in MANIFEST_FILES {
        let file = d.file(&id, rel);
        assert_eq!(file["outcome"], "passed", "{}", d.context());
        // `expected` is the manifest's digest; the file lands where `restic restore` puts
        // it, below its folder in the snapshot.
        let digest = listed
            .lines()
            .find(|l| l.ends_with(&format!("  {rel}")))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        assert_eq!(file["expected"], digest);
        assert_eq!(file["actual"], digest);
        let found = find_files(&fx.scratch_dir(), &format!("srv/app/{rel}"));
        assert_eq!(found.len(), 1, "{rel}: {found:?}");
        assert_eq!(sha256_hex(&std::fs::read(&found[0]).unwrap()), digest);
    }
    assert_no_password(&fx, &d);
}

#[test]
fn a_file_changed_after_the_manifest_was_written_fails_although_its_chunks_verify() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let older = backup_with_manifest(&repo, "2026-11-19 02:00:00", "day 1\n", |_| {});
    // The job wrote its manifest, then the application wrote a.txt again before restic
    // read it: the snapshot holds intact chunks of bytes the manifest does not list.
    let newer = backup_with_manifest(&repo, "2026-11-20 02:00:00", "day 2\n", |tree| {
        std::fs::write(tree.join("srv/app/a.txt"), "day 2, rewritten\n").unwrap();
    });
    let rb = runbook(&fx, &repo, "", WITH_MANIFEST);
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(1);
    assert_eq!(
        d.point_ids(),
        [newer.as_str(), older.as_str()],
        "{}",
        d.context()
    );
    let changed = d.file(&newer, "a.txt");
    assert_eq!(changed["outcome"], "failed");
    let reason = Drill::reason(changed);
    assert!(
        reason.starts_with("hash mismatch: every chunk verified against its id"),
        "{reason}"
    );
    assert_eq!(changed["expected"], sha256_hex(b"day 2\n").as_str());
    assert_eq!(
        changed["actual"],
        sha256_hex(b"day 2, rewritten\n").as_str()
    );
    // What restic itself restores is the rewritten file: its own check has nothing to say.
    assert_eq!(
        repo.restic_bytes(&["dump", &newer, "/srv/app/a.txt"]),
        b"day 2, rewritten\n"
    );
    assert_eq!(d.file(&newer, "db/dump.sql")["outcome"], "passed");
    assert_eq!(d.point(&older)["outcome"], "passed", "{}", d.context());
    assert_eq!(d.measured("recovery_point"), older.as_str());
}

#[test]
fn a_snapshot_without_the_manifest_fails_and_the_drill_falls_back() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let older = backup_with_manifest(&repo, "2026-11-19 02:00:00", "day 1\n", |_| {});
    let newer = backup_with_manifest(&repo, "2026-11-20 02:00:00", "day 2\n", |tree| {
        std::fs::remove_file(tree.join("srv/app/SHA256SUMS")).unwrap();
    });
    let rb = runbook(&fx, &repo, "", WITH_MANIFEST);
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(1);
    assert_eq!(d.point_ids(), [newer.as_str(), older.as_str()]);
    let failed = d.point(&newer);
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(
        Drill::reason(failed),
        "manifest /srv/app/SHA256SUMS is not in the snapshot",
        "{}",
        d.context()
    );
    assert_eq!(d.measured("recovery_point"), older.as_str());
}

#[test]
fn plan_and_drill_verify_the_same_manifest_files_for_a_seed_and_t0() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    // A b3sum manifest (the b3sum tool is not installed here: the testkit writes its
    // format), ten files, a sample of three plus one `sample.always` names.
    let bodies: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| {
            (
                format!("srv/data/f{i}.bin"),
                format!("file {i}\n").into_bytes(),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = bodies
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let id = repo.backup_with("2026-11-20 02:00:00", "db01", &[], &files, |tree| {
        let lines: String = bodies
            .iter()
            .map(|(p, b)| {
                lifeboat_testkit::manifest_line(
                    &lifeboat_testkit::blake3_hex(b),
                    p.trim_start_matches("srv/data/"),
                    false,
                ) + "\n"
            })
            .collect();
        std::fs::write(tree.join("srv/data/B3SUMS"), lines).unwrap();
    });
    let rb = runbook(
        &fx,
        &repo,
        "",
        "manifest:\n  path: /srv/data/B3SUMS\n  format: b3sum\nsample:\n  files: 3\n  \
         always: [f9.bin]\nsteps:\n  - restore: {}\n  - run: [\"test\", \"-f\", \
         \"{scratch}/srv/data/f9.bin\"]\n",
    );
    let now = "2026-11-21T00:00:00Z";
    let (code, stdout, stderr) = plan(&fx, &rb, now);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("/srv/data/B3SUMS"), "{stdout}");
    // Three drawn and f9.bin named by `sample.always` (four, unless the draw took it).
    let head = stdout
        .lines()
        .find(|l| l.contains("tried first: verifies"))
        .unwrap();
    let n: usize = head
        .split("verifies ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let planned: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.contains("tried first: verifies"))
        .skip(1)
        .take(n)
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert!(
        (3..=4).contains(&n) && planned.contains(&"f9.bin".to_owned()),
        "{stdout}"
    );
    let d = drill(&fx, &rb, now);
    d.assert_code(0);
    assert_eq!(d.file_paths(&id), planned, "{}", d.context());
    for path in &planned {
        let file = d.file(&id, path);
        assert_eq!(file["algorithm"], "blake3");
        assert_eq!(file["actual"], file["expected"]);
    }
}

/// Without `manifest`, a snapshot's files are named as `restic ls` prints them, so
/// `sample.always` names them the same way (`/srv/app/a.txt`): the file is restored and
/// verified in every drill on top of the sample, a step can rely on it, and the record
/// marks it. A relative path is refused with a hint, and a listed path the snapshot lacks
/// fails the point naming it, as for a manifest.
#[test]
fn sample_always_names_a_snapshot_file_as_restic_ls_prints_it() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let rb = runbook(
        &fx,
        &repo,
        "    host: db01\n",
        "recovery_points: { select: latest }\nsample: { files: 1, always: [/srv/app/conf/app.conf] }\n\
         steps:\n  - restore: {}\n  - run: [\"test\", \"-f\", \"{scratch}/srv/app/conf/app.conf\"]\n",
    );
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(0);
    assert_eq!(d.outcome(), "passed", "{}", d.context());
    let newest = &ids[3];
    assert!(
        d.file_paths(newest)
            .contains(&"/srv/app/conf/app.conf".to_owned()),
        "{}",
        d.context()
    );
    assert_eq!(
        d.evidence["sample"]["always"],
        serde_json::json!(["/srv/app/conf/app.conf"])
    );

    let relative = runbook(
        &fx,
        &repo,
        "",
        "sample: { files: 1, always: [srv/app/conf/app.conf] }\n",
    );
    let d = drill(&fx, &relative, "2026-11-21T00:00:00Z");
    d.assert_code(2);
    assert!(
        d.stderr
            .contains("as `restic ls` prints it, e.g. /srv/app/db/dump.sql"),
        "{}",
        d.stderr
    );

    let missing = runbook(
        &fx,
        &repo,
        "    host: db01\n",
        "recovery_points: { select: latest }\nsample: { files: 1, always: [/srv/app/gone.txt] }\n",
    );
    let d = drill(&fx, &missing, "2026-11-21T00:00:00Z");
    assert_ne!(d.outcome(), "passed", "{}", d.context());
    assert!(
        d.evidence.to_string().contains("/srv/app/gone.txt"),
        "{}",
        d.context()
    );
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

/// The projected full-restore RTO sizes the snapshot whole, whatever the sample: restic 0.14
/// (Debian's) writes no summary, so the basis is the snapshot's tree, and its total is what
/// `restic stats --mode restore-size` counts for the same snapshot.
#[test]
fn the_projection_sizes_the_whole_snapshot_as_restic_stats_does() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let newest = &ids[3];
    let rb = runbook(&fx, &repo, "    host: db01\n", "sample:\n  files: 1\n");
    let d = drill(&fx, &rb, "2026-11-21T00:00:00Z");
    d.assert_code(0);
    let stats: serde_json::Value = serde_json::from_str(
        &repo.restic(&["stats", "--json", "--mode", "restore-size", newest], None),
    )
    .unwrap();
    let restic_total = stats["total_size"].as_u64().unwrap();
    assert!(restic_total > lifeboat_testkit::restic::BIG_BIN_BYTES as u64);
    let p = &d.evidence["projected"];
    assert_eq!(p["recovery_point"], newest.as_str(), "{}", d.context());
    assert_eq!(p["basis"], "tree", "{p}");
    assert_eq!(p["total_bytes"], restic_total, "{p}");
    assert_eq!(p["entries"], 3, "{p}");
    // The sample is rated by the plaintext it restored, the same basis as the total.
    let files = d.point(newest)["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 1);
    assert_eq!(p["sample"]["bytes"], files[0]["bytes"], "{p}");
    assert!(d.report_md().contains("of files"), "{}", d.report_md());
    assert_no_password(&fx, &d);
}
