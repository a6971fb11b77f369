//! Invalid runbooks and the exact lines `lifeboat validate` prints for them.

use indoc::indoc;
use test_case::test_case;

use super::errors;

// Keys -------------------------------------------------------------------------------------

#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    manfest:
      path: SHA256SUMS
"}, "rb.yaml:5:1: unknown key `manfest`, expected one of `version`, `name`, `description`, `objectives`, `source`, `recovery_points`, `manifest`, `sample`, `scratch`, `verify_only`, `schedule`, `timezone`, `catch_up`, `start_window`, `jitter`, `steps`, `finally`, `notify`, `coverage`, `runners` (did you mean `manifest`?)" ; "unknown top level key")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample:
      file: 20
"}, "rb.yaml:6:3: sample: unknown key `file`, expected one of `files`, `percent`, `seed`, `always` (did you mean `files`?)" ; "unknown nested key")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [pg_restore, --list, "{scratch}/db.dump"]
        expect_stdot: TABLE
"#}, "rb.yaml:8:5: steps[1]: unknown key `expect_stdot`, expected one of `restore`, `run`, `shell`, `http`, `approve`, `wait`, `name`, `timeout`, `expect_exit`, `expect_stdout`, `unattended`, `env`, `fallback` (did you mean `expect_stdout`?)" ; "unknown key in a step")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - http: {url: "http://127.0.0.1/health", status: 204}
"#}, "rb.yaml:7:44: steps[1].http: unknown key `status`, expected one of `url`, `method`, `expect_status`, `expect_body`, `retries`, `interval`" ; "unknown key in an http step")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
      url: s3://bucket/demo
"}, "rb.yaml:5:3: source: duplicate key `url` (first set at line 4, column 3)" ; "duplicate key")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
      optoins: {}
    manfest: {path: SHA256SUMS}
    objectives: {rto: 2h, rop: 26h}
    name: again
"}, "\
rb.yaml:5:3: source: unknown key `optoins`, expected one of `url`, `options`, `format`, `restic` (did you mean `options`?)
rb.yaml:6:1: unknown key `manfest`, expected one of `version`, `name`, `description`, `objectives`, `source`, `recovery_points`, `manifest`, `sample`, `scratch`, `verify_only`, `schedule`, `timezone`, `catch_up`, `start_window`, `jitter`, `steps`, `finally`, `notify`, `coverage`, `runners` (did you mean `manifest`?)
rb.yaml:7:23: objectives: unknown key `rop`, expected one of `rto`, `rpo` (did you mean `rpo`?)
rb.yaml:8:1: duplicate key `name` (first set at line 2, column 1)" ; "every unknown and duplicate key at once")]
// Shapes and YAML --------------------------------------------------------------------------
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample: 10
"}, "rb.yaml:5:9: sample: expected a map of keys and values, found \"10\"" ; "scalar where a map belongs")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      restore: {}
"}, "rb.yaml:6:3: steps: expected a list, found a map" ; "map where a list belongs")]
#[test_case(indoc! {"
    version: 1
    name: [demo]
    source:
      url: file:///srv/backups/demo
"}, "rb.yaml:2:7: name: expected a single value, found a list" ; "list where a value belongs")]
#[test_case(indoc! {"
    - version: 1
"}, "rb.yaml:1:1: expected a map of keys and values, found a list" ; "document is a list")]
#[test_case(indoc! {r#"
    version: 1
    name: "demo
"#}, "rb.yaml:2:7: unclosed quote" ; "unterminated quote")]
#[test_case("version: 1\nname: demo\nsource:\n\turl: file:///srv/backups/demo\n",
    "rb.yaml:4:2: tabs disallowed within this context (block indentation)" ; "tab indentation")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    ---
    version: 1
"}, "rb.yaml:6:1: a runbook file holds one YAML document, but this one has a second (after `---`)" ; "two documents")]
// Required keys and top-level values -------------------------------------------------------
#[test_case("", "\
rb.yaml:1:1: version: required key is missing: expected `version: 1`
rb.yaml:1:1: name: required key is missing: expected a name matching [a-z0-9][a-z0-9._-]{0,62}, e.g. payments-files
rb.yaml:1:1: source: required key is missing: expected a map with `url`, e.g. `url: file:///srv/backups/payments`" ; "empty file")]
#[test_case(indoc! {"
    name: demo
    source:
      url: file:///srv/backups/demo
"}, "rb.yaml:1:1: version: required key is missing: expected `version: 1`" ; "version missing")]
#[test_case(indoc! {"
    version: 2
    name: demo
    source:
      url: file:///srv/backups/demo
"}, "rb.yaml:1:10: version: unsupported runbook version \"2\": expected 1" ; "version 2")]
#[test_case(indoc! {"
    version: 1
    name: Payments Files
    source:
      url: file:///srv/backups/demo
"}, "rb.yaml:2:7: name: \"Payments Files\" is not a valid runbook name: expected [a-z0-9][a-z0-9._-]{0,62}" ; "bad name")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    verify_only: yes
"}, "rb.yaml:5:14: verify_only: invalid value \"yes\": expected true or false" ; "verify_only not a bool")]
// Durations and objectives -----------------------------------------------------------------
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    objectives:
      rto: 2 hours
"}, "rb.yaml:6:8: objectives.rto: invalid duration \"2 hours\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "bad duration")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    objectives: {rpo: 26}
"}, "rb.yaml:5:19: objectives.rpo: invalid duration \"26\": a unit is required (d, h, m, s), e.g. 26s or 26m" ; "duration without unit")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    objectives: {rto: 0m}
"}, "rb.yaml:5:19: objectives.rto: duration \"0m\" is zero: expected more than 0s" ; "zero objective")]
// Sample -----------------------------------------------------------------------------------
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample:
      files: 20
      percent: 10
"}, "rb.yaml:6:3: sample: set exactly one of `files` and `percent`, not both" ; "files and percent")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample:
      seed: 42
"}, "rb.yaml:6:3: sample: set exactly one of `files` and `percent` (or remove `sample` to verify every file)" ; "neither files nor percent")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample: {percent: 150}
"}, "rb.yaml:5:19: sample.percent: invalid value \"150\": expected a number greater than 0 and at most 100, e.g. 10 or 2.5" ; "percent above 100")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample: {percent: 0}
"}, "rb.yaml:5:19: sample.percent: invalid value \"0\": expected a number greater than 0 and at most 100, e.g. 10 or 2.5" ; "percent zero")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample: {files: 0, seed: -1}
"}, "\
rb.yaml:5:17: sample.files: invalid value \"0\": expected a whole number of files, at least 1
rb.yaml:5:26: sample.seed: invalid value \"-1\": expected a whole number from 0 to 18446744073709551615" ; "files zero and negative seed")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample:
      files: 5
      always: [db/dump.sql, ../etc/passwd, /etc/shadow, \"\", a//b, ./c, db/dump.sql]
"}, "\
rb.yaml:7:25: sample.always[1]: \"../etc/passwd\" has a . or .. segment: expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql
rb.yaml:7:40: sample.always[2]: \"/etc/shadow\" is absolute: expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql
rb.yaml:7:53: sample.always[3]: \"\" is empty: expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql
rb.yaml:7:57: sample.always[4]: \"a//b\" has an empty segment (a leading, trailing or doubled /): expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql
rb.yaml:7:63: sample.always[5]: \"./c\" has a . or .. segment: expected a path relative to the recovery point, as the manifest lists it, e.g. db/dump.sql
rb.yaml:7:68: sample.always[6]: \"db/dump.sql\" is listed twice (first as sample.always[0])" ; "always paths")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/restic
      format: restic
      restic: {password: pw}
    sample:
      files: 5
      always: [/srv/app/db.sql, srv/app/db.sql, /srv/../etc/shadow, //etc/shadow, /, /srv/./a]
"}, "\
rb.yaml:9:29: sample.always[1]: \"srv/app/db.sql\" is relative: expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql
rb.yaml:9:45: sample.always[2]: \"/srv/../etc/shadow\" has a . or .. segment: expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql
rb.yaml:9:65: sample.always[3]: \"//etc/shadow\" has an empty segment (a leading, trailing or doubled /): expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql
rb.yaml:9:79: sample.always[4]: \"/\" is empty: expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql
rb.yaml:9:82: sample.always[5]: \"/srv/./a\" has a . or .. segment: expected a path in the snapshot as `restic ls` prints it, e.g. /srv/app/db/dump.sql" ; "restic always paths without a manifest")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    sample:
      files: 5
      always: db/dump.sql
"}, "rb.yaml:7:11: sample.always: expected a list, found \"db/dump.sql\"" ; "always not a list")]
// Source -----------------------------------------------------------------------------------
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: ftp://backup-host/demo
"}, "rb.yaml:4:8: source.url: scheme \"ftp\" is not supported: expected file://, s3:// or az:// (azure://)" ; "unknown scheme")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: gs://bucket/demo
"}, "rb.yaml:4:8: source.url: scheme \"gs\" (Google Cloud Storage) is not supported: expected file://, s3:// or az:// (azure://)" ; "gcs")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file://backups/demo
"}, "rb.yaml:4:8: source.url: \"file://backups/demo\" names host \"backups\": a file:// source is a folder on this host (mount a remote share and name its mount point); write file:// followed by an absolute path, e.g. file:///srv/backups/payments" ; "relative file url")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: /srv/backups/demo
"}, "rb.yaml:4:8: source.url: \"/srv/backups/demo\" is not a URL: expected file:///ABSOLUTE/PATH, s3://BUCKET[/PREFIX] or az://CONTAINER[/PREFIX]" ; "bare path")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3:///demo
"}, "rb.yaml:4:8: source.url: \"s3:///demo\" names no bucket: expected s3://BUCKET[/PREFIX]" ; "s3 without bucket")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      options: {timeout: 10s}
"}, "rb.yaml:4:3: source.url: required key is missing: expected file:///ABSOLUTE/PATH, s3://BUCKET[/PREFIX] or az://CONTAINER[/PREFIX]" ; "url missing")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        access_key_id: ${AWS_ACCESS_KEY_ID}
        secret_access_key: ${AWS_SECRET_ACCESS_KEY}
        session_token: ${AWS_SESSION_TOKEN}
"}, "rb.yaml:8:20: source.options.session_token: environment variable AWS_SESSION_TOKEN is not set" ; "unset variable")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        secret_access_key: "${AWS_SECRET_ACCESS_KEY}${AWS_SECRET_SUFFIX}-${ROTATION}"
"#}, "\
rb.yaml:6:24: source.options.secret_access_key: environment variable AWS_SECRET_SUFFIX is not set
rb.yaml:6:24: source.options.secret_access_key: environment variable ROTATION is not set" ; "every unset variable of a value")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        secret_access_key: "${AWS_SECRET_ACCESS_KEY"
"#}, "rb.yaml:6:24: source.options.secret_access_key: malformed variable reference: expected ${NAME}, NAME made of letters, digits and _" ; "unterminated variable")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        endpoint: http://minio.internal:9000
"}, "rb.yaml:6:5: source.options.endpoint: a plain http:// endpoint sends requests unencrypted: set `allow_http: true` under source.options to accept that, or use https://" ; "plain http endpoint without allow_http")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: az://container/demo
      options:
        endpoint: HTTP://10.0.0.5:10000/acct
        allow_http: false
"}, "rb.yaml:6:5: source.options.endpoint: a plain http:// endpoint sends requests unencrypted: set `allow_http: true` under source.options to accept that, or use https://" ; "plain http azure endpoint with allow_http false")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        parallel_reads: 0
"}, "rb.yaml:6:21: source.options.parallel_reads: invalid number \"0\": expected a whole number from 1 to 64" ; "parallel reads zero")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: az://container/demo
      options:
        parallel_reads: many
"}, "rb.yaml:6:21: source.options.parallel_reads: invalid number \"many\": expected a whole number from 1 to 64" ; "parallel reads not a number")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups
      options:
        parallel_reads: 4
"}, "rb.yaml:6:5: source.options.parallel_reads: unknown option for file:// sources: expected one of `timeout`, `read_timeout`" ; "parallel reads on a local source")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        regoin: eu-west-1
"}, "rb.yaml:6:5: source.options.regoin: unknown option for s3:// sources: expected one of `timeout`, `read_timeout`, `parallel_reads`, `region`, `endpoint`, `access_key_id`, `secret_access_key`, `session_token`, `allow_http`, `virtual_hosted_style_request`, `skip_signature`, `unsigned_payload`, `checksum_algorithm`, `default_region`, `imdsv1_fallback`, `container_credentials_relative_uri`, `request_payer` (did you mean `region`?)" ; "unknown s3 option")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: azure://container/demo
      options:
        region: westeurope
"}, "rb.yaml:6:5: source.options.region: unknown option for az:// sources: expected one of `timeout`, `read_timeout`, `parallel_reads`, `account_name`, `access_key`, `sas_token`, `bearer_token`, `client_id`, `client_secret`, `tenant_id`, `use_emulator`, `endpoint`, `allow_http`, `use_fabric_endpoint`, `skip_signature`, `msi_endpoint`, `federated_token_file`, `use_azure_cli`" ; "s3 option on azure")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
      options:
        allow_http: true
"}, "rb.yaml:6:5: source.options.allow_http: unknown option for file:// sources: expected one of `timeout`, `read_timeout`" ; "s3 option on file")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        allow_http: yes
        skip_signature: ${NOT_A_BOOL}
        timeout: 30
        checksum_algorithm: md5
        endpoint:
"}, "\
rb.yaml:6:17: source.options.allow_http: invalid value \"yes\": expected true or false
rb.yaml:7:21: source.options.skip_signature: invalid value \"${NOT_A_BOOL}\" (from the environment): expected true or false
rb.yaml:8:14: source.options.timeout: invalid duration \"30\": expected digits followed by a unit (d, h, m, s), more than 0s, e.g. 30s or 2m
rb.yaml:9:25: source.options.checksum_algorithm: unknown value \"md5\": expected one of sha256
rb.yaml:10:13: source.options.endpoint: no value: expected text, a number or true/false" ; "mistyped option values")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: s3://bucket/demo
      options:
        endpoint: [a, b]
"}, "rb.yaml:6:15: source.options.endpoint: expected a single value, found a list" ; "option value is a list")]
// Recovery points and manifest -------------------------------------------------------------
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    recovery_points:
      time_format: "%Y-%m-%d"
"#}, "rb.yaml:6:16: recovery_points.time_format: only used with `time: name`; set `time: name` or remove it" ; "time format with modified")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    recovery_points:
      time: name
      time_format: "%H%M"
"#}, "rb.yaml:7:16: recovery_points.time_format: \"%H%M\" does not hold a full date: expected at least year, month and day, e.g. %Y-%m-%dT%H%M%SZ" ; "time format without date")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    recovery_points: {time: mtime, select: newest, within: 0d}
"}, "\
rb.yaml:5:25: recovery_points.time: unknown value \"mtime\": expected one of name, modified
rb.yaml:5:40: recovery_points.select: unknown value \"newest\": expected one of latest, all
rb.yaml:5:56: recovery_points.within: duration \"0d\" is zero: expected more than 0s" ; "recovery point words")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    manifest: {format: md5sum, path: ../SHA256SUMS}
"}, "\
rb.yaml:5:20: manifest.format: unknown value \"md5sum\": expected one of sha256sum, b3sum, pg_backup_manifest
rb.yaml:5:34: manifest.path: \"../SHA256SUMS\" has a . or .. segment: expected a relative /-separated path inside the recovery point, e.g. SHA256SUMS or meta/SHA256SUMS" ; "manifest format and path")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    scratch: {keep: on_failure}
"}, "rb.yaml:5:17: scratch.keep: unknown value \"on_failure\": expected one of never, on-failure, always" ; "scratch keep")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    scratch: {keep: nevr, sync: fdatasync}
"}, "\
rb.yaml:5:17: scratch.keep: unknown value \"nevr\": expected one of never, on-failure, always
rb.yaml:5:29: scratch.sync: unknown value \"fdatasync\": expected one of file, none" ; "scratch keep and sync both reported")]
// Schedule ---------------------------------------------------------------------------------
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 25 * * *"
"#}, "rb.yaml:5:11: schedule: invalid cron expression \"0 25 * * *\": number out of bounds: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"" ; "cron hour out of range")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 2 * *"
"#}, "rb.yaml:5:11: schedule: invalid cron expression \"0 2 * *\": it has 4 fields: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"" ; "cron with 4 fields")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 0 2 * * * 2027"
"#}, "rb.yaml:5:11: schedule: invalid cron expression \"0 0 2 * * * 2027\": it has 7 fields: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"" ; "cron with a year")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 2 * * *"
    timezone: Europe/Berln
"#}, "rb.yaml:6:11: timezone: unknown time zone \"Europe/Berln\": expected an IANA name such as UTC, Europe/Berlin or America/New_York" ; "bad timezone")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    runners: {region: eu}
"}, "rb.yaml:5:10: runners: only used with `schedule` (it places scheduled drills on runners); add a schedule or remove it" ; "runners without schedule")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: \"0 2 * * *\"
    runners:
      Region: eu
      net: dc 1
      disk:
"}, "\
rb.yaml:7:3: runners: key \"Region\" holds 'R'; keys and values are made of a-z, 0-9, '_', '.' and '-'
rb.yaml:8:8: runners.net: value \"dc 1\" holds ' '; keys and values are made of a-z, 0-9, '_', '.' and '-'
rb.yaml:9:7: runners.disk: no value: expected a label value such as eu" ; "bad runner labels")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: \"0 2 * * *\"
    runners: [eu]
"}, "rb.yaml:6:10: runners: expected a map of keys and values, found a list" ; "runners as a list")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    timezone: Europe/Berlin
"}, "rb.yaml:5:11: timezone: only used with `schedule`; add a schedule or remove it" ; "timezone without schedule")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    catch_up: latest
    start_window: 1h
"}, "\
rb.yaml:5:11: catch_up: only used with `schedule`; add a schedule or remove it
rb.yaml:6:15: start_window: only used with `schedule`; add a schedule or remove it" ; "catch up without schedule")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 2 * * *"
    catch_up: all
"#}, "rb.yaml:6:11: catch_up: unknown value \"all\": expected one of none, latest" ; "catch up unknown policy")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 2 * * *"
    start_window: 0s
"#}, "rb.yaml:6:15: start_window: duration \"0s\" is zero: expected more than 0s" ; "start window zero")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 2 * * *"
    start_window: 30m
    jitter: 30m
"#}, "rb.yaml:7:9: jitter: \"30m\" is not shorter than start_window (30m): a drill delayed that long could miss its own window; shorten jitter or lengthen start_window" ; "jitter not shorter than the start window")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    jitter: 5m
"#}, "rb.yaml:5:9: jitter: only used with `schedule`; add a schedule or remove it" ; "jitter without schedule")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    schedule: "0 25 * * *"
    timezone: Mars/Olympus
    catch_up: latest-ish
    start_window: 2 hours
"#}, "\
rb.yaml:5:11: schedule: invalid cron expression \"0 25 * * *\": number out of bounds: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"
rb.yaml:6:11: timezone: unknown time zone \"Mars/Olympus\": expected an IANA name such as UTC, Europe/Berlin or America/New_York
rb.yaml:7:11: catch_up: unknown value \"latest-ish\": expected one of none, latest
rb.yaml:8:15: start_window: invalid duration \"2 hours\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "every schedule problem at once")]
// Steps ------------------------------------------------------------------------------------
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [curl, -f, "http://127.0.0.1/health"]
        http: {url: "http://127.0.0.1/health"}
"#}, "rb.yaml:7:5: steps[1]: sets `run` and `http`: expected exactly one of restore, run, shell, http, approve, wait" ; "step with two kinds")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - name: check the database
        timeout: 30s
"}, "rb.yaml:7:5: steps[1]: no step kind: expected exactly one of restore, run, shell, http, approve, wait" ; "step without a kind")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: []
"}, "rb.yaml:7:10: steps[1].run: empty command: expected a list of the program and its arguments, e.g. [\"sqlite3\", \"{scratch}/app.db\", \"PRAGMA integrity_check\"]" ; "empty argv")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: pg_restore --list db.dump
"}, "rb.yaml:7:10: steps[1].run: expected a list of the program and its arguments, e.g. [\"sqlite3\", \"{scratch}/app.db\", \"PRAGMA integrity_check\"]; for a command line, use `shell:` instead" ; "argv as a string")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
        timeout: 0s
      - shell: ""
"#}, "\
rb.yaml:7:14: steps[0].timeout: duration \"0s\" is zero: expected more than 0s
rb.yaml:8:12: steps[1].shell: empty command: expected a command line to run with sh -c" ; "zero timeout and empty shell")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [sqlite3, "{scrach}/app.db", "{point}", "${HOME}", "{}"]
      - shell: "ls {scratch} {recovery_point} {recoverypoint}"
"#}, "\
rb.yaml:7:20: steps[1].run[1]: unknown placeholder {scrach}: expected {scratch} or {recovery_point} (did you mean `scratch`?)
rb.yaml:7:39: steps[1].run[2]: unknown placeholder {point}: expected {scratch} or {recovery_point}
rb.yaml:8:12: steps[2].shell: unknown placeholder {recoverypoint}: expected {scratch} or {recovery_point} (did you mean `recovery_point`?)" ; "unknown placeholders")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - restore: {}
"}, "rb.yaml:7:14: steps[1].restore: `restore` appears more than once in `steps` (first at line 6, column 14): each recovery point is restored once" ; "restore twice")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - wait: 10s
"}, "rb.yaml:6:3: steps: no `restore` step: add `- restore: {}` where the sampled files should be restored and verified" ; "no restore")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    finally:
      - restore:
"}, "rb.yaml:6:12: finally[0].restore: not allowed in `finally`: files are restored by the `restore` step in `steps`" ; "restore in finally")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {verify: true}
"}, "rb.yaml:6:15: steps[0].restore: takes no settings, found `verify`: write `restore: {}`" ; "restore with settings")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - http: {url: "ftp://127.0.0.1/health", method: fetch, expect_status: 700, retries: -1, interval: 0s}
        expect_stdout: ok
      - http: {method: GET}
      - http:
"#}, "\
rb.yaml:7:17: steps[1].http.url: \"ftp://127.0.0.1/health\" is not an http:// or https:// URL
rb.yaml:7:51: steps[1].http.method: unknown value \"fetch\": expected one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH
rb.yaml:7:73: steps[1].http.expect_status: invalid value \"700\": expected an HTTP status code from 100 to 599
rb.yaml:7:87: steps[1].http.retries: invalid value \"-1\": expected a whole number of retries, 0 or more
rb.yaml:7:101: steps[1].http.interval: duration \"0s\" is zero: expected more than 0s
rb.yaml:8:20: steps[1].expect_stdout: only applies to `run` and `shell` steps, not `http`
rb.yaml:9:11: steps[2].http.url: required key is missing: expected an http:// or https:// URL
rb.yaml:10:9: steps[3].http: expected a map with at least `url`, e.g. {url: \"http://127.0.0.1:8080/health\"}" ; "bad http steps")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - approve: "  "
      - wait: 10
      - run: [true]
        expect_exit: 256
"#}, "\
rb.yaml:7:14: steps[1].approve: empty prompt: expected the question the operator must confirm, e.g. \"Is DNS pointing at the standby site?\"
rb.yaml:8:11: steps[2].wait: invalid duration \"10\": a unit is required (d, h, m, s), e.g. 10s or 10m
rb.yaml:10:18: steps[3].expect_exit: invalid value \"256\": expected an exit code from 0 to 255" ; "approve wait and exit code")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
        unattended: pass
      - approve: "DNS switched?"
        unattended: yes
      - http: {url: "http://${PROBE_HOST}/health"}
      - http: {url: "${NOT_A_BOOL}127.0.0.1/health"}
"#}, "\
rb.yaml:7:17: steps[0].unattended: only applies to `approve` steps, not `restore`
rb.yaml:9:17: steps[1].unattended: unknown value \"yes\": expected one of pass, fail
rb.yaml:10:17: steps[2].http.url: environment variable PROBE_HOST is not set
rb.yaml:11:17: steps[3].http.url: \"${NOT_A_BOOL}127.0.0.1/health\" (with ${VAR} resolved from the environment) is not an http:// or https:// URL" ; "unattended and http url variables")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
        fallback: false
      - wait: 10s
        fallback: true
      - run: [check-db, app.db]
        fallback: yes
      - http: {url: "http://127.0.0.1/health"}
        fallback: true
    finally:
      - run: [true]
        fallback: false
"#}, "\
rb.yaml:7:15: steps[0].fallback: only applies to `run`, `shell` and `http` steps, not `restore`
rb.yaml:9:15: steps[1].fallback: only applies to `run`, `shell` and `http` steps, not `wait`
rb.yaml:11:15: steps[2].fallback: invalid value \"yes\": expected true or false
rb.yaml:16:15: finally[0].fallback: only applies to `steps`: `finally` runs once, after the recovery points" ; "fallback")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [rm, -rf, "{scratch}/..", "{scratch}/../x", "{scratch}/..data", "{recovery_point}/.."]
      - shell: "cp x {scratch}/../y; ls {scratch}/.hidden"
"#}, "\
rb.yaml:7:20: steps[1].run[2]: `{scratch}/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:7:36: steps[1].run[3]: `{scratch}/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:7:74: steps[1].run[5]: `{recovery_point}/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:8:12: steps[2].shell: `{scratch}/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders" ; "placeholders that climb out of scratch")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [cat, "{scratch}/a/../../etc/passwd", "{scratch}/./..", "{scratch}//..", "{scratch}/a/../b"]
      - shell: "ls \"{scratch}\"/../x {scratch}-old/.."
"#}, "\
rb.yaml:7:16: steps[1].run[1]: `{scratch}/a/../..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:7:48: steps[1].run[2]: `{scratch}/./..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:7:66: steps[1].run[3]: `{scratch}//..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:8:12: steps[2].shell: `{scratch}\"/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders
rb.yaml:8:12: steps[2].shell: `{scratch}-old/..` leads out of the scratch area: a step may only name paths inside it through lifeboat's placeholders" ; "placeholders that climb out of scratch however the path is spelled")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
      - run: [sh, -c, "echo {recovery_point}"]
      - run: [env, A=1, bash, -ec, "cat {scratch}/x", bash, "{scratch}/y"]
      - shell: "python3 -c 'print(1)' {scratch} && psql -d db <<EOF\nselect '{recovery_point}';\nEOF\n"
      - shell: "cat <<'EOF'\n{scratch}\nEOF\necho $(( {recovery_point} ))"
      - http: {url: "http://{recovery_point}.example.com/health"}
      - http: {url: "http://127.0.0.1:8080/{scrach}"}
      - shell: "true"
        env: {BASH_ENV: "{scratch}/env.sh", DATA: "{scratch}/data"}
"#}, "\
rb.yaml:7:19: steps[1].run[2]: {recovery_point} is in code that sh runs: a value from the backup must never become code; let that code read $LIFEBOAT_RECOVERY_POINT from the environment, or pass the value as an argument after the code (a `shell:` step does this for a shell script: its placeholders are references to the environment)
rb.yaml:8:32: steps[2].run[4]: {scratch} is in code that bash runs: a value from the backup must never become code; let that code read $LIFEBOAT_SCRATCH from the environment, or pass the value as an argument after the code (a `shell:` step does this for a shell script: its placeholders are references to the environment)
rb.yaml:9:12: steps[3].shell: {recovery_point} is in a here-document that psql reads as code: a value from the backup must never become code; let that code read $LIFEBOAT_RECOVERY_POINT from the environment
rb.yaml:10:12: steps[4].shell: {scratch} is in a here-document whose delimiter is quoted (<<'EOF'), where the shell expands nothing: write <<EOF for the value to expand
rb.yaml:10:12: steps[4].shell: {recovery_point} is in an arithmetic expansion $((...)), where a shell evaluates the value as an expression (bash runs commands in it): compare it as text instead, e.g. [ \"{recovery_point}\" = 3 ]
rb.yaml:11:17: steps[5].http.url: {recovery_point} is in the URL's host: a value from the backup must not choose where lifeboat connects; put it in the path or the query, where it is percent-encoded
rb.yaml:12:17: steps[6].http.url: unknown placeholder {scrach}: expected {scratch} or {recovery_point} (did you mean `scratch`?)
rb.yaml:14:21: steps[7].env.BASH_ENV: {scratch} is in a variable whose value shells expand as code (BASH_ENV, ENV, the prompts): a value from the backup must never become code; name a file the runbook controls" ; "placeholders where a value would become code or choose a host")]
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    steps:
      - restore: {}
        env: {A: b}
      - run: [psql]
        env:
          1X: a
          LIFEBOAT_SCRATCH: /tmp
          PGPASSWORD: "${DB_PASSWORD}"
          DATA: "{scrach}/db"
          EMPTY:
"#}, "\
rb.yaml:7:10: steps[0].env: only applies to `run` and `shell` steps, not `restore`
rb.yaml:10:7: steps[1].env: \"1X\" is not a variable name: expected letters, digits and _, not starting with a digit
rb.yaml:11:7: steps[1].env.LIFEBOAT_SCRATCH: set by lifeboat for every step; choose another name
rb.yaml:12:19: steps[1].env.PGPASSWORD: environment variable DB_PASSWORD is not set
rb.yaml:13:13: steps[1].env.DATA: unknown placeholder {scrach}: expected {scratch} or {recovery_point} (did you mean `scratch`?)
rb.yaml:14:12: steps[1].env.EMPTY: no value: expected text" ; "bad env of a run step")]
// Notify -----------------------------------------------------------------------------------
#[test_case(indoc! {r#"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    notify:
      - webhook: "https://hooks.example.com/T000/B000"
        on: [failed, erorr, passed]
      - on: []
      - webhook: "hooks.example.com/SECRET-TOKEN"
      - webhook: "${WEBHOOK_URL}/${WEBHOOK_CHANNEL}"
"#}, "\
rb.yaml:7:18: notify[0].on[1]: unknown value \"erorr\": expected one of passed, failed, error
rb.yaml:8:5: notify[1].webhook: required key is missing: expected an http:// or https:// URL
rb.yaml:8:9: notify[1].on: empty list: expected one or more of passed, failed, error
rb.yaml:9:14: notify[2].webhook: expected an http:// or https:// URL (value not shown: webhook URLs often hold tokens)
rb.yaml:10:14: notify[3].webhook: environment variable WEBHOOK_CHANNEL is not set" ; "bad notify")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    coverage:
      budget: 200GB
"}, "\
rb.yaml:6:3: coverage.within: required key is missing: expected a duration such as 30d
rb.yaml:6:11: coverage.budget: invalid size \"200GB\": expected a whole number above 0 followed by one of B, KiB, MiB, GiB, TiB, e.g. 200GiB" ; "coverage without within, budget in the wrong unit")]
#[test_case(indoc! {"
    version: 1
    name: demo
    source:
      url: file:///srv/backups/demo
    coverage: {within: 0s, budget: 0GiB}
"}, "\
rb.yaml:5:20: coverage.within: duration \"0s\" is zero: expected more than 0s
rb.yaml:5:32: coverage.budget: invalid size \"0GiB\": expected a whole number above 0 followed by one of B, KiB, MiB, GiB, TiB, e.g. 200GiB" ; "coverage of nothing")]
fn refused(text: &str, expected: &str) {
    assert_eq!(errors(text), expected);
}

/// Semantic problems are all reported together, in file order, each at its own value.
#[test]
fn reports_every_problem_at_once() {
    let text = indoc! {r#"
        version: 1
        name: Payments
        objectives:
          rto: 2 hours
          rpo: 26h
        source:
          url: s3://payments-backups/files
          options:
            region: eu-central-1
            secret_access_key: ${AWS_SECRET_ACCESS_KEY}
            session_token: ${AWS_SESSION_TOKEN}
        sample:
          files: 20
          percent: 10
        steps:
          - restore: {}
          - run: [sqlite3, "{scrach}/app.db", "PRAGMA integrity_check"]
            timeout: 0s
        notify:
          - webhook: "https://hooks.example.com/T000/B000"
            on: [broken]
    "#};
    assert_eq!(
        errors(text),
        "\
rb.yaml:2:7: name: \"Payments\" is not a valid runbook name: expected [a-z0-9][a-z0-9._-]{0,62}
rb.yaml:4:8: objectives.rto: invalid duration \"2 hours\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m
rb.yaml:11:20: source.options.session_token: environment variable AWS_SESSION_TOKEN is not set
rb.yaml:13:3: sample: set exactly one of `files` and `percent`, not both
rb.yaml:17:20: steps[1].run[1]: unknown placeholder {scrach}: expected {scratch} or {recovery_point} (did you mean `scratch`?)
rb.yaml:18:14: steps[1].timeout: duration \"0s\" is zero: expected more than 0s
rb.yaml:21:10: notify[0].on[0]: unknown value \"broken\": expected one of passed, failed, error"
    );
}

/// A secret resolved from the environment never reaches a message, whatever else is wrong
/// with the value or its neighbours.
#[test]
fn resolved_values_never_appear_in_messages() {
    let text = indoc! {r#"
        version: 1
        name: demo
        source:
          url: s3://bucket/demo
          options:
            access_key_id: ${AWS_ACCESS_KEY_ID}
            secret_access_key: ${AWS_SECRET_ACCESS_KEY}
            allow_http: ${AWS_SECRET_ACCESS_KEY}
            timeout: ${AWS_ACCESS_KEY_ID}
            checksum_algorithm: ${AWS_SECRET_ACCESS_KEY}
            skip_signature: ${NOT_A_BOOL}
            regoin: ${AWS_SECRET_ACCESS_KEY}
        notify:
          - webhook: "${WEBHOOK_URL}"
            on: [sometimes]
    "#};
    // `errors` fails on any of the fixed secrets; "sometimes" is NOT_A_BOOL's value.
    let err = errors(text);
    let bool_line = err
        .lines()
        .find(|l| l.contains("skip_signature"))
        .expect("skip_signature is reported");
    assert!(!bool_line.contains("sometimes"), "{bool_line}");
    assert_eq!(err.lines().count(), 6, "{err}");
}
