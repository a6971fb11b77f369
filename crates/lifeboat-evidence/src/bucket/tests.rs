//! The bucket writer and reader against an in-memory store that keeps every version and whose
//! listing yields mid-way, so racing writers interleave as they would over the network. The
//! same behaviour against moto is in the integration tests (`tests/evidence_bucket.rs`).

use std::sync::{Arc, Mutex};

use super::*;
use crate::NoPages;
use crate::sign::{Password, SigningKey, VerifyingKey, generate};

/// Every version of every name, oldest first; `declared` overrides a listed size (a huge
/// object that is not really held).
#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
    declared: Mutex<BTreeMap<String, u64>>,
}

impl Memory {
    /// What an account with write access but not lifeboat's discipline does: a plain put.
    fn overwrite(&self, name: &str, bytes: &[u8]) {
        let mut o = self.objects.lock().unwrap();
        o.entry(name.to_owned()).or_default().push(bytes.to_vec());
    }
    fn remove(&self, name: &str) {
        self.objects.lock().unwrap().remove(name);
    }
    fn current(&self, name: &str) -> Option<Vec<u8>> {
        let o = self.objects.lock().unwrap();
        o.get(name).and_then(|v| v.last().cloned())
    }
    fn names(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
}

impl Objects for Memory {
    fn url(&self) -> &str {
        "s3://bucket/evidence"
    }
    fn put_new(&self, name: &str, bytes: &[u8]) -> Result<(), ObjectError> {
        let mut o = self.objects.lock().unwrap();
        if o.contains_key(name) {
            return Err(ObjectError::Exists { name: name.into() });
        }
        o.insert(name.to_owned(), vec![bytes.to_vec()]);
        Ok(())
    }
    fn get(&self, name: &str, cap: Cap) -> Result<Option<Vec<u8>>, ObjectError> {
        let size = self.declared.lock().unwrap().get(name).copied();
        let bytes = self.current(name);
        let size = size.or(bytes.as_ref().map(|b| b.len() as u64));
        if let Some(size) = size.filter(|s| *s > cap.bytes) {
            return Err(ObjectError::TooLarge {
                name: name.into(),
                size,
                cap,
            });
        }
        Ok(bytes)
    }
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, ObjectError> {
        let names: Vec<(String, u64)> = {
            let o = self.objects.lock().unwrap();
            let declared = self.declared.lock().unwrap();
            o.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| {
                    let size = declared.get(k).copied();
                    (k.clone(), size.unwrap_or(v.last().unwrap().len() as u64))
                })
                .collect()
        };
        // A listing takes a round trip: let other writers move meanwhile.
        std::thread::yield_now();
        Ok(names
            .into_iter()
            .map(|(name, size)| Listed { name, size })
            .collect())
    }
    fn versions(&self) -> Result<Option<BTreeMap<String, usize>>, ObjectError> {
        let o = self.objects.lock().unwrap();
        Ok(Some(o.iter().map(|(k, v)| (k.clone(), v.len())).collect()))
    }
}

fn record(runbook: &str, run_id: &str) -> Evidence {
    serde_json::from_value(serde_json::json!({
        "format_version": 1, "run_id": run_id,
        "runbook": { "name": runbook, "sha256": "00", "path": "rb.yaml" },
        "lifeboat_version": "0.1.0", "host": null, "mode": "automatic", "verify_only": false,
        "t0": "2026-11-22T02:00:00Z", "started_at": "2026-11-22T02:00:00Z",
        "finished_at": "2026-11-22T02:00:01Z", "outcome": "passed", "reason": null,
        "source": { "url": "file:///b" }, "objectives": { "rto_seconds": null, "rpo_seconds": null },
        "measured": {}, "sample": { "seed": 1, "files": null, "percent": null, "all": true },
        "recovery_points": [], "scratch": { "path": "/tmp/s", "kept": false }
    }))
    .unwrap()
}

fn keys() -> (SigningKey, VerifyingKey) {
    let kp = generate(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k"), &kp.secret_key).unwrap();
    let none = Password::from_env("LIFEBOAT_TEST_UNSET_VARIABLE");
    let sk = SigningKey::load(&dir.path().join("k"), &none).unwrap();
    (sk, VerifyingKey::parse(&kp.public_key).unwrap())
}

fn problems(report: &Report) -> Vec<String> {
    report.findings.iter().map(ToString::to_string).collect()
}

#[test]
fn records_are_laid_out_as_in_a_folder_and_chained_one_object_per_position() {
    let m = Memory::default();
    let url = write_signed_run(&m, &record("rb", "r1"), &NoPages, None).unwrap();
    assert_eq!(url, "s3://bucket/evidence/rb/r1/evidence.json");
    write_signed_run(&m, &record("rb", "r2"), &NoPages, None).unwrap();
    assert_eq!(
        m.names(),
        [
            "ledger/00000000000000000001.json",
            "ledger/00000000000000000002.json",
            "rb/r1/evidence.json",
            "rb/r2/evidence.json"
        ]
    );
    let report = verify(&m, None).unwrap();
    assert!(report.intact(), "{:?}", problems(&report));
    assert_eq!(report.entries, 2);
    let second: Entry =
        serde_json::from_slice(&m.current("ledger/00000000000000000002.json").unwrap()).unwrap();
    assert_eq!(
        second.previous_record.as_deref(),
        Some("rb/r1/evidence.json")
    );
}

#[test]
fn a_record_already_there_is_an_error_and_is_not_overwritten() {
    let m = Memory::default();
    m.put_new("rb/r1/evidence.json", b"planted").unwrap();
    let e = write_signed_run(&m, &record("rb", "r1"), &NoPages, None).unwrap_err();
    assert!(
        matches!(e, EvidenceError::ObjectExists { .. }),
        "{e}: expected ObjectExists"
    );
    assert!(
        e.to_string()
            .contains("s3://bucket/evidence/rb/r1/evidence.json"),
        "{e}"
    );
    assert_eq!(m.current("rb/r1/evidence.json").unwrap(), b"planted");
    assert!(m.names().iter().all(|n| !n.starts_with("ledger/")));
}

#[test]
fn racing_writers_never_fork_the_chain_nor_lose_a_record() {
    let m = Arc::new(Memory::default());
    let (sk, pk) = keys();
    let sk = Arc::new(sk);
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let m = Arc::clone(&m);
            let sk = Arc::clone(&sk);
            std::thread::spawn(move || {
                for i in 0..5 {
                    let ev = record(&format!("rb{w}"), &format!("run{i}"));
                    write_signed_run(&*m, &ev, &NoPages, Some(&sk)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let report = verify(&*m, Some(&pk)).unwrap();
    assert!(report.intact(), "{:?}", problems(&report));
    assert_eq!(report.entries, 30);
    assert_eq!(report.signatures_verified, 30);
    assert_eq!(report.ledger_signed_entries, Some(30));
    // Every position holds a different record: none chained twice, none lost.
    let mut chained: Vec<String> = (1..=30)
        .map(|n| {
            let e: Entry = serde_json::from_slice(&m.current(&entry_name(n)).unwrap()).unwrap();
            e.record
        })
        .collect();
    chained.sort();
    chained.dedup();
    assert_eq!(chained.len(), 30);
    let signing = ledger_signing(&*m).unwrap();
    assert_eq!(
        (signing.entries, signing.signed, signing.head),
        (30, 30, true)
    );
}

#[test]
fn a_hostile_bucket_gets_the_folder_s_findings_and_its_own() {
    let m = Memory::default();
    for r in ["r1", "r2", "r3"] {
        write_signed_run(&m, &record("rb", r), &NoPages, None).unwrap();
    }
    // A record rewritten by a newer version, a chain position deleted, junk beside them, a
    // name climbing out, and a huge record that must not be read.
    m.overwrite("rb/r1/evidence.json", b"{}");
    m.remove(&entry_name(2));
    m.overwrite("junk.txt", b"x");
    m.overwrite("rb/../../etc/evidence.json", b"x");
    m.overwrite("rb/r9/evidence.json", b"small");
    m.declared
        .lock()
        .unwrap()
        .insert("rb/r3/evidence.json".into(), 1 << 40);
    let report = verify(&m, None).unwrap();
    let p = problems(&report);
    let has = |s: &str| p.iter().any(|f| f.contains(s));
    assert!(has("rb/r1: edited: evidence.json's SHA-256"), "{p:#?}");
    assert!(
        has("rb/r1: overwritten: evidence.json has 2 versions"),
        "{p:#?}"
    );
    assert!(
        has("rb/r3: chain broken: it was chained after rb/r2"),
        "{p:#?}"
    );
    assert!(has("junk.txt: not something lifeboat writes"), "{p:#?}");
    assert!(
        has("rb/../../etc/evidence.json: a record's name must be"),
        "{p:#?}"
    );
    assert!(
        has("rb/r3: rb/r3/evidence.json is larger than the 1 GiB limit for a record"),
        "{p:#?}"
    );
    assert!(has("rb/r9: not in the ledger"), "{p:#?}");
    assert!(!report.intact());
}

#[test]
fn an_empty_bucket_is_not_evidence_and_a_junk_head_stops_the_writer() {
    let m = Memory::default();
    assert!(matches!(
        verify(&m, None),
        Err(BucketVerifyError::NotEvidence { .. })
    ));
    m.overwrite(&entry_name(1), b"not an entry");
    let e = write_signed_run(&m, &record("rb", "r1"), &NoPages, None).unwrap_err();
    assert!(e.to_string().contains("not a ledger entry"), "{e}");
    assert!(m.current("rb/r1/evidence.json").is_none());
}

/// A bucket's chain and the same chain as a folder count their signed entries alike,
/// whatever the entries hold: one reading serves both.
#[test]
fn a_bucket_counts_its_signed_entries_as_the_same_chain_in_a_folder_does() {
    let m = Memory::default();
    let (sk, _) = keys();
    write_signed_run(&m, &record("rb", "r1"), &NoPages, None).unwrap();
    write_signed_run(&m, &record("rb", "r2"), &NoPages, Some(&sk)).unwrap();
    // Planted at the next positions: JSON that is no entry but says it was signed, and a
    // line that is no JSON.
    m.overwrite(&entry_name(3), br#"{"signature_sha256":"00"}"#);
    m.overwrite(&entry_name(4), b"not json");
    let counted = ledger_signing(&m).unwrap();
    assert_eq!((counted.entries, counted.signed), (4, 2));
    let folder = tempfile::tempdir().unwrap();
    materialise(&m, folder.path()).unwrap();
    let in_folder = crate::ledger_signing(folder.path()).unwrap();
    assert_eq!(
        (in_folder.entries, in_folder.signed),
        (counted.entries, counted.signed)
    );
}
