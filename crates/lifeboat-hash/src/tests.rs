use lifeboat_core::Algorithm;

use super::{Busy, Hasher, fork_pays};

fn hex_of(algorithm: Algorithm, pieces: &[&[u8]]) -> String {
    let mut h = Hasher::new(algorithm);
    for p in pieces {
        h.update(p);
    }
    h.finalize_hex()
}

#[test]
fn crc32c_is_written_as_postgresql_lists_it() {
    // The CRC-32C check value of "123456789" is 0xe3069283; PostgreSQL lists its bytes in
    // memory order (little-endian).
    assert_eq!(hex_of(Algorithm::Crc32c, &[b"1234", b"56789"]), "839206e3");
    // `PG_VERSION` of a PostgreSQL 15 base backup, as its backup_manifest lists it.
    assert_eq!(hex_of(Algorithm::Crc32c, &[b"15\n"]), "8a744722");
}

#[test]
fn the_sha2_family_and_none() {
    assert_eq!(
        hex_of(Algorithm::Sha224, &[b"a", b"bc"]),
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
    );
    assert_eq!(
        hex_of(Algorithm::Sha384, &[b"abc"]),
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
    );
    assert_eq!(
        hex_of(Algorithm::Sha512, &[b"abc"]),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(hex_of(Algorithm::None, &[b"abc"]), "");
    for a in [Algorithm::Crc32c, Algorithm::Sha224, Algorithm::None] {
        assert_eq!(Hasher::new(a).algorithm(), a);
    }
}

#[test]
fn a_big_input_forks_only_while_a_thread_of_the_pool_is_free() {
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // The only test of this binary that counts busy inputs, so the count starts at zero.
    two.install(|| {
        assert!(fork_pays(), "two threads, nothing busy");
        let a = Busy::start();
        assert!(fork_pays(), "one input busy, one thread free");
        let b = Busy::start();
        assert!(!fork_pays(), "every thread has an input of its own");
        drop(a);
        assert!(fork_pays(), "the last input left alone forks again");
        drop(b);
    });
    one.install(|| assert!(!fork_pays(), "one thread: nothing to fork to"));

    // Either way the digest is BLAKE3's.
    let big = vec![7u8; 3 << 20];
    let forked = two.install(|| hex_of(Algorithm::Blake3, &[&big]));
    let alone = two.install(|| {
        let _busy = [Busy::start(), Busy::start()];
        hex_of(Algorithm::Blake3, &[&big])
    });
    assert_eq!(forked, alone);
    assert_eq!(forked, blake3::hash(&big).to_hex().to_string());
}
