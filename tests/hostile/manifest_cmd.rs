//! `lifeboat manifest` over a folder the backed-up machine wrote, and into a folder other
//! accounts may share (SECURITY.md, classes 1, 2 and 8): nothing in DIR is followed or
//! opened unless it is a regular file, nothing blocks, `--output` is never written through
//! a planted link or FIFO, and `--decompressed` decodes within the restore's limits.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::mkfifo;
use crate::util::{Fixture, lifeboat};

/// How long a manifest of a few small files may take: far more than it needs, far less than
/// a test runner's timeout.
const BOUND: Duration = Duration::from_secs(30);

/// Runs `lifeboat ARGS...` in `dir`, killed (failing the test) if it runs past [`BOUND`].
fn bounded(dir: &Path, args: &[&str]) -> Output {
    let mut child = lifeboat()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > BOUND {
            let _ = child.kill();
            panic!("lifeboat {args:?} still running after {BOUND:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn listed(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l[66..].to_owned())
        .collect()
}

#[test]
fn links_and_fifos_in_dir_are_neither_listed_nor_opened() {
    let fx = Fixture::new();
    let dir = fx.root().join("point");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/ok"), "ok\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.zst")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.zst")).unwrap();
    mkfifo(&dir.join("pipe"));
    mkfifo(&dir.join("pipe.zst"));
    for flags in [&[][..], &["--decompressed"][..]] {
        let mut args = vec!["manifest", "point"];
        args.extend_from_slice(flags);
        let out = bounded(&fx.root(), &args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(listed(&out), ["sub/ok"], "{flags:?}");
    }
}

#[test]
fn output_planted_as_a_link_or_a_fifo_is_replaced_never_written_through() {
    let fx = Fixture::new();
    let dir = fx.root().join("point");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data"), "data\n").unwrap();
    // A shared folder where another account planted the manifest's name.
    let shared = fx.root().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let victim = fx.root().join("victim");
    std::fs::write(&victim, "not yours\n").unwrap();
    std::os::unix::fs::symlink(&victim, shared.join("SHA256SUMS")).unwrap();
    mkfifo(&shared.join("B3SUMS"));
    for (name, algorithm) in [("SHA256SUMS", "sha256"), ("B3SUMS", "blake3")] {
        let output = shared.join(name);
        let out = bounded(
            &fx.root(),
            &[
                "manifest",
                "point",
                "--algorithm",
                algorithm,
                "--output",
                output.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let meta = std::fs::symlink_metadata(&output).unwrap();
        assert!(meta.is_file(), "{name} is still what was planted");
        assert!(
            std::fs::read_to_string(&output)
                .unwrap()
                .ends_with("  data\n")
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours\n");
}

#[test]
fn a_zst_object_asking_for_more_than_zstd_can_decode_is_refused_not_allocated() {
    let fx = Fixture::new();
    let dir = fx.root().join("point");
    std::fs::create_dir_all(&dir).unwrap();
    // A frame header (magic, a descriptor with a window descriptor, no content size) whose
    // Window_Descriptor asks for 2^41 bytes: far over the 2^31 zstd decodes.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (41 - 10) << 3];
    frame.extend_from_slice(&[0u8; 16]);
    std::fs::write(dir.join("huge.zst"), frame).unwrap();
    let out = bounded(&fx.root(), &["manifest", "point", "--decompressed"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("zstd window too large in huge.zst"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn a_regular_file_standard_output_is_left_out_wherever_it_is_in_dir() {
    // `lifeboat manifest . > sub/log` from a cron line: whatever the name, the file being
    // written is not listed (it is empty, or half written, when its hash would be taken).
    let fx = Fixture::new();
    let dir = fx.root().join("point");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/ok"), "ok\n").unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" manifest . > sub/log 2> sub/err")
        .arg(env!("CARGO_BIN_EXE_lifeboat"))
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(dir.join("sub/log")).unwrap();
    let names: Vec<&str> = text.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["sub/ok"], "{text}");
}
