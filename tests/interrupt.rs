//! Interrupting `lifeboat drill` with a signal: the drill stops, removes its scratch area and
//! still writes evidence (and history) saying it was interrupted.

use lifeboat_testkit::Format;

use crate::history::history_json;
use crate::util::{DAY1, Fixture, Runbook, signal, wait_exit};

#[test]
fn sigint_interrupts_a_drill_which_writes_interrupted_evidence_and_exits_3() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // `keep: always`, yet an interrupted drill keeps nothing; the wait makes sure it is
    // mid-way when the signal comes.
    let rb = Runbook {
        keep: "always".into(),
        extra: "steps:\n  - restore: {}\n  - wait: 1m\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut drill, stdout, stderr) = fx.spawn_drill(&path, &["--state", "state.db"]);
    // The restore step is done once the last file it writes is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while crate::util::find_files(&fx.scratch_dir(), "etc/app.conf").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the drill never restored: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    signal(&drill.0, "-INT");
    let (code, took) = wait_exit(&mut drill, std::time::Duration::from_secs(30));
    let d = fx.spawned_drill(drill, &stdout, &stderr);
    assert_eq!(code, 3, "{}", d.context());
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert_eq!(d.outcome(), "error", "{}", d.context());
    assert_eq!(d.evidence["reason"], "interrupted");
    assert_eq!(d.evidence["scratch"]["kept"], false);
    assert!(
        d.stderr.contains("interrupted; stopping the drill"),
        "{}",
        d.context()
    );
    let left: Vec<_> = std::fs::read_dir(fx.scratch_dir()).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");

    let history = history_json(&fx, &[]);
    assert_eq!(history.len(), 1, "{history:#?}");
    assert_eq!(history[0]["outcome"], "error");
    assert_eq!(history[0]["reason"], "interrupted");
    assert_eq!(history[0]["run_id"], d.evidence["run_id"]);
}
