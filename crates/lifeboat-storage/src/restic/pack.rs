//! Coverage of a restic repository (issue 16 item 5): its packs, each verified whole.
//!
//! A pack is restic's stored object: blobs (each `nonce ‖ ciphertext ‖ MAC`, maybe zstd
//! compressed inside), then its header, encrypted the same way, then the header's length
//! (4 bytes, little-endian). Its name is the SHA-256 of all of it. [`Repo::indexed_packs`]
//! lists what the index says each pack holds, [`Repo::stored_packs`] what `data/` holds
//! (one listing, no request per pack), and [`Repo::verify_pack`] reads one pack whole and
//! checks everything in it — `restic check --read-data-subset` for that pack, independently
//! of rustic_core's reader (which trusts the index for where blobs are).
//!
//! A pack is hostile input: its size is bounded before it is read ([`MAX_PACK`]), its
//! header's length and entries are checked against the bytes there before anything is
//! allocated from them, and a compressed blob is inflated into at most the length its header
//! claims, itself bounded.

use std::collections::HashMap;

use aes256ctr_poly1305aes::Aes256CtrPoly1305Aes;
use rustic_core::repofile::{BlobType, IndexFile};
use sha2::Digest as _;

use super::{MAX_RUN, Repo, ResticError, blocking, hex, unseal};
use rustic_core::FileType;

/// Largest pack verified: restic's `--pack-size` goes up to 128 MiB; a pack claiming more is
/// refused with a reason, never read (memory per pack read is its size).
pub const MAX_PACK: u64 = 128 << 20;

/// restic's nonce and MAC around every encrypted blob and header.
const OVERHEAD: usize = 32;

/// One blob of a pack, as the index or the pack's header lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackBlob {
    /// Where its stored bytes start in the pack, and how many there are.
    pub offset: u32,
    pub length: u32,
    /// The blob's id: the SHA-256 of its plaintext, 64 hex digits.
    pub id: String,
    /// A tree (else file content).
    pub tree: bool,
    /// Its plaintext length when it is stored compressed.
    pub plain_length: Option<u32>,
}

/// A pack the index lists, with the blobs it says are in it (in pack order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedPack {
    /// Its id: the SHA-256 of its bytes, its file's name.
    pub id: String,
    pub blobs: Vec<PackBlob>,
}

impl IndexedPack {
    /// Its path in the repository: `data/XX/ID`.
    pub fn path(&self) -> String {
        pack_path(&self.id)
    }
}

/// A pack's path in the repository, `data/XX/ID`, from its id.
pub fn pack_path(id: &str) -> String {
    format!("data/{}/{id}", id.get(..2).unwrap_or_default())
}

/// What verifying one pack found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackCheck {
    /// Bytes read from storage.
    pub bytes: u64,
    /// The SHA-256 of the bytes read, when the pack was read whole.
    pub sha256: Option<String>,
    /// The first problem, in the words operators search for (`pack hash mismatch`,
    /// `authentication failed`, `blob hash mismatch`, `pack missing`, `header damaged`),
    /// naming the pack and, where one is at fault, the blob. `None`: it verified.
    pub failure: Option<String>,
}

impl Repo {
    /// Every pack the repository's index lists, by id, with its blobs in pack order (index
    /// files read and decrypted again: a few MiB for a large repository). A pack listed by
    /// several index files is one. `Err` when the index cannot be read.
    pub async fn indexed_packs(&self) -> Result<Vec<IndexedPack>, ResticError> {
        let me = self.clone();
        blocking(&self.url, move || {
            let mut packs: HashMap<String, IndexedPack> = HashMap::new();
            let files = me
                .inner
                .stream_files::<IndexFile>()
                .map_err(|e| me.convert(&e))?;
            for file in files {
                let (_, file) = file.map_err(|e| me.convert(&e))?;
                for pack in file.packs {
                    let id = pack.id.to_hex().to_string();
                    let mut blobs: Vec<PackBlob> = pack
                        .blobs
                        .iter()
                        .map(|b| PackBlob {
                            offset: b.location.offset,
                            length: b.location.length,
                            id: b.id.to_hex().to_string(),
                            tree: b.tpe == BlobType::Tree,
                            plain_length: b.location.uncompressed_length.map(u32::from),
                        })
                        .collect();
                    blobs.sort();
                    packs.insert(id.clone(), IndexedPack { id, blobs });
                }
            }
            let mut packs: Vec<IndexedPack> = packs.into_values().collect();
            packs.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(packs)
        })
        .await
    }

    /// Every pack file `data/` holds, by id, with its stored size: one listing of storage.
    /// Names that are not ids are not the repository's and are left out.
    pub async fn stored_packs(&self) -> Result<HashMap<String, u64>, ResticError> {
        let files = self
            .store
            .source
            .list_files(FileType::Pack.dirname(), 1)
            .await
            .map_err(|e| ResticError::Storage(std::sync::Arc::new(e)))?;
        Ok(files
            .into_iter()
            .filter_map(|(path, size)| {
                let name = path.rsplit('/').next()?;
                name.parse::<rustic_core::Id>().ok()?;
                Some((name.to_owned(), size))
            })
            .collect())
    }

    /// Reads pack `pack` whole (`size` bytes, as storage listed it; `None`: storage does not
    /// list it) in ranged reads of up to [`MAX_RUN`] bytes, and checks: its SHA-256 is its
    /// id, its header (at its end) decrypts and parses and fills the pack exactly, every
    /// blob the header lists decrypts (authenticated), decompresses, and its plaintext's
    /// SHA-256 is its id, and the index's entries for the pack are the header's. Memory: the
    /// pack's size, at most [`MAX_PACK`]. A finding is [`PackCheck::failure`]; `Err` only when
    /// storage cannot be reached.
    pub async fn verify_pack(
        &self,
        pack: &IndexedPack,
        size: Option<u64>,
    ) -> Result<PackCheck, ResticError> {
        let id = &pack.id;
        let failed = |bytes: u64, failure: String| {
            Ok(PackCheck {
                bytes,
                sha256: None,
                failure: Some(failure),
            })
        };
        let Some(size) = size else {
            return failed(
                0,
                format!("pack missing: pack {id}: the index lists it, storage lacks it"),
            );
        };
        if size > MAX_PACK {
            return failed(
                0,
                format!(
                    "pack unreadable: pack {id} is {size} bytes, over the {MAX_PACK} a pack may \
                     be: not read"
                ),
            );
        }
        let path = pack.path();
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while (bytes.len() as u64) < size {
            let len = (size - bytes.len() as u64).min(u64::from(MAX_RUN)) as usize;
            match self
                .store
                .source
                .read_range(&path, bytes.len() as u64, len)
                .await
            {
                Ok(Some(part)) if part.len() == len => bytes.extend_from_slice(&part),
                Ok(Some(_)) => {
                    return failed(
                        bytes.len() as u64,
                        format!("pack unreadable: pack {id}: shorter than the {size} bytes listed"),
                    );
                }
                Ok(None) => {
                    return failed(
                        bytes.len() as u64,
                        format!("pack missing: pack {id}: the index lists it, storage lacks it"),
                    );
                }
                Err(e) if e.is_finding() => {
                    return failed(
                        bytes.len() as u64,
                        format!("pack unreadable: pack {id}: {e}"),
                    );
                }
                Err(e) => return Err(ResticError::Storage(std::sync::Arc::new(e))),
            }
        }
        let Some(cipher) = self.cipher.clone() else {
            return Err(ResticError::Repository {
                url: String::new(),
                detail: "the repository's master key is not 64 bytes".to_owned(),
            });
        };
        let (pack, id) = (pack.clone(), id.clone());
        blocking(&self.url, move || {
            Ok(check(&cipher, &id, &pack.blobs, &bytes))
        })
        .await
    }
}

/// The checks of [`Repo::verify_pack`] on the pack's bytes, read whole.
fn check(cipher: &Aes256CtrPoly1305Aes, id: &str, index: &[PackBlob], bytes: &[u8]) -> PackCheck {
    let sha256 = hex(&sha2::Sha256::digest(bytes));
    let done = |failure: Option<String>| PackCheck {
        bytes: bytes.len() as u64,
        sha256: Some(sha256.clone()),
        failure,
    };
    // The blobs first, so a flipped byte is named by the blob it sits in; the pack's own
    // hash then says it even where no blob does (a byte between the blobs and the header).
    let header = match header(cipher, id, bytes) {
        Ok(header) => header,
        Err(reason) if sha256 != id => {
            return done(Some(format!(
                "pack hash mismatch: pack {id} hashes to {sha256}; {reason}"
            )));
        }
        Err(reason) => return done(Some(reason)),
    };
    for blob in &header {
        if let Err(reason) = check_blob(cipher, id, blob, bytes) {
            return done(Some(reason));
        }
    }
    // A header rewritten by someone holding the key authenticates and its blobs verify:
    // the pack's hash says its bytes changed, and where the header parts from the index
    // says what changed, naming the blob.
    let differs = (header != index).then(|| {
        header.iter().zip(index).find(|(h, i)| h != i).map_or_else(
            || {
                format!(
                    "its header lists {} blobs, the index {}",
                    header.len(),
                    index.len()
                )
            },
            |(h, _)| format!("the index disagrees with its header on blob {}", h.id),
        )
    });
    if sha256 != id {
        let and = differs.map(|d| format!("; {d}")).unwrap_or_default();
        return done(Some(format!(
            "pack hash mismatch: pack {id} hashes to {sha256}, not to its id{and}"
        )));
    }
    if let Some(differs) = differs {
        return done(Some(format!("header damaged: pack {id}: {differs}")));
    }
    done(None)
}

/// The blobs pack `id`'s header lists, in pack order, each checked to lie within the pack;
/// `Err`: why the header is damaged.
fn header(cipher: &Aes256CtrPoly1305Aes, id: &str, bytes: &[u8]) -> Result<Vec<PackBlob>, String> {
    let damaged = |why: String| format!("header damaged: pack {id}: {why}");
    let Some(split) = bytes.len().checked_sub(4) else {
        return Err(damaged(format!(
            "{} bytes hold no header length",
            bytes.len()
        )));
    };
    let (body, len) = bytes.split_at(split);
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    if len < OVERHEAD || len > body.len() {
        return Err(damaged(format!(
            "its header claims {len} bytes, the pack holds {} before it",
            body.len()
        )));
    }
    let (blobs_end, sealed) = body.split_at(body.len() - len);
    let plain = unseal(cipher, sealed)
        .ok_or_else(|| damaged("authentication failed: the header does not decrypt".into()))?;
    let mut blobs = Vec::new();
    let mut offset: u64 = 0;
    let mut rest = &plain[..];
    while let Some((&kind, tail)) = rest.split_first() {
        let (compressed, tree) = match kind {
            0 => (false, false),
            1 => (false, true),
            2 => (true, false),
            3 => (true, true),
            other => return Err(damaged(format!("unknown blob type {other} in its header"))),
        };
        let need = if compressed { 40 } else { 36 };
        if tail.len() < need {
            return Err(damaged("its header ends inside an entry".into()));
        }
        let u32_at = |at: usize| u32::from_le_bytes(tail[at..at + 4].try_into().expect("4"));
        let length = u32_at(0);
        let plain_length = compressed.then(|| u32_at(4));
        let blob_id = hex(&tail[need - 32..need]);
        rest = &tail[need..];
        if u64::from(length) < OVERHEAD as u64
            || offset + u64::from(length) > blobs_end.len() as u64
        {
            return Err(damaged(format!(
                "blob {blob_id} claims {length} bytes at offset {offset}, past its blobs' {} bytes",
                blobs_end.len()
            )));
        }
        blobs.push(PackBlob {
            offset: u32::try_from(offset).map_err(|_| damaged("offset overflow".into()))?,
            length,
            id: blob_id,
            tree,
            plain_length,
        });
        offset += u64::from(length);
    }
    if offset != blobs_end.len() as u64 {
        return Err(damaged(format!(
            "its header's blobs hold {offset} bytes, the pack {} before the header",
            blobs_end.len()
        )));
    }
    Ok(blobs)
}

/// Blob `blob` of pack `id`: decrypted (authenticated), decompressed into at most the
/// length its header claims (bounded by [`MAX_PACK`]), its plaintext's SHA-256 its id.
fn check_blob(
    cipher: &Aes256CtrPoly1305Aes,
    id: &str,
    blob: &PackBlob,
    bytes: &[u8],
) -> Result<(), String> {
    let at = blob.offset as usize;
    let stored = &bytes[at..at + blob.length as usize];
    let kind = if blob.tree { "tree" } else { "data" };
    let name = format!(
        "blob {} ({kind}) at offset {} in pack {id}",
        blob.id, blob.offset
    );
    let plain = unseal(cipher, stored)
        .ok_or_else(|| format!("authentication failed: {name}: the ciphertext changed"))?;
    let plain = match blob.plain_length {
        None => plain,
        Some(claimed) if u64::from(claimed) > MAX_PACK => {
            return Err(format!(
                "header damaged: {name} claims {claimed} bytes of plaintext, over the {MAX_PACK} \
                 a blob may be"
            ));
        }
        Some(claimed) => zstd::bulk::decompress(&plain, claimed as usize)
            .map_err(|e| format!("authentication failed: {name}: does not decompress: {e}"))?,
    };
    if let Some(claimed) = blob.plain_length
        && plain.len() != claimed as usize
    {
        return Err(format!(
            "blob hash mismatch: {name}: {} bytes of plaintext, its header says {claimed}",
            plain.len()
        ));
    }
    let actual = hex(&sha2::Sha256::digest(&plain));
    if actual != blob.id {
        return Err(format!(
            "blob hash mismatch: {name}: its plaintext hashes to {actual}, not to its id"
        ));
    }
    Ok(())
}
