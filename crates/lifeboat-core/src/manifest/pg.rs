//! PostgreSQL's `backup_manifest`: the JSON manifest `pg_basebackup` writes into a base
//! backup, listing each file's size and checksum.
//!
//! # What is read, and why
//!
//! The manifest decides which bytes a drill trusts and is written by the machine the backup
//! protects, so it is parsed as hostile input (SECURITY.md, classes 1, 7 and 8): the caller
//! caps its size before it gets here, every string is bounded, and anything that could be read
//! two ways is an error naming where (`line L column C` for JSON, `Files[N]` for an entry),
//! never a guess.
//!
//! - **Its own checksum first.** `Manifest-Checksum` is the SHA-256 of the manifest's text up
//!   to and including the line feed before its last line, as `pg_verifybackup` computes it.
//!   A manifest that does not match it was edited (or damaged) after `pg_basebackup` wrote
//!   it, and nothing it lists is trusted: [`PgManifestError::ChecksumMismatch`]. The last
//!   line must end with a line feed and there must be at least two lines, as PostgreSQL
//!   requires.
//! - **Versions 1 and 2** (PostgreSQL 13–16 write 1; 17 writes 2, adding
//!   `System-Identifier`). Top-level keys other than `PostgreSQL-Backup-Manifest-Version`,
//!   `Files` and `Manifest-Checksum` (`WAL-Ranges`, `System-Identifier`) are not checked;
//!   a key given twice is an error.
//! - **Each file**: `Path` (UTF-8) or `Encoded-Path` (hex of the name's bytes, written for
//!   names that are not UTF-8; lifeboat refuses one that does not decode to UTF-8, since it
//!   names every file by a string), never both; `Size`; `Checksum-Algorithm` one of `CRC32C`,
//!   `SHA224`, `SHA256`, `SHA384`, `SHA512` or `NONE` (absent means `NONE`) with a
//!   `Checksum` of exactly that algorithm's length in hex (none with `NONE`).
//!   `Last-Modified` and unknown keys are ignored.
//! - **Bounded**: a path longer than [`MAX_PATH_BYTES`](super::MAX_PATH_BYTES) is an error
//!   naming its entry; the same path twice is an error naming both entries.
//! - **Unsafe paths** (`../x`, `/etc/passwd`) parse, and the drill refuses them per file with
//!   [`safe_components`](super::safe_components)'s reason, as for every manifest.
//! - **WAL**: `Files` never lists `pg_wal/`: PostgreSQL checks WAL by replaying it. A base
//!   backup cannot start without the segments its `WAL-Ranges` names, so lifeboat lists them
//!   too ([`PgManifest::wal`]): each must be there and [`WAL_SEGMENT_BYTES`] long; their bytes
//!   are checked by PostgreSQL when a drill's steps start it on the restored folder. A range
//!   naming more than [`MAX_WAL_SEGMENTS`] is refused.
//! - **CRC-32C's byte order**: PostgreSQL writes the CRC's 4 bytes as they sit in memory, so
//!   a manifest from a little-endian machine (x86-64, arm64: every platform lifeboat ships
//!   for) lists `crc.to_le_bytes()` in hex, and that is what lifeboat computes. A manifest
//!   written on a big-endian machine fails every CRC32C file with a hash mismatch (as
//!   `pg_verifybackup` on a little-endian machine reports it too).

use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::Digest;

use crate::Algorithm;

/// One file a `backup_manifest` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgEntry {
    /// The path, relative to the base backup's top folder.
    pub path: String,
    /// The size in bytes the file must have.
    pub size: u64,
    /// The checksum's algorithm ([`Algorithm::None`]: size only).
    pub algorithm: Algorithm,
    /// The checksum, lowercase hex; empty with [`Algorithm::None`].
    pub checksum: String,
}

/// A parsed `backup_manifest` whose own checksum matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgManifest {
    /// `PostgreSQL-Backup-Manifest-Version`: 1 or 2.
    pub version: u64,
    /// Every file, in manifest order.
    pub files: Vec<PgEntry>,
    /// The WAL segments `WAL-Ranges` says the backup needs to start (`pg_wal/NAME`, in
    /// order), which `Files` never lists: from the segment holding each range's `Start-LSN` to
    /// the one holding the last byte before its `End-LSN`.
    pub wal: Vec<String>,
}

/// The size of a WAL segment: PostgreSQL's default (`initdb --wal-segsize` changes it; a
/// backup of such a cluster fails its WAL segments as missing, loudly).
pub const WAL_SEGMENT_BYTES: u64 = 16 << 20;

/// The most WAL segments `WAL-Ranges` may name (1 TiB of WAL): a hostile range of 2^40
/// segments is refused instead of listed.
pub const MAX_WAL_SEGMENTS: u64 = 65_536;

/// Why a `backup_manifest` was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PgManifestError {
    /// Not JSON, not UTF-8, or not shaped as a backup manifest.
    #[error("is not a PostgreSQL backup manifest: {0}")]
    Json(String),
    /// The manifest's text does not end as PostgreSQL writes it.
    #[error("is not a PostgreSQL backup manifest: {0}")]
    Shape(&'static str),
    /// A version lifeboat does not know.
    #[error(
        "has PostgreSQL-Backup-Manifest-Version {0}; lifeboat reads versions 1 and 2 (PostgreSQL 13 to 17)"
    )]
    Version(u64),
    /// `Manifest-Checksum` is not the SHA-256 of the text before it.
    #[error(
        "checksum does not match: Manifest-Checksum lists {listed}, but the manifest's text hashes to {actual} (SHA-256): it was changed after pg_basebackup wrote it, so nothing it lists is trusted"
    )]
    ChecksumMismatch {
        /// What `Manifest-Checksum` says, as written (at most 128 characters).
        listed: String,
        /// The SHA-256 of the text before the last line, lowercase hex.
        actual: String,
    },
    /// One entry of `WAL-Ranges` is malformed or names too many segments.
    #[error("WAL-Ranges[{index}]: {message}")]
    Wal {
        /// 0-based position in `WAL-Ranges`.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// `Files` lists more than [`MAX_FILES`].
    #[error("lists {files} files; lifeboat reads at most {most} from one manifest")]
    TooManyFiles {
        /// How many it lists.
        files: usize,
        /// [`MAX_FILES`].
        most: usize,
    },
    /// One entry of `Files` is malformed.
    #[error("Files[{index}] ({path}): {message}")]
    Entry {
        /// 0-based position in `Files`.
        index: usize,
        /// Its path, quoted and cut to a snippet, or `no path`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "PostgreSQL-Backup-Manifest-Version")]
    version: u64,
    /// Each entry checked as JSON and dropped: how many there are.
    #[serde(rename = "Files")]
    files: Counted,
    #[serde(rename = "Manifest-Checksum")]
    checksum: String,
    #[serde(rename = "WAL-Ranges", default)]
    wal: Vec<RawWalRange>,
    // Not checked, but a duplicate is still an error.
    #[serde(rename = "System-Identifier", default)]
    _system: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawWalRange {
    #[serde(rename = "Timeline")]
    timeline: u32,
    #[serde(rename = "Start-LSN")]
    start: String,
    #[serde(rename = "End-LSN")]
    end: String,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "Path")]
    path: Option<String>,
    #[serde(rename = "Encoded-Path")]
    encoded_path: Option<String>,
    #[serde(rename = "Size")]
    size: u64,
    #[serde(rename = "Checksum-Algorithm")]
    algorithm: Option<String>,
    #[serde(rename = "Checksum")]
    checksum: Option<String>,
    #[serde(rename = "Last-Modified", default)]
    _modified: Option<IgnoredAny>,
}

/// The most files a `backup_manifest` may list. An entry may be as short as
/// `{"Path":"a","Size":0},` (22 bytes) and takes some 200 bytes once listed (its path twice,
/// to find one listed twice), so the 512 MiB a manifest may be would list 24 million of them
/// and hold some 5 GB; a `sha256sum` manifest's shortest line is three times as long. A
/// PostgreSQL cluster has three files per table or index at most, below its 1 GiB segments.
pub const MAX_FILES: usize = 8_000_000;

/// Parses a `backup_manifest`, checking its `Manifest-Checksum` before anything it lists.
/// An empty `Files` parses: the caller treats "nothing to verify" as a failure.
///
/// Read twice: once as JSON, each file checked and dropped, for its shape, version,
/// checksum and how many files it lists; then each file turned into a [`PgEntry`] as it is
/// read. The files are never all held as JSON decodes them (112 bytes for the 11 of
/// `{"Size":0},`, before a vector's doubling), only as listed, and at most [`MAX_FILES`].
pub fn parse(bytes: &[u8]) -> Result<PgManifest, PgManifestError> {
    parse_within(bytes, MAX_FILES)
}

/// [`parse`], listing at most `most` files (smaller in tests).
fn parse_within(bytes: &[u8], most: usize) -> Result<PgManifest, PgManifestError> {
    let json = |e: serde_json::Error| PgManifestError::Json(e.to_string());
    let raw: Raw = serde_json::from_slice(bytes).map_err(json)?;
    if !(1..=2).contains(&raw.version) {
        return Err(PgManifestError::Version(raw.version));
    }
    if raw.files.0 > most {
        return Err(PgManifestError::TooManyFiles {
            files: raw.files.0,
            most,
        });
    }
    let actual = hex::encode(sha2::Sha256::digest(checksummed(bytes)?));
    if !raw.checksum.eq_ignore_ascii_case(&actual) {
        return Err(PgManifestError::ChecksumMismatch {
            listed: snippet(&raw.checksum, 128),
            actual,
        });
    }
    let mut listing = Listing {
        files: Vec::with_capacity(raw.files.0),
        seen: std::collections::HashMap::with_capacity(raw.files.0),
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde::Deserializer::deserialize_map(&mut de, &mut listing).map_err(json)?;
    if let Some(refused) = listing.refused {
        return Err(refused);
    }
    let (files, seen) = (listing.files, listing.seen);
    let mut wal = Vec::new();
    for (index, range) in raw.wal.iter().enumerate() {
        let segments =
            wal_segments(range).map_err(|message| PgManifestError::Wal { index, message })?;
        if (wal.len() + segments.len()) as u64 > MAX_WAL_SEGMENTS {
            return Err(PgManifestError::Wal {
                index,
                message: format!("the ranges name more than {MAX_WAL_SEGMENTS} WAL segments"),
            });
        }
        wal.extend(segments.into_iter().filter(|s| !seen.contains_key(s)));
    }
    wal.dedup();
    Ok(PgManifest {
        version: raw.version,
        files,
        wal,
    })
}

/// The `pg_wal/` paths of the segments one `WAL-Ranges` entry covers, from the one holding
/// `Start-LSN` to the one holding the last byte before `End-LSN`, named as PostgreSQL names
/// them (`TTTTTTTTXXXXXXXXYYYYYYYY`: timeline, then the segment number in two halves).
fn wal_segments(range: &RawWalRange) -> Result<Vec<String>, String> {
    let start = lsn(&range.start)?;
    let end = lsn(&range.end)?;
    if end < start {
        return Err(format!(
            "End-LSN {} is before Start-LSN {}",
            snippet(&range.end, 40),
            snippet(&range.start, 40)
        ));
    }
    let first = start / WAL_SEGMENT_BYTES;
    let last = end.saturating_sub(1).max(start) / WAL_SEGMENT_BYTES;
    if last - first >= MAX_WAL_SEGMENTS {
        return Err(format!(
            "the range spans {} WAL segments, over the {MAX_WAL_SEGMENTS} lifeboat lists",
            last - first + 1
        ));
    }
    let per_id = 0x1_0000_0000 / WAL_SEGMENT_BYTES;
    Ok((first..=last)
        .map(|seg| {
            format!(
                "pg_wal/{:08X}{:08X}{:08X}",
                range.timeline,
                seg / per_id,
                seg % per_id
            )
        })
        .collect())
}

/// An LSN as PostgreSQL writes it: `HI/LO`, each 1 to 8 hex digits.
fn lsn(text: &str) -> Result<u64, String> {
    let bad = || format!("{} is not an LSN (HI/LO in hex)", snippet(text, 40));
    let (hi, lo) = text.split_once('/').ok_or_else(bad)?;
    let half = |h: &str| {
        if (1..=8).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(h, 16).map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    Ok((u64::from(half(hi)?) << 32) | u64::from(half(lo)?))
}

/// The bytes `Manifest-Checksum` covers: up to and including the line feed before the last
/// line, which itself must end with a line feed.
fn checksummed(bytes: &[u8]) -> Result<&[u8], PgManifestError> {
    if bytes.last() != Some(&b'\n') {
        return Err(PgManifestError::Shape(
            "its last line does not end with a line feed",
        ));
    }
    let body = &bytes[..bytes.len() - 1];
    match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => Ok(&bytes[..=i]),
        None => Err(PgManifestError::Shape(
            "it has one line; Manifest-Checksum must be on a line of its own",
        )),
    }
}

/// How many files `Files` lists, each checked as JSON (as a [`RawFile`]) and dropped.
struct Counted(usize);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = Counted;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Counted, A::Error> {
                let mut n = 0;
                while seq.next_element::<RawFile>()?.is_some() {
                    n += 1;
                }
                Ok(Counted(n))
            }
        }
        d.deserialize_seq(Count)
    }
}

/// The second reading of a manifest: its files listed as they are read, each checked
/// ([`entry`]); the first that is refused stops the listing.
struct Listing {
    files: Vec<PgEntry>,
    /// Each path listed, and where.
    seen: std::collections::HashMap<String, usize>,
    refused: Option<PgManifestError>,
}

impl<'de> serde::de::Visitor<'de> for &mut Listing {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a PostgreSQL backup manifest")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Files" {
                map.next_value_seed(&mut *self)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(file) = seq.next_element::<RawFile>()? {
            if self.refused.is_some() {
                continue;
            }
            let index = self.files.len();
            match entry(file) {
                Err((path, message)) => {
                    self.refused = Some(PgManifestError::Entry {
                        index,
                        path,
                        message,
                    });
                }
                Ok(entry) => match self.seen.insert(entry.path.clone(), index) {
                    Some(first) => {
                        self.refused = Some(PgManifestError::Entry {
                            index,
                            path: quoted(&entry.path),
                            message: format!("listed twice: Files[{first}] names it too"),
                        });
                    }
                    None => self.files.push(entry),
                },
            }
        }
        Ok(())
    }
}

/// `Files`: the listing's entries.
impl<'de> serde::de::DeserializeSeed<'de> for &mut Listing {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// One `Files` entry, or (its path for the message, what is wrong).
fn entry(file: RawFile) -> Result<PgEntry, (String, String)> {
    let path = match (file.path, file.encoded_path) {
        (Some(p), None) => p,
        (None, Some(hexed)) => match hex::decode(&hexed) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
                (
                    format!("Encoded-Path {}", snippet(&hexed, 64)),
                    "the name is not UTF-8; lifeboat names every file it verifies by a UTF-8 path"
                        .to_owned(),
                )
            })?,
            Err(_) => {
                return Err((
                    format!("Encoded-Path {}", snippet(&hexed, 64)),
                    "Encoded-Path is not hexadecimal".to_owned(),
                ));
            }
        },
        (Some(p), Some(_)) => {
            return Err((quoted(&p), "has both Path and Encoded-Path".to_owned()));
        }
        (None, None) => {
            return Err((
                "no path".to_owned(),
                "has neither Path nor Encoded-Path".to_owned(),
            ));
        }
    };
    let fail = |message: String| Err((quoted(&path), message));
    if path.len() > super::MAX_PATH_BYTES {
        return fail(format!(
            "the path is {} bytes long, over the {} bytes any file system lifeboat restores into allows",
            path.len(),
            super::MAX_PATH_BYTES
        ));
    }
    let named = file.algorithm.as_deref().unwrap_or("NONE");
    let (algorithm, hex_len) = match named {
        "NONE" => (Algorithm::None, 0),
        "CRC32C" => (Algorithm::Crc32c, 8),
        "SHA224" => (Algorithm::Sha224, 56),
        "SHA256" => (Algorithm::Sha256, 64),
        "SHA384" => (Algorithm::Sha384, 96),
        "SHA512" => (Algorithm::Sha512, 128),
        other => {
            return fail(format!(
                "unknown Checksum-Algorithm {}; expected one of CRC32C, SHA224, SHA256, SHA384, SHA512, NONE",
                quoted(other)
            ));
        }
    };
    let checksum = match (algorithm, file.checksum) {
        (Algorithm::None, None) => String::new(),
        (Algorithm::None, Some(_)) => {
            return fail("has a Checksum but its Checksum-Algorithm is NONE".to_owned());
        }
        (_, None) => return fail(format!("has Checksum-Algorithm {named} but no Checksum")),
        (_, Some(c)) if c.len() == hex_len && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
            c.to_ascii_lowercase()
        }
        (_, Some(c)) => {
            return fail(format!(
                "Checksum {} is not {hex_len} hexadecimal digits, as {named} needs",
                snippet(&c, 64)
            ));
        }
    };
    Ok(PgEntry {
        path,
        size: file.size,
        algorithm,
        checksum,
    })
}

/// `s` quoted for a message, control characters escaped, cut to 200 characters.
fn quoted(s: &str) -> String {
    snippet(s, 200)
}

/// `s` in quotes with control characters escaped (`{:?}`), at most `max` characters of it.
fn snippet(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests;
