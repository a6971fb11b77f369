//! `lifeboat manifest DIR [--algorithm sha256|blake3] [--output FILE] [--exclude ...]
//! [--decompressed]`: what `lifeboat_app::manifest` makes, printed or written.

use std::io::{BufWriter, Write};
use std::os::fd::AsFd;

use lifeboat_app::manifest::{Exclusions, ManifestJob};

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
    // What this process writes is never listed: `cd DIR && lifeboat manifest . >
    // SHA256SUMS` has the shell make SHA256SUMS before lifeboat starts.
    let mut exclusions = Exclusions::default();
    exclusions.being_written(std::io::stdout().as_fd());
    exclusions.being_written(std::io::stderr().as_fd());
    if let Some(output) = &args.output {
        exclusions.output(output);
    }
    for value in &args.exclude {
        exclusions.exclude(value);
    }
    let lines = lifeboat_app::manifest::build(&ManifestJob {
        dir: &args.dir,
        algorithm: args.algorithm.into(),
        jobs: args.jobs,
        decompressed: args.decompressed,
        exclusions: &exclusions,
    })
    .map_err(|e| {
        CliError::could_not_complete(format_args!("hashing {}: {e}", args.dir.display()))
    })?;
    if let Some(output) = &args.output {
        lifeboat_app::manifest::write(output, &lines).map_err(|e| {
            CliError::could_not_complete(format_args!(
                "cannot write the manifest: {e}; nothing was written"
            ))
        })?;
        return Ok(Exit::Ok);
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    // A write that fails (the reader went away, the disk behind a redirect is full) ends the
    // manifest short: exit 3, and nothing said on stderr, as before.
    if lifeboat_app::manifest::write_lines(&mut out, &lines)
        .and_then(|()| out.flush())
        .is_err()
    {
        return Ok(Exit::CouldNotComplete);
    }
    Ok(Exit::Ok)
}
