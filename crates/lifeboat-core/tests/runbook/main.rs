//! Runbook parsing through the public API, as `lifeboat validate` and `lifeboat drill` use it:
//! invalid runbooks with their exact messages, valid ones with the exact value they parse to,
//! and every runbook the project ships.

mod input;
mod invalid;
mod lint;
mod restic;
mod shipped;
mod valid;

use lifeboat_core::runbook::{self, Runbook, RunbookError};

/// Secret values the test environment hands out; no message may ever contain them.
const SECRETS: [&str; 4] = [
    "AKIA-TEST-ID",
    "s3cr3t-access-key",
    "https://hooks.example.com/SECRET-TOKEN",
    "restic-SECRET-password",
];

/// A fixed environment, so tests never depend on the shell they run in.
fn env(name: &str) -> Option<String> {
    match name {
        "AWS_ACCESS_KEY_ID" => Some(SECRETS[0].to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRETS[1].to_owned()),
        "WEBHOOK_URL" => Some(SECRETS[2].to_owned()),
        "RESTIC_PASSWORD" => Some(SECRETS[3].to_owned()),
        "NOT_A_BOOL" => Some("sometimes".to_owned()),
        "ALLOW_HTTP" => Some("TRUE".to_owned()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Runbook, RunbookError> {
    runbook::parse(text, "rb.yaml", &env)
}

/// The error as the CLI prints it: one `FILE:LINE:COLUMN: message` per line. Fails the test
/// if the runbook parsed, or if any message leaks a secret.
fn errors(text: &str) -> String {
    let err = match parse(text) {
        Ok(r) => panic!("expected problems, parsed to {r:#?}"),
        Err(e) => e.to_string(),
    };
    for secret in SECRETS {
        assert!(!err.contains(secret), "a message leaks {secret:?}:\n{err}");
    }
    err
}
