//! The projected full-restore time: a separate field, recomputed here from the evidence's own
//! measured data and the sizes of the objects on disk.

use std::path::Path;

use lifeboat_testkit::{Format, prng};
use serde_json::Value;

use crate::util::{DAY1, Drill, Fixture};

fn secs(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

/// Stored size of manifest entry `path` in `point`: `PATH`, else `PATH.zst`.
fn stored_size(point: &Path, path: &str) -> u64 {
    let plain = point.join(path);
    let meta = std::fs::metadata(&plain)
        .or_else(|_| std::fs::metadata(point.join(format!("{path}.zst"))))
        .unwrap();
    meta.len()
}

/// Checks the projection's arithmetic against the point's own files and restore step.
fn check_projection(d: &Drill, point_dir: &Path, expected_total: u64, basis: &str) -> Value {
    let p = d.evidence["projected"].clone();
    assert!(p.is_object(), "no projection: {}", d.context());
    assert_eq!(p["recovery_point"], DAY1);
    assert_eq!(p["basis"], basis, "{p}");
    assert_eq!(p["total_bytes"], expected_total, "{p}");

    let point = d.point(DAY1);
    let files = point["files"].as_array().unwrap();
    let sample_bytes: u64 = files
        .iter()
        .map(|f| f["object_bytes"].as_u64().unwrap())
        .sum();
    let on_disk: u64 = files
        .iter()
        .map(|f| stored_size(point_dir, f["path"].as_str().unwrap()))
        .sum();
    assert_eq!(sample_bytes, on_disk, "object_bytes are the stored sizes");
    assert_eq!(p["sample"]["bytes"], sample_bytes, "{p}");
    assert_eq!(p["sample"]["files"], files.len(), "{p}");

    let restore: Vec<&Value> = point["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "restore")
        .collect();
    assert_eq!(restore.len(), 1);
    let step_secs = secs(&restore[0]["finished_at"])
        .duration_since(secs(&restore[0]["started_at"]))
        .as_secs_f64();
    let sample_seconds = p["sample"]["duration_seconds"].as_f64().unwrap();
    assert!(
        (sample_seconds - step_secs).abs() < 1e-6,
        "sample.duration_seconds {sample_seconds} is the restore step's wall time {step_secs}"
    );
    let rate = sample_bytes as f64 / sample_seconds;
    let want = expected_total as f64 / rate;
    let got = p["rto_seconds"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= 0.001 + want * 1e-9,
        "projected rto_seconds {got}, want {want}"
    );
    // Projected and measured never mix: the measured RTO is the drill's own wall time, which
    // covers the restore step the projection's rate comes from.
    let measured = d.measured("rto_seconds").as_f64().unwrap();
    assert!(
        measured + 0.001 >= sample_seconds,
        "{measured} < {sample_seconds}"
    );
    p
}

/// Five entries, two sampled: the other three objects are sized from storage.
#[test]
fn sampled_point_is_sized_from_storage() {
    let fx = Fixture::new();
    let pt = fx.standard_point(DAY1, Format::Sha256sum);
    let rb = crate::util::Runbook {
        sample: Some("{files: 2, seed: 9}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let dir = fx.source().join(DAY1);
    let total: u64 = pt.paths().iter().map(|p| stored_size(&dir, p)).sum();
    let p = check_projection(&d, &dir, total, "storage");
    assert_eq!(p["entries"], 5);
    assert_eq!(d.point(DAY1)["files"].as_array().unwrap().len(), 2);
    // Shown to people too, labelled as a projection.
    assert!(d.stdout.contains("projected full restore"), "{}", d.stdout);
    let report = d.report_md();
    assert!(
        report.contains("## Projected full restore (not measured)"),
        "{report}"
    );
}

/// No `sample`: the sample is the point, so its total is exact without asking storage.
#[test]
fn whole_point_sample_is_its_own_total() {
    let fx = Fixture::new();
    let pt = fx.standard_point(DAY1, Format::B3sum);
    let rb = crate::util::Runbook {
        manifest_path: Format::B3sum.file_name().into(),
        format: Format::B3sum,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--verify-only"]);
    d.assert_code(0);
    let dir = fx.source().join(DAY1);
    let total: u64 = pt.paths().iter().map(|p| stored_size(&dir, p)).sum();
    check_projection(&d, &dir, total, "sample");
}

/// Above 10,000 entries the total is the sample's mean object size times the entries.
#[test]
fn large_manifest_is_extrapolated() {
    let fx = Fixture::new();
    let mut point = fx.set.point(DAY1);
    for i in 0..10_001u64 {
        // Sizes 1..=64 bytes, so the sample's mean differs from the point's.
        point = point.file(
            &format!("d{}/f{i}", i % 50),
            prng::text_bytes(1 + (i % 64) as usize, i),
        );
    }
    point.manifest(Format::Sha256sum);
    let rb = crate::util::Runbook {
        sample: Some("{files: 7, seed: 3}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let files = d.point(DAY1)["files"].as_array().unwrap().clone();
    let sampled: u64 = files
        .iter()
        .map(|f| f["object_bytes"].as_u64().unwrap())
        .sum();
    let mean = sampled as f64 / files.len() as f64;
    let total = (mean * 10_001.0).round() as u64;
    check_projection(&d, &fx.source().join(DAY1), total, "extrapolated");
}

/// Nothing restored, nothing projected.
#[test]
fn no_projection_without_restored_bytes() {
    let fx = Fixture::new();
    fx.set
        .point(DAY1)
        .file("a.txt", "alpha\n")
        .manifest(Format::Sha256sum);
    std::fs::remove_file(fx.source().join(DAY1).join("a.txt")).unwrap();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert!(d.evidence["projected"].is_null(), "{}", d.context());
}
