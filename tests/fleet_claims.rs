//! A fleet of runners against a real PostgreSQL (#17 items 2, 3 and 6): three real `lifeboat
//! schedule` processes share one store and one evidence folder, in real time. Each slot runs
//! once across them; a runner killed with SIGKILL mid-drill loses its slot to another runner,
//! which runs it again as attempt 2 (the first attempt records nothing); PostgreSQL stopped
//! and started while drills run costs nothing: the runners keep their drills, reconnect,
//! record each once.
//!
//! Every wait is on a condition with a generous deadline: a loaded 2-core CI machine makes
//! drills slower, never different.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use lifeboat_testkit::Format;
use lifeboat_testkit::postgres::Cluster;
use serde_json::Value;

use crate::util::{DAY1, Daemon, Fixture, Runbook, find_files, signal};

/// `lifeboat schedule` named `runner`, with a 3 s lease unless `extra` gives one.
fn start_runner(
    fx: &Fixture,
    url: &str,
    runbooks: &[&Path],
    runner: &str,
    extra: &[&str],
) -> Daemon {
    let child = fx
        .command()
        .args(["schedule", "--state", url, "--evidence-dir", "evidence"])
        .args(["--runner", runner])
        .args(if extra.contains(&"--lease") {
            &[][..]
        } else {
            &["--lease", "3s"][..]
        })
        .args(extra)
        .arg("--scratch-dir")
        .arg(fx.root().join(format!("scratch-{runner}")))
        .args(runbooks)
        .env("RUST_LOG", "lifeboat=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(fx.root().join(format!("{runner}.stderr"))).unwrap())
        .spawn()
        .unwrap();
    Daemon(child)
}

fn logs(fx: &Fixture, runners: &[&str]) -> String {
    runners
        .iter()
        .map(|r| {
            let log =
                std::fs::read_to_string(fx.root().join(format!("{r}.stderr"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            format!(
                "--- {r} (last lines)\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits up to `secs` for `done`, failing with the runners' logs.
fn wait_until(
    fx: &Fixture,
    runners: &[&str],
    secs: u64,
    what: &str,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not after {secs} s\n{}",
            logs(fx, runners)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The slots table as `psql` sees it: (runbook, slot) → (state, attempt, runner).
fn slots(cluster: &Cluster, db: &str) -> BTreeMap<(String, String), (String, i64, String)> {
    // Empty until the first runner created the schema.
    if cluster
        .psql_in(db, "SELECT to_regclass('slots') IS NULL")
        .trim()
        == "t"
    {
        return BTreeMap::new();
    }
    cluster
        .psql_in(
            db,
            "SELECT runbook, slot, state, attempt, coalesce(runner, '') FROM slots",
        )
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                (f[0].to_owned(), f[1].to_owned()),
                (f[2].to_owned(), f[3].parse().unwrap(), f[4].to_owned()),
            )
        })
        .collect()
}

/// Every evidence record in the fixture's evidence folder.
fn records(fx: &Fixture) -> Vec<Value> {
    find_files(&fx.root().join("evidence"), "evidence.json")
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn history(fx: &Fixture, url: &str) -> Vec<Value> {
    let out = fx.run(&["history", "--state", url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// What every fleet test checks at the end: no slot twice, one record per recorded run,
/// written by the runner the history names, and no record without its run.
fn each_run_once(fx: &Fixture, url: &str) -> Vec<Value> {
    let all = history(fx, url);
    let mut seen = BTreeSet::new();
    for e in &all {
        let key = (e["runbook"].to_string(), e["slot"].to_string());
        assert!(seen.insert(key), "a slot appears twice: {all:#?}");
    }
    let runs: Vec<Value> = all
        .iter()
        .filter(|e| e["state"] == "done")
        .cloned()
        .collect();
    let records = records(fx);
    assert_eq!(records.len(), runs.len(), "one record per run: {all:#?}");
    let by_id: BTreeMap<&str, &Value> = records
        .iter()
        .map(|r| (r["run_id"].as_str().unwrap(), r))
        .collect();
    for run in &runs {
        let record = by_id
            .get(run["run_id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("no record for {run:#}"));
        assert!(run["runner"].is_string(), "{run:#}");
        assert_eq!(record["runner"], run["runner"], "{run:#}");
    }
    runs
}

fn stop_all(fx: &Fixture, daemons: &mut [Daemon], runners: &[&str]) {
    for d in daemons.iter() {
        signal(&d.0, "-TERM");
    }
    for d in daemons.iter_mut() {
        let status = d.0.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{}", logs(fx, runners));
    }
}

const RUNNERS: [&str; 3] = ["r0", "r1", "r2"];

/// (a) Three runners, three runbooks due every 2 s: every slot is recorded once, with no
/// gap, and each one that ran ran once, on one runner, with one record.
#[test]
fn three_runners_run_every_slot_once() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let cluster = Cluster::shared();
    let db = cluster.fresh_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port());
    let paths: Vec<_> = ["fleet-a", "fleet-b", "fleet-c"]
        .iter()
        .map(|name| {
            let rb = Runbook {
                name: (*name).into(),
                rpo: None,
                extra: "schedule: \"*/2 * * * * *\"\nstart_window: 30s\n".into(),
                ..fx.runbook()
            };
            fx.write(&format!("{name}.yaml"), &rb.yaml())
        })
        .collect();
    let paths: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let mut daemons: Vec<Daemon> = RUNNERS
        .iter()
        .map(|r| start_runner(&fx, &url, &paths, r, &[]))
        .collect();
    wait_until(&fx, &RUNNERS, 120, "15 runs recorded", || {
        history(&fx, &url)
            .iter()
            .filter(|e| e["state"] == "done")
            .count()
            >= 15
    });
    stop_all(&fx, &mut daemons, &RUNNERS);

    let runs = each_run_once(&fx, &url);
    assert!(runs.len() >= 15);
    let by: BTreeSet<&str> = runs.iter().map(|r| r["runner"].as_str().unwrap()).collect();
    eprintln!("runs by runner: {by:?}");
    // Every due slot was recorded by some runner, none twice and none left out; none was
    // abandoned or missed (a drill takes well under a slot's 30 s window).
    for name in ["fleet-a", "fleet-b", "fleet-c"] {
        let mut times: Vec<jiff::Timestamp> = history(&fx, &url)
            .iter()
            .filter(|e| e["runbook"] == name)
            .map(|e| {
                let state = e["state"].as_str().unwrap();
                assert!(
                    ["done", "skipped-overlap", "recorded"].contains(&state),
                    "{e:#}\n{}",
                    logs(&fx, &RUNNERS)
                );
                e["slot"].as_str().unwrap().parse().unwrap()
            })
            .collect();
        times.sort();
        for w in times.windows(2) {
            assert_eq!(
                w[1].duration_since(w[0]),
                jiff::SignedDuration::from_secs(2),
                "a slot of {name} is missing between {} and {}",
                w[0],
                w[1]
            );
        }
    }
}

/// (b) The runner drilling a slot is killed with SIGKILL: once its 3 s lease lapsed another
/// runner claims the slot (attempt 2) and runs it, once; the killed attempt recorded
/// nothing and wrote no record.
#[test]
fn a_runner_killed_mid_drill_loses_its_slot_to_another_runner_once() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let cluster = Cluster::shared();
    let db = cluster.fresh_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port());
    let rb = Runbook {
        name: "fleet-long".into(),
        rpo: None,
        extra: "schedule: \"*/30 * * * * *\"\nstart_window: 2m\nsteps:\n  - restore: {}\n  - wait: 6s\n"
            .into(),
        ..fx.runbook()
    };
    let path = fx.write("fleet-long.yaml", &rb.yaml());
    let mut daemons: Vec<Option<Daemon>> = RUNNERS
        .iter()
        .map(|r| Some(start_runner(&fx, &url, &[path.as_path()], r, &[])))
        .collect();
    let mut held = None;
    wait_until(&fx, &RUNNERS, 90, "a slot running", || {
        held = slots(cluster, &db)
            .into_iter()
            .find(|(_, (state, attempt, _))| state == "running" && *attempt == 1);
        held.is_some()
    });
    let ((runbook, slot), (_, _, victim)) = held.unwrap();
    let i = RUNNERS.iter().position(|r| *r == victim).unwrap();
    let mut killed = daemons[i].take().unwrap();
    killed.0.kill().unwrap(); // SIGKILL
    killed.0.wait().unwrap();
    let others: Vec<&str> = RUNNERS.iter().copied().filter(|r| *r != victim).collect();
    wait_until(&fx, &others, 90, "the slot done by another runner", || {
        slots(cluster, &db)
            .get(&(runbook.clone(), slot.clone()))
            .is_some_and(|(state, _, _)| state == "done")
    });
    let (_, attempt, runner) = slots(cluster, &db)[&(runbook.clone(), slot.clone())].clone();
    assert_eq!(attempt, 2, "{}", logs(&fx, &RUNNERS));
    assert_ne!(runner, victim);
    let mut rest: Vec<Daemon> = daemons.into_iter().flatten().collect();
    stop_all(&fx, &mut rest, &others);

    let runs = each_run_once(&fx, &url);
    let slot_time: jiff::Timestamp = slot.parse().unwrap();
    let of_slot: Vec<&Value> = runs
        .iter()
        .filter(|r| {
            r["slot"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                == slot_time
        })
        .collect();
    assert_eq!(of_slot.len(), 1, "{runs:#?}");
    assert_eq!(of_slot[0]["runner"], runner.as_str());
    // each_run_once counted one record per run: the killed attempt wrote none.
}

/// (c) PostgreSQL is stopped (`pg_ctl stop -m fast`) while a drill runs, for longer than the
/// drill has left, and started again: the drill finishes while the store is down, its
/// runner keeps asking until the server is back (within its 20 s lease) and records it
/// once, as attempt 1; every runner reconnects and goes on; no slot runs twice.
#[test]
fn postgres_stopped_and_started_while_drills_run_loses_nothing_and_runs_nothing_twice() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    // A cluster of its own: stopping the shared one would stop the other tests' stores.
    let cluster = Cluster::start();
    let db = cluster.fresh_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port());
    let rb = Runbook {
        name: "fleet-outage".into(),
        rpo: None,
        extra: "schedule: \"*/20 * * * * *\"\nstart_window: 2m\nsteps:\n  - restore: {}\n  - wait: 4s\n"
            .into(),
        ..fx.runbook()
    };
    let path = fx.write("fleet-outage.yaml", &rb.yaml());
    let mut daemons: Vec<Daemon> = RUNNERS
        .iter()
        .map(|r| start_runner(&fx, &url, &[path.as_path()], r, &["--lease", "20s"]))
        .collect();
    let mut held = None;
    wait_until(&fx, &RUNNERS, 90, "a slot running", || {
        held = slots(&cluster, &db)
            .into_iter()
            .find(|(_, (state, _, _))| state == "running");
        held.is_some()
    });
    let ((runbook, slot), _) = held.unwrap();
    cluster.stop();
    // The outage itself: longer than the drill has left, shorter than the lease.
    std::thread::sleep(Duration::from_secs(7));
    cluster.start_again();
    for d in &mut daemons {
        assert!(d.0.try_wait().unwrap().is_none(), "{}", logs(&fx, &RUNNERS));
    }
    wait_until(&fx, &RUNNERS, 90, "the slot recorded", || {
        slots(&cluster, &db)
            .get(&(runbook.clone(), slot.clone()))
            .is_some_and(|(state, _, _)| state == "done")
    });
    let (_, attempt, _) = slots(&cluster, &db)[&(runbook.clone(), slot.clone())].clone();
    assert_eq!(
        attempt,
        1,
        "run once, by its first claim: {}",
        logs(&fx, &RUNNERS)
    );
    // And the fleet goes on: the next slot runs too.
    wait_until(&fx, &RUNNERS, 90, "a later slot recorded", || {
        slots(&cluster, &db)
            .iter()
            .any(|((_, s), (state, _, _))| s > &slot && state == "done")
    });
    stop_all(&fx, &mut daemons, &RUNNERS);
    let runs = each_run_once(&fx, &url);
    assert!(runs.len() >= 2);
    assert!(
        !history(&fx, &url)
            .iter()
            .any(|e| e["state"] == "abandoned" || e["state"] == "missed"),
        "{:#?}",
        history(&fx, &url)
    );
}

/// Placement (#17 item 4): a runbook with `runners: {region: eu}` is drilled only by the
/// runner started with `--labels region=eu`, and one no runner carries the labels of is
/// not silently never run: its slots are missed, saying which labels it asks for.
#[test]
fn each_runbook_runs_only_on_the_runners_its_labels_place_it_on() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let cluster = Cluster::shared();
    let db = cluster.fresh_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port());
    let paths: Vec<_> = [("place-eu", "eu"), ("place-us", "us"), ("place-mars", "mars")]
        .iter()
        .map(|(name, region)| {
            let rb = Runbook {
                name: (*name).into(),
                rpo: None,
                extra: format!(
                    "schedule: \"*/2 * * * * *\"\nstart_window: 3s\nrunners: {{region: {region}, net: dc1}}\n"
                ),
                ..fx.runbook()
            };
            fx.write(&format!("{name}.yaml"), &rb.yaml())
        })
        .collect();
    let paths: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let runners = ["eu", "us"];
    let mut daemons: Vec<Daemon> = runners
        .iter()
        .map(|r| {
            let labels = format!("region={r},net=dc1,disk=ssd");
            start_runner(&fx, &url, &paths, r, &["--labels", &labels])
        })
        .collect();
    let count = |runbook: &str, state: &str| {
        history(&fx, &url)
            .iter()
            .filter(|e| e["runbook"] == runbook && e["state"] == state)
            .count()
    };
    wait_until(
        &fx,
        &runners,
        120,
        "runs of both placed runbooks, a missed slot of the other",
        || {
            count("place-eu", "done") >= 3
                && count("place-us", "done") >= 3
                && count("place-mars", "missed") >= 1
        },
    );
    stop_all(&fx, &mut daemons, &runners);
    let runs = each_run_once(&fx, &url);
    for run in &runs {
        let expected = match run["runbook"].as_str().unwrap() {
            "place-eu" => "eu",
            "place-us" => "us",
            other => panic!("{other} ran: {run:#}"),
        };
        assert_eq!(run["runner"], expected, "{run:#}");
    }
    let missed = history(&fx, &url)
        .into_iter()
        .find(|e| e["runbook"] == "place-mars" && e["state"] == "missed")
        .unwrap();
    assert!(
        missed["reason"]
            .as_str()
            .unwrap()
            .ends_with("it runs only on runners with --labels net=dc1,region=mars"),
        "{missed:#}"
    );
}

/// `--runner` and `--labels` are checked before anything starts (exit 2, naming the flag),
/// and a runner name read back from a shared store is shown escaped: another runner, or
/// whoever can write the database, could have written anything there.
#[test]
fn runner_names_and_labels_are_checked_and_shown_escaped() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let cluster = Cluster::shared();
    let db = cluster.fresh_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", cluster.port());
    let rb = fx.write("runbook.yaml", &fx.runbook().yaml());
    let rb = rb.to_str().unwrap();
    for (flag, value, says) in [
        ("--runner", "evil\u{1b}[31m", "control character"),
        ("--runner", &"x".repeat(129)[..], "longer than 128"),
        ("--labels", "Region=eu", "holds 'R'"),
        ("--labels", "region", "is not KEY=VALUE"),
        ("--lease", "0s", "shorter than 1s"),
    ] {
        let out = fx.run(&["schedule", "--state", &url, flag, value, rb]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value:?}: {err}");
        assert!(err.contains(flag) && err.contains(says), "{flag}: {err}");
        assert!(!err.contains('\u{1b}'), "{err}");
    }

    fx.drill(&fx.runbook(), &["--state", &url]).assert_code(0);
    cluster.psql_in(&db, "UPDATE runs SET runner = E'evil\\x1b[2J\\nrow'");
    let out = fx.run(&["history", "--state", &url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text.contains("by evil"), "{text}");
    assert!(
        !text.contains('\u{1b}') && text.lines().count() == 2,
        "{text}"
    );
    let out = fx.run(&["history", "--state", &url, "--json"]);
    assert!(!out.stdout.contains(&0x1b), "{out:?}");
}

/// Several runners on one SQLite file are refused: the second would abandon the first one's
/// running slots as it starts (a SQLite store has one runner; a fleet shares PostgreSQL).
#[test]
fn a_second_runner_on_one_sqlite_file_is_refused() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = Runbook {
        rpo: None,
        extra: "schedule: \"0 2 * * *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("runbook.yaml", &rb.yaml());
    let (first, stderr) = crate::history::start_schedule(&fx, &[path.as_os_str()]);
    wait_until(&fx, &[], 60, "the first runner started", || {
        std::fs::read_to_string(&stderr).is_ok_and(|l| l.contains("lifeboat schedule started"))
    });
    let out = fx.run(&[
        "schedule",
        "--state",
        "state.db",
        "--evidence-dir",
        "evidence",
        path.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another lifeboat schedule is using") && err.contains("postgres://"),
        "{err}"
    );
    drop(first);
}
