//! The steps other than `restore`: `run`/`shell`, `http`, `approve` and `wait`, each bounded by
//! its `timeout`, each ending in a [`StepResult`] whose `detail` says what happened.
//!
//! A `run` step is started in its own process group, so a hung command is killed with every
//! process it started. What evidence records is the command that ran, never with `${VAR}`
//! expanded: the shell expands those, lifeboat never sees their values.
//!
//! `{scratch}` and `{recovery_point}` come from the backup (see
//! [`lifeboat_core::runbook::placeholder`]): a `shell:` step runs the script validation made,
//! which names them only as `$LIFEBOAT_SCRATCH` / `$LIFEBOAT_RECOVERY_POINT`; a `run:`
//! argument or `env:` value gets the value as it is; an `http` URL gets it percent-encoded.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use lifeboat_core::evidence::{Outcome, StepResult};
use lifeboat_core::runbook::placeholder::{self, Placeholder};
use lifeboat_core::runbook::{Command, EnvVar, Step, StepKind, Unattended};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

/// `timeout` of a `run`/`shell` step that sets none: a check must never hang a drill forever.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest a single HTTP request of an `http` step may take.
pub const HTTP_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of stdout and stderr kept (the end of each) in a run step's evidence.
pub const OUTPUT_TAIL_BYTES: usize = 4096;
/// Bytes of a response body read to look for `expect_body`.
pub const HTTP_BODY_LIMIT: usize = 1024 * 1024;
/// How long a command's output is still read after it exited or was killed; a process that
/// left the group (setsid) and kept the pipe open is not waited for longer.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Someone at the terminal, for a manual drill (`lifeboat drill --interactive`). Calls block
/// (they wait for a person); the drill runs them on a blocking thread.
pub trait Operator: Send + Sync {
    /// The operator's name, recorded in the evidence.
    fn name(&self) -> &str;
    /// Shows a step before it runs and asks whether to go on. `None`: no answer (the terminal
    /// closed).
    fn go_on(&self, what: &StepView) -> Option<Answer>;
    /// Asks an `approve` step's question. `None`: no answer (the terminal closed).
    fn approve(&self, prompt: &str) -> Option<Answer>;
}

/// What the operator is shown about a step before it runs.
#[derive(Clone, Debug)]
pub struct StepView {
    /// `steps[2]` or `finally[0]`.
    pub key: String,
    /// The recovery point the step runs for, if any.
    pub recovery_point: Option<String>,
    pub kind: &'static str,
    pub name: Option<String>,
    /// The step in one line, as the runbook writes it.
    pub summary: String,
}

/// An operator's answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub yes: bool,
    /// What was typed, trimmed.
    pub text: String,
    /// An optional note typed after the answer.
    pub note: Option<String>,
    pub asked_at: Timestamp,
    pub answered_at: Timestamp,
}

/// Where a step runs, and what its placeholders stand for.
pub struct StepEnv<'a> {
    /// `{scratch}`: the folder holding the point's restored files (the step's working folder).
    pub scratch: &'a Path,
    /// `{recovery_point}`.
    pub recovery_point: &'a str,
    pub operator: Option<&'a Arc<dyn Operator>>,
    pub http: &'a reqwest::Client,
    /// Stops the step: a `run` step's process group is killed, the others are dropped.
    pub cancel: &'a CancellationToken,
}

/// The step in one line, as the runbook writes it (placeholders not substituted).
pub fn summary(kind: &StepKind) -> String {
    match kind {
        StepKind::Restore => "restore and verify the sampled files".to_owned(),
        StepKind::Run {
            command: Command::Argv(argv),
            ..
        } => argv_text(argv),
        StepKind::Run {
            command: Command::Shell { text, .. },
            ..
        } => format!("sh -c {}", shell_quote(text)),
        StepKind::Http {
            url_template,
            method,
            expect_status,
            ..
        } => format!("{method} {url_template}, expecting {expect_status}"),
        StepKind::Approve { prompt, .. } => prompt.clone(),
        StepKind::Wait(d) => format!("wait {}", lifeboat_core::duration::format(*d)),
    }
}

fn argv_text(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./{}=:,+@%".contains(c))
            {
                a.clone()
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one step that is not `restore`.
pub async fn execute(step: &Step, env: &StepEnv<'_>) -> StepResult {
    let started_at = Timestamp::now();
    let mut detail = BTreeMap::new();
    let (outcome, reason) = match &step.kind {
        StepKind::Restore => (
            Outcome::Error,
            Some("internal error: restore is not run here".to_owned()),
        ),
        StepKind::Run {
            command,
            expect_exit,
            expect_stdout,
            env: vars,
        } => {
            let timeout = step.timeout.unwrap_or(DEFAULT_RUN_TIMEOUT);
            run(
                command,
                *expect_exit,
                expect_stdout.as_deref(),
                vars,
                timeout,
                env,
                &mut detail,
            )
            .await
        }
        StepKind::Http { .. } => {
            let work = bounded(step.timeout, http(&step.kind, env, &mut detail));
            interruptible(env.cancel, work).await
        }
        StepKind::Approve {
            prompt, unattended, ..
        } => {
            let work = bounded(step.timeout, approve(prompt, *unattended, env, &mut detail));
            interruptible(env.cancel, work).await
        }
        StepKind::Wait(d) => {
            detail.insert("duration".into(), lifeboat_core::duration::format(*d));
            let work = bounded(step.timeout, async {
                tokio::time::sleep(*d).await;
                (Outcome::Passed, None)
            });
            interruptible(env.cancel, work).await
        }
    };
    StepResult {
        kind: step.kind.name().to_owned(),
        name: step.name.clone(),
        started_at,
        finished_at: Timestamp::now(),
        outcome,
        reason,
        detail: (!detail.is_empty()).then_some(detail),
    }
}

/// The step's future, failed with "timed out" when `timeout` passes first.
async fn bounded(
    timeout: Option<Duration>,
    work: impl Future<Output = (Outcome, Option<String>)>,
) -> (Outcome, Option<String>) {
    match timeout {
        None => work.await,
        Some(t) => match tokio::time::timeout(t, work).await {
            Ok(r) => r,
            Err(_) => (
                Outcome::Failed,
                Some(format!(
                    "timed out after {}",
                    lifeboat_core::duration::format(t)
                )),
            ),
        },
    }
}

/// The step's future, failed with reason `interrupted` when the drill is cancelled first.
async fn interruptible(
    cancel: &CancellationToken,
    work: impl Future<Output = (Outcome, Option<String>)>,
) -> (Outcome, Option<String>) {
    tokio::select! {
        r = work => r,
        () = cancel.cancelled() => (Outcome::Failed, Some(crate::INTERRUPTED.to_owned())),
    }
}

/// `'text'`, safe to paste into `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A value as it is: for a `run:` argument or an `env:` value, which no shell reads.
fn as_is(value: &str) -> String {
    value.to_owned()
}

/// The end of a stream, at most [`OUTPUT_TAIL_BYTES`], and whether a needle was seen anywhere
/// in it (matched across read boundaries without keeping the whole output).
struct Capture {
    tail: Vec<u8>,
    needle: Option<Vec<u8>>,
    carry: Vec<u8>,
    found: bool,
    total: u64,
}

impl Capture {
    fn new(needle: Option<&str>) -> Self {
        Capture {
            tail: Vec::new(),
            needle: needle.map(|n| n.as_bytes().to_vec()),
            carry: Vec::new(),
            found: false,
            total: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.tail.extend_from_slice(chunk);
        if self.tail.len() > OUTPUT_TAIL_BYTES {
            let cut = self.tail.len() - OUTPUT_TAIL_BYTES;
            self.tail.drain(..cut);
        }
        if let Some(needle) = &self.needle
            && !self.found
        {
            self.carry.extend_from_slice(chunk);
            if needle.is_empty() || self.carry.windows(needle.len()).any(|w| w == needle) {
                self.found = true;
            }
            let keep = needle.len().saturating_sub(1);
            if self.carry.len() > keep {
                let cut = self.carry.len() - keep;
                self.carry.drain(..cut);
            }
        }
    }

    fn tail_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.tail).into_owned();
        if self.total > self.tail.len() as u64 {
            format!("…{text}")
        } else {
            text
        }
    }
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

async fn run(
    command: &Command,
    expect_exit: i32,
    expect_stdout: Option<&str>,
    vars: &[EnvVar],
    timeout: Duration,
    env: &StepEnv<'_>,
    detail: &mut BTreeMap<String, String>,
) -> (Outcome, Option<String>) {
    let scratch = env.scratch.display().to_string();
    let (program, args, shown) = match command {
        Command::Argv(argv) => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| placeholder::substitute(a, &scratch, env.recovery_point, &as_is))
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
    detail.insert("timeout".into(), lifeboat_core::duration::format(timeout));
    if let Err(e) = std::fs::create_dir_all(env.scratch) {
        return (
            Outcome::Failed,
            Some(format!(
                "cannot create the working folder {}: {e}",
                env.scratch.display()
            )),
        );
    }
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .current_dir(env.scratch)
        .envs(vars.iter().map(|v| {
            (
                v.name.as_str(),
                placeholder::substitute(&v.value, &scratch, env.recovery_point, &as_is),
            )
        }))
        .env(Placeholder::Scratch.var(), env.scratch)
        .env(Placeholder::RecoveryPoint.var(), env.recovery_point)
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
            return (
                Outcome::Failed,
                Some(format!("cannot start {program}: {e}")),
            );
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
                () = env.cancel.cancelled() => break None,
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
            detail.insert("interrupted".into(), "true".into());
            return (
                Outcome::Failed,
                Some(format!(
                    "{}: killed with its process group",
                    crate::INTERRUPTED
                )),
            );
        }
        Some(status) => status,
    };
    let status = match status {
        None => {
            detail.insert("timed_out".into(), "true".into());
            return (
                Outcome::Failed,
                Some(format!(
                    "timed out after {}: killed with its process group",
                    lifeboat_core::duration::format(timeout)
                )),
            );
        }
        Some(Err(e)) => {
            return (
                Outcome::Failed,
                Some(format!("cannot wait for {program}: {e}")),
            );
        }
        Some(Ok(s)) => s,
    };
    let Some(code) = status.code() else {
        detail.insert("exit_code".into(), "none".into());
        return (
            Outcome::Failed,
            Some(format!("{program} was killed by a signal ({status})")),
        );
    };
    detail.insert("exit_code".into(), code.to_string());
    if code != expect_exit {
        return (
            Outcome::Failed,
            Some(format!("exit code {code}, expected {expect_exit}")),
        );
    }
    if let Some(needle) = expect_stdout
        && !out.found
    {
        return (
            Outcome::Failed,
            Some(format!(
                "stdout does not contain {:?} (its end is in the evidence)",
                needle
            )),
        );
    }
    (Outcome::Passed, None)
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

/// An error and its sources in one line, without the URL (reqwest puts it in its messages;
/// a probe's URL may hold a token from `${VAR}`).
pub(crate) fn http_error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

async fn http(
    kind: &StepKind,
    env: &StepEnv<'_>,
    detail: &mut BTreeMap<String, String>,
) -> (Outcome, Option<String>) {
    let StepKind::Http {
        url,
        url_template,
        method,
        expect_status,
        expect_body,
        retries,
        interval,
    } = kind
    else {
        return (
            Outcome::Error,
            Some("internal error: not an http step".into()),
        );
    };
    detail.insert("url".into(), url_template.clone());
    detail.insert("method".into(), method.clone());
    let url = match probe_url(url, &env.scratch.display().to_string(), env.recovery_point) {
        Ok(url) => url,
        Err(reason) => return (Outcome::Failed, Some(reason)),
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let attempts = retries.saturating_add(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(*interval).await;
        }
        detail.insert("attempts".into(), attempt.to_string());
        let sent = env
            .http
            .request(method.clone(), url.as_str())
            .timeout(HTTP_REQUEST_TIMEOUT)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                last = format!("request failed: {}", http_error_text(e));
                continue;
            }
        };
        let status = response.status().as_u16();
        detail.insert("status".into(), status.to_string());
        if status != *expect_status {
            last = format!("status {status}, expected {expect_status}");
            continue;
        }
        let Some(needle) = expect_body else {
            return (Outcome::Passed, None);
        };
        let mut body = Capture::new(Some(needle));
        let mut read = 0usize;
        let mut failed = None;
        while read < HTTP_BODY_LIMIT && !body.found {
            match response.chunk().await {
                Ok(Some(c)) => {
                    read += c.len();
                    body.push(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(format!("reading the body failed: {}", http_error_text(e)));
                    break;
                }
            }
        }
        if body.found {
            return (Outcome::Passed, None);
        }
        last = failed.unwrap_or_else(|| {
            format!(
                "status {status}, but the body (first {} read) does not contain {needle:?}",
                human_size(read)
            )
        });
    }
    let tries = if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    };
    (Outcome::Failed, Some(format!("{last} (after {tries})")))
}

/// The URL an `http` step requests for this point: each placeholder's value
/// percent-encoded, so no byte of it can end the path, start a query or fragment, or name
/// another host (validation keeps placeholders out of the host). URL parsing still drops a
/// path segment that is `.` or `..` (also spelled `%2E`): a value that would do so, and so
/// change which path is requested, fails the step instead.
fn probe_url(url: &str, scratch: &str, recovery_point: &str) -> Result<String, String> {
    if placeholder::find(url).is_empty() {
        return Ok(url.to_owned());
    }
    let with = |scratch: &str, point: &str| {
        placeholder::substitute(url, scratch, point, &placeholder::url_component)
    };
    let shape = |u: &str| {
        reqwest::Url::parse(u).ok().map(|u| {
            (
                u.host_str().map(str::to_owned),
                u.port(),
                u.path_segments().map(Iterator::count),
            )
        })
    };
    let real = with(scratch, recovery_point);
    if shape(&real) != shape(&with("x", "x")) {
        return Err(
            "not requested: the recovery point's id or scratch path would change the URL's path \
             (a `.` or `..` segment)"
                .to_owned(),
        );
    }
    Ok(real)
}

fn human_size(n: usize) -> String {
    if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

async fn approve(
    prompt: &str,
    unattended: Option<Unattended>,
    env: &StepEnv<'_>,
    detail: &mut BTreeMap<String, String>,
) -> (Outcome, Option<String>) {
    detail.insert("prompt".into(), prompt.to_owned());
    let Some(operator) = env.operator.cloned() else {
        return match unattended {
            Some(Unattended::Pass) => {
                detail.insert("answer".into(), "unattended: pass".into());
                (Outcome::Passed, None)
            }
            Some(Unattended::Fail) => {
                detail.insert("answer".into(), "unattended: fail".into());
                (
                    Outcome::Failed,
                    Some("no operator to confirm (unattended: fail)".to_owned()),
                )
            }
            None => (
                Outcome::Failed,
                Some("needs an operator: run with --interactive --operator NAME".to_owned()),
            ),
        };
    };
    let name = operator.name().to_owned();
    detail.insert("operator".into(), name.clone());
    let question = prompt.to_owned();
    let asked = tokio::task::spawn_blocking(move || operator.approve(&question)).await;
    match asked.ok().flatten() {
        None => (
            Outcome::Failed,
            Some(format!("no answer from {name}: the terminal closed")),
        ),
        Some(a) => {
            record_answer(detail, "", &a);
            if a.yes {
                (Outcome::Passed, None)
            } else {
                (
                    Outcome::Failed,
                    Some(format!("{name} answered {:?}", a.text)),
                )
            }
        }
    }
}

/// An answer's fields in a step's detail, each key prefixed with `prefix`.
pub fn record_answer(detail: &mut BTreeMap<String, String>, prefix: &str, a: &Answer) {
    detail.insert(format!("{prefix}answer"), a.text.clone());
    if let Some(note) = &a.note {
        detail.insert(format!("{prefix}note"), note.clone());
    }
    detail.insert(format!("{prefix}asked_at"), a.asked_at.to_string());
    detail.insert(format!("{prefix}answered_at"), a.answered_at.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_tail_and_finds_needles_across_chunks() {
        let mut c = Capture::new(Some("okay"));
        c.push(b"xxo");
        c.push(b"ka");
        assert!(!c.found);
        c.push(b"y!");
        assert!(c.found);
        let mut big = Capture::new(None);
        big.push(&vec![b'a'; OUTPUT_TAIL_BYTES + 10]);
        big.push(b"END");
        assert_eq!(big.tail.len(), OUTPUT_TAIL_BYTES);
        assert!(big.tail_text().starts_with('…') && big.tail_text().ends_with("END"));
    }

    #[test]
    fn a_probe_url_holds_each_value_as_one_encoded_component() {
        let url = "http://127.0.0.1:8080/points/{recovery_point}/ok?dir={scratch}";
        assert_eq!(
            probe_url(url, "/tmp/s x", "a/b?c#d@e%2e%2e").unwrap(),
            "http://127.0.0.1:8080/points/a%2Fb%3Fc%23d%40e%252e%252e/ok?dir=%2Ftmp%2Fs%20x"
        );
        // URL parsing would drop these segments and the one before: refused, not requested.
        for point in [".", ".."] {
            assert!(probe_url(url, "/s", point).is_err(), "{point}");
        }
        // In the query a dot is just a dot.
        assert!(probe_url("http://h/x?p={recovery_point}", "/s", "..").is_ok());
        assert_eq!(
            probe_url("http://h/{x}", "/s", "..").unwrap(),
            "http://h/{x}"
        );
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
