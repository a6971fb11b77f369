//! A local source through the storage API: names come back raw, nothing below the source is
//! followed or waited on, and what is in the way is named. (The drill-level cases, with
//! evidence and exit codes, are in tests/hostile/local_source.rs at the repository root.)

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use lifeboat_storage::{
    Kind, Listing, Skip, Skipped, Source, SourceKind, SourceSpec, StorageError,
};

fn source(root: &Path) -> Source {
    Source::open(&SourceSpec {
        url: format!("file://{}", root.display()),
        kind: SourceKind::File,
        options: BTreeMap::new(),
    })
    .unwrap()
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_keeps_raw_names_and_says_what_each_entry_is() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in ["p 1", "p\t1", "p#%[{é"] {
        std::fs::create_dir(root.join(name)).unwrap();
    }
    std::fs::create_dir(root.join(OsStr::from_bytes(b"caf\xe9"))).unwrap();
    std::fs::write(root.join("stray\nfile"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
    mkfifo(&root.join("pipe"));

    let listing = source(root).list_children().await.unwrap();
    assert_eq!(
        listing,
        Listing {
            folders: vec!["p\t1".into(), "p 1".into(), "p#%[{é".into()],
            skipped: vec![
                Skipped {
                    shown: r#""caf\xE9""#.into(),
                    why: Skip::Unusable("is not valid UTF-8"),
                },
                Skipped {
                    shown: r#""link""#.into(),
                    why: Skip::NotAFolder(Kind::Symlink),
                },
                Skipped {
                    shown: r#""pipe""#.into(),
                    why: Skip::NotAFolder(Kind::Fifo),
                },
                Skipped {
                    shown: r#""stray\nfile""#.into(),
                    why: Skip::NotAFolder(Kind::File),
                },
            ],
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_a_regular_file_is_opened_and_a_fifo_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p");
    std::fs::create_dir_all(p.join("sub")).unwrap();
    std::fs::write(p.join("ok"), "ok").unwrap();
    mkfifo(&p.join("pipe"));
    std::os::unix::fs::symlink("/etc/passwd", p.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/etc", p.join("etc")).unwrap();
    let src = source(dir.path());

    let started = Instant::now();
    let fifo = src.open_object("p/pipe").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        fifo.below("p"),
        "pipe is a FIFO (named pipe), not a regular file"
    );
    assert!(fifo.is_finding());

    let manifest = src.read_small("p/passwd", 1 << 20).await.unwrap_err();
    assert_eq!(
        manifest.below("p"),
        "passwd is a symbolic link, not a regular file"
    );
    let through = src.open_object("p/etc/passwd").await.unwrap_err();
    assert_eq!(
        through.below("p"),
        "etc is a symbolic link, not a directory"
    );
    let folder = src.head("p/sub").await.unwrap_err();
    assert!(
        matches!(
            folder,
            StorageError::NotAnObject {
                found: Kind::Dir,
                modified: Some(_),
                ..
            }
        ),
        "{folder:?}"
    );

    assert!(src.open_object("p/missing").await.unwrap().is_none());
    assert!(src.head("p/missing/deeper").await.unwrap().is_none());
    let (bytes, info) = src.read_small("p/ok", 2).await.unwrap().unwrap();
    assert_eq!((&bytes[..], info.size), (&b"ok"[..], 2));
    assert!(matches!(
        src.read_small("p/ok", 1).await,
        Err(StorageError::TooLarge { limit: 1, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_folder_is_said_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(&dir.path().join("gone"));
    let e = src.list_children().await.unwrap_err();
    assert!(matches!(e, StorageError::SourceMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("no folder at"), "{e}");
    assert!(!e.is_finding());
}

/// A range a hostile index asks for (restic's pack offsets and lengths are the repository's
/// word) is checked against the file before anything is allocated for it: a 4 GiB length on a
/// 10-byte pack is refused with the sizes, not answered by a 4 GiB buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_past_the_end_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pack"), b"0123456789").unwrap();
    let src = source(dir.path());
    assert_eq!(
        src.read_range("pack", 2, 5).await.unwrap().as_deref(),
        Some(&b"23456"[..])
    );
    for (offset, len) in [(0, u32::MAX as usize), (8, 3), (u64::MAX, 1)] {
        let err = src.read_range("pack", offset, len).await.unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "asked for {len} bytes at {offset}, the file holds 10"
            )),
            "{err}"
        );
    }
    assert_eq!(src.read_range("nothing", 0, 1).await.unwrap(), None);
    std::os::unix::fs::symlink(dir.path().join("pack"), dir.path().join("link")).unwrap();
    assert!(
        src.read_range("link", 0, 1).await.is_err(),
        "a link is never followed"
    );
}

/// A listing says what a HEAD says about each regular file (size, modification time, no
/// e-tag), so a coverage phase can key its ledger to it; what is not a regular file (a link,
/// a FIFO) is not listed, and nothing deeper than `depth` is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_gives_each_object_the_identity_a_head_gives() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("p/data/deep")).unwrap();
    std::fs::write(root.join("p/top.bin"), "top").unwrap();
    std::fs::write(root.join("p/data/a.bin"), "aaaa").unwrap();
    std::fs::write(root.join("p/data/deep/b.bin"), "b").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("p/data/link")).unwrap();
    mkfifo(&root.join("p/data/pipe"));
    let source = source(root);

    let listed = source.list_objects("p", 1, None).await.unwrap();
    let paths: Vec<&str> = listed.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(paths, ["p/data/a.bin", "p/top.bin"]);
    for object in &listed {
        let head = source.head(&object.path).await.unwrap().unwrap();
        assert_eq!(object.info, head, "{}", object.path);
        assert_eq!(object.info.e_tag, None);
    }
    assert_eq!(listed[0].info.size, 4);
    // Asked for some paths, only those are kept (a point's stray objects cost no memory).
    let wanted = ["p/top.bin".to_owned(), "p/gone.bin".to_owned()].into();
    let some = source.list_objects("p", 1, Some(&wanted)).await.unwrap();
    assert_eq!(some, [listed[1].clone()]);
}
