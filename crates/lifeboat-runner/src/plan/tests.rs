//! Plans made from listings written by hand, through a format that does no I/O: what the
//! sample takes, what each file must verify to, where it lands and where from.

use lifeboat_core::Algorithm;
use lifeboat_core::evidence::ManifestRecord;
use lifeboat_core::runbook::SampleSize;

use super::*;
use crate::DrillError;
use crate::format::{Census, PointRead};
use crate::restore::{Landing, Restored};

/// A listed file: a path and its digest.
struct Listed(&'static str, &'static str);

impl Entry for Listed {
    fn path(&self) -> &str {
        self.0
    }
}

/// Files whose bytes come from a numbered slot: only the planning half of a format.
struct Slots;

struct NoCensus;

impl Census for NoCensus {
    fn not_a_point(&mut self) {}
    fn after_t0(&mut self) {}
    fn too_old(&mut self) {}
    fn describe(&self) -> String {
        String::new()
    }
}

impl SourceFormat for Slots {
    type Entry = Listed;
    type Locator = String;
    type Census = NoCensus;

    async fn discover(&self) -> Result<(Vec<Candidate>, NoCensus), DrillError> {
        Ok((Vec::new(), NoCensus))
    }

    async fn read_point(&self, _: &Candidate) -> Result<PointRead<Listed>, DrillError> {
        Ok(PointRead::NotAPoint)
    }

    fn plan_file(
        &self,
        point: &Candidate,
        manifest: &ManifestRecord,
        entry: &Listed,
    ) -> PlannedFile<String> {
        PlannedFile {
            expect: Expected {
                path: entry.0.to_owned(),
                algorithm: manifest.algorithm,
                digest: entry.1.to_owned(),
                size: None,
            },
            target: Target::below_point(entry.0, |lands| format!("slot:{}/{lands}", point.id)),
        }
    }

    async fn restore(
        &self,
        _: &Candidate,
        expect: &Expected,
        _: &str,
        _: &String,
        _: &Landing<'_>,
    ) -> Result<Restored, DrillError> {
        Ok(Restored::failed(expect, None, "not restored here".into()))
    }

    async fn identify(
        &self,
        _: &Candidate,
        _: &Self::Locator,
    ) -> Result<lifeboat_core::coverage::Identity, DrillError> {
        unreachable!("planning reads nothing")
    }

    async fn stored_bytes(&self, _: &Candidate, _: &[String]) -> Option<u64> {
        None
    }
}

fn point() -> Candidate {
    Candidate {
        id: "p1".to_owned(),
        time: "2026-11-21T02:00:00Z".parse().unwrap(),
    }
}

fn manifest(entries: u64) -> ManifestRecord {
    ManifestRecord {
        path: "SHA256SUMS".to_owned(),
        algorithm: Algorithm::Blake3,
        entries: Some(entries),
        sha256: None,
    }
}

/// Five files, listed out of path order.
fn listing() -> Vec<Listed> {
    vec![
        Listed("d/e.txt", "dd"),
        Listed("a.txt", "aa"),
        Listed("c.txt", "cc"),
        Listed("b/b.txt", "bb"),
        Listed("e.txt", "ee"),
    ]
}

fn plan(size: Option<SampleSize>, seed: u64) -> PointPlan<String> {
    PointPlan::new(&Slots, point(), manifest(5), listing(), size, &[], seed)
}

fn paths(plan: &PointPlan<String>) -> Vec<&str> {
    plan.files.iter().map(|f| f.expect.path.as_str()).collect()
}

#[test]
fn without_a_sample_every_file_is_planned_in_path_order() {
    let plan = plan(None, 7);
    assert_eq!(
        paths(&plan),
        ["a.txt", "b/b.txt", "c.txt", "d/e.txt", "e.txt"]
    );
    assert_eq!(plan.point, point());
    assert_eq!(plan.manifest, manifest(5));
    assert_eq!(
        plan.files[1],
        PlannedFile {
            expect: Expected {
                path: "b/b.txt".to_owned(),
                algorithm: Algorithm::Blake3,
                digest: "bb".to_owned(),
                size: None,
            },
            target: Target::Restore {
                lands: "b/b.txt".to_owned(),
                from: "slot:p1/b/b.txt".to_owned(),
            },
        }
    );
    // Nothing is left for the projection to size: the sample is the whole point.
    assert_eq!(plan.projection.entries(), 5);
    assert_eq!(plan.projection.unsampled(), Some(&[][..]));
}

#[test]
fn a_sample_takes_its_size_reproducibly_and_leaves_the_rest_to_the_projection() {
    let two = plan(Some(SampleSize::Files(2)), 42);
    assert_eq!(two.files.len(), 2);
    // The seed decides: the same one, the same files.
    assert_eq!(paths(&plan(Some(SampleSize::Files(2)), 42)), paths(&two));
    // Exactly the core's seeded choice over the listed paths.
    let listed: Vec<&str> = listing().iter().map(|l| l.0).collect();
    let chosen: Vec<&str> = lifeboat_core::sample::choose(&listed, 2, 42)
        .into_iter()
        .map(|i| listed[i])
        .collect();
    assert_eq!(paths(&two), chosen);
    let mut rest: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|p| !chosen.contains(p))
        .collect();
    let unsampled: Vec<&str> = two
        .projection
        .unsampled()
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    rest.sort_unstable();
    let mut unsampled_sorted = unsampled.clone();
    unsampled_sorted.sort_unstable();
    assert_eq!(unsampled_sorted, rest);

    // `percent` is rounded up; more files than listed takes them all.
    assert_eq!(plan(Some(SampleSize::Percent(30.0)), 1).files.len(), 2);
    assert_eq!(plan(Some(SampleSize::Files(99)), 1).files.len(), 5);
}

#[test]
fn a_path_that_would_leave_the_point_is_refused_by_the_plan() {
    let entries = vec![
        Listed("../escape", "00"),
        Listed("/etc/passwd", "11"),
        Listed("a/../../b", "22"),
        Listed("./x//y", "33"),
    ];
    let plan = PointPlan::new(&Slots, point(), manifest(4), entries, None, &[], 1);
    let targets: Vec<(&str, &Target<String>)> = plan
        .files
        .iter()
        .map(|f| (f.expect.path.as_str(), &f.target))
        .collect();
    let unsafe_path = |why: &str| Target::Unsafe {
        reason: format!("unsafe path: {why}"),
    };
    assert_eq!(
        targets,
        [
            ("../escape", &unsafe_path("\"..\" segment")),
            (
                "./x//y",
                &Target::Restore {
                    lands: "x/y".to_owned(),
                    from: "slot:p1/x/y".to_owned(),
                }
            ),
            ("/etc/passwd", &unsafe_path("absolute path")),
            ("a/../../b", &unsafe_path("\"..\" segment")),
        ]
    );
}

#[test]
fn a_file_refused_or_not_found_fails_with_its_expectation() {
    let expect = Expected {
        path: "a.txt".to_owned(),
        algorithm: Algorithm::Sha256,
        digest: "ab".repeat(32),
        size: None,
    };
    let failed = expect.failed(Some("a.txt.zst".to_owned()), "missing".to_owned());
    assert_eq!(failed.path, "a.txt");
    assert_eq!(failed.outcome, lifeboat_core::evidence::Outcome::Failed);
    assert_eq!(failed.algorithm, Algorithm::Sha256);
    assert_eq!(failed.expected, "ab".repeat(32));
    assert_eq!(
        (failed.actual, failed.bytes, failed.object_bytes),
        (None, 0, None)
    );
    assert_eq!(failed.object.as_deref(), Some("a.txt.zst"));
    assert_eq!(failed.reason.as_deref(), Some("missing"));
}

fn with_always(size: Option<SampleSize>, always: &[&str], seed: u64) -> PointPlan<String> {
    let always: Vec<String> = always.iter().map(|&p| p.to_owned()).collect();
    PointPlan::new(&Slots, point(), manifest(5), listing(), size, &always, seed)
}

#[test]
fn always_files_join_the_sample_which_is_drawn_as_before() {
    let listed: Vec<&str> = listing().iter().map(|l| l.0).collect();
    for seed in 0..200 {
        let drawn: Vec<&str> = lifeboat_core::sample::choose(&listed, 2, seed)
            .into_iter()
            .map(|i| listed[i])
            .collect();
        let plan = with_always(Some(SampleSize::Files(2)), &["d/e.txt"], seed);
        // The draw over every listed file is the one a runbook without `always` makes; the
        // always file joins it, once, and the whole stays in path order.
        let mut expected: Vec<&str> = drawn.clone();
        if !expected.contains(&"d/e.txt") {
            expected.push("d/e.txt");
        }
        expected.sort_unstable();
        assert_eq!(paths(&plan), expected, "seed {seed}");
        assert_eq!(plan.always, ["d/e.txt"], "seed {seed}");
        assert!(plan.is_always("d/e.txt"));
        assert!(!plan.is_always("a.txt"));
        assert!(plan.unlisted.is_empty());
        // What the projection sizes is what was not verified.
        let unsampled = plan.projection.unsampled().unwrap();
        assert_eq!(unsampled.len(), 5 - expected.len(), "seed {seed}");
        assert!(!unsampled.iter().any(|p| p == "d/e.txt"));
    }
}

#[test]
fn an_always_path_matches_the_listing_however_the_manifest_spells_it() {
    let entries = vec![
        Listed("./db/dump.sql", "00"),
        Listed("a.txt", "11"),
        Listed("b.txt", "22"),
    ];
    let always = ["db/dump.sql".to_owned()];
    let plan = PointPlan::new(
        &Slots,
        point(),
        manifest(3),
        entries,
        Some(SampleSize::Files(1)),
        &always,
        3,
    );
    assert!(
        paths(&plan).contains(&"./db/dump.sql"),
        "{:?}",
        paths(&plan)
    );
    assert_eq!(plan.always, ["./db/dump.sql"]);
    assert!(plan.unlisted.is_empty());
}

#[test]
fn an_always_path_the_point_does_not_list_is_named() {
    let plan = with_always(
        Some(SampleSize::Files(1)),
        &["a.txt", "db/dump.sql", "zz/missing"],
        5,
    );
    assert_eq!(plan.unlisted, ["db/dump.sql", "zz/missing"]);
    assert_eq!(
        plan.unlisted_reason().as_deref(),
        Some(
            "sample.always names 2 files manifest SHA256SUMS does not list: db/dump.sql, \
             zz/missing"
        )
    );
    let one = with_always(None, &["db/dump.sql"], 5);
    assert_eq!(
        one.unlisted_reason().as_deref(),
        Some("sample.always names db/dump.sql, which manifest SHA256SUMS does not list")
    );
    assert_eq!(with_always(None, &["a.txt"], 5).unlisted_reason(), None);
}
