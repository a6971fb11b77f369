//! The model of lifeboat: what a runbook says, what a manifest lists, which files a seed
//! samples, what a drill found, and the verdict on it.
//!
//! This crate does no I/O and knows no async runtime or storage: every function takes its
//! inputs (bytes, the current instant) as arguments, so the rest of lifeboat can trust the
//! validated types it returns and tests can pin every edge case. Layers above it read files,
//! talk to storage and hash bytes.

pub mod duration;
pub mod evidence;
pub mod manifest;
pub mod runbook;
pub mod sample;
pub mod text;
pub mod verdict;

/// The digest algorithm a manifest uses. Both produce 32-byte digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha256,
    Blake3,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Algorithm::Sha256),
            "blake3" => Ok(Algorithm::Blake3),
            other => Err(format!(
                "unknown algorithm `{other}`; expected one of: sha256, blake3"
            )),
        }
    }
}
