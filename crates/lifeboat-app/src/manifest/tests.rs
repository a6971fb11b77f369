//! Manifests of real folders: what is left out, what `.zst` objects are listed as, and the
//! atomic write.

use std::os::fd::AsFd;
use std::path::Path;

use lifeboat_core::Algorithm;

use super::*;

fn tree(root: &Path, files: &[(&str, &[u8])]) {
    for (rel, bytes) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn names(dir: &Path, exclusions: &Exclusions, decompressed: bool) -> Vec<String> {
    build(&ManifestJob {
        dir,
        algorithm: Algorithm::Sha256,
        jobs: 1,
        decompressed,
        exclusions,
    })
    .unwrap()
    .into_iter()
    .map(|(name, _)| name)
    .collect()
}

fn sha256(bytes: &[u8]) -> String {
    let mut h = lifeboat_hash::Hasher::new(Algorithm::Sha256);
    h.update(bytes);
    h.finalize_hex()
}

#[test]
fn a_file_being_written_is_left_out_by_its_inode_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), &[("a", b"a"), ("sub/b", b"b")]);
    let out = std::fs::File::create(dir.path().join("sub/whatever.out")).unwrap();
    let mut ex = Exclusions::default();
    ex.being_written(out.as_fd());
    assert_eq!(names(dir.path(), &ex, false), ["a", "sub/b"]);
    // Not a regular file (a pipe, a terminal): nothing to leave out.
    let (reader, _writer) = std::io::pipe().unwrap();
    let mut ex = Exclusions::default();
    ex.being_written(reader.as_fd());
    assert_eq!(names(dir.path(), &ex, false).len(), 3);
}

#[test]
fn excludes_are_patterns_and_places() {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("keep", b"k"),
            ("logs/a.log", b"l"),
            ("x.tmp", b"t"),
            ("named", b"n"),
        ],
    );
    let mut ex = Exclusions::default();
    ex.exclude("logs");
    ex.exclude("*.tmp");
    ex.exclude(dir.path().join("named").to_str().unwrap());
    assert_eq!(names(dir.path(), &ex, false), ["keep"]);
}

#[test]
fn zst_objects_are_listed_as_the_drill_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    let dump = b"CREATE TABLE t (x int);\n".repeat(1000);
    let zst = |b: &[u8]| zstd::bulk::compress(b, 3).unwrap();
    tree(
        dir.path(),
        &[
            ("db/dump.sql.zst", &zst(&dump)),
            // A plain twin is what a drill reads for `both`: the .zst is listed as stored.
            ("both", b"plain"),
            ("both.zst", &zst(b"other")),
            // Names that would not name a file once `.zst` is taken off.
            (".zst", &zst(b"x")),
            ("d/..zst", &zst(b"y")),
        ],
    );
    let lines = build(&ManifestJob {
        dir: dir.path(),
        algorithm: Algorithm::Sha256,
        jobs: 2,
        decompressed: true,
        exclusions: &Exclusions::default(),
    })
    .unwrap();
    let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [".zst", "both", "both.zst", "d/..zst", "db/dump.sql"]
    );
    let digest = |name: &str| &lines.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(digest("db/dump.sql"), &sha256(&dump));
    assert_eq!(digest("both.zst"), &sha256(&zst(b"other")));
    // Without the flag, every object is listed as stored.
    assert_eq!(
        super::tests::names(dir.path(), &Exclusions::default(), false),
        [".zst", "both", "both.zst", "d/..zst", "db/dump.sql.zst"]
    );
}

#[test]
fn write_replaces_a_planted_link_and_never_writes_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::write(&target, "do not touch").unwrap();
    let out = dir.path().join("SHA256SUMS");
    std::os::unix::fs::symlink(&target, &out).unwrap();
    let lines = vec![("a".to_owned(), "00".repeat(32))];
    write(&out, &lines).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "do not touch");
    assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{}  a\n", "00".repeat(32))
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "a temporary file was left: {left:?}");
}
