//! Seeded, reproducible sampling of manifest entries.
//!
//! The algorithm is part of the evidence contract: the same entries and seed must give the
//! same sample in every lifeboat version, so an auditor can re-run it. Entries are ordered by
//! path (byte order) first, so the order of manifest lines does not matter; then a SplitMix64
//! stream seeded with `seed` drives a partial Fisher–Yates shuffle; the chosen entries are
//! returned in path order. Do not change it without bumping the evidence format.

use crate::runbook::SampleSize;

/// How many entries a sample size takes from `total`: `files: N` caps at `total`;
/// `percent: P` is rounded up and at least one (when `total > 0`).
pub fn sample_count(total: usize, size: SampleSize) -> usize {
    imp::sample_count(total, size)
}

/// Picks `count` distinct indices into `paths`, reproducibly for the same paths and seed,
/// returned sorted by path. `count >= paths.len()` returns every index.
pub fn choose(paths: &[&str], count: usize, seed: u64) -> Vec<usize> {
    imp::choose(paths, count, seed)
}

mod imp;
