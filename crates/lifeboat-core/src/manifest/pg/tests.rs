use sha2::Digest;
use test_case::test_case;

use super::*;

/// A manifest laid out as pg_basebackup writes it, with `files` as its `Files` lines and a
/// correct `Manifest-Checksum`.
fn manifest(files: &[&str]) -> Vec<u8> {
    let mut text = String::from("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n");
    text.push_str(&files.join(",\n"));
    text.push_str("\n],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n],\n");
    let sum = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    text.push_str(&format!("\"Manifest-Checksum\": \"{sum}\"}}\n"));
    text.into_bytes()
}

const CRC: &str = r#"{ "Path": "PG_VERSION", "Size": 3, "Last-Modified": "2026-11-30 13:53:57 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "8a744722" }"#;

#[test]
fn a_manifest_lists_each_file_with_its_size_and_checksum() {
    let sha = format!(
        r#"{{ "Path": "base/1/1259", "Size": 8192, "Checksum-Algorithm": "SHA256", "Checksum": "{}" }}"#,
        "AB".repeat(32)
    );
    let none = r#"{ "Path": "global/pg_control", "Size": 8192, "Checksum-Algorithm": "NONE" }"#;
    let bare = r#"{ "Path": "backup_label", "Size": 225 }"#;
    let parsed = parse(&manifest(&[CRC, &sha, none, bare])).unwrap();
    assert_eq!(parsed.version, 1);
    assert_eq!(parsed.wal, ["pg_wal/000000010000000000000002"]);
    assert_eq!(
        parsed.files,
        vec![
            PgEntry {
                path: "PG_VERSION".into(),
                size: 3,
                algorithm: Algorithm::Crc32c,
                checksum: "8a744722".into()
            },
            PgEntry {
                path: "base/1/1259".into(),
                size: 8192,
                algorithm: Algorithm::Sha256,
                checksum: "ab".repeat(32)
            },
            PgEntry {
                path: "global/pg_control".into(),
                size: 8192,
                algorithm: Algorithm::None,
                checksum: String::new()
            },
            PgEntry {
                path: "backup_label".into(),
                size: 225,
                algorithm: Algorithm::None,
                checksum: String::new()
            },
        ]
    );
}

#[test]
fn an_encoded_path_is_decoded() {
    let encoded = r#"{ "Encoded-Path": "626173652f6df6", "Size": 1 }"#;
    let err = parse(&manifest(&[encoded])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Files[0] (Encoded-Path "626173652f6df6"): the name is not UTF-8; lifeboat names every file it verifies by a UTF-8 path"#
    );
    let encoded = r#"{ "Encoded-Path": "626173652f6d", "Size": 1 }"#;
    assert_eq!(
        parse(&manifest(&[encoded])).unwrap().files[0].path,
        "base/m"
    );
}

#[test]
fn a_manifest_edited_after_it_was_written_fails_its_own_checksum() {
    let good = manifest(&[CRC]);
    let edited = String::from_utf8(good)
        .unwrap()
        .replace("\"Size\": 3", "\"Size\": 4");
    let err = parse(edited.as_bytes()).unwrap_err();
    assert!(
        matches!(err, PgManifestError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("checksum does not match: Manifest-Checksum lists "),
        "{err}"
    );
}

#[test]
fn unsafe_paths_parse_and_are_refused_per_file_by_the_drill() {
    let dotdot = r#"{ "Path": "../../etc/passwd", "Size": 1 }"#;
    let parsed = parse(&manifest(&[dotdot])).unwrap();
    assert_eq!(parsed.files[0].path, "../../etc/passwd");
    assert!(crate::manifest::safe_components(&parsed.files[0].path).is_err());
}

#[test_case(r#"{ "Path": "a", "Size": 1, "Checksum-Algorithm": "MD5", "Checksum": "00" }"#,
    r#"Files[0] ("a"): unknown Checksum-Algorithm "MD5"; expected one of CRC32C, SHA224, SHA256, SHA384, SHA512, NONE"#; "unknown algorithm")]
#[test_case(r#"{ "Path": "a", "Size": 1, "Checksum-Algorithm": "CRC32C", "Checksum": "8a74472" }"#,
    r#"Files[0] ("a"): Checksum "8a74472" is not 8 hexadecimal digits, as CRC32C needs"#; "short checksum")]
#[test_case(r#"{ "Path": "a", "Size": 1, "Checksum-Algorithm": "CRC32C" }"#,
    r#"Files[0] ("a"): has Checksum-Algorithm CRC32C but no Checksum"#; "missing checksum")]
#[test_case(r#"{ "Path": "a", "Size": 1, "Checksum-Algorithm": "NONE", "Checksum": "00" }"#,
    r#"Files[0] ("a"): has a Checksum but its Checksum-Algorithm is NONE"#; "checksum without algorithm")]
#[test_case(r#"{ "Size": 1 }"#,
    r#"Files[0] (no path): has neither Path nor Encoded-Path"#; "no path")]
#[test_case(r#"{ "Path": "a", "Encoded-Path": "61", "Size": 1 }"#,
    r#"Files[0] ("a"): has both Path and Encoded-Path"#; "two paths")]
#[test_case(r#"{ "Path": "a", "Size": -1 }"#,
    "is not a PostgreSQL backup manifest: invalid value: integer `-1`, expected u64 at line 3 column 25"; "negative size")]
#[test_case(r#"{ "Path": "a", "Size": 1, "Size": 2 }"#,
    "is not a PostgreSQL backup manifest: duplicate field `Size` at line 3 column 32"; "duplicate key")]
fn malformed_entries_are_refused_naming_the_entry(file: &str, expected: &str) {
    assert_eq!(parse(&manifest(&[file])).unwrap_err().to_string(), expected);
}

#[test]
fn a_manifest_listing_more_files_than_its_bound_is_refused_before_its_checksum() {
    let files: Vec<String> = (0..5)
        .map(|n| format!(r#"{{ "Path": "f{n}", "Size": 1 }}"#))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let sealed = manifest(&files);
    assert_eq!(parse_within(&sealed, 5).unwrap().files.len(), 5);
    let refused = "lists 5 files; lifeboat reads at most 4 from one manifest";
    assert_eq!(parse_within(&sealed, 4).unwrap_err().to_string(), refused);
    // Counted before the checksum is: nothing it lists is read past the bound.
    let mut edited = sealed.clone();
    let at = edited.len() - 4;
    edited[at] ^= 1;
    assert_eq!(parse_within(&edited, 4).unwrap_err().to_string(), refused);
    assert!(matches!(
        parse_within(&edited, 5),
        Err(PgManifestError::ChecksumMismatch { .. })
    ));
}

#[test]
fn the_same_path_twice_is_refused_naming_both() {
    let a = r#"{ "Path": "a", "Size": 1 }"#;
    assert_eq!(
        parse(&manifest(&[a, CRC, a])).unwrap_err().to_string(),
        r#"Files[2] ("a"): listed twice: Files[0] names it too"#
    );
}

#[test]
fn a_path_longer_than_path_max_is_refused() {
    let long = format!(r#"{{ "Path": "{}", "Size": 1 }}"#, "a".repeat(5000));
    let err = parse(&manifest(&[&long])).unwrap_err().to_string();
    assert!(err.ends_with("the path is 5000 bytes long, over the 4096 bytes any file system lifeboat restores into allows"), "{err}");
    assert!(err.len() < 400, "the message quotes a snippet only: {err}");
}

#[test_case(b"not json\n", "is not a PostgreSQL backup manifest: expected ident at line 1 column 2"; "not json")]
#[test_case(b"{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": [{\"Path\": \"\xff\", \"Size\": 1}], \"Manifest-Checksum\": \"00\"}\n",
    "is not a PostgreSQL backup manifest: invalid unicode code point at line 1 column 63"; "not utf-8")]
#[test_case(b"{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": [], \"Manifest-Checksum\": \"00\"}",
    "is not a PostgreSQL backup manifest: its last line does not end with a line feed"; "no final line feed")]
#[test_case(b"{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": [], \"Manifest-Checksum\": \"00\"}\n",
    "is not a PostgreSQL backup manifest: it has one line; Manifest-Checksum must be on a line of its own"; "one line")]
#[test_case(b"{\"PostgreSQL-Backup-Manifest-Version\": 9, \"Files\": [],\n\"Manifest-Checksum\": \"00\"}\n",
    "has PostgreSQL-Backup-Manifest-Version 9; lifeboat reads versions 1 and 2 (PostgreSQL 13 to 17)"; "unknown version")]
#[test_case(b"{\"Files\": [],\n\"Manifest-Checksum\": \"00\"}\n",
    "is not a PostgreSQL backup manifest: missing field `PostgreSQL-Backup-Manifest-Version` at line 2 column 26"; "no version")]
fn malformed_manifests_are_refused(bytes: &[u8], expected: &str) {
    assert_eq!(parse(bytes).unwrap_err().to_string(), expected);
}

fn range(timeline: u32, start: &str, end: &str) -> Result<Vec<String>, String> {
    wal_segments(&RawWalRange {
        timeline,
        start: start.into(),
        end: end.into(),
    })
}

#[test]
fn wal_ranges_name_the_segments_postgresql_needs() {
    assert_eq!(
        range(1, "0/2000028", "0/2000100").unwrap(),
        ["pg_wal/000000010000000000000002"]
    );
    // End-LSN is where the backup's WAL ends: a range ending on a boundary needs no more.
    assert_eq!(
        range(3, "0/2FFFFF0", "0/4000000").unwrap(),
        [
            "pg_wal/000000030000000000000002",
            "pg_wal/000000030000000000000003"
        ]
    );
    assert_eq!(
        range(1, "0/FF000000", "1/10").unwrap(),
        [
            "pg_wal/0000000100000000000000FF",
            "pg_wal/000000010000000100000000"
        ]
    );
}

#[test_case("0/0", "FFFFFFFF/FFFFFFFF", "the range spans 1099511627776 WAL segments, over the 65536 lifeboat lists"; "a hostile range")]
#[test_case("0/3000000", "0/2000000", "End-LSN \"0/2000000\" is before Start-LSN \"0/3000000\""; "backwards")]
#[test_case("0/x", "0/1", "\"0/x\" is not an LSN (HI/LO in hex)"; "not hex")]
#[test_case("123456789/0", "0/1", "\"123456789/0\" is not an LSN (HI/LO in hex)"; "too long")]
fn bad_wal_ranges_are_refused(start: &str, end: &str, expected: &str) {
    assert_eq!(range(1, start, end).unwrap_err(), expected);
}
