//! One storage conformance suite: the same backup sets and the same damage as the
//! foundation tests, drilled from local disk, from S3 (moto, and s3s-fs, which checks
//! signatures) and from Azure Blob (Azurite), with the same verdicts, exit codes, chosen
//! points and per-file reasons everywhere.
//!
//! Each case builds its backup set on disk and damages it, drills it locally, then uploads
//! the very same files to a fresh bucket and container and drills those. The cloud evidence
//! must equal the local one field by field, except for what cannot be equal: timings, run id,
//! the runbook's hash and path, the source URL, host and scratch folder.
//!
//! Then the ways cloud storage fails: a closed port, a missing bucket or container and
//! refused credentials each end the drill with exit 3 within the configured `timeout`, with a
//! reason that says what to check, in the evidence and on stderr. And no credential value
//! ever appears in stdout, stderr or any file of the evidence folder.
//!
//! The servers come from `scripts/servers.sh` (see `lifeboat_testkit::cloud::servers`): a
//! server that cannot be started fails these tests, it never skips them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lifeboat_testkit::cloud::{self, AzureServer, S3Server};
use lifeboat_testkit::{Format, prng};
use serde_json::Value;

use crate::util::{DAY1, DAY2, DAY3, Drill, Fixture, Runbook};

/// A cloud server a drill reads its backup set from (local disk is the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Moto,
    S3sFs,
    Azurite,
}

const CLOUD: [Backend; 3] = [Backend::Moto, Backend::S3sFs, Backend::Azurite];

/// Prefix inside the bucket/container: two levels, so prefix handling is exercised.
const PREFIX: &str = "backups/host-a";

impl Backend {
    fn s3(self) -> Option<&'static S3Server> {
        let s = cloud::servers();
        match self {
            Backend::Moto => Some(&s.moto),
            Backend::S3sFs => Some(&s.s3s),
            _ => None,
        }
    }

    /// Uploads the fixture's source folder to a fresh bucket/container; returns the source
    /// URL and options for a runbook.
    fn upload(self, fx: &Fixture, case: &str) -> (String, Options) {
        let name = cloud::unique_name(case);
        match self {
            Backend::Moto | Backend::S3sFs => {
                let s3 = self.s3().unwrap();
                s3.upload_dir(&name, PREFIX, fx.source());
                (s3.url(&name, PREFIX), s3.options())
            }
            Backend::Azurite => {
                let az = &cloud::servers().azurite;
                az.upload_dir(&name, PREFIX, fx.source());
                (az.url(&name, PREFIX), az.options())
            }
        }
    }
}

/// `source.options` as (key, value) pairs.
type Options = Vec<(&'static str, String)>;
/// Extra environment variables for a drill.
type Env = Vec<(String, String)>;

/// `rb` as YAML with `url` as its source and `options` under `source.options`.
pub(crate) fn runbook_yaml(rb: &Runbook, url: &str, options: &[(&str, String)]) -> String {
    let local = rb.yaml();
    let from = format!("source:\n  url: {}\n", rb.url);
    assert!(local.contains(&from), "runbook layout changed:\n{local}");
    let mut to = format!("source:\n  url: {url}\n");
    if !options.is_empty() {
        to.push_str("  options:\n");
        for (k, v) in options {
            // Double-quoted YAML: keys, base64 and URLs need no escapes but `\` and `"`.
            let v = v.replace('\\', "\\\\").replace('"', "\\\"");
            to.push_str(&format!("    {k}: \"{v}\"\n"));
        }
    }
    local.replacen(&from, &to, 1)
}

/// Drills `yaml` in the fixture, with no `AWS_*` / `AZURE_*` from the developer's shell, and
/// with `env` added (for `${VAR}` options).
pub(crate) fn drill_yaml(
    fx: &Fixture,
    file: &str,
    yaml: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Drill {
    let runbook = fx.write(file, yaml);
    let mut cmd = fx.drill_command(&runbook, args);
    hermetic(&mut cmd);
    cmd.envs(env.iter().copied());
    Drill::new(cmd.output().expect("run lifeboat"), &fx.evidence_dir())
}

/// Removes every variable object_store's `from_env()` would read.
fn hermetic(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("AWS_") || k.starts_with("AZURE_") || k.starts_with("AZURITE_") {
            cmd.env_remove(k.as_ref());
        }
    }
}

/// The evidence without what legitimately differs between backends and runs.
fn comparable(evidence: &Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "run_id",
                    "started_at",
                    "finished_at",
                    "source",
                    "scratch",
                    "host",
                    "rto_seconds",
                    "elapsed_seconds",
                    "duration_seconds",
                ] {
                    map.remove(key);
                }
                if let Some(Value::Object(rb)) = map.get_mut("runbook") {
                    rb.retain(|k, _| k == "name");
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = evidence.clone();
    strip(&mut v);
    // Objectives keep their configured RTO; only the measured one is a timing.
    v["objectives"] = evidence["objectives"].clone();
    v
}

/// Drills the fixture's backup set locally and from every cloud backend, asserts the cloud
/// evidence equals the local evidence (see [`comparable`]), and returns the local drill.
fn conform(fx: &Fixture, case: &str, rb: &Runbook, args: &[&str]) -> Drill {
    // Without a sample, lifeboat draws and records a random seed: fix it so runs compare.
    let mut args = args.to_vec();
    if rb.sample.is_none() {
        args.extend(["--seed", "1"]);
    }
    let args = &args[..];
    let local = drill_yaml(fx, "runbook-local.yaml", &rb.yaml(), args, &[]);
    assert!(
        [0, 1].contains(&local.code),
        "{case}: the local drill itself could not run\n{}",
        local.context()
    );
    let want = comparable(&local.evidence);
    for backend in CLOUD {
        let (url, options) = backend.upload(fx, case);
        let yaml = runbook_yaml(rb, &url, &options);
        let file = format!("runbook-{backend:?}.yaml").to_lowercase();
        let d = drill_yaml(fx, &file, &yaml, args, &[]);
        assert_eq!(
            d.code,
            local.code,
            "{case}: {backend:?} exit code differs from local\n--- local\n{}\n--- {backend:?}\n{}",
            local.context(),
            d.context()
        );
        assert_eq!(
            d.evidence["source"]["url"], url,
            "{case}: {backend:?} evidence names its source"
        );
        let got = comparable(&d.evidence);
        if got != want {
            panic!(
                "{case}: {backend:?} evidence differs from local:\n{}\n--- local\n{}\n--- {backend:?}\n{}",
                diff(&want, &got, "").join("\n"),
                serde_json::to_string_pretty(&want).unwrap(),
                serde_json::to_string_pretty(&got).unwrap()
            );
        }
    }
    local
}

/// Field-by-field differences, one line each, for a readable failure.
fn diff(a: &Value, b: &Value, at: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    diff(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        &format!("{at}.{k}"),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (p, q))| diff(p, q, &format!("{at}[{i}]")))
            .collect(),
        _ if a == b => Vec::new(),
        _ => vec![format!("{at}: local {a} != cloud {b}")],
    }
}

fn file_reason<'d>(d: &'d Drill, point: &str, path: &str) -> &'d str {
    Drill::reason(d.file(point, path))
}

// --- the same backups and the same damage, everywhere ---------------------------------------

#[test]
fn pass_sha256sum() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let d = conform(&fx, "pass-sha256", &fx.runbook(), &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(DAY1).len(), 5);
}

#[test]
fn pass_b3sum_with_a_sample() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::B3sum);
    let rb = Runbook {
        manifest_path: "B3SUMS".into(),
        format: Format::B3sum,
        sample: Some("{files: 3, seed: 7}".into()),
        ..fx.runbook()
    };
    let d = conform(&fx, "pass-b3sum", &rb, &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(DAY1).len(), 3);
    assert_eq!(d.seed(), 7);
}

#[test]
fn flipped_byte() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("data/blob.bin", 1234);
    let d = conform(&fx, "flipped-byte", &fx.runbook(), &[]);
    d.assert_code(1);
    assert!(file_reason(&d, DAY1, "data/blob.bin").contains("hash mismatch"));
}

#[test]
fn flipped_byte_b3sum() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::B3sum)
        .flip_byte("home/alice/docs/notes.md", 0);
    let rb = Runbook {
        manifest_path: "B3SUMS".into(),
        format: Format::B3sum,
        ..fx.runbook()
    };
    let d = conform(&fx, "flipped-byte-b3", &rb, &[]);
    d.assert_code(1);
    assert!(file_reason(&d, DAY1, "home/alice/docs/notes.md").contains("hash mismatch"));
}

#[test]
fn truncated_object() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .truncate("data/blob.bin", 1000);
    let d = conform(&fx, "truncated", &fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.file(DAY1, "data/blob.bin")["bytes"], 1000);
}

#[test]
fn missing_objects() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .remove("etc/app.conf")
        .remove("db/dump.sql");
    let d = conform(&fx, "missing", &fx.runbook(), &[]);
    d.assert_code(1);
    for rel in ["etc/app.conf", "db/dump.sql"] {
        assert!(file_reason(&d, DAY1, rel).contains("missing"), "{rel}");
    }
}

#[test]
fn unsafe_paths() {
    let fx = Fixture::new();
    let p = fx.standard_point(DAY1, Format::Sha256sum);
    // Bait beside the point, where a naive join of `../bait` would read from.
    std::fs::write(fx.source().join("bait"), b"bait\n").unwrap();
    for path in ["../bait", "a/../../bait", "/etc/passwd"] {
        p.append_manifest_line(&p.manifest_line_for(path, b"bait\n"));
    }
    let d = conform(&fx, "unsafe", &fx.runbook(), &[]);
    d.assert_code(1);
    for path in ["../bait", "a/../../bait", "/etc/passwd"] {
        assert!(
            file_reason(&d, DAY1, path).starts_with("unsafe path"),
            "{path}"
        );
    }
}

#[test]
fn corrupt_and_truncated_zstd() {
    let fx = Fixture::new();
    let seed = prng::seed_of(DAY1);
    fx.set
        .point(DAY1)
        .zst_file("db/a.sql", prng::text_bytes(50_000, seed))
        .zst_file("db/b.sql", prng::text_bytes(50_000, seed ^ 1))
        .zst_file("db/c.sql", prng::text_bytes(50_000, seed ^ 2))
        .manifest(Format::Sha256sum)
        .corrupt_zst("db/a.sql")
        .truncate_zst("db/b.sql");
    let d = conform(&fx, "zstd", &fx.runbook(), &[]);
    d.assert_code(1);
    assert!(file_reason(&d, DAY1, "db/a.sql").contains("zstd"));
    assert!(file_reason(&d, DAY1, "db/b.sql").contains("zstd"));
    assert_eq!(d.file(DAY1, "db/c.sql")["outcome"], "passed");
}

#[test]
fn stale_newest_point_misses_the_rpo() {
    let fx = Fixture::new();
    fx.standard_point(DAY3, Format::Sha256sum);
    let d = conform(&fx, "stale", &fx.runbook(), &[]);
    d.assert_code(1);
    assert_eq!(d.measured("recovery_point"), DAY3);
    assert_eq!(d.measured("rpo_met"), false);
}

#[test]
fn fallback_from_a_damaged_newest_point() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    fx.standard_point(DAY2, Format::Sha256sum);
    fx.standard_point(DAY3, Format::Sha256sum);
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let d = conform(&fx, "fallback", &rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2]);
    assert_eq!(d.measured("recovery_point"), DAY2);
}

#[test]
fn select_all_with_a_bad_older_point() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    fx.standard_point(DAY2, Format::Sha256sum)
        .remove("data/blob.bin");
    fx.standard_point(DAY3, Format::Sha256sum);
    // Not a point: no manifest.
    std::fs::create_dir_all(fx.source().join("zzz-incomplete/etc")).unwrap();
    std::fs::write(fx.source().join("zzz-incomplete/etc/x"), "x").unwrap();
    let rb = Runbook {
        select: "all".into(),
        within: Some("7d".into()),
        ..fx.runbook()
    };
    let d = conform(&fx, "select-all", &rb, &[]);
    d.assert_code(1);
    assert_eq!(d.point_ids(), [DAY1, DAY2, DAY3]);
    assert_eq!(d.point(DAY2)["outcome"], "failed");
}

#[test]
fn verify_only() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .corrupt_zst("db/dump.sql");
    let d = conform(&fx, "verify-only", &fx.runbook(), &["--verify-only"]);
    d.assert_code(1);
    assert!(file_reason(&d, DAY1, "db/dump.sql").contains("zstd"));
}

#[test]
fn empty_source_has_no_recovery_point() {
    let fx = Fixture::new();
    // A stray object so the bucket is not empty, but no point holds a manifest.
    std::fs::create_dir_all(fx.source().join(DAY1)).unwrap();
    std::fs::write(fx.source().join(DAY1).join("notes.txt"), "x").unwrap();
    let d = conform(&fx, "no-point", &fx.runbook(), &[]);
    d.assert_code(1);
    assert!(Drill::reason(&d.evidence).contains("no recovery point"));
}

// --- storage that fails: exit 3, in bounded time, with a reason -----------------------------

/// The `timeout` the failure cases configure, and the slack allowed on top of it for
/// starting the binary, writing evidence and the scheduler on a 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(10);

/// Runs a drill that must not complete: exit 3 within TIMEOUT + SLACK, outcome `error`, a
/// reason in the evidence that is also on stderr and contains each of `hints`.
fn cannot_complete(case: &str, url: &str, options: &[(&str, String)], hints: &[&str]) -> Drill {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let mut options = options.to_vec();
    options.push(("timeout", format!("{}s", TIMEOUT.as_secs())));
    let yaml = runbook_yaml(&fx.runbook(), url, &options);
    let start = Instant::now();
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &[]);
    let took = start.elapsed();
    d.assert_code(3);
    assert!(
        took < TIMEOUT + SLACK,
        "{case}: took {took:?}, over the {TIMEOUT:?} timeout + {SLACK:?}\n{}",
        d.context()
    );
    assert_eq!(d.outcome(), "error", "{case}\n{}", d.context());
    let reason = Drill::reason(&d.evidence);
    for hint in hints {
        assert!(
            reason.to_lowercase().contains(&hint.to_lowercase()),
            "{case}: the reason does not mention {hint:?}: {reason}\n{}",
            d.context()
        );
    }
    assert!(
        d.stderr.contains(reason),
        "{case}: stderr does not carry the evidence's reason {reason:?}\n{}",
        d.context()
    );
    d
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn unreachable_s3_endpoint() {
    let s3 = &cloud::servers().moto;
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut options = s3.options();
    options.retain(|(k, _)| *k != "endpoint");
    options.push(("endpoint", endpoint));
    cannot_complete(
        "unreachable S3",
        "s3://lb-unreachable/x",
        &options,
        &["endpoint", "reach"],
    );
}

#[test]
fn unreachable_azure_endpoint() {
    let az = &cloud::servers().azurite;
    let endpoint = format!("http://127.0.0.1:{}/{}", closed_port(), az.account);
    let mut options = az.options();
    options.retain(|(k, _)| *k != "endpoint");
    options.push(("endpoint", endpoint));
    cannot_complete(
        "unreachable Azure",
        "az://lb-unreachable/x",
        &options,
        &["endpoint", "reach"],
    );
}

#[test]
fn missing_bucket_moto() {
    let s3 = &cloud::servers().moto;
    let bucket = cloud::unique_name("never-created");
    cannot_complete(
        "missing bucket (moto)",
        &s3.url(&bucket, PREFIX),
        &s3.options(),
        &["does not exist"],
    );
}

#[test]
fn missing_bucket_s3s() {
    let s3 = &cloud::servers().s3s;
    let bucket = cloud::unique_name("never-created");
    cannot_complete(
        "missing bucket (s3s-fs)",
        &s3.url(&bucket, PREFIX),
        &s3.options(),
        &["does not exist"],
    );
}

#[test]
fn missing_container() {
    let az = &cloud::servers().azurite;
    let container = cloud::unique_name("never-created");
    cannot_complete(
        "missing container",
        &az.url(&container, PREFIX),
        &az.options(),
        &["does not exist"],
    );
}

/// A bucket with a real backup in it, so only the credentials can fail the drill.
fn uploaded_bucket(s3: &S3Server, case: &str) -> String {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let bucket = cloud::unique_name(case);
    s3.upload_dir(&bucket, PREFIX, fx.source());
    bucket
}

fn uploaded_container(az: &AzureServer, case: &str) -> String {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let container = cloud::unique_name(case);
    az.upload_dir(&container, PREFIX, fx.source());
    container
}

fn with_option(mut options: Options, key: &'static str, value: &str) -> Options {
    options.retain(|(k, _)| *k != key);
    options.push((key, value.to_owned()));
    options
}

const WRONG_S3_SECRET: &str = "lbWrongSecretS3xq7Zp4Kd9";
/// Valid base64 (a shared key must be), and not the account's key.
const WRONG_AZURE_KEY: &str = "bGJXcm9uZ0F6dXJlS2V5eHE3WnA0S2Q5bGJXcm9uZ0F6dXJlS2V5eHE3WnA0S2Q5";

#[test]
fn refused_s3_credentials() {
    let s3 = &cloud::servers().s3s;
    let bucket = uploaded_bucket(s3, "refused");
    let options = with_option(s3.options(), "secret_access_key", WRONG_S3_SECRET);
    cannot_complete(
        "wrong S3 secret",
        &s3.url(&bucket, PREFIX),
        &options,
        &["refused", "credentials"],
    );
}

#[test]
fn refused_s3_access_key_id() {
    let s3 = &cloud::servers().s3s;
    let bucket = uploaded_bucket(s3, "refused-id");
    let options = with_option(s3.options(), "access_key_id", "lbUnknownKeyId");
    cannot_complete(
        "unknown S3 access key id",
        &s3.url(&bucket, PREFIX),
        &options,
        &["refused", "credentials"],
    );
}

#[test]
fn refused_azure_key() {
    let az = &cloud::servers().azurite;
    let container = uploaded_container(az, "refused");
    let options = with_option(az.options(), "access_key", WRONG_AZURE_KEY);
    cannot_complete(
        "wrong Azure key",
        &az.url(&container, PREFIX),
        &options,
        &["refused", "credentials"],
    );
}

// --- credentials never leak -----------------------------------------------------------------

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Asserts that none of `secrets` appears in the drill's stdout or stderr, or in any file of
/// the fixture's evidence and scratch folders.
fn assert_no_secret(fx: &Fixture, d: &Drill, secrets: &[&str], case: &str) {
    let mut files = all_files(&fx.evidence_dir());
    assert!(
        !files.is_empty(),
        "{case}: no evidence to search\n{}",
        d.context()
    );
    files.extend(all_files(&fx.scratch_dir()));
    for secret in secrets {
        assert!(secret.len() >= 12, "too short to search for: {secret}");
        assert!(!d.stdout.contains(secret), "{case}: secret on stdout");
        assert!(!d.stderr.contains(secret), "{case}: secret on stderr");
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{case}: secret found in {}", f.display());
        }
    }
}

#[test]
fn secrets_never_appear_in_output_or_evidence() {
    let s = cloud::servers();
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    fx.standard_point(DAY2, Format::Sha256sum);
    let rb = Runbook {
        rpo: Some("3d".into()),
        ..fx.runbook()
    };
    let secrets = [
        s.moto.secret_access_key.as_str(),
        s.s3s.secret_access_key.as_str(),
        s.azurite.key.as_str(),
        WRONG_S3_SECRET,
        WRONG_AZURE_KEY,
    ];
    let bucket_moto = cloud::unique_name("leak-moto");
    let bucket_s3s = cloud::unique_name("leak-s3s");
    let container = cloud::unique_name("leak-az");
    s.moto.upload_dir(&bucket_moto, PREFIX, fx.source());
    s.s3s.upload_dir(&bucket_s3s, PREFIX, fx.source());
    s.azurite.upload_dir(&container, PREFIX, fx.source());

    // Secrets written into the runbook, and secrets read from the environment.
    let via_env = |opts: Options, key: &'static str| {
        with_option(
            opts,
            key,
            &format!("${{LB_TEST_SECRET_{}}}", key.to_uppercase()),
        )
    };
    let short = |opts: Options| with_option(opts, "timeout", "5s");
    // (case, source URL, options, extra environment, expected exit code)
    let runs: Vec<(&str, String, Options, Env, i32)> = vec![
        (
            "moto, inline",
            s.moto.url(&bucket_moto, PREFIX),
            s.moto.options(),
            vec![],
            1,
        ),
        (
            "s3s-fs, from env",
            s.s3s.url(&bucket_s3s, PREFIX),
            via_env(s.s3s.options(), "secret_access_key"),
            vec![(
                "LB_TEST_SECRET_SECRET_ACCESS_KEY".into(),
                s.s3s.secret_access_key.clone(),
            )],
            1,
        ),
        (
            "s3s-fs, refused, inline",
            s.s3s.url(&bucket_s3s, PREFIX),
            short(with_option(
                s.s3s.options(),
                "secret_access_key",
                WRONG_S3_SECRET,
            )),
            vec![],
            3,
        ),
        (
            "s3s-fs, refused, from env",
            s.s3s.url(&bucket_s3s, PREFIX),
            short(via_env(s.s3s.options(), "secret_access_key")),
            vec![(
                "LB_TEST_SECRET_SECRET_ACCESS_KEY".into(),
                WRONG_S3_SECRET.into(),
            )],
            3,
        ),
        (
            "azurite, inline",
            s.azurite.url(&container, PREFIX),
            s.azurite.options(),
            vec![],
            1,
        ),
        (
            "azurite, from env",
            s.azurite.url(&container, PREFIX),
            via_env(s.azurite.options(), "access_key"),
            vec![("LB_TEST_SECRET_ACCESS_KEY".into(), s.azurite.key.clone())],
            1,
        ),
        (
            "azurite, refused",
            s.azurite.url(&container, PREFIX),
            short(with_option(
                s.azurite.options(),
                "access_key",
                WRONG_AZURE_KEY,
            )),
            vec![],
            3,
        ),
        (
            "azurite, missing container",
            s.azurite.url(&cloud::unique_name("leak-missing"), PREFIX),
            short(s.azurite.options()),
            vec![],
            3,
        ),
    ];
    for (i, (case, url, options, env, code)) in runs.into_iter().enumerate() {
        let yaml = runbook_yaml(&rb, &url, &options);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let d = drill_yaml(&fx, &format!("runbook-{i}.yaml"), &yaml, &[], &env);
        assert_eq!(d.code, code, "{case}\n{}", d.context());
        assert_no_secret(&fx, &d, &secrets, case);
    }
}

#[test]
fn azure_scheme_is_a_synonym_of_az() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let az = &cloud::servers().azurite;
    let container = cloud::unique_name("azure-scheme");
    az.upload_dir(&container, PREFIX, fx.source());
    let url = format!("azure://{container}/{PREFIX}");
    let yaml = runbook_yaml(&fx.runbook(), &url, &az.options());
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(DAY1).len(), 5);
}

/// `use_emulator` with an `endpoint` means "Azurite at this address": object_store alone
/// would ignore the endpoint and knock on port 10000.
#[test]
fn use_emulator_honours_the_endpoint() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let az = &cloud::servers().azurite;
    let container = cloud::unique_name("emulator-endpoint");
    az.upload_dir(&container, PREFIX, fx.source());
    let options: Options = vec![
        ("use_emulator", "true".into()),
        ("endpoint", az.endpoint.clone()),
        ("account_name", az.account.clone()),
        ("access_key", az.key.clone()),
    ];
    let yaml = runbook_yaml(&fx.runbook(), &az.url(&container, PREFIX), &options);
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &[]);
    d.assert_code(0);
    assert_eq!(d.file_paths(DAY1).len(), 5);
}

/// With no credentials in the runbook, the standard AWS_* environment applies. s3s-fs checks
/// signatures, so the right pair passes and a wrong secret is refused.
#[test]
fn ambient_aws_credentials_from_the_environment() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let s3 = &cloud::servers().s3s;
    assert!(s3.checks_signatures);
    let bucket = cloud::unique_name("ambient-aws");
    s3.upload_dir(&bucket, PREFIX, fx.source());
    let options: Options = vec![
        ("endpoint", s3.endpoint.clone()),
        ("allow_http", "true".into()),
        ("region", s3.region.clone()),
    ];
    let yaml = runbook_yaml(&fx.runbook(), &s3.url(&bucket, PREFIX), &options);
    let env = |secret: &str| {
        vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), s3.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), secret.to_owned()),
        ]
    };
    let good = env(&s3.secret_access_key);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let d = drill_yaml(&fx, "runbook.yaml", &yaml, &[], &good);
    d.assert_code(0);
    let bad = env("not-the-secret-0123456789");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // A fresh fixture: its own evidence and scratch folders, the same bucket.
    let d = drill_yaml(&Fixture::new(), "runbook.yaml", &yaml, &[], &bad);
    d.assert_code(3);
    assert!(
        d.stderr.contains("refused"),
        "a wrong secret should read as refused access: {}",
        d.stderr
    );
    assert!(!d.stderr.contains("not-the-secret-0123456789"));
}

/// The same for Azure: account and key from AZURE_STORAGE_ACCOUNT_NAME / _KEY.
#[test]
fn ambient_azure_credentials_from_the_environment() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let az = &cloud::servers().azurite;
    let container = cloud::unique_name("ambient-azure");
    az.upload_dir(&container, PREFIX, fx.source());
    let options: Options = vec![
        ("endpoint", az.account_url()),
        ("allow_http", "true".into()),
    ];
    let yaml = runbook_yaml(&fx.runbook(), &az.url(&container, PREFIX), &options);
    let good = [
        ("AZURE_STORAGE_ACCOUNT_NAME", az.account.as_str()),
        ("AZURE_STORAGE_ACCOUNT_KEY", az.key.as_str()),
    ];
    drill_yaml(&fx, "runbook.yaml", &yaml, &[], &good).assert_code(0);
    // A well-formed key that is not the account's.
    let wrong = "bm90LXRoZS1rZXktYnV0LXdlbGwtZm9ybWVkLWJhc2U2NC0wMTIzNDU2Nzg5YWJjZGVm";
    let bad = [
        ("AZURE_STORAGE_ACCOUNT_NAME", az.account.as_str()),
        ("AZURE_STORAGE_ACCOUNT_KEY", wrong),
    ];
    let d = drill_yaml(&Fixture::new(), "runbook.yaml", &yaml, &[], &bad);
    d.assert_code(3);
    assert!(d.stderr.contains("refused"), "{}", d.stderr);
    assert!(!d.stderr.contains(wrong));
}

/// A restic repository made by the real restic CLI, with a flipped byte in the pack only the
/// newest db01 snapshot uses: drilled from local disk, then uploaded as it is to moto, s3s-fs
/// (which checks signatures) and Azurite and drilled from there through the same storage
/// client — the same verdict, points, per-file reasons and digests everywhere.
#[test]
fn restic_repository_with_a_flipped_byte_in_a_pack() {
    const PASSWORD: &str = "conformance-restic-password";
    let fx = Fixture::new();
    let (repo, ids) = lifeboat_testkit::ResticRepo::fleet(&fx.root().join("restic"), PASSWORD);
    let blob = lifeboat_testkit::sha256_hex(b"day 3\n");
    let pack = repo.pack_of(&blob);
    let at = pack.blobs.iter().find(|b| b.id == blob).unwrap();
    repo.flip_pack_byte(&pack.id, at.offset + at.length / 2);
    let yaml = |url: &str, options: &[(&str, String)]| {
        let mut text = format!("version: 1\nname: restic-conformance\nsource:\n  url: {url}\n");
        if !options.is_empty() {
            text.push_str("  options:\n");
            for (k, v) in options {
                let v = v.replace('\\', "\\\\").replace('"', "\\\"");
                text.push_str(&format!("    {k}: \"{v}\"\n"));
            }
        }
        text.push_str(&format!(
            "  format: restic\n  restic:\n    password_file: {}\n    host: db01\n",
            repo.password_file().display()
        ));
        text
    };
    let args = ["--now", "2026-11-21T00:00:00Z", "--seed", "1"];
    let local = drill_yaml(&fx, "local.yaml", &yaml(&repo.url(), &[]), &args, &[]);
    local.assert_code(1);
    assert_eq!(local.point_ids(), [ids[3].as_str(), ids[1].as_str()]);
    assert!(
        file_reason(&local, &ids[3], "/srv/app/a.txt")
            .starts_with("authentication failed (ciphertext changed): chunk 0"),
        "{}",
        local.context()
    );
    let want = comparable(&local.evidence);
    for backend in CLOUD {
        let name = cloud::unique_name("restic-flipped");
        let (url, options) = match backend.s3() {
            Some(s3) => {
                s3.upload_dir(&name, PREFIX, repo.path());
                (s3.url(&name, PREFIX), s3.options())
            }
            None => {
                let az = &cloud::servers().azurite;
                az.upload_dir(&name, PREFIX, repo.path());
                (az.url(&name, PREFIX), az.options())
            }
        };
        let file = format!("restic-{backend:?}.yaml").to_lowercase();
        let d = drill_yaml(&fx, &file, &yaml(&url, &options), &args, &[]);
        assert_eq!(d.code, local.code, "{backend:?}\n{}", d.context());
        let got = comparable(&d.evidence);
        assert!(
            got == want,
            "{backend:?} evidence differs from local:\n{}",
            diff(&want, &got, "").join("\n")
        );
    }
}

/// Scope item 4: restic coverage from object storage. A repository made by the real restic
/// CLI, with a flipped byte in a pack only an older snapshot uses (so the restore test never
/// reads it, only coverage does), drilled with `coverage: {within: 1d}` (every pack each
/// drill) from local disk, then uploaded as it is to moto, s3s-fs and Azurite: each phase
/// lists the packs through the same storage client (the index and one listing of `data/`),
/// reads every one whole, fails the damaged one naming it, and the evidence — coverage
/// section included — is the local one everywhere.
#[test]
fn restic_coverage_reads_every_pack_from_object_storage_as_from_disk() {
    const PASSWORD: &str = "conformance-restic-coverage";
    let fx = Fixture::new();
    let repo = lifeboat_testkit::ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let taken = |day: u32| format!("2026-11-{day:02} 01:00:00");
    repo.backup(
        &taken(19),
        "db01",
        &[],
        &[("srv/old.bin", &prng::random_bytes(64 << 10, 31))],
    );
    let damaged = repo
        .packs()
        .into_iter()
        .find(|p| p.is_data())
        .expect("a data pack")
        .id;
    repo.backup(
        &taken(20),
        "db01",
        &[],
        &[("srv/new.bin", &prng::random_bytes(64 << 10, 32))],
    );
    repo.flip_pack_byte(&damaged, 40);
    let packs = repo.packs().len();
    let yaml = |url: &str, options: &[(&str, String)]| {
        let mut text = format!("version: 1\nname: restic-coverage\nsource:\n  url: {url}\n");
        if !options.is_empty() {
            text.push_str("  options:\n");
            for (k, v) in options {
                let v = v.replace('\\', "\\\\").replace('"', "\\\"");
                text.push_str(&format!("    {k}: \"{v}\"\n"));
            }
        }
        text.push_str(&format!(
            "  format: restic\n  restic:\n    password_file: {}\nrecovery_points:\n  within: 30d\n\
             sample:\n  files: 1\n  seed: 3\ncoverage:\n  within: 1d\n",
            repo.password_file().display()
        ));
        text
    };
    let args = |state: &str| ["--now", "2026-11-21T00:00:00Z", "--state", state].map(String::from);
    let local_args = args("local.db");
    let local_args: Vec<&str> = local_args.iter().map(String::as_str).collect();
    let local = drill_yaml(&fx, "local.yaml", &yaml(&repo.url(), &[]), &local_args, &[]);
    local.assert_code(1);
    let coverage = &local.evidence["coverage"];
    assert_eq!(coverage["objects"], packs as u64, "{}", local.context());
    let verified = coverage["verified"].as_array().unwrap();
    assert_eq!(verified.len(), packs, "{}", local.context());
    let failed: Vec<&Value> = verified
        .iter()
        .filter(|v| v["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", local.context());
    assert_eq!(
        failed[0]["path"],
        format!("data/{}/{damaged}", &damaged[..2]).as_str()
    );
    let want = comparable(&local.evidence);
    for backend in CLOUD {
        let name = cloud::unique_name("restic-coverage");
        let (url, options) = match backend.s3() {
            Some(s3) => {
                s3.upload_dir(&name, PREFIX, repo.path());
                (s3.url(&name, PREFIX), s3.options())
            }
            None => {
                let az = &cloud::servers().azurite;
                az.upload_dir(&name, PREFIX, repo.path());
                (az.url(&name, PREFIX), az.options())
            }
        };
        let file = format!("restic-coverage-{backend:?}.yaml").to_lowercase();
        let state = format!("{backend:?}.db");
        let cloud_args = args(&state);
        let cloud_args: Vec<&str> = cloud_args.iter().map(String::as_str).collect();
        let d = drill_yaml(&fx, &file, &yaml(&url, &options), &cloud_args, &[]);
        assert_eq!(d.code, local.code, "{backend:?}\n{}", d.context());
        let got = comparable(&d.evidence);
        assert!(
            got == want,
            "{backend:?} evidence differs from local:\n{}",
            diff(&want, &got, "").join("\n")
        );
    }
}
