use std::collections::BTreeSet;

use test_case::test_case;

use super::SplitMix64;
use crate::runbook::SampleSize;
use crate::sample::{choose, sample_count};

/// The reference outputs of Vigna's `splitmix64.c` for seed 1234567, and the well-known first
/// output for seed 0: independent of this code.
#[test]
fn splitmix64_matches_the_reference() {
    let mut rng = SplitMix64::new(1_234_567);
    let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
    assert_eq!(
        got,
        [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ]
    );
    assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
}

#[test]
fn bounded_draws_stay_in_range_and_cover_it() {
    let mut rng = SplitMix64::new(7);
    for range in [1u64, 2, 3, 7, 10, 1000, (1 << 63) + 1, u64::MAX] {
        for _ in 0..200 {
            assert!(rng.below(range) < range);
        }
    }
    let mut seen = [false; 7];
    for _ in 0..500 {
        seen[rng.below(7) as usize] = true;
    }
    assert_eq!(seen, [true; 7]);
}

/// Twenty paths given in an order different from path order.
fn golden_paths() -> Vec<String> {
    let kinds = ["users", "orders", "ledger", "audit"];
    let mut paths: Vec<String> = (0..20)
        .map(|i| {
            let ext = if i % 2 == 0 { "sql" } else { "csv" };
            format!("db/{}-{:02}.{ext}", kinds[i % 4], (i * 7) % 20)
        })
        .collect();
    paths.reverse();
    paths
}

/// Pinned: computed by an independent re-implementation (Python) of the algorithm as the
/// module doc states it. If this fails, the sampling changed and old evidence can no longer
/// be re-run: bump the evidence format instead of editing the vector.
#[test]
fn golden_vector_seed_42() {
    let paths = golden_paths();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let chosen = choose(&refs, 5, 42);
    assert_eq!(chosen, [4, 8, 9, 17, 2]);
    let names: Vec<&str> = chosen.iter().map(|&i| refs[i]).collect();
    assert_eq!(
        names,
        [
            "db/audit-05.csv",
            "db/audit-17.csv",
            "db/ledger-10.sql",
            "db/ledger-14.sql",
            "db/orders-19.csv",
        ]
    );
}

fn many_paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("dir{}/file-{i:05}", i % 7))
        .collect()
}

fn chosen_paths<'a>(paths: &[&'a str], count: usize, seed: u64) -> Vec<&'a str> {
    choose(paths, count, seed)
        .into_iter()
        .map(|i| paths[i])
        .collect()
}

#[test]
fn same_seed_same_sample() {
    let paths = many_paths(500);
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    for seed in [0, 1, 42, u64::MAX] {
        assert_eq!(choose(&refs, 25, seed), choose(&refs, 25, seed));
    }
}

#[test]
fn different_seeds_differ() {
    let paths = many_paths(500);
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let samples: BTreeSet<Vec<usize>> = (0..200).map(|seed| choose(&refs, 10, seed)).collect();
    // 200 draws of 10 from 500: a collision is astronomically unlikely unless the seed is
    // ignored or barely used.
    assert_eq!(samples.len(), 200);
}

#[test]
fn input_order_does_not_matter() {
    let paths = many_paths(300);
    let forward: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut shuffled = forward.clone();
    let mut rng = SplitMix64::new(99);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    assert_ne!(forward, shuffled);
    for seed in 0..20 {
        assert_eq!(
            chosen_paths(&forward, 17, seed),
            chosen_paths(&shuffled, 17, seed)
        );
    }
}

#[test]
fn result_is_distinct_and_in_path_order() {
    let paths = golden_paths();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    for count in 0..=refs.len() + 2 {
        let chosen = choose(&refs, count, 5);
        assert_eq!(chosen.len(), count.min(refs.len()));
        let names: Vec<&str> = chosen.iter().map(|&i| refs[i]).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }
}

#[test]
fn path_order_is_by_bytes() {
    // Byte order puts "Z" (0x5a) before "a" (0x61) and "a-b" before "a/b".
    let refs = ["a/b", "a", "Z", "a-b", "é"];
    assert_eq!(choose(&refs, 10, 0), [2, 1, 3, 0, 4]);
}

#[test]
fn equal_paths_keep_input_order() {
    // Manifests refuse duplicates, but `choose` is public: ties must still be deterministic.
    assert_eq!(choose(&["b", "a", "b", "a"], 4, 0), [1, 3, 0, 2]);
    let refs = ["x"; 50];
    for seed in 0..20 {
        let chosen = choose(&refs, 5, seed);
        assert!(chosen.windows(2).all(|w| w[0] < w[1]), "{chosen:?}");
    }
}

#[test]
fn edge_cases() {
    assert!(choose(&[], 3, 1).is_empty());
    assert!(choose(&["a", "b"], 0, 1).is_empty());
    assert_eq!(choose(&["b", "a"], 2, 1), [1, 0]);
    assert_eq!(choose(&["only"], 1, 123), [0]);
}

/// Each path of ten must come up about equally often, whatever its position: a chi-square
/// statistic over 10 000 seeds, single draws and triples. The seeds are fixed, so the test is
/// deterministic; the bound (p ≈ 0.0001 for 9 degrees of freedom) only catches real bias.
#[test]
fn draws_are_uniform() {
    let paths = many_paths(10);
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    for count in [1, 3] {
        let mut hits = [0u32; 10];
        let draws = 10_000u64;
        for seed in 0..draws {
            for i in choose(&refs, count, seed.wrapping_mul(0x1234_5678_9abc_def1)) {
                hits[i] += 1;
            }
        }
        let expected = (draws as f64) * count as f64 / 10.0;
        let chi2: f64 = hits
            .iter()
            .map(|&h| (h as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 33.7, "count {count}: chi2 {chi2:.1}, hits {hits:?}");
    }
}

#[test_case(0, SampleSize::Files(5), 0 ; "empty files")]
#[test_case(0, SampleSize::Percent(50.0), 0 ; "empty percent")]
#[test_case(10, SampleSize::Files(5), 5 ; "files")]
#[test_case(10, SampleSize::Files(50), 10 ; "files capped")]
#[test_case(10, SampleSize::Files(u64::MAX), 10 ; "files huge")]
#[test_case(30, SampleSize::Percent(10.0), 3 ; "ten percent of thirty is exact")]
#[test_case(1000, SampleSize::Percent(0.1), 1 ; "point one percent")]
#[test_case(1001, SampleSize::Percent(0.1), 2 ; "rounded up")]
#[test_case(3, SampleSize::Percent(33.333333), 1 ; "third")]
#[test_case(300, SampleSize::Percent(7.0), 21 ; "seven percent")]
#[test_case(100, SampleSize::Percent(0.0001), 1 ; "at least one")]
#[test_case(7, SampleSize::Percent(100.0), 7 ; "all")]
#[test_case(7, SampleSize::Percent(250.0), 7 ; "over a hundred capped")]
#[test_case(7, SampleSize::Percent(f64::NAN), 1 ; "nan is at least one")]
#[test_case(1_000_000, SampleSize::Percent(1.0), 10_000 ; "one percent of a million")]
#[test_case(usize::MAX, SampleSize::Percent(100.0), usize::MAX ; "no overflow")]
fn counts(total: usize, size: SampleSize, want: usize) {
    assert_eq!(sample_count(total, size), want);
}

/// Against a naive float formula, which is right whenever `total * p / 100` is not within
/// rounding error of an integer.
#[test]
fn counts_agree_with_float_away_from_integers() {
    for total in [1usize, 7, 30, 99, 1000, 12345] {
        for p in [0.5, 1.0, 2.5, 12.25, 33.0, 66.6, 99.9] {
            let exact = total as f64 * p / 100.0;
            if (exact - exact.round()).abs() < 1e-6 {
                continue;
            }
            let want = (exact.ceil() as usize).clamp(1, total);
            assert_eq!(
                sample_count(total, SampleSize::Percent(p)),
                want,
                "{total} {p}"
            );
        }
    }
}

#[test]
fn choose_by_draws_what_choose_draws_on_the_same_paths() {
    let owned = many_paths(300);
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    for (count, seed) in [(0, 1), (7, 42), (299, 3), (300, 9), (1000, 5)] {
        let by = crate::sample::choose_by(owned.len(), |i| owned[i].as_str(), count, seed);
        assert_eq!(by, choose(&refs, count, seed), "count {count}, seed {seed}");
        assert_eq!(by.len(), count.min(owned.len()));
    }
}
