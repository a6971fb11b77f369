//! `sample.always`: files a step needs are restored in every drill, whatever the seed, on top
//! of a sample that is drawn exactly as without them.

use std::io::Write;
use std::process::{Command, Stdio};

use lifeboat_testkit::{Format, prng};

use crate::util::{DAY1, DAY2, Fixture, Runbook};

/// `text` gzip-compressed by the real `gzip`, as a database dump job writes it.
fn gzip(text: &str) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-c", "-n"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// A point of 30 small files and a gzip dump, `db/dump.sql`, stored zstd-compressed.
fn point_with_dump(fx: &Fixture, id: &str) {
    let mut p = fx.set.point(id);
    for i in 0..30 {
        p = p.text_file(&format!("files/f{i:02}.txt"), 200, prng::seed_of(id) ^ i);
    }
    p.zst_file(
        "db/dump.sql",
        gzip("CREATE TABLE orders (id integer);\nINSERT INTO orders VALUES (1);\n"),
    )
    .manifest(Format::Sha256sum);
}

/// The issue's runbook: a small sample, and a step that reads the dump.
fn runbook(fx: &Fixture, always: bool) -> Runbook {
    let always = if always {
        ", always: [db/dump.sql]"
    } else {
        ""
    };
    Runbook {
        sample: Some(format!("{{files: 3{always}}}")),
        extra: r#"steps:
  - restore: {}
  - name: dump readable
    run: ["zcat", "{scratch}/db/dump.sql"]
    expect_stdout: "CREATE TABLE orders"
"#
        .into(),
        ..fx.runbook()
    }
}

#[test]
fn a_step_reading_an_always_file_passes_on_every_seed() {
    let fx = Fixture::new();
    point_with_dump(&fx, DAY1);
    point_with_dump(&fx, DAY2);
    let mut failed_without = 0;
    for seed in 0..6u64 {
        let seed_arg = seed.to_string();
        // Without `always` the dump is restored only when the sample draws it (3 of 31
        // files), and the step fails otherwise: the bug, and what makes this test able to
        // fail.
        let without = fx.drill(&runbook(&fx, false), &["--seed", &seed_arg]);
        let drawn = without.file_paths(DAY1);
        assert_eq!(drawn.len(), 3, "{}", without.context());
        if !drawn.iter().any(|p| p == "db/dump.sql") {
            without.assert_code(1);
            failed_without += 1;
        }

        let with = fx.drill(&runbook(&fx, true), &["--seed", &seed_arg]);
        with.assert_code(0);
        assert_eq!(with.point_ids(), [DAY1], "no fallback: {}", with.context());
        // The same draw as without `always`, plus the dump, once.
        let mut expected = drawn.clone();
        if !expected.iter().any(|p| p == "db/dump.sql") {
            expected.push("db/dump.sql".into());
        }
        expected.sort();
        assert_eq!(with.file_paths(DAY1), expected, "seed {seed}");
        // The record says which files were there because of `always`.
        assert_eq!(
            with.evidence["sample"]["always"],
            serde_json::json!(["db/dump.sql"])
        );
        for f in with.point(DAY1)["files"].as_array().unwrap() {
            let always = f["path"] == "db/dump.sql";
            assert_eq!(f["always"].as_bool().unwrap_or(false), always, "{f}");
        }
        assert_eq!(with.file(DAY1, "db/dump.sql")["object"], "db/dump.sql.zst");
        // The reports mark it, and bound the corrupt share by the random draw alone.
        assert!(
            with.report_html()
                .contains("<code>db/dump.sql</code> <span class=\"note\">(sample.always)</span>"),
            "{}",
            with.report_html()
        );
        let n = expected.len();
        let statement = format!(
            "{n} files verified, 3 of them drawn at random and 1 named by sample.always, all passed: with 95% confidence fewer than"
        );
        assert!(
            with.report_md().contains(&statement),
            "{}",
            with.report_md()
        );
        assert!(with.stdout.contains(&statement), "{}", with.stdout);
    }
    assert!(
        failed_without > 0,
        "the dump was drawn on every seed: pick others"
    );
}

#[test]
fn a_point_without_an_always_file_fails_naming_it_and_the_drill_falls_back() {
    let fx = Fixture::new();
    // The newest point lost its dump; the one before has it.
    let mut p = fx.set.point(DAY1);
    for i in 0..5 {
        p = p.file(&format!("f{i}"), format!("{i}\n"));
    }
    p.manifest(Format::Sha256sum);
    point_with_dump(&fx, DAY2);
    let d = fx.drill(&runbook(&fx, true), &["--seed", "1"]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    let newest = d.point(DAY1);
    assert_eq!(newest["outcome"], "failed");
    assert_eq!(
        newest["reason"],
        "sample.always names db/dump.sql, which manifest SHA256SUMS does not list"
    );
    // Nothing was restored or run for it: it failed before its steps.
    assert_eq!(newest["files"], serde_json::json!([]));
    assert_eq!(newest["steps"], serde_json::json!([]));
    assert_eq!(d.point(DAY2)["outcome"], "passed", "{}", d.context());
    assert_eq!(d.measured("recovery_point"), DAY2);
}

#[test]
fn a_runbook_without_always_records_no_always_fields() {
    // Records of runbooks that do not use `always` keep their shape (tests/golden.rs pins
    // it field by field).
    let fx = Fixture::new();
    point_with_dump(&fx, DAY1);
    let rb = Runbook {
        sample: Some("{files: 40}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert!(
        d.evidence["sample"].get("always").is_none(),
        "{}",
        d.context()
    );
    for f in d.point(DAY1)["files"].as_array().unwrap() {
        assert!(f.get("always").is_none(), "{f}");
    }
}
