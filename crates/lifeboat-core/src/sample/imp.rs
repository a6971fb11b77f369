//! The sampling algorithm, step by step as the parent module's doc gives it.

use crate::runbook::SampleSize;

/// `percent` is scaled by this and rounded to an integer, so that 10 % of 30 is exactly 3:
/// six decimals is more precision than any runbook writes, and the rest is integer arithmetic.
const PERCENT_SCALE: f64 = 1_000_000.0;

pub(super) fn sample_count(total: usize, size: SampleSize) -> usize {
    if total == 0 {
        return 0;
    }
    match size {
        SampleSize::Files(n) => usize::try_from(n).unwrap_or(usize::MAX).min(total),
        SampleSize::Percent(p) => {
            // NaN and negatives become 0 here and then the minimum of one file; validation
            // refuses them before this point anyway. `as` saturates, so huge values cap.
            let scaled = (p * PERCENT_SCALE).round().max(0.0) as u128;
            let denominator = 100 * PERCENT_SCALE as u128;
            let count = (total as u128 * scaled).div_ceil(denominator);
            usize::try_from(count).unwrap_or(usize::MAX).clamp(1, total)
        }
    }
}

pub(super) fn choose<'a>(
    n: usize,
    path: impl Fn(usize) -> &'a str,
    count: usize,
    seed: u64,
) -> Vec<usize> {
    // Step 1: the entries in path byte order; equal paths keep their input order. Sorting
    // (bytes, index) pairs rather than indices saves an indirection per comparison, and the
    // index makes the unstable (faster) sort deterministic.
    let mut keyed: Vec<(&[u8], usize)> = (0..n).map(|i| (path(i).as_bytes(), i)).collect();
    keyed.sort_unstable();
    // Collected into a vector of its own size: collecting in place would keep the pairs'
    // allocation, three times as large, for as long as the order lives.
    let mut order = Vec::with_capacity(n);
    order.extend(keyed.iter().map(|&(_, i)| i));
    drop(keyed);
    if count >= n {
        return order;
    }
    // Step 2: partial Fisher–Yates over positions in that order.
    let mut rng = SplitMix64::new(seed);
    let mut positions: Vec<usize> = (0..n).collect();
    for i in 0..count {
        let j = i + rng.below((n - i) as u64) as usize;
        positions.swap(i, j);
    }
    // Step 3: the chosen positions, back in path order.
    let mut chosen = positions[..count].to_vec();
    chosen.sort_unstable();
    for p in &mut chosen {
        *p = order[*p];
    }
    chosen
}

/// SplitMix64 (Steele, Lea and Flood 2014; the reference code is Vigna's `splitmix64.c`).
/// Chosen because it is tiny, fully specified and seeds from any 64-bit value, so an auditor
/// can re-implement it in a few lines of any language.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `[0, range)`, `range > 0`: Lemire's multiply-shift with rejection
    /// ("Fast Random Integer Generation in an Interval", 2019), which is exactly unbiased.
    pub(crate) fn below(&mut self, range: u64) -> u64 {
        debug_assert!(range > 0);
        let mut m = u128::from(self.next_u64()) * u128::from(range);
        if (m as u64) < range {
            let threshold = range.wrapping_neg() % range;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(range);
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests;
