//! `lifeboat manifest DIR --algorithm sha256|blake3`.

use std::io::{BufWriter, Write};

use crate::cli::ManifestArgs;
use crate::exit_codes;

pub fn manifest(args: ManifestArgs) -> u8 {
    if !args.dir.is_dir() {
        errln!("lifeboat: {} is not a folder", args.dir.display());
        return exit_codes::INVALID_INPUT;
    }
    let entries = match lifeboat_hash::hash_tree(&args.dir, args.algorithm.into(), args.jobs) {
        Ok(e) => e,
        Err(e) => {
            errln!("lifeboat: hashing {}: {e}", args.dir.display());
            return exit_codes::COULD_NOT_COMPLETE;
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (path, digest) in &entries {
        if writeln!(
            out,
            "{}",
            lifeboat_core::manifest::format_line(digest, path)
        )
        .is_err()
        {
            return exit_codes::COULD_NOT_COMPLETE;
        }
    }
    if out.flush().is_err() {
        return exit_codes::COULD_NOT_COMPLETE;
    }
    exit_codes::OK
}
