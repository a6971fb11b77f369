//! SECURITY.md, classes 7 and 8: names from a backup (or planted in the evidence folder)
//! cannot forge what an operator or an auditor sees, and a hostile manifest cannot make
//! lifeboat's memory or evidence grow without bound.
//!
//! Terminal output, text and JSON logs, report.md, report.html and the period reports are
//! checked byte for byte: no character a terminal acts on (C0, DEL, C1), no bidi control, no
//! Markdown or HTML that a name smuggles in. The evidence record keeps every name exact.

use std::process::Stdio;
use std::time::{Duration, SystemTime};

use lifeboat_testkit::Format;
use serde_json::Value;

use crate::util::{DAY1, Drill, Fixture};

/// A file name that, printed raw, sets the terminal's title, clears the screen, starts a new
/// line reading `PASSED`, opens an 8-bit CSI and reverses the rest of the line.
const FORGING_NAME: &str = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nPASSED  fake\u{9b}31m\u{202e}gpj.exe";
/// How lifeboat must show [`FORGING_NAME`]: every such character as a visible escape.
const FORGING_SHOWN: &str = r"x\e]0;pwned\x07\e[2J\r\nPASSED  fake\u{9b}31m\u{202e}gpj.exe";

/// A recovery point name with an OSC title sequence, BEL, an 8-bit CSI and a right-to-left
/// override. Names are data (SECURITY.md 5): the point is found and drilled under exactly this
/// name, which reaches the terminal, the logs, the history and the evidence.
const FORGING_POINT: &str = "p1\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}gpj.exe";
const FORGING_POINT_SHOWN: &str = r"p1\e]0;pwned\x07\u{9b}2J\u{202e}gpj.exe";

/// Characters a terminal or a bidi-aware viewer acts on instead of showing, other than the
/// line feed that ends lifeboat's own lines. Written out here rather than taken from lifeboat,
/// so a gap in lifeboat's list cannot hide in the test.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Panics naming the first character of `text` a terminal would act on, with its context.
#[track_caller]
fn assert_inert(what: &str, text: &str) {
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| acts_on_terminal(c)) {
        let from = text[..i].char_indices().rev().nth(60).map_or(0, |(j, _)| j);
        panic!(
            "{what} holds a raw {:?} at byte {i}, after {:?}\n--- all of it:\n{}",
            c,
            &text[from..i],
            text.escape_debug()
        );
    }
}

fn hostile_manifest_fixture() -> Fixture {
    let fx = Fixture::new();
    let point = fx.standard_point(DAY1, Format::Sha256sum);
    // Listed, never stored: the file fails as missing, and its name is printed with its reason.
    point.append_manifest_line(&point.manifest_line_for(FORGING_NAME, b"gone"));
    fx
}

#[test]
fn file_names_from_a_manifest_cannot_forge_the_drill_summary() {
    let fx = hostile_manifest_fixture();
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_inert("stdout", &d.stdout);
    assert_inert("stderr", &d.stderr);
    assert!(
        d.stdout.contains(FORGING_SHOWN),
        "the failed file is named, escaped:\n{}",
        d.stdout
    );
    assert!(
        !d.stdout.lines().any(|l| l.starts_with("PASSED")),
        "a name printed a verdict line:\n{}",
        d.stdout
    );
    // The evidence keeps the name exact: JSON escapes it by itself.
    assert_eq!(d.file(DAY1, FORGING_NAME)["outcome"], "failed");
}

/// A failed drill's reason quotes the file that failed, whose name the backup chose: the
/// `history` table shows it (REASON) and the daemon's warning carries it (`reason`), each
/// escaped, on one line.
#[test]
fn failure_reasons_in_history_and_the_daemon_log_cannot_forge_a_line() {
    // A point named to forge, which fails (a listed file is missing): "no recovery point
    // passed (tried: NAME)".
    let fx = Fixture::new();
    let point = fx
        .set
        .point(FORGING_POINT)
        .file("etc/app.conf", "port = 8080\n")
        .manifest(Format::Sha256sum);
    point.append_manifest_line(&point.manifest_line_for("gone", b"gone"));
    point.set_manifest_mtime(SystemTime::now() - Duration::from_secs(3600));
    let rb = crate::util::Runbook {
        time: "modified".into(),
        time_format: None,
        rpo: None,
        ..fx.runbook()
    };
    let now = jiff::Timestamp::now().to_string();
    let d = fx.drill(&rb, &["--now", &now]);
    d.assert_code(1);
    assert!(
        Drill::reason(&d.evidence).contains(FORGING_POINT),
        "{}",
        d.context()
    );
    let out = fx.run(&["history"]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert_inert("history", &table);
    assert_eq!(
        table.lines().count(),
        2,
        "a reason broke the table:\n{table}"
    );
    assert!(table.contains(FORGING_POINT_SHOWN), "{table}");

    let rb = crate::util::Runbook {
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..rb
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut daemon, stderr) = crate::history::start_schedule(&fx, &[path.as_os_str()]);
    crate::history::wait_for_runs(&fx, 1, &stderr);
    crate::util::signal(&daemon.0, "-TERM");
    crate::util::wait_exit(&mut daemon, Duration::from_secs(60));
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert_inert("daemon log", &log);
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("drill finished"))
        .unwrap_or_else(|| panic!("no warning for the failed drill:\n{log}"));
    // The text format writes field values as Rust strings (`\u{1b}`), messages through
    // lifeboat's escape (`\e`): either way, visible and inert.
    assert!(
        warning.contains("reason=\"no recovery point passed (tried: p1\\u{1b}]0;pwned"),
        "{warning}"
    );
}

/// A point named [`FORGING_POINT`], its time from the manifest's mtime an hour ago; drilled
/// with `--now` the present.
fn hostile_point_fixture() -> (Fixture, crate::util::Runbook, String) {
    let fx = Fixture::new();
    fx.set
        .point(FORGING_POINT)
        .file("etc/app.conf", "port = 8080\n")
        .manifest(Format::Sha256sum)
        .set_manifest_mtime(SystemTime::now() - Duration::from_secs(3600));
    let rb = crate::util::Runbook {
        time: "modified".into(),
        time_format: None,
        rpo: None,
        ..fx.runbook()
    };
    (fx, rb, jiff::Timestamp::now().to_string())
}

/// Whether any string in `v` (keys included) contains `needle`.
fn any_string_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|x| any_string_contains(x, needle)),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k.contains(needle) || any_string_contains(x, needle)),
        _ => false,
    }
}

#[test]
fn point_names_cannot_forge_the_summary_or_text_logs() {
    let (fx, rb, now) = hostile_point_fixture();
    let d = fx.drill(&rb, &["-v", "--now", &now]);
    d.assert_code(0);
    assert_eq!(d.measured("recovery_point"), FORGING_POINT);
    assert_inert("stdout", &d.stdout);
    assert_inert("stderr (text logs)", &d.stderr);
    assert!(d.stdout.contains(FORGING_POINT_SHOWN), "{}", d.stdout);
    assert!(
        d.stderr.contains(FORGING_POINT_SHOWN),
        "the logs name the point, escaped:\n{}",
        d.stderr
    );
    // The record keeps the name exact, and `cat evidence.json` is as safe as the terminal:
    // JSON escapes C0 controls itself, and lifeboat the C1 and bidi controls it leaves raw.
    let record = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    assert_inert("evidence.json", &record);
}

#[test]
fn lifeboat_plan_shows_point_and_file_names_escaped() {
    // The point's name and a file name its manifest lists, both forging, through the plan.
    let fx = Fixture::new();
    fx.set
        .point(FORGING_POINT)
        .file("etc/app.conf", "port = 8080\n")
        .file(FORGING_NAME, "x\n")
        .manifest(Format::Sha256sum)
        .set_manifest_mtime(SystemTime::now() - Duration::from_secs(3600));
    let rb = crate::util::Runbook {
        time: "modified".into(),
        time_format: None,
        ..fx.runbook()
    };
    let now = jiff::Timestamp::now().to_string();
    let runbook = fx.write("runbook.yaml", &rb.yaml());
    let out = crate::util::lifeboat()
        .current_dir(fx.root())
        .args(["plan", runbook.to_str().unwrap(), "--now", &now])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_inert("plan stdout", &stdout);
    assert_inert("plan stderr", &stderr);
    assert!(stdout.contains(FORGING_POINT_SHOWN), "{stdout}");
    assert!(stdout.contains(FORGING_SHOWN), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("PASSED")),
        "a name printed a verdict line:\n{stdout}"
    );
}

#[test]
fn json_logs_and_history_json_keep_names_exact_and_inert() {
    let (fx, rb, now) = hostile_point_fixture();
    let d = fx.drill(
        &rb,
        &[
            "-v",
            "--log-format",
            "json",
            "--state",
            "state.db",
            "--now",
            &now,
        ],
    );
    d.assert_code(0);
    assert_inert("stderr (JSON logs)", &d.stderr);
    let events: Vec<Value> = d
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // A message a person reads shows the name escaped; a field keeps it exact (JSON escapes
    // it, and lifeboat the characters JSON leaves raw).
    assert!(
        events.iter().any(|e| any_string_contains(e, FORGING_POINT)),
        "an event names the point:\n{}",
        d.stderr
    );
    for e in events.iter().filter(|e| e.get("point").is_some()) {
        assert_eq!(e["point"], FORGING_POINT, "{e}");
    }

    let out = fx.run(&["history", "--state", "state.db", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_inert("history --json", &stdout);
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    // The measured point holds the name, exactly.
    assert!(any_string_contains(&rows, FORGING_POINT), "{stdout}");
}

#[test]
fn a_manual_drill_shows_step_results_and_fallbacks_with_names_escaped() {
    let fx = Fixture::new();
    let now = SystemTime::now();
    // The newest point, named to forge, lists a file named to forge that is not stored: its
    // restore fails, the operator is told which file and why, and the drill falls back.
    let newest = fx
        .set
        .point(FORGING_POINT)
        .file("etc/app.conf", "port = 8080\n")
        .manifest(Format::Sha256sum);
    newest.append_manifest_line(&newest.manifest_line_for(FORGING_NAME, b"gone"));
    newest.set_manifest_mtime(now - Duration::from_secs(3600));
    fx.set
        .point("older")
        .file("etc/app.conf", "port = 8080\n")
        .manifest(Format::Sha256sum)
        .set_manifest_mtime(now - Duration::from_secs(7200));
    let rb = crate::util::Runbook {
        time: "modified".into(),
        time_format: None,
        rpo: None,
        keep: "on-failure".into(),
        ..fx.runbook()
    };
    let t0 = jiff::Timestamp::now().to_string();
    let d = crate::steps::drill_with(
        &fx,
        &rb.yaml(),
        &["--interactive", "--operator", "eve", "--now", &t0],
        "y\ny\n",
        &[],
    );
    d.assert_code(1);
    assert_inert("stderr (the operator's terminal)", &d.stderr);
    assert_inert("stdout", &d.stdout);
    assert!(
        d.stderr
            .contains(&format!("      {FORGING_SHOWN}: missing object")),
        "the failed file is named, escaped:\n{}",
        d.stderr
    );
    assert!(
        d.stderr.contains(&format!(
            "recovery point {FORGING_POINT_SHOWN} failed: 1 of 2 sampled files failed\nfalling \
             back to the next older recovery point\n"
        )),
        "the fallback names the point, escaped:\n{}",
        d.stderr
    );
    assert!(
        !d.stderr.lines().any(|l| l.starts_with("PASSED")),
        "a name printed a verdict line:\n{}",
        d.stderr
    );
    assert!(d.stdout.contains("scratch folder kept: "), "{}", d.stdout);
}

#[test]
fn the_progress_bar_escapes_failed_file_names() {
    // The bar is drawn only on a terminal: `script` gives the drill one.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: `script` (util-linux) is not installed; the progress bar was not checked"
        );
        return;
    }
    let fx = hostile_manifest_fixture();
    let path = fx.write("runbook.yaml", &fx.runbook().yaml());
    let cmd = fx.drill_command(&path, &[]);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_str().unwrap()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = std::process::Command::new("script")
        .current_dir(fx.root())
        .args(["-qec", &line, "/dev/null"])
        // The drill's own environment (the fixture's history store), which `line` does not
        // carry: without it the drill records into the machine's default store.
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{tty}");
    // The bar and the verdict draw with escape sequences of their own; the name's must not
    // be among them.
    for raw in ["\u{1b}]0;pwned", "\u{7}", "\u{9b}", "\u{202e}", "\u{1b}[2J"] {
        assert!(!tty.contains(raw), "raw {raw:?} on the terminal:\n{tty:?}");
    }
    assert!(
        tty.contains(&format!("FAILED {FORGING_SHOWN}: ")),
        "the bar's line for the failed file names it, escaped:\n{tty:?}"
    );
}

#[test]
fn names_planted_in_the_evidence_folder_are_escaped_by_verify_and_report() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.drill(&fx.runbook(), &[]).assert_code(0);
    // Another account plants a record whose folder name retitles the terminal.
    let planted = fx
        .evidence_dir()
        .join("drill-test")
        .join("x\u{1b}]0;pwned\u{7}\u{202e}");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join("evidence.json"), "{}").unwrap();

    let out = fx.run(&["evidence", "verify", "evidence"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_inert("evidence verify", &stdout);
    assert_inert(
        "evidence verify (stderr)",
        &String::from_utf8(out.stderr).unwrap(),
    );
    assert!(stdout.contains(r"x\e]0;pwned\x07\u{202e}"), "{stdout}");

    for ext in ["md", "csv", "html"] {
        let file = format!("period.{ext}");
        let out = fx.run(&[
            "report",
            "--evidence-dir",
            "evidence",
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
            "--out",
            &file,
        ]);
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(fx.root().join(&file)).unwrap();
        assert_inert(&file, &text.replace("\r\n", "\n"));
        // The CSV has a row per drill, and no row for a record that is not one.
        if ext != "csv" {
            assert!(text.contains(r"x\e]0;pwned\x07\u{202e}"), "{file}:\n{text}");
        }
    }
}

/// `report --runbook` names the runbooks that do have drills when the one asked for has
/// none: names another account may have planted as folders there.
#[test]
fn runbook_names_planted_in_the_evidence_folder_are_escaped_by_report_runbook() {
    let h = crate::report::history_with(FORGING_NAME);
    let out = h.fx.run(&[
        "report",
        "--evidence-dir",
        h.dir.to_str().unwrap(),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--runbook",
        "nobody",
        "--out",
        "r.md",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_inert("report --runbook (stderr)", &stderr);
    assert!(stderr.contains(FORGING_SHOWN), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// report.md, report.html, the period report

/// A name holding every Markdown and HTML construct that could turn into an image, a link,
/// emphasis, a heading, a broken table or markup in a viewer.
const MARKUP_NAME: &str = "![x](http://evil.example/x.png) [click](http://evil.example) \
     <img src=x onerror=alert(1)> *bold* _em_ ~~gone~~ a|b `tick` ``two`` www.evil.example \
     http://evil.example/raw &amp; # heading \\ end";

/// The Markdown text of `md` that a renderer would read as Markdown rather than as literal
/// code: everything outside code spans, with backslash escapes removed (CommonMark: an
/// escaped ASCII punctuation character is a literal). Code spans follow CommonMark: a run of
/// n backticks opens one, the next run of exactly n closes it.
fn markdown_outside_code(md: &str) -> String {
    let mut out = String::new();
    let b = md.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() && b[i + 1].is_ascii_punctuation() => {
                out.push('·');
                i += 2;
            }
            b'`' => {
                let n = b[i..].iter().take_while(|&&c| c == b'`').count();
                let mut j = i + n;
                let close = loop {
                    let Some(k) = md[j..].find('`') else {
                        break None;
                    };
                    let start = j + k;
                    let m = b[start..].iter().take_while(|&&c| c == b'`').count();
                    if m == n {
                        break Some(start);
                    }
                    j = start + m;
                };
                match close {
                    Some(start) => {
                        out.push_str("⟨code⟩");
                        i = start + n;
                    }
                    None => {
                        out.push_str(&md[i..i + n]);
                        i += n;
                    }
                }
            }
            _ => {
                let c = md[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// `live` (Markdown outside code spans) without the links lifeboat itself writes: the period
/// report links each drill to its `report.html` (`[`run`](../evidence/RUNBOOK/RUN/report.html)`),
/// a destination it builds by percent-encoding every byte but `A-Z a-z 0-9 - . _ ~` of each
/// folder name. Any other link — another destination, a scheme, a character left raw — stays.
fn without_report_links(live: &str) -> String {
    let mut out = String::new();
    let mut rest = live;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')');
        let ours = end.is_some_and(|e| {
            let dest = &after[..e];
            dest.ends_with("/report.html")
                && dest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~%/".contains(c))
        });
        match (ours, end) {
            (true, Some(e)) => {
                out.push_str(&rest[..at]);
                out.push_str("]⟨report link⟩");
                rest = &after[e + 1..];
            }
            _ => {
                out.push_str(&rest[..at + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What `markdown_outside_code` must never hold: the constructs [`MARKUP_NAME`] tries. The
/// period report's own links to each drill's `report.html` are allowed
/// ([`without_report_links`]); their text is a code span like any name.
#[track_caller]
fn assert_no_markup_from_names(what: &str, md: &str) {
    let live = without_report_links(&markdown_outside_code(md));
    for bad in [
        "![",
        "](",
        "<img",
        "<",
        "*bold*",
        "_em_",
        "~~",
        "http://",
        "www.",
        "&amp;",
        "# heading",
    ] {
        assert!(
            !live.contains(bad),
            "{what}: {bad:?} is live Markdown outside code spans:\n{live}\n--- raw:\n{md}"
        );
    }
}

/// Every row of every table in `md` has as many cells as its header: a `|` from a name
/// (unescaped, even inside a code span, which GFM splits on) would add one.
#[track_caller]
fn assert_tables_intact(what: &str, md: &str) {
    let cells = |line: &str| {
        let b = line.as_bytes();
        (0..b.len())
            .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
            .count()
    };
    let mut header = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        match header {
            None => header = Some(cells(line)),
            Some(n) => assert_eq!(
                cells(line),
                n,
                "{what}: a row breaks its table: {line}\n{md}"
            ),
        }
    }
}

#[test]
fn report_md_shows_names_as_text_never_as_markdown_or_html() {
    let fx = Fixture::new();
    let point = fx.standard_point(DAY1, Format::Sha256sum);
    point.append_manifest_line(&point.manifest_line_for(MARKUP_NAME, b"gone"));
    point.append_manifest_line(&point.manifest_line_for(FORGING_NAME, b"gone"));
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    let md = d.report_md();
    assert_inert("report.md", &md);
    assert_no_markup_from_names("report.md", &md);
    assert_tables_intact("report.md", &md);
    // The names are still there for the reader, whole.
    assert!(md.contains("evil.example/x.png"), "{md}");
    assert!(md.contains(FORGING_SHOWN), "{md}");

    let html = std::fs::read_to_string(d.run_dir().join("report.html")).unwrap();
    assert_inert("report.html", &html);
    assert!(
        !html.contains("<img src=x"),
        "raw HTML from a name:\n{html}"
    );
    assert!(!html.contains("href=\"http://evil"), "a link from a name");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the name is shown as text"
    );
}

#[test]
fn the_period_reports_show_names_as_text_and_defuse_formulas() {
    let fx = Fixture::new();
    // The newest point, named like emphasis, fails (a listed file is missing, its name full
    // of markup); the older one, named like a spreadsheet formula, passes and becomes the
    // drill's measured point: both names and the failed file's land in the period report.
    // (Names today's listing takes: SECURITY.md 5 widens what a point may be called.)
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (id, age, missing) in [("_em_", 1, true), ("@SUM(1+1)", 2, false)] {
        let point = fx
            .set
            .point(id)
            .file("a.txt", "a\n")
            .manifest(Format::Sha256sum);
        if missing {
            point.append_manifest_line(&point.manifest_line_for(MARKUP_NAME, b"gone"));
        }
        point.set_manifest_mtime(hour_ago - Duration::from_secs(age));
    }
    let rb = crate::util::Runbook {
        time: "modified".into(),
        time_format: None,
        rpo: None,
        ..fx.runbook()
    };
    let now = jiff::Timestamp::now().to_string();
    let d = fx.drill(&rb, &["--now", &now]);
    d.assert_code(1);
    assert_eq!(d.measured("recovery_point"), "@SUM(1+1)");

    let report = |ext: &str| {
        let file = format!("period.{ext}");
        let out = fx.run(&[
            "report",
            "--evidence-dir",
            "evidence",
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
            "--out",
            &file,
        ]);
        assert!(out.status.success(), "{out:?}");
        std::fs::read_to_string(fx.root().join(file)).unwrap()
    };
    let md = report("md");
    assert_inert("period.md", &md);
    assert_no_markup_from_names("period.md", &md);
    assert_tables_intact("period.md", &md);
    assert!(md.contains("evil.example"), "{md}");

    let html = report("html");
    assert_inert("period.html", &html);
    assert!(!html.contains("<img src=x"), "{html}");

    // CSV: no cell starts a formula, however it is quoted.
    let csv = report("csv");
    assert_inert("period.csv", &csv.replace("\r\n", "\n"));
    for line in csv.lines() {
        for cell in split_csv(line) {
            let first = cell.trim_start().chars().next();
            let formula = matches!(first, Some('=' | '+' | '@' | '\t' | '\r'))
                || (first == Some('-') && cell.parse::<f64>().is_err());
            assert!(
                !formula,
                "a CSV cell a spreadsheet runs as a formula: {cell:?}\n{csv}"
            );
        }
    }
    assert!(
        csv.contains("'@SUM(1+1)"),
        "the formula is kept as text:\n{csv}"
    );
}

/// A record folder's name another account could give a copied run: markup, a link, a
/// fragment, a query, a percent escape, and a terminal title sequence.
const PLANTED_RUN: &str =
    "x\"><img src=x onerror=alert(1)>](http:evil.example) #?%41 \u{1b}]0;pwned\u{7}";

#[test]
fn operators_runbook_texts_and_run_folders_from_the_evidence_are_shown_as_text() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(0);
    // Another account copies the run under a hostile folder name and edits who ran it and
    // which runbook text: not the chained record (the chain says so), but the report lists
    // it with its mode, operator, runbook change and link, and must show each as text.
    let planted = d.run_dir().with_file_name(PLANTED_RUN);
    std::fs::create_dir(&planted).unwrap();
    std::fs::copy(d.run_dir().join("report.html"), planted.join("report.html")).unwrap();
    let mut ev = d.evidence.clone();
    ev["mode"] = "manual".into();
    ev["operator"] = MARKUP_NAME.into();
    ev["runbook"]["sha256"] = "=cmd|' /C calc'!A0 <img src=x onerror=alert(2)>".into();
    ev["runbook"]["path"] = FORGING_NAME.into();
    ev["started_at"] = "2026-11-23T00:00:00Z".into();
    std::fs::write(
        planted.join("evidence.json"),
        serde_json::to_vec_pretty(&ev).unwrap(),
    )
    .unwrap();

    let report = |ext: &str| {
        let file = format!("period.{ext}");
        let out = fx.run(&[
            "report",
            "--evidence-dir",
            "evidence",
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
            "--out",
            &file,
        ]);
        assert!(out.status.success(), "{out:?}");
        std::fs::read_to_string(fx.root().join(file)).unwrap()
    };
    // The planted run's own page, reached through the link each surface writes for it.
    let page = std::fs::canonicalize(planted.join("report.html")).unwrap();
    let leads_to_the_page = |links: Vec<String>| {
        links.iter().any(|l| {
            fx.root()
                .join(crate::report::percent_decoded(l))
                .canonicalize()
                .is_ok_and(|p| p == page)
        })
    };

    let md = report("md");
    assert_inert("period.md", &md);
    assert_no_markup_from_names("period.md", &md);
    assert_tables_intact("period.md", &md);
    assert!(md.contains("evil.example"), "the operator is shown: {md}");
    assert!(
        md.contains("The runbook file changed 1 time in the period"),
        "{md}"
    );
    assert!(
        leads_to_the_page(crate::report::report_links(&md, "](", ')')),
        "{md}"
    );

    let html = report("html");
    assert_inert("period.html", &html);
    assert!(!html.contains("<img"), "{html}");
    let text = crate::report::visible_text(&html);
    assert!(text.contains(MARKUP_NAME), "{text}");
    assert!(
        text.contains("=cmd|' /C calc'!A0 <img src=x onerror=alert(2)>"),
        "{text}"
    );
    assert!(
        leads_to_the_page(crate::report::report_links(&html, "href=\"", '"')),
        "{html}"
    );

    let csv = report("csv");
    assert_inert("period.csv", &csv.replace("\r\n", "\n"));
    let mut report_cells = Vec::new();
    let mut lines = csv.lines();
    let header = split_csv(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for line in lines {
        let cells = split_csv(line);
        for cell in &cells {
            let first = cell.trim_start().chars().next();
            let formula = matches!(first, Some('=' | '+' | '@' | '\t' | '\r'))
                || (first == Some('-') && cell.parse::<f64>().is_err());
            assert!(
                !formula,
                "a CSV cell a spreadsheet runs as a formula: {cell:?}\n{csv}"
            );
        }
        if cells[0] == "drill" {
            report_cells.push(cells[col("report")].clone());
        }
    }
    assert!(
        csv.contains("'=cmd|"),
        "the formula is kept as text:\n{csv}"
    );
    assert!(leads_to_the_page(report_cells), "{csv}");
}

/// The cells of one CSV line (RFC 4180 quoting), unquoted.
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

#[test]
fn markdown_check_finds_what_it_should() {
    // The checks above must be able to fail.
    assert!(markdown_outside_code("see ![x](http://e)").contains("!["));
    assert!(!markdown_outside_code("see `![x](http://e)`").contains("!["));
    assert!(!markdown_outside_code(r"see \!\[x\]\(http\://e)").contains("]("));
    assert!(markdown_outside_code("`` a ` b `` ![").contains("!["));
    assert!(!markdown_outside_code("`` a ` b ``").contains('`'));
    assert!(
        std::panic::catch_unwind(|| assert_tables_intact("t", "| a |\n|---|\n| `x|y` |")).is_err()
    );
    assert!(std::panic::catch_unwind(|| assert_inert("t", "a\u{1b}b")).is_err());
    // Only lifeboat's own percent-encoded links to a report.html are let through.
    assert_eq!(
        without_report_links("[⟨code⟩](../ev/a%20b/r-1/report.html) x"),
        "[⟨code⟩]⟨report link⟩ x"
    );
    for link in [
        "[x](http://evil.example/report.html)",
        "[x](../ev/a b/report.html)",
        "[x](../ev/<img>/report.html)",
        "[x](../ev/page.html)",
    ] {
        assert!(without_report_links(link).contains("]("), "{link}");
    }
}

// ---------------------------------------------------------------------------------------------
// Class 8: bounded amplification

/// Bytes of every file in `dir`: the evidence one run wrote.
fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// A standard point (5 manifest lines) with `line` appended as line 6.
fn point_with_line(name: &str) -> Fixture {
    let fx = Fixture::new();
    let point = fx.standard_point(DAY1, Format::Sha256sum);
    point.append_manifest_line(&point.manifest_line_for(name, b"gone"));
    fx
}

#[test]
fn a_ten_megabyte_manifest_line_is_a_finding_not_a_flood() {
    // Uncapped, such a line was copied into the evidence, the terminal and memory many times
    // over (SECURITY.md, class 8, has the figures).
    let fx = point_with_line(&"n".repeat(10_000_000));
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    let reason = Drill::reason(d.point(DAY1));
    assert!(
        reason.contains("line 6") && reason.contains("8260-byte limit"),
        "the reason names the line and the limit: {reason}"
    );
    assert!(reason.len() < 1024, "{reason}");
    let written = bytes_under(&d.run_dir());
    assert!(written < 256 << 10, "{written} bytes of evidence");
    assert!(
        d.stdout.len() < 16 << 10,
        "{} bytes on stdout",
        d.stdout.len()
    );
}

#[test]
fn a_path_over_path_max_is_a_malformed_line() {
    // 4097 bytes (16 components of 255, their slashes, and `f`), in components of at most
    // 255: only the whole path is too long.
    let long = format!("{}/f", vec!["d".repeat(255); 16].join("/"));
    assert_eq!(long.len(), 4097);
    let fx = point_with_line(&long);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    let reason = Drill::reason(d.point(DAY1));
    assert!(
        reason.contains("line 6") && reason.contains("4097 bytes") && reason.contains("4096"),
        "{reason}"
    );

    // 4096 bytes is a path lifeboat takes: that file fails on its own, the others verify.
    let fx = point_with_line(&long[1..]);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.point(DAY1)["manifest"]["entries"], 6, "{}", d.context());
    assert_eq!(d.file(DAY1, &long[1..])["outcome"], "failed");
    assert_eq!(d.file(DAY1, "etc/app.conf")["outcome"], "passed");
}

#[test]
fn a_component_over_name_max_fails_that_file_with_a_reason_that_says_so() {
    let name = format!("d/{}", "n".repeat(256));
    let fx = point_with_line(&name);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    let reason = Drill::reason(d.file(DAY1, &name));
    assert!(
        reason.contains("256 bytes") && reason.contains("255") && reason.contains("NAME_MAX"),
        "{reason}"
    );
    assert_eq!(d.file(DAY1, "etc/app.conf")["outcome"], "passed");
}

#[test]
fn reasons_quoting_a_long_name_are_clipped_and_the_name_kept_whole() {
    // A valid 4000-byte path that does not exist: its reason quotes it twice.
    let name = vec!["x".repeat(249); 16].join("/");
    let fx = point_with_line(&name);
    let d = fx.drill(&fx.runbook(), &[]);
    d.assert_code(1);
    let file = d.file(DAY1, &name);
    let reason = Drill::reason(file);
    assert!(
        reason.chars().count() <= 1024 && reason.contains('…'),
        "{} characters: {reason}",
        reason.chars().count()
    );
    // Both ends stay: what failed, and the name's end.
    assert!(reason.starts_with("missing object"), "{reason}");
    assert!(reason.ends_with(".zst exists"), "{reason}");
    assert_eq!(
        file["path"],
        name.as_str(),
        "the evidence keeps the name exact"
    );
}

/// Objects a coverage phase found bad are named by the backup (SECURITY.md 7): their paths,
/// points and reasons reach the period report's failure details and its list of objects that
/// failed coverage, and must show as text there, on one line, with no formula.
#[test]
fn objects_that_failed_coverage_are_shown_as_text_in_the_period_reports() {
    use lifeboat_core::evidence::{CoverageObject, CoverageRecord, Outcome};
    let bad = |point: &str, path: &str| CoverageObject {
        recovery_point: point.into(),
        path: path.into(),
        outcome: Outcome::Failed,
        algorithm: lifeboat_core::Algorithm::Sha256,
        actual: None,
        bytes: 0,
        reason: Some(format!("missing object: {path}")),
    };
    let h = crate::report::history_edited("second", |i, ev| {
        if i == 2 {
            ev.coverage = Some(CoverageRecord {
                within_seconds: 86_400,
                budget_bytes: None,
                objects: 3,
                bytes: 3,
                verified_within: 1,
                ratio: 1.0 / 3.0,
                on_pace: true,
                behind_seconds: None,
                never_verified: 0,
                oldest_verified: None,
                phase_bytes: 0,
                verified: vec![
                    bad(FORGING_POINT, MARKUP_NAME),
                    bad("=cmd|' /C calc'!A0", FORGING_NAME),
                    bad("@SUM(1+1)", "+1+1"),
                ],
            });
        }
    });
    let report = |ext: &str| {
        let out = h.out(&format!("period.{ext}"));
        let (code, log) = h.report_november(&out, &[]);
        assert_eq!(code, 0, "{log}");
        std::fs::read_to_string(out).unwrap()
    };
    let md = report("md");
    assert_inert("period.md", &md);
    assert_no_markup_from_names("period.md", &md);
    assert_tables_intact("period.md", &md);
    assert!(md.contains("Objects that failed coverage (3)"), "{md}");
    assert!(md.contains(FORGING_SHOWN), "{md}");

    let html = report("html");
    assert_inert("period.html", &html);
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );

    let csv = report("csv");
    assert_inert("period.csv", &csv.replace("\r\n", "\n"));
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("coverage-failed,"))
        .collect();
    assert_eq!(rows.len(), 3, "one line per object:\n{csv}");
    for line in rows {
        for cell in split_csv(line) {
            let first = cell.trim_start().chars().next();
            let formula = matches!(first, Some('=' | '+' | '@' | '\t' | '\r'))
                || (first == Some('-') && cell.parse::<f64>().is_err());
            assert!(!formula, "a formula in {cell:?}\n{csv}");
        }
    }

    // JSON keeps every name exact, and inert.
    let json = report("json");
    assert_inert("period.json", &json);
    let v: Value = serde_json::from_str(&json).unwrap();
    let failed = &v["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "payments-files")
        .unwrap()["stored_coverage"]["failed"];
    assert_eq!(failed[0]["path"], MARKUP_NAME);
    assert_eq!(failed[0]["recovery_point"], FORGING_POINT);
    assert_eq!(failed[1]["path"], FORGING_NAME);
}
