use std::path::Path;
use std::process::Command;

use lifeboat_core::Algorithm::{self, Blake3, Sha256};
use lifeboat_core::manifest;

use crate::{Hasher, hash_file, hash_tree, hash_tree_with, walk_files};

/// Digests straight from the upstream crates, bypassing everything in this crate.
fn reference(algorithm: Algorithm, bytes: &[u8]) -> String {
    match algorithm {
        Sha256 => {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(bytes))
        }
        Blake3 => blake3::hash(bytes).to_hex().to_string(),
        other => unimplemented!("the file tests hash with sha256 and blake3, not {other}"),
    }
}

/// Reproducible pseudo-random bytes (xorshift64*), so a failure can be re-run.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn streamed(algorithm: Algorithm, bytes: &[u8], chunk: usize) -> String {
    let mut h = Hasher::new(algorithm);
    for piece in bytes.chunks(chunk) {
        h.update(piece);
    }
    h.finalize_hex()
}

#[test]
fn known_vectors() {
    let cases = [
        (
            Sha256,
            &b""[..],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            Sha256,
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            Blake3,
            b"",
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        ),
        (
            Blake3,
            b"abc",
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (algorithm, input, want) in cases {
        let mut h = Hasher::new(algorithm);
        h.update(input);
        assert_eq!(h.finalize_hex(), want, "{algorithm} Hasher");
        let path = dir.path().join("f");
        std::fs::write(&path, input).unwrap();
        assert_eq!(
            hash_file(&path, algorithm).unwrap(),
            (want.to_owned(), input.len() as u64),
            "{algorithm} hash_file"
        );
    }
}

/// Sizes around the read/map threshold and BLAKE3's chunk and rayon boundaries.
#[test]
fn files_of_many_sizes_match_streaming_and_reference() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = [
        0,
        1,
        1023,
        1024,
        16 * 1024 - 1,
        16 * 1024,
        64 * 1024 - 1,
        128 * 1024 + 1,
        (1 << 20) + 7,
        10 << 20,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = random_bytes(size, i as u64 + 1);
        let path = dir.path().join(format!("file-{size}"));
        std::fs::write(&path, &bytes).unwrap();
        for algorithm in [Sha256, Blake3] {
            let want = reference(algorithm, &bytes);
            let (got, len) = hash_file(&path, algorithm).unwrap();
            assert_eq!(
                (got.as_str(), len),
                (want.as_str(), size as u64),
                "{algorithm} {size}"
            );
            for chunk in [1, 7, 4093, 65_536, 300_007] {
                if size > 1 << 20 && chunk < 4093 {
                    continue; // byte-at-a-time over 10 MiB only slows the suite down
                }
                assert_eq!(
                    streamed(algorithm, &bytes, chunk),
                    want,
                    "{algorithm} {size}/{chunk}"
                );
            }
        }
    }
}

#[test]
fn special_files_take_the_read_path() {
    // /dev/null is not a regular file: no mapping, zero bytes.
    let null = Path::new("/dev/null");
    if !null.exists() {
        eprintln!("note: no /dev/null; skipping");
        return;
    }
    assert_eq!(
        hash_file(null, Sha256).unwrap(),
        (reference(Sha256, b""), 0)
    );
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let err = hash_file(&missing, Blake3).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("no-such-file"), "{err}");
}

fn tricky_tree(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        ("a.txt", b"a\n".to_vec()),
        ("a-b", b"dash".to_vec()),
        ("a/b", b"slash".to_vec()),
        ("with space", Vec::new()),
        ("back\\slash", b"\\".to_vec()),
        ("new\nline", b"nl".to_vec()),
        ("*star", b"*".to_vec()),
        ("ünï ✓", random_bytes(70_000, 3)),
        ("deep/er/still/big.bin", random_bytes(3 << 20, 4)),
    ];
    for (name, bytes) in &files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("a.txt", root.join("link-to-file")).unwrap();
        std::os::unix::fs::symlink("deep", root.join("link-to-dir")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", root.join("dangling")).unwrap();
    }
    files
}

#[test]
fn walk_lists_regular_files_only_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_tree(dir.path());
    let got = walk_files(dir.path()).unwrap();
    let mut want: Vec<_> = files.iter().map(|(n, _)| dir.path().join(n)).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn tree_matches_reference_for_every_job_count() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_tree(dir.path());
    let mut want: Vec<(String, String)> = files
        .iter()
        .map(|(n, b)| (n.to_string(), reference(Blake3, b)))
        .collect();
    want.sort();
    for jobs in [0, 1, 3] {
        assert_eq!(
            hash_tree(dir.path(), Blake3, jobs).unwrap(),
            want,
            "jobs {jobs}"
        );
    }
}

#[cfg(unix)]
#[test]
fn tree_refuses_non_utf8_names() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
    std::fs::write(dir.path().join("sub").join(name), b"x").unwrap();
    let err = hash_tree(dir.path(), Sha256, 1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("bad\u{fffd}name"), "{err}");
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

#[test]
fn skip_is_asked_about_files_and_folders_and_hash_is_the_callers() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_tree(dir.path());
    let asked = std::sync::Mutex::new(Vec::new());
    let got = hash_tree_with(
        dir.path(),
        2,
        &|rel, entry| {
            asked.lock().unwrap().push(rel.to_path_buf());
            assert_eq!(dir.path().join(rel), entry.path());
            Ok(rel == Path::new("deep") || rel == Path::new("a.txt"))
        },
        &|name, path| {
            assert_eq!(dir.path().join(name), path);
            Ok(std::fs::metadata(path)?.len())
        },
    )
    .unwrap();
    let mut want: Vec<(String, u64)> = files
        .iter()
        .filter(|(n, _)| *n != "a.txt" && !n.starts_with("deep/"))
        .map(|(n, b)| (n.to_string(), b.len() as u64))
        .collect();
    want.sort();
    assert_eq!(got, want);
    let asked = asked.into_inner().unwrap();
    // Folders are asked about, and a folder left out is not entered; links are never asked.
    assert!(
        asked.contains(&Path::new("deep").to_path_buf()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&Path::new("empty-dir").to_path_buf()),
        "{asked:?}"
    );
    assert!(
        !asked
            .iter()
            .any(|p| p.starts_with("deep") && p != Path::new("deep")),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|p| p.starts_with("link-to")), "{asked:?}");
}

#[test]
fn tree_of_a_missing_dir_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = hash_tree(&dir.path().join("gone"), Sha256, 1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("gone"), "{err}");
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        eprintln!("note: `{tool}` not found; skipping the comparison with it");
    }
    found
}

/// What `lifeboat manifest DIR` prints must be what the real tool prints and accepts.
#[test]
fn tree_agrees_with_the_real_tools() {
    for (tool, algorithm) in [("sha256sum", Sha256), ("b3sum", Blake3)] {
        if !have(tool) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        tricky_tree(dir.path());
        let ours = hash_tree(dir.path(), algorithm, 2).unwrap();

        // 1. The tool's own digests of the same files, read back with our parser.
        let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
        let out = Command::new(tool)
            .arg("--")
            .args(&names)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{tool}: {out:?}");
        let theirs: Vec<(String, String)> = manifest::parse(&out.stdout, algorithm)
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.digest))
            .collect();
        assert_eq!(ours, theirs, "{tool}");

        // 2. Our manifest, checked by the tool from inside the folder; then a corrupted file
        // must make the same check fail.
        let text: String = ours
            .iter()
            .map(|(n, h)| manifest::format_line(h, n) + "\n")
            .collect();
        let list = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(list.path(), text).unwrap();
        let check = || {
            Command::new(tool)
                .arg("--check")
                .arg(list.path())
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        let ok = check();
        assert!(ok.status.success(), "{tool} -c: {ok:?}");
        std::fs::write(dir.path().join("a-b"), b"DASH").unwrap();
        assert!(
            !check().status.success(),
            "{tool} -c accepted a changed file"
        );
    }
}

#[test]
fn windows_cover_the_file_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes around the window and page boundaries, and a file whose tail is shorter than one.
    for len in [1usize, 4095, 65_536, 65_537, 200_000, 3 * 65_536 + 7] {
        let bytes = random_bytes(len, len as u64);
        let path = dir.path().join(format!("f{len}"));
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        for window in [1usize, 65_536, 100_000, 1 << 20] {
            let mut seen = Vec::new();
            let mut count = 0;
            for w in crate::map_windows(&file, len as u64, window) {
                let w = w.unwrap();
                // Windows are at least 64 KiB (rounded down to a 64 KiB multiple).
                assert!(w.len() <= window.max(65_536), "len {len} window {window}");
                seen.extend_from_slice(&w);
                count += 1;
            }
            assert_eq!(seen, bytes, "len {len} window {window}");
            assert_eq!(
                count,
                len.div_ceil(window.max(65_536) & !0xffff),
                "len {len}"
            );
        }
    }
}

/// Large SHA-256 inputs go through the bounce buffer piece by piece: every length around its
/// thresholds, after a prefix that leaves the hasher mid-block, must match the reference.
#[test]
fn sha256_bounced_inputs_match_the_reference() {
    let bytes = random_bytes((1 << 20) + 3 * 65_536 + 11, 99);
    for prefix in [0usize, 1, 63, 65] {
        for len in [
            256 * 1024 - 1,
            256 * 1024,
            256 * 1024 + 1,
            256 * 1024 + 65_536 + 13,
            bytes.len() - prefix,
        ] {
            let input = &bytes[..prefix + len];
            let mut h = Hasher::new(Sha256);
            h.update(&input[..prefix]);
            h.update(&input[prefix..]);
            assert_eq!(
                h.finalize_hex(),
                reference(Sha256, input),
                "prefix {prefix} len {len}"
            );
        }
    }
}

#[test]
fn map_range_maps_exactly_the_range_and_wants_aligned_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = random_bytes(3 * 65_536 + 100, 7);
    let path = dir.path().join("f");
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let w = crate::map_range(&file, 65_536, 65_536 + 100).unwrap();
    assert_eq!(&w[..], &bytes[65_536..2 * 65_536 + 100]);
    let w = crate::map_range(&file, 3 * 65_536, 100).unwrap();
    assert_eq!(&w[..], &bytes[3 * 65_536..]);
    let err = crate::map_range(&file, 4096, 10).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("64 KiB"), "{err}");
}

/// A mapped window whose file shrinks under it: reading the lost pages would raise SIGBUS and
/// kill the process; instead they read as zeros and `check` reports the window as unreadable.
#[test]
#[cfg(unix)]
fn a_window_whose_file_shrank_reads_zeros_and_fails_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let bytes = random_bytes(4 * 65_536, 11);
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut windows = crate::map_windows(&file, bytes.len() as u64, 2 * 65_536);
    let first = windows.next().unwrap().unwrap();
    let second = windows.next().unwrap().unwrap();
    assert_eq!(&first[..], &bytes[..2 * 65_536]);
    first.check().unwrap();

    // Cut the file inside the second window, with both windows still mapped.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 * 65_536 - 100)
        .unwrap();
    let seen = second.to_vec(); // touches every page, past the new end too
    let err = second.check().unwrap_err();
    assert!(err.to_string().contains("could not be read"), "{err}");
    // The page holding the new end is still the file's; the pages after it read as zeros.
    let kept = 65_536 - 100;
    assert_eq!(&seen[..kept], &bytes[2 * 65_536..2 * 65_536 + kept]);
    let lost_from = (kept + 4095) & !4095;
    assert!(seen[lost_from..].iter().all(|&b| b == 0));
    // The window read before the cut was untouched by it.
    first.check().unwrap();

    // Hashing the shrunk window through the public API: a digest comes out (of zeros), and
    // the check is what tells the caller not to trust it.
    let mut h = Hasher::new(Sha256);
    h.update(&second);
    assert_ne!(h.finalize_hex(), reference(Sha256, &bytes[2 * 65_536..]));
}

/// The guard only covers windows: a SIGBUS anywhere else still ends the process as it always
/// did (here a plain mapping of a file that shrank, touched after a guarded window exists, so
/// the handler is installed). Run in a child process of this test binary.
#[test]
#[cfg(unix)]
#[allow(unsafe_code)]
fn a_sigbus_outside_every_window_still_kills_the_process() {
    use std::os::unix::process::ExitStatusExt;
    const CHILD: &str = "LIFEBOAT_HASH_SIGBUS_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, random_bytes(4 * 65_536, 5)).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let _guarded = crate::map_range(&file, 0, 65_536).unwrap();
        // SAFETY: this child process exists to die of the SIGBUS this mapping raises.
        let plain = unsafe { memmap2::Mmap::map(&file).unwrap() };
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let x = std::hint::black_box(plain[3 * 65_536]);
        println!("survived, read {x}");
        std::process::exit(0);
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "files::tests::a_sigbus_outside_every_window_still_kills_the_process",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGBUS),
        "{:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The whole-file map `hash_file` uses is the same guarded window: cut under it, it fails its
/// check. (A cut cannot be timed between `hash_file`'s mapping and its reads from outside.)
#[test]
#[cfg(unix)]
fn a_whole_file_map_that_shrank_fails_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, random_bytes(8 * 65_536, 3)).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let window = super::map_range(&file, 0, 8 * 65_536).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(65_536)
        .unwrap();
    let mut h = Hasher::new(Sha256);
    h.update(&window);
    assert!(window.check().is_err());
    // Whereas the same file, whole, hashes fine through hash_file.
    assert_eq!(
        hash_file(&path, Sha256).unwrap().1,
        65_536,
        "hash_file sees the file's current size"
    );
}
