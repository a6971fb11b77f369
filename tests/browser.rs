//! The reports in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/tools.sh` when missing) loads a run's `report.html` and a period report, and the
//! text of the page it built is checked. A hostile file name must stay text: the page has no
//! script, and the names' payloads (which would mark `<body>`) never run.
//!
//! The screenshots in the README (`docs/img/`) are taken here: run with
//! `LIFEBOAT_UPDATE_SCREENSHOTS=1` to refresh them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use lifeboat_testkit::Format;

use crate::report::{
    HOSTILE, HOSTILE_RUNBOOK, History, history, history_with, hostile_point, visible_text,
};
use crate::util::{DAY1, DAY2, Fixture, Runbook, repo_root};

/// The browser, installed by the project's script when missing. A missing browser fails the
/// test: it is never skipped.
fn chromium() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if Command::new("chromium").arg("--version").output().is_err() {
            let out = Command::new("bash")
                .arg(repo_root().join("scripts/tools.sh"))
                .args(["install", "chromium"])
                .output()
                .expect("run scripts/tools.sh");
            assert!(
                out.status.success(),
                "cannot install chromium (scripts/tools.sh install chromium):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    "chromium"
}

/// `chromium --headless ... EXTRA file://PAGE`, bounded by `timeout` so a hung browser fails
/// the test instead of stalling it. Returns stdout.
fn browse(page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .args(["120", chromium()])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed on {}: {:?}\n{}",
        page.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM Chromium built from `page`, after any script would have run.
fn rendered_dom(page: &Path) -> String {
    let dom = browse(page, &["--dump-dom"]);
    assert!(dom.contains("<body"), "no DOM from chromium:\n{dom}");
    dom
}

/// A screenshot of `page`, checked to be a PNG; kept as `docs/img/NAME` when asked.
fn screenshot(page: &Path, name: &str, height: u32) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let png = dir.join(name);
    browse(
        page,
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size=1100,{height}"),
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 10_000, "a blank page? {} bytes", bytes.len());
    if std::env::var_os("LIFEBOAT_UPDATE_SCREENSHOTS").is_some() {
        let to = repo_root().join("docs/img").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&png, &to).unwrap();
    }
    png
}

/// The payloads in [`HOSTILE`] would set `data-pwned` on `<body>` if they ran; as text they
/// only appear inside the page's content.
fn no_script_ran(dom: &str) {
    let body = &dom[dom.find("<body").expect("a body")..];
    let body_tag = &body[..body.find('>').unwrap()];
    assert!(
        !body_tag.contains("data-pwned"),
        "a payload ran: {body_tag}"
    );
    assert!(!dom.contains("<script"), "a script element:\n{dom}");
    assert!(!dom.contains("<img"), "an img element:\n{dom}");
}

#[test]
fn a_run_s_report_reads_right_in_chromium() {
    let fx = Fixture::new();
    hostile_point(&fx, DAY1);
    let d = fx.drill(&fx.runbook(), &["--quiet"]);
    d.assert_code(0);
    let page = d
        .evidence_path
        .as_ref()
        .unwrap()
        .with_file_name("report.html");
    let dom = rendered_dom(&page);
    no_script_ran(&dom);
    let text = visible_text(&dom);
    assert!(text.starts_with("PASSED: drill-test"), "{text}");
    for name in HOSTILE {
        assert!(text.contains(name), "{name} is not shown as text:\n{text}");
    }
    let n = d.point(DAY1)["files"].as_array().unwrap().len();
    assert!(
        text.contains(&format!(
            "Every file of this point ({n}) was restored and verified"
        )),
        "{text}"
    );

    // The README's picture: a failed drill that fell back to an older point.
    let fx = Fixture::new();
    fx.standard_point(DAY2, Format::Sha256sum);
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0)
        .flip_byte("data/blob.bin", 3);
    let rb = Runbook {
        name: "payments-files".into(),
        rpo: Some("3d".into()),
        sample: Some("{files: 4, seed: 3}".into()),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &["--quiet"]);
    d.assert_code(1);
    let page = d
        .evidence_path
        .as_ref()
        .unwrap()
        .with_file_name("report.html");
    let text = visible_text(&rendered_dom(&page));
    assert!(text.starts_with("FAILED: payments-files"), "{text}");
    assert!(text.contains("hash mismatch"), "{text}");
    assert!(text.contains("with 95% confidence fewer than"), "{text}");
    screenshot(&page, "report-run.png", 1500);
}

#[test]
fn a_period_report_reads_right_in_chromium() {
    let h: History = history();
    let page = h.out("period.html");
    let (code, log) = h.report_november(&page, &[]);
    assert_eq!(code, 0, "{log}");
    let dom = rendered_dom(&page);
    no_script_ran(&dom);
    assert_eq!(dom.matches("<svg").count(), 4, "four charts");
    let text = visible_text(&dom);
    assert!(
        text.starts_with("DR drill report: 2026-11-01 to 2026-11-30"),
        "{text}"
    );
    assert!(
        text.contains("5 drills: 4 passed, 1 failed, 0 could not complete"),
        "{text}"
    );
    assert!(text.contains("Evidence chain: verified"), "{text}");
    assert!(
        text.contains(&format!("Runbook {HOSTILE_RUNBOOK}")),
        "{text}"
    );
    assert!(
        text.contains("objective 1h 0m 0s"),
        "RTO objective line: {text}"
    );
    assert!(text.contains("ISO/IEC 27001:2022 Annex A 8.13"), "{text}");

    // The README's picture: plain names, and a slot the scheduler missed.
    let h = history_with("hr-documents");
    let state = h.fx.root().join("state.db");
    let store = lifeboat_scheduler::SqliteStore::open(&state).unwrap();
    store
        .record_slot(
            "payments-files",
            "2026-11-14T02:00:00Z".parse().unwrap(),
            lifeboat_scheduler::SlotState::Missed,
            Some("schedule"),
            Some("the scheduler was not running"),
            "2026-11-15T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
    drop(store);
    let page = h.out("period.html");
    let (code, log) = h.report_november(&page, &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 0, "{log}");
    let text = visible_text(&rendered_dom(&page));
    assert!(text.contains("1 scheduled drill did not run"), "{text}");
    screenshot(&page, "report-period.png", 1700);
}
