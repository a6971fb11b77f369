//! The human reports: `report.html` beside every `evidence.json`, and `lifeboat report` over a
//! period. Numbers are checked against the evidence files they came from, names from manifests
//! against escaping, and the period's edges, gaps and chain status against what is on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use lifeboat_core::evidence::Evidence;
use lifeboat_testkit::{Format, sha256_hex};
use serde_json::Value;

use crate::util::{DAY1, DAY2, Drill, Fixture, Runbook};

/// File names no page may interpret: a script, an element with a handler, quotes, `&`.
pub const HOSTILE: [&str; 2] = [
    "hostile/<script>document.body.setAttribute('data-pwned','1')<",
    "hostile/<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">&amp;'q'",
];

/// A point with the standard files plus [`HOSTILE`] names.
pub fn hostile_point(fx: &Fixture, id: &str) -> lifeboat_testkit::Point {
    fx.set
        .point(id)
        .file("etc/app.conf", format!("# point {id}\nport = 8080\n"))
        .file(HOSTILE[0], b"one")
        .file(HOSTILE[1], b"two")
        .text_file("home/alice/notes.md", 2000, 5)
        .random_file("data/blob.bin", 4096, 6)
        .manifest(Format::Sha256sum)
}

fn html_of(d: &Drill) -> String {
    let p = d.run_dir().join("report.html");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}\n{}", p.display(), d.context()))
}

/// The text a reader sees: tags dropped, the five entities decoded, whitespace collapsed.
pub fn visible_text(html: &str) -> String {
    let body = match html.find("<body") {
        Some(at) => &html[at + html[at..].find('>').map_or(0, |e| e + 1)..],
        None => html,
    };
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The percentage in "with 95% confidence fewer than X% of", checked against 1 − 0.05^(1/n)
/// computed here: never below it (the page rounds up), and within its rounding of it.
pub fn assert_bound(text: &str, n: usize) {
    let want = format!("{n} files sampled, all verified: with 95% confidence fewer than ");
    let at = text
        .find(&want)
        .unwrap_or_else(|| panic!("no statement for {n} files in:\n{text}"));
    let rest = &text[at + want.len()..];
    let pct: f64 = rest[..rest.find('%').unwrap()].parse().unwrap();
    let exact = 100.0 * (1.0 - 0.05f64.powf(1.0 / n as f64));
    assert!(
        pct >= exact && pct - exact < 0.1,
        "bound {pct}% for n = {n}, exact {exact}%"
    );
    assert!(
        rest.contains("% of this point's files are corrupt"),
        "{rest}"
    );
}

#[test]
fn a_sampled_drill_writes_report_html_with_the_statement_the_seed_and_the_hashes() {
    let fx = Fixture::new();
    hostile_point(&fx, DAY1);
    let rb = Runbook {
        sample: Some("{files: 3, seed: 7}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--quiet"]);
    d.assert_code(0);
    let html = html_of(&d);
    let text = visible_text(&html);

    // Verdict first.
    let verdict = text.find("PASSED: drill-test").expect("verdict");
    assert!(verdict < 10, "the verdict is not first: {text}");
    assert_bound(&text, 3);
    assert!(text.contains("seed 7"), "no seed: {text}");
    assert!(text.contains("--seed 7"), "{text}");
    // Every sampled file with its expected hash, as in the evidence.
    for f in d.point(DAY1)["files"].as_array().unwrap() {
        assert!(text.contains(f["path"].as_str().unwrap()), "{f}");
        assert!(text.contains(f["expected"].as_str().unwrap()), "{f}");
    }
    // RTO and RPO against objectives.
    assert!(text.contains("RTO"), "{text}");
    assert!(text.contains("RPO"), "{text}");
    assert!(
        text.contains("1d 0h 0m 0s"),
        "measured RPO 86 400 s: {text}"
    );
    assert!(text.contains("1d 2h 0m 0s"), "RPO objective 26 h: {text}");
    // The record it was rendered from.
    let bytes = std::fs::read(d.evidence_path.as_ref().unwrap()).unwrap();
    assert!(text.contains(&sha256_hex(&bytes)), "{text}");
    // Self-contained: nothing fetched from anywhere.
    for banned in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(banned), "{banned} in report.html");
    }
}

#[test]
fn a_whole_point_is_said_to_be_verified_not_estimated() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &["--quiet"]);
    d.assert_code(0);
    let n = d.point(DAY1)["files"].as_array().unwrap().len();
    let text = visible_text(&html_of(&d));
    assert!(
        text.contains(&format!(
            "Every file of this point ({n}) was restored and verified"
        )),
        "{text}"
    );
    assert!(!text.contains("95% confidence"), "{text}");
}

#[test]
fn a_failed_point_names_its_files_and_reasons_and_makes_no_statistical_claim() {
    let fx = Fixture::new();
    fx.standard_point(DAY2, Format::Sha256sum);
    // Three of the five files damaged: any sample of four holds at least two of them.
    const DAMAGED: [&str; 3] = ["etc/app.conf", "home/alice/docs/notes.md", "data/blob.bin"];
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    for f in DAMAGED {
        p.flip_byte(f, 0);
    }
    let rb = Runbook {
        sample: Some("{files: 4, seed: 11}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--quiet"]);
    d.assert_code(1);
    let text = visible_text(&html_of(&d));
    assert!(text.starts_with("FAILED: drill-test"), "{text}");
    let bad: Vec<String> = d
        .file_paths(DAY1)
        .into_iter()
        .filter(|p| DAMAGED.contains(&p.as_str()))
        .collect();
    assert!(bad.len() >= 2, "{bad:?}");
    for path in &bad {
        let f = d.file(DAY1, path);
        assert_eq!(f["outcome"], "failed", "{f}");
        assert!(text.contains(path.as_str()), "{path}: {text}");
        assert!(text.contains(Drill::reason(f)), "{text}");
        assert!(text.contains(f["actual"].as_str().unwrap()), "{text}");
    }
    assert!(
        text.contains(&format!(
            "{} of 4 checked files failed: this recovery point is damaged",
            bad.len()
        )),
        "{text}"
    );
    // The older point passed: its statement is made, for its own 4 files.
    assert_bound(&text, 4);
    assert_eq!(text.matches("95% confidence").count(), 1, "{text}");
}

#[test]
fn names_from_the_manifest_render_as_text() {
    let fx = Fixture::new();
    hostile_point(&fx, DAY1);
    let d = fx.drill(&fx.runbook(), &["--quiet"]);
    d.assert_code(0);
    let html = html_of(&d);
    assert!(!html.contains("<script"), "a script element in report.html");
    assert!(!html.contains("<img"), "an img element in report.html");
    assert!(
        html.contains("&lt;script&gt;"),
        "the name is not shown escaped"
    );
    let text = visible_text(&html);
    for name in HOSTILE {
        assert!(text.contains(name), "{name} not shown as text");
    }
}

#[test]
fn the_reproduce_line_names_the_runbook_absolutely_and_quotes_t0_as_recorded() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // Given relative, from a folder whose name a shell would split: the line must still run
    // from anywhere, pasted as it is.
    std::fs::create_dir(fx.root().join("my runbooks")).unwrap();
    fx.write("my runbooks/rb.yaml", &fx.runbook().yaml());
    let out = fx
        .drill_command(
            Path::new("my runbooks/rb.yaml"),
            // A T0 with nanoseconds and an offset: recorded in UTC, to the nanosecond.
            &[
                "--now",
                "2026-11-22T03:00:00.123456789+01:00",
                "--seed",
                "5",
            ],
        )
        .output()
        .unwrap();
    let d = Drill::new(out, &fx.evidence_dir());
    d.assert_code(0);
    let t0 = d.evidence["t0"].as_str().unwrap();
    assert_eq!(t0, "2026-11-22T02:00:00.123456789Z");
    let absolute = fx.root().join("my runbooks/rb.yaml");
    assert_eq!(
        d.evidence["runbook"]["path"].as_str(),
        absolute.to_str(),
        "the record names the runbook absolutely"
    );
    let command = format!(
        "lifeboat drill '{}' --seed 5 --now {t0}",
        absolute.display()
    );
    assert!(d.stdout.contains(&command), "terminal: {}", d.context());
    assert!(d.report_md().contains(&command), "{}", d.report_md());
    let html = visible_text(&html_of(&d));
    assert!(html.contains(&command), "report.html: {html}");
    // T0 is shown as recorded wherever the pages name it, not cut to the second.
    assert!(
        html.contains(&format!("Incident time T0 {t0}")),
        "report.html: {html}"
    );
}

// ---------------------------------------------------------------------------------------------
// Period reports

/// Real drills of two runbooks, re-dated and written with lifeboat's own writer into one
/// evidence folder (chained like any drill), so a period holds drills on several days.
pub struct History {
    pub fx: Fixture,
    pub dir: PathBuf,
}

/// Stands for the second runbook's name in [`PLAN`].
const SECOND: &str = "<second>";

/// The second runbook's name in [`history`]: hostile, to be escaped wherever it shows.
pub const HOSTILE_RUNBOOK: &str = "hr-<b>docs&\"'";

/// `(runbook, started_at, pass?)` for every record [`history`] writes.
pub const PLAN: [(&str, &str, bool); 7] = [
    ("payments-files", "2026-10-31T23:59:59Z", true), // before the period
    ("payments-files", "2026-11-01T00:00:00Z", true), // its first instant
    ("payments-files", "2026-11-10T02:00:00Z", false),
    ("payments-files", "2026-11-20T02:00:00Z", true),
    (SECOND, "2026-11-15T02:00:00Z", true),
    (SECOND, "2026-11-30T23:59:59Z", true), // the period's last second
    ("payments-files", "2026-12-01T00:00:00Z", true), // after it
];

pub fn history() -> History {
    history_with(HOSTILE_RUNBOOK)
}

/// [`history`] with `second` as the second runbook's name.
pub fn history_with(second: &str) -> History {
    history_edited(second, |_, _| {})
}

/// [`history_with`], each record handed to `edit` (with its index in [`PLAN`]) before it is
/// written: a mode, an operator, another runbook text.
pub fn history_edited(second: &str, edit: impl Fn(usize, &mut Evidence)) -> History {
    let fx = Fixture::new();
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    fx.standard_point(DAY2, Format::Sha256sum);
    let good = fx.drill(&rb, &["--quiet"]);
    good.assert_code(0);
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    let bad = fx.drill(&rb, &["--quiet"]);
    bad.assert_code(1);
    let read = |d: &Drill| -> Evidence {
        serde_json::from_slice(&std::fs::read(d.evidence_path.as_ref().unwrap()).unwrap()).unwrap()
    };
    let (good, bad) = (read(&good), read(&bad));
    let dir = fx.root().join("history");
    for (i, (runbook, at, pass)) in PLAN.iter().enumerate() {
        let mut ev = if *pass { good.clone() } else { bad.clone() };
        let at: Timestamp = at.parse().unwrap();
        let shift = at - ev.started_at;
        ev.started_at = at;
        ev.finished_at += shift;
        ev.t0 = at;
        ev.run_id = format!("run-{i}");
        // Runbook names are validated ([a-z0-9._-]); a record is untrusted input all the same,
        // and the report must escape whatever it holds (the name has no `/`, so the record's
        // folder stays one level deep).
        ev.runbook.name = if *runbook == SECOND { second } else { runbook }.to_string();
        // Different RTOs per drill, so a number taken from the wrong record shows.
        if let Some(r) = ev.measured.rto_seconds.as_mut() {
            *r = 10.0 * (i as f64 + 1.0);
        }
        edit(i, &mut ev);
        lifeboat_evidence::write_run(&dir, &ev, &lifeboat_report::RunPages).unwrap();
    }
    History { fx, dir }
}

impl History {
    /// `lifeboat report --evidence-dir DIR ARGS...`: exit code and combined output.
    pub fn report(&self, args: &[&str]) -> (i32, String) {
        let out = self.fx.run(
            &[
                &["report", "--evidence-dir", self.dir.to_str().unwrap()],
                args,
            ]
            .concat(),
        );
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `lifeboat report` over November 2026 (plus `extra`) into `out`.
    pub fn report_november(&self, out: &Path, extra: &[&str]) -> (i32, String) {
        self.report(&[&NOVEMBER[..], extra, &["--out", out.to_str().unwrap()]].concat())
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.fx.root().join(name)
    }

    /// Every record on disk, by path relative to the folder, read independently of lifeboat.
    pub fn records(&self) -> BTreeMap<String, (Value, String)> {
        let mut m = BTreeMap::new();
        for rb in std::fs::read_dir(&self.dir).unwrap() {
            let rb = rb.unwrap();
            if !rb.file_type().unwrap().is_dir() {
                continue;
            }
            for run in std::fs::read_dir(rb.path()).unwrap() {
                let p = run.unwrap().path().join("evidence.json");
                let bytes = std::fs::read(&p).unwrap();
                let rel = p
                    .strip_prefix(&self.dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                m.insert(
                    rel,
                    (serde_json::from_slice(&bytes).unwrap(), sha256_hex(&bytes)),
                );
            }
        }
        m
    }
}

fn in_november(ev: &Value) -> bool {
    let t: Timestamp = ev["started_at"].as_str().unwrap().parse().unwrap();
    t >= "2026-11-01T00:00:00Z".parse().unwrap() && t < "2026-12-01T00:00:00Z".parse().unwrap()
}

const NOVEMBER: [&str; 4] = ["--from", "2026-11-01", "--to", "2026-11-30"];

#[test]
fn the_json_report_holds_exactly_the_period_s_drills_with_their_numbers() {
    let h = history();
    let out = h.out("nov.json");
    let (code, log) = h.report_november(&out, &[]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    let records = h.records();
    let expected: BTreeMap<&String, &(Value, String)> = records
        .iter()
        .filter(|(_, (ev, _))| in_november(ev))
        .collect();
    assert_eq!(expected.len(), 5, "the fixture's plan changed");

    let mut seen = 0;
    let mut drills_total = 0;
    for rb in r["runbooks"].as_array().unwrap() {
        let name = rb["name"].as_str().unwrap();
        let mine: Vec<&(Value, String)> = expected
            .values()
            .filter(|(ev, _)| ev["runbook"]["name"] == name)
            .copied()
            .collect();
        let passed = mine
            .iter()
            .filter(|(ev, _)| ev["outcome"] == "passed")
            .count();
        assert_eq!(rb["drills"], mine.len(), "{name}");
        assert_eq!(rb["passed"], passed, "{name}");
        assert_eq!(
            rb["pass_rate"].as_f64().unwrap(),
            passed as f64 / mine.len() as f64,
            "{name}"
        );
        drills_total += mine.len();
        for row in rb["drill_list"].as_array().unwrap() {
            let (ev, sha) = &records[row["record"].as_str().unwrap()];
            assert_eq!(&row["evidence_sha256"], sha);
            assert_eq!(row["run_id"], ev["run_id"]);
            assert_eq!(row["outcome"], ev["outcome"]);
            assert_eq!(row["rto_seconds"], ev["measured"]["rto_seconds"]);
            assert_eq!(row["rpo_seconds"], ev["measured"]["rpo_seconds"]);
            assert_eq!(row["rto_met"], ev["measured"]["rto_met"]);
            assert_eq!(row["recovery_point"], ev["measured"]["recovery_point"]);
            assert_eq!(
                row["started_at"]
                    .as_str()
                    .unwrap()
                    .parse::<Timestamp>()
                    .unwrap(),
                ev["started_at"]
                    .as_str()
                    .unwrap()
                    .parse::<Timestamp>()
                    .unwrap()
            );
            let files: Vec<&Value> = ev["recovery_points"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p["files"].as_array().unwrap())
                .collect();
            assert_eq!(row["files_checked"], files.len());
            assert_eq!(
                row["files_verified"],
                files.iter().filter(|f| f["outcome"] == "passed").count()
            );
            assert!(in_november(ev), "{row}");
            seen += 1;
        }
        // Every failure with its reason.
        let failed: Vec<&&(Value, String)> = mine
            .iter()
            .filter(|(ev, _)| ev["outcome"] != "passed")
            .collect();
        assert_eq!(rb["failures"].as_array().unwrap().len(), failed.len());
        for (f, (ev, _)) in rb["failures"].as_array().unwrap().iter().zip(failed) {
            assert_eq!(f["reason"], ev["reason"]);
            assert!(
                f["details"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d.as_str().unwrap().contains("etc/app.conf")),
                "{f}"
            );
        }
    }
    assert_eq!(seen, 5);
    assert_eq!(r["totals"]["drills"], drills_total);
    // The inputs: each record read, with the SHA-256 of its bytes, and nothing outside the
    // period.
    let inputs: BTreeMap<String, String> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap().to_owned(),
                i["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (rel, (_, sha)) in &expected {
        assert_eq!(inputs.get(*rel), Some(sha), "{rel}");
    }
    assert_eq!(
        inputs.len(),
        expected.len() + 1,
        "records + the ledger: {inputs:?}"
    );
    let ledger = std::fs::read(h.dir.join("ledger.jsonl")).unwrap();
    assert_eq!(inputs["ledger.jsonl"], sha256_hex(&ledger));
    assert_eq!(r["chain"]["intact"], true, "{}", r["chain"]);
    assert_eq!(r["gaps_checked"], false);
}

#[test]
fn rfc3339_bounds_are_exact_and_the_runbook_filter_keeps_one_runbook() {
    let h = history();
    let out = h.out("r.json");
    let (code, log) = h.report(&[
        "--from",
        "2026-11-01T00:00:01Z",
        "--to",
        "2026-11-30T23:59:58Z",
        "--runbook",
        "payments-files",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rbs = r["runbooks"].as_array().unwrap();
    assert_eq!(rbs.len(), 1, "{r}");
    let ids: Vec<&str> = rbs[0]["drill_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["run_id"].as_str().unwrap())
        .collect();
    // run-1 started at 00:00:00, a second before --from.
    assert_eq!(ids, ["run-2", "run-3"]);
}

#[test]
fn the_csv_report_has_a_row_per_drill_matching_the_evidence() {
    let h = history();
    let out = h.out("nov.csv");
    let (code, log) = h.report_november(&out, &[]);
    assert_eq!(code, 0, "{log}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let records = h.records();
    let mut rows = 0;
    for line in lines {
        // No quoted cells in this fixture except reasons: split on commas outside quotes.
        let cells = split_csv(line);
        assert_eq!(cells.len(), header.len(), "{line}");
        assert_eq!(cells[col("kind")], "drill");
        let (ev, sha) = records
            .values()
            .find(|(ev, _)| ev["run_id"] == cells[col("run_id")])
            .unwrap();
        assert!(in_november(ev));
        assert_eq!(cells[col("evidence_sha256")], *sha);
        assert_eq!(cells[col("outcome")], ev["outcome"].as_str().unwrap());
        assert_eq!(
            cells[col("rto_seconds")].parse::<f64>().unwrap(),
            ev["measured"]["rto_seconds"].as_f64().unwrap()
        );
        assert_eq!(
            cells[col("rpo_seconds")].parse::<f64>().unwrap(),
            ev["measured"]["rpo_seconds"].as_f64().unwrap()
        );
        assert_eq!(
            cells[col("runbook")],
            ev["runbook"]["name"].as_str().unwrap()
        );
        rows += 1;
    }
    assert_eq!(rows, 5);
}

fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

#[test]
fn the_html_and_markdown_reports_show_the_numbers_charts_controls_and_escape_names() {
    let h = history();
    let html_out = h.out("nov.html");
    let (code, log) = h.report_november(&html_out, &[]);
    assert_eq!(code, 0, "{log}");
    let html = std::fs::read_to_string(&html_out).unwrap();
    assert!(!html.contains("<b>docs"), "runbook name not escaped");
    assert!(!html.contains("<script"), "script in the period report");
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "RTO and RPO charts for two runbooks"
    );
    let text = visible_text(&html);
    assert!(text.contains("Runbook hr-<b>docs&\"'"), "{text}");
    assert!(
        text.contains("5 drills: 4 passed, 1 failed, 0 could not complete"),
        "{text}"
    );
    assert!(text.contains("gaps not checked"), "{text}");
    assert!(text.contains("Evidence chain: verified"), "{text}");
    for control in ["27001:2022", "A 8.13", "SOC 2", "A1.3", "CP-4", "CP-9"] {
        assert!(text.contains(control), "{control} missing");
    }
    // payments-files: 3 drills in November (run-1..3), 2 passed.
    assert!(text.contains("3 drills: 2 passed, 1 failed"), "{text}");
    assert!(text.contains("66.7%"), "pass rate: {text}");
    // Every record of the period, by its SHA-256.
    for (ev, sha) in h.records().values() {
        assert_eq!(text.contains(sha), in_november(ev), "{}", ev["run_id"]);
    }

    let md_out = h.out("nov.md");
    let (code, log) = h.report_november(&md_out, &[]);
    assert_eq!(code, 0, "{log}");
    let md = std::fs::read_to_string(&md_out).unwrap();
    // A name that is not plain words shows as a code span, where Markdown reads nothing.
    assert!(md.contains("## Runbook `hr-<b>docs&\"'`"), "{md}");
    assert!(md.contains("3 drills: 2 passed, 1 failed"), "{md}");
    assert!(md.contains("NIST SP 800-53"), "{md}");
}

#[test]
fn a_tampered_folder_is_reported_as_not_intact_and_the_record_marked() {
    let h = history();
    let records = h.records();
    let (rel, _) = records
        .iter()
        .find(|(_, (ev, _))| ev["run_id"] == "run-3")
        .unwrap();
    // A believable edit: the record still parses, its RTO is better than measured.
    let path = h.dir.join(rel);
    let mut ev: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ev["measured"]["rto_seconds"] = 1.5.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    let out = h.out("t.json");
    let (code, log) = h.report_november(&out, &[]);
    assert_eq!(code, 0, "the report is still written: {log}");
    assert!(log.contains("chain NOT INTACT"), "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["chain"]["intact"], false);
    let findings = r["chain"]["findings"].to_string();
    assert!(
        findings.contains("run-3") && findings.contains("edited"),
        "{findings}"
    );
    let rows: Vec<&Value> = r["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rb| rb["drill_list"].as_array().unwrap())
        .collect();
    assert_eq!(rows.len(), 5, "the edited record is still reported");
    for d in rows {
        assert_eq!(d["chain_ok"], d["run_id"] != "run-3", "{d}");
    }
    let html_out = h.out("t.html");
    let (code, log) = h.report_november(&html_out, &[]);
    assert_eq!(code, 0, "{log}");
    let text = visible_text(&std::fs::read_to_string(&html_out).unwrap());
    assert!(text.contains("Evidence chain: NOT INTACT"), "{text}");
    assert!(text.contains("edited"), "{text}");
}

#[test]
fn gaps_come_from_the_history_store() {
    use lifeboat_scheduler::{SlotState, SqliteStore};
    let h = history();
    let state = h.fx.root().join("state.db");
    let store = SqliteStore::open(&state).unwrap();
    let now: Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
    let slot = |s: &str| s.parse::<Timestamp>().unwrap();
    let recorded = [
        (
            "payments-files",
            "2026-11-05T02:00:00Z",
            SlotState::Missed,
            Some("the scheduler was down"),
        ),
        (
            "payments-files",
            "2026-11-06T02:00:00Z",
            SlotState::SkippedOverlap,
            None,
        ),
        (
            "payments-files",
            "2026-10-20T02:00:00Z",
            SlotState::Missed,
            Some("outside the period"),
        ),
        (
            "other-runbook",
            "2026-11-07T02:00:00Z",
            SlotState::Abandoned,
            None,
        ),
    ];
    for (rb, at, st, why) in recorded {
        assert!(
            store
                .record_slot(rb, slot(at), st, Some("schedule"), why, now)
                .unwrap()
        );
    }
    drop(store);
    let out = h.out("g.json");
    let (code, log) = h.report_november(&out, &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["gaps_checked"], true);
    assert_eq!(r["totals"]["gaps"], 3, "{r}");
    let rb = |name: &str| {
        r["runbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap_or_else(|| panic!("no runbook {name}"))
            .clone()
    };
    let p = rb("payments-files");
    let gaps: Vec<(&str, &str)> = p["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["slot"].as_str().unwrap(), g["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        gaps,
        [
            ("2026-11-05T02:00:00Z", "missed"),
            ("2026-11-06T02:00:00Z", "skipped-overlap")
        ]
    );
    assert_eq!(p["gaps"][0]["reason"], "the scheduler was down");
    // A runbook with gaps and no drill is still listed, with no drill.
    let o = rb("other-runbook");
    assert_eq!(o["drills"], 0);
    assert_eq!(o["gaps"][0]["state"], "abandoned");

    let html_out = h.out("g.html");
    let (code, log) = h.report_november(&html_out, &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{log}");
    let text = visible_text(&std::fs::read_to_string(&html_out).unwrap());
    assert!(text.contains("3 scheduled drills did not run"), "{text}");
    assert!(text.contains("the scheduler was down"), "{text}");
    assert!(
        text.contains("No drill of this runbook ran in the period"),
        "{text}"
    );
}

#[test]
fn bad_arguments_exit_2_saying_what_was_expected() {
    let h = history();
    let out = |n: &str| h.out(n).to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--from".into(),
                "2026-11-01".into(),
                "--to".into(),
                "2026-11-30".into(),
                "--out".into(),
                out("r.pdf"),
            ],
            ".html, .md, .json, .csv",
        ),
        (
            vec![
                "--from".into(),
                "01/11/2026".into(),
                "--to".into(),
                "2026-11-30".into(),
                "--out".into(),
                out("r.json"),
            ],
            "YYYY-MM-DD",
        ),
        (
            vec![
                "--from".into(),
                "2026-12-01".into(),
                "--to".into(),
                "2026-11-30".into(),
                "--out".into(),
                out("r.json"),
            ],
            "after --to",
        ),
        (
            vec![
                "--from".into(),
                "2026-11-01".into(),
                "--to".into(),
                "2026-11-30".into(),
                "--out".into(),
                out("r.json"),
                "--state".into(),
                out("nope.db"),
            ],
            "no such history store",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, log) = h.report(&args);
        assert_eq!(code, 2, "{args:?}: {log}");
        assert!(log.contains(want), "{args:?}: {want:?} not in {log}");
        assert!(!h.out("r.json").exists() && !h.out("r.pdf").exists());
    }
    let missing = h.fx.root().join("no-such-folder");
    let o = h.fx.run(&[
        "report",
        "--evidence-dir",
        missing.to_str().unwrap(),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        &out("r.json"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a folder"));
    // A folder that holds no evidence: most likely the wrong path.
    let empty = h.fx.root().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = h.fx.run(&[
        "report",
        "--evidence-dir",
        empty.to_str().unwrap(),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        &out("r.json"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("is it an evidence folder"));
    assert!(!h.out("r.json").exists());
}

#[test]
fn a_runbook_without_drills_in_the_folder_is_exit_2_naming_those_with_some() {
    let h = history();
    let out = h.out("r.json");
    let (code, log) = h.report_november(&out, &["--runbook", "payments-file"]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("payments-file")
            && log.contains("no drill")
            && log.contains("payments-files")
            && log.contains("hr-<b>docs&\"'"),
        "{log}"
    );
    assert!(!out.exists(), "nothing may be written");
    // Drills in the folder but none in the period: a report, which says so.
    let (code, log) = h.report(&[
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-31",
        "--runbook",
        "payments-files",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["runbooks"][0]["drills"], 0, "{r}");
}

#[test]
fn a_record_that_does_not_parse_is_listed_not_dropped() {
    let h = history();
    let records = h.records();
    let (rel, _) = records
        .iter()
        .find(|(_, (ev, _))| ev["run_id"] == "run-2")
        .unwrap();
    let path = h.dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"failed\"", "\"fine\"", 1)).unwrap();
    let out = h.out("u.json");
    let (code, log) = h.report_november(&out, &[]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let unreadable = r["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{r}");
    assert_eq!(unreadable[0]["record"], rel.as_str());
    assert_eq!(r["chain"]["intact"], false);
    let html_out = h.out("u.html");
    let (code, log) = h.report_november(&html_out, &[]);
    assert_eq!(code, 0, "{log}");
    let text = visible_text(&std::fs::read_to_string(&html_out).unwrap());
    assert!(text.contains("Unreadable records"), "{text}");
    assert!(text.contains(rel.as_str()), "{text}");
}

#[test]
fn with_the_public_key_the_report_checks_signatures_too() {
    let (fx, keys, drills) = crate::ledger::signed_drills(2);
    let evidence = fx.evidence_dir();
    let out = fx.root().join("signed.json");
    let report = |extra: &[&str]| {
        let o = fx.run(
            &[
                &[
                    "report",
                    "--evidence-dir",
                    evidence.to_str().unwrap(),
                    "--from",
                    "2000-01-01",
                    "--to",
                    "2999-12-31",
                    "--out",
                    out.to_str().unwrap(),
                ][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        serde_json::from_str::<Value>(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    let key_id = std::fs::read_to_string(&keys.public).unwrap();
    let r = report(&["--public-key", keys.public.to_str().unwrap()]);
    assert_eq!(r["chain"]["intact"], true, "{}", r["chain"]);
    assert_eq!(r["chain"]["signatures_checked"], true);
    let id = r["chain"]["public_key_id"].as_str().unwrap().to_string();
    assert!(
        key_id
            .to_ascii_uppercase()
            .contains(&id.to_ascii_uppercase()),
        "{id} not in {key_id}"
    );
    assert_eq!(r["totals"]["drills"], drills.len());
    // An unsigned record after the signed ones (a drill is refused that, but an older lifeboat
    // or another writer may have done it): hashes still chain, the key check does not.
    crate::ledger::chain_an_unsigned_record(&fx, &drills[1]);
    let r = report(&[]);
    assert_eq!(r["chain"]["intact"], true, "{}", r["chain"]);
    assert_eq!(r["chain"]["signatures_checked"], false);
    let r = report(&["--public-key", keys.public.to_str().unwrap()]);
    assert_eq!(r["chain"]["intact"], false, "{}", r["chain"]);
    assert!(r["chain"]["findings"].to_string().contains("not signed"));
}

/// Steps (and `finally`) are rendered generically from whatever a step recorded: every field
/// and every detail, escaped. Built from a real record, with steps as the runner will fill.
#[test]
fn steps_and_finally_are_rendered_with_every_detail_escaped() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = fx.drill(&fx.runbook(), &["--quiet"]);
    d.assert_code(0);
    let mut ev = d.evidence.clone();
    let step = serde_json::json!({
        "kind": "run",
        "name": "integrity <check>",
        "started_at": "2026-11-22T02:00:01Z",
        "finished_at": "2026-11-22T02:00:03.5Z",
        "outcome": "failed",
        "reason": "exit code 3: expected stdout \"ok\"",
        "detail": { "exit_code": "3", "stdout_tail": "<script>x</script> corrupt page 7" }
    });
    ev["recovery_points"][0]["steps"]
        .as_array_mut()
        .unwrap()
        .push(step.clone());
    let mut fin = step;
    fin["kind"] = "http".into();
    fin["name"] = "health".into();
    fin["outcome"] = "passed".into();
    fin["reason"] = Value::Null;
    fin["detail"] = serde_json::json!({ "status": "200" });
    ev["finally"] = Value::Array(vec![fin]);
    let ev: Evidence = serde_json::from_value(ev).unwrap();
    let html = lifeboat_report::html::render_run(&ev, None);
    assert!(!html.contains("<script"), "{html}");
    let text = visible_text(&html);
    for want in [
        "run — integrity <check>",
        "failed",
        "2.5s",
        "exit code 3: expected stdout \"ok\"",
        "exit_code : 3",
        "stdout_tail : <script>x</script> corrupt page 7",
        "Final steps ( finally )",
        "http — health",
        "status : 200",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// What an auditor asks next: who ran each drill and how, where its own report is, whether the
// runbook changed, and how many scheduled drills should have run.

/// `%XX` escapes decoded, as a browser does before it opens a relative link.
pub fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Every link in `text` to a drill's `report.html`: what follows `open` up to `close`
/// (`href="` … `"` in HTML, `](` … `)` in Markdown).
pub fn report_links(text: &str, open: &str, close: char) -> Vec<String> {
    text.match_indices(open)
        .map(|(at, _)| {
            let rest = &text[at + open.len()..];
            rest[..rest.find(close).unwrap()].to_string()
        })
        .filter(|l| l.ends_with("/report.html"))
        .collect()
}

/// The `report.html` files `links` (relative to `from`) lead to, each checked to exist.
fn resolved(from: &Path, links: &[String]) -> std::collections::BTreeSet<PathBuf> {
    links
        .iter()
        .map(|l| {
            assert!(
                !l.starts_with('/') && !l.contains(':'),
                "a link that breaks when the folders move: {l}"
            );
            from.join(percent_decoded(l))
                .canonicalize()
                .unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .collect()
}

#[test]
fn each_drill_says_its_mode_and_operator_and_links_its_own_report() {
    use lifeboat_core::evidence::Mode;
    let h = history_edited(HOSTILE_RUNBOOK, |i, ev| match i {
        2 => {
            ev.mode = Mode::Manual;
            ev.operator = Some("alice".into());
        }
        3 => ev.mode = Mode::Scheduled,
        _ => {}
    });
    // Written beside the evidence folder, not in it: the links climb out and back down, and
    // hold wherever the two folders move together.
    let reports = h.out("reports");
    std::fs::create_dir(&reports).unwrap();
    let records = h.records();
    let pages: std::collections::BTreeSet<PathBuf> = records
        .iter()
        .filter(|(_, (ev, _))| in_november(ev))
        .map(|(rel, _)| {
            h.dir
                .join(rel)
                .with_file_name("report.html")
                .canonicalize()
                .unwrap()
        })
        .collect();
    assert_eq!(pages.len(), 5);
    let write = |ext: &str| {
        let out = reports.join(format!("nov.{ext}"));
        let (code, log) = h.report_november(&out, &[]);
        assert_eq!(code, 0, "{log}");
        std::fs::read_to_string(&out).unwrap()
    };

    let r: Value = serde_json::from_str(&write("json")).unwrap();
    assert_eq!(r["evidence_href"], "../history", "{r}");
    let mut rows = 0;
    for rb in r["runbooks"].as_array().unwrap() {
        for row in rb["drill_list"].as_array().unwrap() {
            let (ev, _) = &records[row["record"].as_str().unwrap()];
            assert_eq!(row["mode"], ev["mode"], "{row}");
            assert_eq!(row["operator"], ev["operator"], "{row}");
            assert_eq!(
                h.dir.join(row["report"].as_str().unwrap()),
                h.dir
                    .join(row["record"].as_str().unwrap())
                    .with_file_name("report.html")
            );
            rows += 1;
        }
        if rb["name"] == "payments-files" {
            assert_eq!(
                rb["by_mode"],
                serde_json::json!({"automatic": 1, "manual": 1, "scheduled": 1}),
                "{rb}"
            );
        }
    }
    assert_eq!(rows, 5);

    let html = write("html");
    let text = visible_text(&html);
    assert!(
        text.contains("2026-11-10T02:00:00Z run-2 manual alice FAILED"),
        "the row says who ran it and how: {text}"
    );
    assert!(
        text.contains("2026-11-20T02:00:00Z run-3 scheduled — PASSED"),
        "{text}"
    );
    assert!(
        text.contains("1 automatic, 1 manual, 1 scheduled"),
        "{text}"
    );
    assert_eq!(
        resolved(&reports, &report_links(&html, "href=\"", '"')),
        pages
    );

    let md = write("md");
    assert!(md.contains("| manual | alice | FAILED |"), "{md}");
    assert_eq!(resolved(&reports, &report_links(&md, "](", ')')), pages);

    let csv = write("csv");
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    let mut links = Vec::new();
    for cells in lines.map(split_csv).filter(|c| c[0] == "drill") {
        let (ev, _) = records
            .values()
            .find(|(ev, _)| ev["run_id"] == cells[col("run_id")])
            .unwrap();
        assert_eq!(cells[col("mode")], ev["mode"].as_str().unwrap());
        assert_eq!(
            cells[col("operator")],
            ev["operator"].as_str().unwrap_or("")
        );
        links.push(cells[col("report")].clone());
    }
    assert_eq!(resolved(&reports, &links), pages);
}

#[test]
fn runbook_texts_that_changed_are_listed_with_the_first_drill_of_each() {
    let sha = |c: char| c.to_string().repeat(64);
    // payments-files: run-0 (before the period) ran text c, run-1 text a, run-2 b, run-3 a
    // again; the second runbook one text throughout.
    let h = history_edited(HOSTILE_RUNBOOK, |i, ev| {
        ev.runbook.sha256 = sha(match i {
            0 => 'c',
            2 => 'b',
            _ => 'a',
        });
    });
    let out = h.out("c.json");
    let (code, log) = h.report_november(&out, &[]);
    assert_eq!(code, 0, "{log}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rb = |name: &str| {
        r["runbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()
            .clone()
    };
    let changes: Vec<(String, String, String, String)> = rb("payments-files")["runbook_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
            (
                s("run_id"),
                s("from_sha256"),
                s("to_sha256"),
                s("previous_run_id"),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            // Against the last drill before the period.
            ("run-1".into(), sha('c'), sha('a'), "run-0".into()),
            ("run-2".into(), sha('a'), sha('b'), "run-1".into()),
            ("run-3".into(), sha('b'), sha('a'), "run-2".into()),
        ]
    );
    assert_eq!(
        rb(HOSTILE_RUNBOOK)["runbook_changes"],
        serde_json::json!([])
    );
    let first = |name: &str, run: &str| {
        rb(name)["drill_list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["run_id"] == run)
            .unwrap()["runbook_sha256"]
            .clone()
    };
    assert_eq!(first("payments-files", "run-2"), sha('b'));

    let html_out = h.out("c.html");
    let (code, log) = h.report_november(&html_out, &[]);
    assert_eq!(code, 0, "{log}");
    let text = visible_text(&std::fs::read_to_string(&html_out).unwrap());
    assert!(
        text.contains("The runbook file changed 3 times in the period"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "2026-11-10T02:00:00Z run-2 was the first drill to run SHA-256 {}",
            sha('b')
        )),
        "{text}"
    );
    assert!(
        text.contains("run-0 , before the period"),
        "the first change is against the drill before the period: {text}"
    );
    assert!(
        text.contains(&format!(
            "The runbook file was the same in every drill of the period: SHA-256 {}",
            sha('a')
        )),
        "{text}"
    );
    let md_out = h.out("c.md");
    let (code, log) = h.report_november(&md_out, &[]);
    assert_eq!(code, 0, "{log}");
    let md = std::fs::read_to_string(&md_out).unwrap();
    assert!(
        md.contains("The runbook file changed 3 times in the period"),
        "{md}"
    );
}

#[test]
fn scheduled_drills_are_counted_against_the_slots_and_an_unscheduled_runbook_says_so() {
    use lifeboat_core::evidence::Mode;
    use lifeboat_scheduler::{RunRecord, SlotState, SqliteStore};
    // payments-files is scheduled: three slots ran (its November drills), one was missed;
    // the second runbook was only ever drilled by hand.
    let slots = [
        ("run-1", "2026-11-01T00:00:00Z"),
        ("run-2", "2026-11-10T02:00:00Z"),
        ("run-3", "2026-11-20T02:00:00Z"),
    ];
    let h = history_edited(HOSTILE_RUNBOOK, |i, ev| {
        if (1..=3).contains(&i) {
            ev.mode = Mode::Scheduled;
        }
    });
    let state = h.fx.root().join("state.db");
    let store = SqliteStore::open(&state).unwrap();
    let now: Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
    let records = h.records();
    for (run, at) in slots {
        let slot: Timestamp = at.parse().unwrap();
        let claimed = store
            .record_slot(
                "payments-files",
                slot,
                SlotState::Running,
                Some("schedule"),
                None,
                now,
            )
            .unwrap();
        assert!(claimed);
        let (ev, _) = records
            .values()
            .find(|(ev, _)| ev["run_id"] == run)
            .unwrap();
        let ev: Evidence = serde_json::from_value(ev.clone()).unwrap();
        store
            .record_run(&RunRecord::from_evidence(&ev, None, Some(slot)))
            .unwrap();
    }
    let missed: Timestamp = "2026-11-05T02:00:00Z".parse().unwrap();
    store
        .record_slot(
            "payments-files",
            missed,
            SlotState::Missed,
            Some("schedule"),
            Some("the scheduler was down"),
            now,
        )
        .unwrap();
    drop(store);
    let report = |ext: &str| {
        let out = h.out(&format!("s.{ext}"));
        let (code, log) = h.report_november(&out, &["--state", state.to_str().unwrap()]);
        assert_eq!(code, 0, "{log}");
        std::fs::read_to_string(&out).unwrap()
    };
    // The line `lifeboat report` prints counts the slots as the pages do.
    let (code, log) = h.report_november(&h.out("s.html"), &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("3 of 4 scheduled drills ran, 1 missed slot,"),
        "{log}"
    );
    let r: Value = serde_json::from_str(&report("json")).unwrap();
    let rb = |name: &str| {
        r["runbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        rb("payments-files")["schedule"],
        serde_json::json!({"expected": 4, "ran": 3, "not_run": 1, "pending": 0}),
    );
    assert_eq!(
        rb(HOSTILE_RUNBOOK)["schedule"],
        serde_json::json!({"expected": 0, "ran": 0, "not_run": 0, "pending": 0}),
    );
    assert_eq!(r["totals"]["slots_expected"], 4, "{}", r["totals"]);
    assert_eq!(r["totals"]["slots_ran"], 3, "{}", r["totals"]);

    let text = visible_text(&report("html"));
    assert!(
        text.contains("3 of 4 scheduled drills ran; 1 did not run"),
        "{text}"
    );
    assert!(
        text.contains(
            "Not scheduled: the history store holds no slot of this runbook in the period."
        ),
        "{text}"
    );
    // The green all-clear is said of nothing that had no schedule.
    assert!(!text.contains("No scheduled drill was missed"), "{text}");
    let md = report("md");
    assert!(md.contains("| 3 of 4 |"), "{md}");
    assert!(md.contains("| not scheduled |"), "{md}");
    assert!(!md.contains("No scheduled drill was missed"), "{md}");
}

#[test]
fn a_history_store_with_no_slot_is_not_reported_as_nothing_missed() {
    // Drills run by hand, recorded in a store the scheduler never used: "0 missed slots" on
    // the terminal would read as an all-clear for a schedule that does not exist.
    let h = history();
    let state = h.fx.root().join("state.db");
    drop(lifeboat_scheduler::SqliteStore::open(&state).unwrap());
    let out = h.out("q.md");
    let (code, log) = h.report_november(&out, &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{log}");
    let line = log.lines().next().unwrap_or_default();
    assert!(line.contains("no drill scheduled"), "{log}");
    assert!(!line.contains("missed slot"), "{log}");
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(
        md.contains("no drill was scheduled in the period (the history store holds no slot in it)"),
        "{md}"
    );
}
