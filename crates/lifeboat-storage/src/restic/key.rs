//! A restic repository's key files, checked before a password is tried on one.
//!
//! A key file (`keys/ID`, plain JSON) names its key-derivation function and that function's
//! cost: scrypt's `N`, `r` and `p`. It is written by whoever can write the repository, so the
//! cost is hostile input like the rest of a backup. Neither rustic_core nor the scrypt crate
//! bounds it (they check only that the arithmetic does not overflow, and rustic_core asserts,
//! that is panics, on `N = 0`): a key asking for `N = 2^31, r = 8` makes the derivation
//! allocate 2 TiB, and the failed allocation aborts the process; one asking for a few GiB and
//! a large `p` runs for hours. Each key file is therefore read through [`check`] before
//! rustic_core sees it, and one out of bounds stops the opening (exit 3, the file named), as
//! restic stops at a key file it cannot use.
//!
//! The bounds sit far above what restic and rustic write and far below harm:
//!
//! - restic calibrates each new key to take about 0.5 s with at most 60 MiB per lane
//!   (`KDFMemory`); its keys have `N = 2^15, r = 8` (32 MiB) and a `p` the time allows;
//! - rustic's default is scrypt's recommended `N = 2^17, r = 8, p = 1` (128 MiB);
//! - lifeboat allows [`MAX_LANE_BYTES`] (256 MiB) per lane and [`MAX_WORK`] (`N·r·p` = 2^25,
//!   about 7 s of one core of the bench machine, 21 times restic's key there), on at most
//!   [`KEY_THREADS`] threads, each holding one lane's vector or, where it mixes several lanes
//!   at once (vendor/README.md), at most 128 MiB of them: at most 1 GiB, whatever the number
//!   of cores.
//!
//! And, as restic does, at most [`MAX_KEYS`] key files are tried for one password.

use serde_json::Value;

/// Largest key file read: restic's are about 450 bytes.
pub const MAX_KEY_FILE: u64 = 64 << 10;

/// Most memory one scrypt lane may take: `N · r · 128` bytes.
pub const MAX_LANE_BYTES: u64 = 256 << 20;

/// Most scrypt work one key may ask for, in `N · r · p` (each unit one 128-byte block mixed
/// twice, so the time grows with it).
pub const MAX_WORK: u64 = 1 << 25;

/// Most threads the key's scrypt lanes run on while a repository is opened, each holding one
/// lane's memory, or up to four lanes' where they take at most 128 MiB together.
pub const KEY_THREADS: usize = 4;

/// Most key files tried for one password, as restic (`maxKeys` in its `global.go`).
pub const MAX_KEYS: usize = 20;

/// `Ok` when the key file at `path` (`keys/ID`), holding `bytes`, asks for scrypt within
/// lifeboat's bounds; else why not, in one sentence that names the file. Whether the JSON is
/// otherwise a valid key file is left to rustic_core.
pub fn check(path: &str, bytes: &[u8]) -> Result<(), String> {
    let json: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the key file {path} is not JSON: {e}"))?;
    let kdf = json.get("kdf").and_then(Value::as_str).unwrap_or_default();
    if kdf != "scrypt" {
        return Err(format!(
            "the key file {path} names the key-derivation function {kdf:?}; restic keys use \"scrypt\", the only one lifeboat derives"
        ));
    }
    let whole = |name: &str| {
        json.get(name)
            .and_then(Value::as_u64)
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                format!("the key file {path} has no scrypt parameter {name} that is a whole number above 0")
            })
    };
    let (n, r, p) = (whole("N")?, whole("r")?, whole("p")?);
    if n < 2 || !n.is_power_of_two() {
        return Err(format!(
            "the key file {path} has scrypt N = {n}, which is not a power of two above 1"
        ));
    }
    let lane = u128::from(n) * u128::from(r) * 128;
    if lane > u128::from(MAX_LANE_BYTES) {
        return Err(format!(
            "the key file {path} asks scrypt for {} per lane (N = 2^{}, r = {r}); lifeboat derives keys with at most {} (restic makes them with at most 60 MiB)",
            mib(lane),
            n.trailing_zeros(),
            mib(u128::from(MAX_LANE_BYTES)),
        ));
    }
    let work = u128::from(n) * u128::from(r) * u128::from(p);
    if work > u128::from(MAX_WORK) {
        return Err(format!(
            "the key file {path} asks scrypt for N·r·p = 2^{:.1} of work (N = 2^{}, r = {r}, p = {p}); lifeboat derives keys with at most 2^{} (restic's own take about 2^20)",
            (work as f64).log2(),
            n.trailing_zeros(),
            MAX_WORK.trailing_zeros(),
        ));
    }
    Ok(())
}

/// What was refused about a key file, carried through rustic_core back to lifeboat's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn mib(bytes: u128) -> String {
    if bytes >= 1 << 40 {
        format!("{} TiB", bytes >> 40)
    } else if bytes >= 1 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kdf: &str, n: u64, r: u64, p: u64) -> Vec<u8> {
        format!(r#"{{"kdf":"{kdf}","N":{n},"r":{r},"p":{p},"salt":"","data":""}}"#).into_bytes()
    }

    #[test]
    fn restics_and_rustics_own_keys_pass() {
        check("keys/a", &key("scrypt", 1 << 15, 8, 6)).unwrap();
        check("keys/a", &key("scrypt", 1 << 17, 8, 1)).unwrap();
        // The largest of each bound, exactly.
        check("keys/a", &key("scrypt", 1 << 18, 8, 16)).unwrap();
        check("keys/a", &key("scrypt", 1 << 10, 1, 1 << 15)).unwrap();
    }

    #[test]
    fn a_key_beyond_a_bound_is_refused_by_name_and_number() {
        let cases: [(&[u8], &str); 10] = [
            (
                &key("scrypt", 1 << 31, 8, 1),
                "2 TiB per lane (N = 2^31, r = 8)",
            ),
            (&key("scrypt", 1 << 18, 9, 1), "288 MiB per lane"),
            (&key("scrypt", 1 << 20, 8, 1), "1 GiB per lane"),
            (&key("scrypt", 1 << 15, 8, 1 << 20), "N·r·p = 2^38.0"),
            (&key("scrypt", 1 << 18, 8, 17), "N·r·p = 2^25.1"),
            (&key("scrypt", 0, 8, 1), "no scrypt parameter N"),
            (
                &key("scrypt", 3, 8, 1),
                "N = 3, which is not a power of two",
            ),
            (
                &key("scrypt", 1, 8, 1),
                "N = 1, which is not a power of two",
            ),
            (&key("argon2id", 1 << 15, 8, 1), "\"argon2id\""),
            (
                br#"{"kdf":"scrypt","N":32768.0,"r":8,"p":1}"#,
                "parameter N",
            ),
        ];
        for (bytes, expected) in cases {
            let err = check("keys/0f0f", bytes).unwrap_err();
            assert!(err.starts_with("the key file keys/0f0f "), "{err}");
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
        let err = check("keys/0f0f", b"{\"kdf\"").unwrap_err();
        assert!(err.contains("is not JSON"), "{err}");
        let err = check("keys/0f0f", br#"{"kdf":"scrypt","N":32768,"r":8}"#).unwrap_err();
        assert!(err.contains("parameter p"), "{err}");
    }
}
