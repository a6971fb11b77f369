//! `lifeboat keygen`: a minisign key pair for signing evidence.

use std::path::Path;

use lifeboat_evidence::Replace;
use lifeboat_evidence::sign::{self, Password};

use crate::cli::KeygenArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

pub fn keygen(args: KeygenArgs) -> Result<Exit, CliError> {
    let invalid = |m: String| CliError::invalid_input(m);
    if args.secret_key == args.public_key {
        return Err(invalid(
            "--secret-key and --public-key name the same file".into(),
        ));
    }
    if !args.force {
        for p in [&args.secret_key, &args.public_key] {
            // A dangling link counts: writing through it is what must not happen.
            if p.symlink_metadata().is_ok() {
                return Err(invalid(format!(
                    "{} exists: pass --force to replace it",
                    p.display()
                )));
            }
        }
    }
    let password = if args.unencrypted {
        None
    } else {
        let pw = Password::from_env(&args.key_password_env);
        match pw.value {
            Some(v) => Some(v),
            None => {
                return Err(invalid(format!(
                    "set the secret key's password in ${} (or name another variable with \
                     --key-password-env), or pass --unencrypted",
                    pw.var
                )));
            }
        }
    };
    let kp = sign::generate(password.as_deref()).map_err(CliError::could_not_complete)?;
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| CliError::could_not_complete(format_args!("cannot write {p}: {e}"))
    };
    // Without --force nothing is replaced, not even a file that appeared since the check.
    let replace = if args.force {
        Replace::Allow
    } else {
        Replace::Never
    };
    lifeboat_evidence::atomic_write_with(
        &args.secret_key,
        kp.secret_key.as_bytes(),
        0o600,
        replace,
    )
    .map_err(io(&args.secret_key))?;
    lifeboat_evidence::atomic_write_with(
        &args.public_key,
        kp.public_key.as_bytes(),
        0o644,
        replace,
    )
    .map_err(io(&args.public_key))?;
    outln!(
        "key id {}{}\nsecret key: {}\npublic key: {}\ncheck a record with: minisign -Vm evidence.json -P {}",
        kp.key_id,
        if password.is_some() {
            ""
        } else {
            " (secret key NOT encrypted)"
        },
        args.secret_key.display(),
        args.public_key.display(),
        kp.public_key_base64
    );
    Ok(Exit::Ok)
}
