//! What decoding a restic tree really allocates, against the weight lifeboat counts for it
//! before decoding (`lifeboat_storage::restic::tree`): for trees the real `restic` wrote and
//! for trees forged to decode to as much memory as their bytes allow. Every bound on trees in
//! memory (the kept trees, those being checked, those a listing holds) counts that weight, so
//! it must never be below what decoding takes, at its peak or after.
//!
//! This test binary counts every allocation its test thread makes while decoding
//! (`lifeboat_testkit::counting`).

use lifeboat_storage::restic::tree::{Weight, decode, weigh};
use lifeboat_testkit::ResticRepo;
use lifeboat_testkit::counting::{Counting, measure};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Decodes `plain` as weighed, counting: the most bytes allocated at once while decoding,
/// and the bytes still allocated once the entries are decoded (what they keep).
fn decoded(plain: &[u8], weight: &Weight) -> (u64, u64, usize) {
    let (nodes, peak, kept) = measure(|| decode(plain, weight).expect("the tree decodes"));
    assert!(
        peak > 0 && kept > 0,
        "nothing counted: is `Counting` installed?"
    );
    (peak, kept, nodes.len())
}

/// Weighs and decodes `plain`; the weight must cover both what decoding took at its peak and
/// what the entries keep. Returns the weight.
#[track_caller]
fn holds(what: &str, plain: &[u8]) -> Weight {
    let weight = weigh(plain).expect("the tree weighs");
    let (peak, kept, n) = decoded(plain, &weight);
    assert_eq!(n, weight.nodes, "{what}: entries");
    assert!(
        weight.bytes >= peak,
        "{what}: weighed {} bytes, decoding took {peak} at its peak",
        weight.bytes
    );
    assert!(
        weight.kept >= kept,
        "{what}: weighed {} bytes kept, the entries keep {kept}",
        weight.kept
    );
    eprintln!(
        "{what}: {} bytes of JSON, {} entries; weighed {} ({} kept), decoding took {peak} ({kept} kept)",
        plain.len(),
        n,
        weight.bytes,
        weight.kept
    );
    weight
}

fn tree(nodes: impl Iterator<Item = String>) -> Vec<u8> {
    let nodes: Vec<String> = nodes.collect();
    format!("{{\"nodes\":[{}]}}\n", nodes.join(",")).into_bytes()
}

#[test]
fn trees_restic_wrote_weigh_at_least_what_they_decode_to_and_about_twice_their_json() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = ResticRepo::init(tmp.path(), "pw");
    let names: Vec<String> = (0..3_000)
        .map(|n| format!("srv/wide/{}-{n}.txt", "x".repeat(n % 40)))
        .collect();
    let mut files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x\n"[..])).collect();
    // Some 20 chunks: one entry with a long list of chunk ids.
    let big = lifeboat_testkit::prng::random_bytes(24 << 20, 7);
    files.push(("srv/wide/big.bin", &big));
    let id = fixture.backup_with("2026-11-20 02:00:00", "db01", &[], &files, |root| {
        let wide = root.join("srv/wide");
        for n in 0..50 {
            std::os::unix::fs::symlink(format!("target-{n}"), wide.join(format!("link-{n}")))
                .unwrap();
        }
        std::fs::create_dir(wide.join("folder")).unwrap();
    });
    for path in ["", "srv", "srv/wide"] {
        let plain = fixture.restic_bytes(&["cat", "blob", &fixture.tree_id(&id, path)]);
        let weight = holds(&format!("restic's tree of /{path}"), &plain);
        if path == "srv/wide" {
            assert_eq!(weight.nodes, 3_052);
            // Tight enough that the bounds on trees in memory keep honest trees: within
            // three times their JSON.
            assert!(
                weight.bytes <= 3 * plain.len() as u64,
                "{} bytes weighed for {} of JSON",
                weight.bytes,
                plain.len()
            );
        }
    }
}

#[test]
fn forged_trees_weigh_at_least_what_they_decode_to() {
    // The smallest entry rustic_core decodes: thirteen times its JSON in memory.
    let smallest = tree((0..100_000).map(|_| r#"{"name":"","type":"file"}"#.to_owned()));
    let weight = holds("smallest entries", &smallest);
    assert!(
        weight.bytes >= 12 * smallest.len() as u64,
        "{} bytes weighed for {} of JSON",
        weight.bytes,
        smallest.len()
    );

    // A field `Node` does not know, buffered whole while its entry decodes.
    let zeros = vec!["0"; 200_000].join(",");
    holds(
        "an unknown field of 200,000 numbers",
        &tree(std::iter::once(format!(
            r#"{{"name":"a","type":"file","x":[{zeros}]}}"#
        ))),
    );
    holds(
        "unknown fields of nested maps",
        &tree((0..2_000).map(|n| {
            format!(r#"{{"name":"n{n}","type":"file","x{n}":{{"a":{{"b":[{{"c":"d\u0041"}},[1,[2,{{}}]]]}}}},"y":[[],[[]],{{"k":null}}]}}"#)
        })),
    );
    // Escaped strings and keys are copied, not borrowed.
    holds(
        "escaped names, owners and keys",
        &tree((0..5_000).map(|n| {
            format!(
                r#"{{"n\u0061me":"f\u00e9{n}\n","type":"file","us\u0065r":"r\u006f\u006ft{n}","group":"g\"{n}","mtime":"2026-11-21T02:00:00Z","uid":1,"gid":2,"inode":{n},"size":3,"links":1,"content":[]}}"#
            )
        })),
    );
    // Extended attributes, link targets (raw too), devices, chunk ids.
    holds(
        "extended attributes",
        &tree((0..2_000).map(|n| {
            let attributes: Vec<String> = (0..20)
                .map(|a| format!(r#"{{"name":"user.a{a}","value":"aGVsbG8gd29ybGQ="}}"#))
                .collect();
            format!(
                r#"{{"name":"x{n}","type":"file","extended_attributes":[{}],"content":null}}"#,
                attributes.join(",")
            )
        })),
    );
    holds(
        "links, devices and folders",
        &tree((0..6_000).map(|n| match n % 3 {
            0 => format!(
                r#"{{"name":"l{n}","type":"symlink","linktarget":"../some/where/{n}","linktarget_raw":"Li4vc29tZS93aGVyZQ=="}}"#
            ),
            1 => format!(r#"{{"name":"d{n}","type":"dev","device":{n}}}"#),
            _ => format!(
                r#"{{"name":"s{n}","type":"dir","subtree":"{}"}}"#,
                "ab".repeat(32)
            ),
        })),
    );
    let ids = vec![format!("\"{}\"", "cd".repeat(32)); 50_000].join(",");
    holds(
        "one entry of 50,000 chunk ids",
        &tree(std::iter::once(format!(
            r#"{{"name":"big","type":"file","content":[{ids}]}}"#
        ))),
    );
}
