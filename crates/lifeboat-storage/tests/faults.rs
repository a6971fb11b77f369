//! Reads through a misbehaving network, against a real S3 server (moto): a body cut mid-object
//! is resumed with exact bytes, a link that keeps breaking fails the read within bounds, and
//! an object rewritten mid-read fails it instead of mixing two versions into one hash.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use futures::StreamExt;
use lifeboat_storage::{Object, Source, SourceKind, SourceSpec, StorageError};
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStoreExt, PutPayload};
use support::proxy::{Faults, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "faults-test-secret-5ba7e0d4";

fn moto() -> SocketAddr {
    let port = support::servers().get("LIFEBOAT_MOTO_PORT");
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// Bytes no compressor or coincidence reproduces: xorshift from a seed.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A fresh bucket on moto holding `objects`, uploaded straight to the server.
async fn bucket_with(name: &str, objects: &[(&str, &[u8])]) {
    // moto does not check signatures: a plain PUT makes the bucket.
    let mut conn = tokio::net::TcpStream::connect(moto()).await.unwrap();
    let req = format!(
        "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        moto()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "creating bucket {name}: {reply}"
    );
    let store = direct_store(name);
    for (key, bytes) in objects {
        store
            .put(&(*key).into(), PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }
}

fn direct_store(bucket: &str) -> object_store::aws::AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(format!("http://{}", moto()))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("faults")
        .with_secret_access_key(SECRET)
        .with_bucket_name(bucket)
        .build()
        .unwrap()
}

/// The backup source as lifeboat opens it, through `endpoint` (the proxy).
fn source(bucket: &str, endpoint: &str, parallel: usize, timeout: &str) -> Source {
    source_with(bucket, endpoint, parallel, timeout, "5s")
}

fn source_with(
    bucket: &str,
    endpoint: &str,
    parallel: usize,
    timeout: &str,
    read_timeout: &str,
) -> Source {
    let options: BTreeMap<String, String> = [
        ("endpoint", endpoint.to_owned()),
        ("allow_http", "true".to_owned()),
        ("region", "us-east-1".to_owned()),
        ("access_key_id", "faults".to_owned()),
        ("secret_access_key", SECRET.to_owned()),
        ("parallel_reads", parallel.to_string()),
        ("timeout", timeout.to_owned()),
        ("read_timeout", read_timeout.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Source::open(&SourceSpec {
        url: format!("s3://{bucket}/set"),
        kind: SourceKind::S3,
        options,
    })
    .unwrap()
}

/// Reads an object whole, hashing as it goes; the bytes themselves are not kept.
async fn read_hash(source: &Source, rel: &str) -> Result<(u64, blake3::Hash), StorageError> {
    let Some(Object::Stream { mut stream, .. }) = source.open_object(rel).await? else {
        panic!("{rel} should exist and be remote");
    };
    let mut hasher = blake3::Hasher::new();
    let mut len = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((len, hasher.finalize()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_mid_object_is_resumed_with_exact_bytes() {
    // 24 MiB: above the parallel threshold, so parallel_reads 4 reads it in ranged parts.
    let bytes = data(24 << 20, 7);
    for parallel in [1, 4] {
        let bucket = format!("cut-{parallel}");
        bucket_with(&bucket, &[("set/p1/big.bin", &bytes)]).await;
        let proxy = Proxy::start(moto(), Faults::cut("big.bin", 2, 3 << 20)).await;
        let src = source(&bucket, &proxy.url(), parallel, "30s");
        let (len, hash) = read_hash(&src, "p1/big.bin").await.unwrap();
        assert_eq!(
            proxy.cuts(),
            2,
            "parallel_reads {parallel}: the proxy should have cut two responses"
        );
        assert_eq!(len, bytes.len() as u64, "parallel_reads {parallel}");
        assert_eq!(
            hash,
            blake3::hash(&bytes),
            "parallel_reads {parallel}: torn or repeated bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_keeps_breaking_fails_the_read_and_says_why() {
    let bytes = data(20 << 20, 11);
    for parallel in [1, 4] {
        let bucket = format!("flaky-{parallel}");
        bucket_with(&bucket, &[("set/p1/big.bin", &bytes)]).await;
        let proxy = Proxy::start(moto(), Faults::cut("big.bin", usize::MAX, 1 << 20)).await;
        let src = source(&bucket, &proxy.url(), parallel, "10s");
        let started = std::time::Instant::now();
        let err = read_hash(&src, "p1/big.bin")
            .await
            .expect_err("every response is cut: the read must fail");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "retries must be bounded"
        );
        let text = err.to_string();
        assert!(matches!(err, StorageError::Unavailable { .. }), "{text}");
        assert!(
            text.contains("big.bin"),
            "the error should name the object: {text}"
        );
        assert!(!text.contains(SECRET), "the error leaks the secret: {text}");
        assert!(
            proxy.cuts() > 1,
            "the read should have been retried before failing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_rewritten_mid_read_fails_instead_of_mixing_versions() {
    let old = data(96 << 20, 3);
    let new = data(96 << 20, 5);
    bucket_with("rewritten", &[("set/p1/big.bin", &old)]).await;
    // Through a slow link, so the rewrite lands while most parts are still to be fetched.
    let faults = Faults {
        rate: 100 << 20,
        ..Faults::cut("big.bin", 0, 0)
    };
    let proxy = Proxy::start(moto(), faults).await;
    let src = source("rewritten", &proxy.url(), 4, "30s");
    let Some(Object::Stream { mut stream, .. }) = src.open_object("p1/big.bin").await.unwrap()
    else {
        panic!("expected a remote stream");
    };
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    direct_store("rewritten")
        .put(&"set/p1/big.bin".into(), PutPayload::from(new.clone()))
        .await
        .unwrap();
    let mut seen = first.len();
    let err = loop {
        match stream.next().await {
            Some(Ok(chunk)) => seen += chunk.len(),
            Some(Err(e)) => break e,
            None => panic!("read {seen} bytes of a rewritten object without noticing the rewrite"),
        }
    };
    assert!(seen < old.len(), "{seen}");
    let text = err.to_string();
    assert!(text.contains("changed while being read"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_fails_after_the_read_timeout_not_never() {
    let bytes = data(4 << 20, 13);
    bucket_with("stalled", &[("set/p1/obj.bin", &bytes)]).await;
    // Every response for the object stops after 1 MiB and the connection stays open.
    let faults = Faults {
        stall: true,
        ..Faults::cut("obj.bin", usize::MAX, 1 << 20)
    };
    let proxy = Proxy::start(moto(), faults).await;
    let src = source_with("stalled", &proxy.url(), 1, "10s", "1s");
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        read_hash(&src, "p1/obj.bin"),
    );
    let err = read
        .await
        .expect("the read hung: is the read timeout applied?")
        .expect_err("a body that never finishes must fail the read");
    let took = started.elapsed();
    // 1 s read timeout, at most 3 retries with backoff: well under a minute, never hours.
    assert!(took < std::time::Duration::from_secs(45), "took {took:?}");
    assert!(
        proxy.cuts() >= 2,
        "the stalled read should have been retried"
    );
    assert!(err.to_string().contains("obj.bin"), "{err}");
}
