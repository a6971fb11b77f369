//! Run folders: made locked and private, cleaned only when their drill is gone and they were
//! not kept; and lifeboat's own places refused inside a source.

use std::collections::BTreeMap;

use lifeboat_core::runbook::SourceKind;

use super::*;

const RUN_ID: &str = "20261122T020000Z-a1b2c3";

fn run_name(runbook: &str) -> String {
    folder_name(runbook, RUN_ID)
}

#[test]
fn lifeboat_knows_its_own_folder_names_and_no_others() {
    let cases = [
        ("lifeboat-nightly-20261122T020000Z-a1b2c3", Some(Made::Run)),
        ("lifeboat-a.b_c-d-20261122T020000Z-000000", Some(Made::Run)),
        (
            ".lifeboat-nightly-20261122T020000Z-a1b2c3.pending",
            Some(Made::Pending),
        ),
        ("lifeboat-nightly-20261122T020000Z-A1B2C3", None), // upper-case hex
        ("lifeboat-Nightly-20261122T020000Z-a1b2c3", None), // not a runbook name
        ("lifeboat--20261122T020000Z-a1b2c3", None),        // no runbook name
        ("lifeboat-nightly-20261122T020000Z-a1b2c", None),  // short id
        ("lifeboat-nightly-2026112T0200000Z-a1b2c3", None), // T misplaced
        ("lifeboat-nightly-20261122T020000Z-a1b2c3.bak", None),
        ("lifeboat-nightly-20261122T020000Z-a1b2c3.pending", None),
        ("other-nightly-20261122T020000Z-a1b2c3", None),
        ("lifeboat-", None),
        ("lifeboat-é-20261122T020000Z-a1b2c3", None),
        ("lifeboat-xé20261122T020000Z-a1b2c3", None), // multi-byte at the split
        ("", None),
    ];
    for (name, made) in cases {
        assert_eq!(made_by_lifeboat(name), made, "{name:?}");
    }
    assert_eq!(
        made_by_lifeboat(&folder_name(
            "nightly",
            &crate::new_run_id(jiff::Timestamp::now())
        )),
        Some(Made::Run),
        "the names the runner gives are recognised"
    );
}

#[test]
fn a_run_folder_is_private_locked_and_made_only_where_nothing_is() {
    let root = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(root.path(), &run_name("a")).unwrap();
    let meta = std::fs::symlink_metadata(folder.path()).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
    // No pending name left behind.
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from(run_name("a"))]);
    // Locked: nobody else can take the lock while it lives.
    let other = open_folder(folder.path()).unwrap();
    assert!(
        other.try_lock().is_err(),
        "a live run folder must be locked"
    );
    // Points get private folders; an id that is not one plain name gets none.
    let p = folder.point("2026-11-21T020000Z").unwrap();
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(folder.point("2026-11-21T020000Z").unwrap(), p, "idempotent");
    for bad in ["..", ".", "a/b", "", "/etc"] {
        assert!(folder.point(bad).is_err(), "{bad:?}");
    }
    drop(other);
    drop(folder);
    // Once the drill is gone the lock is free.
    let path = root.path().join(run_name("a"));
    open_folder(&path).unwrap().try_lock().unwrap();

    // A name already taken (by anything, a symlink too) is never reused or followed.
    let target = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(target.path(), root.path().join(run_name("b"))).unwrap();
    assert!(RunFolder::create(root.path(), &run_name("b")).is_err());
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
    assert!(RunFolder::create(root.path(), &run_name("a")).is_err());
    assert!(
        !root.path().join(pending_name(&run_name("b"))).exists(),
        "a failed creation leaves no pending folder"
    );
}

#[test]
fn a_missing_scratch_root_is_made_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("new/root");
    let folder = RunFolder::create(&root, &run_name("a")).unwrap();
    assert!(folder.path().starts_with(&root));
    for made in [dir.path().join("new"), root] {
        let mode = std::fs::metadata(&made).unwrap().permissions().mode() & 0o077;
        assert_eq!(mode, 0, "{} is open to others", made.display());
    }
}

/// A drill that was killed: its folder stays, unlocked and unmarked.
fn abandoned(root: &Path, runbook: &str) -> PathBuf {
    let folder = RunFolder::create(root, &run_name(runbook)).unwrap();
    let point = folder.point("p1").unwrap();
    std::fs::write(point.join("restored"), b"x").unwrap();
    let path = folder.path().to_path_buf();
    drop(folder);
    path
}

#[test]
fn only_stale_folders_of_ours_are_removed() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let stale = abandoned(root, "killed");
    let live = RunFolder::create(root, &run_name("live")).unwrap();
    let kept = RunFolder::create(root, &run_name("kept")).unwrap();
    let kept_path = kept.path().to_path_buf();
    kept.keep(RUN_ID).unwrap();
    // Not lifeboat's names: left alone whatever they hold.
    std::fs::create_dir(root.join("lifeboat-notes")).unwrap();
    std::fs::create_dir(root.join("someone-else")).unwrap();
    // A symlink under a lifeboat name, pointing at a folder that must survive.
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("precious"), b"keep me").unwrap();
    std::os::unix::fs::symlink(target.path(), root.join(run_name("link"))).unwrap();
    // A FIFO under a lifeboat name: never opened (it would block), never removed.
    let fifo = root.join(run_name("fifo"));
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A file and a point folder called like the kept marker do not make a folder "kept".
    let fake = abandoned(root, "fake");
    std::fs::create_dir(fake.join(KEPT_MARKER)).unwrap();
    // A young pending folder may be a drill starting right now.
    std::fs::create_dir(root.join(pending_name(&run_name("starting")))).unwrap();

    let removed = remove_stale(root);

    let mut removed = removed;
    removed.sort();
    let mut expected = vec![stale.clone(), fake.clone()];
    expected.sort();
    assert_eq!(removed, expected);
    assert!(!stale.exists() && !fake.exists());
    assert!(
        live.path().join(".").is_dir(),
        "a live drill's folder was removed"
    );
    assert!(kept_path.is_dir(), "a kept folder was removed");
    assert!(root.join("lifeboat-notes").is_dir());
    assert!(root.join("someone-else").is_dir());
    assert!(root.join(run_name("link")).is_symlink());
    assert_eq!(
        std::fs::read(target.path().join("precious")).unwrap(),
        b"keep me"
    );
    assert!(fifo.exists());
    assert!(root.join(pending_name(&run_name("starting"))).is_dir());
    drop(live);
}

/// Another account's folder under a lifeboat name is not this user's to remove, even when
/// nobody holds its lock. Needs root to make a folder owned by someone else.
#[test]
fn another_accounts_folder_is_left_alone() {
    if effective_uid() != 0 {
        eprintln!("skipped: needs root to chown a folder to another account");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let theirs = abandoned(root.path(), "theirs");
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    assert!(remove_stale(root.path()).is_empty());
    assert!(theirs.is_dir());
}

#[test]
fn restored_files_keep_at_most_the_objects_permission_bits() {
    assert_eq!(restored_mode(Some(0o104755)), 0o755, "setuid dropped");
    assert_eq!(restored_mode(Some(0o102755)), 0o755, "setgid dropped");
    assert_eq!(restored_mode(Some(0o101777)), 0o777, "sticky dropped");
    assert_eq!(restored_mode(Some(0o100400)), 0o400);
    assert_eq!(restored_mode(None), 0o600, "cloud objects are private");
}

fn local(dir: &Path) -> SourceSpec {
    SourceSpec {
        url: format!("file://{}", dir.display()),
        kind: SourceKind::File,
        options: BTreeMap::new(),
    }
}

#[test]
fn places_inside_a_local_source_are_found_however_they_are_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    let source = dir.join("backup");
    std::fs::create_dir_all(source.join("p1")).unwrap();
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(&source, dir.join("link")).unwrap();
    let spec = local(&source);
    let inside = [
        source.clone(),
        source.join("p1"),
        source.join("not/made/yet"),
        dir.join("link/scratch"),                       // through a symlink
        dir.join("elsewhere/../backup/x"),              // `..` of a real folder
        dir.join("elsewhere/new/../../backup/new/sub"), // `..` of folders yet to be made
        source.join("."),
    ];
    for path in inside {
        let err = check_outside_source(&spec, &[(Place::Evidence, &path)])
            .expect_err(&path.display().to_string());
        assert_eq!(err.place, Place::Evidence);
        assert_eq!(err.source_dir, source);
        let text = err.to_string();
        assert!(
            text.contains("evidence folder") && text.contains(&spec.url),
            "{text}"
        );
    }
    let outside = [
        dir.clone(),
        dir.join("elsewhere"),
        dir.join("backup-2"),
        source.join("../elsewhere"),
        source.join("new/../../elsewhere"),
    ];
    for path in outside {
        check_outside_source(&spec, &[(Place::Scratch, &path)])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    // The first place inside is named.
    let err = check_outside_source(
        &spec,
        &[
            (Place::Scratch, &dir.join("elsewhere")),
            (Place::State, &source.join("state.db")),
        ],
    )
    .unwrap_err();
    assert_eq!(err.place, Place::State);
    // Nothing to be inside of: a source that does not exist, or a cloud one.
    let gone = local(&dir.join("gone"));
    check_outside_source(&gone, &[(Place::Scratch, &dir.join("gone/x"))]).unwrap();
    let s3 = SourceSpec {
        url: "s3://bucket/prefix".into(),
        kind: SourceKind::S3,
        options: BTreeMap::new(),
    };
    check_outside_source(&s3, &[(Place::Scratch, Path::new("/"))]).unwrap();
}

#[test]
fn a_relative_place_is_judged_from_the_current_folder() {
    let cwd = std::env::current_dir().unwrap();
    let spec = local(&cwd);
    let err = check_outside_source(&spec, &[(Place::Evidence, Path::new("evidence"))]).unwrap_err();
    assert_eq!(err.path, Path::new("evidence"));
}
