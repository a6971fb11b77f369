//! What a drill touches: never the source, only the scratch area, and the scratch area only
//! for as long as `scratch.keep` says.

use lifeboat_testkit::{Format, Snapshot};
use test_case::test_case;

use crate::util::{DAY1, DAY2, Fixture, Runbook, find_files};

#[test]
fn source_is_byte_for_byte_unchanged() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .corrupt_zst("db/dump.sql");
    fx.standard_point(DAY2, Format::Sha256sum);
    let before = Snapshot::take(fx.source());
    assert!(before.files().len() >= 12);

    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1); // DAY1 failed, DAY2 was restored: both were read
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn keep_never_removes_the_scratch_area() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    let left = Snapshot::take(&fx.scratch_dir());
    assert!(
        left.entries.is_empty(),
        "scratch left behind: {:?}",
        left.entries.keys()
    );
    assert_eq!(d.evidence["scratch"]["kept"], false);
}

#[test]
fn keep_always_keeps_the_restored_bytes() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.evidence["scratch"]["kept"], true);
    let kept = std::path::PathBuf::from(d.evidence["scratch"]["path"].as_str().unwrap());
    assert!(kept.starts_with(fx.scratch_dir()), "{}", d.context());
    for e in p.entries() {
        let found = find_files(&kept, &e.path);
        assert_eq!(
            found.len(),
            1,
            "{} restored once under {}",
            e.path,
            kept.display()
        );
        let bytes = std::fs::read(&found[0]).unwrap();
        assert_eq!(lifeboat_testkit::sha256_hex(&bytes), e.sha256, "{}", e.path);
    }
    // The .zst object was restored decompressed, under its manifest name.
    assert!(find_files(&kept, "db/dump.sql.zst").is_empty());
}

#[test_case(true ; "failed drill keeps it")]
#[test_case(false ; "passed drill removes it")]
fn keep_on_failure(fail: bool) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    if fail {
        p.flip_byte("etc/app.conf", 2);
    }
    let rb = Runbook {
        keep: "on-failure".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(if fail { 1 } else { 0 });
    assert_eq!(d.evidence["scratch"]["kept"], fail);
    let files = Snapshot::take(&fx.scratch_dir()).files().len();
    if fail {
        assert!(files > 0, "kept scratch is empty\n{}", d.context());
    } else {
        assert_eq!(files, 0);
    }
}

#[test]
fn verify_only_hashes_without_writing() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    p.flip_byte("data/blob.bin", 9);
    let rb = Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--verify-only"]);
    d.assert_code(1);
    assert_eq!(d.evidence["verify_only"], true);
    let f = d.file(DAY1, "data/blob.bin");
    assert_eq!(f["outcome"], "failed");
    assert!(f["actual"].is_string(), "still hashed: {f}");
    assert_eq!(
        d.file(DAY1, "db/dump.sql")["actual"],
        p.entry("db/dump.sql").sha256
    );
    let files = Snapshot::take(&fx.scratch_dir()).files().len();
    assert_eq!(files, 0, "--verify-only wrote into scratch");
}

/// `scratch.sync: file` (the default) flushes every restored file to disk before it counts as
/// verified; `none` leaves them to the kernel's writeback; verify-only writes nothing to flush.
/// The evidence says which ran and how many files were flushed.
#[test_case(None, &[], "file", true ; "default flushes every restored file")]
#[test_case(Some("none"), &[], "none", false ; "none flushes nothing")]
#[test_case(None, &["--verify-only"], "file", false ; "verify only has nothing to flush")]
fn sync_is_recorded_with_the_files_it_flushed(
    sync: Option<&str>,
    args: &[&str],
    recorded: &str,
    all_flushed: bool,
) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        sync: sync.map(Into::into),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, args);
    d.assert_code(0);
    assert_eq!(d.evidence["scratch"]["sync"], recorded, "{}", d.context());
    let flushed = if all_flushed { p.entries().len() } else { 0 };
    assert!(p.entries().len() >= 5);
    assert_eq!(
        d.evidence["scratch"]["synced_files"],
        flushed as u64,
        "{}",
        d.context()
    );
    for e in p.entries() {
        assert_eq!(d.file(DAY1, &e.path)["outcome"], "passed", "{}", e.path);
    }
    // Whoever reads the report learns that this RTO never reached the disk.
    assert_eq!(
        d.report_md().contains("scratch.sync: none"),
        sync == Some("none"),
        "{}",
        d.report_md()
    );
}

/// With `scratch.sync: file` (the default) each restored file's pages go back to the kernel
/// once the file is hashed and durable: a drill does not fill the host's page cache with
/// bytes it will not read again. With `none` they are still dirty and stay cached.
#[test_case(None, false ; "default releases what it flushed")]
#[test_case(Some("none"), true ; "none leaves them cached")]
fn restored_pages_leave_the_page_cache_once_durable(sync: Option<&str>, stay_cached: bool) {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        keep: "always".into(),
        sync: sync.map(Into::into),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let kept = std::path::PathBuf::from(d.evidence["scratch"]["path"].as_str().unwrap());
    let mut seen = 0;
    for e in p.entries().iter().filter(|e| e.len > 0) {
        // Not `find_files`: its snapshot reads every file, into the cache.
        let restored = kept.join(DAY1).join(&e.path);
        assert!(restored.is_file(), "{} not restored", restored.display());
        let Some(cached) = lifeboat_testkit::cached_bytes(&restored) else {
            eprintln!("scratch on tmpfs: page cache release not observable, skipped");
            return;
        };
        assert_eq!(
            cached > 0,
            stay_cached,
            "{}: {cached} bytes cached after the drill (sync {sync:?})",
            e.path
        );
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} files looked at");
}
