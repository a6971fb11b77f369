//! Manifest handling at scale: parsing a 1,000,000-line manifest and drawing a 1 % sample of
//! it, the two steps a drill takes before it restores anything.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lifeboat_core::Algorithm;
use lifeboat_core::manifest::{self, format_line};
use lifeboat_core::runbook::SampleSize;
use lifeboat_core::sample::{choose, sample_count};

const LINES: usize = 1_000_000;

/// A realistic manifest: distinct digests, nested paths of ordinary length, a few names that
/// need escaping.
fn generate() -> Vec<u8> {
    let mut text = String::with_capacity(LINES * 110);
    let mut state = 0x0123_4567_89ab_cdefu64;
    for i in 0..LINES {
        let mut digest = String::with_capacity(64);
        for _ in 0..4 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            digest.push_str(&format!("{state:016x}"));
        }
        let path = if i % 1000 == 0 {
            format!("data/{:03}/odd\\name-{i:07}.bin", i % 997)
        } else {
            format!("data/{:03}/customer-{i:07}.parquet", i % 997)
        };
        text.push_str(&format_line(&digest, &path));
        text.push('\n');
    }
    text.into_bytes()
}

fn bench(c: &mut Criterion) {
    let text = generate();
    let mut group = c.benchmark_group("manifest_1M_lines");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| manifest::parse(black_box(&text), Algorithm::Sha256).expect("valid"))
    });

    let entries = manifest::parse(&text, Algorithm::Sha256).expect("valid");
    let count = sample_count(entries.len(), SampleSize::Percent(1.0));
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("sample_1_percent", |b| {
        b.iter(|| {
            let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
            choose(black_box(&paths), count, 42)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
