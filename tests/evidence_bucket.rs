//! Evidence in object storage (`--evidence-dir s3://BUCKET/PREFIX`), against moto: records
//! written create-only and read back by `evidence verify` and `report`; drills racing into one
//! bucket chain without a fork; object lock (`--evidence-retention`): the record's retention
//! read back, a delete of its version refused, an overwrite by a newer version reported.

use std::process::Command;

use lifeboat_testkit::Format;
use lifeboat_testkit::cloud::{self, S3Server, unique_name};

use crate::ledger::keygen;
use crate::util::{DAY1, Fixture, T0};

/// `cmd` talking to `s3` through the standard AWS environment, and to nothing a developer's
/// own AWS settings name.
pub fn s3_env<'c>(cmd: &'c mut Command, s3: &S3Server) -> &'c mut Command {
    for k in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("AWS_ENDPOINT", &s3.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", &s3.region)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_access_key)
        .env("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false")
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn context(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().expect("run lifeboat");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `lifeboat drill` of the fixture's runbook into `url`, quiet, at T0, scratch in `scratch`.
pub fn drill_command(fx: &Fixture, url: &str, scratch: &str) -> Command {
    // Written once: runners started together must not read it half-written.
    let rb = fx.root().join("runbook.yaml");
    if !rb.exists() {
        fx.write("runbook.yaml", &fx.runbook().yaml());
    }
    let scratch = fx.root().join(scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cmd = fx.command();
    cmd.arg("drill")
        .arg(rb)
        .args(["--evidence-dir", url, "--now", T0, "--quiet"])
        .arg("--scratch-dir")
        .arg(scratch);
    cmd
}

/// A drill of the fixture's runbook into `url` with `args`.
pub fn drill_into(fx: &Fixture, s3: &S3Server, url: &str, args: &[&str]) -> Ran {
    let mut cmd = drill_command(fx, url, "scratch");
    cmd.args(args);
    run(s3_env(&mut cmd, s3))
}

pub fn verify(fx: &Fixture, s3: &S3Server, url: &str, args: &[&str]) -> Ran {
    let mut cmd = fx.command();
    cmd.args(["evidence", "verify", url]).args(args);
    run(s3_env(&mut cmd, s3))
}

#[test]
fn drills_record_into_a_bucket_and_verify_and_report_read_it_back() {
    let s3 = &cloud::servers().moto;
    let bucket = unique_name("evidence");
    s3.create_bucket(&bucket);
    let url = s3.url(&bucket, "fleet/ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let d = drill_into(&fx, s3, &url, &[]);
        assert_eq!(d.code, 0, "{}", d.context());
        let record = d.stdout.lines().last().unwrap().to_owned();
        assert!(
            record.starts_with(&format!("{url}/drill-test/")) && record.ends_with("/evidence.json"),
            "{}",
            d.context()
        );
        runs.push(record);
    }
    // Nothing went to the local default folder.
    assert!(!fx.root().join("evidence").exists());
    let v = verify(&fx, s3, &url, &[]);
    assert_eq!(v.code, 0, "{}", v.context());
    assert!(
        v.stdout.contains("INTACT  2 records, chain unbroken"),
        "{}",
        v.context()
    );

    // The report reads the same records, and names the bucket.
    let out = fx.root().join("q4.md");
    let mut cmd = fx.command();
    cmd.args([
        "report",
        "--evidence-dir",
        &url,
        "--from",
        "2020-01-01",
        "--to",
        "2099-12-31",
    ])
    .arg("--out")
    .arg(&out);
    let r = run(s3_env(&mut cmd, s3));
    assert_eq!(r.code, 0, "{}", r.context());
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains(&url), "the report names the bucket:\n{md}");
    let run_id = runs[0].rsplit('/').nth(1).unwrap();
    assert!(md.contains(run_id), "{md}");
}

#[test]
fn drills_racing_into_one_bucket_chain_every_record_once_without_a_fork() {
    let s3 = &cloud::servers().moto;
    let bucket = unique_name("race");
    s3.create_bucket(&bucket);
    let url = s3.url(&bucket, "ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let keys = keygen(&fx, "fleet");
    let runners: Vec<_> = (0..4)
        .map(|i| {
            let mut cmd = drill_command(&fx, &url, &format!("scratch{i}"));
            cmd.arg("--signing-key").arg(&keys.secret);
            s3_env(&mut cmd, s3)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runners {
        let out = r.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v = verify(
        &fx,
        s3,
        &url,
        &["--public-key", keys.public.to_str().unwrap()],
    );
    assert_eq!(v.code, 0, "{}", v.context());
    assert!(
        v.stdout
            .contains("INTACT  4 records, chain unbroken; 4 record signatures"),
        "{}",
        v.context()
    );
}

#[test]
fn evidence_retention_locks_each_record_refuses_its_delete_and_verify_reports_an_overwrite() {
    let s3 = &cloud::servers().moto;
    let bucket = unique_name("locked");
    s3.create_locked_bucket(&bucket);
    let url = s3.url(&bucket, "ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = drill_into(&fx, s3, &url, &["--evidence-retention", "1d"]);
    assert_eq!(d.code, 0, "{}", d.context());
    let record = d.stdout.lines().last().unwrap();
    let key = record.strip_prefix(&format!("s3://{bucket}/")).unwrap();

    // The record carries COMPLIANCE retention until about a day from now (moto answers no
    // `GET ?retention`; S3 and moto both answer a HEAD with the lock's headers).
    let lock_of = |key: &str| {
        let (status, head) = s3.signed_request("HEAD", &bucket, key, &[]);
        assert_eq!(status, 200, "{head}");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("{key}: no {name} in {head}"))
        };
        (
            header("x-amz-object-lock-mode"),
            header("x-amz-object-lock-retain-until-date"),
        )
    };
    let (mode, until) = lock_of(key);
    assert_eq!(mode, "COMPLIANCE");
    let until: jiff::Timestamp = until.parse().unwrap();
    let left = until.duration_since(jiff::Timestamp::now());
    assert!(
        left > jiff::SignedDuration::from_hours(23) && left <= jiff::SignedDuration::from_hours(24),
        "retained until {until}"
    );
    // So is every object the drill wrote: the chain's entry, the pages.
    for other in [
        "ev/ledger/00000000000000000001.json".to_owned(),
        key.replace("evidence.json", "report.html"),
    ] {
        assert_eq!(lock_of(&other).0, "COMPLIANCE", "{other}");
    }

    // Deleting the record's version is refused.
    let (_, listing) = s3.signed_request("GET", &bucket, "", &[("versions", ""), ("prefix", key)]);
    let version = listing
        .split("<VersionId>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_else(|| panic!("no version: {listing}"));
    let (status, body) = s3.signed_request("DELETE", &bucket, key, &[("versionId", version)]);
    assert!(
        !(200..300).contains(&status),
        "delete answered {status}: {body}"
    );
    let v = verify(&fx, s3, &url, &[]);
    assert_eq!(v.code, 0, "{}", v.context());

    // A newer version over the locked record (a plain PUT: S3, and moto, keep the locked
    // version under it) is reported, with the edit it makes.
    s3.overwrite(&bucket, key, b"{\"outcome\": \"passed\"}\n");
    let v = verify(&fx, s3, &url, &[]);
    assert_eq!(v.code, 1, "{}", v.context());
    let subject = key
        .strip_prefix("ev/")
        .unwrap()
        .strip_suffix("/evidence.json")
        .unwrap();
    assert!(
        v.stdout.contains(&format!(
            "{subject}: overwritten: evidence.json has 2 versions"
        )),
        "{}",
        v.context()
    );
    assert!(
        v.stdout.contains(&format!("{subject}: edited")),
        "{}",
        v.context()
    );
    assert!(
        v.stdout.contains("NOT INTACT  2 problem(s)"),
        "{}",
        v.context()
    );
}

#[test]
fn evidence_retention_needs_an_s3_evidence_dir_and_nothing_runs_without_one() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = fx.write("runbook.yaml", &fx.runbook().yaml());
    let d = fx.drill_file(&rb, &["--evidence-retention", "30d"]);
    d.assert_code(2);
    assert!(
        d.stderr
            .contains("--evidence-retention puts records under S3 object lock"),
        "{}",
        d.context()
    );
    assert!(!fx.evidence_dir().exists());
    let mut cmd = drill_command(&fx, "az://container/ev", "scratch");
    let d = run(cmd.args(["--evidence-retention", "30d"]));
    assert_eq!(d.code, 2, "{}", d.context());
    assert!(
        d.stderr.contains("retention policy on the container"),
        "{}",
        d.context()
    );
}

#[test]
fn drills_record_into_an_azure_container_create_only() {
    let az = &cloud::servers().azurite;
    let container = unique_name("evidence");
    az.create_container(&container);
    let url = format!("az://{container}/ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let az_env = |cmd: &mut Command| {
        cmd.env("AZURE_STORAGE_ACCOUNT_NAME", &az.account)
            .env("AZURE_STORAGE_ACCOUNT_KEY", &az.key)
            .env("AZURE_STORAGE_ENDPOINT", az.account_url())
            .env("AZURE_ALLOW_HTTP", "true")
            .env_remove("AZURE_STORAGE_USE_EMULATOR");
    };
    for _ in 0..2 {
        let mut cmd = drill_command(&fx, &url, "scratch");
        az_env(&mut cmd);
        let d = run(&mut cmd);
        assert_eq!(d.code, 0, "{}", d.context());
        assert!(
            d.stdout.trim_end().ends_with("/evidence.json"),
            "{}",
            d.context()
        );
    }
    let mut cmd = fx.command();
    cmd.args(["evidence", "verify", &url]);
    az_env(&mut cmd);
    let v = run(&mut cmd);
    assert_eq!(v.code, 0, "{}", v.context());
    assert!(
        v.stdout.contains("INTACT  2 records, chain unbroken"),
        "{}",
        v.context()
    );
}

#[test]
fn the_daemon_records_each_scheduled_drill_into_a_bucket_once() {
    use crate::history::{history_json, wait_for_runs};
    use crate::util::{Daemon, Runbook, signal};
    let s3 = &cloud::servers().moto;
    let bucket = unique_name("daemon");
    s3.create_bucket(&bucket);
    let url = s3.url(&bucket, "ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let stderr_path = fx.root().join("daemon.stderr");
    let mut cmd = fx.command();
    cmd.args(["schedule", "--state", "state.db", "--evidence-dir", &url])
        .arg("--scratch-dir")
        .arg(fx.scratch_dir())
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let mut daemon = Daemon(s3_env(&mut cmd, s3).spawn().unwrap());
    wait_for_runs(&fx, 3, &stderr_path);
    signal(&daemon.0, "-TERM");
    let status = daemon.0.wait().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let done: Vec<_> = history_json(&fx, &[])
        .into_iter()
        .filter(|e| e["state"] == "done")
        .collect();
    for r in &done {
        let evidence = r["evidence"].as_str().unwrap();
        assert!(evidence.starts_with(&format!("{url}/drill-test/")), "{r:#}");
    }
    let v = verify(&fx, s3, &url, &[]);
    assert_eq!(v.code, 0, "{}", v.context());
    assert!(
        v.stdout
            .contains(&format!("INTACT  {} records, chain unbroken", done.len())),
        "{} drills done\n{}",
        done.len(),
        v.context()
    );
}
