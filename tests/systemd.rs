//! The systemd unit in examples/systemd: lifeboat accepts its command line, its stop timeout
//! outlasts the grace period, and `systemd-analyze verify` accepts it where systemd is
//! installed.

use std::path::Path;

use crate::util::{lifeboat, repo_root};

fn unit() -> String {
    std::fs::read_to_string(repo_root().join("examples/systemd/lifeboat-schedule.service")).unwrap()
}

/// `Key=value` lines of the unit, continuation lines joined.
fn settings(unit: &str) -> Vec<(String, String)> {
    let joined = unit.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('[') && !l.is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn one(settings: &[(String, String)], key: &str) -> String {
    let found: Vec<&String> = settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(found.len(), 1, "{key}: {found:?}");
    found[0].clone()
}

fn exec_start_args(settings: &[(String, String)]) -> Vec<String> {
    one(settings, "ExecStart")
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag}"));
    &args[i + 1]
}

fn secs(duration: &str) -> u64 {
    // systemd's `6min` and lifeboat's `5m` both reduce to lifeboat's parser here.
    lifeboat_core::duration::parse(&duration.replace("min", "m"))
        .unwrap_or_else(|e| panic!("{duration}: {e}"))
        .as_secs()
}

#[test]
fn the_units_command_line_is_one_lifeboat_accepts() {
    let s = settings(&unit());
    let args = exec_start_args(&s);
    assert_eq!(args[0], "schedule");
    // clap parses every flag and value before acting on --help: a typo or a bad value fails.
    let out = lifeboat().args(&args).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn the_unit_stops_with_sigterm_after_the_grace_period_and_reloads_with_sighup() {
    let s = settings(&unit());
    let args = exec_start_args(&s);
    assert_eq!(one(&s, "Type"), "simple");
    assert_eq!(one(&s, "KillSignal"), "SIGTERM");
    assert_eq!(one(&s, "KillMode"), "mixed");
    assert!(one(&s, "ExecReload").contains("-HUP $MAINPID"));
    // Grace, then up to 30 s for interrupted drills to write their evidence, then SIGKILL.
    let grace = secs(after(&args, "--grace"));
    let interrupt_wait = lifeboat_scheduler::daemon::INTERRUPT_WAIT.as_secs();
    assert!(
        secs(&one(&s, "TimeoutStopSec")) > grace + interrupt_wait,
        "TimeoutStopSec must outlast --grace + {interrupt_wait}s"
    );
}

#[test]
fn the_unit_may_write_only_where_lifeboat_writes() {
    let s = settings(&unit());
    let args = exec_start_args(&s);
    assert_eq!(one(&s, "ProtectSystem"), "strict");
    assert_eq!(one(&s, "User"), "lifeboat");
    let writable = one(&s, "ReadWritePaths");
    for flag in ["--state", "--evidence-dir", "--scratch-dir"] {
        assert!(
            Path::new(after(&args, flag)).starts_with(&writable),
            "{flag} is outside ReadWritePaths={writable}"
        );
    }
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let Ok(version) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("SKIPPED: systemd-analyze is not installed; the unit was not verified");
        return;
    };
    assert!(version.status.success());
    // verify checks that ExecStart exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lifeboat-schedule.service");
    std::fs::write(
        &copy,
        unit().replace("/usr/local/bin/lifeboat", env!("CARGO_BIN_EXE_lifeboat")),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("lifeboat-schedule.service"),
        "warnings about the unit: {stderr}"
    );
}
