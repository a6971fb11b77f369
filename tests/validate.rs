//! `lifeboat validate`, and invalid input to `drill`: exit 2, `FILE:LINE:COLUMN: message` on
//! stderr, and nothing written. The runbook parser's own tests pin the exact messages; these
//! pin the position and the key path the binary reports.

use std::path::{Path, PathBuf};

use indoc::indoc;
use lifeboat_testkit::Format;
use test_case::test_case;

use crate::util::{DAY1, Fixture, lifeboat, repo_root};

/// A valid runbook; each case replaces one line of it.
const VALID: &str = indoc! {r#"
    version: 1
    name: payments-files
    objectives:
      rto: 2h
      rpo: 26h
    source:
      url: file:///srv/backups/payments
    recovery_points:
      time: name
      time_format: "%Y-%m-%dT%H%M%SZ"
      select: latest
      within: 30d
    manifest:
      path: SHA256SUMS
      format: sha256sum
    sample:
      files: 20
      seed: 42
    scratch:
      keep: never
"#};

fn replace(old: &str, new: &str) -> String {
    assert!(VALID.contains(old), "{old}");
    VALID.replacen(old, new, 1)
}

/// One `FILE:LINE:COLUMN: message` line of stderr, split.
struct Located {
    line: u32,
    column: u32,
    message: String,
}

fn located(stderr: &str, file: &str) -> Vec<Located> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(file)?.strip_prefix(':'))
        .filter_map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next()?.parse().ok()?;
            let column = parts.next()?.parse().ok()?;
            Some(Located {
                line,
                column,
                message: parts.next()?.trim().to_owned(),
            })
        })
        .collect()
}

fn validate_in(dir: &Path, files: &[&str]) -> std::process::Output {
    lifeboat()
        .current_dir(dir)
        .arg("validate")
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn the_base_runbook_is_valid() {
    let fx = Fixture::new();
    fx.write("ok.yaml", VALID);
    let out = validate_in(&fx.root(), &["ok.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

// (text, lines and columns the error may point at (the key or its value), words the message holds)
#[test_case(&replace("manifest:\n", "manfest:\n"), &[13], &[1], &["manfest"] ; "misspelt top-level key")]
#[test_case(&replace("  seed: 42\n", "  sed: 42\n"), &[18], &[3], &["sed"] ; "misspelt nested key")]
#[test_case(&replace("version: 1", "version: 2"), &[1], &[1, 10], &["version"] ; "unknown version")]
#[test_case(&replace("name: payments-files", "name: Payments Files"), &[2], &[1, 7], &["name"] ; "bad name")]
#[test_case(&replace("rto: 2h", "rto: 2 hours"), &[4], &[3, 8], &["rto"] ; "bad duration")]
#[test_case(&replace("select: latest", "select: newest"), &[11], &[3, 11], &["select", "latest"] ; "bad select names the allowed values")]
#[test_case(&replace("format: sha256sum", "format: md5sum"), &[15], &[3, 11], &["format", "sha256sum", "b3sum"] ; "bad manifest format")]
#[test_case(&replace("keep: never", "keep: sometimes"), &[20], &[3, 9], &["keep", "on-failure"] ; "bad keep")]
#[test_case(&replace("time: name", "time: mtime"), &[9], &[3, 9], &["time"] ; "bad point time")]
#[test_case(&replace("url: file:///srv/backups/payments", "url: ftp://host/backups"), &[7], &[3, 8], &["url"] ; "unsupported url scheme")]
#[test_case(&replace("  seed: 42\n", "  seed: 42\n  percent: 10\n"), &[16, 17, 19], &[1, 3, 10, 12], &["sample"] ; "files and percent both set")]
#[test_case(&replace("  files: 20\n", "  files: 0\n"), &[17], &[3, 10], &["files"] ; "zero files")]
#[test_case(&replace("  files: 20\n", "  percent: 150\n"), &[17], &[3, 12], &["percent"] ; "percent over 100")]
#[test_case(&replace("within: 30d", "within: -3d"), &[12], &[3, 11], &["within"] ; "negative window")]
fn invalid_runbook_is_located(text: &str, lines: &[u32], columns: &[u32], words: &[&str]) {
    let fx = Fixture::new();
    fx.write("bad.yaml", text);
    let out = validate_in(&fx.root(), &["bad.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let problems = located(&stderr, "bad.yaml");
    let hit = problems
        .iter()
        .find(|p| lines.contains(&p.line) && columns.contains(&p.column))
        .unwrap_or_else(|| {
            panic!("no `bad.yaml:{lines:?}:{columns:?}: ...` line on stderr:\n{stderr}")
        });
    for w in words {
        assert!(hit.message.contains(w), "message lacks `{w}`:\n{stderr}");
    }
}

#[test]
fn missing_required_key_is_reported() {
    let fx = Fixture::new();
    let text: String = VALID
        .lines()
        .filter(|l| !l.starts_with("source:") && !l.contains("url:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fx.write("bad.yaml", &text);
    let out = validate_in(&fx.root(), &["bad.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let problems = located(&stderr, "bad.yaml");
    assert!(
        problems.iter().any(|p| p.message.contains("source")),
        "{stderr}"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let fx = Fixture::new();
    let text =
        replace("select: latest", "select: newest").replace("keep: never", "keep: sometimes");
    fx.write("bad.yaml", &text);
    let out = validate_in(&fx.root(), &["bad.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<u32> = located(&stderr, "bad.yaml")
        .iter()
        .map(|p| p.line)
        .collect();
    assert!(lines.contains(&11) && lines.contains(&20), "{stderr}");
}

#[test]
fn not_yaml_and_missing_files_are_exit_2() {
    let fx = Fixture::new();
    fx.write("broken.yaml", "version: 1\nname: [unclosed\n");
    let out = validate_in(&fx.root(), &["broken.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!located(&stderr, "broken.yaml").is_empty(), "{stderr}");

    let out = validate_in(&fx.root(), &["no-such-file.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-file.yaml"), "{stderr}");
}

#[test]
fn one_bad_file_among_good_ones_is_named() {
    let fx = Fixture::new();
    fx.write("good.yaml", VALID);
    fx.write("bad.yaml", &replace("manifest:\n", "manfest:\n"));
    let out = validate_in(&fx.root(), &["good.yaml", "bad.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!located(&stderr, "bad.yaml").is_empty(), "{stderr}");
    assert!(!stderr.contains("good.yaml:"), "{stderr}");
}

#[test]
fn validate_takes_folders_as_schedule_does() {
    let fx = Fixture::new();
    let dir = fx.root().join("runbooks");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), VALID).unwrap();
    std::fs::write(
        dir.join("b.yml"),
        replace("name: payments-files", "name: payments-db"),
    )
    .unwrap();
    // Not runbooks, for `schedule` either: a hidden file and another extension.
    std::fs::write(dir.join(".draft.yaml"), "manfest: {}\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "not yaml").unwrap();
    let out = validate_in(&fx.root(), &["runbooks"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "runbooks/a.yaml: ok (payments-files)",
            "runbooks/b.yml: ok (payments-db)"
        ],
        "{out:?}"
    );

    // A bad file in the folder is named; a file given beside the folder is still checked.
    std::fs::write(dir.join("c.yaml"), replace("manifest:\n", "manfest:\n")).unwrap();
    fx.write("single.yaml", VALID);
    let out = validate_in(&fx.root(), &["runbooks", "single.yaml", "missing"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!located(&stderr, "runbooks/c.yaml").is_empty(), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("single.yaml: ok"),
        "{out:?}"
    );

    // A folder without runbooks is most likely the wrong folder.
    std::fs::create_dir(fx.root().join("empty")).unwrap();
    let out = validate_in(&fx.root(), &["empty"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no runbook files"),
        "{out:?}"
    );
}

/// Runbooks are linted where their secrets are not (a CI job, a laptop): an unset `${VAR}`
/// is reported, but only the drill, which would use it, refuses it.
#[test]
fn an_unset_variable_warns_in_validate_and_stops_drill_and_schedule() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = crate::util::Runbook {
        extra: "schedule: \"0 2 * * *\"\nnotify:\n  - webhook: \"${LIFEBOAT_TEST_UNSET_HOOK}\"\n"
            .into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let out = validate_in(&fx.root(), &["runbook.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let warnings = located(&stderr, "runbook.yaml");
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].message.starts_with(
            "warning: notify[0].webhook: environment variable LIFEBOAT_TEST_UNSET_HOOK is not set"
        ),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("runbook.yaml: ok (drill-test)"),
        "{out:?}"
    );
    // With another problem too: both are told, and that problem makes it exit 2.
    let bad = crate::util::Runbook {
        rto: Some("soon".into()),
        ..rb.clone()
    };
    fx.write("bad.yaml", &bad.yaml());
    let out = validate_in(&fx.root(), &["bad.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let told = located(&stderr, "bad.yaml");
    assert!(
        told.iter().any(|l| l.message.starts_with("objectives.rto")),
        "{stderr}"
    );
    assert!(
        told.iter().any(|l| l.message.starts_with("warning: ")
            && l.message.contains("LIFEBOAT_TEST_UNSET_HOOK")),
        "{stderr}"
    );

    let d = fx.drill_file(&path, &[]);
    d.assert_code(2);
    assert!(
        d.stderr
            .contains("environment variable LIFEBOAT_TEST_UNSET_HOOK is not set")
            && !d.stderr.contains("warning"),
        "{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists());
    let out = fx.run(&["schedule", "--state", "state.db", "runbook.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LIFEBOAT_TEST_UNSET_HOOK is not set"),
        "{out:?}"
    );
    // `status` needs only the runbook's name and schedule: it shows the runbook.
    let out = fx.run(&["status", "--state", "state.db", "runbook.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("drill-test"),
        "{out:?}"
    );
}

/// Every runbook the project ships must validate (rustic's `tests/config.rs` habit).
#[test]
fn shipped_runbooks_validate() {
    let mut files = Vec::new();
    for dir in ["runbooks", "examples"] {
        collect_yaml(&repo_root().join(dir), &mut files);
    }
    assert!(
        files.iter().any(|f| f.ends_with("examples/local.yaml")),
        "{files:?}"
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut cmd = lifeboat();
        // Shipped runbooks may read credentials with "${VAR}": give each one a dummy value.
        for var in env_refs(&text) {
            cmd.env(&var, "dummy-value-for-validate");
        }
        let out = cmd.arg("validate").arg(&file).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        // examples/backup/ is a generated backup set, not shipped.
        if path.is_dir() && !path.ends_with("examples/backup") {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn env_refs(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

#[test]
fn drill_of_an_invalid_runbook_writes_nothing() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let mut rb = fx.runbook();
    rb.extra = "manfest: {}\n".into();
    let d = fx.drill(&rb, &[]);
    d.assert_code(2);
    assert!(d.stderr.contains("runbook.yaml:"), "{}", d.context());
    assert!(!fx.evidence_dir().exists(), "evidence dir created");
    assert!(
        std::fs::read_dir(fx.scratch_dir())
            .unwrap()
            .next()
            .is_none(),
        "scratch used"
    );
}

#[test_case(&["--now", "yesterday"] ; "bad now")]
#[test_case(&["--seed", "-1"] ; "negative seed")]
#[test_case(&["--seed", "many"] ; "non-numeric seed")]
#[test_case(&["--no-such-flag"] ; "unknown flag")]
fn bad_drill_arguments_are_exit_2_and_write_nothing(args: &[&str]) {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), args);
    d.assert_code(2);
    assert!(!d.stderr.trim().is_empty());
    assert!(!fx.evidence_dir().exists(), "evidence dir created");
}

#[test]
fn drill_of_a_missing_runbook_is_exit_2() {
    let fx = Fixture::new();
    let d = fx.drill_file(&fx.root().join("nope.yaml"), &[]);
    d.assert_code(2);
    assert!(d.stderr.contains("nope.yaml"), "{}", d.context());
    assert!(!fx.evidence_dir().exists());
}

#[test]
fn unknown_command_is_exit_2() {
    let fx = Fixture::new();
    let out = fx.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
