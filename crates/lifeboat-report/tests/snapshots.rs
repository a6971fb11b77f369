//! Every rendering, snapshotted (insta): report.md, report.html and the terminal summary of a
//! few fixture records (`tests/fixtures/*.json`: a passed sampled drill, a failed one that fell
//! back to an older point with steps, `finally` and webhooks, one that could not complete, and
//! one whose every name is hostile), and the period report in each format over them. A change
//! of wording, layout or escaping is then a diff of `tests/snapshots/` to review.
//!
//! Instants are redacted to their shape (`YYYY-MM-DDTHH:MM:SSZ`, fractions kept as `.f…`),
//! so moving a fixture in time changes nothing while a change in how times are written still
//! shows. A missing or changed snapshot fails the test; CI (`CI` set) never writes one. Review
//! and accept a change with `cargo insta review`, or `INSTA_UPDATE=always cargo test -p
//! lifeboat-report --test snapshots` and `git diff`.

use jiff::Timestamp;
use lifeboat_core::evidence::{CoverageObject, CoverageRecord, Evidence, Outcome};
use lifeboat_evidence::period::{
    self, ChainStatus, Contents, Earlier, Gap, GapSource, Period, PeriodReport, RecordRead, Slot,
    Unreadable,
};
use lifeboat_report::period::{Format, PeriodView};
use lifeboat_report::{html, markdown, terminal};

/// The fixture records, by name.
const FIXTURES: [(&str, &str); 4] = [
    (
        "passed-sampled",
        include_str!("fixtures/passed-sampled.json"),
    ),
    (
        "failed-fallback",
        include_str!("fixtures/failed-fallback.json"),
    ),
    (
        "error-interrupted",
        include_str!("fixtures/error-interrupted.json"),
    ),
    ("hostile-names", include_str!("fixtures/hostile-names.json")),
];

fn record(name: &str) -> Evidence {
    let (_, json) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The SHA-256 a page shows for its record: fixed, so it is not a function of the fixture's
/// bytes (a reformatted fixture changes no snapshot).
const RECORD_SHA256: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// `text` with every RFC 3339 instant (`2026-11-22T02:00:03.25Z`, `+01:00` offsets too)
/// replaced by its shape: `YYYY-MM-DDTHH:MM:SS.ffZ`.
fn redact(text: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    const MASK: &str = "YYYY-MM-DDTHH:MM:SS";
    let b = text.as_bytes();
    let fits = |at: usize| {
        b.len() >= at + SHAPE.len()
            && SHAPE.iter().zip(&b[at..]).all(|(s, c)| match s {
                b'd' => c.is_ascii_digit(),
                s => s == c,
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if !fits(i) {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        out.push_str(MASK);
        i += SHAPE.len();
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            out.push('.');
            out.push_str(&"f".repeat(digits));
            i += 1 + digits;
        }
    }
    out
}

#[test]
fn redaction_keeps_the_shape_of_an_instant() {
    assert_eq!(
        redact("at 2026-11-22T02:00:03.25Z, 2026-11-22T02:00:00+01:00 and 2026-11-22 — x"),
        "at YYYY-MM-DDTHH:MM:SS.ffZ, YYYY-MM-DDTHH:MM:SS+01:00 and 2026-11-22 — x"
    );
}

#[test]
fn report_md() {
    for (name, _) in FIXTURES {
        let md = markdown::render(&record(name));
        insta::assert_snapshot!(format!("report_md__{name}"), redact(&md));
    }
}

#[test]
fn report_html() {
    for (name, _) in FIXTURES {
        let page = html::render_run(&record(name), Some(RECORD_SHA256));
        insta::assert_snapshot!(format!("report_html__{name}"), redact(&page));
    }
}

#[test]
fn terminal_summary() {
    for (name, _) in FIXTURES {
        let text = terminal::summary(&record(name), false);
        insta::assert_snapshot!(format!("terminal__{name}"), redact(&text));
    }
    // In colour: the verdict's and the marks' escape sequences, shown as `\e` here.
    let text = terminal::summary(&record("failed-fallback"), true).replace('\u{1b}', "\\e");
    insta::assert_snapshot!("terminal__failed-fallback__colour", redact(&text));
}

/// `fixture` as a record of the period: started at `at` (its other times moved with it),
/// with run id `id`, of runbook `runbook` (the fixture's own when `None`).
fn dated(fixture: &str, at: &str, id: &str, runbook: Option<&str>) -> RecordRead {
    let mut ev = record(fixture);
    let at: Timestamp = at.parse().unwrap();
    let shift = at - ev.started_at;
    ev.started_at = at;
    ev.finished_at += shift;
    ev.t0 += shift;
    ev.run_id = id.into();
    if let Some(r) = runbook {
        ev.runbook.name = r.into();
    }
    let path = format!("{}/{id}/evidence.json", ev.runbook.name);
    RecordRead {
        sha256: format!(
            "{:0>64}",
            id.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        chain_ok: id != "run-4",
        path,
        evidence: ev,
    }
}

/// An object a coverage phase verified; `reason` makes it a failure.
fn covered(path: &str, reason: Option<&str>) -> CoverageObject {
    CoverageObject {
        recovery_point: "2026-10-30T02-00-00Z".into(),
        path: path.into(),
        outcome: if reason.is_some() {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        algorithm: lifeboat_core::Algorithm::Sha256,
        actual: Some("b".repeat(64)),
        bytes: 1 << 20,
        reason: reason.map(str::to_owned),
    }
}

/// Where a coverage phase left coverage: of 200 objects, `ratio` verified within 30 days;
/// when behind, full coverage takes 45 days at the budget.
fn coverage(ratio: f64, on_pace: bool, verified: Vec<CoverageObject>) -> CoverageRecord {
    let within = (ratio * 200.0).round() as u64;
    CoverageRecord {
        within_seconds: 30 * 86_400,
        budget_bytes: Some(10 << 30),
        objects: 200,
        bytes: 200 << 20,
        verified_within: within,
        ratio,
        on_pace,
        behind_seconds: (!on_pace).then_some(45 * 86_400),
        never_verified: 200 - within,
        oldest_verified: Some("2026-10-20T02:00:00Z".parse().unwrap()),
        phase_bytes: (verified.len() as u64) << 20,
        verified,
    }
}

fn november() -> Period {
    Period {
        from: "2026-11-01T00:00:00Z".parse().unwrap(),
        to: "2026-11-30T23:59:59.999999999Z".parse().unwrap(),
    }
}

/// A month of drills of two runbooks: passes, a failure, one that could not complete, a
/// record edited after it was written (the chain names it), an unreadable record, three
/// scheduled slots that did not run (one outside the period), two that ran, one still
/// running, a runbook file that changed (against the drill before the period, then twice
/// more), a manual drill, and a runbook with no schedule.
fn november_report() -> PeriodReport {
    let mut records = vec![
        dated("passed-sampled", "2026-11-01T02:00:00Z", "run-1", None),
        dated("passed-sampled", "2026-11-08T02:00:00Z", "run-2", None),
        dated("failed-fallback", "2026-11-10T02:00:00Z", "run-3", None),
        dated("passed-sampled", "2026-11-15T02:00:00Z", "run-4", None),
        dated("error-interrupted", "2026-11-20T02:00:00Z", "run-5", None),
        dated("hostile-names", "2026-11-12T02:00:00Z", "run-6", None),
    ];
    // run-4 ran another text of its runbook; run-5 the first one again. run-1 and run-2 ran
    // for the schedule's slots.
    records[3].evidence.runbook.sha256 = "8".repeat(64);
    for r in &mut records[..2] {
        r.evidence.mode = lifeboat_core::evidence::Mode::Scheduled;
    }
    // Coverage of the stored objects: rising on pace, then behind; run-3 found a bad object
    // with a hostile name and reason; run-5 could not complete before its coverage phase.
    records[0].evidence.coverage = Some(coverage(0.3, true, vec![]));
    records[1].evidence.coverage = Some(coverage(0.55, true, vec![]));
    records[2].evidence.coverage = Some(coverage(
        0.7,
        true,
        vec![
            covered("data/ok.bin", None),
            covered(
                "etc/<script>alert(1)</script>|`x`\u{1b}[2J\n=cmd|' /C calc'!A0",
                Some("hash mismatch: expected <b>aaaa</b> | got `bbbb`"),
            ),
        ],
    ));
    records[3].evidence.coverage = Some(coverage(0.42, false, vec![]));
    records[5].evidence.coverage = Some(coverage(1.0, true, vec![covered("docs/a", None)]));
    let chain = ChainStatus {
        intact: false,
        signatures_checked: true,
        public_key_id: Some("5CA1AB1E0DDBA11".into()),
        ledger_entries: 7,
        head_entry: Some(7),
        head_sha256: Some(format!("{:f>64}", "")),
        findings: vec![
            "payments-files/run-4: record edited: its SHA-256 is not the one entry 4 holds".into(),
        ],
        error: None,
    };
    let contents = Contents {
        evidence_dir: "/srv/evidence".into(),
        records: records.into_iter().collect(),
        unreadable: vec![Unreadable {
            record: "payments-files/x\u{1b}]0;pwned\u{7}/evidence.json".into(),
            error: "not an evidence record: expected value at line 1 column 1".into(),
        }],
        ledger_sha256: Some(format!("{:e>64}", "")),
        chain,
        earlier: vec![Earlier {
            runbook: "payments-files".into(),
            run_id: "run-0".into(),
            started_at: "2026-10-31T02:00:00Z".parse().unwrap(),
            runbook_sha256: "7".repeat(64),
        }],
    };
    let slot = |s: &str| s.parse::<Timestamp>().unwrap();
    let ran = |at: &str, run: Option<&str>, state: &str| Slot {
        runbook: "payments-files".into(),
        slot: slot(at),
        state: state.into(),
        run_id: run.map(str::to_owned),
    };
    let gaps = GapSource {
        description: "history store /var/lib/lifeboat/state.db".into(),
        // The gaps below are slots too; a source need not list them twice.
        slots: vec![
            ran("2026-11-01T02:00:00Z", Some("run-1"), "done"),
            ran("2026-11-08T02:00:00Z", Some("run-2"), "done"),
            ran("2026-11-30T02:00:00Z", None, "running"),
        ],
        gaps: vec![
            Gap {
                runbook: "payments-files".into(),
                slot: slot("2026-11-05T02:00:00Z"),
                state: "missed".into(),
                reason: Some("the scheduler was not running".into()),
            },
            Gap {
                runbook: "payments-files".into(),
                slot: slot("2026-11-06T02:00:00Z"),
                state: "skipped-overlap".into(),
                reason: None,
            },
            Gap {
                runbook: "payments-files".into(),
                slot: slot("2026-10-20T02:00:00Z"),
                state: "missed".into(),
                reason: Some("outside the period".into()),
            },
            Gap {
                runbook: "=cmd|' /C calc'!A0".into(),
                slot: slot("2026-11-07T02:00:00Z"),
                state: "abandoned".into(),
                reason: None,
            },
        ],
    };
    let mut r = finish(period::assemble(
        contents,
        november(),
        None,
        Some(gaps),
        "2026-12-01T08:00:00Z".parse().unwrap(),
    ));
    // Written beside the evidence folder: each drill links its report.html from there.
    r.evidence_href = Some("../evidence".into());
    r
}

/// One runbook's drills, all passed, the chain intact but no key given, no history store.
fn quiet_report() -> PeriodReport {
    let contents = Contents {
        evidence_dir: "evidence".into(),
        records: [
            dated("passed-sampled", "2026-11-03T02:00:00Z", "run-1", None),
            dated("passed-sampled", "2026-11-04T02:00:00Z", "run-2", None),
        ]
        .into_iter()
        .collect(),
        earlier: Vec::new(),
        unreadable: Vec::new(),
        ledger_sha256: Some(format!("{:d>64}", "")),
        chain: ChainStatus {
            intact: true,
            ledger_entries: 2,
            head_entry: Some(2),
            head_sha256: Some(format!("{:d>64}", "")),
            ..ChainStatus::default()
        },
    };
    let r = finish(period::assemble(
        contents,
        november(),
        Some("payments-files"),
        None,
        "2026-12-01T08:00:00Z".parse().unwrap(),
    ));
    assert!(r.runbooks.iter().all(|rb| rb.passed == rb.drills));
    r
}

/// The version a report names is the build's: fixed here, so a release changes no snapshot.
fn finish(mut r: PeriodReport) -> PeriodReport {
    r.lifeboat_version = "[version]";
    r
}

#[test]
fn period_reports() {
    let formats = [
        ("md", Format::Markdown),
        ("html", Format::Html),
        ("csv", Format::Csv),
        ("json", Format::Json),
    ];
    for (name, report) in [("november", november_report()), ("quiet", quiet_report())] {
        for (ext, format) in formats {
            let text = lifeboat_report::period::render(&report, format);
            insta::assert_snapshot!(format!("period_{ext}__{name}"), redact(&text));
        }
        let line = terminal::period(&PeriodView::new(&report));
        insta::assert_snapshot!(format!("period_terminal__{name}"), line);
    }
}

#[test]
fn the_fixtures_cover_every_outcome() {
    let outcomes: Vec<Outcome> = FIXTURES.iter().map(|(n, _)| record(n).outcome).collect();
    for o in [Outcome::Passed, Outcome::Failed, Outcome::Error] {
        assert!(outcomes.contains(&o), "no fixture with outcome {o}");
    }
}

/// The words the surfaces used to disagree on (the terminal said `ERROR` where the pages said
/// `COULD NOT COMPLETE`; report.md lacked the 95 % confidence statement) come from one view
/// now: every surface shows the verdict and each point's statement in the same words.
#[test]
fn every_surface_says_the_verdict_and_the_statements_in_the_same_words() {
    for (name, _) in FIXTURES {
        let ev = record(name);
        let view = lifeboat_report::run::RunView::new(&ev, None);
        let md = markdown::run(&view);
        let page = html::run_page(&view);
        let term = terminal::run(&view, false);
        for (surface, text) in [
            ("report.md", &md),
            ("report.html", &page),
            ("terminal", &term),
        ] {
            assert!(
                text.contains(view.verdict),
                "{name}: {surface} lacks {}",
                view.verdict
            );
            for p in &view.points {
                let shown = match surface {
                    "report.html" => html::escape(&p.statement),
                    _ => p.statement.clone(),
                };
                assert!(text.contains(&shown), "{name}: {surface} lacks {shown:?}");
            }
        }
    }
    let error = terminal::summary(&record("error-interrupted"), false);
    assert!(error.starts_with("COULD NOT COMPLETE  "), "{error}");
}

/// A disk that dies fails every object: the report lists the first
/// [`period::COVERAGE_FAILURES_LISTED`], counts the rest, and each drill's failure details
/// name a few and count the others, so neither grows with the backup.
#[test]
fn objects_that_failed_coverage_are_listed_up_to_a_limit_and_counted() {
    let mut records = vec![dated(
        "failed-fallback",
        "2026-11-10T02:00:00Z",
        "run-1",
        None,
    )];
    let bad: Vec<CoverageObject> = (0..period::COVERAGE_FAILURES_LISTED + 5)
        .map(|i| covered(&format!("data/{i}"), Some("unreadable")))
        .collect();
    records[0].evidence.coverage = Some(coverage(0.0, true, bad));
    let contents = Contents {
        evidence_dir: "evidence".into(),
        records: records.into_iter().collect(),
        earlier: Vec::new(),
        unreadable: Vec::new(),
        ledger_sha256: None,
        chain: ChainStatus::default(),
    };
    let r = period::assemble(
        contents,
        november(),
        None,
        None,
        "2026-12-01T08:00:00Z".parse().unwrap(),
    );
    let c = r.runbooks[0].stored_coverage.as_ref().unwrap();
    assert_eq!(c.failed.len(), period::COVERAGE_FAILURES_LISTED);
    assert_eq!(
        c.failed_objects,
        period::COVERAGE_FAILURES_LISTED as u64 + 5
    );
    let view = PeriodView::new(&r);
    assert_eq!(
        view.runbooks[0]
            .stored_coverage
            .as_ref()
            .unwrap()
            .failed_more
            .as_deref(),
        Some("and 5 more objects failed: each drill's record names them.")
    );
    let details = &r.runbooks[0].failures[0].details;
    let coverage: Vec<&String> = details
        .iter()
        .filter(|d| d.starts_with("coverage: "))
        .collect();
    assert_eq!(coverage.len(), 11, "{details:#?}");
    assert_eq!(coverage[10], "coverage: 995 more objects failed");
}
