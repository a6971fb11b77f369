//! SECURITY.md, class 9: the scratch area and the evidence folder are never inside the
//! source; restored files are private and never gain permission bits; a scratch folder left
//! by a killed drill is removed by the next one, and nothing else in a shared scratch root
//! is touched. Class 10 (zstd): a valid `zstd --long=31` stream is decoded, not "corrupt".

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lifeboat_testkit::{Format, Snapshot};

use crate::history::start_schedule;
use crate::util::{DAY1, Daemon, Fixture, Runbook, T0, lifeboat, signal, wait_exit};

// ---------------------------------------------------------------------------------------
// Scratch and evidence never inside the source.
// ---------------------------------------------------------------------------------------

/// Where a place inside the source is given.
#[derive(Clone, Copy, Debug)]
enum Inside {
    /// `--scratch-dir SOURCE/scratch`.
    ScratchFlag,
    /// `--evidence-dir SOURCE/evidence`.
    EvidenceFlag,
    /// `--scratch-dir LINK/scratch`, LINK a symlink to the source.
    ScratchThroughSymlink,
    /// `--scratch-dir SOURCE/new/../x`: a `..` of a folder not made yet.
    ScratchWithDotDot,
    /// No `--scratch-dir`; the temporary folder ($TMPDIR) is inside the source.
    DefaultScratch,
    /// No `--evidence-dir`; the drill is started from inside the source.
    DefaultEvidence,
    /// `--state SOURCE/state.db`.
    State,
}

/// `lifeboat drill` with one place inside the source: every other place outside, every
/// flag given except the one under test.
fn drill_with_a_place_inside(fx: &Fixture, inside: Inside) -> std::process::Output {
    let rb = fx.root().join("runbook.yaml");
    let source = fx.source();
    let link = fx.root().join("link");
    let mut cmd = lifeboat();
    cmd.current_dir(fx.root())
        .arg("drill")
        .arg(&rb)
        .args(["--now", T0]);
    let scratch: Option<PathBuf> = match inside {
        Inside::ScratchFlag => Some(source.join("scratch")),
        Inside::ScratchThroughSymlink => Some(link.join("scratch")),
        Inside::ScratchWithDotDot => Some(source.join("new/../x")),
        Inside::DefaultScratch => {
            cmd.env("TMPDIR", source.join(DAY1));
            None
        }
        _ => Some(fx.scratch_dir()),
    };
    if let Some(s) = scratch {
        cmd.arg("--scratch-dir").arg(s);
    }
    match inside {
        Inside::EvidenceFlag => {
            cmd.arg("--evidence-dir").arg(source.join("evidence"));
        }
        Inside::DefaultEvidence => {
            cmd.current_dir(source.join(DAY1));
        }
        _ => {
            cmd.arg("--evidence-dir").arg(fx.evidence_dir());
        }
    }
    if let Inside::State = inside {
        cmd.arg("--state").arg(source.join("state.db"));
    }
    cmd.output().unwrap()
}

#[test_case::test_case(Inside::ScratchFlag, "scratch folder", "--scratch-dir" ; "scratch dir flag")]
#[test_case::test_case(Inside::EvidenceFlag, "evidence folder", "--evidence-dir" ; "evidence dir flag")]
#[test_case::test_case(Inside::ScratchThroughSymlink, "scratch folder", "--scratch-dir" ; "scratch dir through a symlink")]
#[test_case::test_case(Inside::ScratchWithDotDot, "scratch folder", "--scratch-dir" ; "scratch dir with dot dot")]
#[test_case::test_case(Inside::DefaultScratch, "scratch folder", "--scratch-dir" ; "default scratch in tmpdir")]
#[test_case::test_case(Inside::DefaultEvidence, "evidence folder", "--evidence-dir" ; "default evidence in the current folder")]
#[test_case::test_case(Inside::State, "history store", "--state" ; "history store")]
fn a_place_inside_the_source_is_exit_2_with_nothing_written(
    inside: Inside,
    place: &str,
    flag: &str,
) {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.write("runbook.yaml", &fx.runbook().yaml());
    std::os::unix::fs::symlink(fx.source(), fx.root().join("link")).unwrap();
    let before = Snapshot::take(fx.source());
    let outside_before = Snapshot::take(&fx.root());

    let out = drill_with_a_place_inside(&fx, inside);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{inside:?}\n{stderr}");
    assert!(
        stderr.contains(&format!("the {place} "))
            && stderr.contains("is inside the backup source")
            && stderr.contains("nothing was run")
            && stderr.contains(&format!("hint: pass {flag} ")),
        "{inside:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "no evidence path: {out:?}");
    // Byte for byte, and not one folder more: nothing was restored or recorded there.
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
    // Nor anywhere else: the fixture holds what it held.
    Snapshot::take(&fx.root()).assert_unchanged_since(&outside_before);
}

/// The same place outside the source is fine: the refusal is about the source, not the flag.
#[test]
fn a_scratch_folder_beside_the_source_is_used() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let before = Snapshot::take(fx.source());
    // `source-scratch` shares the source's name as a prefix, not as a folder.
    let beside = fx.root().join("source-scratch");
    let out = lifeboat()
        .current_dir(fx.root())
        .arg("drill")
        .arg(fx.write("runbook.yaml", &fx.runbook().yaml()))
        .args(["--now", T0, "--evidence-dir"])
        .arg(fx.evidence_dir())
        .arg("--scratch-dir")
        .arg(&beside)
        .output()
        .unwrap();
    crate::util::Drill::new(out, &fx.evidence_dir()).assert_code(0);
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

/// The daemon refuses a runbook whose source holds its scratch root, evidence folder or
/// history store like an invalid runbook: not scheduled, said why; with nothing else to run
/// it exits 2 at start, having written nothing (not even its history store).
#[test]
fn schedule_refuses_a_runbook_whose_source_holds_its_places() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        extra: "schedule: \"0 3 * * *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let before = Snapshot::take(fx.source());
    let stderr_path = fx.root().join("daemon.stderr");
    let child = lifeboat()
        .current_dir(fx.root())
        .arg("schedule")
        .arg(&path)
        .arg("--state")
        .arg(fx.root().join("state.db"))
        .arg("--evidence-dir")
        .arg(fx.evidence_dir())
        .arg("--scratch-dir")
        .arg(fx.source().join("scratch"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    // A daemon that accepted the runbook would run until stopped.
    let (code, _) = wait_exit(&mut Daemon(child), Duration::from_secs(30));
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    std::fs::remove_file(&stderr_path).unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the scratch folder")
            && stderr.contains("is inside the backup source")
            && stderr.contains("not scheduled")
            && stderr.contains("hint: pass --scratch-dir"),
        "{stderr}"
    );
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
    assert!(
        !fx.root().join("state.db").exists(),
        "the store was written"
    );
    assert!(!fx.evidence_dir().exists());
}

// ---------------------------------------------------------------------------------------
// Restored files are private and never gain permission bits.
// ---------------------------------------------------------------------------------------

/// The process umask, which `lifeboat` inherits from this test.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn restored_files_keep_at_most_their_objects_bits_in_private_folders() {
    let fx = Fixture::new();
    let p = fx
        .set
        .point(DAY1)
        .file("bin/setuid-tool", b"#!/bin/sh\necho root\n")
        .file("share/open.txt", b"anyone may write this\n")
        .file("etc/secret.key", b"private\n")
        .zst_file("var/log/app.log", b"a compressed object\n".repeat(50))
        .manifest(Format::Sha256sum);
    let modes = [
        ("bin/setuid-tool", "bin/setuid-tool", 0o4755),
        ("share/open.txt", "share/open.txt", 0o777),
        ("etc/secret.key", "etc/secret.key", 0o400),
        ("var/log/app.log", "var/log/app.log.zst", 0o2640),
    ];
    for (_, object, m) in modes {
        std::fs::set_permissions(p.path(object), std::fs::Permissions::from_mode(m)).unwrap();
    }
    let rb = Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let run = PathBuf::from(d.evidence["scratch"]["path"].as_str().unwrap());
    let umask = umask();
    for (rel, object, m) in modes {
        let restored = run.join(DAY1).join(rel);
        let got = mode(&restored);
        assert_eq!(
            got,
            m & 0o777 & !umask,
            "{rel}: object {m:o}, restored {got:o} (umask {umask:o})"
        );
        assert_eq!(got & 0o7000, 0, "{rel}: setuid/setgid/sticky restored");
        assert_eq!(got & !(m & 0o777), 0, "{rel} gained bits over {object}");
    }
    // The run folder and every folder lifeboat made in it: owner only.
    assert_eq!(mode(&run), 0o700, "{}", run.display());
    for (rel, node) in &Snapshot::take(&run).entries {
        if matches!(node, lifeboat_testkit::snapshot::Node::Dir { .. }) {
            let m = mode(&run.join(rel));
            assert_eq!(m & 0o077, 0, "{} is {m:o}", rel.display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// A killed drill's scratch folder is removed by the next one; nothing else is.
// ---------------------------------------------------------------------------------------

/// The run folders in the fixture's scratch root.
fn run_folders(fx: &Fixture) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(fx.scratch_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lifeboat-"))
        })
        .collect();
    found.sort();
    found
}

/// Starts a drill that restores its point, then waits a minute in a `wait` step; returns it
/// once its restored file is in its scratch folder, with that folder.
fn start_a_long_drill(fx: &Fixture, name: &str) -> (Daemon, PathBuf) {
    let rb = Runbook {
        name: name.into(),
        extra: "steps:\n  - restore: {}\n  - wait: 60s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write(&format!("{name}.yaml"), &rb.yaml());
    let (drill, _, _) = fx.spawn_drill(&path, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mine: Vec<PathBuf> = run_folders(fx)
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("lifeboat-{name}-"))
            })
            .collect();
        if let [folder] = mine.as_slice()
            && folder.join(DAY1).join("etc/app.conf").is_file()
        {
            return (drill, folder.clone());
        }
        assert!(Instant::now() < deadline, "{name} never restored its point");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_drills_folder_is_removed_by_the_next_drill_and_a_live_ones_is_not() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let (mut live, live_folder) = start_a_long_drill(&fx, "live");

    // Another drill in the same scratch root while the first one runs: the live folder
    // stays, and this drill cleans up after itself.
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert!(
        live_folder.join(DAY1).join("etc/app.conf").is_file(),
        "a live drill's scratch folder was touched\n{}",
        d.context()
    );
    assert!(!d.stderr.contains("removed scratch folder"), "{}", d.stderr);
    assert_eq!(run_folders(&fx), std::slice::from_ref(&live_folder));

    // Killed: nothing of lifeboat runs to clean up.
    signal(&live.0, "-KILL");
    wait_exit(&mut live, Duration::from_secs(10));
    assert!(live_folder.is_dir(), "SIGKILL left nothing behind?");

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert!(
        !live_folder.exists(),
        "the killed drill's folder is still there"
    );
    assert!(
        d.stderr.contains(&format!(
            "removed scratch folder {} left by a drill that did not finish",
            live_folder.display()
        )),
        "the log does not say so: {}",
        d.stderr
    );
    assert_eq!(run_folders(&fx), Vec::<PathBuf>::new());
}

#[test]
fn a_kept_folder_stays_through_later_drills() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let kept = Runbook {
        name: "kept".into(),
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&kept, &[]);
    d.assert_code(0);
    let folder = PathBuf::from(d.evidence["scratch"]["path"].as_str().unwrap());
    assert!(folder.join(DAY1).join("etc/app.conf").is_file());
    let before = Snapshot::take(&folder);

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    assert!(!d.stderr.contains("removed scratch folder"), "{}", d.stderr);
    Snapshot::take(&folder).assert_unchanged_since(&before);
}

/// What other accounts (or anyone) plant in a shared scratch root under lifeboat's names: a
/// symlink to a folder worth deleting, a FIFO that would block an `open`. A drill neither
/// follows, opens, nor removes them, and does not hang.
#[test]
fn things_planted_in_the_scratch_root_are_neither_followed_nor_removed() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let victim = fx.root().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("precious"), b"do not delete").unwrap();
    let scratch = fx.scratch_dir();
    std::os::unix::fs::symlink(&victim, scratch.join("lifeboat-x-20261101T000000Z-000000"))
        .unwrap();
    let fifo = scratch.join("lifeboat-y-20261101T000000Z-000001");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (drill, stdout, stderr) =
        fx.spawn_drill(&fx.write("runbook.yaml", &fx.runbook().yaml()), &[]);
    let mut drill = drill;
    let (code, _) = wait_exit(&mut drill, Duration::from_secs(60));
    let d = fx.spawned_drill(drill, &stdout, &stderr);
    assert_eq!(code, 0, "{}", d.context());
    assert_eq!(
        std::fs::read(victim.join("precious")).unwrap(),
        b"do not delete"
    );
    assert!(
        scratch
            .join("lifeboat-x-20261101T000000Z-000000")
            .is_symlink()
    );
    assert!(fifo.exists());
}

/// The daemon cleans up at start what its previous run (killed) left behind.
#[test]
fn schedule_removes_a_killed_drills_folder_when_it_starts() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let (mut killed, folder) = start_a_long_drill(&fx, "killed");
    signal(&killed.0, "-KILL");
    wait_exit(&mut killed, Duration::from_secs(10));
    assert!(folder.is_dir());

    let rb = Runbook {
        extra: "schedule: \"0 3 1 1 *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr) = start_schedule(&fx, &[path.as_os_str()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let expected = format!("removed scratch folder {}", folder.display());
    loop {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        if log.contains(&expected) && log.contains("lifeboat schedule started") {
            break;
        }
        assert!(Instant::now() < deadline, "no cleanup logged:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!folder.exists());
    signal(&daemon.0, "-TERM");
    wait_exit(&mut daemon, Duration::from_secs(30));
}

/// A backup listing both `a` and `a/b`: S3 holds both keys (`a` here as `a.zst`, restored as
/// `a`), but a scratch folder cannot. The file that finds the other in its way fails with a
/// reason; the scratch area is not broken and the drill completes (exit 1, never 3).
#[test]
fn a_restored_file_in_anothers_way_is_a_finding_not_a_broken_scratch_area() {
    let fx = Fixture::new();
    fx.set
        .point(DAY1)
        .zst_file("a", b"the file a\n")
        .file("a/b", b"the file a/b\n")
        .file("c", b"the file c\n")
        .manifest(Format::Sha256sum);
    let moto = &lifeboat_testkit::cloud::servers().moto;
    let bucket = lifeboat_testkit::cloud::unique_name("in-the-way");
    moto.upload_dir(&bucket, "backups", fx.source());
    let url = moto.url(&bucket, "backups");
    let local = fx.runbook().yaml();
    let from = format!("source:\n  url: {}\n", fx.set.url());
    let mut to = format!("source:\n  url: {url}\n  options:\n");
    for (k, v) in moto.options() {
        to.push_str(&format!("    {k}: \"{v}\"\n"));
    }
    assert!(local.contains(&from));
    let path = fx.write("runbook.yaml", &local.replacen(&from, &to, 1));
    let mut cmd = fx.drill_command(&path, &[]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let d = crate::util::Drill::new(cmd.output().unwrap(), &fx.evidence_dir());
    d.assert_code(1);
    let (a, ab) = (d.file(DAY1, "a"), d.file(DAY1, "a/b"));
    let failed: Vec<_> = [a, ab]
        .into_iter()
        .filter(|f| f["outcome"] == "failed")
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "exactly one is in the other's way\n{}",
        d.context()
    );
    assert!(
        crate::util::Drill::reason(failed[0]).contains("into the scratch area"),
        "{}",
        failed[0]
    );
    assert_eq!(d.file(DAY1, "c")["outcome"], "passed");
}

// ---------------------------------------------------------------------------------------
// Class 10: a valid `zstd --long=31` stream is decoded; what is refused says why.
// ---------------------------------------------------------------------------------------

/// The `zstd` CLI (`scripts/tools.sh install zstd`) compressing `bytes` read from a pipe: the
/// size is unknown to it, so the frame keeps the full window `--long=31` asks for, as a
/// `tar c … | zstd --long=31` backup's does.
fn zstd_cli(bytes: &[u8], args: &[&str]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("zstd")
        .args(args)
        .args(["-q", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the zstd CLI: scripts/tools.sh install zstd");
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// What is done to a `zstd --long=31` stream before the drill.
#[derive(Clone, Copy, Debug)]
enum Long31 {
    AsMade,
    /// The frame header's window descriptor set to 2^32 (4 GiB): valid format, more than
    /// zstd can decode.
    Window4GiB,
    Truncated,
    Corrupt,
}

#[test_case::test_case(Long31::AsMade, "" ; "as made is decoded and verified")]
#[test_case::test_case(Long31::Window4GiB, "zstd window too large in db/dump.sql.zst: a frame declares a window of 4096 MiB (4294967296 bytes), over the 2048 MiB (2^31 bytes) zstd can decode" ; "a window over 2 GiB is refused as too large")]
#[test_case::test_case(Long31::Truncated, "truncated zstd stream: db/dump.sql.zst ends inside a frame" ; "truncated stays truncated")]
#[test_case::test_case(Long31::Corrupt, "corrupt zstd stream in db/dump.sql.zst" ; "corrupt stays corrupt")]
fn a_zstd_long_31_stream(case: Long31, reason: &str) {
    let original = lifeboat_testkit::prng::text_bytes(300_000, 31);
    let made = zstd_cli(&original, &["--long=31"]);
    assert!(made.status.success(), "{made:?}");
    let mut stream = made.stdout;
    // The fixture is what it claims: a frame declaring a 2 GiB window (FHD without the
    // single-segment flag, then window descriptor exponent 21: 2^(10+21)), which `zstd -d`
    // itself refuses without --long=31.
    assert_eq!(stream[..4], [0x28, 0xB5, 0x2F, 0xFD]);
    assert_eq!(stream[4] & 0x20, 0, "single segment: no window descriptor");
    assert_eq!(stream[5], 21 << 3, "window descriptor");
    let plain = zstd_cli(&stream, &["-d"]);
    assert!(
        !plain.status.success()
            && String::from_utf8_lossy(&plain.stderr).contains("Window size larger than maximum"),
        "{plain:?}"
    );
    match case {
        Long31::AsMade => {}
        Long31::Window4GiB => stream[5] = 22 << 3,
        Long31::Truncated => stream.truncate(stream.len() / 2),
        Long31::Corrupt => {
            let mid = stream.len() / 2;
            for b in &mut stream[mid..mid + 16] {
                *b ^= 0xFF;
            }
        }
    }

    let fx = Fixture::new();
    let p = fx
        .set
        .point(DAY1)
        .file("etc/app.conf", b"port = 8080\n")
        .zst_file("db/dump.sql", &original)
        .manifest(Format::Sha256sum);
    std::fs::write(p.path("db/dump.sql.zst"), &stream).unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    let f = d.file(DAY1, "db/dump.sql");
    assert_eq!(f["object"], "db/dump.sql.zst", "{}", d.context());
    if let Long31::AsMade = case {
        d.assert_code(0);
        assert_eq!(f["outcome"], "passed", "{f}");
        assert_eq!(f["actual"], lifeboat_testkit::sha256_hex(&original));
        assert_eq!(f["bytes"], original.len() as u64);
    } else {
        d.assert_code(1);
        assert_eq!(f["outcome"], "failed", "{f}");
        assert!(
            crate::util::Drill::reason(f).starts_with(reason),
            "reason {:?}, expected {reason:?}",
            f["reason"]
        );
    }
}
