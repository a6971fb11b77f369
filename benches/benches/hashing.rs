//! Hashing throughput: the streaming `Hasher` at the chunk sizes the runner feeds it, and
//! `hash_file` over a large file in the page cache (mmap, BLAKE3 across cores).

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lifeboat_core::Algorithm;
use lifeboat_hash::{Hasher, hash_file};

const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Blake3];

/// Incompressible, reproducible bytes (xorshift64*): hash speed does not depend on content,
/// but a file of zeros could be sparse on disk.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn hasher_update(c: &mut Criterion) {
    // 64 MiB per iteration, fed in chunks: big enough to amortise `new`/`finalize`.
    const TOTAL: usize = 64 << 20;
    let data = pseudo_random(TOTAL);
    let mut group = c.benchmark_group("hasher_update");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(TOTAL as u64));
    for algorithm in ALGORITHMS {
        for chunk in [64 << 10, 1 << 20] {
            let id = BenchmarkId::new(algorithm.as_str(), format!("{} KiB", chunk >> 10));
            group.bench_with_input(id, &chunk, |b, &chunk| {
                b.iter(|| {
                    let mut h = Hasher::new(algorithm);
                    for piece in data.chunks(chunk) {
                        h.update(black_box(piece));
                    }
                    h.finalize_hex()
                })
            });
        }
    }
    group.finish();
}

fn hash_file_256mib(c: &mut Criterion) {
    const SIZE: usize = 256 << 20;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let block = pseudo_random(1 << 20);
    for _ in 0..SIZE / block.len() {
        file.write_all(&block).expect("write temp file");
    }
    file.flush().expect("flush temp file");
    let path = file.path().to_owned();

    let mut group = c.benchmark_group("hash_file_256MiB");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Bytes(SIZE as u64));
    for algorithm in ALGORITHMS {
        group.bench_function(algorithm.as_str(), |b| {
            b.iter(|| hash_file(black_box(&path), algorithm).expect("hash"))
        });
    }
    group.finish();
}

criterion_group!(benches, hasher_update, hash_file_256mib);
criterion_main!(benches);
