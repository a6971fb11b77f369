//! The model of lifeboat: what a runbook says, what a manifest lists, which files a seed
//! samples, what a drill found, and the verdict on it.
//!
//! This crate does no I/O and knows no async runtime or storage: every function takes its
//! inputs (bytes, the current instant) as arguments, so the rest of lifeboat can trust the
//! validated types it returns and tests can pin every edge case. Layers above it read files,
//! talk to storage and hash bytes.

#![warn(missing_docs)]

pub mod coverage;
pub mod duration;
pub mod evidence;
pub mod manifest;
pub mod placement;
pub mod runbook;
pub mod sample;
pub mod text;
pub mod verdict;
pub mod vocabulary;

/// Kept at the crate root, where the hashing, runner and CLI crates name it.
pub use vocabulary::Algorithm;

#[cfg(test)]
mod tests;
