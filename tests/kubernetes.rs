//! The Kubernetes Deployment in deploy/kubernetes: lifeboat accepts its runners' command
//! line, its pods outlast the grace period on a rollout, and no password sits in it.

use crate::util::{lifeboat, repo_root};

fn manifest() -> String {
    std::fs::read_to_string(repo_root().join("deploy/kubernetes/lifeboat-fleet.yaml")).unwrap()
}

/// The container's `args:`, one `- ITEM` line each.
fn args(manifest: &str) -> Vec<String> {
    let mut lines = manifest.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut args = Vec::new();
    for line in lines.by_ref() {
        let Some(item) = line.trim().strip_prefix("- ") else {
            break;
        };
        args.push(item.to_owned());
    }
    assert!(!args.is_empty(), "no args: in the manifest");
    args
}

fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag}"));
    &args[i + 1]
}

#[test]
fn the_runners_command_line_is_one_lifeboat_accepts() {
    let args = args(&manifest());
    assert_eq!(args[0], "schedule");
    // clap parses every flag and value before acting on --help: a typo or a bad value fails.
    let out = lifeboat().args(&args).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for flag in [
        "--state",
        "--runner",
        "--lease",
        "--labels",
        "--evidence-dir",
    ] {
        after(&args, flag);
    }
}

#[test]
fn a_pod_outlasts_the_grace_period_and_holds_no_password() {
    let manifest = manifest();
    let args = args(&manifest);
    let grace = lifeboat_core::duration::parse(after(&args, "--grace"))
        .unwrap()
        .as_secs();
    let period: u64 = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .expect("terminationGracePeriodSeconds")
        .trim()
        .parse()
        .unwrap();
    let interrupt_wait = lifeboat_scheduler::daemon::INTERRUPT_WAIT.as_secs();
    assert!(
        period > grace + interrupt_wait,
        "terminationGracePeriodSeconds must outlast --grace + {interrupt_wait}s"
    );
    // The state URL carries no password (lifeboat refuses one); PGPASSWORD comes from a Secret.
    let state = after(&args, "--state");
    let authority = state.split('/').nth(2).unwrap();
    assert!(
        !authority.split('@').next().unwrap().contains(':'),
        "{state}"
    );
    assert!(
        manifest
            .contains("name: PGPASSWORD\n              valueFrom:\n                secretKeyRef")
    );
}
