//! SECURITY.md class 11 (an evidence bucket): whoever can write the bucket besides lifeboat
//! puts junk names, names with `..` or a control character, oversized objects, edited
//! records and holes in the chain there. `evidence verify` must name each, read none of the
//! oversized ones, create nothing outside its temporary copy, and never print a credential.

use lifeboat_testkit::Format;
use lifeboat_testkit::cloud::{self, unique_name};

use crate::evidence_bucket::{drill_into, verify};
use crate::util::{DAY1, Fixture};

#[test]
fn a_hostile_evidence_bucket_is_named_finding_by_finding_and_nothing_huge_is_read() {
    let s3 = &cloud::servers().moto;
    let bucket = unique_name("hostile-ev");
    s3.create_bucket(&bucket);
    let url = s3.url(&bucket, "ev");
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let mut records = Vec::new();
    for _ in 0..3 {
        let d = drill_into(&fx, s3, &url, &[]);
        assert_eq!(d.code, 0, "{}", d.context());
        let record = d.stdout.lines().last().unwrap().to_owned();
        records.push(
            record
                .strip_prefix(&format!("s3://{bucket}/"))
                .unwrap()
                .to_owned(),
        );
    }
    let subject = |key: &str| {
        key.strip_prefix("ev/")
            .unwrap()
            .strip_suffix("/evidence.json")
            .unwrap()
            .to_owned()
    };
    // Record 1's bytes changed; record 2's chain position deleted; a signature of 100 KiB (over
    // the 64 KiB cap) beside record 3; junk, a climbing name and a control character.
    s3.overwrite(&bucket, &records[0], b"{}\n");
    let (status, body) = s3.signed_request(
        "DELETE",
        &bucket,
        "ev/ledger/00000000000000000002.json",
        &[],
    );
    assert!((200..300).contains(&status), "{body}");
    let sig = records[2].replace("evidence.json", "evidence.json.minisig");
    s3.put_raw(&bucket, &sig, &vec![b'x'; 100 << 10]);
    s3.put_raw(&bucket, "ev/junk.bin", b"junk");
    // A record that climbs out of its run's folder. moto folds the `..` into the key it
    // stores (`ev/evidence.json`), which is still not where a record lives; the `..` kept
    // verbatim is the in-memory store's case (lifeboat-evidence, bucket::tests).
    let climbing = format!(
        "{}/{bucket}/ev/drill-test/%2E%2E/evidence.json",
        s3.endpoint
    );
    let (status, body) = cloud::http_request_with_body("PUT", &climbing, &[], b"{}");
    assert!((200..300).contains(&status), "{body}");
    s3.put_raw(&bucket, "ev/drill-test/r\tun/evidence.json", b"{}");

    let v = verify(&fx, s3, &url, &[]);
    assert_eq!(v.code, 1, "{}", v.context());
    let out = &v.stdout;
    let has = |s: &str| out.contains(s);
    assert!(
        has(&format!("{}: edited", subject(&records[0]))),
        "{}",
        v.context()
    );
    assert!(
        has(&format!(
            "{}: chain broken: it was chained after {}",
            subject(&records[2]),
            subject(&records[1])
        )),
        "{}",
        v.context()
    );
    assert!(
        has(&format!(
            "{}: {}/evidence.json.minisig is larger than the 64 KiB limit for a signature",
            subject(&records[2]),
            subject(&records[2])
        )),
        "{}",
        v.context()
    );
    assert!(
        has("junk.bin: not something lifeboat writes"),
        "{}",
        v.context()
    );
    assert!(
        out.lines().any(|l| (l.starts_with("evidence.json: ")
            || l.starts_with("drill-test/../evidence.json: "))
            && l.contains("a record's name must be")),
        "{}",
        v.context()
    );
    // A control character is shown escaped, never raw.
    assert!(!out.contains('\t'), "{}", v.context());
    assert!(has("r\\tun"), "{}", v.context());
    // No credential in anything printed.
    assert!(
        !out.contains(&s3.secret_access_key) && !v.stderr.contains(&s3.secret_access_key),
        "{}",
        v.context()
    );
}

#[test]
fn an_unreachable_or_refusing_evidence_bucket_names_the_bucket_never_the_secret() {
    let s3 = &cloud::servers().moto;
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let missing = unique_name("never-made");
    let url = s3.url(&missing, "ev");
    // The bucket is read before the drill runs: nothing runs, nothing is written.
    let d = drill_into(&fx, s3, &url, &[]);
    assert_eq!(d.code, 3, "{}", d.context());
    assert!(
        d.stderr.contains(&format!("s3://{missing}/ev")),
        "{}",
        d.context()
    );
    assert!(!d.stderr.contains(&s3.secret_access_key), "{}", d.context());
    assert!(!fx.root().join("evidence").exists());
}
