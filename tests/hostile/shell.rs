//! SECURITY.md class 3, "Text from a backup is never code". A recovery point's id is a folder
//! (or prefix) name the backed-up machine chose, and `{scratch}` ends in it. Wherever a runbook
//! writes `{recovery_point}` or `{scratch}` — in any quoting context of a `shell:` line, in a
//! `run:` argument, an `env:` value or an `http` URL — the step must see the value as data,
//! byte for byte, and nothing in it may run. The fixtures are real folders with hostile names;
//! each test checks that the `touch X` they carry never ran and what the step saw.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::steps::Server;
use crate::util::{Fixture, Runbook, T0};

/// Point names that run `touch X` when spliced into shell text: bare, in either quotes, in a
/// here-document, in backticks or `$(...)`: quotes of both kinds, a backtick, backslashes, a
/// newline that would end a here-document (`EOF`, `END`), `#`, `%`, `?`, `${IFS}`, and a
/// placeholder's own spelling inside the value (which must not be expanded again).
const HOSTILE: [&str; 10] = [
    "p1$(touch X)",
    "p2;touch X",
    "p3'$(touch X)'",
    "p4 && touch X",
    "p5 $(touch X)'$(touch X)' ",
    "p6\"$(touch X)\"",
    "p7`touch X`",
    "p8\\$(touch X)\\",
    "p9\nEOF\ntouch X\nEND\ntouch X",
    "p10 #%?{recovery_point}${IFS}touch${IFS}X",
];

/// One hostile point per name, each holding `data.txt` ("x\n"), its manifest dated a day
/// before T0 (`time: modified`, as the names are not times).
fn hostile_points(fx: &Fixture, names: &[&str]) {
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let day_before = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(t0.as_second()).unwrap() - 86_400);
    for name in names {
        fx.set
            .point(name)
            .file("data.txt", "x\n")
            .manifest(Format::Sha256sum)
            .set_manifest_mtime(day_before);
    }
}

/// Every point tried (`select: all`), scratch kept so a planted `X` would stay, no objectives.
fn runbook(fx: &Fixture, steps: &str) -> Runbook {
    Runbook {
        time: "modified".into(),
        time_format: None,
        select: "all".into(),
        keep: "always".into(),
        rto: None,
        rpo: None,
        extra: steps.into(),
        ..fx.runbook()
    }
}

/// Every file named `X` under `dir`: what an injected `touch X` leaves behind.
fn planted(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if entry.file_name() == "X" {
                found.push(path);
            }
        }
    }
    found
}

fn steps_of(v: &Value) -> &Vec<Value> {
    v["steps"].as_array().expect("steps array")
}

/// `{recovery_point}` and `{scratch}` in every context of a `shell:` line SECURITY.md names, in
/// `steps` and in `finally`: each step prints what it saw.
const SHELL_CONTEXTS: &str = r#"steps:
  - restore: {}
  - name: bare
    shell: printf '%s' {recovery_point}
  - name: double quotes
    shell: printf '%s' "{recovery_point}"
  - name: single quotes
    shell: printf '%s' '{recovery_point}'
  - name: command substitution
    shell: printf '%s' "$(printf '%s' {recovery_point})"
  - name: backticks
    shell: v=`printf '%s' {recovery_point}`; printf '%s' "$v"
  - name: backticks in double quotes
    shell: printf '%s' "`printf '%s' "{recovery_point}"`"
  - name: here-document
    shell: |
      cat <<EOF
      {recovery_point}
      EOF
  - name: here-document, tabs stripped
    shell: "cat <<-END\n\t{recovery_point}\n\tEND\n"
  - name: here-document in a command substitution
    shell: |
      v=$(cat <<EOF
      [{recovery_point}]
      EOF
      ); printf '%s' "$v"
  - name: scratch in single quotes
    shell: cat '{scratch}/data.txt' && printf '%s' {scratch}
finally:
  - name: here-document in finally
    shell: |
      cat <<EOF
      {recovery_point}
      EOF
"#;

#[test]
fn a_hostile_point_name_is_data_in_every_context_of_a_shell_line() {
    let fx = Fixture::new();
    hostile_points(&fx, &HOSTILE);
    let d = fx.drill(&runbook(&fx, SHELL_CONTEXTS), &[]);
    let planted = planted(&fx.root());
    assert!(
        planted.is_empty(),
        "`touch X` ran: {planted:?}\n{}",
        d.context()
    );
    d.assert_code(0);
    let scratch = d.evidence["scratch"]["path"].as_str().unwrap();
    assert_eq!(d.points().len(), HOSTILE.len(), "{}", d.context());
    for name in HOSTILE {
        let point = d.point(name);
        let expected = [
            ("bare", name.to_owned()),
            ("double quotes", name.to_owned()),
            ("single quotes", name.to_owned()),
            ("command substitution", name.to_owned()),
            ("backticks", name.to_owned()),
            ("backticks in double quotes", name.to_owned()),
            ("here-document", format!("{name}\n")),
            ("here-document, tabs stripped", format!("{name}\n")),
            (
                "here-document in a command substitution",
                format!("[{name}]"),
            ),
            ("scratch in single quotes", format!("x\n{scratch}/{name}")),
        ];
        let steps = steps_of(point);
        assert_eq!(steps.len(), expected.len() + 1, "{}", d.context());
        for (step, (label, seen)) in steps[1..].iter().zip(expected) {
            assert_eq!(step["name"], label);
            assert_eq!(step["outcome"], "passed", "{name}: {step:#}");
            assert_eq!(
                step["detail"]["stdout_tail"],
                seen.as_str(),
                "{name}: {label}"
            );
            // What ran is recorded, and no byte of the value is in it: the shell read the
            // value from the environment.
            let command = step["detail"]["command"].as_str().unwrap();
            assert!(command.starts_with("sh -c "), "{command}");
            assert!(!command.contains("touch"), "{name}: {label}: {command}");
            assert!(command.contains("LIFEBOAT_"), "{name}: {label}: {command}");
        }
    }
    // `finally` runs once, for the (newest) point that passed.
    let finally = d.evidence["finally"].as_array().unwrap();
    let passed = d.measured("recovery_point").as_str().unwrap();
    assert_eq!(finally[0]["outcome"], "passed", "{}", d.context());
    assert_eq!(finally[0]["detail"]["stdout_tail"], format!("{passed}\n"));
}

/// Percent-encoding of every byte but RFC 3986's unreserved characters, written here rather
/// than taken from lifeboat.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_hostile_point_name_is_one_argument_one_variable_and_one_url_component() {
    let fx = Fixture::new();
    // Beside the shell's metacharacters, bytes that would change a URL's query or authority.
    let url_hostile = "p6 &b=2+@evil.example:1;x=$(touch X)";
    let mut names = HOSTILE.to_vec();
    names.push(url_hostile);
    hostile_points(&fx, &names);
    let server = Server::start(vec![(200, "ok")]);
    let steps = format!(
        r#"steps:
  - restore: {{}}
  - name: argument
    run: [printf, "%s", "{{recovery_point}}"]
  - name: variable
    shell: printf '%s' "$POINT"
    env:
      POINT: "{{recovery_point}}"
  - name: url
    http: {{url: "{}"}}
"#,
        server.url("/check/{recovery_point}?point={recovery_point}#{recovery_point}")
    );
    let d = fx.drill(&runbook(&fx, &steps), &[]);
    let planted = planted(&fx.root());
    assert!(
        planted.is_empty(),
        "`touch X` ran: {planted:?}\n{}",
        d.context()
    );
    d.assert_code(0);
    for name in &names {
        let steps = steps_of(d.point(name));
        assert_eq!(steps[1]["detail"]["stdout_tail"], *name, "{}", d.context());
        assert_eq!(steps[2]["detail"]["stdout_tail"], *name, "{}", d.context());
        assert_eq!(steps[3]["outcome"], "passed", "{}", d.context());
    }
    // One request per point, each for its own path and query: nothing in a name moved the
    // request to another host, path or query (the fragment is never sent).
    let mut paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| format!("/check/{}?point={}", encoded(n), encoded(n)))
        .collect();
    expected.sort();
    assert_eq!(paths, expected);
}

#[test]
fn validate_refuses_a_placeholder_that_another_interpreter_would_run_and_nothing_runs() {
    let fx = Fixture::new();
    hostile_points(&fx, &HOSTILE[..1]);
    let marker = fx.root().join("ran");
    for (step, expected) in [
        (
            r#"  - run: [sh, -c, "echo {recovery_point}"]"#,
            "runbook.yaml:16:19: steps[2].run[2]: {recovery_point} is in code that sh runs",
        ),
        (
            r#"  - run: [sudo, -u, app, python3, -c, "print('{scratch}')"]"#,
            "runbook.yaml:16:39: steps[2].run[5]: {scratch} is in code that python3 runs",
        ),
        (
            r#"  - shell: "bash -c 'ls {scratch}'""#,
            "runbook.yaml:16:12: steps[2].shell: {scratch} is in code that bash runs",
        ),
        (
            r#"  - shell: "eval echo {recovery_point}""#,
            "runbook.yaml:16:12: steps[2].shell: {recovery_point} is in code that eval runs",
        ),
        (
            r#"  - shell: "psql <<EOF\nSELECT '{recovery_point}';\nEOF\n""#,
            "runbook.yaml:16:12: steps[2].shell: {recovery_point} is in a here-document that psql reads as code",
        ),
        (
            r#"  - shell: "cat <<'EOF'\n{recovery_point}\nEOF\n""#,
            "runbook.yaml:16:12: steps[2].shell: {recovery_point} is in a here-document whose delimiter is quoted (<<'EOF'), where the shell expands nothing",
        ),
        (
            r#"  - shell: "echo $(( {recovery_point} + 1 ))""#,
            "runbook.yaml:16:12: steps[2].shell: {recovery_point} is in an arithmetic expansion $((...))",
        ),
        (
            r#"  - http: {url: "http://{recovery_point}.example.com/health"}"#,
            "runbook.yaml:16:17: steps[2].http.url: {recovery_point} is in the URL's host",
        ),
        (
            r#"  - run: [cat, "{scratch}/a/../../etc/passwd"]"#,
            "runbook.yaml:16:16: steps[2].run[1]: `{scratch}/a/../..` leads out of the scratch area",
        ),
        (
            r#"  - shell: "cat {scratch}/./../x {scratch}//../y""#,
            "runbook.yaml:16:12: steps[2].shell: `{scratch}/./..` leads out of the scratch area",
        ),
    ] {
        let rb = runbook(
            &fx,
            &format!(
                "steps:\n  - restore: {{}}\n  - run: [touch, \"{}\"]\n{step}\n",
                marker.display()
            ),
        );
        let path = fx.write("runbook.yaml", &rb.yaml());
        let out = fx.run(&["validate", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{step}\n{stderr}");
        assert!(stderr.contains(expected), "expected {expected:?}\n{stderr}");
        let d = fx.drill_file(&path, &[]);
        d.assert_code(2);
        assert!(d.stderr.contains(expected), "{}", d.context());
        assert!(!marker.exists(), "a step ran: {step}");
        assert!(!fx.evidence_dir().exists(), "evidence was written: {step}");
        assert!(planted(&fx.root()).is_empty());
    }
    // What stays allowed: a value as an interpreter's data, not its code.
    let rb = runbook(
        &fx,
        r#"steps:
  - restore: {}
  - name: positional parameter of sh -c
    run: [sh, -c, 'printf "%s|%s" "$1" "$(cat "$2")"', sh, "{recovery_point}", "{scratch}/data.txt"]
  - name: a program's argument
    shell: awk 'BEGIN { printf "%s", ARGV[1] }' {recovery_point}
"#,
    );
    let d = fx.drill(&rb, &[]);
    let planted = planted(&fx.root());
    assert!(
        planted.is_empty(),
        "`touch X` ran: {planted:?}\n{}",
        d.context()
    );
    d.assert_code(0);
    let steps = steps_of(d.point(HOSTILE[0]));
    assert_eq!(
        steps[1]["detail"]["stdout_tail"],
        format!("{}|x", HOSTILE[0]),
        "{}",
        d.context()
    );
    assert_eq!(steps[2]["detail"]["stdout_tail"], HOSTILE[0]);
}
