//! SECURITY.md classes 4, 8 and 10 for `manifest.format: pg_backup_manifest`: a base backup's
//! `backup_manifest` is written by the machine the backup protects, and its checksum guards
//! against accidents only (anyone who can write the backup can recompute it, as
//! `reseal_manifest` does). A path leaving the point, an absurd size, a huge, non-UTF-8 or
//! non-JSON manifest, or an unknown algorithm must each fail with a reason that says what,
//! never panic, never write outside the scratch area, never load more than the cap.

use std::time::{Duration, Instant};

use lifeboat_testkit::postgres::reseal_manifest;
use test_case::test_case;

use crate::pg::{CRC_POINT, fixture};
use crate::util::{Drill, Fixture};

fn drill(fx: &Fixture) -> Drill {
    let mut rb = fx.runbook();
    rb.manifest_path = "backup_manifest".into();
    let yaml = rb
        .yaml()
        .replace("format: sha256sum", "format: pg_backup_manifest");
    let path = fx.write("runbook.yaml", &yaml);
    fx.drill_file(&path, &[])
}

/// The real base backup with its manifest edited by `edit` and re-sealed.
fn hostile(edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Fixture {
    let fx = fixture(&[CRC_POINT]);
    let manifest = fx.source().join(CRC_POINT).join("backup_manifest");
    let text = std::fs::read(&manifest).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&manifest, edited).unwrap();
    reseal_manifest(&manifest);
    fx
}

fn replace(from: &str, to: &[u8]) -> impl FnOnce(Vec<u8>) -> Vec<u8> {
    let from = from.as_bytes().to_vec();
    let to = to.to_vec();
    move |text| {
        let at = text
            .windows(from.len())
            .position(|w| w == from)
            .expect("the manifest holds the text to replace");
        [&text[..at], &to[..], &text[at + from.len()..]].concat()
    }
}

#[test]
fn a_path_with_dotdot_fails_that_file_and_nothing_lands_outside_the_scratch_area() {
    let fx = hostile(replace(
        "\"Path\": \"PG_VERSION\"",
        b"\"Path\": \"../../../PG_VERSION\"",
    ));
    let d = drill(&fx);
    d.assert_code(1);
    let f = d.file(CRC_POINT, "../../../PG_VERSION");
    assert!(Drill::reason(f).starts_with("unsafe path"), "{f}");
    let failed = d.point(CRC_POINT)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] != "passed")
        .count();
    assert_eq!(failed, 1, "{}", d.context());
    for dir in [fx.root(), fx.scratch_dir()] {
        assert!(
            !dir.join("PG_VERSION").exists(),
            "written to {}",
            dir.display()
        );
    }
}

#[test]
fn an_absurd_size_fails_that_file_on_its_size() {
    let fx = hostile(replace("\"Size\": 3,", b"\"Size\": 18446744073709551615,"));
    let d = drill(&fx);
    d.assert_code(1);
    assert_eq!(
        Drill::reason(d.file(CRC_POINT, "PG_VERSION")),
        "size mismatch: the manifest lists 18446744073709551615 bytes, 3 were restored"
    );
}

#[test_case(replace("\"Size\": 3,", b"\"Size\": 99999999999999999999999,"),
    "is not a PostgreSQL backup manifest: invalid type: floating point `1e+23`, expected u64 at line 4 column " ; "a size beyond 64 bits")]
#[test_case(replace("\"Path\": \"PG_VERSION\"", b"\"Path\": \"PG_\xffVERSION\""),
    "is not a PostgreSQL backup manifest: invalid unicode code point at line " ; "a path that is not UTF-8")]
#[test_case(|_| b"PGDMP\x00\x01 not a manifest\n\n".to_vec(),
    "is not a PostgreSQL backup manifest: expected value at line 1 column 1" ; "not JSON")]
#[test_case(replace("\"Checksum-Algorithm\": \"CRC32C\"", b"\"Checksum-Algorithm\": \"MD5\""),
    "Files[0] (\"backup_label\"): unknown Checksum-Algorithm \"MD5\"; expected one of CRC32C, SHA224, SHA256, SHA384, SHA512, NONE" ; "an unknown algorithm")]
fn a_malformed_manifest_fails_the_point_saying_why(
    edit: impl FnOnce(Vec<u8>) -> Vec<u8>,
    reason: &str,
) {
    let fx = hostile(edit);
    let d = drill(&fx);
    d.assert_code(1);
    let got = Drill::reason(d.point(CRC_POINT));
    let want = format!("manifest backup_manifest: {reason}");
    assert!(got.starts_with(&want), "{got}\nwanted: {want}");
    assert!(d.point(CRC_POINT)["files"].as_array().unwrap().is_empty());
}

#[test]
fn a_manifest_over_the_cap_is_refused_unread() {
    let fx = fixture(&[CRC_POINT]);
    let manifest = fx.source().join(CRC_POINT).join("backup_manifest");
    // Sparse: 512 MiB and one byte on paper, nothing on disk.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .unwrap()
        .set_len(lifeboat_runner::MAX_MANIFEST_BYTES + 1)
        .unwrap();
    let started = Instant::now();
    let d = drill(&fx);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    d.assert_code(1);
    let reason = Drill::reason(d.point(CRC_POINT));
    assert!(
        reason.starts_with("manifest ") && reason.contains("over the 536870912-byte limit"),
        "{reason}"
    );
}
