//! minisign keys and signatures, in the formats of the `minisign` command-line tool, so an
//! auditor can check lifeboat's evidence with `minisign -Vm FILE -p KEY.pub` and nothing else.
//!
//! Signing uses the `minisign` crate; checking uses `minisign-verify` (no prompts, no output).
//! Passwords are taken as arguments and never stored, printed or put into an error.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::files::{self, ReadError};

/// Why a key could not be made, read or used. Never holds a password.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Missing, not a regular file (a FIFO, a device, a folder), or too large: the source
    /// names the path and what is wrong.
    #[error("cannot read the key: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: ReadError,
    },
    /// A minisign file of another kind where a key of one kind is needed: a public key given
    /// as the secret key, a signature given as a key, ...
    #[error("{path} is {found}; {needed}")]
    WrongFile {
        path: PathBuf,
        found: &'static str,
        needed: &'static str,
    },
    #[error("{path} is not a minisign {what} key: {reason}")]
    Format {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error(
        "the secret key {path} is encrypted: set the password in ${var} (or name another \
         variable with --key-password-env)"
    )]
    PasswordMissing { path: PathBuf, var: String },
    #[error("wrong password for the secret key {path} (taken from ${var})")]
    WrongPassword { path: PathBuf, var: String },
    #[error("cannot make a key pair: {0}")]
    Generate(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A minisign secret key's size, and where its checksum starts (after algorithm ids, KDF
/// salt and limits, key number and the Ed25519 secret key).
const SECRET_KEY_BYTES: usize = 158;
const CHECKSUM_AT: usize = 126;

/// A secret key ready to sign: decrypted once, when loaded.
pub struct SigningKey {
    sk: minisign::SecretKey,
    pk: minisign::PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        write!(f, "SigningKey({})", self.key_id())
    }
}

/// Where an encrypted secret key's password comes from: the variable's name (for messages)
/// and its value, if set.
#[derive(Clone)]
pub struct Password {
    pub var: String,
    pub value: Option<String>,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Password(${}, set: {})", self.var, self.value.is_some())
    }
}

impl Password {
    /// Reads the password from the environment variable `var`; empty counts as unset.
    pub fn from_env(var: &str) -> Self {
        let value = std::env::var(var).ok().filter(|v| !v.is_empty());
        Password {
            var: var.to_string(),
            value,
        }
    }
}

impl SigningKey {
    /// Loads a minisign secret key file (lifeboat's or the `minisign` CLI's, encrypted or
    /// made with `-W`). An encrypted key takes `password`; an unencrypted one ignores it.
    pub fn load(path: &Path, password: &Password) -> Result<Self, KeyError> {
        let format = |reason: &str| KeyError::Format {
            path: path.to_path_buf(),
            what: "secret",
            reason: reason.to_string(),
        };
        let text = read_key_text(path, "secret")?;
        let needed = "--signing-key needs the secret key (made by `lifeboat keygen --secret-key`)";
        match MinisignFile::of(&text) {
            Some(MinisignFile::SecretKey) | None => {}
            Some(other) => return Err(other.wrong(path, needed)),
        }
        // The key's second line is base64 of: signature algorithm (2 bytes), KDF algorithm
        // (2 bytes, zero when unencrypted), ... Peek at the KDF so the library never prompts.
        let b64 = text
            .lines()
            .nth(1)
            .ok_or_else(|| format("expected an untrusted comment line and a base64 line"))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| format("the second line is not base64"))?;
        if raw.len() < 4 {
            return Err(format("too short"));
        }
        let encrypted = raw[2..4] != [0, 0];
        let sk_box =
            minisign::SecretKeyBox::from_string(&text).map_err(|e| format(&e.to_string()))?;
        let sk = if encrypted {
            let Some(pw) = password.value.clone() else {
                return Err(KeyError::PasswordMissing {
                    path: path.to_path_buf(),
                    var: password.var.clone(),
                });
            };
            match sk_box.into_secret_key(Some(pw)) {
                Ok(sk) => sk,
                Err(e) if matches!(e.kind(), minisign::ErrorKind::Verify) => {
                    return Err(KeyError::WrongPassword {
                        path: path.to_path_buf(),
                        var: password.var.clone(),
                    });
                }
                Err(e) => return Err(format(&e.to_string())),
            }
        } else {
            match sk_box.into_unencrypted_secret_key() {
                Ok(sk) => sk,
                // minisign 0.11 (Debian's CLI) writes `-W` keys with an all-zero checksum,
                // which the crate calls corrupted. Accept exactly that case; signing with
                // the public key derived from it checks the key pair on every signature.
                Err(_)
                    if raw.len() == SECRET_KEY_BYTES
                        && raw[CHECKSUM_AT..].iter().all(|b| *b == 0) =>
                {
                    minisign::SecretKey::from_bytes(&raw).map_err(|e| format(&e.to_string()))?
                }
                Err(e) => return Err(format(&e.to_string())),
            }
        };
        let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| format(&e.to_string()))?;
        let key = SigningKey { sk, pk };
        // `sign` checks its signature against the public key: a damaged key fails here,
        // before a drill runs, not after.
        key.sign(b"lifeboat key check", "check")
            .map_err(|e| format(&e.to_string()))?;
        Ok(key)
    }

    /// The key id as minisign prints it (16 uppercase hex digits).
    pub fn key_id(&self) -> String {
        key_id_hex(self.pk.keynum())
    }

    /// Signs `bytes` with `trusted_comment` (one line) and returns the `.minisig` file's text.
    pub fn sign(&self, bytes: &[u8], trusted_comment: &str) -> Result<String, KeyError> {
        let untrusted = format!("signature from lifeboat secret key {}", self.key_id());
        minisign::sign(
            Some(&self.pk),
            &self.sk,
            bytes,
            Some(trusted_comment),
            Some(&untrusted),
        )
        .map(|b| b.into_string())
        .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// Reads a key file: a regular file (links to it followed) of at most [`files::Cap::KEY`],
/// holding text.
fn read_key_text(path: &Path, what: &'static str) -> Result<String, KeyError> {
    let bytes = files::read_key(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| KeyError::Format {
        path: path.to_path_buf(),
        what,
        reason: "it is not text".into(),
    })
}

/// What a minisign file is, told by the length of its first base64 line (after the untrusted
/// comment), so a key of the wrong kind is named for what it is rather than misread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MinisignFile {
    /// 2 bytes algorithm, 8 key number, 32 Ed25519 public key.
    PublicKey,
    /// Algorithms, KDF salt and limits, key number, Ed25519 secret key, checksum.
    SecretKey,
    /// 2 bytes algorithm, 8 key number, 64 signature; a trusted comment follows.
    Signature,
}

impl MinisignFile {
    fn of(text: &str) -> Option<MinisignFile> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let b64 = match lines.as_slice() {
            [one] => one,
            [comment, b64, ..] if comment.starts_with("untrusted comment:") => b64,
            _ => return None,
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        match raw.len() {
            42 => Some(MinisignFile::PublicKey),
            SECRET_KEY_BYTES => Some(MinisignFile::SecretKey),
            74 if lines.iter().any(|l| l.starts_with("trusted comment:")) => {
                Some(MinisignFile::Signature)
            }
            _ => None,
        }
    }

    fn wrong(self, path: &Path, needed: &'static str) -> KeyError {
        KeyError::WrongFile {
            path: path.to_path_buf(),
            found: match self {
                MinisignFile::PublicKey => "a minisign public key",
                MinisignFile::SecretKey => "a minisign secret key",
                MinisignFile::Signature => "a minisign signature, not a key",
            },
            needed,
        }
    }
}

/// A new key pair's files: the secret key (encrypted with `password` unless `None`) and the
/// public key, both in minisign's formats.
#[derive(Debug)]
pub struct NewKeyPair {
    pub secret_key: String,
    pub public_key: String,
    /// The public key's base64 line, for `minisign -P`.
    pub public_key_base64: String,
    pub key_id: String,
}

/// Makes a key pair. `password: None` leaves the secret key unencrypted (minisign's `-W`).
pub fn generate(password: Option<&str>) -> Result<NewKeyPair, KeyError> {
    let err = |e: minisign::PError| KeyError::Generate(e.to_string());
    let kp = match password {
        Some(pw) => minisign::KeyPair::generate_encrypted_keypair(Some(pw.to_string())),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(err)?;
    let key_id = key_id_hex(kp.pk.keynum());
    let comment = match password {
        Some(_) => "lifeboat encrypted secret key",
        None => "lifeboat secret key (unencrypted)",
    };
    let secret_key = kp.sk.to_box(Some(comment)).map_err(err)?.into_string();
    let public_key = kp.pk.to_box().map_err(err)?.into_string();
    Ok(NewKeyPair {
        secret_key,
        public_key,
        public_key_base64: kp.pk.to_base64(),
        key_id,
    })
}

/// A public key to check signatures with.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    pk: minisign_verify::PublicKey,
    key_id: String,
}

impl VerifyingKey {
    /// Reads a minisign public key file (two lines) or a bare base64 key.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_key_text(path, "public")?;
        let needed = "--public-key needs the public key (made by `lifeboat keygen --public-key`)";
        match MinisignFile::of(&text) {
            Some(MinisignFile::PublicKey) | None => {}
            Some(other) => return Err(other.wrong(path, needed)),
        }
        Self::parse(&text).map_err(|reason| KeyError::Format {
            path: path.to_path_buf(),
            what: "public",
            reason,
        })
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let b64 = match lines.as_slice() {
            [one] => one.trim(),
            [comment, key, ..] if comment.starts_with("untrusted comment:") => key.trim(),
            _ => return Err("expected an untrusted comment line and a base64 line".into()),
        };
        let pk = minisign_verify::PublicKey::from_base64(b64).map_err(|e| e.to_string())?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())?;
        Ok(VerifyingKey {
            pk,
            key_id: key_id_hex(&raw[2..10]),
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks `sig_text` (a `.minisig` file) over `bytes`; returns its trusted comment.
    pub fn verify(&self, bytes: &[u8], sig_text: &str) -> Result<String, SignatureProblem> {
        let sig = Signature::parse(sig_text)?;
        if sig.key_id != self.key_id {
            return Err(SignatureProblem::OtherKey(sig.key_id));
        }
        self.pk
            .verify(bytes, &sig.sig, false)
            .map_err(|_| SignatureProblem::Invalid)?;
        Ok(sig.trusted_comment)
    }
}

/// Why a signature did not check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureProblem {
    /// Not a minisign signature file.
    Malformed(String),
    /// Made with another key (its id).
    OtherKey(String),
    /// Made with this key but over other bytes or another trusted comment.
    Invalid,
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::Malformed(r) => write!(f, "not a minisign signature ({r})"),
            SignatureProblem::OtherKey(id) => {
                write!(f, "signed with another key (key id {id})")
            }
            SignatureProblem::Invalid => f.write_str("the signature does not match the bytes"),
        }
    }
}

/// A parsed `.minisig` file, not yet checked.
pub struct Signature {
    sig: minisign_verify::Signature,
    pub key_id: String,
    /// Unauthenticated until checked with [`VerifyingKey::verify`].
    pub trusted_comment: String,
}

impl Signature {
    pub fn parse(text: &str) -> Result<Self, SignatureProblem> {
        let sig = minisign_verify::Signature::decode(text)
            .map_err(|e| SignatureProblem::Malformed(e.to_string()))?;
        let raw = text
            .lines()
            .nth(1)
            .and_then(|l| {
                base64::engine::general_purpose::STANDARD
                    .decode(l.trim())
                    .ok()
            })
            .filter(|r| r.len() >= 10)
            .ok_or_else(|| SignatureProblem::Malformed("no signature line".into()))?;
        Ok(Signature {
            key_id: key_id_hex(&raw[2..10]),
            trusted_comment: sig.trusted_comment().to_string(),
            sig,
        })
    }
}

/// minisign prints key ids as the little-endian u64 of the 8 key-number bytes, in hex.
fn key_id_hex(keynum: &[u8]) -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(b))
}

/// Trusted comments are `key:value` pairs separated by tabs (minisign's own convention);
/// values lose any tab or line break so the comment stays one line.
pub fn trusted_comment(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{k}:{v}")
        })
        .collect::<Vec<_>>()
        .join("\t")
}

/// The value of `key` in a trusted comment made by [`trusted_comment`].
pub fn comment_value<'a>(comment: &'a str, key: &str) -> Option<&'a str> {
    comment
        .split('\t')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unencrypted() -> (SigningKey, VerifyingKey) {
        let kp = generate(None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), &kp.secret_key).unwrap();
        let none = Password::from_env("LIFEBOAT_TEST_UNSET_VARIABLE");
        let sk = SigningKey::load(&dir.path().join("k"), &none).unwrap();
        (sk, VerifyingKey::parse(&kp.public_key).unwrap())
    }

    #[test]
    fn signs_and_verifies_with_the_trusted_comment() {
        let (sk, pk) = unencrypted();
        assert_eq!(sk.key_id(), pk.key_id());
        let sig = sk.sign(b"record", "run_id:r1\toutcome:passed").unwrap();
        let tc = pk.verify(b"record", &sig).unwrap();
        assert_eq!(comment_value(&tc, "outcome"), Some("passed"));
        assert_eq!(comment_value(&tc, "run_id"), Some("r1"));
        assert_eq!(pk.verify(b"recorD", &sig), Err(SignatureProblem::Invalid));
        let (_, other) = unencrypted();
        assert!(matches!(
            other.verify(b"record", &sig),
            Err(SignatureProblem::OtherKey(id)) if id == sk.key_id()
        ));
    }

    #[test]
    fn an_edited_trusted_comment_fails() {
        let (sk, pk) = unencrypted();
        let sig = sk.sign(b"x", "outcome:failed").unwrap();
        let forged = sig.replace("outcome:failed", "outcome:passed");
        assert_ne!(sig, forged);
        assert_eq!(pk.verify(b"x", &forged), Err(SignatureProblem::Invalid));
    }

    #[test]
    fn encrypted_key_needs_the_right_password_and_never_echoes_it() {
        let kp = generate(Some("correct horse battery")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, &kp.secret_key).unwrap();
        let pw = |v: Option<&str>| Password {
            var: "LB_PW".into(),
            value: v.map(str::to_string),
        };
        let missing = SigningKey::load(&path, &pw(None)).unwrap_err();
        assert!(
            matches!(missing, KeyError::PasswordMissing { .. }),
            "{missing}"
        );
        let wrong = SigningKey::load(&path, &pw(Some("tr0ub4dor&3 wrong"))).unwrap_err();
        assert!(matches!(wrong, KeyError::WrongPassword { .. }), "{wrong}");
        assert!(!wrong.to_string().contains("tr0ub4dor"));
        let sk = SigningKey::load(&path, &pw(Some("correct horse battery"))).unwrap();
        assert_eq!(sk.key_id(), kp.key_id);
        assert!(!format!("{sk:?}").contains("correct"));
    }

    #[test]
    fn each_kind_of_minisign_file_is_told_apart_and_named_when_misplaced() {
        let kp = generate(None).unwrap();
        let (sk, _) = unencrypted();
        let sig = sk.sign(b"x", "c").unwrap();
        assert_eq!(
            MinisignFile::of(&kp.public_key),
            Some(MinisignFile::PublicKey)
        );
        assert_eq!(
            MinisignFile::of(&kp.public_key_base64),
            Some(MinisignFile::PublicKey)
        );
        assert_eq!(
            MinisignFile::of(&kp.secret_key),
            Some(MinisignFile::SecretKey)
        );
        assert_eq!(MinisignFile::of(&sig), Some(MinisignFile::Signature));
        assert_eq!(
            MinisignFile::of("-----BEGIN PRIVATE KEY-----\nMIIB\n"),
            None
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lifeboat.pub");
        std::fs::write(&path, &kp.public_key).unwrap();
        let none = Password::from_env("LIFEBOAT_TEST_UNSET_VARIABLE");
        let e = SigningKey::load(&path, &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is a minisign public key; --signing-key needs the secret key (made by \
                 `lifeboat keygen --secret-key`)",
                path.display()
            )
        );
        std::fs::write(&path, &kp.secret_key).unwrap();
        let e = VerifyingKey::load(&path).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is a minisign secret key; --public-key needs the public key (made by `lifeboat keygen --public-key`)"),
            "{e}"
        );
    }

    #[test]
    fn comments_stay_on_one_line() {
        let c = trusted_comment(&[("a", "x\ty\nz"), ("b", "2")]);
        assert_eq!(c, "a:x y z\tb:2");
        assert_eq!(comment_value(&c, "b"), Some("2"));
        assert_eq!(comment_value(&c, "c"), None);
    }
}
