//! `lifeboat-upload`: copies a local backup set to one of the loopback servers that
//! `scripts/servers.sh start` runs, for `examples/run-cloud-example.sh`.
//!
//! Creates the bucket or container, then uploads every file under DIR to `PREFIX/RELATIVE`
//! with the server's own credentials from the env file. Test tooling, not for real accounts.

use std::path::PathBuf;
use std::process::ExitCode;

use lifeboat_testkit::cloud::Servers;

const USAGE: &str = "\
usage: lifeboat-upload --servers-env FILE --to moto|s3s-fs|azurite --bucket NAME [--prefix P] DIR

Creates bucket (or container) NAME on the server named by --to, as described by the env file
`scripts/servers.sh start` wrote, and uploads every file under DIR to P/RELATIVE/PATH.";

fn main() -> ExitCode {
    let mut env = None;
    let mut to = None;
    let mut bucket = None;
    let mut prefix = String::new();
    let mut dir = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--servers-env" => env = it.next().map(PathBuf::from),
            "--to" => to = it.next(),
            "--bucket" => bucket = it.next(),
            "--prefix" => prefix = it.next().unwrap_or_default(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => return usage(&format!("unexpected argument {a}")),
        }
    }
    let (Some(env), Some(to), Some(bucket), Some(dir)) = (env, to, bucket, dir) else {
        return usage("--servers-env, --to, --bucket and DIR are required");
    };
    let servers = match Servers::from_env_file(&env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lifeboat-upload: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (count, url) = match to.as_str() {
        "moto" => (
            servers.moto.upload_dir(&bucket, &prefix, &dir),
            servers.moto.url(&bucket, &prefix),
        ),
        "s3s-fs" => (
            servers.s3s.upload_dir(&bucket, &prefix, &dir),
            servers.s3s.url(&bucket, &prefix),
        ),
        "azurite" => (
            servers.azurite.upload_dir(&bucket, &prefix, &dir),
            servers.azurite.url(&bucket, &prefix),
        ),
        other => return usage(&format!("unknown server {other}")),
    };
    println!("uploaded {count} files from {} to {url}", dir.display());
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("lifeboat-upload: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
