//! `--state postgres://…` from the outside: `lifeboat drill` records into a real PostgreSQL
//! (a throwaway cluster on 127.0.0.1, one per test process, a fresh database per test), and
//! `history`, `status`, `plan` and `report` read it back; two `lifeboat schedule` daemons share
//! it without drilling a slot twice; a server that cannot be reached, a wrong password and a
//! password written in the URL are clear errors that never show it.

use lifeboat_testkit::Format;
use lifeboat_testkit::postgres::{Cluster, free_port};
use serde_json::Value;

use crate::util::{DAY1, Daemon, Fixture, Runbook, signal};

/// A URL to a fresh database as the trusted `postgres` role.
fn fresh_url() -> String {
    let cluster = Cluster::shared();
    format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        cluster.port(),
        cluster.fresh_database()
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_drill_recorded_in_postgres_is_what_history_status_plan_and_report_read() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let url = fresh_url();
    let drill = fx.drill(&fx.runbook(), &["--state", &url]);
    drill.assert_code(0);
    // No SQLite file appeared anywhere: the default store was not used beside it.
    assert!(!fx.data_home().join("lifeboat/state.db").exists());

    let out = fx.run(&["history", "--state", &url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = history.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{history:#}");
    assert_eq!(runs[0]["run_id"], drill.evidence["run_id"]);
    assert_eq!(runs[0]["outcome"], "passed");
    let started: jiff::Timestamp = runs[0]["started_at"].as_str().unwrap().parse().unwrap();
    let expected: jiff::Timestamp = drill.evidence["started_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(started, expected);

    let out = fx.run(&["status", "--state", &url, "--json", "runbook.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["last_outcome"], "passed", "{status:#}");
    assert_eq!(status[0]["last_run_id"], drill.evidence["run_id"]);

    let out = fx.run(&[
        "plan",
        "runbook.yaml",
        "--state",
        &url,
        "--now",
        "2026-11-22",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let report = fx.root().join("r.json");
    // The period holds the drill, which ran today: a fixed month stops holding it the day
    // the calendar leaves that month.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let (from, to) = (
        (today - jiff::Span::new().days(1)).to_string(),
        (today + jiff::Span::new().days(1)).to_string(),
    );
    let out = fx.run(&[
        "report",
        "--evidence-dir",
        fx.evidence_dir().to_str().unwrap(),
        "--from",
        &from,
        "--to",
        &to,
        "--state",
        &url,
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["gaps_checked"], true, "{report:#}");
    assert_eq!(report["totals"]["drills"], 1, "{report:#}");
}

#[test]
fn a_server_that_cannot_be_reached_is_exit_3_naming_host_and_port() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let port = free_port();
    let url = format!("postgres://lifeboat@127.0.0.1:{port}/history");
    let started = std::time::Instant::now();
    let mut cmd = fx.drill_command(&fx.write("runbook.yaml", &fx.runbook().yaml()), &[]);
    let out = cmd
        .args(["--state", &url])
        .env("PGPASSWORD", "s3cret-in-env")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains(&format!("cannot connect to 127.0.0.1 port {port}")),
        "{log}"
    );
    assert!(log.contains("nothing was run"), "{log}");
    assert!(!log.contains("s3cret"), "{log}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!fx.evidence_dir().join("drill-test").exists());

    let out = fx.run(&["history", "--state", &url]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out).contains("cannot connect to 127.0.0.1 port"));
}

#[test]
fn a_password_is_taken_from_pgpassword_or_a_passfile_never_from_the_url() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let cluster = Cluster::shared();
    cluster.require_password("fleet_runner", "right-pw");
    let db = cluster.fresh_database();
    let url = format!("postgres://fleet_runner@127.0.0.1:{}/{db}", cluster.port());
    let history = |env: &[(&str, &str)]| {
        let mut cmd = fx.command();
        cmd.args(["history", "--state", &url])
            .env_remove("PGPASSWORD");
        cmd.env("PGPASSFILE", fx.root().join("no-passfile"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };

    let wrong = history(&[("PGPASSWORD", "wrong-pw")]);
    let log = stderr(&wrong);
    assert_eq!(wrong.status.code(), Some(3), "{log}");
    assert!(log.contains("password authentication failed"), "{log}");
    assert!(!log.contains("wrong-pw"), "{log}");

    assert_eq!(
        history(&[("PGPASSWORD", "right-pw")]).status.code(),
        Some(0)
    );

    // libpq's passfile, and its rule: one others can read is ignored.
    let passfile = fx.write(
        "pgpass",
        &format!("127.0.0.1:{}:*:fleet_runner:right-pw\n", cluster.port()),
    );
    let file = passfile.to_str().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = history(&[("PGPASSFILE", file)]);
    assert_eq!(loose.status.code(), Some(3), "{loose:?}");
    assert!(
        stderr(&loose).contains("has group or world access"),
        "{loose:?}"
    );
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ok = history(&[("PGPASSFILE", file)]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");

    let in_url = format!(
        "postgres://fleet_runner:right-pw@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let d = fx.drill(&fx.runbook(), &["--state", &in_url]);
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("give it in PGPASSWORD"), "{}", d.stderr);
    assert!(!d.stderr.contains("right-pw"), "{}", d.stderr);
}

/// `lifeboat schedule --state URL` for `runbook`, its scratch folder and stderr its own (`tag`).
fn start_schedule(fx: &Fixture, url: &str, runbook: &std::path::Path, tag: &str) -> Daemon {
    let child = fx
        .command()
        .args(["schedule", "--state", url, "--evidence-dir", "evidence"])
        .arg("--scratch-dir")
        .arg(fx.root().join(format!("scratch-{tag}")))
        .arg(runbook)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(fx.root().join(format!("{tag}.stderr"))).unwrap())
        .spawn()
        .unwrap();
    Daemon(child)
}

fn history_of(fx: &Fixture, url: &str) -> Vec<Value> {
    let out = fx.run(&["history", "--state", url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Two daemons, the same runbook, one PostgreSQL store: `schedule --state postgres://…` runs,
/// no slot is drilled twice, and every drill is recorded once with its evidence. What keeps a
/// slot single here is mostly each daemon seeing the other's newest slot before it plans; the
/// race in which both insert the same slot at once is rare in this test, which therefore does
/// not pin the claim itself (a store that let both inserts win still passed it): the store
/// tests do (`a_slot_is_claimed_once_even_across_restarts`, on both engines).
#[test]
fn two_daemons_sharing_a_postgres_store_drill_each_slot_once() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let url = fresh_url();
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let mut daemons = [
        start_schedule(&fx, &url, &path, "a"),
        start_schedule(&fx, &url, &path, "b"),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while history_of(&fx, &url)
        .iter()
        .filter(|e| e["state"] == "done")
        .count()
        < 6
    {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than 6 runs after 60 s: {:#?}\n{}\n{}",
            history_of(&fx, &url),
            std::fs::read_to_string(fx.root().join("a.stderr")).unwrap_or_default(),
            std::fs::read_to_string(fx.root().join("b.stderr")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for d in &daemons {
        signal(&d.0, "-TERM");
    }
    for (d, tag) in daemons.iter_mut().zip(["a", "b"]) {
        let status = d.0.wait().unwrap();
        let log = std::fs::read_to_string(fx.root().join(format!("{tag}.stderr"))).unwrap();
        assert_eq!(status.code(), Some(0), "{tag}: {log}");
    }

    let all = history_of(&fx, &url);
    let mut slots: Vec<&str> = all.iter().map(|e| e["slot"].as_str().unwrap()).collect();
    let n = slots.len();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), n, "a slot appears twice: {all:#?}");
    let runs: Vec<&Value> = all.iter().filter(|e| e["state"] == "done").collect();
    assert!(runs.len() >= 6, "{all:#?}");
    // One evidence record per run, and no record without its run.
    let records = crate::util::find_files(&fx.root().join("evidence"), "evidence.json");
    assert_eq!(records.len(), runs.len(), "{records:?}\n{all:#?}");
    for r in runs {
        assert_eq!(
            (&r["mode"], &r["outcome"]),
            (&"scheduled".into(), &"passed".into())
        );
    }
}
