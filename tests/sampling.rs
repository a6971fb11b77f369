//! Sampling: the right number of files, and the same files for the same seed, so an auditor
//! can re-run a drill and restore exactly what it restored.

use lifeboat_testkit::Format;

use crate::util::{DAY1, DAY2, Fixture, Runbook};

/// A point of `n` small files, `dirK/file-NN.txt`.
fn many_files(fx: &Fixture, id: &str, n: usize) {
    let mut p = fx.set.point(id);
    for i in 0..n {
        p = p.file(
            &format!("dir{}/file-{i:02}.txt", i % 3),
            format!("file {i}\n"),
        );
    }
    p.manifest(Format::Sha256sum);
}

fn sampled(fx: &Fixture, sample: &str, args: &[&str]) -> (Vec<String>, u64) {
    let rb = Runbook {
        sample: Some(sample.into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, args);
    d.assert_code(0);
    let mut paths = d.file_paths(DAY1);
    paths.sort();
    (paths, d.seed())
}

#[test]
fn same_seed_gives_the_same_files() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 20);
    let (a, seed_a) = sampled(&fx, "{files: 5, seed: 7}", &[]);
    let (b, seed_b) = sampled(&fx, "{files: 5, seed: 7}", &[]);
    assert_eq!(a.len(), 5);
    assert_eq!((seed_a, seed_b), (7, 7));
    assert_eq!(a, b);
}

#[test]
fn seed_flag_overrides_the_runbook_seed() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 20);
    let (overridden, seed) = sampled(&fx, "{files: 5, seed: 7}", &["--seed", "99"]);
    assert_eq!(seed, 99);
    let (from_runbook, _) = sampled(&fx, "{files: 5, seed: 99}", &[]);
    assert_eq!(overridden, from_runbook);
}

#[test]
fn without_a_seed_one_is_recorded_and_reproduces_the_sample() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 20);
    let (first, seed) = sampled(&fx, "{files: 4}", &[]);
    assert_eq!(first.len(), 4);
    let (again, same) = sampled(&fx, "{files: 4}", &["--seed", &seed.to_string()]);
    assert_eq!(same, seed);
    assert_eq!(again, first);
}

#[test]
fn percent_rounds_up() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 25);
    // 10 % of 25 is 2.5: rounded up to 3.
    let (paths, _) = sampled(&fx, "{percent: 10, seed: 1}", &[]);
    assert_eq!(paths.len(), 3);
    // At least one file, however small the percentage.
    let (paths, _) = sampled(&fx, "{percent: 0.1, seed: 1}", &[]);
    assert_eq!(paths.len(), 1);
}

#[test]
fn more_files_than_the_manifest_holds_takes_them_all() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 6);
    let (paths, _) = sampled(&fx, "{files: 50, seed: 3}", &[]);
    assert_eq!(paths.len(), 6);
}

#[test]
fn sample_is_recorded_in_the_evidence() {
    let fx = Fixture::new();
    many_files(&fx, DAY1, 10);
    let rb = Runbook {
        sample: Some("{files: 3, seed: 5}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let s = &d.evidence["sample"];
    assert_eq!(s["seed"], 5);
    assert_eq!(s["files"], 3);
    assert_eq!(s["all"], false);
}

#[test]
fn a_sampled_fallback_point_draws_its_own_sample() {
    // The sample is drawn from each point's manifest: a damaged file in the newest point is
    // only found when sampled, so sample everything there and check the fallback still
    // restores the requested count.
    let fx = Fixture::new();
    let mut p = fx.set.point(DAY1);
    for i in 0..4 {
        p = p.file(&format!("f{i}"), format!("{i}"));
    }
    let p = p.manifest(Format::Sha256sum);
    for i in 0..4 {
        p.flip_byte(&format!("f{i}"), 0);
    }
    many_files(&fx, DAY2, 12);
    let rb = Runbook {
        sample: Some("{files: 4, seed: 11}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.file_paths(DAY1).len(), 4);
    assert_eq!(d.point(DAY2)["outcome"], "passed");
    assert_eq!(d.file_paths(DAY2).len(), 4);
}
