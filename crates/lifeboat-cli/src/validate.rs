//! `lifeboat validate`.

use lifeboat_app::RunbookFile;

use crate::cli::ValidateArgs;
use crate::exit_codes;

/// `lifeboat validate RUNBOOK...`: every problem of every file, then exit 0 or 2.
pub fn validate(args: ValidateArgs) -> u8 {
    let mut code = exit_codes::OK;
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
                code = exit_codes::INVALID_INPUT;
            }
        }
    }
    code
}
