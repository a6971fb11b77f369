//! A tiny seeded generator, so fixtures are the same bytes on every machine and in every
//! version of this crate. SplitMix64 (Steele, Lea, Flood 2014): one `u64` of state, good
//! enough statistics for test data, and trivially reimplemented if anyone needs to
//! regenerate a fixture elsewhere. It is not for anything secret.

/// SplitMix64. The same seed always yields the same stream.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift rather than modulo so small ranges are
    /// not biased towards low values.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// `len` bytes of incompressible pseudo-random data.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut buf = vec![0; len];
    SplitMix64::new(seed).fill(&mut buf);
    buf
}

const WORDS: &[&str] = &[
    "backup", "restore", "ledger", "invoice", "customer", "shipment", "payment", "account",
    "balance", "order", "refund", "region", "primary", "standby", "replica", "archive", "snapshot",
    "volume", "quota", "tenant", "service", "request", "latency", "window", "the", "a", "of", "to",
    "and", "in", "for", "with", "on", "is", "was", "by",
];

/// Exactly `len` bytes of readable, compressible text: lines of words ending in `\n`
/// (the last line may be cut short to hit `len`).
pub fn text_bytes(len: usize, seed: u64) -> Vec<u8> {
    lines(len, seed, |rng, _| {
        let n = 4 + rng.below(12) as usize;
        let words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
        words.join(" ")
    })
}

/// Exactly `len` bytes made of generated lines (each followed by `\n`), for text formats
/// with some structure: SQL dumps, CSV, logs. `line(rng, index)` returns one line without
/// its newline; the result is cut to `len`.
pub fn lines(
    len: usize,
    seed: u64,
    mut line: impl FnMut(&mut SplitMix64, u64) -> String,
) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(len + 256);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(line(&mut rng, i).as_bytes());
        out.push(b'\n');
        i += 1;
    }
    out.truncate(len);
    out
}

/// A seed derived from a name, so each fixture file gets its own stream (FNV-1a).
pub fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // First outputs for seed 0 from the reference implementation (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn generators_are_deterministic_and_exact_length() {
        assert_eq!(random_bytes(1001, 7), random_bytes(1001, 7));
        assert_ne!(random_bytes(64, 7), random_bytes(64, 8));
        for len in [0, 1, 7, 8, 9, 4097] {
            assert_eq!(random_bytes(len, 1).len(), len);
            assert_eq!(text_bytes(len, 1).len(), len);
        }
        let text = text_bytes(10_000, 3);
        assert!(text.iter().all(|b| b.is_ascii()));
        assert_eq!(text, text_bytes(10_000, 3));
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(9);
        for n in [1, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(rng.below(n) < n);
            }
        }
    }
}
