//! The application examples under `examples/`, run as shipped: `make-app-backup.sh` writes
//! real SQLite (`.db.zst`) and tar (`.tar.zst`) backups with real manifests, and the example
//! runbooks' steps check the restored files with `sqlite3` and `tar`. Only `source.url` is
//! changed, to point at the test's own copy of the backup set.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::steps::Server;
use crate::util::{DAY1, DAY2, Drill, Fixture, repo_root};

const SHIPPED_URL: &str = "file:///tmp/lifeboat-example/app-backup";
const TOOLS: [&str; 4] = ["sqlite3", "tar", "zstd", "sha256sum"];

/// sqlite3, tar, zstd and sha256sum, installed from Debian's packages by `scripts/tools.sh`
/// when missing; a test fails (never skips) when that is impossible.
fn tools() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let missing: Vec<&str> = TOOLS
            .into_iter()
            .filter(|t| {
                Command::new("sh")
                    .args(["-c", &format!("command -v {t}")])
                    .output()
                    .map_or(true, |o| !o.status.success())
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/tools.sh"))
            .arg("install")
            .args(&missing)
            .output()
            .expect("run scripts/tools.sh");
        assert!(
            out.status.success(),
            "cannot install {missing:?} (scripts/tools.sh install {}):\n{}",
            missing.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// The example backup set, written by the shipped script into the fixture's `app-backup/`.
fn app_backup(fx: &Fixture) -> std::path::PathBuf {
    tools();
    let out_dir = fx.root().join("app-backup");
    let out = Command::new("bash")
        .arg(repo_root().join("examples/make-app-backup.sh"))
        .arg(&out_dir)
        .output()
        .expect("run examples/make-app-backup.sh");
    assert!(
        out.status.success(),
        "make-app-backup.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out_dir
}

/// The shipped example runbook with only its source URL changed.
fn example(fx: &Fixture, file: &str, backup: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("examples").join(file)).unwrap();
    assert!(
        text.contains(SHIPPED_URL),
        "{file} no longer reads {SHIPPED_URL}"
    );
    let url = lifeboat_testkit::file_url(backup);
    fx.write(file, &text.replace(SHIPPED_URL, &url))
}

fn step<'a>(d: &'a Drill, point: &str, name: &str) -> &'a serde_json::Value {
    d.point(point)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?} in {point}\n{}", d.context()))
}

#[test]
fn app_backup_example_opens_the_database_and_lists_the_archive() {
    let fx = Fixture::new();
    let backup = app_backup(&fx);
    let runbook = example(&fx, "app-backup.yaml", &backup);
    let d = fx.drill_file(&runbook, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
    let check = step(&d, DAY1, "database is consistent");
    assert_eq!(check["outcome"], "passed");
    assert_eq!(
        check["detail"]["stdout_tail"].as_str().unwrap().trim(),
        "ok"
    );
    let list = step(&d, DAY1, "archive lists");
    let listing = list["detail"]["stdout_tail"].as_str().unwrap();
    assert!(listing.contains("uploads/invoice-0003.txt"), "{listing}");
    assert_eq!(step(&d, DAY1, "database holds orders")["outcome"], "passed");
    assert_eq!(d.evidence["finally"][0]["outcome"], "passed");
    // The files were verified against the manifest of the uncompressed bytes.
    assert_eq!(d.file(DAY1, "db/app.db")["object"], "db/app.db.zst");
}

/// A database whose bytes match its manifest, yet is broken: the restore passes, SQLite's
/// integrity check does not, and the drill falls back to the night before.
#[test]
fn a_database_that_restores_but_is_corrupt_fails_its_check_and_falls_back() {
    let fx = Fixture::new();
    let backup = app_backup(&fx);
    let point = backup.join(DAY1);
    let db = fx.root().join("app.db");
    let ok = Command::new("zstd")
        .args(["-q", "-d", "-f"])
        .arg(point.join("db/app.db.zst"))
        .arg("-o")
        .arg(&db)
        .status()
        .unwrap();
    assert!(ok.success());
    // Garbage over the middle of the second page (the first table's b-tree).
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(
        bytes.len() > 8192,
        "the example database is too small to damage"
    );
    for b in &mut bytes[4096 + 8..4096 + 1024] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let ok = Command::new("zstd")
        .args(["-q", "-f"])
        .arg(&db)
        .arg("-o")
        .arg(point.join("db/app.db.zst"))
        .status()
        .unwrap();
    assert!(ok.success());
    let sums = std::fs::read_to_string(point.join("SHA256SUMS")).unwrap();
    let digest = lifeboat_testkit::sha256_hex(&bytes);
    let sums: String = sums
        .lines()
        .map(|l| {
            if l.ends_with("  db/app.db") {
                format!("{digest}  db/app.db\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(point.join("SHA256SUMS"), sums).unwrap();

    let runbook = example(&fx, "app-backup.yaml", &backup);
    let d = fx.drill_file(&runbook, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    assert_eq!(
        d.file(DAY1, "db/app.db")["outcome"],
        "passed",
        "{}",
        d.context()
    );
    let check = step(&d, DAY1, "database is consistent");
    assert_eq!(check["outcome"], "failed", "{}", d.context());
    assert!(
        Drill::reason(d.point(DAY1)).starts_with("steps[1] (database is consistent) failed"),
        "{}",
        d.context()
    );
    assert_eq!(d.point(DAY2)["outcome"], "passed");
    assert_eq!(d.measured("recovery_point"), DAY2);
}

#[test]
fn failover_example_probes_the_standby_and_records_the_operators_answers() {
    let fx = Fixture::new();
    let backup = app_backup(&fx);
    let runbook = example(&fx, "failover.yaml", &backup);
    let standby = Server::start(vec![(503, "starting"), (200, "ok\n")]);
    let host = format!("127.0.0.1:{}", standby.port);
    // Go on with the first three steps, answer the approve question (it is asked once) and its
    // note, go on with the wait, then with the finally step.
    let answers = "y\ny\ny\nyes\nusers see last night's orders\ny\ny\n";
    let d = crate::steps::drill_with(
        &fx,
        &std::fs::read_to_string(&runbook).unwrap(),
        &["--interactive", "--operator", "carol"],
        answers,
        &[("LIFEBOAT_EXAMPLE_STANDBY", &host)],
    );
    d.assert_code(0);
    assert_eq!(d.evidence["mode"], "manual");
    assert_eq!(d.evidence["operator"], "carol");
    let probe = step(&d, DAY1, "standby answers healthy");
    assert_eq!(probe["detail"]["attempts"], "2", "{}", d.context());
    assert_eq!(
        probe["detail"]["url"],
        "http://${LIFEBOAT_EXAMPLE_STANDBY}/health"
    );
    let approve = step(&d, DAY1, "traffic switched");
    assert_eq!(approve["outcome"], "passed");
    assert_eq!(approve["detail"]["answer"], "yes");
    assert_eq!(approve["detail"]["note"], "users see last night's orders");
    assert_eq!(standby.requests()[0].path, "/health");

    // Unattended, the approve step follows `unattended: fail`: the drill fails, never passes.
    let d = crate::steps::drill_with(
        &fx,
        &std::fs::read_to_string(&runbook).unwrap(),
        &[],
        "",
        &[("LIFEBOAT_EXAMPLE_STANDBY", &host)],
    );
    d.assert_code(1);
    assert_eq!(d.evidence["mode"], "automatic");
    assert_eq!(
        Drill::reason(step(&d, DAY1, "traffic switched")),
        "no operator to confirm (unattended: fail)"
    );
    // Nobody confirmed: that says nothing about the backup, so no older night is tried.
    assert_eq!(d.points().len(), 1, "{}", d.context());
}

/// `examples/postgres-basebackup.yaml` as shipped, on the base backup
/// `examples/make-pg-backup.sh` makes from a real cluster: every file verified by the
/// backup's own manifest, then PostgreSQL starts on the restored data folder and answers a
/// query about the data the script put there, and `finally` stops it.
#[test]
fn postgres_basebackup_example_starts_postgres_on_the_restored_backup() {
    const SHIPPED: &str = "file:///tmp/lifeboat-example/pg-backup";
    crate::pg::backups(); // installs postgresql when it is missing
    let fx = Fixture::new();
    let backup = fx.root().join("pg-backup");
    let out = Command::new("bash")
        .arg(repo_root().join("examples/make-pg-backup.sh"))
        .arg(&backup)
        .output()
        .expect("run examples/make-pg-backup.sh");
    assert!(
        out.status.success(),
        "make-pg-backup.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text =
        std::fs::read_to_string(repo_root().join("examples/postgres-basebackup.yaml")).unwrap();
    assert!(
        text.contains(SHIPPED),
        "the example no longer reads {SHIPPED}"
    );
    let runbook = fx.write(
        "postgres-basebackup.yaml",
        &text.replace(SHIPPED, &lifeboat_testkit::file_url(&backup)),
    );
    let d = fx.drill_file(&runbook, &[]);
    d.assert_code(0);
    assert_eq!(d.point_ids(), [DAY1]);
    let files = d.point(DAY1)["files"].as_array().unwrap();
    assert!(files.len() > 500, "every file: {}", files.len());
    assert!(
        files
            .iter()
            .all(|f| f["algorithm"] == "crc32c"
                || f["path"].as_str().unwrap().starts_with("pg_wal/"))
    );
    let query = step(&d, DAY1, "the orders are there");
    assert_eq!(query["outcome"], "passed");
    assert_eq!(
        query["detail"]["stdout_tail"].as_str().unwrap().trim(),
        "1000 orders, 50050000 cents"
    );
    assert_eq!(
        d.evidence["finally"][0]["outcome"],
        "passed",
        "{}",
        d.context()
    );
}

/// `examples/restic.yaml` as shipped, on the repository `examples/make-restic-repo.sh` makes
/// with the real restic CLI: the newest snapshot's files verified chunk by chunk and restored,
/// then the backup job's own SHA256SUMS checked on the restored files by `sha256sum -c`.
#[test]
fn restic_example_restores_a_snapshot_whose_checksums_then_hold() {
    const SHIPPED: &str = "/tmp/lifeboat-example/restic";
    tools();
    let fx = Fixture::new();
    let made = fx.root().join("restic");
    let out = Command::new("bash")
        .arg(repo_root().join("examples/make-restic-repo.sh"))
        .arg(&made)
        .output()
        .expect("run examples/make-restic-repo.sh");
    assert!(
        out.status.success(),
        "make-restic-repo.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(repo_root().join("examples/restic.yaml")).unwrap();
    assert!(
        text.contains(&format!("url: file://{SHIPPED}/repo"))
            && text.contains(&format!("password_file: {SHIPPED}/password")),
        "the example no longer reads {SHIPPED}"
    );
    let runbook = fx.write(
        "restic.yaml",
        &text.replace(SHIPPED, made.to_str().unwrap()),
    );
    let d = fx.drill_file(&runbook, &["--now", "2026-11-22T02:00:00Z"]);
    d.assert_code(0);
    let newest = d.point_ids()[0].to_owned();
    assert_eq!(
        d.file_paths(&newest),
        [
            "/srv/app/SHA256SUMS",
            "/srv/app/app.conf",
            "/srv/app/data.bin"
        ]
    );
    let check = step(&d, &newest, "the job's checksums hold");
    assert_eq!(check["outcome"], "passed", "{}", d.context());
    assert_eq!(
        check["detail"]["stdout_tail"].as_str().unwrap(),
        "app.conf: OK\ndata.bin: OK\n"
    );
}
