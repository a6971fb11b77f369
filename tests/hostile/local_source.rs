//! SECURITY.md classes 1, 2 and 10 for a local source: a backup on disk is written by the
//! machine it protects, so anything in it may be a symbolic link (to `/etc/passwd`, to
//! `/proc/self/environ`), a FIFO whose first read blocks forever, a socket, a device that
//! never ends, or a folder where a file should be. None of it may be followed, read or waited
//! on; each fails its file (or its point) with a reason that says what it is; the source is
//! left byte-identical; and a hostile runbook cannot hold up the daemon's other runbooks.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lifeboat_testkit::{Format, Snapshot};

use super::mkfifo;
use crate::util::{DAY1, DAY2, Daemon, Drill, Fixture, Runbook, find_files, wait_exit};

/// Longest a drill over a hostile source may take here. Every case below ends in well under a
/// second of work; the rest is slack for a loaded 2-core machine. Before the fix a FIFO made
/// the drill hang forever (or until the 30 s storage timeout).
const BOUND: Duration = Duration::from_secs(20);

/// Runs the drill in the background with `env` added and waits at most [`BOUND`] for it: a
/// drill that hangs fails the test (and is killed) instead of hanging the suite.
fn bounded_drill(fx: &Fixture, rb: &Runbook, env: &[(&str, &str)]) -> (Drill, Duration) {
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (stdout, stderr) = (fx.root().join("stdout"), fx.root().join("stderr"));
    let child = fx
        .drill_command(&path, &[])
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    let (_, took) = wait_exit(&mut daemon, BOUND);
    (fx.spawned_drill(daemon, &stdout, &stderr), took)
}

/// A character device with `/dev/zero`'s numbers (reading it never ends); `false` where this
/// account may not make devices (only root may), and the caller leaves that case out.
fn mknod_zero(path: &Path) -> bool {
    let ok = Command::new("mknod")
        .arg(path)
        .args(["c", "1", "5"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    if !ok {
        eprintln!(
            "note: cannot mknod {} here: the device case is left out",
            path.display()
        );
    }
    ok
}

/// Every file's bytes under `dir`, for "this secret appears nowhere" checks.
fn all_bytes_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    Snapshot::take(dir)
        .files()
        .into_iter()
        .map(|rel| (rel.to_path_buf(), std::fs::read(dir.join(rel)).unwrap()))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The standard point DAY1, with one more manifest entry `rel` whose digest is that of
/// `bytes`, so an implementation that followed `rel` to `bytes` would call it verified.
fn point_with_entry(fx: &Fixture, rel: &str, bytes: &[u8]) {
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.append_manifest_line(&p.manifest_line_for(rel, bytes));
}

fn keep_always(fx: &Fixture) -> Runbook {
    Runbook {
        keep: "always".into(),
        ..fx.runbook()
    }
}

#[test]
fn a_link_to_etc_passwd_is_not_verified_and_not_read() {
    let fx = Fixture::new();
    let passwd = std::fs::read("/etc/passwd").unwrap();
    point_with_entry(&fx, "etc/passwd", &passwd);
    symlink("/etc/passwd", fx.source().join(DAY1).join("etc/passwd")).unwrap();
    let before = Snapshot::take(fx.source());

    let (d, _) = bounded_drill(&fx, &keep_always(&fx), &[]);
    d.assert_code(1);
    let f = d.file(DAY1, "etc/passwd");
    assert_eq!(f["outcome"], "failed", "{}", d.context());
    assert_eq!(
        Drill::reason(f),
        "etc/passwd is a symbolic link, not a regular file"
    );
    assert!(f["actual"].is_null(), "nothing was hashed: {f}");
    // The rest of the point is verified as usual.
    assert_eq!(d.file(DAY1, "etc/app.conf")["outcome"], "passed");
    assert!(
        find_files(&fx.scratch_dir(), "etc/passwd").is_empty(),
        "the link's target was restored into scratch"
    );
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn a_link_to_proc_self_environ_leaks_no_secret() {
    let fx = Fixture::new();
    let secret = "lb-hostile-secret-5f1c0a9e";
    point_with_entry(&fx, "env", b"whatever");
    symlink("/proc/self/environ", fx.source().join(DAY1).join("env")).unwrap();
    let before = Snapshot::take(fx.source());

    let (d, _) = bounded_drill(&fx, &keep_always(&fx), &[("LB_HOSTILE_SECRET", secret)]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.file(DAY1, "env")),
        "env is a symbolic link, not a regular file"
    );
    for (what, text) in [("stdout", &d.stdout), ("stderr", &d.stderr)] {
        assert!(!text.contains(secret), "the secret is on {what}");
    }
    for dir in [fx.scratch_dir(), fx.evidence_dir()] {
        for (rel, bytes) in all_bytes_under(&dir) {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "the secret is in {}",
                dir.join(rel).display()
            );
        }
    }
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn a_linked_folder_on_the_way_is_not_followed() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // `data/` becomes a link to a copy outside the source, bytes unchanged: following it
    // would "verify" a file that is not in the backup.
    let outside = fx.root().join("outside");
    std::fs::rename(fx.source().join(DAY1).join("data"), &outside).unwrap();
    symlink(&outside, fx.source().join(DAY1).join("data")).unwrap();
    let before = Snapshot::take(fx.source());

    let (d, _) = bounded_drill(&fx, &fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.file(DAY1, "data/blob.bin")),
        "data is a symbolic link, not a directory"
    );
    assert_eq!(d.file(DAY1, "etc/app.conf")["outcome"], "passed");
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn special_files_and_folders_fail_with_what_they_are() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let dir = p.dir().to_path_buf();
    mkfifo(&dir.join("pipe"));
    let _listener = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
    let device = mknod_zero(&dir.join("zero"));
    std::fs::create_dir(dir.join("folder")).unwrap();
    let mut cases = vec![
        ("pipe", "a FIFO (named pipe)"),
        ("sock", "a socket"),
        ("folder", "a directory"),
        ("etc/app.conf", "a directory"),
    ];
    if device {
        cases.push(("zero", "a character device"));
    }
    for (rel, _) in &cases {
        if *rel != "etc/app.conf" {
            p.append_manifest_line(&p.manifest_line_for(rel, b""));
        }
    }
    // A folder where the manifest names a file, with a good `.zst` beside it: the folder is
    // what is there, so the `.zst` must not stand in for it.
    let original = std::fs::read(dir.join("etc/app.conf")).unwrap();
    std::fs::remove_file(dir.join("etc/app.conf")).unwrap();
    std::fs::create_dir(dir.join("etc/app.conf")).unwrap();
    std::fs::write(
        dir.join("etc/app.conf.zst"),
        lifeboat_testkit::backup::zstd_compress(&original),
    )
    .unwrap();
    let before = Snapshot::take(fx.source());

    let (d, took) = bounded_drill(&fx, &fx.runbook(), &[]);
    d.assert_code(1);
    for (rel, what) in cases {
        let f = d.file(DAY1, rel);
        assert_eq!(
            Drill::reason(f),
            format!("{rel} is {what}, not a regular file"),
            "{}",
            d.context()
        );
        assert!(f["actual"].is_null(), "{f}");
    }
    assert_eq!(d.file(DAY1, "data/blob.bin")["outcome"], "passed");
    assert!(took < BOUND, "took {took:?}");
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn a_fifo_object_ends_the_drill_within_seconds() {
    let fx = Fixture::new();
    point_with_entry(&fx, "pipe", b"");
    mkfifo(&fx.source().join(DAY1).join("pipe"));
    let (d, took) = bounded_drill(&fx, &fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.file(DAY1, "pipe")),
        "pipe is a FIFO (named pipe), not a regular file"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_fifo_manifest_ends_the_drill_within_seconds_in_local_words() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::remove_file(p.manifest_path()).unwrap();
    mkfifo(p.manifest_path());
    fx.standard_point(DAY2, Format::Sha256sum);
    let before = Snapshot::take(fx.source());

    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let (d, took) = bounded_drill(&fx, &rb, &[]);
    // A finding about the newest point, not a storage failure: the older point is tried.
    d.assert_code(1);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    assert_eq!(
        Drill::reason(d.point(DAY1)),
        "manifest SHA256SUMS is a FIFO (named pipe), not a regular file"
    );
    assert_eq!(d.point(DAY2)["outcome"], "passed");
    let text = format!("{}{}", d.stderr, Drill::reason(&d.evidence));
    assert!(!text.contains("endpoint"), "{}", d.context());
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn a_fifo_manifest_under_time_modified_is_a_failed_point_not_a_missing_one() {
    let fx = Fixture::new();
    let older = std::time::SystemTime::now() - Duration::from_secs(86_400);
    fx.standard_point(DAY2, Format::Sha256sum)
        .set_manifest_mtime(older);
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    std::fs::remove_file(p.manifest_path()).unwrap();
    mkfifo(p.manifest_path());
    let rb = Runbook {
        time: "modified".into(),
        time_format: None,
        rpo: None,
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let d = fx.drill_file(&path, &["--now", "2099-01-01T00:00:00Z"]);
    d.assert_code(1);
    // Placed by the FIFO's own time (newest), tried, failed with what it is.
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    assert_eq!(
        Drill::reason(d.point(DAY1)),
        "manifest SHA256SUMS is a FIFO (named pipe), not a regular file"
    );
    assert_eq!(d.point(DAY2)["outcome"], "passed");
}

#[test]
fn a_manifest_that_is_a_link_is_not_read() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let real = fx.standard_point(DAY2, Format::Sha256sum);
    // DAY1's manifest is a link to DAY2's: following it would vouch for DAY1 with DAY2's list.
    std::fs::remove_file(p.manifest_path()).unwrap();
    symlink(real.manifest_path(), p.manifest_path()).unwrap();
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let (d, _) = bounded_drill(&fx, &rb, &[]);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.point(DAY1)),
        "manifest SHA256SUMS is a symbolic link, not a regular file"
    );
    assert!(d.point(DAY1)["manifest"]["sha256"].is_null(), "it was read");
    assert_eq!(d.measured("recovery_point"), DAY2);
}

#[test]
fn a_recovery_point_folder_that_is_a_link_is_not_a_point() {
    let fx = Fixture::new();
    // A real, valid point, but outside the source; inside it only a link leads there.
    let elsewhere = Fixture::new();
    let target = elsewhere.standard_point(DAY1, Format::Sha256sum);
    symlink(target.dir(), fx.source().join(DAY1)).unwrap();
    let (d, _) = bounded_drill(&fx, &fx.runbook(), &[]);
    d.assert_code(1);
    assert!(d.points().is_empty(), "{}", d.context());
    let reason = Drill::reason(&d.evidence);
    assert!(reason.starts_with("no recovery point"), "{reason}");
    assert!(
        reason.contains("1 entry in the source: 1 symbolic link"),
        "{reason}"
    );
    assert!(d.stderr.contains("is a symbolic link"), "{}", d.stderr);
}

#[test]
fn the_source_url_itself_may_be_reached_through_a_link() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let link = fx.root().join("source-link");
    symlink(fx.source(), &link).unwrap();
    let rb = Runbook {
        url: lifeboat_testkit::file_url(&link),
        ..fx.runbook()
    };
    let (d, _) = bounded_drill(&fx, &rb, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
}

#[test]
fn a_hostile_runbook_does_not_starve_the_daemon() {
    let fx = Fixture::new();
    // Two hostile sources, one with a FIFO manifest and one with a FIFO object (either hung
    // a worker before the fix), and one good source, all due every second.
    let hostile_manifest = Fixture::new();
    let m = hostile_manifest.standard_point(DAY1, Format::Sha256sum);
    std::fs::remove_file(m.manifest_path()).unwrap();
    mkfifo(m.manifest_path());
    let hostile_object = Fixture::new();
    let o = hostile_object.standard_point(DAY1, Format::Sha256sum);
    std::fs::remove_file(o.path("etc/app.conf")).unwrap();
    mkfifo(&o.path("etc/app.conf"));
    fx.standard_point(DAY1, Format::Sha256sum);

    let every_second = "schedule: \"* * * * * *\"\nstart_window: 30s\n";
    let mut paths = Vec::new();
    for (name, url) in [
        ("good", fx.set.url()),
        ("fifo-manifest", hostile_manifest.set.url()),
        ("fifo-object", hostile_object.set.url()),
    ] {
        let rb = Runbook {
            name: name.into(),
            url,
            rpo: None,
            extra: every_second.into(),
            ..fx.runbook()
        };
        paths.push(fx.write(&format!("{name}.yaml"), &rb.yaml()));
    }
    let args: Vec<&std::ffi::OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let (_daemon, stderr) = crate::history::start_schedule(&fx, &args);

    // Each runbook finishes slots, the hostile ones as failures with their reasons.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = crate::history::history_json(&fx, &[]);
        let done = |name: &str, outcome: &str| {
            runs.iter()
                .filter(|r| r["runbook"] == name && r["state"] == "done")
                .filter(|r| r["outcome"] == outcome)
                .count()
        };
        if done("good", "passed") >= 3
            && done("fifo-manifest", "failed") >= 2
            && done("fifo-object", "failed") >= 2
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a runbook was held up: {runs:#?}\nstderr:\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
