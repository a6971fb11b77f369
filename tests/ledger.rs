//! The evidence chain and its signatures: `lifeboat keygen`, `drill --signing-key`, and
//! `lifeboat evidence verify` against real drills, real minisign signatures (checked with the
//! Debian `minisign` CLI as well), and real tampering of the files on disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use lifeboat_testkit::{Format, sha256_hex};
use serde_json::Value;

use crate::util::{DAY1, Drill, Fixture, repo_root};

/// The `minisign` CLI, installed from Debian's package by `scripts/tools.sh` when missing.
pub fn minisign() -> Command {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let found = Command::new("minisign").arg("-v").output().is_ok();
        if !found {
            let out = Command::new("bash")
                .arg(repo_root().join("scripts/tools.sh"))
                .args(["install", "minisign"])
                .output()
                .expect("run scripts/tools.sh");
            assert!(
                out.status.success(),
                "cannot install minisign (scripts/tools.sh install minisign):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    Command::new("minisign")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub struct Keys {
    pub secret: PathBuf,
    pub public: PathBuf,
}

/// `lifeboat keygen --unencrypted` into the fixture folder.
pub fn keygen(fx: &Fixture, stem: &str) -> Keys {
    let keys = Keys {
        secret: fx.root().join(format!("{stem}.key")),
        public: fx.root().join(format!("{stem}.pub")),
    };
    let out = fx.run(&[
        "keygen",
        "--secret-key",
        keys.secret.to_str().unwrap(),
        "--public-key",
        keys.public.to_str().unwrap(),
        "--unencrypted",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    keys
}

/// A fixture with one good point and `n` signed drills into its evidence folder.
pub fn signed_drills(n: usize) -> (Fixture, Keys, Vec<Drill>) {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let keys = keygen(&fx, "lifeboat");
    let rb = fx.runbook();
    let drills = (0..n)
        .map(|_| {
            let d = fx.drill(
                &rb,
                &["--quiet", "--signing-key", keys.secret.to_str().unwrap()],
            );
            d.assert_code(0);
            d
        })
        .collect();
    (fx, keys, drills)
}

/// How `evidence verify` names a record: `RUNBOOK/RUN_ID`.
fn rec(d: &Drill) -> String {
    format!("drill-test/{}", d.evidence["run_id"].as_str().unwrap())
}

fn verify(fx: &Fixture, public: Option<&Path>) -> (i32, String) {
    let dir = fx.evidence_dir();
    let mut args = vec!["evidence", "verify", dir.to_str().unwrap()];
    if let Some(p) = public {
        args.extend(["--public-key", p.to_str().unwrap()]);
    }
    let out = fx.run(&args);
    (out.status.code().unwrap_or(-1), text(&out))
}

/// The lines of `verify`'s output that name `record`.
fn lines_about<'a>(out: &'a str, record: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.starts_with(&format!("{record}:")))
        .collect()
}

fn assert_named(out: &str, record: &str, words: &str) {
    assert!(
        lines_about(out, record).iter().any(|l| l.contains(words)),
        "no line names {record} with {words:?}\n{out}"
    );
}

fn ledger_lines(fx: &Fixture) -> Vec<String> {
    std::fs::read_to_string(fx.evidence_dir().join("ledger.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_ledger(fx: &Fixture, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(fx.evidence_dir().join("ledger.jsonl"), s).unwrap();
}

#[test]
fn each_record_is_chained_to_the_one_before_and_the_first_says_so() {
    let (fx, keys, drills) = signed_drills(3);
    let lines = ledger_lines(&fx);
    assert_eq!(lines.len(), 3);
    for (i, (line, d)) in lines.iter().zip(&drills).enumerate() {
        let e: Value = serde_json::from_str(line).unwrap();
        let bytes = std::fs::read(d.evidence_path.as_ref().unwrap()).unwrap();
        assert_eq!(e["seq"], i as u64 + 1);
        assert_eq!(e["first"], i == 0, "{line}");
        assert_eq!(e["run_id"], d.evidence["run_id"]);
        assert_eq!(
            e["sha256"],
            sha256_hex(&bytes),
            "hash of evidence.json's bytes"
        );
        let sig = std::fs::read(d.run_dir().join("evidence.json.minisig")).unwrap();
        assert_eq!(e["signature_sha256"], sha256_hex(&sig));
        if i == 0 {
            assert_eq!(e["previous_sha256"], Value::Null);
            assert_eq!(e["previous_entry_sha256"], Value::Null);
        } else {
            let prev_record = std::fs::read(drills[i - 1].evidence_path.as_ref().unwrap());
            assert_eq!(e["previous_sha256"], sha256_hex(&prev_record.unwrap()));
            assert_eq!(
                e["previous_entry_sha256"],
                sha256_hex(lines[i - 1].as_bytes())
            );
        }
    }
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("INTACT  3 records"), "{out}");
    let head = sha256_hex(lines[2].as_bytes());
    assert!(
        out.contains(&format!("head: entry 3, sha256 {head}")),
        "{out}"
    );
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signatures NOT checked"), "{out}");
}

#[test]
fn signatures_verify_with_the_minisign_cli_and_name_run_runbook_outcome() {
    let fx = Fixture::new();
    // A failed drill: its outcome must be in the signed comment too.
    fx.standard_point(DAY1, Format::Sha256sum)
        .flip_byte("etc/app.conf", 0);
    let keys = keygen(&fx, "lifeboat");
    let d = fx.drill(
        &fx.runbook(),
        &["--quiet", "--signing-key", keys.secret.to_str().unwrap()],
    );
    d.assert_code(1);
    let record = d.evidence_path.clone().unwrap();
    let out = minisign()
        .arg("-Vm")
        .arg(&record)
        .arg("-p")
        .arg(&keys.public)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = d.evidence["run_id"].as_str().unwrap();
    for want in [
        format!("run_id:{run_id}"),
        "runbook:drill-test".into(),
        "outcome:failed".into(),
        "seq:1".into(),
    ] {
        assert!(
            stdout.contains(&want),
            "{want} not in the trusted comment\n{stdout}"
        );
    }
    // The ledger's signature (the signed head) verifies with the CLI as well.
    let out = minisign()
        .arg("-Vm")
        .arg(fx.evidence_dir().join("ledger.jsonl"))
        .arg("-p")
        .arg(&keys.public)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("entries:1"));

    // And the CLI must reject the record once a byte changes.
    let mut bytes = std::fs::read(&record).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&record, bytes).unwrap();
    let out = minisign()
        .arg("-Vm")
        .arg(&record)
        .arg("-p")
        .arg(&keys.public)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn a_key_made_by_the_minisign_cli_signs_for_lifeboat() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let (sk, pk) = (fx.root().join("cli.key"), fx.root().join("cli.pub"));
    let out = minisign()
        .args(["-G", "-W", "-s"])
        .arg(&sk)
        .arg("-p")
        .arg(&pk)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    fx.drill(
        &fx.runbook(),
        &["--quiet", "--signing-key", sk.to_str().unwrap()],
    )
    .assert_code(0);
    let (code, out) = verify(&fx, Some(&pk));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_encrypted_key_takes_its_password_from_the_environment_and_never_shows_it() {
    const PASSWORD: &str = "correct-horse-battery-staple-7731";
    const WRONG: &str = "wrong-horse-battery-staple-0042";
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let (sk, pk) = (fx.root().join("enc.key"), fx.root().join("enc.pub"));
    let keygen = |env: Option<&str>, extra: &[&str]| {
        let mut c = crate::util::lifeboat();
        c.current_dir(fx.root())
            .env_remove("LIFEBOAT_KEY_PASSWORD")
            .args(["keygen", "--secret-key", sk.to_str().unwrap()])
            .args(["--public-key", pk.to_str().unwrap()])
            .args(extra);
        if let Some(v) = env {
            c.env("LB_TEST_PW", v);
        }
        c.output().unwrap()
    };
    // No password and no --unencrypted: refused, nothing written.
    let out = keygen(None, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("LIFEBOAT_KEY_PASSWORD"),
        "{}",
        text(&out)
    );
    assert!(!sk.exists() && !pk.exists());

    let out = keygen(Some(PASSWORD), &["--key-password-env", "LB_TEST_PW"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(PASSWORD));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sk).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "secret key readable by others");
    }
    // The key is encrypted: its file does not hold the password.
    assert!(!std::fs::read_to_string(&sk).unwrap().contains(PASSWORD));
    // Existing keys are never overwritten silently.
    let out = keygen(Some(PASSWORD), &["--key-password-env", "LB_TEST_PW"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));

    let drill = |pw: Option<&str>| {
        let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
        let mut c = fx.drill_command(
            &runbook,
            &["--quiet", "--signing-key", sk.to_str().unwrap()],
        );
        c.env_remove("LIFEBOAT_KEY_PASSWORD");
        if let Some(v) = pw {
            c.env("LIFEBOAT_KEY_PASSWORD", v);
        }
        c.output().unwrap()
    };
    // Missing or wrong password: invalid input, nothing run or written, no password shown.
    let out = drill(None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is encrypted"), "{}", text(&out));
    let out = drill(Some(WRONG));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("wrong password"), "{}", text(&out));
    assert!(!text(&out).contains(WRONG), "{}", text(&out));
    assert!(
        !fx.evidence_dir().exists(),
        "evidence written without a usable key"
    );

    let out = drill(Some(PASSWORD));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(PASSWORD));
    let record = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = minisign()
        .args(["-Vm", &record, "-p"])
        .arg(&pk)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let (code, out) = verify(&fx, Some(&pk));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_edited_byte_is_named() {
    let (fx, keys, d) = signed_drills(3);
    let path = d[1].evidence_path.clone().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // One byte: an auditor-relevant one.
    let edited = text.replacen("\"passed\"", "\"pasSed\"", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    for key in [Some(keys.public.as_path()), None] {
        let (code, out) = verify(&fx, key);
        assert_eq!(code, 1, "{out}");
        assert_named(&out, &rec(&d[1]), "edited");
        assert!(lines_about(&out, &rec(&d[0])).is_empty(), "{out}");
        assert!(lines_about(&out, &rec(&d[2])).is_empty(), "{out}");
        if key.is_some() {
            assert_named(&out, &rec(&d[1]), "bad signature");
        }
    }
}

#[test]
fn a_deleted_record_is_named() {
    let (fx, keys, d) = signed_drills(3);
    std::fs::remove_dir_all(d[1].run_dir()).unwrap();
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[1]), "deleted");
    assert!(lines_about(&out, &rec(&d[0])).is_empty(), "{out}");
}

#[test]
fn a_record_deleted_with_its_ledger_entry_is_caught_by_the_chain() {
    let (fx, keys, d) = signed_drills(3);
    std::fs::remove_dir_all(d[1].run_dir()).unwrap();
    let mut lines = ledger_lines(&fx);
    lines.remove(1);
    write_ledger(&fx, &lines);
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[2]), "chain broken");
    assert_named(&out, &rec(&d[1]), "deleted from the ledger");
    assert!(out.contains("ledger.jsonl: entries deleted"), "{out}");
}

#[test]
fn two_swapped_ledger_entries_are_named_out_of_order() {
    let (fx, keys, d) = signed_drills(4);
    let mut lines = ledger_lines(&fx);
    lines.swap(1, 2);
    write_ledger(&fx, &lines);
    for key in [Some(keys.public.as_path()), None] {
        let (code, out) = verify(&fx, key);
        assert_eq!(code, 1, "{out}");
        assert_named(&out, &rec(&d[1]), "out of order");
        assert_named(&out, &rec(&d[2]), "out of order");
        assert!(lines_about(&out, &rec(&d[0])).is_empty(), "{out}");
    }
}

#[test]
fn two_swapped_records_are_named() {
    let (fx, keys, d) = signed_drills(3);
    let (a, b) = (d[0].run_dir(), d[1].run_dir());
    for f in ["evidence.json", "evidence.json.minisig"] {
        let tmp = fx.root().join("swap");
        std::fs::rename(a.join(f), &tmp).unwrap();
        std::fs::rename(b.join(f), a.join(f)).unwrap();
        std::fs::rename(&tmp, b.join(f)).unwrap();
    }
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[0]), "edited");
    assert_named(&out, &rec(&d[1]), "edited");
    assert!(lines_about(&out, &rec(&d[2])).is_empty(), "{out}");
}

#[test]
fn a_truncated_tail_is_detected_by_the_signed_head() {
    let (fx, keys, d) = signed_drills(3);
    let mut lines = ledger_lines(&fx);
    lines.pop();
    write_ledger(&fx, &lines);
    // The record is removed too: only the signed head still knows it existed.
    std::fs::remove_dir_all(d[2].run_dir()).unwrap();
    for key in [Some(keys.public.as_path()), None] {
        let (code, out) = verify(&fx, key);
        assert_eq!(code, 1, "{out}");
        let truncated = out
            .lines()
            .find(|l| l.starts_with("ledger.jsonl: truncated"))
            .unwrap_or_else(|| panic!("no truncation reported\n{out}"));
        assert!(truncated.contains("3 entries"), "{truncated}");
        assert!(truncated.contains(&rec(&d[2])), "{truncated}");
    }
}

#[test]
fn a_truncated_unsigned_ledger_names_the_records_it_lost() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let rb = fx.runbook();
    let d: Vec<Drill> = (0..3).map(|_| fx.drill(&rb, &["--quiet"])).collect();
    assert!(!fx.evidence_dir().join("ledger.jsonl.minisig").exists());
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 0, "{out}");
    let mut lines = ledger_lines(&fx);
    lines.pop();
    write_ledger(&fx, &lines);
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[2]), "not in the ledger");
}

#[test]
fn a_record_re_signed_with_another_key_is_named() {
    let (fx, keys, d) = signed_drills(3);
    let (osk, _opk) = (fx.root().join("other.key"), fx.root().join("other.pub"));
    let out = minisign()
        .args(["-G", "-W", "-s"])
        .arg(&osk)
        .arg("-p")
        .arg(&_opk)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The forger copies the original trusted comment and signs with their own key.
    let record = d[1].evidence_path.clone().unwrap();
    let sig_path = d[1].run_dir().join("evidence.json.minisig");
    let original = std::fs::read_to_string(&sig_path).unwrap();
    let comment = original
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))
        .unwrap()
        .to_string();
    let out = minisign()
        .args(["-S", "-W", "-s"])
        .arg(&osk)
        .arg("-m")
        .arg(&record)
        .args(["-t", &comment])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(std::fs::read_to_string(&sig_path).unwrap(), original);
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[1]), "signed with another key");
    assert!(lines_about(&out, &rec(&d[0])).is_empty(), "{out}");
    assert!(lines_about(&out, &rec(&d[2])).is_empty(), "{out}");
}

#[test]
fn concurrent_drills_never_fork_the_chain() {
    const N: usize = 8;
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let keys = keygen(&fx, "lifeboat");
    let runbook = fx.write("runbook.yaml", &fx.runbook().yaml());
    let children: Vec<_> = (0..N)
        .map(|_| {
            fx.drill_command(
                &runbook,
                &["--quiet", "--signing-key", keys.secret.to_str().unwrap()],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut records = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        records.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let lines = ledger_lines(&fx);
    assert_eq!(lines.len(), N, "{lines:#?}");
    let mut chained: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let e: Value = serde_json::from_str(l).unwrap();
            assert_eq!(e["seq"], i as u64 + 1);
            fx.evidence_dir()
                .join(e["record"].as_str().unwrap())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    chained.sort();
    records.sort();
    assert_eq!(chained, records, "each drill chained exactly once");
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("INTACT  {N} records")), "{out}");
}

#[test]
fn verify_refuses_what_is_not_an_evidence_folder() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.evidence_dir()).unwrap();
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is it an evidence folder"), "{out}");
}

#[test]
fn a_deleted_signature_is_named() {
    let (fx, keys, d) = signed_drills(2);
    std::fs::remove_file(d[0].run_dir().join("evidence.json.minisig")).unwrap();
    for key in [Some(keys.public.as_path()), None] {
        let (code, out) = verify(&fx, key);
        assert_eq!(code, 1, "{out}");
        assert_named(&out, &rec(&d[0]), "signature deleted");
        assert!(lines_about(&out, &rec(&d[1])).is_empty(), "{out}");
    }
}

/// An unsigned record chained after signed ones: what a lifeboat older than the refusal
/// below wrote, or any writer without the key. Written with lifeboat's own writer, as a copy
/// of `after`'s record under a new run id; returns how `evidence verify` names it.
pub fn chain_an_unsigned_record(fx: &Fixture, after: &Drill) -> String {
    let mut ev: lifeboat_core::evidence::Evidence =
        serde_json::from_slice(&std::fs::read(after.evidence_path.as_ref().unwrap()).unwrap())
            .unwrap();
    ev.run_id = format!("{}-unsigned", ev.run_id);
    lifeboat_evidence::write_run(&fx.evidence_dir(), &ev, &lifeboat_report::RunPages).unwrap();
    format!("drill-test/{}", ev.run_id)
}

#[test]
fn an_unsigned_drill_into_a_folder_of_signed_records_is_refused_before_anything_runs() {
    let (fx, keys, _) = signed_drills(1);
    let ran = fx.root().join("ran");
    let rb = crate::util::Runbook {
        extra: format!(
            "steps:\n  - restore: {{}}\n  - run: [\"touch\", \"{}\"]\n",
            ran.display()
        ),
        ..fx.runbook()
    };
    let before = ledger_lines(&fx);
    let refused = fx.drill(&rb, &["--quiet"]);
    refused.assert_code(2);
    for words in [
        "signed",
        "--signing-key",
        "LIFEBOAT_SIGNING_KEY",
        "nothing was run",
    ] {
        assert!(
            refused.stderr.contains(words),
            "{words:?}: {}",
            refused.context()
        );
    }
    assert!(!ran.exists(), "a step ran");
    assert_eq!(ledger_lines(&fx), before);
    assert_eq!(
        std::fs::read_dir(fx.evidence_dir().join("drill-test"))
            .unwrap()
            .count(),
        1,
        "a record was written"
    );
    assert!(
        std::fs::read_dir(fx.scratch_dir())
            .unwrap()
            .next()
            .is_none()
    );

    // The key may come from the environment, as a daemon's unit file would give it.
    let path = fx.write("runbook.yaml", &rb.yaml());
    let out = fx
        .drill_command(&path, &["--quiet"])
        .env("LIFEBOAT_SIGNING_KEY", &keys.secret)
        .output()
        .unwrap();
    let signed = Drill::new(out, &fx.evidence_dir());
    signed.assert_code(0);
    assert!(ran.exists());
    assert!(signed.run_dir().join("evidence.json.minisig").is_file());
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 0, "{out}");

    // The daemon refuses the same way, before it starts.
    let daily = crate::util::Runbook {
        extra: "schedule: \"0 2 * * *\"\n".into(),
        ..fx.runbook()
    };
    let path = fx.write("daily.yaml", &daily.yaml());
    let (mut daemon, stderr) = crate::history::start_schedule(&fx, &[path.as_os_str()]);
    let (code, _) = crate::util::wait_exit(&mut daemon, std::time::Duration::from_secs(30));
    let stderr = std::fs::read_to_string(stderr).unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--signing-key"), "{stderr}");
}

#[test]
fn an_unsigned_record_after_signed_ones_is_reported_with_the_key() {
    let (fx, keys, d) = signed_drills(2);
    let unsigned = chain_an_unsigned_record(&fx, &d[1]);
    assert_eq!(ledger_lines(&fx).len(), 3, "chained even without a key");
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &unsigned, "not signed");
    assert_named(&out, &unsigned, "after the signed head (entry 2)");
    assert!(lines_about(&out, &rec(&d[1])).is_empty(), "{out}");
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 0, "{out}");
}

/// An attacker without the secret key edits a record and recomputes every hash of the ledger
/// after it. Without the public key that passes (the documented limit); with it, the record's
/// signature, the next records' signed positions and the signed head all give it away.
#[test]
fn a_consistently_rewritten_ledger_is_caught_only_with_the_public_key() {
    let (fx, keys, d) = signed_drills(3);
    let path = d[1].evidence_path.clone().unwrap();
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\"passed\"", "\"pasSed\"", 1);
    std::fs::write(&path, &edited).unwrap();
    let mut lines: Vec<String> = Vec::new();
    let mut prev_record: Option<String> = None;
    for (i, l) in ledger_lines(&fx).iter().enumerate() {
        let mut e: Value = serde_json::from_str(l).unwrap();
        if i == 1 {
            e["sha256"] = sha256_hex(edited.as_bytes()).into();
        }
        if i > 0 {
            e["previous_sha256"] = prev_record.clone().into();
            e["previous_entry_sha256"] = sha256_hex(lines[i - 1].as_bytes()).into();
        }
        prev_record = e["sha256"].as_str().map(str::to_owned);
        lines.push(serde_json::to_string(&e).unwrap());
    }
    write_ledger(&fx, &lines);
    // Even the unauthenticated head in the ledger's signature catches it so far...
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not authenticated"), "{out}");
    // ...so the attacker drops the ledger's signature too.
    std::fs::remove_file(fx.evidence_dir().join("ledger.jsonl.minisig")).unwrap();
    let (code, out) = verify(&fx, None);
    assert_eq!(code, 0, "hashes alone cannot catch this: {out}");
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert_named(&out, &rec(&d[1]), "bad signature");
    assert_named(&out, &rec(&d[2]), "rewritten");
    assert!(out.contains("ledger.jsonl.minisig: missing"), "{out}");
}

#[test]
fn a_ledger_head_re_signed_with_another_key_is_named() {
    let (fx, keys, _d) = signed_drills(2);
    let (osk, opk) = (fx.root().join("other.key"), fx.root().join("other.pub"));
    let out = minisign()
        .args(["-G", "-W", "-s"])
        .arg(&osk)
        .arg("-p")
        .arg(&opk)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ledger = fx.evidence_dir().join("ledger.jsonl");
    let sig = fx.evidence_dir().join("ledger.jsonl.minisig");
    let comment = std::fs::read_to_string(&sig)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: ").map(str::to_owned))
        .unwrap();
    let out = minisign()
        .args(["-S", "-W", "-s"])
        .arg(&osk)
        .arg("-m")
        .arg(&ledger)
        .args(["-t", &comment])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ledger.jsonl.minisig:") && l.contains("another key")),
        "{out}"
    );
}

/// `lifeboat schedule --signing-key`: two runbooks due every second run side by side
/// (`--max-concurrent 2`) in one process, both writing into one evidence folder. Every record
/// is signed, chained once, and the folder verifies.
#[test]
fn scheduled_drills_are_signed_and_chained_without_forking() {
    let fx = Fixture::new();
    fx.standard_point(DAY1, Format::Sha256sum);
    let keys = keygen(&fx, "lifeboat");
    let mut paths = Vec::new();
    for name in ["sched-a", "sched-b"] {
        let rb = crate::util::Runbook {
            name: name.into(),
            rpo: None,
            extra: "schedule: \"* * * * * *\"\nstart_window: 30s\n".into(),
            ..fx.runbook()
        };
        paths.push(fx.write(&format!("{name}.yaml"), &rb.yaml()));
    }
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--max-concurrent".as_ref(),
        "2".as_ref(),
        "--signing-key".as_ref(),
        keys.secret.as_os_str(),
    ];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let (mut daemon, stderr_path) = crate::history::start_schedule(&fx, &args);
    crate::history::wait_for_runs(&fx, 6, &stderr_path);
    crate::util::signal(&daemon.0, "-TERM");
    let status = daemon.0.wait().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let lines = ledger_lines(&fx);
    let mut records: Vec<String> = Vec::new();
    for rb in ["sched-a", "sched-b"] {
        for run in std::fs::read_dir(fx.evidence_dir().join(rb)).unwrap() {
            let dir = run.unwrap().path();
            assert!(
                dir.join("evidence.json.minisig").is_file(),
                "{} is not signed",
                dir.display()
            );
            assert!(dir.join("report.html").is_file(), "{}", dir.display());
            records.push(format!(
                "{rb}/{}/evidence.json",
                dir.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    records.sort();
    let mut chained: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["record"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    chained.sort();
    assert_eq!(chained, records, "each record chained exactly once");
    let (code, out) = verify(&fx, Some(&keys.public));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("INTACT  {} records", records.len())),
        "{out}"
    );
}
