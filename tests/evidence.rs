//! The evidence record: every field the interface promises, with the right type, and a record
//! even when the drill could not complete.

use jiff::Timestamp;
use lifeboat_testkit::{Format, sha256_hex};
use serde_json::Value;

use crate::util::{DAY1, Drill, Fixture, Runbook, T0};

fn ts(v: &Value, what: &str) -> Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{what} is not RFC 3339: {v}: {e}"))
}

fn is_hex64(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[test]
fn evidence_has_every_minimum_field_with_its_type() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rto: Some("2h".into()),
        rpo: Some("26h".into()),
        sample: Some("{files: 3, seed: 42}".into()),
        ..fx.runbook()
    };
    let yaml = rb.yaml();
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let e = &d.evidence;

    assert_eq!(e["format_version"], 1);
    assert!(e["run_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(e["runbook"]["name"], "drill-test");
    assert_eq!(
        e["runbook"]["sha256"],
        sha256_hex(yaml.as_bytes()),
        "hash of the file's bytes"
    );
    assert_eq!(ts(&e["t0"], "t0"), T0.parse::<Timestamp>().unwrap());
    let started = ts(&e["started_at"], "started_at");
    let finished = ts(&e["finished_at"], "finished_at");
    assert!(started <= finished, "{started} > {finished}");
    assert!(
        started > "2025-01-01T00:00:00Z".parse().unwrap(),
        "started_at is the wall clock, not T0"
    );
    assert_eq!(e["outcome"], "passed");

    assert_eq!(e["objectives"]["rto_seconds"], 7200);
    assert_eq!(e["objectives"]["rpo_seconds"], 93_600);
    let m = &e["measured"];
    let rto = m["rto_seconds"]
        .as_f64()
        .expect("measured.rto_seconds is a number");
    assert!(
        rto >= 0.0 && rto <= finished.duration_since(started).as_secs_f64() + 1.0,
        "{rto}"
    );
    assert_eq!(m["rpo_seconds"].as_f64(), Some(86_400.0));
    assert_eq!(m["recovery_point"], DAY1);
    assert_eq!(e["sample"]["seed"], 42);

    let points = e["recovery_points"]
        .as_array()
        .expect("recovery_points array");
    assert_eq!(points.len(), 1);
    let p = &points[0];
    assert_eq!(p["id"], DAY1);
    assert_eq!(
        ts(&p["time"], "point time"),
        "2026-11-21T02:00:00Z".parse().unwrap()
    );
    assert_eq!(p["outcome"], "passed");
    let files = p["files"].as_array().expect("files array");
    assert_eq!(files.len(), 3);
    for f in files {
        assert!(f["path"].is_string(), "{f}");
        assert_eq!(f["outcome"], "passed");
        assert_eq!(f["algorithm"], "sha256");
        assert!(is_hex64(&f["expected"]), "{f}");
        assert!(is_hex64(&f["actual"]), "{f}");
        assert!(f["bytes"].is_u64(), "{f}");
        assert!(f["reason"].is_null(), "{f}");
    }

    let report = d.report_md();
    assert!(
        report.contains("drill-test"),
        "report names the runbook:\n{report}"
    );
    assert!(
        report.contains(DAY1),
        "report names the recovery point:\n{report}"
    );
}

#[test]
fn failed_file_fields_in_the_evidence() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::B3sum)
        .remove("etc/app.conf");
    let rb = Runbook {
        manifest_path: "B3SUMS".into(),
        format: Format::B3sum,
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    let f = d.file(DAY1, "etc/app.conf");
    assert_eq!(f["algorithm"], "blake3");
    assert!(is_hex64(&f["expected"]));
    assert!(f["actual"].is_null());
    assert!(f["reason"].is_string());
    let report = d.report_md();
    assert!(
        report.contains("etc/app.conf"),
        "report names the failed file:\n{report}"
    );
}

#[test]
fn each_run_gets_its_own_record() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let a = fx.drill(&fx.runbook(), &[]);
    let b = fx.drill(&fx.runbook(), &[]);
    a.assert_code(0);
    b.assert_code(0);
    assert_ne!(a.evidence["run_id"], b.evidence["run_id"]);
    assert_ne!(a.evidence_path, b.evidence_path);
    assert!(
        a.evidence_path.as_ref().unwrap().is_file(),
        "the first record is kept"
    );
}

#[test]
fn unreachable_source_is_exit_3_with_error_evidence() {
    let fx = Fixture::new();
    let rb = Runbook {
        url: format!("file://{}/does-not-exist", fx.root().display()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(3);
    assert_eq!(d.outcome(), "error", "{}", d.context());
    assert!(!Drill::reason(&d.evidence).is_empty(), "{}", d.context());
    assert!(d.measured("recovery_point").is_null());
    assert!(!d.stderr.trim().is_empty(), "errors go to stderr");
}

#[test]
fn default_evidence_dir_is_dot_evidence() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
    let out = crate::util::lifeboat()
        .current_dir(fx.root())
        .arg("drill")
        .arg(&runbook)
        .args(["--now", T0, "--scratch-dir"])
        .arg(fx.scratch_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = std::path::PathBuf::from(stdout.lines().last().unwrap().trim());
    let last = fx.root().join(last); // relative paths are relative to the working directory
    assert!(last.is_file(), "{}", last.display());
    assert!(
        last.canonicalize()
            .unwrap()
            .starts_with(fx.root().join("evidence/drill-test")),
        "{}",
        last.display()
    );
}

#[test]
fn evidence_names_the_host_the_drill_ran_on() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    let uname = std::process::Command::new("uname")
        .arg("-n")
        .output()
        .expect("uname -n runs");
    let host = String::from_utf8(uname.stdout).unwrap();
    assert_eq!(d.evidence["host"], host.trim(), "{}", d.context());
}
