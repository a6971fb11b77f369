//! Steps, `finally` and `notify`, through the real binary: run/shell checks on the restored
//! files, timeouts that kill a whole process group, http probes and webhooks against a local
//! HTTP server, and manual drills driven through stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::util::{DAY1, DAY2, Drill, Fixture, lifeboat};

/// A request the test server received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: answers the n-th request with `answers[n]` (the last
/// one repeats) and records every request.
pub struct Server {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(answers: Vec<(u16, &'static str)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let mut parts = first.split_whitespace();
                seen.lock().unwrap().push(Request {
                    method: parts.next().unwrap_or_default().to_owned(),
                    path: parts.next().unwrap_or_default().to_owned(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let (status, text) = answers[n.min(answers.len() - 1)];
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Server { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Two good points, DAY1 newest.
fn two_points() -> Fixture {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum);
    fx
}

fn steps_of(point: &Value) -> Vec<&Value> {
    point["steps"]
        .as_array()
        .expect("steps array")
        .iter()
        .collect()
}

fn kinds(point: &Value) -> Vec<&str> {
    steps_of(point)
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect()
}

/// `lifeboat drill` with `stdin` fed in and extra environment variables.
pub fn drill_with(
    fx: &Fixture,
    yaml: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> Drill {
    let path = fx.write("runbook.yaml", yaml);
    let mut cmd = fx.drill_command(&path, args);
    cmd.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    Drill::new(child.wait_with_output().unwrap(), &fx.evidence_dir())
}

#[test]
fn run_step_checks_restored_files_in_the_points_scratch_folder() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        extra: r#"steps:
  - restore: {}
  - name: config restored
    run: ["sh", "-c", "grep -q 'port = 8080' \"$1\" && echo \"in $PWD for $LIFEBOAT_RECOVERY_POINT at $LIFEBOAT_SCRATCH\" && echo oops >&2", "sh", "{scratch}/etc/app.conf"]
    expect_stdout: "for {recovery_point}"
"#
        .into(),
        ..fx.runbook()
    };
    // `expect_stdout` is literal text: `{recovery_point}` there is not a placeholder.
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    let run = steps_of(d.point(DAY1))[1];
    assert_eq!(run["outcome"], "failed", "{}", d.context());
    assert!(
        Drill::reason(run).contains("stdout does not contain"),
        "{}",
        d.context()
    );

    let rb = crate::util::Runbook {
        extra: rb
            .extra
            .replace("for {recovery_point}", "for 2026-11-21T020000Z at /"),
        ..rb
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    let point = d.point(DAY1);
    assert_eq!(kinds(point), ["restore", "run"]);
    let run = steps_of(point)[1];
    assert_eq!(run["name"], "config restored");
    assert_eq!(run["outcome"], "passed");
    let detail = &run["detail"];
    assert_eq!(detail["exit_code"], "0", "{}", d.context());
    let stdout = detail["stdout_tail"].as_str().unwrap();
    let scratch = d.evidence["scratch"]["path"].as_str().unwrap();
    let point_dir = format!("{scratch}/{DAY1}");
    assert_eq!(
        stdout.trim(),
        format!("in {point_dir} for {DAY1} at {point_dir}"),
        "cwd, LIFEBOAT_RECOVERY_POINT and LIFEBOAT_SCRATCH"
    );
    assert_eq!(detail["stderr_tail"].as_str().unwrap().trim(), "oops");
    assert!(
        detail["command"]
            .as_str()
            .unwrap()
            .contains(&format!("{point_dir}/etc/app.conf")),
        "placeholders substituted: {}",
        d.context()
    );
    assert!(
        detail["duration_seconds"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok()
    );
    // Measured RTO ends after the last step of the point that passed.
    let finished: jiff::Timestamp = point["finished_at"].as_str().unwrap().parse().unwrap();
    let run_end: jiff::Timestamp = run["finished_at"].as_str().unwrap().parse().unwrap();
    assert!(run_end <= finished);
}

#[test]
fn a_failed_step_fails_the_point_and_the_fallback_point_runs_every_step_again() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        rpo: Some("3d".into()),
        extra: format!(
            r#"steps:
  - restore: {{}}
  - shell: "test {{recovery_point}} != {DAY1}"
  - wait: 1s
"#
        ),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    let newest = d.point(DAY1);
    assert_eq!(newest["outcome"], "failed");
    // The failed step ends the point: the wait never ran there.
    assert_eq!(kinds(newest), ["restore", "run"]);
    assert_eq!(steps_of(newest)[1]["detail"]["exit_code"], "1");
    assert!(
        Drill::reason(newest).starts_with("steps[1] (run) failed: exit code 1, expected 0"),
        "{}",
        d.context()
    );
    let older = d.point(DAY2);
    assert_eq!(older["outcome"], "passed");
    assert_eq!(kinds(older), ["restore", "run", "wait"]);
    assert_eq!(d.measured("recovery_point"), DAY2);
    // RTO covers both points' steps, including the 1 s wait of the one that passed.
    assert!(
        d.measured("rto_seconds").as_f64().unwrap() >= 1.0,
        "{}",
        d.context()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_hung_command_is_killed_with_its_process_group_at_the_timeout() {
    let fx = two_points();
    let pid_file = fx.root().join("bg.pid");
    let rb = crate::util::Runbook {
        select: "all".into(),
        extra: format!(
            r#"steps:
  - restore: {{}}
  - shell: "sleep 300 & echo $! > {}; sleep 300"
    timeout: 1s
"#,
            pid_file.display()
        ),
        ..fx.runbook()
    };
    let started = Instant::now();
    let d = fx.drill(&rb, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{}",
        d.context()
    );
    d.assert_code(1);
    let run = steps_of(d.point(DAY1))[1];
    assert_eq!(run["outcome"], "failed");
    assert_eq!(
        Drill::reason(run),
        "timed out after 1s: killed with its process group"
    );
    assert_eq!(run["detail"]["timed_out"], "true");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc = Path::new("/proc").join(pid.trim());
    // The background sleep was in the same group: it must be gone (or a zombie being reaped).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let state = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
        let gone = state.is_empty() || state.split_whitespace().nth(2) == Some("Z");
        if gone {
            break;
        }
        assert!(Instant::now() < deadline, "pid {pid} survived: {state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn finally_runs_after_a_failure_and_a_failed_finally_step_fails_a_passing_drill() {
    let fx = two_points();
    let marker = fx.root().join("cleaned");
    let rb = crate::util::Runbook {
        rpo: Some("3d".into()),
        extra: format!(
            r#"steps:
  - restore: {{}}
  - shell: "test -e {{scratch}}/no-such-file"
finally:
  - name: clean up
    shell: "echo {{recovery_point}} >> {marker}; test -d {{scratch}}"
"#,
            marker = marker.display()
        ),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    let finally = d.evidence["finally"].as_array().unwrap();
    assert_eq!(finally.len(), 1, "{}", d.context());
    assert_eq!(finally[0]["name"], "clean up");
    assert_eq!(finally[0]["outcome"], "passed", "{}", d.context());
    // Ran once, for the last point tried (none passed).
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        DAY2,
        "{}",
        d.context()
    );

    let rb = crate::util::Runbook {
        extra: r#"finally:
  - run: ["false"]
  - wait: 1s
"#
        .into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point(DAY1)["outcome"], "passed");
    assert_eq!(d.measured("recovery_point"), DAY1);
    let finally = d.evidence["finally"].as_array().unwrap();
    // Every finally step runs, even after one failed.
    assert_eq!(finally.len(), 2);
    assert_eq!(finally[1]["outcome"], "passed");
    assert!(
        Drill::reason(&d.evidence).contains("finally[0] (run) failed: exit code 1, expected 0"),
        "{}",
        d.context()
    );
    assert!(
        d.stdout
            .contains("finally[0] run  failed  (exit code 1, expected 0)"),
        "{}",
        d.context()
    );
    let report = d.report_md();
    assert!(
        report.contains("## Finally")
            && report.contains("| run |  | failed |")
            && report.contains("exit code 1, expected 0"),
        "{report}"
    );
}

#[test]
fn http_probe_retries_until_the_endpoint_answers() {
    let fx = two_points();
    let server = Server::start(vec![
        (503, "starting"),
        (200, "{\"status\":\"starting\"}"),
        (200, "{\"status\":\"ok\"}"),
    ]);
    let rb = crate::util::Runbook {
        extra: format!(
            r#"steps:
  - restore: {{}}
  - name: health
    http:
      url: "{}"
      expect_status: 200
      expect_body: '"status":"ok"'
      retries: 5
      interval: 1s
"#,
            server.url("/health?token=${PROBE_TOKEN}")
        ),
        ..fx.runbook()
    };
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &[],
        "",
        &[("PROBE_TOKEN", "tok-SECRET-42")],
    );
    d.assert_code(0);
    let http = steps_of(d.point(DAY1))[1];
    assert_eq!(http["kind"], "http");
    assert_eq!(http["outcome"], "passed");
    assert_eq!(http["detail"]["attempts"], "3", "{}", d.context());
    assert_eq!(http["detail"]["status"], "200");
    assert_eq!(
        http["detail"]["url"],
        server.url("/health?token=${PROBE_TOKEN}"),
        "the template is recorded"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, "/health?token=tok-SECRET-42");
    let all = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    assert!(
        !all.contains("tok-SECRET-42"),
        "the secret leaked into evidence"
    );

    // Never the expected status: the step fails after 1 + retries attempts.
    let down = Server::start(vec![(503, "down")]);
    let rb = crate::util::Runbook {
        extra: format!(
            "steps:\n  - restore: {{}}\n  - http: {{url: \"{}\", retries: 1, interval: 1s}}\n",
            down.url("/")
        ),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(1);
    let http = steps_of(d.point(DAY1))[1];
    assert_eq!(
        Drill::reason(http),
        "status 503, expected 200 (after 2 attempts)"
    );
    // A probe that names no restored data says nothing about the backup: the drill stops at
    // the newest point rather than probe again for each older one.
    assert_eq!(d.point_ids(), [DAY1], "{}", d.context());
    assert_eq!(
        down.requests().len(),
        2,
        "two attempts, on the newest point only"
    );
}

#[test]
fn a_webhook_says_could_not_complete_in_the_reports_words() {
    let fx = Fixture::new();
    let hook = Server::start(vec![(200, "ok")]);
    let rb = crate::util::Runbook {
        // A source that is not there: the drill cannot complete (exit 3).
        url: format!("file://{}/gone", fx.root().display()),
        extra: format!(
            "notify:\n  - webhook: \"{}\"\n    on: [error]\n",
            hook.url("/h")
        ),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(3);
    let sent = hook.requests();
    assert_eq!(sent.len(), 1, "{}", d.context());
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("drill-test COULD NOT COMPLETE"), "{text}");
    // The terminal and report.md say the same word.
    assert!(d.stdout.starts_with("COULD NOT COMPLETE"), "{}", d.stdout);
    assert!(
        d.report_md().contains("COULD NOT COMPLETE"),
        "{}",
        d.report_md()
    );
}

#[test]
fn notify_posts_a_summary_and_a_failing_webhook_never_changes_the_verdict() {
    let fx = two_points();
    let hook = Server::start(vec![(200, "ok")]);
    let broken = Server::start(vec![(500, "no")]);
    let rb = crate::util::Runbook {
        extra: format!(
            r#"notify:
  - webhook: "{}"
    on: [passed]
  - webhook: "{}"
    on: [passed, failed]
  - webhook: "{}"
    on: [failed, error]
"#,
            hook.url("/hooks/${HOOK_TOKEN}"),
            broken.url("/literal-token-XYZ"),
            hook.url("/never")
        ),
        ..fx.runbook()
    };
    let d = drill_with(&fx, &rb.yaml(), &[], "", &[("HOOK_TOKEN", "T0K3N-SECRET")]);
    d.assert_code(0);
    let sent = hook.requests();
    assert_eq!(sent.len(), 1, "only the entries whose `on` holds passed");
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].path, "/hooks/T0K3N-SECRET");
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(body["outcome"], "passed");
    assert_eq!(body["runbook"], "drill-test");
    assert_eq!(body["run_id"], d.evidence["run_id"]);
    // Where the record is (absolute), so the webhook's reader can open it; it was written
    // after the webhook was posted.
    let record = std::path::PathBuf::from(body["evidence"].as_str().unwrap());
    assert!(record.is_absolute(), "{}", record.display());
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&record).unwrap()).unwrap()["run_id"],
        d.evidence["run_id"]
    );
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("drill-test PASSED") && text.contains(DAY1),
        "{text}"
    );
    // RPO in the words of the terminal and the reports (it said "RPO 86400s").
    assert!(text.contains(", RPO 1d 0h 0m 0s"), "{text}");

    assert_eq!(broken.requests().len(), 3, "bounded retries");
    let notes = d.evidence["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2, "{}", d.context());
    assert_eq!(notes[0]["entry"], "notify[0]");
    assert_eq!(notes[0]["sent"], true);
    assert_eq!(notes[0]["webhook"], hook.url("/hooks/${HOOK_TOKEN}"));
    assert_eq!(notes[1]["entry"], "notify[1]");
    assert_eq!(notes[1]["sent"], false);
    assert_eq!(notes[1]["attempts"], 3);
    assert_eq!(notes[1]["status"], 500);
    assert_eq!(
        notes[1]["webhook"],
        format!("http://127.0.0.1:{}/…", broken.port)
    );
    assert!(d.stderr.contains("notify[1]"), "logged: {}", d.stderr);
    assert!(
        d.stdout.contains(
            "notify[1] not sent: the webhook answered 500 Internal Server Error (after 3 attempts)"
        ),
        "{}",
        d.context()
    );
    let report = d.report_md();
    assert!(
        report.contains("## Notifications") && report.contains("| notify[1] |"),
        "{report}"
    );
    let html = std::fs::read_to_string(
        d.evidence_path
            .as_ref()
            .unwrap()
            .with_file_name("report.html"),
    )
    .unwrap();
    assert!(
        html.contains("<h2>Notifications</h2>")
            && html.contains("<code>notify[1]</code>")
            && html.contains(">not sent</td>"),
        "report.html lists the webhooks"
    );
    let all = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    for secret in ["T0K3N-SECRET", "literal-token-XYZ"] {
        assert!(!all.contains(secret), "{secret} leaked into evidence");
        assert!(!d.stderr.contains(secret), "{secret} leaked into the log");
    }
}

const APPROVE_STEPS: &str = r#"steps:
  - restore: {}
  - name: dns switched
    approve: "Is DNS pointing at the standby site?"
"#;

#[test]
fn approve_without_an_operator_or_unattended_setting_is_refused_before_anything_runs() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        extra: APPROVE_STEPS.into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(2);
    assert!(
        d.stderr
            .contains("runbook.yaml:20:14: steps[1].approve: needs an operator"),
        "{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists(), "nothing is written");

    for (setting, code, outcome) in [("pass", 0, "passed"), ("fail", 1, "failed")] {
        let rb = crate::util::Runbook {
            extra: format!("{APPROVE_STEPS}    unattended: {setting}\n"),
            ..fx.runbook()
        };
        let d = fx.drill(&rb, &[]);
        d.assert_code(code);
        let approve = steps_of(d.point(DAY1))[1];
        assert_eq!(approve["outcome"], outcome, "{}", d.context());
        assert_eq!(
            approve["detail"]["answer"],
            format!("unattended: {setting}")
        );
        assert_eq!(d.evidence["mode"], "automatic");
    }
}

#[test]
fn a_manual_drill_asks_before_each_step_and_records_every_answer() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        extra: format!("{APPROVE_STEPS}finally:\n  - wait: 1s\n"),
        ..fx.runbook()
    };
    // go on with restore; answer the approval (after one unclear answer), a note; go on
    // with the finally step. The approval is its own question: no go-on is asked for it.
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "alice"],
        "yes\nmaybe\ny\nDNS TTL was 60s\ny\n",
        &[],
    );
    d.assert_code(0);
    assert_eq!(d.evidence["mode"], "manual");
    assert_eq!(d.evidence["operator"], "alice");
    let steps = steps_of(d.point(DAY1));
    assert_eq!(steps[0]["detail"]["go_on_answer"], "yes", "{}", d.context());
    let approve = &steps[1]["detail"];
    assert_eq!(approve.get("go_on_answer"), None);
    assert_eq!(approve["operator"], "alice");
    assert_eq!(approve["answer"], "y");
    assert_eq!(approve["note"], "DNS TTL was 60s");
    assert_eq!(approve["prompt"], "Is DNS pointing at the standby site?");
    assert!(approve["answered_at"].as_str().unwrap() >= approve["asked_at"].as_str().unwrap());
    assert_eq!(d.evidence["finally"][0]["detail"]["go_on_answer"], "y");
    let report = d.report_md();
    assert!(
        report.contains("| Operator | alice |") && report.contains("note: DNS TTL was 60s"),
        "{report}"
    );
    let html = std::fs::read_to_string(
        d.evidence_path
            .as_ref()
            .unwrap()
            .with_file_name("report.html"),
    )
    .unwrap();
    assert!(
        html.contains("manual, run by operator <strong id=\"operator\">alice</strong>"),
        "report.html names the operator"
    );
    assert!(
        d.stderr
            .contains("Is DNS pointing at the standby site? [y/n]")
    );
    assert!(d.stderr.contains("next: steps[0] restore"), "{}", d.stderr);

    // "no" to the question fails the point and stops the drill: an answer says nothing about
    // the backup, so no older point is asked about (tests/fallback.rs has the rule).
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "bob"],
        "y\nn\n\n",
        &[],
    );
    d.assert_code(1);
    let approve = steps_of(d.point(DAY1))[1];
    assert_eq!(approve["outcome"], "failed");
    assert_eq!(Drill::reason(approve), "bob answered \"n\"");
    assert_eq!(d.point_ids(), [DAY1], "{}", d.context());

    // The closed terminal (end of input) is no answer: the operator's stop.
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "bob"],
        "",
        &[],
    );
    d.assert_code(1);
    assert_eq!(
        Drill::reason(steps_of(d.point(DAY1))[0]),
        "no answer from bob: the terminal closed"
    );
    assert!(
        Drill::reason(&d.evidence).starts_with("stopped by the operator at steps[0] (restore)"),
        "{}",
        d.context()
    );
}

/// Waits until `path` exists and is not empty.
fn wait_for_file(path: &Path, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_drill_kills_the_running_command_group_and_still_runs_finally() {
    use crate::util::{signal, wait_exit};
    let fx = two_points();
    let pid_file = fx.root().join("bg.pid");
    let marker = fx.root().join("finally-ran");
    let rb = crate::util::Runbook {
        extra: format!(
            r#"steps:
  - restore: {{}}
  - shell: "sleep 300 & echo $! > {pid}; sleep 300"
finally:
  - shell: "echo {{recovery_point}} > {marker}"
"#,
            pid = pid_file.display(),
            marker = marker.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut drill, stdout, stderr) = fx.spawn_drill(&path, &[]);
    let pid = wait_for_file(&pid_file, "the run step's pid file");
    signal(&drill.0, "-INT");
    let (code, took) = wait_exit(&mut drill, Duration::from_secs(30));
    let d = fx.spawned_drill(drill, &stdout, &stderr);
    assert_eq!(code, 3, "{}", d.context());
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(d.evidence["reason"], "interrupted", "{}", d.context());
    let finally = d.evidence["finally"].as_array().unwrap();
    assert_eq!(finally.len(), 1, "{}", d.context());
    assert_eq!(finally[0]["outcome"], "passed", "{}", d.context());
    // The point in progress is not listed, but finally ran for it.
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), DAY1);
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z"),
        "the run step's background process survived the interruption: {stat}"
    );
    let left: Vec<_> = std::fs::read_dir(fx.scratch_dir()).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn bad_steps_are_refused_with_their_key_path_and_nothing_runs() {
    let fx = two_points();
    let marker = fx.root().join("ran");
    let touch = format!("  - run: [touch, \"{}\"]\n", marker.display());
    for (steps, expected) in [
        (
            "  - reboot: now\n".to_owned(),
            "runbook.yaml:20:5: steps[2]: unknown key `reboot`, expected one of `restore`, `run`",
        ),
        (
            "  - run: []\n".to_owned(),
            "runbook.yaml:20:10: steps[2].run: empty command",
        ),
        (
            "  - wait: 5s\n    timeout: 0s\n".to_owned(),
            "runbook.yaml:21:14: steps[2].timeout: duration \"0s\" is zero",
        ),
        (
            "  - shell: \"cat {scratch}/{point}\"\n".to_owned(),
            "runbook.yaml:20:12: steps[2].shell: unknown placeholder {point}",
        ),
        (
            "  - run: [rm, -rf, \"{scratch}/..\"]\n".to_owned(),
            "runbook.yaml:20:20: steps[2].run[2]: `{scratch}/..` leads out of the scratch area",
        ),
    ] {
        let rb = crate::util::Runbook {
            extra: format!("steps:\n  - restore: {{}}\n{touch}{steps}"),
            ..fx.runbook()
        };
        let d = fx.drill(&rb, &[]);
        d.assert_code(2);
        assert!(
            d.stderr.contains(expected),
            "expected {expected:?}\n{}",
            d.context()
        );
        assert!(!marker.exists(), "a step ran");
        assert!(!fx.evidence_dir().exists(), "evidence was written");
    }
}

#[test]
fn the_scheduler_does_not_schedule_an_approve_step_nobody_can_answer() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        extra: format!("schedule: \"0 2 * * *\"\n{APPROVE_STEPS}"),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let stderr_path = fx.root().join("stderr");
    let child = lifeboat()
        .current_dir(fx.root())
        .args(["schedule", "--state", "state.db"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    // Bounded: a daemon that scheduled the runbook would run until killed (on drop).
    let mut daemon = crate::util::Daemon(child);
    let (code, _) = crate::util::wait_exit(&mut daemon, Duration::from_secs(30));
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "runbook.yaml:21:14: steps[1].approve: a scheduled drill has no operator to answer: \
             add `unattended: pass` or `unattended: fail` to the step; not scheduled"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("none of the runbooks given can be scheduled"),
        "{stderr}"
    );
}

#[test]
fn run_step_env_reaches_the_command_and_only_its_template_is_recorded() {
    let fx = two_points();
    let rb = crate::util::Runbook {
        extra: r#"steps:
  - restore: {}
  - name: connect
    shell: 'test "$DB_PASSWORD" = "$STEP_DB_PASSWORD" && test -n "$DB_PASSWORD" && echo "data in $DATA"'
    env:
      DB_PASSWORD: "${STEP_DB_PASSWORD}"
      DATA: "{scratch}/db"
"#
        .into(),
        ..fx.runbook()
    };
    let d = drill_with(
        &fx,
        &rb.yaml(),
        &[],
        "",
        &[("STEP_DB_PASSWORD", "pw-SECRET-7")],
    );
    d.assert_code(0);
    let step = steps_of(d.point(DAY1))[1];
    assert_eq!(step["detail"]["env.DB_PASSWORD"], "${STEP_DB_PASSWORD}");
    assert_eq!(step["detail"]["env.DATA"], "{scratch}/db");
    let scratch = d.evidence["scratch"]["path"].as_str().unwrap();
    assert_eq!(
        step["detail"]["stdout_tail"].as_str().unwrap().trim(),
        format!("data in {scratch}/{DAY1}/db")
    );
    let all = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    assert!(
        !all.contains("pw-SECRET-7"),
        "the secret leaked into evidence"
    );
    assert!(!d.report_md().contains("pw-SECRET-7"));
}

#[test]
fn an_unanswered_approve_times_out_and_the_drill_still_ends() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = crate::util::Runbook {
        extra: format!("{APPROVE_STEPS}    timeout: 1s\n"),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let mut child = fx
        .drill_command(&path, &["--interactive", "--operator", "dave"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Go on with the restore, then never answer the approval: stdin stays open.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"y\n").unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(started.elapsed() < Duration::from_secs(30));
    let d = Drill::new(out, &fx.evidence_dir());
    d.assert_code(1);
    let approve = steps_of(d.point(DAY1))[1];
    assert_eq!(
        Drill::reason(approve),
        "timed out after 1s",
        "{}",
        d.context()
    );

    // `lifeboat validate` accepts the runbook, noting it needs an operator.
    let out = fx.run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("runbook.yaml:20:14: note: steps[1].approve has no `unattended` setting"),
        "{stderr}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_second_signal_exits_at_once_and_takes_a_running_finally_step_with_it() {
    use crate::util::{signal, wait_exit};
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let started = fx.root().join("started");
    let pid_file = fx.root().join("bg.pid");
    let rb = crate::util::Runbook {
        extra: format!(
            r#"steps:
  - restore: {{}}
  - shell: "touch {started}; sleep 300"
finally:
  - shell: "sleep 300 & echo $! > {pid}; sleep 300"
"#,
            started = started.display(),
            pid = pid_file.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut drill, _stdout, stderr) = fx.spawn_drill(&path, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&drill.0, "-INT");
    // The interruption ends the step; finally starts and hangs.
    let pid = wait_for_file(&pid_file, "the finally step's pid file");
    signal(&drill.0, "-INT");
    let (code, took) = wait_exit(&mut drill, Duration::from_secs(30));
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(code, 3, "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        err.contains("interrupted twice; exiting without evidence"),
        "{err}"
    );
    assert!(
        !fx.evidence_dir().exists()
            || crate::util::find_files(&fx.evidence_dir(), "evidence.json").is_empty(),
        "a second signal leaves no evidence"
    );
    let proc = format!("/proc/{}/stat", pid.trim());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(&proc).unwrap_or_default();
        if stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the finally step's background process outlived lifeboat: {stat}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
