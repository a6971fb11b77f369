//! `manifest.format: pg_backup_manifest` on real base backups: a throwaway PostgreSQL cluster
//! (Debian's `postgresql`, installed by `scripts/tools.sh` when missing) is backed up with
//! `pg_basebackup -Fp`, once per test binary, and lifeboat's verdict is checked against
//! `pg_verifybackup -n` on the same backups: clean, a flipped byte in a relation file, a
//! manifest edited without its checksum.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use lifeboat_testkit::postgres::{self, Cluster};

use crate::util::{Drill, Fixture, repo_root};

/// The older backup: pg_basebackup's default checksums (CRC32C).
pub const CRC_POINT: &str = "2026-11-21T020000Z";
/// The newer backup: `--manifest-checksums=SHA256`.
pub const SHA_POINT: &str = "2026-11-22T010000Z";

/// A folder holding the two base backups as recovery points, made once per test binary (the
/// cluster is stopped as soon as they are taken).
pub fn backups() -> &'static Path {
    static BACKUPS: OnceLock<PathBuf> = OnceLock::new();
    BACKUPS.get_or_init(|| {
        if postgres::bin_dir().is_none() {
            let out = Command::new("bash")
                .arg(repo_root().join("scripts/tools.sh"))
                .args(["install", "postgresql"])
                .output()
                .expect("run scripts/tools.sh");
            assert!(
                out.status.success(),
                "cannot install postgresql (scripts/tools.sh install postgresql):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A static is never dropped: the folders of test runs that have ended (their process
        // gone) are removed here instead, so at most one run's backups (about 80 MB) remain.
        for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix("lifeboat-pg-backups-"));
            if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = std::env::temp_dir().join(format!("lifeboat-pg-backups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Cluster::start();
        cluster.psql(
            "CREATE TABLE drill (id int PRIMARY KEY, note text); \
             INSERT INTO drill SELECT g, 'row ' || g FROM generate_series(1, 1000) g;",
        );
        cluster.base_backup(&dir.join(CRC_POINT), &[]);
        cluster.psql("INSERT INTO drill VALUES (1001, 'after the first backup');");
        cluster.base_backup(&dir.join(SHA_POINT), &["--manifest-checksums=SHA256"]);
        drop(cluster);
        dir
    })
}

/// A fixture whose source holds copies of the backups `points` names.
pub fn fixture(points: &[&str]) -> Fixture {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.source()).unwrap();
    for p in points {
        let status = Command::new("cp")
            .arg("-a")
            .arg(backups().join(p))
            .arg(fx.source())
            .status()
            .unwrap();
        assert!(status.success(), "cp -a {p}");
    }
    fx
}

/// Drills the fixture with every file of every point verified (`sample` absent).
fn drill(fx: &Fixture, select: &str) -> Drill {
    let mut rb = fx.runbook();
    rb.manifest_path = "backup_manifest".into();
    rb.select = select.into();
    let yaml = rb
        .yaml()
        .replace("format: sha256sum", "format: pg_backup_manifest");
    assert!(yaml.contains("pg_backup_manifest"), "{yaml}");
    let path = fx.write("runbook.yaml", &yaml);
    fx.drill_file(&path, &[])
}

fn verifybackup_passes(dir: &Path) -> (bool, String) {
    let out = postgres::verify_backup(dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A relation file (below `base/`, at least one page) the manifest lists.
pub fn relation_file(point: &Path) -> String {
    let manifest = std::fs::read_to_string(point.join("backup_manifest")).unwrap();
    let listed: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    listed["Files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["Path"].as_str().is_some_and(|p| p.starts_with("base/"))
                && f["Size"].as_u64().is_some_and(|s| s >= 8192)
        })
        .map(|f| f["Path"].as_str().unwrap().to_owned())
        .expect("a relation file in the manifest")
}

#[test]
fn clean_base_backups_pass_as_pg_verifybackup_says() {
    let fx = fixture(&[CRC_POINT, SHA_POINT]);
    for p in [CRC_POINT, SHA_POINT] {
        let (ok, text) = verifybackup_passes(&fx.source().join(p));
        assert!(ok, "pg_verifybackup -n refuses {p}:\n{text}");
    }
    let d = drill(&fx, "all");
    d.assert_code(0);
    let manifest =
        std::fs::read_to_string(fx.source().join(CRC_POINT).join("backup_manifest")).unwrap();
    let listed = manifest.matches("\"Path\"").count();
    for (p, algorithm) in [(CRC_POINT, "crc32c"), (SHA_POINT, "sha256")] {
        let files = d.point(p)["files"].as_array().unwrap();
        assert!(
            files.len() >= listed.min(100),
            "{p}: {} files\n{}",
            files.len(),
            d.context()
        );
        for f in files {
            assert_eq!(f["outcome"], "passed", "{f}");
            // The WAL the backup needs (WAL-Ranges), which Files never lists: size only.
            let wal = f["path"].as_str().unwrap().starts_with("pg_wal/");
            assert_eq!(f["algorithm"], if wal { "none" } else { algorithm }, "{f}");
            if wal {
                assert_eq!(f["actual"], serde_json::Value::Null, "{f}");
                assert_eq!(f["bytes"], 16 << 20, "{f}");
            }
        }
        assert!(
            files
                .iter()
                .any(|f| f["path"].as_str().unwrap().starts_with("pg_wal/0000000100")),
            "no WAL segment verified in {p}"
        );
        assert_eq!(d.point(p)["manifest"]["path"], "backup_manifest");
    }
    let version = d.file(CRC_POINT, "PG_VERSION");
    assert_eq!(version["actual"], version["expected"]);
}

#[test]
fn a_flipped_byte_in_a_relation_file_fails_both() {
    let fx = fixture(&[SHA_POINT]);
    let point = fx.source().join(SHA_POINT);
    let rel = relation_file(&point);
    let path = point.join(&rel);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let (ok, text) = verifybackup_passes(&point);
    assert!(!ok, "pg_verifybackup -n passes a flipped byte:\n{text}");
    assert!(text.contains(&rel), "{text}");

    let d = drill(&fx, "latest");
    d.assert_code(1);
    let f = d.file(SHA_POINT, &rel);
    assert_eq!(f["outcome"], "failed");
    assert_eq!(Drill::reason(f), "hash mismatch");
    assert_eq!(f["algorithm"], "sha256");
    let failed: Vec<_> = d.point(SHA_POINT)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] != "passed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
}

#[test]
fn a_truncated_relation_file_fails_on_its_size() {
    let fx = fixture(&[CRC_POINT]);
    let point = fx.source().join(CRC_POINT);
    let rel = relation_file(&point);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(point.join(&rel))
        .unwrap();
    f.set_len(4096).unwrap();
    drop(f);
    let (ok, text) = verifybackup_passes(&point);
    assert!(!ok, "{text}");

    let d = drill(&fx, "latest");
    d.assert_code(1);
    let f = d.file(CRC_POINT, &rel);
    assert!(
        Drill::reason(f).starts_with("size mismatch: the manifest lists "),
        "{f}"
    );
    assert_eq!(f["bytes"], 4096);
}

#[test]
fn a_manifest_edited_without_its_checksum_fails_both() {
    let fx = fixture(&[CRC_POINT]);
    let point = fx.source().join(CRC_POINT);
    let manifest = point.join("backup_manifest");
    let text = std::fs::read_to_string(&manifest).unwrap();
    // Someone "fixes" the listed checksum of PG_VERSION to whatever they like.
    let edited = text.replacen("\"Size\": 3,", "\"Size\": 4,", 1);
    assert_ne!(edited, text, "PG_VERSION's entry not found");
    std::fs::write(&manifest, edited).unwrap();

    let (ok, text) = verifybackup_passes(&point);
    assert!(!ok, "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");

    let d = drill(&fx, "latest");
    d.assert_code(1);
    let reason = Drill::reason(d.point(CRC_POINT));
    assert!(
        reason.starts_with(
            "manifest backup_manifest: checksum does not match: Manifest-Checksum lists "
        ),
        "{reason}"
    );
    assert!(d.point(CRC_POINT)["files"].as_array().unwrap().is_empty());
}

#[test]
fn a_missing_wal_segment_fails_the_backup_pg_verifybackup_n_does_not_look_at() {
    let fx = fixture(&[CRC_POINT]);
    let wal = fx.source().join(CRC_POINT).join("pg_wal");
    let segment = std::fs::read_dir(&wal)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .find(|n| n.len() == 24)
        .expect("a WAL segment in the backup");
    std::fs::remove_file(wal.join(&segment)).unwrap();
    // pg_verifybackup checks WAL only by parsing it (without -n); lifeboat lists the
    // segments WAL-Ranges names so that a restore can start.
    let d = drill(&fx, "latest");
    d.assert_code(1);
    let f = d.file(CRC_POINT, &format!("pg_wal/{segment}"));
    assert!(Drill::reason(f).starts_with("missing object"), "{f}");
}

/// `lifeboat plan` reads a base backup's manifest as the drill does: the files it lists are
/// those the drill then verifies, `sample.always` included.
#[test]
fn the_plan_of_a_base_backup_lists_the_files_the_drill_verifies() {
    let fx = fixture(&[CRC_POINT]);
    let mut rb = fx.runbook();
    rb.manifest_path = "backup_manifest".into();
    rb.sample = Some("{files: 5, seed: 3, always: [global/pg_control]}".into());
    let yaml = rb
        .yaml()
        .replace("format: sha256sum", "format: pg_backup_manifest");
    let path = fx.write("runbook.yaml", &yaml);
    let out = fx
        .command()
        .arg("plan")
        .arg(&path)
        .args(["--now", crate::util::T0])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planned: Vec<String> = crate::plan::planned_files(&stdout, CRC_POINT)
        .into_iter()
        .map(|l| l.trim_end_matches("  (sample.always)").to_owned())
        .collect();
    assert_eq!(planned.len(), 6, "{stdout}");
    assert!(
        planned.contains(&"global/pg_control".to_owned()),
        "{stdout}"
    );

    let d = fx.drill_file(&path, &[]);
    d.assert_code(0);
    let mut verified = d.file_paths(CRC_POINT);
    verified.sort();
    let mut planned = planned;
    planned.sort();
    assert_eq!(verified, planned);
}
