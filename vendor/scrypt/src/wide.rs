//! lifeboat's patch (see vendor/README.md): `ROMix` of several lanes at once, one lane in each
//! 128-bit quarter of a wide register.
//!
//! Salsa20/8 is one chain of dependent operations: a core waits on each step's result while
//! most of its vector units stand idle. Upstream runs one lane's rows in 128-bit registers;
//! here two lanes share a 256-bit register (AVX2) or four a 512-bit one (AVX-512F), each in
//! its own 128-bit quarter, and every instruction of the chain advances all of them. Each lane
//! keeps its own `N · r · 128`-byte vector, so the lanes' random reads stay independent. The
//! output is the same as one lane at a time: the unit tests below compare every width with
//! upstream's `ROMix` on random input.
//!
//! A group of fewer lanes than the register holds fills the spare quarters with copies of its
//! last lane, pointed at that lane's vector: the copies compute and write exactly what the lane
//! does, so they need no memory of their own, and their results are dropped.

use core::arch::x86_64::*;

/// Most bytes of lane vectors one group may hold: a wider group is only chosen when its
/// vectors fit (restic's lanes are 32 MiB: four at once).
pub(crate) const WIDE_BYTES: usize = 128 << 20;

/// How many lanes of `lane_bytes` (`N · r · 128`) one thread mixes at once on this CPU: 4 with
/// AVX-512F, 2 with AVX2, else 1 (upstream's `ROMix`), and fewer where the group's vectors
/// would pass [`WIDE_BYTES`].
pub(crate) fn width(lane_bytes: usize) -> usize {
    let fits = |lanes: usize| lanes.saturating_mul(lane_bytes) <= WIDE_BYTES;
    if fits(4) && std::is_x86_feature_detected!("avx512f") {
        4
    } else if fits(2) && std::is_x86_feature_detected!("avx2") {
        2
    } else {
        1
    }
}

/// `ROMix` of the lanes in `b` (`r128` bytes each, at most `width` of them), in place, with
/// `v` as their vectors (`width · n · r128` bytes) and `t` as upstream's scratch block.
/// `width` is what [`width`] returned for `n · r128`.
pub(crate) fn ro_mix(
    b: &mut [u8],
    v: &mut [u8],
    t: &mut [u8],
    n: usize,
    r128: usize,
    width: usize,
) {
    assert!(
        r128 > 0 && r128 % 128 == 0 && n > 0,
        "r128 = {r128}, n = {n}"
    );
    let lanes = b.len() / r128;
    assert!(
        (1..=width).contains(&lanes) && b.len() == lanes * r128 && v.len() >= lanes * n * r128,
        "a group of {lanes} lanes does not fit a width of {width}"
    );
    // The features are asked again (a cached load): whatever `width` a caller passes, the
    // wide code runs only where the CPU has its feature.
    match width {
        // SAFETY: the CPU has AVX-512F, and the lengths were checked above.
        4 if std::is_x86_feature_detected!("avx512f") => unsafe { ro_mix_avx512(b, v, n, r128) },
        // SAFETY: the CPU has AVX2, and the lengths were checked above.
        2 if std::is_x86_feature_detected!("avx2") => unsafe { ro_mix_avx2(b, v, n, r128) },
        _ => {
            for lane in b.chunks_mut(r128) {
                crate::romix::scrypt_ro_mix(lane, &mut v[..n * r128], t, n);
            }
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn ro_mix_avx512(b: &mut [u8], v: &mut [u8], n: usize, r128: usize) {
    // SAFETY: the caller checked the lengths `ro_mix_wide` requires.
    unsafe { ro_mix_wide::<Avx512>(b, v, n, r128) }
}

#[target_feature(enable = "avx2")]
unsafe fn ro_mix_avx2(b: &mut [u8], v: &mut [u8], n: usize, r128: usize) {
    // SAFETY: the caller checked the lengths `ro_mix_wide` requires.
    unsafe { ro_mix_wide::<Avx2>(b, v, n, r128) }
}

/// One row (16 bytes) of each of up to four lanes, lane `k` in the register's `k`-th 128-bit
/// quarter. Every method is inlined into a function compiled for the feature it needs, and
/// is only called from there.
trait Wide: Copy {
    /// Lanes one register holds.
    const LANES: usize;
    /// Loads lane `k`'s row from `at[k] + off`, for each lane the register holds.
    unsafe fn gather(at: &[*mut u8; 4], off: usize) -> Self;
    /// Stores lane `k`'s row to `at[k] + off`, for each lane the register holds.
    unsafe fn scatter(self, at: &[*mut u8; 4], off: usize);
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn xor(self, other: Self) -> Self;
    /// Each 32-bit word rotated left by `L` bits; `R` is `32 - L`.
    unsafe fn rol<const L: i32, const R: i32>(self) -> Self;
    /// `_mm_shuffle_epi32` with `IMM`, within each lane's quarter.
    unsafe fn shuffle<const IMM: i32>(self) -> Self;
    /// Each lane's first 32-bit word.
    unsafe fn first_words(self) -> [u32; 4];
}

#[derive(Clone, Copy)]
struct Avx2(__m256i);

impl Wide for Avx2 {
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn gather(at: &[*mut u8; 4], off: usize) -> Self {
        // SAFETY: the caller passes rows inside its lanes and vectors.
        unsafe {
            let low = _mm256_castsi128_si256(_mm_loadu_si128(at[0].add(off).cast()));
            Avx2(_mm256_inserti128_si256::<1>(
                low,
                _mm_loadu_si128(at[1].add(off).cast()),
            ))
        }
    }

    #[inline(always)]
    unsafe fn scatter(self, at: &[*mut u8; 4], off: usize) {
        // SAFETY: as in `gather`.
        unsafe {
            _mm_storeu_si128(at[0].add(off).cast(), _mm256_castsi256_si128(self.0));
            _mm_storeu_si128(at[1].add(off).cast(), _mm256_extracti128_si256::<1>(self.0));
        }
    }

    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx2(_mm256_add_epi32(self.0, other.0)) }
    }

    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx2(_mm256_xor_si256(self.0, other.0)) }
    }

    #[inline(always)]
    unsafe fn rol<const L: i32, const R: i32>(self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe {
            Avx2(_mm256_or_si256(
                _mm256_slli_epi32::<L>(self.0),
                _mm256_srli_epi32::<R>(self.0),
            ))
        }
    }

    #[inline(always)]
    unsafe fn shuffle<const IMM: i32>(self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx2(_mm256_shuffle_epi32::<IMM>(self.0)) }
    }

    #[inline(always)]
    unsafe fn first_words(self) -> [u32; 4] {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe {
            let low = _mm256_extract_epi32::<0>(self.0).cast_unsigned();
            let high = _mm256_extract_epi32::<4>(self.0).cast_unsigned();
            [low, high, 0, 0]
        }
    }
}

#[derive(Clone, Copy)]
struct Avx512(__m512i);

impl Wide for Avx512 {
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn gather(at: &[*mut u8; 4], off: usize) -> Self {
        // SAFETY: the caller passes rows inside its lanes and vectors.
        unsafe {
            let row = |k: usize| _mm_loadu_si128(at[k].add(off).cast());
            let x = _mm512_castsi128_si512(row(0));
            let x = _mm512_inserti32x4::<1>(x, row(1));
            let x = _mm512_inserti32x4::<2>(x, row(2));
            Avx512(_mm512_inserti32x4::<3>(x, row(3)))
        }
    }

    #[inline(always)]
    unsafe fn scatter(self, at: &[*mut u8; 4], off: usize) {
        // SAFETY: as in `gather`.
        unsafe {
            _mm_storeu_si128(at[0].add(off).cast(), _mm512_castsi512_si128(self.0));
            _mm_storeu_si128(
                at[1].add(off).cast(),
                _mm512_extracti32x4_epi32::<1>(self.0),
            );
            _mm_storeu_si128(
                at[2].add(off).cast(),
                _mm512_extracti32x4_epi32::<2>(self.0),
            );
            _mm_storeu_si128(
                at[3].add(off).cast(),
                _mm512_extracti32x4_epi32::<3>(self.0),
            );
        }
    }

    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx512(_mm512_add_epi32(self.0, other.0)) }
    }

    #[inline(always)]
    unsafe fn xor(self, other: Self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx512(_mm512_xor_si512(self.0, other.0)) }
    }

    #[inline(always)]
    unsafe fn rol<const L: i32, const R: i32>(self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx512(_mm512_rol_epi32::<L>(self.0)) }
    }

    #[inline(always)]
    unsafe fn shuffle<const IMM: i32>(self) -> Self {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe { Avx512(_mm512_shuffle_epi32::<IMM>(self.0)) }
    }

    #[inline(always)]
    unsafe fn first_words(self) -> [u32; 4] {
        // SAFETY: inlined only into functions compiled with the register's feature.
        unsafe {
            let word = |q: __m128i| _mm_cvtsi128_si32(q).cast_unsigned();
            [
                word(_mm512_castsi512_si128(self.0)),
                word(_mm512_extracti32x4_epi32::<1>(self.0)),
                word(_mm512_extracti32x4_epi32::<2>(self.0)),
                word(_mm512_extracti32x4_epi32::<3>(self.0)),
            ]
        }
    }
}

/// What `block_mix` does with each input row besides mixing it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Stores it into the lanes' vectors first (`ROMix`'s first loop: `V[i] = X`).
    Store,
    /// Mixes it xored with the lanes' rows of their vectors (the second loop: `X ^ V[j]`).
    Xor,
}

/// `ROMix` of the `b.len() / r128` lanes of `b` (at most `W::LANES`), each with its vector in
/// `v` (`n · r128` bytes each, one after another).
///
/// # Safety
/// The CPU has `W`'s feature; `b` holds 1 to `W::LANES` lanes of `r128` bytes (a multiple of
/// 128) and `v` at least `lanes · n · r128` bytes; `n` is at least 1 (a power of two in
/// scrypt; any `j & (n - 1)` is below `n` either way).
#[inline(always)]
unsafe fn ro_mix_wide<W: Wide>(b: &mut [u8], v: &mut [u8], n: usize, r128: usize) {
    let lanes = b.len() / r128;
    debug_assert!((1..=W::LANES).contains(&lanes));
    let rows = r128 / 16;
    let nr128 = n * r128;
    // The spare quarters repeat the last lane, in its memory (see the module's comment).
    let lane = |k: usize| k.min(lanes - 1);
    for chunk in b.chunks_mut(r128) {
        crate::block_mix::shuffle_in(chunk);
    }
    // SAFETY: every pointer below starts a lane of `b` or a lane's vector in `v`, and each
    // offset added to it stays inside that lane (`off < r128`) or vector (`j < n`).
    unsafe {
        let lanes_of_b: [*mut u8; 4] = core::array::from_fn(|k| b.as_mut_ptr().add(lane(k) * r128));
        let vectors: [*mut u8; 4] = core::array::from_fn(|k| v.as_mut_ptr().add(lane(k) * nr128));
        let mut x: alloc::vec::Vec<W> = alloc::vec::Vec::with_capacity(rows);
        for q in 0..rows {
            x.push(W::gather(&lanes_of_b, q * 16));
        }
        let mut y = x.clone();
        for i in 0..n {
            let at = vectors.map(|p| p.add(i * r128));
            block_mix::<W>(&x, &mut y, Rows::Store, &at);
            core::mem::swap(&mut x, &mut y);
        }
        for _ in 0..n {
            // Integerify: each lane's first word of its last 64-byte block.
            let words = x[rows - 4].first_words();
            let at: [*mut u8; 4] = core::array::from_fn(|k| {
                let j = words[k] as usize & (n - 1);
                vectors[k].add(j * r128)
            });
            block_mix::<W>(&x, &mut y, Rows::Xor, &at);
            core::mem::swap(&mut x, &mut y);
        }
        for (q, row) in x.iter().enumerate() {
            row.scatter(&lanes_of_b, q * 16);
        }
    }
    for chunk in b.chunks_mut(r128) {
        crate::block_mix::shuffle_out(chunk);
    }
}

/// `BlockMix` of each lane's rows `x` into `y`, as `block_mix/sse2.rs` does for one lane:
/// `y` takes the even 64-byte blocks' results first, then the odd ones'. `at[k]` is lane
/// `k`'s block of its vector: with [`Rows::Store`] each row of `x` is first stored there
/// (`V[i]`); with [`Rows::Xor`] it is mixed xored with the row there (`V[j]`).
///
/// # Safety
/// As `ro_mix_wide`; `at[k]` points at `r128` bytes of lane `k`'s vector.
#[inline(always)]
unsafe fn block_mix<W: Wide>(x: &[W], y: &mut [W], rows: Rows, at: &[*mut u8; 4]) {
    let blocks = x.len() / 4;
    // A macro, not a closure: a closure is compiled without `W`'s feature, so the intrinsics
    // in it would be calls instead of instructions.
    macro_rules! row {
        ($q:expr) => {{
            let q = $q;
            match rows {
                Rows::Store => x[q],
                Rows::Xor => x[q].xor(W::gather(at, q * 16)),
            }
        }};
    }
    let last = 4 * (blocks - 1);
    // SAFETY: the caller's pointers cover every row offset used here (`q * 16 < r128`).
    let (mut a, mut b, mut c, mut d) =
        unsafe { (row!(last), row!(last + 1), row!(last + 2), row!(last + 3)) };
    for i in 0..blocks {
        // SAFETY: as above (the rows' pointers); the intrinsics need `W`'s feature, which the
        // caller has.
        unsafe {
            if rows == Rows::Store {
                for q in 4 * i..4 * i + 4 {
                    x[q].scatter(at, q * 16);
                }
            }
            a = a.xor(row!(4 * i));
            b = b.xor(row!(4 * i + 1));
            c = c.xor(row!(4 * i + 2));
            d = d.xor(row!(4 * i + 3));
            let saves = (a, b, c, d);
            for _ in 0..8 {
                b = b.xor(a.add(d).rol::<7, 25>());
                c = c.xor(b.add(a).rol::<9, 23>());
                d = d.xor(c.add(b).rol::<13, 19>());
                a = a.xor(d.add(c).rol::<18, 14>());
                // As upstream: a stays, the other rows turn, and b and d change places.
                d = d.shuffle::<0b00_11_10_01>();
                c = c.shuffle::<0b01_00_11_10>();
                b = b.shuffle::<0b10_01_00_11>();
                (b, d) = (d, b);
            }
            a = a.add(saves.0);
            b = b.add(saves.1);
            c = c.add(saves.2);
            d = d.add(saves.3);
        }
        let pos = if i % 2 == 0 {
            i / 2
        } else {
            i / 2 + blocks / 2
        };
        y[4 * pos] = a;
        y[4 * pos + 1] = b;
        y[4 * pos + 2] = c;
        y[4 * pos + 3] = d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Bytes from a small linear congruential generator: the same every run.
    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect()
    }

    /// Every width this CPU has, every group size, several `r` and `N`: the same bytes as
    /// upstream's one-lane `ROMix`.
    #[test]
    fn every_width_mixes_as_one_lane_at_a_time() {
        let mut widths = vec![1];
        if std::is_x86_feature_detected!("avx2") {
            widths.push(2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            widths.push(4);
        }
        for &(r, n) in &[(1usize, 2usize), (1, 16), (2, 64), (8, 1024)] {
            let r128 = r * 128;
            for &w in &widths {
                for lanes in 1..=w {
                    let input = bytes(lanes * r128, (r * 1000 + n + lanes) as u64);
                    let mut expected = input.clone();
                    let mut v = vec![0u8; n * r128];
                    let mut t = vec![0u8; r128];
                    for lane in expected.chunks_mut(r128) {
                        crate::romix::scrypt_ro_mix(lane, &mut v, &mut t, n);
                    }
                    let mut got = input.clone();
                    let mut v = vec![0u8; w * n * r128];
                    ro_mix(&mut got, &mut v, &mut t, n, r128, w);
                    assert!(
                        got == expected,
                        "width {w}, {lanes} lanes, r = {r}, N = {n}: not upstream's ROMix"
                    );
                }
            }
        }
    }

    #[test]
    fn a_wide_group_is_chosen_only_where_its_vectors_fit() {
        assert_eq!(width(WIDE_BYTES), 1);
        assert_eq!(width(usize::MAX), 1);
        assert!(width(32 << 20) * (32 << 20) <= WIDE_BYTES);
        assert!(width(64 << 20) <= 2);
    }
}
