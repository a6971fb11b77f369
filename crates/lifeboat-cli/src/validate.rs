//! `lifeboat validate`.

use lifeboat_app::RunbookFile;

use crate::cli::ValidateArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

/// `lifeboat validate RUNBOOK...`: every problem of every file (the command's output, not an
/// error that stops it), then exit 0 or 2.
pub fn validate(args: ValidateArgs) -> Result<Exit, CliError> {
    let mut exit = Exit::Ok;
    for path in &args.runbooks {
        match RunbookFile::load(path) {
            Ok(l) => {
                outln!("{}: ok ({})", l.path, l.runbook.name);
                for (key, line, column) in lifeboat_runner::approvals_needing_operator(&l.runbook) {
                    errln!(
                        "{}:{line}:{column}: note: {key} has no `unattended` setting: only a manual \
                         drill (--interactive --operator NAME) can run this runbook",
                        l.path
                    );
                }
            }
            Err(e) => {
                errln!("{e}");
                exit = Exit::InvalidInput;
            }
        }
    }
    Ok(exit)
}
