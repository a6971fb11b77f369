//! `run:` and `shell:` steps: a command started in its own process group, so a hung command is
//! killed with every process it started, bounded by its `timeout` (default
//! [`DEFAULT_RUN_TIMEOUT`]), checked for its exit code and, optionally, a string in its
//! stdout. What evidence records is the command as it ran, never with `${VAR}` expanded: the
//! shell expands those, lifeboat never sees their values.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lifeboat_core::runbook::placeholder::{self, Placeholder};
use lifeboat_core::runbook::{Command, EnvVar};
use tokio::io::AsyncReadExt;

use super::capture::Capture;
use super::{Ended, StepContext, argv_text, shell_quote};
use crate::DrillError;

/// `timeout` of a `run`/`shell` step that sets none: a check must never hang a drill forever.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Bytes of stdout and stderr kept (the end of each) in a run step's evidence.
pub const OUTPUT_TAIL_BYTES: usize = 4096;
/// How long a command's output is still read after it exited or was killed; a process that
/// left the group (setsid) and kept the pipe open is not waited for longer.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// What a `run` step expects of its command.
#[derive(Clone, Copy, Debug)]
pub(super) struct Check<'a> {
    /// `expect_exit` (default 0).
    pub expect_exit: i32,
    /// `expect_stdout`: a string the output must contain somewhere.
    pub expect_stdout: Option<&'a str>,
}

/// A value as it is: for a `run:` argument or an `env:` value, which no shell reads.
fn as_is(value: &str) -> String {
    value.to_owned()
}

/// Runs `command` with `vars` set, for at most `timeout`, and checks its exit code and
/// output. `Err`: the drill was stopped while it ran (the command was killed with its group).
pub(super) async fn run(
    command: &Command,
    vars: &[EnvVar],
    check: Check<'_>,
    timeout: Duration,
    ctx: &StepContext<'_>,
    detail: &mut BTreeMap<String, String>,
) -> Result<Ended, DrillError> {
    let Check {
        expect_exit,
        expect_stdout,
    } = check;
    let scratch = ctx.scratch.display().to_string();
    let (program, args, shown) = match command {
        Command::Argv(argv) => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| placeholder::substitute(a, &scratch, ctx.recovery_point, &as_is))
                .collect();
            (argv[0].clone(), argv[1..].to_vec(), argv_text(&argv))
        }
        // The script names the values only as variables: no byte of them is shell text.
        Command::Shell { script, .. } => (
            "sh".to_owned(),
            vec!["-c".to_owned(), script.clone()],
            format!("sh -c {}", shell_quote(script)),
        ),
    };
    detail.insert("command".into(), shown);
    // The templates only: a value may come from `${VAR}` and hold a secret.
    for v in vars {
        detail.insert(format!("env.{}", v.name), v.template.clone());
    }
    detail.insert(
        "timeout".into(),
        lifeboat_core::duration::human(timeout.as_secs_f64()),
    );
    if let Err(e) = std::fs::create_dir_all(ctx.scratch) {
        return Ok(Ended::Failed(format!(
            "cannot create the working folder {}: {e}",
            ctx.scratch.display()
        )));
    }
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .current_dir(ctx.scratch)
        .envs(vars.iter().map(|v| {
            (
                v.name.as_str(),
                placeholder::substitute(&v.value, &scratch, ctx.recovery_point, &as_is),
            )
        }))
        .env(Placeholder::Scratch.var(), ctx.scratch)
        .env(Placeholder::RecoveryPoint.var(), ctx.recovery_point)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let clock = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ok(Ended::Failed(format!("cannot start {program}: {e}")));
        }
    };
    // Killed when the step ends, however it ends (also if this future is dropped).
    let group = child.id().map(Group::new);
    let mut out = Capture::new(expect_stdout);
    let mut err = Capture::new(None);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // In a block, so the reads' borrows of the captures end with it.
    let status = {
        let reading = async {
            tokio::join!(
                async {
                    if let Some(p) = stdout {
                        read_into(p, &mut out).await;
                    }
                },
                async {
                    if let Some(p) = stderr {
                        read_into(p, &mut err).await;
                    }
                }
            );
        };
        tokio::pin!(reading);
        let mut read_done = false;
        let deadline = tokio::time::Instant::now() + timeout;
        let status = loop {
            tokio::select! {
                status = child.wait() => break Some(Some(status)),
                () = &mut reading, if !read_done => read_done = true,
                () = tokio::time::sleep_until(deadline) => break Some(None),
                () = ctx.cancel.cancelled() => break None,
            }
        };
        // Whatever the command left running in its group goes with it, on success as on timeout.
        drop(group);
        let _ = child.start_kill();
        let _ = child.wait().await;
        if !read_done {
            let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, &mut reading).await;
        }
        status
    };
    let elapsed = clock.elapsed();
    detail.insert(
        "duration_seconds".into(),
        format!("{:.3}", elapsed.as_secs_f64()),
    );
    detail.insert("stdout_tail".into(), out.tail_text());
    detail.insert("stderr_tail".into(), err.tail_text());
    let status = match status {
        None => {
            // Killed with its group like a timed-out one; the point is not recorded.
            return Err(DrillError::Interrupted);
        }
        Some(status) => status,
    };
    let status = match status {
        None => {
            detail.insert("timed_out".into(), "true".into());
            return Ok(Ended::Failed(format!(
                "timed out after {}: killed with its process group",
                lifeboat_core::duration::human(timeout.as_secs_f64())
            )));
        }
        Some(Err(e)) => {
            return Ok(Ended::Failed(format!("cannot wait for {program}: {e}")));
        }
        Some(Ok(s)) => s,
    };
    let Some(code) = status.code() else {
        detail.insert("exit_code".into(), "none".into());
        return Ok(Ended::Failed(format!(
            "{program} was killed by a signal ({status})"
        )));
    };
    detail.insert("exit_code".into(), code.to_string());
    if code != expect_exit {
        return Ok(Ended::Failed(format!(
            "exit code {code}, expected {expect_exit}"
        )));
    }
    if let Some(needle) = expect_stdout
        && !out.found
    {
        return Ok(Ended::Failed(format!(
            "stdout does not contain {:?} (its end is in the evidence)",
            needle
        )));
    }
    Ok(Ended::Passed)
}

async fn read_into(mut pipe: impl tokio::io::AsyncRead + Unpin, capture: &mut Capture) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => capture.push(&buf[..n]),
        }
    }
}

/// Process groups of `run` steps running now, so a process that exits without unwinding (a
/// second signal) can still take them with it: see [`kill_running_steps`].
static RUNNING_GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn running_groups() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING_GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills (SIGKILL) the process group of every `run` step still running. For a process about
/// to exit without finishing its drills (`std::process::exit`, or leaving drills behind):
/// each step's group was made for it and would otherwise outlive lifeboat.
pub fn kill_running_steps() {
    for pid in running_groups().drain(..) {
        kill_pg(pid);
    }
}

#[cfg(unix)]
fn kill_pg(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // The group was made for one command (`process_group(0)`), so its id is the pid and it
        // holds nothing else; killing an already empty group just fails with ESRCH.
        #[allow(unsafe_code)]
        // SAFETY: killpg takes plain integers and touches no memory of ours.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_pg(_pid: u32) {}

/// A running step's process group: registered for [`kill_running_steps`] while it lives,
/// killed (SIGKILL) when dropped.
struct Group(u32);

impl Group {
    fn new(pid: u32) -> Self {
        running_groups().push(pid);
        Group(pid)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let mut running = running_groups();
        // Already killed by kill_running_steps when gone from the list: never kill a group
        // id twice (it could have been reused by then).
        if let Some(i) = running.iter().position(|&p| p == self.0) {
            running.swap_remove(i);
            kill_pg(self.0);
        }
    }
}
