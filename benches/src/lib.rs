//! Criterion benches for lifeboat's hot paths live in `benches/benches/`:
//!
//! - `hashing`: `Hasher::update` throughput for SHA-256 and BLAKE3 at 64 KiB and 1 MiB
//!   chunks, and `hash_file` over a 256 MiB file (page cache) for both.
//! - `manifest`: parsing a 1,000,000-line manifest, and drawing a 1 % sample from it.
//! - `coverage_scale` (a bench binary, not criterion): one drill's coverage planning over a
//!   ledger of N objects in the history store; see its header and `benches/README.md`.
//!
//! Run with `cargo bench -p lifeboat-benches` (a few minutes on 2 cores); pass a bench name
//! to run one, e.g. `cargo bench -p lifeboat-benches --bench manifest`.
