//! SECURITY.md classes 4, 5 and 7 for restic repositories (`source.format: restic`): a name
//! inside a snapshot is data and cannot forge what `lifeboat plan` prints, and a damaged
//! repository is an error (exit 3) or a finding, never a panic. The repositories are made by
//! the real `restic` CLI (lifeboat-testkit's `ResticRepo`), then damaged. Damaged snapshot
//! files, and a repository pruned under a drill: `restic_changed.rs`.

use lifeboat_testkit::ResticRepo;

use crate::util::{Drill, Fixture};

const PASSWORD: &str = "hostile-restic-password";

/// A file name that, printed raw, sets the terminal's title, clears the screen, starts a new
/// line reading `PASSED` and reverses the rest of the line.
const FORGING_NAME: &str = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nPASSED  fake\u{202e}gpj.exe";
const FORGING_SHOWN: &str = r"x\e]0;pwned\x07\e[2J\r\nPASSED  fake\u{202e}gpj.exe";

fn runbook(fx: &Fixture, repo: &ResticRepo) -> std::path::PathBuf {
    let text = format!(
        "version: 1\nname: restic-hostile\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n",
        repo.url(),
        repo.password_file().display()
    );
    fx.write("restic.yaml", &text)
}

fn plan(fx: &Fixture, rb: &std::path::Path) -> (Option<i32>, String, String) {
    let out = fx.run(&[
        "plan",
        rb.to_str().unwrap(),
        "--now",
        "2026-11-21T00:00:00Z",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_forging_name_in_a_snapshot_is_shown_escaped_by_plan() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let path = format!("srv/{FORGING_NAME}");
    repo.backup(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[(path.as_str(), b"data\n")],
    );
    let (code, stdout, stderr) = plan(&fx, &runbook(&fx, &repo));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("/srv/{FORGING_SHOWN}")),
        "{stdout}"
    );
    let raw = stdout
        .chars()
        .find(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}');
    assert_eq!(
        raw, None,
        "a raw control character reached the terminal:\n{stdout:?}"
    );
}

/// A damaged index is an error (exit 3), never a panic. (A damaged snapshot file is a
/// finding against that snapshot alone: `restic_changed`'s tests.)
#[test]
fn a_damaged_index_is_exit_3_not_a_panic() {
    let fx = Fixture::new();
    let (repo, _) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let file = std::fs::read_dir(repo.path().join("index"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, &bytes).unwrap();

    let (code, stdout, stderr) = plan(&fx, &runbook(&fx, &repo));
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("restic repository"), "{stderr}");
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));
}

/// A key file asks scrypt for its cost, and whoever can write the repository writes it: one
/// asking for 2 TiB per lane aborted lifeboat (a failed allocation), one with a huge `p` kept
/// a drill deriving for hours. Each is exit 3 naming the key file, at once, from `plan` and
/// from a drill.
#[test]
fn a_key_file_asking_scrypt_for_too_much_is_exit_3_at_once() {
    for (param, value, says) in [
        ("N", 1u64 << 31, "2 TiB per lane"),
        ("p", 1 << 24, "N·r·p = 2^42.0"),
    ] {
        let fx = Fixture::new();
        let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
        repo.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
        let key = repo.key_file();
        let name = key.file_name().unwrap().to_str().unwrap().to_owned();
        repo.edit_key(&key, &name, |k| k[param] = value.into());

        let rb = runbook(&fx, &repo);
        let (code, stdout, stderr) = plan(&fx, &rb);
        assert_eq!(code, Some(3), "{param}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("the key file keys/{name} asks scrypt for"))
                && stderr.contains(says),
            "{param}: {stderr}"
        );
        let d = fx.drill_file(&rb, &["--now", "2026-11-21T00:00:00Z"]);
        d.assert_code(3);
        assert!(d.stderr.contains(says), "{param}: {}", d.context());
        assert!(!d.stderr.contains("panicked"), "{}", d.context());
        assert!(!d.context().contains(PASSWORD), "{}", d.context());
    }
}

/// A data pack cut short, or replaced by a link to a file outside the repository: the files
/// that use it fail with a reason naming the pack, the drill does not panic, and nothing of
/// the link's target reaches the drill's output or evidence.
#[test]
fn a_truncated_or_linked_pack_fails_its_files_in_a_drill_without_a_panic() {
    for damage in ["truncated", "link"] {
        let fx = Fixture::new();
        let (repo, _) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
        let conf = lifeboat_testkit::sha256_hex(b"port = 8080\n");
        let pack = repo.pack_of(&conf);
        let path = repo.pack_path(&pack.id);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        if damage == "truncated" {
            // Cut inside the chunk itself: what is left of it cannot be read whole.
            let blob = pack.blobs.iter().find(|b| b.id == conf).unwrap();
            let cut = usize::try_from(blob.offset + blob.length / 2).unwrap();
            std::fs::write(&path, &bytes[..cut]).unwrap();
        } else {
            let outside = fx.write("outside", "secret outside the repository\n");
            std::os::unix::fs::symlink(outside, &path).unwrap();
        }
        let rb = fx.write(
            "drill.yaml",
            &std::fs::read_to_string(runbook(&fx, &repo))
                .unwrap()
                .replace("restic:\n", "restic:\n    host: db01\n"),
        );
        let d = fx.drill_file(&rb, &["--now", "2026-11-21T00:00:00Z", "--seed", "7"]);
        d.assert_code(1);
        assert!(!d.stderr.contains("panicked"), "{damage}: {}", d.context());
        let newest = d.point_ids()[0].to_owned();
        let reason = Drill::reason(d.file(&newest, "/srv/app/conf/app.conf"));
        assert!(
            reason.contains(&format!("chunk 0 ({conf}) in pack {}", pack.id))
                && (reason.starts_with("pack unreadable")
                    || reason.starts_with("authentication failed")),
            "{damage}: {reason}"
        );
        assert!(
            !d.context().contains("secret outside"),
            "{damage}: the link's target was read into the drill"
        );
    }
}

/// The password file is read as every key and runbook file is (SECURITY.md classes 2 and
/// 8): a FIFO in its place is never opened and an oversized file is refused unread; each is
/// exit 3 naming the file, and nothing hangs. (A link is followed, as for keys: the path is
/// the operator's, not the backup's.)
#[test]
fn a_password_file_that_is_a_fifo_or_huge_is_refused_without_waiting() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    repo.backup("2026-11-20 02:00:00", "db01", &[], &[("srv/a", b"a\n")]);
    let fifo = fx.root().join("pass-fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let huge = fx.root().join("pass-huge");
    std::fs::write(&huge, vec![b'x'; 1 << 20]).unwrap();
    for file in [&fifo, &huge] {
        let text = format!(
            "version: 1\nname: restic-hostile\nsource:\n  url: {}\n  format: restic\n  restic:\n    password_file: {}\n",
            repo.url(),
            file.display()
        );
        let rb = fx.write("restic.yaml", &text);
        let started = std::time::Instant::now();
        let (code, _, stderr) = plan(&fx, &rb);
        assert_eq!(code, Some(3), "{}: {stderr}", file.display());
        assert!(stderr.contains("password_file"), "{stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "waited on {}",
            file.display()
        );
    }
}

/// A restic runbook for `repo` whose snapshots hold a manifest at `/srv/app/SHA256SUMS`.
fn with_manifest(fx: &Fixture, repo: &ResticRepo) -> std::path::PathBuf {
    let text = std::fs::read_to_string(runbook(fx, repo)).unwrap()
        + "manifest:\n  path: /srv/app/SHA256SUMS\n  format: sha256sum\n";
    fx.write("manifest.yaml", &text)
}

/// One db01 snapshot of `/srv/app/a.txt` and `/srv/outside.txt`, with `make` shaping
/// `/srv/app/SHA256SUMS` in the work tree (`app`: the tree's `srv/app`) before restic reads
/// it.
fn snapshot_with(repo: &ResticRepo, make: impl FnOnce(&std::path::Path)) -> String {
    repo.backup_with(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[
            ("srv/app/a.txt", b"a\n"),
            ("srv/outside.txt", b"not listed by the manifest's folder\n"),
        ],
        |tree| make(&tree.join("srv/app")),
    )
}

/// `sha256sum ARGS` run in `dir`, its output as the manifest `dir/SHA256SUMS`.
fn sha256sum_into(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("sha256sum")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::write(dir.join("SHA256SUMS"), out.stdout).unwrap();
}

/// A manifest inside a snapshot is read with a `files` manifest's rules (SECURITY.md
/// classes 1 and 8): an entry that leaves the manifest's folder — `../outside.txt`, an
/// absolute path, as the real `sha256sum` writes them — fails that file as an unsafe path
/// with nothing read or restored for it, although the snapshot holds the file; a file
/// named twice fails the whole manifest.
#[test]
fn manifest_entries_that_leave_its_folder_or_repeat_fail_as_for_files() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let id = snapshot_with(&repo, |app| {
        let absolute = app.join("a.txt");
        sha256sum_into(
            app,
            &["a.txt", "../outside.txt", absolute.to_str().unwrap()],
        );
    });
    let rb = with_manifest(&fx, &repo);
    let d = fx.drill_file(&rb, &["--now", "2026-11-21T00:00:00Z", "--seed", "7"]);
    d.assert_code(1);
    assert_eq!(d.file(&id, "a.txt")["outcome"], "passed", "{}", d.context());
    let paths = d.file_paths(&id);
    assert!(paths.contains(&"../outside.txt".to_owned()), "{paths:?}");
    for escaping in paths.iter().filter(|p| *p != "a.txt") {
        let file = d.file(&id, escaping);
        assert!(
            Drill::reason(file).starts_with("unsafe path"),
            "{escaping}: {}",
            d.context()
        );
        assert_eq!(file["bytes"], 0);
    }
    assert_eq!(d.file_paths(&id).len(), 3, "{}", d.context());
    assert!(
        crate::util::find_files(&fx.scratch_dir(), "outside.txt").is_empty(),
        "a file outside the manifest's folder was restored"
    );

    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let id = snapshot_with(&repo, |app| sha256sum_into(app, &["a.txt", "a.txt"]));
    let d = fx.drill_file(
        &with_manifest(&fx, &repo),
        &["--now", "2026-11-21T00:00:00Z"],
    );
    d.assert_code(1);
    let reason = Drill::reason(d.point(&id));
    assert!(
        reason.starts_with("manifest /srv/app/SHA256SUMS: line 2:") && reason.contains("line 1"),
        "{reason}"
    );
}

/// A manifest in the snapshot that is a link (to a valid manifest elsewhere in the
/// snapshot), a folder, or larger than a manifest may be (a sparse file restic stores in a
/// few deduplicated chunks) fails the point before any file is tried, with no panic and
/// without reading the oversized one (SECURITY.md classes 2 and 8).
#[test]
fn a_manifest_that_is_a_link_a_folder_or_huge_fails_the_point() {
    type Make = fn(&std::path::Path);
    let cases: [(&str, Make, &str); 3] = [
        (
            "link",
            |app| {
                sha256sum_into(app, &["a.txt"]);
                std::fs::rename(app.join("SHA256SUMS"), app.join("real.sums")).unwrap();
                std::os::unix::fs::symlink("real.sums", app.join("SHA256SUMS")).unwrap();
            },
            "manifest /srv/app/SHA256SUMS is not a regular file in the snapshot's tree",
        ),
        (
            "folder",
            |app| std::fs::create_dir(app.join("SHA256SUMS")).unwrap(),
            "manifest /srv/app/SHA256SUMS is not a regular file in the snapshot's tree",
        ),
        (
            "huge",
            |app| {
                let f = std::fs::File::create(app.join("SHA256SUMS")).unwrap();
                f.set_len(lifeboat_runner::MAX_MANIFEST_BYTES + 1).unwrap();
            },
            "manifest /srv/app/SHA256SUMS is 536870913 bytes, over the 536870912 a manifest may be",
        ),
    ];
    for (what, make, expected) in cases {
        let fx = Fixture::new();
        let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
        let id = snapshot_with(&repo, make);
        let started = std::time::Instant::now();
        let d = fx.drill_file(
            &with_manifest(&fx, &repo),
            &["--now", "2026-11-21T00:00:00Z"],
        );
        d.assert_code(1);
        assert!(!d.stderr.contains("panicked"), "{what}: {}", d.context());
        assert_eq!(Drill::reason(d.point(&id)), expected, "{what}");
        assert!(d.file_paths(&id).is_empty(), "{what}: {}", d.context());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{what}: read what it should have refused"
        );
    }
}

/// A snapshot file whose bytes are another snapshot's (validly encrypted, so rustic_core
/// decodes it without complaint) is not the snapshot its name says: restic names a snapshot
/// file by the SHA-256 of its stored bytes. Every file of that point fails with a reason
/// naming the snapshot and what its bytes hash to; the genuine snapshots pass.
#[test]
fn a_snapshot_file_holding_another_snapshots_bytes_fails_its_files() {
    let fx = Fixture::new();
    let (repo, ids) = ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let snapshots = repo.path().join("snapshots");
    let forged = snapshots.join(&ids[1]);
    let mut perms = std::fs::metadata(&forged).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&forged, perms).unwrap();
    std::fs::copy(snapshots.join(&ids[3]), &forged).unwrap();
    // Real damage: restic's own check reports that snapshot.
    let check = std::process::Command::new("restic")
        .args(["-r", repo.path().to_str().unwrap(), "--no-cache", "check"])
        .env("RESTIC_PASSWORD_FILE", repo.password_file())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        !check.status.success() && said.contains(&format!("snapshot/{}", &ids[1][..10])),
        "restic check: {said}"
    );

    let rb = fx.write(
        "all.yaml",
        &(std::fs::read_to_string(runbook(&fx, &repo))
            .unwrap()
            .replace("restic:\n", "restic:\n    host: db01\n")
            + "recovery_points:\n  select: all\n"),
    );
    let d = fx.drill_file(&rb, &["--now", "2026-11-21T00:00:00Z", "--seed", "7"]);
    d.assert_code(1);
    assert!(!d.stderr.contains("panicked"), "{}", d.context());
    let mut tried = d.point_ids();
    tried.sort_unstable();
    let mut expected = vec![ids[0].as_str(), ids[1].as_str(), ids[3].as_str()];
    expected.sort_unstable();
    assert_eq!(tried, expected, "{}", d.context());
    let paths = d.file_paths(&ids[1]);
    assert_eq!(paths.len(), 3, "{}", d.context());
    for path in &paths {
        assert_eq!(
            Drill::reason(d.file(&ids[1], path)),
            format!(
                "snapshot or tree damaged: snapshot {}: its stored bytes hash to {}, not to its name",
                ids[1], ids[3]
            ),
            "{}",
            d.context()
        );
    }
    assert_eq!(d.point(&ids[3])["outcome"], "passed", "{}", d.context());
    assert_eq!(d.point(&ids[0])["outcome"], "passed", "{}", d.context());
}

/// A tree re-encrypted with the repository's own key (what a compromised backup host can
/// do) so that `x.txt`'s content is the chunk of `y.txt`, a file of the same size: the
/// tree authenticates, every chunk of "x.txt" verifies against its id and the sizes add
/// up, yet the file is not what the snapshot recorded. The tree's plaintext no longer
/// hashes to its id: every file below it fails naming the tree and its pack, and a file
/// outside it still passes.
#[test]
fn a_tree_forged_with_the_repositorys_key_fails_the_files_below_it() {
    let fx = Fixture::new();
    let repo = ResticRepo::init_v1(&fx.root().join("restic"), PASSWORD);
    let id = repo.backup(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[
            ("srv/app/x.txt", b"good\n"),
            ("srv/app/y.txt", b"evil\n"),
            ("srv/z.txt", b"elsewhere\n"),
        ],
    );
    let tree = repo.tree_id(&id, "srv/app");
    let good = lifeboat_testkit::sha256_hex(b"good\n");
    let evil = lifeboat_testkit::sha256_hex(b"evil\n");
    repo.forge_tree(&tree, |text| {
        assert!(text.contains(&good), "{text}");
        text.replacen(&good, &evil, 1)
    });
    let pack = repo
        .packs()
        .into_iter()
        .find(|p| p.blobs.iter().any(|b| b.id == tree))
        .unwrap();

    let d = fx.drill_file(
        &runbook(&fx, &repo),
        &["--now", "2026-11-21T00:00:00Z", "--seed", "7"],
    );
    d.assert_code(1);
    assert!(!d.stderr.contains("panicked"), "{}", d.context());
    for path in ["/srv/app/x.txt", "/srv/app/y.txt"] {
        let file = d.file(&id, path);
        let reason = Drill::reason(file);
        assert!(
            reason.starts_with(&format!(
                "snapshot or tree damaged: tree {tree} in pack {}: its plaintext hashes to ",
                pack.id
            )) && reason.ends_with(", not to its id"),
            "{path}: {reason}"
        );
        assert_eq!(file["actual"], serde_json::Value::Null);
    }
    assert_eq!(d.file(&id, "/srv/z.txt")["outcome"], "passed");
}

/// A name that is not UTF-8 (byte 0xff), backed up by the real restic CLI next to the two
/// names a careless reading confuses it with: `a\u{fffd}b` (what a lossy decoding makes of
/// it) and a name that literally reads `a\xffb`. Each is listed under its own name; the two
/// UTF-8 ones are restored and verified, byte for byte their own contents; the other is never
/// restored or verified as another file: it fails, named escaped, as one lifeboat cannot
/// restore under its exact name.
#[test]
fn a_name_that_is_not_utf8_is_never_restored_as_another_file() {
    let fx = Fixture::new();
    let repo = ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let id = repo.backup_bytes(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[
            (b"srv/n/a\xffb", b"the 0xff file\n"),
            ("srv/n/a\u{fffd}b".as_bytes(), b"the U+FFFD file\n"),
            (br"srv/n/a\xffb", b"the backslash file\n"),
        ],
    );
    let rb = runbook(&fx, &repo);
    let d = fx.drill_file(&rb, &["--now", "2026-11-21T00:00:00Z", "--seed", "7"]);
    d.assert_code(1);
    let mut paths = d.file_paths(&id);
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 3, "names collide: {paths:?}\n{}", d.context());

    let fffd = d.file(&id, "/srv/n/a\u{fffd}b");
    assert_eq!(fffd["outcome"], "passed", "{}", d.context());
    assert_eq!(
        fffd["actual"],
        lifeboat_testkit::blake3_hex(b"the U+FFFD file\n").as_str()
    );
    let backslash = d.file(&id, r"/srv/n/a\xffb");
    assert_eq!(backslash["outcome"], "passed", "{}", d.context());
    assert_eq!(
        backslash["actual"],
        lifeboat_testkit::blake3_hex(b"the backslash file\n").as_str()
    );
    let odd = paths
        .iter()
        .find(|p| p.as_str() != "/srv/n/a\u{fffd}b" && p.as_str() != r"/srv/n/a\xffb")
        .unwrap();
    let file = d.file(&id, odd);
    assert_eq!(file["outcome"], "failed", "{}", d.context());
    assert!(file["actual"].is_null(), "{}", d.context());
    let reason = Drill::reason(file);
    assert!(
        reason.contains("not valid UTF-8") && reason.contains(r"a\xffb"),
        "{reason}"
    );
    // `lifeboat plan` shows it by the same escaped name, refused.
    let (code, stdout, stderr) = plan(&fx, &rb);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(odd.as_str()), "{stdout}");
}

/// A tree forged with the repository's key to name a file `../../../../NAME` (and another
/// `a/b.txt`, a name with a separator in it): the listing joins names as restic does, so
/// those paths reach the drill, which must restore nothing outside its scratch area. The
/// forged tree no longer hashes to its id, so every file below it fails; a file outside it
/// still passes.
#[test]
fn a_tree_naming_a_file_outside_its_folder_writes_nothing_outside_scratch() {
    let fx = Fixture::new();
    // A forged tree keeps its length (it is rewritten in place in its pack), so each
    // hostile name replaces one of the same length.
    let escape = "escape-lifeboat-hostile.txt";
    let outside = format!("../../../../{escape}");
    let inside = format!("{}.txt", "x".repeat(outside.len() - 4));
    let repo = ResticRepo::init_v1(&fx.root().join("restic"), PASSWORD);
    let id = repo.backup(
        "2026-11-20 02:00:00",
        "db01",
        &[],
        &[
            (&format!("srv/app/{inside}"), b"good\n"),
            ("srv/app/yyy.txt", b"also\n"),
            ("srv/z.txt", b"elsewhere\n"),
        ],
    );
    let tree = repo.tree_id(&id, "srv/app");
    repo.forge_tree(&tree, |text| {
        let (x, y) = (format!("\"{inside}\""), "\"yyy.txt\"");
        assert!(text.contains(&x) && text.contains(y), "{text}");
        text.replacen(&x, &format!("\"{outside}\""), 1)
            .replacen(y, "\"a/b.txt\"", 1)
    });

    let d = fx.drill_file(&runbook(&fx, &repo), &["--now", "2026-11-21T00:00:00Z"]);
    assert!(!d.stderr.contains("panicked"), "{}", d.context());
    d.assert_code(1);
    // Nowhere above scratch (scratch/srv/app/../../../../ is the fixture's parent).
    for above in fx.scratch_dir().ancestors().skip(1) {
        assert!(!above.join(escape).exists(), "{}", above.display());
    }
    assert!(crate::util::find_files(&fx.root(), escape).is_empty());
    // The path that leaves is refused as a path, before anything is read; the one with a
    // separator in its name is read as nested, and fails on the forged tree; the file
    // outside the forged tree passes.
    let escaping = d.file(&id, &format!("/srv/app/{outside}"));
    assert_eq!(escaping["outcome"], "failed");
    assert!(
        Drill::reason(escaping).starts_with("unsafe path: \"..\" segment"),
        "{}",
        d.context()
    );
    let nested = d.file(&id, "/srv/app/a/b.txt");
    assert_eq!(nested["outcome"], "failed");
    assert!(
        Drill::reason(nested).starts_with(&format!("snapshot or tree damaged: tree {tree} ")),
        "{}",
        d.context()
    );
    assert_eq!(d.file(&id, "/srv/z.txt")["outcome"], "passed");
    assert_eq!(d.point(&id)["files"].as_array().unwrap().len(), 3);
}
