//! The restore pipeline on plain local objects: the in-kernel copy, its end conditions, and
//! the write path it falls back to.

use std::fs::File;
#[cfg(target_os = "linux")]
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use lifeboat_core::Algorithm;
use lifeboat_testkit::prng::random_bytes as bytes;
use sha2::Digest;

use super::*;
use crate::NoProgress;

fn sink(dest: &Path) -> Sink {
    Sink {
        hasher: Hasher::new(Algorithm::Sha256),
        file: Some(create_dest(dest, 0o600).unwrap()),
        writeback: true,
        bytes: 0,
        flushed: 0,
        released: 0,
        progress: Arc::new(NoProgress),
        cancel: CancellationToken::new(),
    }
}

fn sha256(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

fn source(dir: &Path, data: &[u8]) -> (File, u64) {
    let path = dir.join("object");
    std::fs::write(&path, data).unwrap();
    (File::open(&path).unwrap(), data.len() as u64)
}

#[test]
#[cfg(target_os = "linux")]
fn plain_objects_are_copied_by_the_kernel_and_hashed_from_the_scratch_file() {
    let dir = tempfile::tempdir().unwrap();
    // Three windows and a tail: every window boundary and a short last window.
    let data = bytes(3 * WINDOW + 12_345, 1);
    let (src, size) = source(dir.path(), &data);
    let dest = dir.path().join("restored");
    let mut s = sink(&dest);
    assert!(
        copy::restore(&src, size, &mut s).unwrap(),
        "copy_file_range within one filesystem must be taken"
    );
    assert_eq!(s.bytes, size);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(s.hasher.finalize_hex(), sha256(&data));
}

/// An object shorter than its listed size (truncated after it was opened) is copied and hashed
/// up to where it ends, without touching a page past the end of the scratch file (SIGBUS):
/// the digest then differs from the manifest's, a finding, not a crash.
#[test]
#[cfg(target_os = "linux")]
fn an_object_shorter_than_its_size_is_hashed_up_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    for len in [MAP_MIN as usize, WINDOW - 1, WINDOW + 4096 + 1] {
        let data = bytes(len, len as u64);
        let (src, size) = source(dir.path(), &data);
        let dest = dir.path().join(format!("restored-{len}"));
        let mut s = sink(&dest);
        pump(Input::File(src, size + WINDOW as u64), false, &mut s).unwrap();
        assert_eq!(s.bytes, size, "len {len}");
        assert_eq!(std::fs::read(&dest).unwrap(), data, "len {len}");
        assert_eq!(s.hasher.finalize_hex(), sha256(&data), "len {len}");
    }
}

/// An object overwritten after it was opened (same size, other bytes) restores and hashes as
/// the bytes that landed in scratch, which the manifest's digest then rejects; at lengths
/// around the copy window, none a multiple of it.
#[test]
#[cfg(target_os = "linux")]
fn an_object_changed_after_it_was_opened_hashes_as_what_landed() {
    let dir = tempfile::tempdir().unwrap();
    let edges = [
        MAP_MIN as usize + 1,
        WINDOW - 4095,
        WINDOW + 1,
        2 * WINDOW + 65_537,
    ];
    for len in edges {
        let old = bytes(len, 10 + len as u64);
        let (src, size) = source(dir.path(), &old);
        // Changed in place after it was opened: same size, different bytes.
        let new = bytes(len, 20 + len as u64);
        std::fs::write(dir.path().join("object"), &new).unwrap();
        let dest = dir.path().join(format!("restored-{len}"));
        let mut s = sink(&dest);
        s.hasher = Hasher::new(Algorithm::Blake3);
        assert!(copy::restore(&src, size, &mut s).unwrap());
        let mut expected = Hasher::new(Algorithm::Blake3);
        expected.update(&std::fs::read(&dest).unwrap());
        assert_eq!(s.bytes, len as u64, "len {len}");
        assert_eq!(
            s.hasher.finalize_hex(),
            expected.finalize_hex(),
            "len {len}"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), new, "len {len}");
    }
}

/// The digest is taken from the scratch file after the copy, not from the object: a byte
/// of the scratch file changed between the copy and the hash (as a disk or another process
/// could) is what the digest covers, so the restore cannot pass on bytes it did not land.
#[test]
#[cfg(target_os = "linux")]
fn the_digest_is_taken_from_the_scratch_file_after_the_copy() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(2 * WINDOW + 4321, 40);
    let (src, size) = source(dir.path(), &data);
    let dest = dir.path().join("restored");
    let mut s = sink(&dest);
    copy::hook::AFTER_COPY.set(Some(Box::new(|dst: &File| {
        dst.write_all_at(b"X", 100).unwrap();
    })));
    let copied = copy::restore(&src, size, &mut s);
    copy::hook::AFTER_COPY.set(None);
    assert!(copied.unwrap());
    let landed = std::fs::read(&dest).unwrap();
    assert_ne!(landed, data, "the hook changed the scratch file");
    assert_eq!(s.hasher.finalize_hex(), sha256(&landed));
}

/// A scratch area on another filesystem than the backup: the kernel refuses the copy
/// (EXDEV), and the file takes the write path with the same result.
#[test]
#[cfg(target_os = "linux")]
fn another_filesystem_falls_back_to_the_write_path() {
    let scratch = tempfile::tempdir().unwrap();
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "/dev/shm is a tmpfs on every Linux we run on");
    let backup = tempfile::tempdir_in(shm).unwrap();
    let data = bytes(WINDOW + 777, 3);
    let (src, size) = source(backup.path(), &data);
    let dest = scratch.path().join("restored");
    let mut s = sink(&dest);
    let cross = src.metadata().unwrap().dev() != scratch.path().metadata().unwrap().dev();
    let copied = copy::restore(&src, size, &mut s).unwrap();
    if cross {
        assert!(!copied, "a copy across filesystems must fall back");
        assert_eq!(s.bytes, 0, "nothing was counted before falling back");
    }
    if !copied {
        pump(Input::File(src, size), false, &mut s).unwrap();
    }
    assert_eq!(s.bytes, size);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(s.hasher.finalize_hex(), sha256(&data));
}

#[test]
fn verify_only_never_copies() {
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(WINDOW, 4);
    let (src, size) = source(dir.path(), &data);
    let mut s = sink(&dir.path().join("unused"));
    s.file = None;
    assert!(!copy::restore(&src, size, &mut s).unwrap());
    pump(Input::File(src, size), false, &mut s).unwrap();
    assert_eq!(s.hasher.finalize_hex(), sha256(&data));
}

/// Verify-only maps the object itself: one truncated after it was opened (its size taken
/// before) is an I/O error about the object, a finding, not a SIGBUS that kills the drill.
#[test]
fn verify_only_over_an_object_truncated_after_it_was_opened_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(2 * WINDOW + 5000, 6);
    let (src, size) = source(dir.path(), &data);
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("object"))
        .unwrap()
        .set_len(WINDOW as u64 + 10)
        .unwrap();
    let mut s = sink(&dir.path().join("unused"));
    s.file = None;
    match pump(Input::File(src, size), false, &mut s) {
        Err(PipeError::Read(e)) => assert!(e.to_string().contains("could not be read"), "{e}"),
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn a_zst_object_hashes_to_its_decompressed_bytes_in_the_restores_words() {
    let dir = tempfile::tempdir().unwrap();
    // Small (read into a buffer) and large (mapped window by window) objects alike.
    for len in [1_000, 3 << 20] {
        let plain = bytes(len, 7);
        let (file, size) = source(dir.path(), &zstd::bulk::compress(&plain, 3).unwrap());
        let (hex, n) = hash_decompressed(file, size, "x.zst", Algorithm::Sha256).expect("decodes");
        assert_eq!((hex, n), (sha256(&plain), len as u64));
    }
    let whole = zstd::bulk::compress(&bytes(100_000, 8), 3).unwrap();
    let (file, size) = source(dir.path(), &whole[..whole.len() - 10]);
    let e = hash_decompressed(file, size, "db/dump.sql.zst", Algorithm::Sha256).unwrap_err();
    assert_eq!(
        e.to_string(),
        "truncated zstd stream: db/dump.sql.zst ends inside a frame"
    );
    let (file, size) = source(dir.path(), b"not zstd at all");
    let e = hash_decompressed(file, size, "a.zst", Algorithm::Sha256).unwrap_err();
    assert!(
        e.to_string().starts_with("corrupt zstd stream in a.zst: "),
        "{e}"
    );
}

/// With `scratch.sync: file` a large file hands its pages back to the kernel as it is written,
/// a [`WRITEBACK`] range at a time once that range is on disk, instead of holding the whole
/// file in the page cache until its final `fdatasync`; with writeback off (`sync: none`)
/// every page stays. Both paths: bytes written by the sink, and copied by the kernel.
#[test]
#[cfg(target_os = "linux")]
fn a_durable_restore_releases_its_pages_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let len = 6 * WRITEBACK as usize;
    let data = bytes(len, 6);
    let (src, size) = source(dir.path(), &data);
    for (name, writeback, copied) in [
        ("written", true, false),
        ("copied", true, true),
        ("written-none", false, false),
    ] {
        let dest = dir.path().join(name);
        let mut s = sink(&dest);
        s.writeback = writeback;
        if copied {
            assert!(copy::restore(&src, size, &mut s).unwrap());
        } else {
            for piece in data.chunks(1 << 20) {
                s.put(piece).unwrap();
            }
        }
        assert_eq!(s.bytes, size);
        // Before any fdatasync: what the file still holds in the page cache.
        let Some(cached) = lifeboat_testkit::cached_bytes(&dest) else {
            eprintln!("temporary folder on tmpfs: page cache release not observable, skipped");
            return;
        };
        if writeback {
            // Released up to the range started one range ago: two ranges at most stay.
            assert!(
                cached <= 2 * WRITEBACK,
                "{name}: {cached} of {size} bytes still cached"
            );
        } else {
            assert!(
                cached >= size - WRITEBACK,
                "{name}: only {cached} of {size} bytes cached: the measure sees nothing"
            );
        }
        assert_eq!(s.hasher.finalize_hex(), sha256(&data), "{name}");
        assert_eq!(std::fs::read(&dest).unwrap(), data, "{name}");
    }
}
