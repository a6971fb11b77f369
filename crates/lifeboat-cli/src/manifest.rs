//! `lifeboat manifest DIR --algorithm sha256|blake3`.

use std::io::{BufWriter, Write};

use crate::cli::ManifestArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

pub fn manifest(args: ManifestArgs) -> Result<Exit, CliError> {
    if !args.dir.is_dir() {
        return Err(CliError::invalid_input(format_args!(
            "{} is not a folder",
            args.dir.display()
        )));
    }
    let entries =
        lifeboat_hash::hash_tree(&args.dir, args.algorithm.into(), args.jobs).map_err(|e| {
            CliError::could_not_complete(format_args!("hashing {}: {e}", args.dir.display()))
        })?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    // A write that fails (the reader went away, the disk behind a redirect is full) ends the
    // manifest short: exit 3, and nothing said on stderr, as before.
    for (path, digest) in &entries {
        if writeln!(
            out,
            "{}",
            lifeboat_core::manifest::format_line(digest, path)
        )
        .is_err()
        {
            return Ok(Exit::CouldNotComplete);
        }
    }
    if out.flush().is_err() {
        return Ok(Exit::CouldNotComplete);
    }
    Ok(Exit::Ok)
}
