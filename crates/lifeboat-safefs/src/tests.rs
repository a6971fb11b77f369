use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use super::*;

/// A folder holding one of everything a hostile tree can hold.
fn tree() -> (tempfile::TempDir, Dir) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("point/data")).unwrap();
    std::fs::write(root.join("point/data/a.txt"), b"hello").unwrap();
    std::fs::write(root.join("outside.txt"), b"secret").unwrap();
    symlink("/etc/passwd", root.join("point/passwd")).unwrap();
    symlink(root.join("point/data"), root.join("point/linked")).unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, root.join("point/fifo"), Mode::from(0o600)).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(root.join("point/socket")).unwrap();
    let dir = Dir::open(root).unwrap();
    (tmp, dir)
}

/// Runs `f` on another thread and fails the test, rather than hanging it, if it blocks.
fn within_a_second<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(1))
        .expect("blocked: a FIFO was opened for reading")
}

#[test]
fn a_regular_file_below_the_root_opens() {
    let (_tmp, dir) = tree();
    let mut text = String::new();
    dir.open_file("point/data/a.txt")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "hello");
    // `.` and doubled slashes are harmless spellings of the same path.
    assert!(dir.open_file("./point//data/./a.txt").is_ok());
}

#[test]
fn a_link_is_never_followed_at_the_end_or_on_the_way() {
    let (_tmp, dir) = tree();
    let e = dir.open_file("point/passwd").unwrap_err();
    assert_eq!(e.wrong_kind(), Some(Kind::Symlink), "{e}");
    assert_eq!(
        e.to_string(),
        "point/passwd is a symbolic link, not a regular file"
    );
    let e = dir.open_file("point/linked/a.txt").unwrap_err();
    assert_eq!(
        e.to_string(),
        "point/linked is a symbolic link, not a directory"
    );
    assert_eq!(
        dir.open_dir("point/linked").unwrap_err().wrong_kind(),
        Some(Kind::Symlink)
    );
    assert_eq!(
        dir.stat("point/linked/a.txt").unwrap_err().wrong_kind(),
        Some(Kind::Symlink)
    );
}

#[test]
fn special_files_are_named_and_never_block() {
    let (tmp, dir) = tree();
    let root = tmp.path().to_path_buf();
    let e = within_a_second(move || {
        Dir::open(root)
            .unwrap()
            .open_file("point/fifo")
            .unwrap_err()
    });
    assert_eq!(e.wrong_kind(), Some(Kind::Fifo), "{e}");
    assert_eq!(
        e.to_string(),
        "point/fifo is a FIFO (named pipe), not a regular file"
    );
    assert_eq!(
        dir.open_file("point/socket").unwrap_err().wrong_kind(),
        Some(Kind::Socket)
    );
    assert_eq!(
        dir.open_file("point/data").unwrap_err().wrong_kind(),
        Some(Kind::Dir)
    );
    // A FIFO where a folder must be does not block either.
    let root = tmp.path().to_path_buf();
    let e = within_a_second(move || {
        Dir::open(root)
            .unwrap()
            .open_file("point/fifo/x")
            .unwrap_err()
    });
    assert_eq!(e.wrong_kind(), Some(Kind::Fifo), "{e}");
}

#[test]
fn paths_that_could_leave_the_root_are_refused_before_any_lookup() {
    let (_tmp, dir) = tree();
    for bad in [
        "../outside.txt",
        "point/../../outside.txt",
        "/etc/passwd",
        "",
        ".",
    ] {
        let e = dir.open_file(bad).unwrap_err();
        assert!(matches!(e, OpenError::NotBelow { .. }), "{bad}: {e}");
    }
    // Even a `..` that would land back inside.
    assert!(matches!(
        dir.open_file("point/../outside.txt").unwrap_err(),
        OpenError::NotBelow { .. }
    ));
}

#[test]
fn a_missing_component_is_named() {
    let (_tmp, dir) = tree();
    let e = dir.open_file("point/nope/a.txt").unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "point/nope does not exist");
    assert!(dir.open_file("point/data/nope").unwrap_err().is_not_found());
}

#[test]
fn stat_tells_the_kind_without_following() {
    let (_tmp, dir) = tree();
    assert_eq!(dir.stat("point/passwd").unwrap().kind, Kind::Symlink);
    assert_eq!(dir.stat("point/fifo").unwrap().kind, Kind::Fifo);
    let info = dir.stat("point/data/a.txt").unwrap();
    assert_eq!((info.kind, info.size), (Kind::File, 5));
    assert!(info.modified > SystemTime::UNIX_EPOCH);
}

#[test]
fn entries_keep_every_name_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let odd: [&[u8]; 5] = [
        b"tab\there",
        b"new\nline",
        b"sp ace#%[{",
        "é".as_bytes(),
        b"\xff\xfe",
    ];
    for name in odd {
        std::fs::create_dir(tmp.path().join(OsStr::from_bytes(name))).unwrap();
    }
    symlink("/", tmp.path().join("link")).unwrap();
    let entries = Dir::open(tmp.path()).unwrap().entries().unwrap();
    let mut want: Vec<&[u8]> = odd.to_vec();
    want.push(b"link");
    want.sort();
    let got: Vec<&[u8]> = entries.iter().map(|e| e.name.as_bytes()).collect();
    assert_eq!(got, want);
    let link = entries.iter().find(|e| e.name == "link").unwrap();
    assert_eq!(link.kind, Kind::Symlink);
    assert!(
        entries
            .iter()
            .filter(|e| e.name != "link")
            .all(|e| e.kind == Kind::Dir)
    );
}

#[test]
fn creation_never_writes_through_something_planted() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    let evidence = tmp.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    symlink(&victim, evidence.join("planted")).unwrap();
    let dir = Dir::open(&evidence).unwrap();

    let e = dir.create_new("planted", 0o600).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        dir.open_or_create("planted", 0o600)
            .unwrap_err()
            .wrong_kind(),
        Some(Kind::Symlink)
    );
    // A record is never written over what is there, link or file.
    let e = dir
        .write_atomic("planted", b"new", 0o644, Replace::Never)
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // A folder planted as a link is not created through either.
    symlink(tmp.path(), evidence.join("runbook")).unwrap();
    assert_eq!(
        dir.create_dir_all("runbook/run", 0o755)
            .unwrap_err()
            .to_string(),
        "runbook is a symbolic link, not a directory"
    );
    assert!(!tmp.path().join("run").exists());
}

#[test]
fn a_new_folder_must_be_new_and_is_never_made_through_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::open(tmp.path()).unwrap();
    std::fs::create_dir(tmp.path().join("runbook")).unwrap();
    let run = dir.create_dir_new("runbook/run-1", 0o755).unwrap();
    run.write_atomic("record", b"r", 0o644, Replace::Never)
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("runbook/run-1/record")).unwrap(),
        b"r"
    );
    let e = dir.create_dir_new("runbook/run-1", 0o755).unwrap_err();
    assert!(matches!(e, OpenError::AlreadyExists { .. }), "{e}");
    assert_eq!(e.to_string(), "runbook/run-1 already exists");
    let elsewhere = tempfile::tempdir().unwrap();
    symlink(elsewhere.path(), tmp.path().join("runbook/run-2")).unwrap();
    assert_eq!(
        dir.create_dir_new("runbook/run-2", 0o755)
            .unwrap_err()
            .to_string(),
        "runbook/run-2 is a symbolic link, not a directory"
    );
    symlink(elsewhere.path(), tmp.path().join("linked")).unwrap();
    assert_eq!(
        dir.create_dir_new("linked/run", 0o755)
            .unwrap_err()
            .wrong_kind(),
        Some(Kind::Symlink)
    );
    assert!(
        dir.create_dir_new("missing/run", 0o755)
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn atomic_writes_replace_or_refuse_and_leave_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::open(tmp.path()).unwrap();
    dir.write_atomic("ledger", b"one", 0o644, Replace::Allow)
        .unwrap();
    dir.write_atomic("ledger", b"two", 0o644, Replace::Allow)
        .unwrap();
    assert_eq!(std::fs::read(tmp.path().join("ledger")).unwrap(), b"two");
    dir.write_atomic("record", b"once", 0o644, Replace::Never)
        .unwrap();
    let e = dir
        .write_atomic("record", b"twice", 0o644, Replace::Never)
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(tmp.path().join("record")).unwrap(), b"once");
    let names: Vec<_> = dir.entries().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["ledger", "record"]);
}

/// Several files written at once, each whole: all of them in place; one whose name is taken
/// (by a file, or a link that is never written through) stops the rest and is named, the
/// ones before it stay whole, and no temporary file is left; a name that is not one plain
/// component writes nothing.
#[test]
fn files_written_together_are_each_whole_or_absent_and_the_failure_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::open(tmp.path()).unwrap();
    let names = |dir: &Dir| -> Vec<OsString> {
        dir.entries().unwrap().into_iter().map(|e| e.name).collect()
    };
    dir.write_atomic_all(
        &[
            ("report.md", b"# r"),
            ("evidence.json", b"{}"),
            ("evidence.json.minisig", b"sig"),
        ],
        0o644,
        Replace::Never,
    )
    .unwrap();
    assert_eq!(
        names(&dir),
        ["evidence.json", "evidence.json.minisig", "report.md"]
    );
    assert_eq!(
        std::fs::read(tmp.path().join("evidence.json")).unwrap(),
        b"{}"
    );

    symlink(tmp.path().join("report.md"), tmp.path().join("linked")).unwrap();
    for taken in ["evidence.json", "linked"] {
        let e = dir
            .write_atomic_all(
                &[("first", b"1"), (taken, b"overwritten"), ("third", b"3")],
                0o644,
                Replace::Never,
            )
            .unwrap_err();
        assert_eq!(e.name.as_deref(), Some(taken));
        assert_eq!(e.source.kind(), io::ErrorKind::AlreadyExists);
        assert!(e.to_string().starts_with(&format!("{taken}: ")), "{e}");
        assert_eq!(std::fs::read(tmp.path().join("first")).unwrap(), b"1");
        std::fs::remove_file(tmp.path().join("first")).unwrap();
    }
    assert_eq!(
        std::fs::read(tmp.path().join("evidence.json")).unwrap(),
        b"{}"
    );
    assert_eq!(std::fs::read(tmp.path().join("report.md")).unwrap(), b"# r");
    assert_eq!(
        names(&dir),
        [
            "evidence.json",
            "evidence.json.minisig",
            "linked",
            "report.md"
        ]
    );

    let e = dir
        .write_atomic_all(
            &[("fine", b"1"), ("../outside", b"2")],
            0o644,
            Replace::Allow,
        )
        .unwrap_err();
    assert_eq!(e.name.as_deref(), Some("../outside"));
    assert!(!tmp.path().join("fine").exists());
    assert!(!tmp.path().parent().unwrap().join("outside").exists());
    assert_eq!(names(&dir).len(), 4, "no temporary file left");

    dir.write_atomic_all(&[("report.md", b"# again")], 0o644, Replace::Allow)
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("report.md")).unwrap(),
        b"# again"
    );
}

thread_local! {
    /// Set by a test: [`Dir::write_atomic_all`] is refused every thread it starts, as a
    /// process at its thread limit is (root, which the tests may run as, has no such limit).
    static REFUSE_SPAWNS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Files [`Dir::write_atomic_all`] flushed on the calling thread for want of one of
    /// their own.
    static FLUSHED_HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

pub(crate) fn spawns_refused() -> bool {
    REFUSE_SPAWNS.with(std::cell::Cell::get)
}

pub(crate) fn flushed_here() {
    FLUSHED_HERE.with(|n| n.set(n.get() + 1));
}

/// A process at its thread limit still writes files together: each file whose flushing
/// thread cannot be started is flushed on the calling thread, and all are in place, whole,
/// with no temporary file left.
#[test]
fn files_written_together_without_threads_to_flush_them_are_each_flushed_here() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::open(tmp.path()).unwrap();
    REFUSE_SPAWNS.with(|r| r.set(true));
    let written = dir.write_atomic_all(
        &[
            ("report.md", b"# r"),
            ("evidence.json", b"{}"),
            ("evidence.json.minisig", b"sig"),
        ],
        0o644,
        Replace::Never,
    );
    REFUSE_SPAWNS.with(|r| r.set(false));
    written.unwrap();
    assert_eq!(
        FLUSHED_HERE.with(std::cell::Cell::get),
        2,
        "the first is always flushed here"
    );
    for (name, bytes) in [
        ("report.md", &b"# r"[..]),
        ("evidence.json", b"{}"),
        ("evidence.json.minisig", b"sig"),
    ] {
        assert_eq!(
            std::fs::read(tmp.path().join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    assert_eq!(dir.entries().unwrap().len(), 3, "no temporary file left");
}

#[test]
fn a_streamed_atomic_write_that_fails_leaves_the_old_file_and_no_temporary_one() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::open(tmp.path()).unwrap();
    dir.write_atomic_with("SUMS", 0o644, Replace::Allow, |f| {
        f.write_all(b"a\n")?;
        f.write_all(b"b\n")
    })
    .unwrap();
    assert_eq!(std::fs::read(tmp.path().join("SUMS")).unwrap(), b"a\nb\n");
    let e = dir
        .write_atomic_with("SUMS", 0o644, Replace::Allow, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("the hash of the next file failed"))
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "the hash of the next file failed");
    assert_eq!(std::fs::read(tmp.path().join("SUMS")).unwrap(), b"a\nb\n");
    let names: Vec<_> = dir.entries().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["SUMS"]);
}

#[test]
fn a_fifo_lock_file_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        tmp.path().join("ledger.lock"),
        Mode::from(0o600),
    )
    .unwrap();
    let root = tmp.path().to_path_buf();
    let e = within_a_second(move || {
        Dir::open(root)
            .unwrap()
            .open_or_create("ledger.lock", 0o600)
            .unwrap_err()
    });
    assert_eq!(e.wrong_kind(), Some(Kind::Fifo), "{e}");
    // A missing lock file is created, and opens again.
    let dir = Dir::open(tmp.path()).unwrap();
    dir.open_or_create("other.lock", 0o600).unwrap();
    dir.open_or_create("other.lock", 0o600).unwrap();
}

#[test]
fn operator_paths_may_be_links_but_must_lead_to_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("key"), b"k").unwrap();
    symlink(tmp.path().join("key"), tmp.path().join("key-link")).unwrap();
    assert!(open_regular(tmp.path().join("key-link")).is_ok());
    let e = open_regular("/dev/null").unwrap_err();
    assert_eq!(e.wrong_kind(), Some(Kind::CharDevice), "{e}");
    assert!(
        open_regular(tmp.path().join("nope"))
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn capped_reads_stop_at_the_limit_whatever_the_file_claims() {
    // /dev/zero claims 0 bytes and never ends: stopped one byte past the limit.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    assert!(matches!(
        read_capped(&zero, 1 << 20),
        Err(ReadError::TooLarge { size, limit }) if limit == 1 << 20 && size == limit + 1
    ));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("five");
    std::fs::write(&path, b"12345").unwrap();
    let five = std::fs::File::open(&path).unwrap();
    assert_eq!(read_capped(&five, 5).unwrap(), b"12345");
    // Over the limit by its size: refused before a byte is read.
    assert!(matches!(
        read_capped(&five, 4),
        Err(ReadError::TooLarge { size: 5, limit: 4 })
    ));
    // A sparse 1 TiB file is refused by its size alone, costing no memory.
    let huge = std::fs::File::create(tmp.path().join("huge")).unwrap();
    huge.set_len(1 << 40).unwrap();
    assert!(matches!(
        read_capped(&huge, 1 << 20),
        Err(ReadError::TooLarge { size, .. }) if size == 1 << 40
    ));
}
