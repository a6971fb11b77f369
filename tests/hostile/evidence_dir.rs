//! SECURITY.md classes 2, 6 and 10 (the evidence folder and key files): another account that
//! can write the evidence folder plants links, FIFOs, devices and huge files at every name
//! lifeboat writes or reads there, and an operator passes the wrong kind of file as a key.
//! lifeboat must never write through what was planted, never block on it, never read more than
//! a record's worth of it, and say what it found.
//!
//! Every lifeboat here runs in its own process group, killed with its children if it outlives
//! its bound, so a regression fails the test instead of hanging it; the reading tests also run
//! under a 4 GiB address-space limit (a read of `/dev/zero` fails rather than fill the
//! machine) and measure the peak RSS with `/usr/bin/time -v`.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeboat_testkit::Format;

use super::mkfifo;
use crate::ledger::{Keys, keygen, minisign, signed_drills};
use crate::util::{DAY1, Fixture, Runbook};

/// Peak RSS a command that refuses a hostile file may reach: lifeboat itself needs a few MB;
/// anything that read the planted file would be far above.
const SMALL_RSS_KB: u64 = 100 * 1024;
/// How long any one command here may take before it counts as hung.
const BOUND: Duration = Duration::from_secs(30);

/// A lifeboat process started in its own process group.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    /// `/usr/bin/time -v`'s report, when the command was measured.
    time: Option<PathBuf>,
}

/// What a bounded command did.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    /// Peak resident set size in KiB (0 when not measured).
    max_rss_kb: u64,
}

impl Ran {
    fn context(&self) -> String {
        format!(
            "exit {}, peak RSS {} KiB\n--- stdout\n{}--- stderr\n{}",
            self.code, self.max_rss_kb, self.stdout, self.stderr
        )
    }
}

impl Running {
    /// Starts `cmd` (a `lifeboat` command) as it is: its pid is lifeboat's.
    fn start(fx: &Fixture, cmd: Command) -> Running {
        Running::spawn(fx, cmd, None)
    }

    /// Starts `cmd` under a 4 GiB address-space limit and `/usr/bin/time -v`.
    fn measured(fx: &Fixture, cmd: &Command) -> Running {
        let n = unique();
        let time = fx.root().join(format!("time-{n}.txt"));
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(r#"ulimit -v 4194304 && exec /usr/bin/time -v -o "$0" "$@""#)
            .arg(&time)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        if let Some(dir) = cmd.get_current_dir() {
            sh.current_dir(dir);
        }
        // The command's environment too: its default history store is the test's.
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => sh.env(key, v),
                None => sh.env_remove(key),
            };
        }
        Running::spawn(fx, sh, Some(time))
    }

    fn spawn(fx: &Fixture, mut cmd: Command, time: Option<PathBuf>) -> Running {
        let n = unique();
        let (stdout, stderr) = (
            fx.root().join(format!("stdout-{n}")),
            fx.root().join(format!("stderr-{n}")),
        );
        let child = cmd
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .process_group(0)
            .spawn()
            .expect("start lifeboat");
        Running {
            child,
            stdout,
            stderr,
            time,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit, at most [`BOUND`]; a command still running then is killed with its
    /// process group and fails the test.
    fn finish(mut self) -> Ran {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > BOUND {
                let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
                panic!("still running after {BOUND:?}: it blocked or read without end\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let max_rss_kb = self.time.as_ref().map_or(0, |t| {
            let report = fs::read_to_string(t).unwrap_or_default();
            report
                .lines()
                .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no peak RSS in /usr/bin/time's report:\n{report}"))
        });
        // `time` reports the command's own exit code, or dies with its signal.
        let code = status.code().unwrap_or(-1);
        Ran {
            code,
            stdout: fs::read_to_string(&self.stdout).unwrap(),
            stderr: fs::read_to_string(&self.stderr).unwrap(),
            max_rss_kb,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = self.child.wait();
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// `lifeboat ARGS...` in the fixture folder, measured and bounded.
fn lifeboat_measured(fx: &Fixture, args: &[&std::ffi::OsStr]) -> Ran {
    let mut cmd = crate::util::lifeboat();
    cmd.current_dir(fx.root()).args(args);
    Running::measured(fx, &cmd).finish()
}

fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
    s.as_ref().to_owned()
}

/// `lifeboat evidence verify EVIDENCE_DIR [--public-key KEY]`, measured and bounded.
fn verify(fx: &Fixture, public: Option<&Path>) -> Ran {
    let mut args = vec![os("evidence"), os("verify"), os(fx.evidence_dir())];
    if let Some(p) = public {
        args.extend([os("--public-key"), os(p)]);
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    lifeboat_measured(fx, &args)
}

/// A file outside the evidence folder that a planted link points at, with known bytes.
fn target(fx: &Fixture, name: &str) -> (PathBuf, Vec<u8>) {
    let dir = fx.root().join("outside");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let bytes = format!("{name}: another account's file, which lifeboat must not touch\n");
    fs::write(&path, &bytes).unwrap();
    (path, bytes.into_bytes())
}

fn assert_untouched(path: &Path, bytes: &[u8]) {
    assert_eq!(
        fs::read(path).unwrap(),
        bytes,
        "{} was written through a planted link",
        path.display()
    );
}

/// The finding lines `evidence verify` printed about `subject`.
fn findings_about<'a>(out: &'a str, subject: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.starts_with(&format!("{subject}: ")))
        .collect()
}

fn assert_finding(ran: &Ran, subject: &str, words: &str) {
    assert!(
        findings_about(&ran.stdout, subject)
            .iter()
            .any(|l| l.contains(words)),
        "no finding about {subject} saying {words:?}\n{}",
        ran.context()
    );
}

fn assert_small(ran: &Ran) {
    assert!(
        ran.max_rss_kb < SMALL_RSS_KB,
        "peak RSS {} KiB: the planted file was read\n{}",
        ran.max_rss_kb,
        ran.context()
    );
}

/// `RUNBOOK/RUN_ID` of a drill, as `evidence verify` names it.
fn subject(d: &crate::util::Drill) -> String {
    format!("drill-test/{}", d.evidence["run_id"].as_str().unwrap())
}

/// A runbook whose drill waits after the restore, so a test can plant things meanwhile.
fn slow_runbook(fx: &Fixture) -> PathBuf {
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        extra: "steps:\n  - restore: {}\n  - wait: 2s\n".into(),
        ..fx.runbook()
    };
    fx.write("runbook.yaml", &rb.yaml())
}

/// The id of the run now under way, read from its scratch folder's name
/// (`…-YYYYMMDDTHHMMSSZ-xxxxxx`), which exists from the restore on.
fn run_id_under_way(fx: &Fixture, running: &Running) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        for entry in fs::read_dir(fx.scratch_dir()).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let parts: Vec<&str> = name.split('-').collect();
            for w in parts.windows(2) {
                let (stamp, random) = (w[0], w[1]);
                if stamp.len() == 16
                    && stamp.as_bytes()[8] == b'T'
                    && stamp.ends_with('Z')
                    && random.len() == 6
                    && random.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return format!("{stamp}-{random}");
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "the drill never started restoring: {}",
            fs::read_to_string(&running.stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// Writing: nothing planted in the evidence folder is written through.

/// lifeboat's old temporary names were `.NAME.tmp-PID`: predictable, so another account could
/// plant a link there and have lifeboat truncate the link's target. The drill's pid is known
/// as it starts, long before it records.
#[test]
fn links_planted_at_the_ledger_s_old_temporary_names_are_never_written_through() {
    let fx = Fixture::new();
    let runbook = slow_runbook(&fx);
    let keys = keygen(&fx, "lifeboat");
    let evidence = fx.evidence_dir();
    fs::create_dir_all(&evidence).unwrap();
    let mut cmd = fx.drill_command(&runbook, &["--signing-key"]);
    cmd.arg(&keys.secret);
    let running = Running::start(&fx, cmd);
    let pid = running.pid();
    let mut planted = Vec::new();
    for name in ["ledger.jsonl", "ledger.jsonl.minisig"] {
        let (path, bytes) = target(&fx, name);
        symlink(&path, evidence.join(format!(".{name}.tmp-{pid}"))).unwrap();
        planted.push((path, bytes));
    }
    let ran = running.finish();

    assert_eq!(ran.code, 0, "{}", ran.context());
    for (path, bytes) in &planted {
        assert_untouched(path, bytes);
    }
    let ledger = fs::read_to_string(evidence.join("ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 1, "{ledger}");
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 0, "{}", ran.context());
}

/// The run's folder is made by the run: one that already exists when the drill records (a
/// folder, with links at the old temporary names inside, or a link) was planted, and the
/// drill refuses it rather than write into it.
#[test]
fn a_run_folder_planted_before_the_drill_records_is_refused_and_nothing_is_written_through() {
    let fx = Fixture::new();
    let runbook = slow_runbook(&fx);
    let keys = keygen(&fx, "lifeboat");
    let mut cmd = fx.drill_command(&runbook, &["--signing-key"]);
    cmd.arg(&keys.secret);
    let running = Running::start(&fx, cmd);
    let run_id = run_id_under_way(&fx, &running);
    let pid = running.pid();
    let run_dir = fx.evidence_dir().join("drill-test").join(&run_id);
    fs::create_dir_all(&run_dir).unwrap();
    let mut planted = Vec::new();
    for name in [
        "evidence.json",
        "report.md",
        "report.html",
        "evidence.json.minisig",
    ] {
        let (path, bytes) = target(&fx, name);
        symlink(&path, run_dir.join(format!(".{name}.tmp-{pid}"))).unwrap();
        planted.push((path, bytes));
    }
    let ran = running.finish();

    assert_eq!(ran.code, 3, "{}", ran.context());
    for (path, bytes) in &planted {
        assert_untouched(path, bytes);
    }
    assert!(
        ran.stderr
            .contains(&format!("drill-test/{run_id} already exists")),
        "{}",
        ran.context()
    );
    assert!(!run_dir.join("evidence.json").exists());
}

#[test]
fn a_run_folder_planted_as_a_link_is_refused() {
    let fx = Fixture::new();
    let runbook = slow_runbook(&fx);
    let running = Running::start(&fx, fx.drill_command(&runbook, &[]));
    let run_id = run_id_under_way(&fx, &running);
    let outside = fx.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(fx.evidence_dir().join("drill-test")).unwrap();
    symlink(&outside, fx.evidence_dir().join("drill-test").join(&run_id)).unwrap();
    let ran = running.finish();

    assert_eq!(ran.code, 3, "{}", ran.context());
    assert!(
        ran.stderr
            .contains(&format!("drill-test/{run_id} is a symbolic link")),
        "{}",
        ran.context()
    );
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "written through"
    );
}

#[test]
fn a_runbook_folder_planted_as_a_link_is_refused() {
    let fx = Fixture::new();
    let (runbook, mark) = marking_runbook(&fx);
    let outside = fx.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(fx.evidence_dir()).unwrap();
    symlink(&outside, fx.evidence_dir().join("drill-test")).unwrap();
    let ran = Running::start(&fx, fx.drill_command(&runbook, &[])).finish();

    assert_eq!(ran.code, 3, "{}", ran.context());
    assert!(!mark.exists(), "the drill ran though it could not record");
    assert!(
        ran.stderr
            .contains("drill-test is a symbolic link, not a directory"),
        "{}",
        ran.context()
    );
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "written through"
    );
}

/// A runbook whose one step leaves a mark, so a test can tell whether the drill ran.
fn marking_runbook(fx: &Fixture) -> (PathBuf, PathBuf) {
    fx.standard_point(DAY1, Format::Sha256sum);
    let mark = fx.root().join("the-drill-ran");
    let rb = Runbook {
        extra: format!(
            "steps:\n  - restore: {{}}\n  - run: [\"touch\", \"{}\"]\n",
            mark.display()
        ),
        ..fx.runbook()
    };
    (fx.write("runbook.yaml", &rb.yaml()), mark)
}

/// `ledger.lock` as a link (to a file, or dangling: following it would create the target) or
/// as a FIFO (opening it for writing would block until a reader came): the drill says what it
/// found and exits 3 at once, before it runs anything, and records nothing.
#[test]
fn a_ledger_lock_planted_as_a_link_or_a_fifo_stops_the_drill_at_once_saying_what_it_is() {
    let fx = Fixture::new();
    let (runbook, mark) = marking_runbook(&fx);
    let evidence = fx.evidence_dir();
    fs::create_dir_all(&evidence).unwrap();
    let lock = evidence.join("ledger.lock");
    let (existing, bytes) = target(&fx, "existing");
    let dangling = fx.root().join("outside").join("created-through-the-link");

    let cases: [(&str, &dyn Fn()); 3] = [
        ("a symbolic link", &|| symlink(&existing, &lock).unwrap()),
        ("a symbolic link", &|| symlink(&dangling, &lock).unwrap()),
        ("a FIFO (named pipe)", &|| mkfifo(&lock)),
    ];
    for (kind, plant) in cases {
        let _ = fs::remove_file(&lock);
        plant();
        let ran = Running::start(&fx, fx.drill_command(&runbook, &[])).finish();
        assert_eq!(ran.code, 3, "{kind}\n{}", ran.context());
        assert!(
            ran.stderr
                .contains(&format!("ledger.lock is {kind}, not a regular file")),
            "{}",
            ran.context()
        );
        assert!(
            ran.stderr.contains(&evidence.display().to_string()),
            "the message does not say where\n{}",
            ran.context()
        );
        assert_untouched(&existing, &bytes);
        assert!(!dangling.exists(), "a dangling link was followed");
        assert!(!evidence.join("ledger.jsonl").exists());
        assert!(!mark.exists(), "the drill ran though it could not record");
    }
}

/// `ledger.jsonl` itself planted: a FIFO would block the read, a link would chain another
/// file's bytes. The drill refuses both before it runs anything.
#[test]
fn a_ledger_planted_as_a_fifo_or_a_link_stops_the_drill_at_once_saying_what_it_is() {
    let fx = Fixture::new();
    let (runbook, mark) = marking_runbook(&fx);
    let evidence = fx.evidence_dir();
    fs::create_dir_all(&evidence).unwrap();
    let ledger = evidence.join("ledger.jsonl");
    let (existing, bytes) = target(&fx, "existing");

    let cases: [(&str, &dyn Fn()); 2] = [
        ("a FIFO (named pipe)", &|| mkfifo(&ledger)),
        ("a symbolic link", &|| symlink(&existing, &ledger).unwrap()),
    ];
    for (kind, plant) in cases {
        let _ = fs::remove_file(&ledger);
        plant();
        let ran = Running::start(&fx, fx.drill_command(&runbook, &[])).finish();
        assert_eq!(ran.code, 3, "{kind}\n{}", ran.context());
        assert!(
            ran.stderr
                .contains(&format!("ledger.jsonl is {kind}, not a regular file")),
            "{}",
            ran.context()
        );
        assert_untouched(&existing, &bytes);
        assert!(
            fs::symlink_metadata(&ledger).is_ok_and(|m| !m.is_file()),
            "the planted ledger was replaced"
        );
        assert!(!mark.exists(), "the drill ran though it could not record");
    }
}

/// Whether a folder's evidence is signed is read from its ledger before anything runs
/// (`lifeboat schedule` has no other look at the folder before its first slot): a ledger
/// planted as a FIFO is never waited on, and one planted as a link to another folder's
/// signed ledger is never followed (following it would call the folder signed).
#[test]
fn the_signing_check_neither_waits_on_nor_follows_a_planted_ledger() {
    let (signed, _keys, _) = signed_drills(1);
    let fx = Fixture::new();
    let (_, mark) = marking_runbook(&fx);
    let every_second = Runbook {
        extra: format!(
            "schedule: \"* * * * * *\"\nsteps:\n  - restore: {{}}\n  - run: [\"touch\", \"{}\"]\n",
            mark.display()
        ),
        ..fx.runbook()
    };
    let runbook = fx.write("daily.yaml", &every_second.yaml());
    let evidence = fx.evidence_dir();
    fs::create_dir_all(&evidence).unwrap();
    let ledger = evidence.join("ledger.jsonl");
    let elsewhere = signed.evidence_dir().join("ledger.jsonl");
    let bytes = fs::read(&elsewhere).unwrap();

    let cases: [(&str, &dyn Fn()); 2] = [
        ("a FIFO (named pipe)", &|| mkfifo(&ledger)),
        ("a symbolic link", &|| symlink(&elsewhere, &ledger).unwrap()),
    ];
    for (kind, plant) in cases {
        let _ = fs::remove_file(&ledger);
        plant();
        let mut daemon = fx.command();
        daemon
            .args(["schedule", "--state", "state.db", "--evidence-dir"])
            .arg(&evidence)
            .arg("--scratch-dir")
            .arg(fx.scratch_dir())
            .arg(&runbook);
        let ran = Running::start(&fx, daemon).finish();
        assert_eq!(ran.code, 3, "{kind}\n{}", ran.context());
        assert!(
            ran.stderr
                .contains(&format!("ledger.jsonl is {kind}, not a regular file"))
                && !ran.stderr.contains("holds signed evidence"),
            "{}",
            ran.context()
        );
        assert_untouched(&elsewhere, &bytes);
        assert!(!mark.exists(), "a slot ran");
    }
}

/// Another lifeboat appending holds `ledger.lock` for milliseconds; a drill that finds it
/// taken waits its turn (bounded: see `a_lock_held_too_long…` in the evidence crate) and then
/// records as usual.
#[test]
fn a_drill_waits_for_a_lock_another_process_holds_briefly() {
    let fx = Fixture::new();
    let runbook = slow_runbook(&fx);
    fs::create_dir_all(fx.evidence_dir()).unwrap();
    let lock = fs::File::create(fx.evidence_dir().join("ledger.lock")).unwrap();
    lock.lock().unwrap();
    let mut running = Running::start(&fx, fx.drill_command(&runbook, &[]));
    // The scratch folder goes once the steps are done; then the drill records.
    run_id_under_way(&fx, &running);
    let deadline = Instant::now() + BOUND;
    while fs::read_dir(fx.scratch_dir()).unwrap().next().is_some() {
        assert!(
            Instant::now() < deadline,
            "the drill never finished its steps"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "the drill did not wait for the lock"
    );
    assert!(
        !fx.evidence_dir().join("ledger.jsonl").exists(),
        "chained without the lock"
    );
    drop(lock);
    let ran = running.finish();
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert_eq!(
        fs::read_to_string(fx.evidence_dir().join("ledger.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}

// ---------------------------------------------------------------------------------------
// Reading: records, signatures, the ledger and key files are read capped, never through a
// link below the evidence folder, never from a FIFO or a device.

#[test]
fn a_record_linked_to_dev_zero_is_named_not_read() {
    let (fx, keys, drills) = signed_drills(1);
    let record = drills[0].evidence_path.clone().unwrap();
    fs::remove_file(&record).unwrap();
    symlink("/dev/zero", &record).unwrap();
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        &subject(&drills[0]),
        "evidence.json is a symbolic link, not a regular file",
    );
    assert_small(&ran);
}

/// Even a link to the record's own bytes is not followed: what lies below the evidence folder
/// is read only where it is.
#[test]
fn a_record_replaced_by_a_link_to_its_own_bytes_is_named_not_followed() {
    let (fx, keys, drills) = signed_drills(1);
    let record = drills[0].evidence_path.clone().unwrap();
    let copy = fx.root().join("copy.json");
    fs::copy(&record, &copy).unwrap();
    fs::remove_file(&record).unwrap();
    symlink(&copy, &record).unwrap();
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(&ran, &subject(&drills[0]), "is a symbolic link");
}

#[test]
fn a_record_that_is_a_fifo_is_named_and_nothing_blocks() {
    let (fx, keys, drills) = signed_drills(1);
    let record = drills[0].evidence_path.clone().unwrap();
    fs::remove_file(&record).unwrap();
    mkfifo(&record);
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        &subject(&drills[0]),
        "evidence.json is a FIFO (named pipe), not a regular file",
    );
    assert_small(&ran);
}

/// A record far larger than any drill writes is refused by its size, before it is read.
#[test]
fn an_oversized_record_is_named_and_not_read() {
    let (fx, keys, drills) = signed_drills(1);
    let record = drills[0].evidence_path.clone().unwrap();
    // Sparse: over 1 GiB on paper, nothing on disk.
    fs::OpenOptions::new()
        .write(true)
        .open(&record)
        .unwrap()
        .set_len((1 << 30) + (1 << 20))
        .unwrap();
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        &subject(&drills[0]),
        "evidence.json is larger than the 1 GiB limit for a record",
    );
    assert_small(&ran);
}

#[test]
fn signatures_planted_as_a_device_link_or_a_fifo_are_named_and_nothing_blocks() {
    let (fx, keys, drills) = signed_drills(1);
    let sig = drills[0]
        .evidence_path
        .as_ref()
        .unwrap()
        .with_file_name("evidence.json.minisig");
    fs::remove_file(&sig).unwrap();
    symlink("/dev/zero", &sig).unwrap();
    let head = fx.evidence_dir().join("ledger.jsonl.minisig");
    fs::remove_file(&head).unwrap();
    mkfifo(&head);
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        &subject(&drills[0]),
        "evidence.json.minisig is a symbolic link, not a regular file",
    );
    assert_finding(
        &ran,
        "ledger.jsonl.minisig",
        "ledger.jsonl.minisig is a FIFO (named pipe), not a regular file",
    );
    assert_small(&ran);
}

#[test]
fn a_ledger_or_lock_planted_as_a_fifo_or_device_link_is_named_and_nothing_blocks() {
    let (fx, keys, drills) = signed_drills(1);
    let ledger = fx.evidence_dir().join("ledger.jsonl");
    let lock = fx.evidence_dir().join("ledger.lock");

    fs::remove_file(&ledger).unwrap();
    mkfifo(&ledger);
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        "ledger.jsonl",
        "ledger.jsonl is a FIFO (named pipe), not a regular file",
    );
    // No record can be checked against a chain that cannot be read.
    assert_finding(&ran, &subject(&drills[0]), "not checked");
    assert_small(&ran);

    fs::remove_file(&ledger).unwrap();
    symlink("/dev/zero", &ledger).unwrap();
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(&ran, "ledger.jsonl", "ledger.jsonl is a symbolic link");
    assert_small(&ran);

    // The lock: verify takes it shared, never creates it and never opens a FIFO.
    fs::remove_file(&ledger).unwrap();
    fs::write(&ledger, b"").unwrap();
    fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    let ran = verify(&fx, Some(&keys.public));
    assert_eq!(ran.code, 1, "{}", ran.context());
    assert_finding(
        &ran,
        "ledger.lock",
        "ledger.lock is a FIFO (named pipe), not a regular file",
    );
    assert_small(&ran);
}

/// `lifeboat report` reads the same records: a FIFO or a device link among them is listed as
/// unreadable with what it is, and the report is still written.
#[test]
fn the_period_report_lists_a_planted_record_as_unreadable_and_nothing_blocks() {
    let (fx, _keys, drills) = signed_drills(2);
    let fifo = drills[0].evidence_path.clone().unwrap();
    fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo);
    let zero = drills[1].evidence_path.clone().unwrap();
    fs::remove_file(&zero).unwrap();
    symlink("/dev/zero", &zero).unwrap();
    let out = fx.root().join("period.json");
    let args = [
        os("report"),
        os("--evidence-dir"),
        os(fx.evidence_dir()),
        os("--from"),
        os("2000-01-01"),
        os("--to"),
        os("2100-01-01"),
        os("--out"),
        os(&out),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let ran = lifeboat_measured(&fx, &args);
    assert_eq!(ran.code, 0, "{}", ran.context());
    assert_small(&ran);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    let unreadable = report["unreadable"].as_array().unwrap();
    let error_of = |d: &crate::util::Drill| {
        let rel = format!("{}/evidence.json", subject(d));
        unreadable
            .iter()
            .find(|u| u["record"] == rel.as_str())
            .and_then(|u| u["error"].as_str())
            .unwrap_or_else(|| panic!("{rel} not listed as unreadable: {report:#}"))
            .to_owned()
    };
    assert!(
        error_of(&drills[0]).contains("is a FIFO (named pipe), not a regular file"),
        "{report:#}"
    );
    assert!(
        error_of(&drills[1]).contains("is a symbolic link, not a regular file"),
        "{report:#}"
    );
    assert_eq!(report["chain"]["intact"], false);
}

/// Key files are the operator's paths: links to them are followed, but they must end at a
/// regular file of a key's size.
#[test]
fn a_key_that_is_a_fifo_a_device_or_huge_is_refused_naming_it() {
    let (fx, _keys, _drills) = signed_drills(1);
    let fifo = fx.root().join("key.fifo");
    mkfifo(&fifo);
    let huge = fx.root().join("huge.key");
    fs::write(&huge, vec![b'A'; 1 << 20]).unwrap();
    let cases = [
        (fifo.as_path(), "is a FIFO (named pipe), not a regular file"),
        (
            Path::new("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (huge.as_path(), "is larger than the 64 KiB limit for a key"),
    ];
    let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
    for (key, words) in cases {
        let ran = verify(&fx, Some(key));
        assert_eq!(ran.code, 2, "{}", ran.context());
        assert!(
            ran.stderr.contains(&key.display().to_string()) && ran.stderr.contains(words),
            "--public-key {}: expected {words:?}\n{}",
            key.display(),
            ran.context()
        );
        assert_small(&ran);

        let mut cmd = fx.drill_command(&runbook, &["--signing-key"]);
        cmd.arg(key);
        let ran = Running::measured(&fx, &cmd).finish();
        assert_eq!(ran.code, 2, "{}", ran.context());
        assert!(
            ran.stderr.contains(&key.display().to_string()) && ran.stderr.contains(words),
            "--signing-key {}: expected {words:?}\n{}",
            key.display(),
            ran.context()
        );
        assert_small(&ran);
    }
}

// ---------------------------------------------------------------------------------------
// Truthful reasons for the wrong kind of key.

/// A key pair from the `minisign` CLI (Debian's package; `scripts/tools.sh` installs it).
fn minisign_keygen(fx: &Fixture) -> Keys {
    let keys = Keys {
        secret: fx.root().join("minisign.key"),
        public: fx.root().join("minisign.pub"),
    };
    let out = minisign()
        .args(["-G", "-W", "-s"])
        .arg(&keys.secret)
        .arg("-p")
        .arg(&keys.public)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    keys
}

#[test]
fn a_public_key_given_as_signing_key_is_called_a_public_key() {
    let (fx, _keys, drills) = signed_drills(1);
    let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
    let ours = keygen(&fx, "ours");
    let theirs = minisign_keygen(&fx);
    let signature = drills[0]
        .evidence_path
        .as_ref()
        .unwrap()
        .with_file_name("evidence.json.minisig");
    let cases = [
        (
            ours.public.clone(),
            "is a minisign public key; --signing-key needs the secret key (made by `lifeboat \
             keygen --secret-key`)",
        ),
        (
            theirs.public.clone(),
            "is a minisign public key; --signing-key needs the secret key",
        ),
        (
            signature,
            "is a minisign signature, not a key; --signing-key needs the secret key",
        ),
    ];
    for (key, words) in cases {
        let mut cmd = fx.drill_command(&runbook, &["--signing-key"]);
        cmd.arg(&key);
        let ran = Running::start(&fx, cmd).finish();
        assert_eq!(ran.code, 2, "{}", ran.context());
        assert!(
            ran.stderr.contains(&format!("{} {words}", key.display())),
            "expected {words:?}\n{}",
            ran.context()
        );
        assert!(!ran.stderr.contains("encrypted"), "{}", ran.context());
    }
    // And the other way round: a secret key is not a public key.
    for secret in [&ours.secret, &theirs.secret] {
        let ran = verify(&fx, Some(secret));
        assert_eq!(ran.code, 2, "{}", ran.context());
        assert!(
            ran.stderr.contains(&format!(
                "{} is a minisign secret key; --public-key needs the public key",
                secret.display()
            )),
            "{}",
            ran.context()
        );
    }
}
