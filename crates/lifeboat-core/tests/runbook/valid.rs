//! Valid runbooks and the exact `Runbook` each parses to, defaults filled in.

use std::collections::BTreeMap;
use std::time::Duration;

use indoc::indoc;
use lifeboat_core::evidence::Outcome;
use lifeboat_core::runbook::{
    CatchUp, Command, CoverageSpec, EnvVar, Keep, ManifestFormat, ManifestSpec, NotifySpec,
    Objectives, PointTime, Position, RecoveryPointsSpec, Runbook, SampleSize, SampleSpec,
    ScheduleSpec, ScratchSpec, ScratchSync, Select, SourceFormat, SourceKind, SourceSpec, Step,
    StepKind,
};

use super::parse;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn restore() -> Step {
    Step {
        name: None,
        timeout: None,
        kind: StepKind::Restore,
        fallback: None,
    }
}

/// The example runbook of the project's interface page, verbatim.
const INTERFACE_EXAMPLE: &str = indoc! {r#"
    version: 1
    name: payments-files            # [a-z0-9][a-z0-9._-]{0,62}; names the evidence folder
    description: optional text
    objectives:
      rto: 2h                       # durations: 90s, 30m, 2h, 1d, 1h30m
      rpo: 26h
    source:
      url: file:///srv/backups/payments   # or s3://BUCKET/PREFIX, az://CONTAINER/PREFIX
      options: {}                   # storage settings (endpoint, region, allow_http, ...); "${VAR}" reads the environment
    recovery_points:
      time: name                    # name | modified (default: modified)
      time_format: "%Y-%m-%dT%H%M%SZ"   # strftime, with `time: name`; default RFC 3339
      select: latest                # latest (falls back to older points on failure) | all
      within: 30d                   # optional: ignore points older than this, counted back from T0
    manifest:
      path: SHA256SUMS              # relative to each recovery point
      format: sha256sum             # sha256sum | b3sum
    sample:                         # optional; default: every file in the manifest
      files: 20                     # or `percent: 10` (rounded up, at least 1); exactly one of the two
      seed: 42                      # optional; a random seed is chosen and recorded when absent
    scratch:
      keep: never                   # never | on-failure | always
    schedule: "0 2 * * *"           # optional: POSIX cron, 5 fields (6 with seconds); for `lifeboat schedule`
    timezone: Europe/Berlin         # optional IANA zone for `schedule`; default UTC
    steps:                          # optional; default: [ {restore: {}} ]
      - restore: {}
      - run: ["sqlite3", "{scratch}/app.db", "PRAGMA integrity_check"]
        expect_stdout: "ok"
        timeout: 30s
      - http: { url: "http://127.0.0.1:8080/health", expect_status: 200, retries: 5, interval: 2s }
      - approve: "Is DNS pointing at the standby site?"
      - wait: 10s
    finally:                        # optional; always run
      - run: ["rm", "-f", "{scratch}/app.db-wal"]
    notify:                         # optional
      - webhook: "https://hooks.example.com/T000/B000"
        on: [failed, error]
"#};

#[test]
fn interface_example() {
    let expected = Runbook {
        name: "payments-files".into(),
        description: Some("optional text".into()),
        objectives: Objectives {
            rto: Some(secs(2 * 3600)),
            rpo: Some(secs(26 * 3600)),
        },
        source: SourceSpec {
            url: "file:///srv/backups/payments".into(),
            kind: SourceKind::File,
            options: BTreeMap::new(),
        },
        format: SourceFormat::Files,
        recovery_points: RecoveryPointsSpec {
            time: PointTime::Name {
                format: Some("%Y-%m-%dT%H%M%SZ".into()),
            },
            select: Select::Latest,
            within: Some(secs(30 * 86_400)),
        },
        manifest: ManifestSpec {
            path: "SHA256SUMS".into(),
            format: ManifestFormat::Sha256sum,
        },
        sample: Some(SampleSpec {
            size: SampleSize::Files(20),
            seed: Some(42),
            always: Vec::new(),
        }),
        scratch: ScratchSpec {
            keep: Keep::Never,
            sync: ScratchSync::File,
        },
        verify_only: false,
        schedule: Some(ScheduleSpec {
            cron: "0 2 * * *".into(),
            timezone: "Europe/Berlin".into(),
            catch_up: CatchUp::None,
            start_window: secs(3600),
            jitter: secs(0),
        }),
        runners: Default::default(),
        steps: vec![
            restore(),
            Step {
                name: None,
                timeout: Some(secs(30)),
                kind: StepKind::Run {
                    command: Command::Argv(vec![
                        "sqlite3".into(),
                        "{scratch}/app.db".into(),
                        "PRAGMA integrity_check".into(),
                    ]),
                    expect_exit: 0,
                    expect_stdout: Some("ok".into()),
                    env: vec![],
                },
                fallback: None,
            },
            Step {
                name: None,
                timeout: None,
                kind: StepKind::Http {
                    url: "http://127.0.0.1:8080/health".into(),
                    url_template: "http://127.0.0.1:8080/health".into(),
                    method: "GET".into(),
                    expect_status: 200,
                    expect_body: None,
                    retries: 5,
                    interval: secs(2),
                },
                fallback: None,
            },
            Step {
                name: None,
                timeout: None,
                kind: StepKind::Approve {
                    prompt: "Is DNS pointing at the standby site?".into(),
                    unattended: None,
                    at: Position {
                        line: 31,
                        column: 14,
                    },
                },
                fallback: None,
            },
            Step {
                name: None,
                timeout: None,
                kind: StepKind::Wait(secs(10)),
                fallback: None,
            },
        ],
        finally: vec![Step {
            name: None,
            timeout: None,
            kind: StepKind::Run {
                command: Command::Argv(vec![
                    "rm".into(),
                    "-f".into(),
                    "{scratch}/app.db-wal".into(),
                ]),
                expect_exit: 0,
                expect_stdout: None,
                env: vec![],
            },
            fallback: None,
        }],
        notify: vec![NotifySpec {
            webhook: "https://hooks.example.com/T000/B000".into(),
            webhook_template: "https://hooks.example.com/T000/B000".into(),
            on: vec![Outcome::Failed, Outcome::Error],
        }],
        coverage: None,
    };
    assert_eq!(parse(INTERFACE_EXAMPLE), Ok(expected));
}

#[test]
fn minimal_runbook_gets_every_default() {
    let text = indoc! {"
        version: 1
        name: minimal
        source:
          url: file:///srv/backups/minimal
    "};
    let expected = Runbook {
        name: "minimal".into(),
        description: None,
        objectives: Objectives::default(),
        source: SourceSpec {
            url: "file:///srv/backups/minimal".into(),
            kind: SourceKind::File,
            options: BTreeMap::new(),
        },
        format: SourceFormat::Files,
        recovery_points: RecoveryPointsSpec {
            time: PointTime::Modified,
            select: Select::Latest,
            within: None,
        },
        manifest: ManifestSpec {
            path: "SHA256SUMS".into(),
            format: ManifestFormat::Sha256sum,
        },
        sample: None,
        scratch: ScratchSpec {
            keep: Keep::Never,
            sync: ScratchSync::File,
        },
        verify_only: false,
        schedule: None,
        runners: Default::default(),
        steps: vec![restore()],
        finally: vec![],
        notify: vec![],
        coverage: None,
    };
    assert_eq!(parse(text), Ok(expected));
}

#[test]
fn coverage_takes_a_window_and_an_optional_budget() {
    let with = |extra: &str| {
        parse(&format!(
            "version: 1\nname: c\nsource:\n  url: file:///srv/b\n{extra}"
        ))
        .unwrap()
        .coverage
    };
    assert_eq!(
        with("coverage:\n  within: 30d\n  budget: 200GiB\n"),
        Some(CoverageSpec {
            within: secs(30 * 86400),
            budget: Some(200 << 30),
        })
    );
    assert_eq!(
        with("coverage: {within: 7d}\n"),
        Some(CoverageSpec {
            within: secs(7 * 86400),
            budget: None,
        })
    );
    assert_eq!(with(""), None);
}

#[test]
fn s3_source_options_are_resolved_and_normalized() {
    let text = indoc! {r#"
        version: 1
        name: s3-db
        source:
          url: s3://db-backups/nightly
          options:
            region: eu-central-1
            endpoint: "http://127.0.0.1:9000"
            access_key_id: ${AWS_ACCESS_KEY_ID}
            secret_access_key: "prefix-${AWS_SECRET_ACCESS_KEY}"
            allow_http: ${ALLOW_HTTP}
            skip_signature: False
            timeout: 2m
            checksum_algorithm: SHA256
    "#};
    let source = parse(text).unwrap().source;
    assert_eq!(source.kind, SourceKind::S3);
    assert_eq!(source.url, "s3://db-backups/nightly");
    let options: Vec<(&str, &str)> = source
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        options,
        [
            ("access_key_id", "AKIA-TEST-ID"),
            ("allow_http", "true"),
            ("checksum_algorithm", "sha256"),
            ("endpoint", "http://127.0.0.1:9000"),
            ("region", "eu-central-1"),
            ("secret_access_key", "prefix-s3cr3t-access-key"),
            ("skip_signature", "false"),
            ("timeout", "2m"),
        ]
    );
}

#[test]
fn other_spellings_and_defaults() {
    let text = indoc! {r#"
        version: 1
        name: archive.v2_eu-1
        source:
          url: azure://archive/monthly/
          options: {use_emulator: true, read_timeout: 1m}
        recovery_points: {time: name, select: all}
        manifest: {format: b3sum}
        sample: {percent: 2.5}
        scratch: {keep: on-failure, sync: none}
        verify_only: true
        schedule: "30 15 3 * * 1-5"
        steps:
          - name: warm up
            wait: 1m30s
          - restore:
            timeout: 2h
          - shell: "psql -f {scratch}/check.sql | grep -q ok && echo ${HOME}"
            expect_exit: 3
          - http: {url: "https://standby.example.com/ready", method: head, expect_body: ready}
        notify:
          - webhook: "${WEBHOOK_URL}"
            on: [passed, passed, error]
    "#};
    let r = parse(text).unwrap();
    assert_eq!(r.name, "archive.v2_eu-1");
    assert_eq!(r.source.kind, SourceKind::Azure);
    assert_eq!(
        r.recovery_points,
        RecoveryPointsSpec {
            time: PointTime::Name { format: None },
            select: Select::All,
            within: None,
        }
    );
    assert_eq!(
        r.manifest,
        ManifestSpec {
            path: "B3SUMS".into(),
            format: ManifestFormat::B3sum,
        }
    );
    assert_eq!(
        r.sample,
        Some(SampleSpec {
            size: SampleSize::Percent(2.5),
            seed: None,
            always: Vec::new(),
        })
    );
    assert_eq!(r.scratch.keep, Keep::OnFailure);
    assert_eq!(r.scratch.sync, ScratchSync::None);
    assert!(r.verify_only);
    assert_eq!(
        r.schedule,
        Some(ScheduleSpec {
            cron: "30 15 3 * * 1-5".into(),
            timezone: "UTC".into(),
            catch_up: CatchUp::None,
            start_window: secs(3600),
            jitter: secs(0),
        })
    );
    assert_eq!(
        r.steps,
        [
            Step {
                name: Some("warm up".into()),
                timeout: None,
                kind: StepKind::Wait(secs(90)),
                fallback: None,
            },
            Step {
                name: None,
                timeout: Some(secs(7200)),
                kind: StepKind::Restore,
                fallback: None,
            },
            Step {
                name: None,
                timeout: None,
                kind: StepKind::Run {
                    command: Command::Shell {
                        text: "psql -f {scratch}/check.sql | grep -q ok && echo ${HOME}".into(),
                        // What `sh -c` runs: a reference to the value, never the value.
                        script:
                            "psql -f \"${LIFEBOAT_SCRATCH}\"/check.sql | grep -q ok && echo ${HOME}"
                                .into(),
                    },
                    expect_exit: 3,
                    expect_stdout: None,
                    env: vec![],
                },
                fallback: None,
            },
            Step {
                name: None,
                timeout: None,
                kind: StepKind::Http {
                    url: "https://standby.example.com/ready".into(),
                    url_template: "https://standby.example.com/ready".into(),
                    method: "HEAD".into(),
                    expect_status: 200,
                    expect_body: Some("ready".into()),
                    retries: 0,
                    interval: secs(1),
                },
                fallback: None,
            },
        ]
    );
    assert_eq!(
        r.notify,
        [NotifySpec {
            webhook: "https://hooks.example.com/SECRET-TOKEN".into(),
            webhook_template: "${WEBHOOK_URL}".into(),
            on: vec![Outcome::Passed, Outcome::Error],
        }]
    );
}

#[test]
fn yaml_anchors_and_merge_keys_work() {
    let text = indoc! {r#"
        version: 1
        name: anchors
        source:
          url: file:///srv/backups/anchors
        steps:
          - restore: {}
          - &check
            run: [sqlite3, "{scratch}/app.db", "PRAGMA quick_check"]
            expect_stdout: ok
        finally:
          - <<: *check
            name: check again
    "#};
    let r = parse(text).unwrap();
    let StepKind::Run { command, .. } = &r.finally[0].kind else {
        panic!("finally[0] is {:?}", r.finally[0]);
    };
    assert_eq!(r.finally[0].name.as_deref(), Some("check again"));
    assert_eq!(r.steps[1].kind, r.finally[0].kind);
    assert_eq!(
        command,
        &Command::Argv(vec![
            "sqlite3".into(),
            "{scratch}/app.db".into(),
            "PRAGMA quick_check".into()
        ])
    );
}

#[test]
fn schedule_helpers_use_the_validated_reading() {
    let r = parse(INTERFACE_EXAMPLE).unwrap();
    let schedule = r.schedule.unwrap();
    let zone = schedule.time_zone().unwrap();
    assert_eq!(zone.iana_name(), Some("Europe/Berlin"));
    let start = jiff::civil::date(2026, 3, 28)
        .at(12, 0, 0, 0)
        .to_zoned(zone)
        .unwrap();
    let next = schedule
        .to_cron()
        .unwrap()
        .find_next_occurrence(&start, false)
        .unwrap();
    // 02:00 on the day clocks spring forward in Berlin does not exist; croner runs once
    // that day rather than skipping it.
    assert_eq!(next.date(), jiff::civil::date(2026, 3, 29));
}

#[test]
fn point_times_from_names() {
    use lifeboat_core::runbook::point_time_from_name;
    assert_eq!(
        point_time_from_name(Some("%Y-%m-%dT%H%M%SZ"), "2026-11-21T020000Z")
            .unwrap()
            .to_string(),
        "2026-11-21T02:00:00Z"
    );
    assert!(point_time_from_name(None, "nightly-42").is_err());
}

#[test]
fn parse_bytes_accepts_what_parse_accepts() {
    assert_eq!(
        lifeboat_core::runbook::parse_bytes(INTERFACE_EXAMPLE.as_bytes(), "rb.yaml", &super::env),
        parse(INTERFACE_EXAMPLE)
    );
}

#[test]
fn durations_round_trip_through_the_public_api() {
    use lifeboat_core::duration;
    for (text, canonical) in [
        ("26h", "1d2h"),
        ("90s", "1m30s"),
        ("1h30m", "1h30m"),
        ("0s", "0s"),
    ] {
        let d = duration::parse(text).unwrap();
        assert_eq!(duration::format(d), canonical);
        assert_eq!(duration::parse(canonical), Ok(d));
    }
}

#[test_case::test_case("0 2 * * *" ; "five fields")]
#[test_case::test_case("30 0 2 * * *" ; "six fields with seconds first")]
#[test_case::test_case("*/15 9-17 * * MON-FRI" ; "steps ranges and names")]
#[test_case::test_case("0 0 1 JAN,JUL *" ; "month names")]
#[test_case::test_case("@daily" ; "nickname")]
fn cron_spellings(cron: &str) {
    let text = format!(
        "version: 1\nname: cron\nsource:\n  url: file:///srv/b\nschedule: \"{cron}\"\ntimezone: America/New_York\n"
    );
    let schedule = parse(&text).unwrap().schedule.unwrap();
    assert_eq!(schedule.cron, cron);
    assert_eq!(schedule.timezone, "America/New_York");
    assert!(schedule.to_cron().is_ok());
}

#[test]
fn catch_up_start_window_and_jitter() {
    let r = parse(indoc! {r#"
        version: 1
        name: nightly
        source:
          url: file:///srv/b
        schedule: "0 2 * * *"
        timezone: America/New_York
        catch_up: latest
        start_window: 2h30m
        jitter: 10m
    "#})
    .unwrap();
    assert_eq!(
        r.schedule,
        Some(ScheduleSpec {
            cron: "0 2 * * *".into(),
            timezone: "America/New_York".into(),
            catch_up: CatchUp::Latest,
            start_window: secs(9000),
            jitter: secs(600),
        })
    );
    assert_eq!(CatchUp::Latest.as_str(), "latest");
}

#[test]
fn catch_up_none_written_out_is_the_default() {
    let r = parse(indoc! {r#"
        version: 1
        name: nightly
        source:
          url: file:///srv/b
        schedule: "0 2 * * *"
        catch_up: none
    "#})
    .unwrap();
    let s = r.schedule.unwrap();
    assert_eq!(s.catch_up, CatchUp::None);
    assert_eq!(s.start_window, lifeboat_core::runbook::DEFAULT_START_WINDOW);
}

#[test]
fn run_step_env_keeps_the_template_beside_the_resolved_value() {
    let r = parse(indoc! {r#"
        version: 1
        name: env
        source:
          url: file:///srv/backups/env
        steps:
          - restore: {}
          - shell: "psql -c 'select 1'"
            env:
              PGPASSWORD: "${WEBHOOK_URL}"
              PGDATA: "{scratch}/pg"
    "#})
    .unwrap();
    let StepKind::Run { env, .. } = &r.steps[1].kind else {
        panic!("{:?}", r.steps[1]);
    };
    assert_eq!(
        env,
        &[
            EnvVar {
                name: "PGPASSWORD".into(),
                value: "https://hooks.example.com/SECRET-TOKEN".into(),
                template: "${WEBHOOK_URL}".into(),
            },
            EnvVar {
                name: "PGDATA".into(),
                value: "{scratch}/pg".into(),
                template: "{scratch}/pg".into(),
            },
        ]
    );
}

/// `sample.always`: the files every drill verifies on top of the sample, kept in the order
/// written; a name with spaces or a backslash is a name like any other.
#[test]
fn sample_always_lists_files_verified_in_every_drill() {
    let r = parse(indoc! {r#"
        version: 1
        name: always
        source:
          url: file:///srv/backups/always
        sample:
          files: 5
          always:
            - db/dump.sql
            - "etc/with space.conf"
            - 'odd\name'
    "#})
    .unwrap();
    assert_eq!(
        r.sample,
        Some(SampleSpec {
            size: SampleSize::Files(5),
            seed: None,
            always: vec![
                "db/dump.sql".into(),
                "etc/with space.conf".into(),
                "odd\\name".into(),
            ],
        })
    );
}
