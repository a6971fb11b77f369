//! Seeded, reproducible sampling of manifest entries.
//!
//! The algorithm is part of the evidence contract: the same entries and seed must give the
//! same sample in every lifeboat version, so an auditor can re-run it. Entries are ordered by
//! path (byte order) first, so the order of manifest lines does not matter; then a SplitMix64
//! stream seeded with `seed` drives a partial Fisher–Yates shuffle; the chosen entries are
//! returned in path order. Do not change it without bumping the evidence format.
//!
//! # The algorithm, precisely
//!
//! All arithmetic is on unsigned 64-bit integers, wrapping, unless a wider type is named.
//!
//! 1. **Order.** Let `n` be the number of paths. Sort the indices `0..n` by the UTF-8 bytes
//!    of their paths, lexicographically (shorter prefix first); equal paths (a manifest never
//!    has them) keep their input order. Call the result `order`. If `count >= n`, return
//!    `order` whole and stop.
//! 2. **Generator.** SplitMix64 with `state = seed`. Each draw:
//!    `state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;`
//!    `z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)`.
//! 3. **Bounded draw** of a uniform integer in `[0, r)` (Lemire's method with rejection):
//!    draw `x`; `m = x * r` as a 128-bit product; `low = m mod 2^64`. If `low < r`:
//!    `t = (2^64 - r) mod r`, and while `low < t` draw a new `x` and recompute `m` and `low`.
//!    The result is `m >> 64`.
//! 4. **Partial Fisher–Yates.** Let `pos = [0, 1, ..., n-1]` (positions in `order`). For
//!    `i` in `0..count`: `j = i + bounded(n - i)`; swap `pos[i]` and `pos[j]`.
//! 5. **Result.** Sort `pos[0..count]` ascending and map each position `p` to `order[p]`:
//!    the chosen input indices, in path order.
//!
//! [`sample_count`] turns a runbook's `sample:` into `count`: `files: N` is `min(N, total)`;
//! `percent: P` is `ceil(total * round(P * 10^6) / 10^8)` in exact integer arithmetic, then
//! at least 1 and at most `total`; an empty manifest gives 0.

use crate::runbook::SampleSize;

/// How many entries a sample size takes from `total`: `files: N` caps at `total`;
/// `percent: P` is rounded up and at least one (when `total > 0`).
pub fn sample_count(total: usize, size: SampleSize) -> usize {
    imp::sample_count(total, size)
}

/// Picks `count` distinct indices into `paths`, reproducibly for the same paths and seed,
/// returned sorted by path. `count >= paths.len()` returns every index.
pub fn choose(paths: &[&str], count: usize, seed: u64) -> Vec<usize> {
    imp::choose(paths.len(), |i| paths[i], count, seed)
}

/// [`choose`] over `n` entries whose paths `path` gives by index, for a caller that holds
/// its entries in its own type: a listing of millions of files need not be copied into a
/// vector of paths to be sampled. The same draw as [`choose`] on `(0..n).map(path)`.
pub fn choose_by<'a>(
    n: usize,
    path: impl Fn(usize) -> &'a str,
    count: usize,
    seed: u64,
) -> Vec<usize> {
    imp::choose(n, path, count, seed)
}

mod imp;
