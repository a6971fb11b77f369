//! The coverage phase (issue 16) reads every stored object of every retained point, not just
//! a sample of the newest: the hostile objects of an old point nobody samples must meet the
//! same rules (SECURITY.md classes 1, 2, 4 and 7): a link is not followed, a FIFO does not
//! hang the drill, an unsafe path reads nothing, a name with control characters reaches the
//! terminal escaped; each fails the drill, named, and the source is left unchanged.

use std::time::{Duration, Instant};

use lifeboat_testkit::{Format, Snapshot};

use crate::util::{DAY1, DAY2, Fixture, Runbook};

#[test]
fn hostile_objects_of_an_old_point_fail_coverage_without_being_followed_or_read() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let old = fx.standard_point(DAY2, Format::Sha256sum);
    // A link to a secret in place of an object, a FIFO, a path out of the point, and a
    // name that would clear the screen.
    let secret = fx.root().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-coverage\n").unwrap();
    let link = old.path("etc/app.conf");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    old.append_manifest_line(&old.manifest_line_for("pipe", b""));
    super::mkfifo(&old.path("pipe"));
    old.append_manifest_line(&old.manifest_line_for("../../secret.txt", b"x"));
    let evil = "evil\u{1b}[2Jname";
    std::fs::write(old.path(evil), b"y").unwrap();
    old.append_manifest_line(&old.manifest_line_for(evil, b"not y"));
    let before = Snapshot::take(fx.source());

    let rb = Runbook {
        rpo: None,
        sample: Some("{files: 1, seed: 1}".into()),
        // One drill a day over a one-day window: every object of both points is read.
        extra: "coverage: {within: 1d}\n".into(),
        ..fx.runbook()
    };
    let started = Instant::now();
    let d = fx.drill(&rb, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    d.assert_code(1);
    let verified = d.evidence["coverage"]["verified"].as_array().unwrap();
    let reason_of = |path: &str| {
        verified
            .iter()
            .find(|v| v["recovery_point"] == DAY2 && v["path"] == path)
            .unwrap_or_else(|| panic!("{path} not verified\n{}", d.context()))["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        reason_of("etc/app.conf").contains("symbolic link"),
        "{}",
        d.context()
    );
    assert!(reason_of("pipe").contains("FIFO"), "{}", d.context());
    assert!(
        reason_of("../../secret.txt").contains("unsafe path"),
        "{}",
        d.context()
    );
    assert!(reason_of(evil).contains("hash mismatch"), "{}", d.context());
    // Nothing of the secret anywhere, the escape sequence never raw on the terminal.
    let record = std::fs::read_to_string(d.evidence_path.as_ref().unwrap()).unwrap();
    for text in [&record, &d.stdout, &d.stderr] {
        assert!(!text.contains("TOP-SECRET"), "{}", d.context());
    }
    assert!(!d.stdout.contains('\u{1b}'), "{}", d.stdout);
    assert!(!d.stderr.contains('\u{1b}'), "{}", d.stderr);
    Snapshot::take(fx.source()).assert_unchanged_since(&before);
}

#[test]
fn names_that_look_like_sql_are_objects_like_any_other_in_the_ledger() {
    // The ledger keeps every name a manifest lists (SECURITY.md class 3: names are data):
    // quotes, SQL and wildcards in a point's object names are stored and planned as values,
    // drill after drill.
    let fx = Fixture::new();
    let point = fx.standard_point(DAY1, Format::Sha256sum);
    let names = [
        "x'); DROP TABLE coverage_objects; --",
        "' OR '1'='1",
        "100% _of_ it",
        "semi;colon\"quote",
    ];
    for (i, name) in names.iter().enumerate() {
        let body = format!("object {i}\n");
        std::fs::write(point.path(name), &body).unwrap();
        point.append_manifest_line(&point.manifest_line_for(name, body.as_bytes()));
    }
    let rb = Runbook {
        rpo: None,
        sample: Some("{files: 1, seed: 1}".into()),
        extra: "coverage: {within: 1d}\n".into(),
        ..fx.runbook()
    };
    // The first drill reads every object (one drill a day, a one-day window); the second,
    // from the ledger the first left, finds them all still verified.
    for first in [true, false] {
        let d = fx.drill(&rb, &[]);
        d.assert_code(0);
        let c = &d.evidence["coverage"];
        let verified = c["verified"].as_array().unwrap();
        for name in names.iter().filter(|_| first) {
            assert!(
                verified
                    .iter()
                    .any(|v| v["path"] == *name && v["outcome"] == "passed"),
                "{name} not verified\n{}",
                d.context()
            );
        }
        assert_eq!(c["objects"], c["verified_within"], "{}", d.context());
        assert_eq!(c["objects"], (5 + names.len()) as u64, "{}", d.context());
    }
}

/// A restic pack is hostile input too (SECURITY.md class 3): a header whose length claims
/// more than the pack, a pack cut short, a pack claiming an absurd size each fail the drill
/// whose phase reads it, naming the pack, with a reason; nothing panics and nothing is
/// allocated from a claimed length before it is checked (the absurd pack is not read).
#[test]
fn hostile_restic_packs_fail_coverage_with_a_reason_and_no_unbounded_read() {
    use crate::coverage_restic::{PASSWORD, drill_on, runbook, taken, verified};
    let fx = Fixture::new();
    let repo = lifeboat_testkit::ResticRepo::init(&fx.root().join("restic"), PASSWORD);
    let old = lifeboat_testkit::prng::random_bytes(64 << 10, 7);
    repo.backup(&taken(0), "db01", &[], &[("srv/old.bin", &old)]);
    let pack = repo
        .packs()
        .into_iter()
        .find(|p| p.is_data())
        .expect("a data pack")
        .id;
    let new = lifeboat_testkit::prng::random_bytes(64 << 10, 8);
    repo.backup(&taken(1), "db01", &[], &[("srv/new.bin", &new)]);
    // A 1-day window: each drill reads every pack.
    let rb = runbook(&fx, &repo, "30d", "1d");
    let file = repo.pack_path(&pack);
    let original = std::fs::read(&file).unwrap();
    let rewrite = |bytes: &[u8]| {
        let mut perms = std::fs::metadata(&file).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&file, perms).unwrap();
        std::fs::write(&file, bytes).unwrap();
    };
    let reason_of = |day: i64| {
        let d = drill_on(&fx, &rb, day);
        d.assert_code(1);
        let read = verified(&d);
        let failed: Vec<_> = read.iter().filter(|r| r.2 == "failed").collect();
        assert_eq!(failed.len(), 1, "{}", d.context());
        assert!(failed[0].1.ends_with(&pack), "{}", d.context());
        failed[0].3.clone()
    };

    // The header's length claims 4 GiB.
    let mut claims = original.clone();
    let n = claims.len();
    claims[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    rewrite(&claims);
    let reason = reason_of(2);
    assert!(
        reason.contains("header damaged") && reason.contains(&pack),
        "{reason}"
    );

    // Cut short: the header's length now points into the blobs.
    rewrite(&original[..original.len() / 2]);
    let reason = reason_of(3);
    assert!(
        reason.contains("pack hash mismatch") && reason.contains(&pack),
        "{reason}"
    );

    // 200 GiB claimed by storage (a sparse file): refused, never read.
    rewrite(&original);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(200 << 30)
        .unwrap();
    let started = Instant::now();
    let reason = reason_of(4);
    assert!(
        reason.contains("over the") && reason.contains(&pack),
        "{reason}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
