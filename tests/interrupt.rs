//! Interrupting `lifeboat drill` with a signal: the drill stops, removes its scratch area and
//! still writes evidence (and history) saying it was interrupted.

use lifeboat_testkit::Format;

use crate::history::history_json;
use crate::util::{DAY1, Drill, Fixture, Runbook, signal, wait_exit};

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
    let out = std::process::Output {
        status: drill.0.wait().unwrap(),
        stdout: std::fs::read(&stdout).unwrap(),
        stderr: std::fs::read(&stderr).unwrap(),
    };
    let d = Drill::new(out, &fx.evidence_dir());
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

/// A second signal while the first one's clean-up still runs (here a `finally` step that
/// hangs) exits 3 at once: no evidence is written, and the step's process is killed with its
/// group rather than left running.
#[test]
fn a_second_sigint_exits_3_at_once_and_kills_the_running_step() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let pid_file = fx.root().join("finally.pid");
    let rb = Runbook {
        extra: format!(
            "steps:\n  - restore: {{}}\n  - wait: 1m\nfinally:\n  - shell: \"echo $$ > {}; exec sleep 300\"\n",
            pid_file.display()
        ),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (mut drill, _stdout, stderr) = fx.spawn_drill(&path, &[]);
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {what}: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("the restore", &|| {
        !crate::util::find_files(&fx.scratch_dir(), "etc/app.conf").is_empty()
    });
    signal(&drill.0, "-INT");
    // The first signal interrupts the wait; `finally` then starts and hangs.
    wait_for("the finally step", &|| {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim().parse::<u32>().is_ok())
    });
    let step_pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(step_pid), "the finally step should be running");
    signal(&drill.0, "-INT");
    let (code, took) = wait_exit(&mut drill, std::time::Duration::from_secs(30));
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(code, 3, "{err}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert!(
        err.contains("interrupted twice; exiting without evidence"),
        "{err}"
    );
    assert!(
        !fx.evidence_dir().exists()
            || crate::util::find_files(&fx.evidence_dir(), "evidence.json").is_empty(),
        "a second signal leaves no evidence"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(step_pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the finally step's process {step_pid} outlived the drill"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Whether a process exists (and is not a zombie waiting for its parent).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}
