//! Measures what `source.options.parallel_reads` buys: one 256 MiB object read (and hashed
//! with BLAKE3, as a drill does) from a real S3 server (moto) and a real Azure one (Azurite),
//! directly on loopback and through a link capped per connection with added latency, the way
//! a real cloud link behaves and a loopback server does not.
//!
//!     cargo run --release -p lifeboat-storage --example ranged_reads [-- RATE_MB_S LATENCY_MS REPS]
//!
//! Prints the median of REPS (default 5) reads per setting, settings alternated.

#[allow(dead_code)] // the fault-injection half of the proxy serves the tests
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lifeboat_storage::{Object, Source, SourceKind, SourceSpec};
use object_store::{ObjectStoreExt, PutPayload};
use support::proxy::{Faults, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SIZE: usize = 256 << 20;

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let rate_mb = args.first().copied().unwrap_or(60);
    let latency = Duration::from_millis(args.get(1).copied().unwrap_or(20));
    let reps = args.get(2).copied().unwrap_or(5) as usize;
    let servers = support::servers();
    let data = payload();

    let moto: SocketAddr = format!("127.0.0.1:{}", servers.get("LIFEBOAT_MOTO_PORT"))
        .parse()
        .unwrap();
    let azurite: SocketAddr = format!("127.0.0.1:{}", servers.get("LIFEBOAT_AZURITE_PORT"))
        .parse()
        .unwrap();
    let account = servers.get("LIFEBOAT_AZURITE_ACCOUNT").to_owned();
    let key = servers.get("LIFEBOAT_AZURITE_KEY").to_owned();
    upload_s3(moto, &data).await;
    upload_azure(azurite, &account, &key, &data).await;

    let capped = Faults {
        rate: rate_mb * 1_000_000,
        latency,
        ..Faults::cut("-", 0, 0)
    };
    let none = Faults::cut("-", 0, 0);
    println!(
        "256 MiB object, BLAKE3 while reading, median of {reps}; link cap {rate_mb} MB/s per connection, {} ms per request",
        latency.as_millis()
    );
    println!(
        "{:<8} {:<10} {:>9} {:>9}",
        "server", "link", "parallel", "MB/s"
    );
    for (server, addr) in [("moto", moto), ("azurite", azurite)] {
        for (link, faults) in [("loopback", &none), ("capped", &capped)] {
            let proxy = Proxy::start(addr, faults.clone()).await;
            let settings = [1usize, 2, 4, 8];
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); settings.len()];
            for _ in 0..reps {
                for (i, parallel) in settings.iter().enumerate() {
                    let src = if server == "moto" {
                        s3_source(&proxy.url(), *parallel)
                    } else {
                        azure_source(&proxy.url(), &account, &key, *parallel)
                    };
                    times[i].push(read(&src).await);
                }
            }
            for (i, parallel) in settings.iter().enumerate() {
                let t = median(&mut times[i]);
                println!(
                    "{server:<8} {link:<10} {parallel:>9} {:>9.0}",
                    SIZE as f64 / t / 1e6
                );
            }
        }
    }
}

fn payload() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(SIZE);
    while out.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

async fn read(src: &Source) -> f64 {
    let started = Instant::now();
    let Some(Object::Stream { mut stream, .. }) = src.open_object("p/big").await.unwrap() else {
        panic!("no object");
    };
    let mut hasher = blake3::Hasher::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk.unwrap());
    }
    std::hint::black_box(hasher.finalize());
    started.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn options(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn s3_source(endpoint: &str, parallel: usize) -> Source {
    let options = options(&[
        ("endpoint", endpoint.to_owned()),
        ("allow_http", "true".into()),
        ("region", "us-east-1".into()),
        ("access_key_id", "bench".into()),
        ("secret_access_key", "bench".into()),
        ("parallel_reads", parallel.to_string()),
    ]);
    Source::open(&SourceSpec {
        url: "s3://ranged/set".into(),
        kind: SourceKind::S3,
        options,
    })
    .unwrap()
}

fn azure_source(endpoint: &str, account: &str, key: &str, parallel: usize) -> Source {
    let options = options(&[
        ("use_emulator", "true".into()),
        ("endpoint", endpoint.to_owned()),
        ("account_name", account.to_owned()),
        ("access_key", key.to_owned()),
        ("parallel_reads", parallel.to_string()),
    ]);
    Source::open(&SourceSpec {
        url: "az://ranged/set".into(),
        kind: SourceKind::Azure,
        options,
    })
    .unwrap()
}

async fn upload_s3(addr: SocketAddr, data: &[u8]) {
    // moto does not check signatures: a plain PUT makes the bucket.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "PUT /ranged HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await.unwrap();
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(format!("http://{addr}"))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("bench")
        .with_secret_access_key("bench")
        .with_bucket_name("ranged")
        .build()
        .unwrap();
    store
        .put(&"set/p/big".into(), PutPayload::from(data.to_vec()))
        .await
        .unwrap();
}

async fn upload_azure(addr: SocketAddr, account: &str, key: &str, data: &[u8]) {
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_endpoint(format!("http://{addr}/{account}"))
        .with_allow_http(true)
        .with_account(account)
        .with_access_key(key)
        .with_container_name("ranged")
        .build()
        .unwrap();
    create_container(addr, account, key).await;
    store
        .put(&"set/p/big".into(), PutPayload::from(data.to_vec()))
        .await
        .unwrap();
}

/// object_store cannot create containers: one SharedKey-signed `PUT ?restype=container`.
async fn create_container(addr: SocketAddr, account: &str, key: &str) {
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(CREATE_CONTAINER_PY)
        .args([
            addr.port().to_string(),
            account.to_owned(),
            key.to_owned(),
            "ranged".to_owned(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

const CREATE_CONTAINER_PY: &str = r#"
import sys, base64, hmac, hashlib, email.utils, urllib.request
port, acct, key, container = sys.argv[1:5]
date = email.utils.formatdate(usegmt=True)
ver = '2021-08-06'
sts = 'PUT\n\n\n\n\n\n\n\n\n\n\n\n' + f'x-ms-date:{date}\nx-ms-version:{ver}\n' + f'/{acct}/{acct}/{container}\nrestype:container'
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(f'http://127.0.0.1:{port}/{acct}/{container}?restype=container', method='PUT',
    headers={'x-ms-date': date, 'x-ms-version': ver, 'Authorization': f'SharedKey {acct}:{sig}', 'Content-Length': '0'})
urllib.request.urlopen(req)
"#;
