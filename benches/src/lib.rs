//! Criterion benches for lifeboat's hot paths live in `benches/benches/`:
//!
//! - `hashing`: `Hasher::update` throughput for SHA-256 and BLAKE3 at 64 KiB and 1 MiB
//!   chunks, and `hash_file` over a 256 MiB file (page cache) for both.
//! - `manifest`: parsing a 1,000,000-line manifest, and drawing a 1 % sample from it.
//!
//! Run with `cargo bench -p lifeboat-benches` (a few minutes on 2 cores); pass a bench name
//! to run one, e.g. `cargo bench -p lifeboat-benches --bench manifest`.
