//! The evidence record's shape, pinned: one drill that exercises every part of a record
//! (a corrupt newest point and a fallback, a zstd object, a missing file, `run`, `wait` and
//! `finally` steps, objectives, the projection) is compared field by field with
//! `tests/golden/evidence.json`. A refactor that renames, drops, retypes or reorders a field,
//! or changes a reason's words, fails here with the JSON path of each difference.
//!
//! Values that differ on every run (times, durations, the run id, the host, temporary paths)
//! are replaced by placeholders before the comparison; their presence and type are still
//! checked. An intended change of the format is made by re-blessing the file
//! (`LIFEBOAT_BLESS=1 cargo test --test integration golden`) and reviewing its diff.

use std::path::Path;

use lifeboat_testkit::Format;
use serde_json::{Map, Value};

use crate::util::{DAY1, DAY2, Fixture, Runbook};

const GOLDEN: &str = "tests/golden/evidence.json";
const GOLDEN_COVERAGE: &str = "tests/golden/coverage.json";

/// Keys whose values change on every run, and what stands in for them.
fn placeholder(key: &str, value: &Value) -> Option<Value> {
    let kind = match value {
        Value::Null => return None,
        Value::String(_) => "string",
        Value::Number(_) => "number",
        _ => return None,
    };
    let volatile = matches!(
        key,
        "run_id"
            | "started_at"
            | "finished_at"
            | "asked_at"
            | "answered_at"
            | "host"
            | "lifeboat_version"
            | "rto_seconds_measured"
            | "duration_seconds"
            | "elapsed_seconds"
            | "stopped_after_checks"
    );
    volatile.then(|| Value::String(format!("<{kind}>")))
}

/// The record with every volatile value replaced, the fixture's folder written as `<root>`
/// and the run id, wherever a path or command holds it, as `<run_id>`; the measured and
/// projected RTO (wall-clock durations) as `<number>`, and the runbook's hash (its text
/// names the temporary folder) as `<string>`.
fn normalise(v: &Value, root: &str, run_id: &str) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, x) in map {
                let x = placeholder(k, x).unwrap_or_else(|| normalise(x, root, run_id));
                out.insert(k.clone(), x);
            }
            // Wall-clock durations, and the hash of a runbook that names a temporary folder.
            for (section, key, stand_in) in [
                ("measured", "rto_seconds", "<number>"),
                ("projected", "rto_seconds", "<number>"),
                ("runbook", "sha256", "<string>"),
            ] {
                if let Some(Value::Object(s)) = out.get_mut(section)
                    && s.get(key).is_some_and(|v| !v.is_null())
                {
                    s.insert(key.into(), Value::String(stand_in.into()));
                }
            }
            // Step details hold timings and command tails of the moment.
            if let Some(Value::Object(d)) = out.get_mut("detail") {
                for (k, x) in d.iter_mut() {
                    if k.ends_with("_at") || k.contains("elapsed") || k.starts_with("duration_") {
                        *x = Value::String("<string>".into());
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, root, run_id)).collect()),
        Value::String(s) => Value::String(s.replace(root, "<root>").replace(run_id, "<run_id>")),
        x => x.clone(),
    }
}

/// Every difference between two records, as `PATH: golden X, got Y` lines. Keys are
/// compared as sets (a JSON object has no order; serde_json's map sorts them).
fn differences(golden: &Value, got: &Value, path: &str, out: &mut Vec<String>) {
    match (golden, got) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                out.push(format!("{path}: keys {ka:?}, got {kb:?}"));
            }
            for (k, x) in a {
                if let Some(y) = b.get(k) {
                    differences(x, y, &format!("{path}/{k}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items, got {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: golden {a}, got {b}")),
        _ => {}
    }
}

#[test]
fn the_evidence_record_keeps_its_shape_field_by_field() {
    let fx = Fixture::new();
    fx.standard_point(DAY2, Format::Sha256sum);
    let newest = fx.standard_point(DAY1, Format::Sha256sum);
    newest.flip_byte("data/blob.bin", 100);
    newest.remove("var/empty");
    let rb = Runbook {
        rto: Some("1h".into()),
        rpo: Some("26h".into()),
        sample: Some("{files: 4, seed: 7}".into()),
        extra: "steps:\n  - restore: {}\n  - name: config is there\n    run: [\"test\", \"-s\", \"{scratch}/etc/app.conf\"]\n  - wait: 1s\nfinally:\n  - shell: \"true\"\n".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--seed", "7"]);
    d.assert_code(1);
    compare(GOLDEN, &fx, &d);
}

/// A drill with `coverage` (issue 16): the record's `coverage` section, with a corrupt object
/// in the older point that the phase finds, pinned in `tests/golden/coverage.json`.
#[test]
fn the_coverage_section_keeps_its_shape_field_by_field() {
    let fx = Fixture::new();
    let older = fx.standard_point(DAY2, Format::Sha256sum);
    older.flip_byte("data/blob.bin", 100);
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rto: Some("1h".into()),
        rpo: Some("26h".into()),
        sample: Some("{files: 2, seed: 7}".into()),
        // A one-day window at one drill a day: the phase reads every object of both points.
        extra: "coverage:\n  within: 1d\n  budget: 1GiB\n".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--seed", "7"]);
    d.assert_code(1);
    compare(GOLDEN_COVERAGE, &fx, &d);
}

/// Compares the drill's record, normalised, with the golden file `golden` (or re-blesses it).
fn compare(golden: &str, fx: &Fixture, d: &crate::util::Drill) {
    let root = fx.root().display().to_string();
    let text = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    let run_id = record["run_id"].as_str().expect("run_id").to_owned();
    let got = normalise(&record, &root, &run_id);

    let golden_path = crate::util::repo_root().join(golden);
    if std::env::var_os("LIFEBOAT_BLESS").is_some() {
        bless(&golden_path, &got);
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|e| panic!("{}: {e}", golden_path.display())),
    )
    .unwrap();
    let mut diffs = Vec::new();
    differences(&expected, &got, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "the evidence record differs from {golden} (re-bless with LIFEBOAT_BLESS=1 if the \
         change is intended, and review the diff):\n{}\n--- got\n{}",
        diffs.join("\n"),
        serde_json::to_string_pretty(&got).unwrap()
    );
}

fn bless(path: &Path, v: &Value) {
    let mut text = serde_json::to_string_pretty(v).unwrap();
    text.push('\n');
    std::fs::write(path, text).unwrap();
}
