//! The runbook key `verify_only: true` does what `--verify-only` does: every file is read and
//! hashed, nothing is written to scratch (not even a folder), and the evidence says so.

use lifeboat_testkit::Format;

use crate::util::{DAY1, Fixture, Runbook};

#[test]
fn runbook_key_streams_and_hashes_without_writing() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        // Scratch would be kept if anything were written to it.
        keep: "always".into(),
        extra: "verify_only: true\n".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.evidence["verify_only"], true, "{}", d.context());
    for e in p.entries() {
        assert_eq!(d.file(DAY1, &e.path)["actual"], e.sha256, "{}", e.path);
    }
    let left: Vec<_> = std::fs::read_dir(fx.scratch_dir()).unwrap().collect();
    assert!(left.is_empty(), "verify_only wrote into scratch: {left:?}");
    let report = d.report_md();
    assert!(
        report.contains("verify only (nothing written to scratch)"),
        "{report}"
    );
}

#[test]
fn without_it_files_land_in_scratch() {
    // The check above can fail: the same drill without the key writes the files.
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        keep: "always".into(),
        ..fx.runbook()
    };
    let d = fx.drill(&rb, &[]);
    d.assert_code(0);
    assert_eq!(d.evidence["verify_only"], false);
    let kept = crate::util::find_files(&fx.scratch_dir(), "etc/app.conf");
    assert_eq!(kept.len(), 1, "{}", d.context());
}
