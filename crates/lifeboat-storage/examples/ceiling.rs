//! The ceiling of a storage server: how fast it hands out every object below a prefix when
//! read by parallel ranged GETs with nothing of lifeboat in the way — no manifest, no
//! sampling, no hashing, no scratch, the body of each response drained and dropped.
//! `benches/cloud.sh` times lifeboat's restore and verify-only against the best of these.
//!
//!     cargo run --release -p lifeboat-storage --example ceiling -- \
//!         s3|az ENDPOINT BUCKET PREFIX CONCURRENCY RANGE_MIB
//!
//! Every object below `PREFIX` is cut into ranges of `RANGE_MIB` MiB (a smaller object is one
//! GET of its whole length); `CONCURRENCY` GETs are in flight at once, across objects, in
//! listing order. The HTTP client is object_store's (reqwest), the one lifeboat uses: what
//! this measures is the server plus the client library, the most lifeboat can hope for.
//!
//! Credentials come from the environment, never from the command line (where `ps` shows
//! them): `CEILING_S3_ACCESS_KEY_ID` / `CEILING_S3_SECRET_ACCESS_KEY` for S3,
//! `CEILING_AZ_ACCOUNT` / `CEILING_AZ_KEY` for Azure (an emulator such as Azurite).
//!
//! Prints one line: `bytes seconds client_cpu_seconds requests`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, endpoint, bucket, prefix, concurrency, range_mib] = &args[..] else {
        eprintln!("usage: ceiling s3|az ENDPOINT BUCKET PREFIX CONCURRENCY RANGE_MIB");
        std::process::exit(2);
    };
    let concurrency: usize = concurrency.parse().expect("CONCURRENCY: a whole number");
    let range: u64 = range_mib.parse::<u64>().expect("RANGE_MIB: a whole number") << 20;
    let store = open(kind, endpoint, bucket);

    let prefix = StorePath::from(prefix.as_str());
    let mut objects: Vec<(StorePath, u64)> = store
        .list(Some(&prefix))
        .map_ok(|meta| (meta.location, meta.size))
        .try_collect()
        .await
        .expect("listing the prefix");
    objects.sort();
    let gets: Vec<(StorePath, u64, u64)> = objects
        .iter()
        .flat_map(|(path, size)| {
            (0..(*size).max(1))
                .step_by(range as usize)
                .map(move |start| (path.clone(), start, (start + range).min(*size)))
        })
        .collect();

    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let requests = gets.len();
    let bytes: u64 = futures::stream::iter(gets)
        .map(|(path, start, end)| {
            let store = Arc::clone(&store);
            async move {
                let options = GetOptions {
                    range: Some(GetRange::Bounded(start..end)),
                    ..GetOptions::default()
                };
                let mut body = store
                    .get_opts(&path, options)
                    .await
                    .expect("GET")
                    .into_stream();
                let mut n = 0u64;
                while let Some(chunk) = body.next().await {
                    n += chunk.expect("reading a body").len() as u64;
                }
                assert_eq!(n, end - start, "{path}: short range");
                n
            }
        })
        .buffer_unordered(concurrency)
        .fold(0u64, |sum, n| async move { sum + n })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!("{bytes} {seconds:.3} {cpu:.3} {requests}");
}

fn open(kind: &str, endpoint: &str, bucket: &str) -> Arc<dyn ObjectStore> {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    // No whole-request timeout: a large range must not be cut at 30 s (see NOTES.md).
    let client = ClientOptions::new()
        .with_allow_http(true)
        .with_timeout_disabled();
    match kind {
        "s3" => Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(endpoint)
                .with_region("us-east-1")
                .with_bucket_name(bucket)
                .with_access_key_id(env("CEILING_S3_ACCESS_KEY_ID"))
                .with_secret_access_key(env("CEILING_S3_SECRET_ACCESS_KEY"))
                .with_client_options(client)
                .with_retry(no_retries())
                .build()
                .expect("S3 store"),
        ),
        "az" => {
            let account = env("CEILING_AZ_ACCOUNT");
            Arc::new(
                object_store::azure::MicrosoftAzureBuilder::new()
                    .with_endpoint(format!("{endpoint}/{account}"))
                    .with_account(account)
                    .with_access_key(env("CEILING_AZ_KEY"))
                    .with_container_name(bucket)
                    .with_client_options(client)
                    .with_retry(no_retries())
                    .build()
                    .expect("Azure store"),
            )
        }
        other => panic!("unknown store kind {other}: s3 or az"),
    }
}

/// A ceiling run that needed a retry measured the retry too: fail it instead.
fn no_retries() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 0,
        retry_timeout: Duration::from_secs(1),
        ..object_store::RetryConfig::default()
    }
}

/// User plus system CPU time of this process so far, from /proc (no libc binding needed).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of proc_pid_stat(5), in ticks of USER_HZ (100 on
    // Linux); `rest` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}
