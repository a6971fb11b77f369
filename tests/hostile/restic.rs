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
        lifeboat_testkit::sha256_hex(b"the U+FFFD file\n").as_str()
    );
    let backslash = d.file(&id, r"/srv/n/a\xffb");
    assert_eq!(backslash["outcome"], "passed", "{}", d.context());
    assert_eq!(
        backslash["actual"],
        lifeboat_testkit::sha256_hex(b"the backslash file\n").as_str()
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
