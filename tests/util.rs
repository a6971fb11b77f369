//! Shared harness: a fixture folder per test, runbook text, and running the real binary.
//!
//! Every test works in its own temporary folder holding `source/` (the backup set),
//! `runbook.yaml`, `evidence/` and `scratch/`, and runs `lifeboat` with that folder as its
//! working directory, so nothing is ever written into the repository and tests run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::Timestamp;
use lifeboat_testkit::{BackupSet, Format, Point, Snapshot, prng};
use serde_json::Value;

/// The T0 every drill passes as `--now` unless a test says otherwise.
pub const T0: &str = "2026-11-22T02:00:00Z";
/// Recovery point ids in the runbook's `%Y-%m-%dT%H%M%SZ` format, and their age at [`T0`].
pub const DAY1: &str = "2026-11-21T020000Z"; // 86 400 s before T0
pub const DAY2: &str = "2026-11-20T020000Z"; // 172 800 s
pub const DAY3: &str = "2026-11-19T020000Z"; // 259 200 s
pub const NAME_FORMAT: &str = "%Y-%m-%dT%H%M%SZ";

pub fn lifeboat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    // Output is checked as text: a CLICOLOR_FORCE in the shell running the tests must not
    // colour it (a test that wants colour sets it again).
    cmd.env_remove("CLICOLOR_FORCE");
    // A signing key in the environment of the person running the tests signs nothing here.
    cmd.env_remove("LIFEBOAT_SIGNING_KEY");
    // `drill` records into the default history store: never the real one of the person
    // running the tests. A fixture's commands use a store of their own (`Fixture::data_home`).
    cmd.env("XDG_DATA_HOME", shared_data_home());
    cmd
}

/// The `XDG_DATA_HOME` of commands that belong to no fixture: one folder for the whole test
/// run, removed with it.
pub fn shared_data_home() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// The repository root (for shipped runbooks).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Seconds from a point id in [`NAME_FORMAT`] to an RFC 3339 instant, computed with jiff so
/// the expectation does not come from lifeboat's own arithmetic.
pub fn age_seconds(id: &str, t0: &str) -> f64 {
    let point = jiff::fmt::strtime::parse(NAME_FORMAT, id)
        .and_then(|t| t.to_datetime())
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC))
        .unwrap_or_else(|e| panic!("point id {id}: {e}"))
        .timestamp();
    let t0: Timestamp = t0.parse().unwrap();
    (t0 - point).total(jiff::Unit::Second).unwrap()
}

/// Runbook text with sensible defaults; tests change the fields they are about.
#[derive(Clone, Debug)]
pub struct Runbook {
    pub name: String,
    pub url: String,
    pub rto: Option<String>,
    pub rpo: Option<String>,
    /// `recovery_points` body lines, as YAML (indented by the writer).
    pub time: String,
    pub time_format: Option<String>,
    pub select: String,
    pub within: Option<String>,
    pub manifest_path: String,
    pub format: Format,
    /// `sample:` body as flow YAML, e.g. `{files: 5, seed: 7}`.
    pub sample: Option<String>,
    pub keep: String,
    /// `scratch.sync`, when set.
    pub sync: Option<String>,
    /// Raw YAML appended at the end (steps, finally...).
    pub extra: String,
}

impl Runbook {
    pub fn yaml(&self) -> String {
        let mut y = format!("version: 1\nname: {}\n", self.name);
        if self.rto.is_some() || self.rpo.is_some() {
            y.push_str("objectives:\n");
            if let Some(rto) = &self.rto {
                y.push_str(&format!("  rto: {rto}\n"));
            }
            if let Some(rpo) = &self.rpo {
                y.push_str(&format!("  rpo: {rpo}\n"));
            }
        }
        y.push_str(&format!("source:\n  url: {}\n", self.url));
        y.push_str(&format!("recovery_points:\n  time: {}\n", self.time));
        if let Some(f) = &self.time_format {
            y.push_str(&format!("  time_format: \"{f}\"\n"));
        }
        y.push_str(&format!("  select: {}\n", self.select));
        if let Some(w) = &self.within {
            y.push_str(&format!("  within: {w}\n"));
        }
        y.push_str(&format!(
            "manifest:\n  path: {}\n  format: {}\n",
            self.manifest_path,
            self.format.runbook_name()
        ));
        if let Some(s) = &self.sample {
            y.push_str(&format!("sample: {s}\n"));
        }
        y.push_str(&format!("scratch:\n  keep: {}\n", self.keep));
        if let Some(s) = &self.sync {
            y.push_str(&format!("  sync: {s}\n"));
        }
        y.push_str(&self.extra);
        y
    }
}

/// One test's folder.
pub struct Fixture {
    dir: tempfile::TempDir,
    pub set: BackupSet,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // Canonical, so paths lifeboat prints compare equal to ours.
        let root = dir.path().canonicalize().unwrap();
        let set = BackupSet::new(root.join("source"));
        std::fs::create_dir(root.join("scratch")).unwrap();
        Fixture { dir, set }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn source(&self) -> &Path {
        self.set.root()
    }

    pub fn evidence_dir(&self) -> PathBuf {
        self.root().join("evidence")
    }

    pub fn scratch_dir(&self) -> PathBuf {
        self.root().join("scratch")
    }

    /// The `XDG_DATA_HOME` of this fixture's commands: its default history store is
    /// `data/lifeboat/state.db` in the fixture folder.
    pub fn data_home(&self) -> PathBuf {
        self.root().join("data")
    }

    /// `lifeboat` run in the fixture folder, with the fixture's own default history store.
    pub fn command(&self) -> Command {
        let mut cmd = lifeboat();
        cmd.current_dir(self.root())
            .env("XDG_DATA_HOME", self.data_home());
        cmd
    }

    /// Defaults: name `drill-test`, rto 1h, rpo 26h, `time: name` with [`NAME_FORMAT`],
    /// `select: latest`, `SHA256SUMS`, every file verified, `keep: never`.
    pub fn runbook(&self) -> Runbook {
        Runbook {
            name: "drill-test".into(),
            url: self.set.url(),
            rto: Some("1h".into()),
            rpo: Some("26h".into()),
            time: "name".into(),
            time_format: Some(NAME_FORMAT.into()),
            select: "latest".into(),
            within: None,
            manifest_path: "SHA256SUMS".into(),
            format: Format::Sha256sum,
            sample: None,
            keep: "never".into(),
            sync: None,
            extra: String::new(),
        }
    }

    /// Writes `text` as `FILE` in the fixture folder and returns its path.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.root().join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A point with a few files of each kind: nested plain text, random binary, an empty
    /// file and a `.zst` object; manifest in `format`.
    pub fn standard_point(&self, id: &str, format: Format) -> Point {
        let seed = prng::seed_of(id);
        self.set
            .point(id)
            .file("etc/app.conf", format!("# point {id}\nport = 8080\n"))
            .text_file("home/alice/docs/notes.md", 3000, seed)
            .random_file("data/blob.bin", 64 << 10, seed ^ 1)
            .file("var/empty", b"")
            .zst_file("db/dump.sql", prng::text_bytes(40_000, seed ^ 2))
            .manifest(format)
    }

    /// Writes the runbook as `runbook.yaml` and drills it with `--now T0`.
    pub fn drill(&self, rb: &Runbook, args: &[&str]) -> Drill {
        let path = self.write("runbook.yaml", &rb.yaml());
        self.drill_file(&path, args)
    }

    /// `lifeboat drill RUNBOOK --evidence-dir E --scratch-dir S --now T0 ARGS...` run in the
    /// fixture folder, not started yet; a `--now` in `args` replaces the default one.
    pub fn drill_command(&self, runbook: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.arg("drill")
            .arg(runbook)
            .arg("--evidence-dir")
            .arg(self.evidence_dir())
            .arg("--scratch-dir")
            .arg(self.scratch_dir());
        if !args.contains(&"--now") {
            cmd.args(["--now", T0]);
        }
        cmd.args(args);
        cmd
    }

    /// Starts `lifeboat drill RUNBOOK ARGS...` in the background, its stdout and stderr going to
    /// files under the fixture's root; returns the process and those two paths.
    pub fn spawn_drill(&self, runbook: &Path, args: &[&str]) -> (Daemon, PathBuf, PathBuf) {
        let (stdout, stderr) = (self.root().join("stdout"), self.root().join("stderr"));
        let child = self
            .drill_command(runbook, args)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        (Daemon(child), stdout, stderr)
    }

    /// A drill started by [`Fixture::spawn_drill`], once it has exited: its output and
    /// evidence.
    pub fn spawned_drill(&self, mut drill: Daemon, stdout: &Path, stderr: &Path) -> Drill {
        let out = Output {
            status: drill.0.wait().unwrap(),
            stdout: std::fs::read(stdout).unwrap(),
            stderr: std::fs::read(stderr).unwrap(),
        };
        Drill::new(out, &self.evidence_dir())
    }

    /// Runs [`Fixture::drill_command`] to its end.
    pub fn drill_file(&self, runbook: &Path, args: &[&str]) -> Drill {
        let out = self.drill_command(runbook, args).output();
        Drill::new(out.expect("run lifeboat"), &self.evidence_dir())
    }

    /// Runs `lifeboat ARGS...` in the fixture folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run lifeboat")
    }
}

/// A finished drill: its exit code, output and (for codes 0, 1, 3) its evidence.
pub struct Drill {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub evidence_path: Option<PathBuf>,
    pub evidence: Value,
}

impl Drill {
    /// The run's folder: `EVIDENCE_DIR/NAME/RUN_ID/`, where `evidence.json` was written.
    pub fn run_dir(&self) -> PathBuf {
        self.evidence_path
            .as_ref()
            .expect("the drill wrote evidence")
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// Checks the evidence layout the interface promises whenever a drill wrote evidence:
    /// the last stdout line is `EVIDENCE_DIR/RUNBOOK_NAME/RUN_ID/evidence.json`, and
    /// `report.md` and `report.html` are beside it.
    pub fn new(out: Output, evidence_dir: &Path) -> Self {
        let mut d = Drill {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            evidence_path: None,
            evidence: Value::Null,
        };
        if ![0, 1, 3].contains(&d.code) {
            return d;
        }
        let last = d.stdout.lines().rev().find(|l| !l.trim().is_empty());
        let last = last.unwrap_or_else(|| panic!("no stdout\n{}", d.context()));
        let path = PathBuf::from(last.trim());
        assert!(
            path.file_name() == Some("evidence.json".as_ref()) && path.is_file(),
            "last stdout line is not an existing evidence.json: {last:?}\n{}",
            d.context()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        d.evidence = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("evidence.json is not JSON: {e}\n{text}"));

        let run_dir = path.parent().unwrap().canonicalize().unwrap();
        let name = d.evidence["runbook"]["name"]
            .as_str()
            .expect("runbook.name");
        let run_id = d.evidence["run_id"].as_str().expect("run_id");
        assert_eq!(
            run_dir,
            evidence_dir.join(name).join(run_id),
            "evidence is not at EVIDENCE_DIR/RUNBOOK_NAME/RUN_ID/"
        );
        for report in ["report.md", "report.html"] {
            assert!(
                run_dir.join(report).is_file(),
                "no {report} beside {}",
                path.display()
            );
        }
        d.evidence_path = Some(path);
        d
    }

    pub fn context(&self) -> String {
        format!(
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}\n--- evidence\n{}",
            self.code,
            self.stdout,
            self.stderr,
            serde_json::to_string_pretty(&self.evidence).unwrap()
        )
    }

    /// The `report.md` beside the evidence record.
    pub fn report_md(&self) -> String {
        self.beside_record("report.md")
    }

    /// The `report.html` beside the evidence record.
    pub fn report_html(&self) -> String {
        self.beside_record("report.html")
    }

    fn beside_record(&self, name: &str) -> String {
        let path = self
            .evidence_path
            .as_ref()
            .expect("the drill wrote evidence");
        std::fs::read_to_string(path.with_file_name(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.context());
        self
    }

    pub fn outcome(&self) -> &str {
        self.evidence["outcome"].as_str().unwrap_or("<none>")
    }

    pub fn measured(&self, key: &str) -> &Value {
        &self.evidence["measured"][key]
    }

    /// The `recovery_points` entries, in the order the evidence lists them.
    pub fn points(&self) -> &Vec<Value> {
        self.evidence["recovery_points"]
            .as_array()
            .unwrap_or_else(|| panic!("no recovery_points array\n{}", self.context()))
    }

    pub fn point_ids(&self) -> Vec<&str> {
        self.points()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect()
    }

    pub fn point(&self, id: &str) -> &Value {
        self.points()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("no point {id} in evidence\n{}", self.context()))
    }

    /// The file result for `path` in point `id`.
    pub fn file(&self, id: &str, path: &str) -> &Value {
        self.point(id)["files"]
            .as_array()
            .expect("files array")
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("no file {path} in point {id}\n{}", self.context()))
    }

    /// The paths verified in point `id`, in the order listed.
    pub fn file_paths(&self, id: &str) -> Vec<String> {
        self.point(id)["files"]
            .as_array()
            .expect("files array")
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn seed(&self) -> u64 {
        self.evidence["sample"]["seed"]
            .as_u64()
            .unwrap_or_else(|| panic!("sample.seed is not a u64\n{}", self.context()))
    }

    /// `reason` of a file, point or the drill, or "" when null.
    pub fn reason(v: &Value) -> &str {
        v["reason"].as_str().unwrap_or("")
    }
}

/// Every file under `dir` whose path ends with the components of `rel`.
pub fn find_files(dir: &Path, rel: &str) -> Vec<PathBuf> {
    Snapshot::take(dir)
        .files()
        .into_iter()
        .filter(|p| p.ends_with(rel))
        .map(|p| dir.join(p))
        .collect()
}

/// A `lifeboat` process a test started: killed if the test fails before it exits.
pub struct Daemon(pub std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `sig` (as `kill` spells it: `-TERM`, `-INT`, `-HUP`) to `child`.
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Waits for `daemon` to exit, at most `within`: its exit code and how long it took.
pub fn wait_exit(daemon: &mut Daemon, within: std::time::Duration) -> (i32, std::time::Duration) {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = daemon.0.try_wait().unwrap() {
            return (s.code().unwrap_or(-1), start.elapsed());
        }
        assert!(start.elapsed() < within, "still running after {within:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
