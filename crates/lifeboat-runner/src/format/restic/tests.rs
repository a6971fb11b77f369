use lifeboat_core::evidence::{FileResult, Outcome};
use lifeboat_core::vocabulary::Algorithm;
use lifeboat_storage::restic::{ChunkFailure, ChunkProblem, FileRead};

use super::{in_snapshot, verdict};
use crate::plan::Expected;
use crate::restore::Restored;

fn expect() -> Expected {
    Expected {
        path: "/srv/app/a.txt".to_owned(),
        algorithm: Algorithm::Sha256,
        digest: String::new(),
        size: Some(6),
    }
}

/// What the pipeline returns for 6 bytes hashed to `aa…`: it compared against no digest,
/// so its own outcome says nothing.
fn piped(bytes: u64) -> Restored {
    Restored {
        result: FileResult {
            path: "/srv/app/a.txt".to_owned(),
            outcome: Outcome::Failed,
            algorithm: Algorithm::Sha256,
            expected: String::new(),
            actual: Some("aa".repeat(32)),
            bytes,
            object_bytes: Some(38),
            object: Some("/srv/app/a.txt".to_owned()),
            reason: Some("hash mismatch".to_owned()),
            always: false,
        },
        synced: false,
    }
}

fn read(verified: u64, problem: Option<ChunkProblem>) -> Result<FileRead, String> {
    Ok(FileRead {
        verified,
        failure: problem.map(|problem| ChunkFailure {
            index: 1,
            chunk: "c".repeat(64),
            pack: Some("p".repeat(64)),
            problem,
        }),
    })
}

#[test]
fn every_chunk_verified_and_the_sizes_adding_up_is_a_pass_recording_the_file_digest() {
    let r = verdict(&expect(), 6, read(6, None), piped(6)).result;
    assert_eq!(r.outcome, Outcome::Passed);
    assert_eq!(r.reason, None);
    assert_eq!(r.expected, "aa".repeat(32));
    assert_eq!(r.actual.as_deref(), Some(&*"aa".repeat(32)));
}

#[test]
fn a_chunk_that_fails_names_what_failed_the_chunk_and_the_pack() {
    let cases = [
        (ChunkProblem::PackMissing, "pack missing"),
        (ChunkProblem::NotIndexed, "not indexed"),
        (
            ChunkProblem::Undecryptable {
                detail: "MAC mismatch".to_owned(),
            },
            "authentication failed (ciphertext changed)",
        ),
        (
            ChunkProblem::HashMismatch {
                actual: "d".repeat(64),
            },
            "chunk hash mismatch",
        ),
    ];
    for (problem, kind) in cases {
        let r = verdict(&expect(), 6, read(2, Some(problem)), piped(2)).result;
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.actual, None);
        assert_eq!(r.expected, "");
        let reason = r.reason.unwrap();
        assert!(
            reason.starts_with(&format!(
                "{kind}: chunk 1 ({}) in pack {}",
                "c".repeat(64),
                "p".repeat(64)
            )),
            "{reason}"
        );
    }
}

#[test]
fn chunks_that_do_not_add_up_to_the_tree_size_fail_with_a_size_mismatch() {
    let r = verdict(&expect(), 9, read(6, None), piped(6)).result;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some(
            "size mismatch: the snapshot's tree lists 9 bytes, its chunks hold 6, 6 were restored"
        )
    );
}

#[test]
fn a_damaged_tree_or_a_pipeline_finding_is_kept() {
    let r = verdict(&expect(), 6, Err("decoding failed".to_owned()), piped(6)).result;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("snapshot or tree damaged: decoding failed")
    );

    let mut in_the_way = piped(0);
    in_the_way.result.actual = None;
    in_the_way.result.reason = Some("cannot restore x into the scratch area".to_owned());
    let r = verdict(&expect(), 6, read(6, None), in_the_way).result;
    assert_eq!(
        r.reason.as_deref(),
        Some("cannot restore x into the scratch area")
    );
}

/// A file listed by a manifest inside the snapshot, which lists `digest` for it.
fn listed(digest: &str) -> Expected {
    Expected {
        path: "a.txt".to_owned(),
        digest: digest.to_owned(),
        size: None,
        ..expect()
    }
}

#[test]
fn with_a_manifest_verified_chunks_must_also_hash_to_the_manifests_digest() {
    // Every chunk verified and the sizes add up, but the bytes are not what the manifest
    // lists: the backup captured the file after it changed.
    let r = verdict(&listed(&"bb".repeat(32)), 6, read(6, None), piped(6)).result;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.expected, "bb".repeat(32));
    assert_eq!(r.actual.as_deref(), Some(&*"aa".repeat(32)));
    let reason = r.reason.unwrap();
    assert!(
        reason.starts_with("hash mismatch: every chunk verified against its id"),
        "{reason}"
    );

    // The manifest's digest (either case) and the chunks agree: a pass recording the
    // manifest's digest as `expected`.
    let r = verdict(&listed(&"AA".repeat(32)), 6, read(6, None), piped(6)).result;
    assert_eq!(r.outcome, Outcome::Passed, "{:?}", r.reason);
    assert_eq!(r.expected, "AA".repeat(32));

    // A chunk failure still comes first, and leaves `actual` out.
    let r = verdict(
        &listed(&"aa".repeat(32)),
        6,
        read(2, Some(ChunkProblem::PackMissing)),
        piped(2),
    )
    .result;
    assert!(r.reason.unwrap().starts_with("pack missing"));
    assert_eq!(r.actual, None);
}

#[test]
fn a_manifest_entry_is_found_below_the_manifests_folder_and_may_not_leave_it() {
    assert_eq!(
        in_snapshot("/srv/app/SHA256SUMS", "a.txt").as_deref(),
        Ok("/srv/app/a.txt")
    );
    assert_eq!(
        in_snapshot("/srv/app/SHA256SUMS", "./conf//app.conf").as_deref(),
        Ok("/srv/app/conf/app.conf")
    );
    assert_eq!(in_snapshot("/SHA256SUMS", "a").as_deref(), Ok("/a"));
    for escaping in ["../etc/passwd", "/etc/passwd", "a/../../b", ""] {
        let reason = in_snapshot("/srv/app/SHA256SUMS", escaping).unwrap_err();
        assert!(reason.starts_with("unsafe path"), "{escaping}: {reason}");
    }
}

#[test]
fn a_listed_file_costs_no_more_than_the_snapshots_own_entry() {
    // A million-file snapshot is held as a million of these while the sample is drawn: the
    // manifest variant, boxed, must not make every tree entry pay its size.
    assert_eq!(
        std::mem::size_of::<super::ResticEntry>(),
        std::mem::size_of::<lifeboat_storage::restic::SnapshotEntry>()
    );
}
