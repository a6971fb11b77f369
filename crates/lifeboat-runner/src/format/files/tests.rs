//! The `files` format on a local folder: what a point's manifest reads as, what a sampled
//! file's plan says, and how a planned file is restored or found missing.

use std::path::Path;
use std::sync::Arc;

use lifeboat_core::Algorithm;
use lifeboat_core::evidence::Outcome;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{NoProgress, Progress};

/// sha256("a")
const A: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

fn format(source: &Path) -> FilesFormat {
    let text = format!(
        "version: 1\nname: files\nsource:\n  url: file://{}\nmanifest:\n  path: SHA256SUMS\n  \
         format: sha256sum\nrecovery_points:\n  time: name\n  time_format: \"%Y-%m-%dT%H%M%SZ\"\n",
        source.display()
    );
    let runbook = lifeboat_core::runbook::parse(&text, "files.yaml", &|_| None).unwrap();
    FilesFormat::open(&runbook).unwrap()
}

fn point(id: &str) -> Candidate {
    Candidate {
        id: id.to_owned(),
        time: "2026-11-21T02:00:00Z".parse().unwrap(),
    }
}

/// A point folder `id` below `source`, holding `manifest` (if any) and `files`.
fn make_point(source: &Path, id: &str, manifest: Option<&str>, files: &[(&str, &str)]) {
    let dir = source.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(text) = manifest {
        std::fs::write(dir.join("SHA256SUMS"), text).unwrap();
    }
    for (name, data) in files {
        std::fs::write(dir.join(name), data).unwrap();
    }
}

#[tokio::test]
async fn a_point_reads_as_its_manifest_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path();
    make_point(source, "none", None, &[]);
    make_point(source, "empty", Some("\n"), &[]);
    make_point(source, "garbage", Some("not a manifest line\n"), &[]);
    make_point(
        source,
        "good",
        Some(&format!("{A}  a.txt\n{A}  b/c.txt\n")),
        &[],
    );
    std::fs::create_dir(source.join("linked")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", source.join("linked/SHA256SUMS")).unwrap();
    let files = format(source);

    assert!(matches!(
        files.read_point(&point("none")).await.unwrap(),
        PointRead::NotAPoint
    ));
    let failed = |read: PointRead<Entry>| match read {
        PointRead::Failed { manifest, reason } => (manifest, reason),
        other => panic!("expected a failed point, got {other:?}"),
    };
    let (manifest, reason) = failed(files.read_point(&point("empty")).await.unwrap());
    assert_eq!(
        reason,
        "manifest SHA256SUMS lists no files: verifying nothing is never a pass"
    );
    assert_eq!(manifest.entries, Some(0));
    assert!(manifest.sha256.is_some());
    let (manifest, reason) = failed(files.read_point(&point("garbage")).await.unwrap());
    assert!(
        reason.starts_with("manifest SHA256SUMS: line 1"),
        "{reason}"
    );
    assert_eq!(manifest.entries, None);
    let (manifest, reason) = failed(files.read_point(&point("linked")).await.unwrap());
    assert_eq!(
        reason,
        "manifest SHA256SUMS is a symbolic link, not a regular file"
    );
    assert_eq!(manifest.sha256, None, "nothing was read from it");

    match files.read_point(&point("good")).await.unwrap() {
        PointRead::Listed { manifest, entries } => {
            assert_eq!(manifest.path, "SHA256SUMS");
            assert_eq!(manifest.algorithm, Algorithm::Sha256);
            assert_eq!(manifest.entries, Some(2));
            let text = format!("{A}  a.txt\n{A}  b/c.txt\n");
            assert_eq!(
                manifest.sha256,
                Some(hex::encode(sha2::Sha256::digest(text.as_bytes())))
            );
            let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["a.txt", "b/c.txt"]);
        }
        other => panic!("expected a listed point, got {other:?}"),
    }
}

#[test]
fn a_sampled_file_is_read_from_path_else_path_zst_and_lands_at_its_path() {
    let files = format(Path::new("/nonexistent/source"));
    let manifest = ManifestRecord {
        path: "SHA256SUMS".to_owned(),
        algorithm: Algorithm::Sha256,
        entries: Some(1),
        sha256: None,
    };
    let entry = Entry {
        path: "./db//dump.sql".to_owned(),
        digest: A.to_owned(),
        line: 1,
    };
    assert_eq!(
        files.plan_file(&point("p"), &manifest, &entry),
        PlannedFile {
            expect: Expected {
                path: "./db//dump.sql".to_owned(),
                algorithm: Algorithm::Sha256,
                digest: A.to_owned(),
                size: None,
            },
            target: Target::Restore {
                lands: "db/dump.sql".to_owned(),
                from: Objects {
                    plain: "db/dump.sql".to_owned(),
                    compressed: "db/dump.sql.zst".to_owned(),
                },
            },
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_file_is_restored_and_verified_or_found_missing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    make_point(
        &source,
        "p",
        Some(&format!("{A}  a.txt\n")),
        &[("a.txt", "a")],
    );
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let files = format(&source);
    let progress: Arc<dyn Progress> = Arc::new(NoProgress);
    let cancel = CancellationToken::new();
    let landing = Landing {
        dest: Some(crate::restore::Dest {
            root: &scratch,
            sync: lifeboat_core::runbook::ScratchSync::None,
        }),
        progress: &progress,
        cancel: &cancel,
    };
    let expect = |path: &str| Expected {
        path: path.to_owned(),
        algorithm: Algorithm::Sha256,
        digest: A.to_owned(),
        size: None,
    };
    let objects = |path: &str| Objects {
        plain: path.to_owned(),
        compressed: format!("{path}.zst"),
    };

    let restored = files
        .restore(
            &point("p"),
            &expect("a.txt"),
            "a.txt",
            &objects("a.txt"),
            &landing,
        )
        .await
        .unwrap();
    assert_eq!(
        restored.result.outcome,
        Outcome::Passed,
        "{:?}",
        restored.result
    );
    assert_eq!(restored.result.object.as_deref(), Some("a.txt"));
    assert_eq!(std::fs::read(scratch.join("a.txt")).unwrap(), b"a");

    let missing = files
        .restore(
            &point("p"),
            &expect("b.txt"),
            "b.txt",
            &objects("b.txt"),
            &landing,
        )
        .await
        .unwrap();
    assert_eq!(missing.result.outcome, Outcome::Failed);
    assert_eq!(
        missing.result.reason.as_deref(),
        Some("missing object: neither b.txt nor b.txt.zst exists")
    );
    assert_eq!(missing.result.object, None);
    assert!(!scratch.join("b.txt").exists());

    // A stop before the object is opened reads nothing.
    cancel.cancel();
    let stopped = files
        .restore(
            &point("p"),
            &expect("a.txt"),
            "a2.txt",
            &objects("a.txt"),
            &landing,
        )
        .await;
    assert!(
        matches!(stopped, Err(DrillError::Interrupted)),
        "{stopped:?}"
    );
    assert!(!scratch.join("a2.txt").exists());
}

/// SECURITY.md class 8: an e-tag comes from the bucket's server and is kept with its object
/// in the coverage ledger; a huge one is kept as its digest (bounded), and still tells one
/// stored object from another.
#[test]
fn a_huge_e_tag_is_kept_as_its_digest_and_still_tells_objects_apart() {
    let info = |tag: String| lifeboat_storage::ObjectInfo {
        size: 7,
        last_modified: jiff::Timestamp::UNIX_EPOCH,
        e_tag: Some(tag),
    };
    let normal = super::identity(info("\"9b2cf535f27731c974343645a3985328\"".into()));
    assert_eq!(normal.tag, "etag:\"9b2cf535f27731c974343645a3985328\"");
    let a = super::identity(info("a".repeat(10 << 20)));
    let b = super::identity(info(format!("{}b", "a".repeat((10 << 20) - 1))));
    assert!(a.tag.len() < 100, "{}", a.tag.len());
    assert!(a.tag.starts_with("etag-sha256:"), "{}", a.tag);
    assert_ne!(a, b);
    assert_eq!(a.size, 7);
}
