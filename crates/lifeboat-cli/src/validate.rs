//! `lifeboat validate`.

use lifeboat_app::runbook_file;
use lifeboat_core::runbook::Lint;

use crate::cli::ValidateArgs;
use crate::error::CliError;
use crate::exit_codes::Exit;

/// `lifeboat validate PATH...`: every runbook file a PATH names (a file, or a folder's
/// `*.yaml` / `*.yml` files, found as `lifeboat schedule` finds them), each checked as a drill
/// would check it, except that an unset `${VAR}` is a warning: runbooks are linted where their
/// secrets are not. Every problem of every file is printed (the command's output, not an error
/// that stops it), then exit 0, or 2 when any file has a problem.
pub fn validate(args: ValidateArgs) -> Result<Exit, CliError> {
    let mut exit = Exit::Ok;
    for path in &args.runbooks {
        let files = match lifeboat_app::runbooks::discover(std::slice::from_ref(path)) {
            Ok(files) => files,
            Err(e) => {
                errln!("{e}");
                exit = Exit::InvalidInput;
                continue;
            }
        };
        if files.is_empty() {
            errln!(
                "{}: no runbook files in this folder (*.yaml or *.yml, not hidden)",
                path.display()
            );
            exit = Exit::InvalidInput;
        }
        for file in files {
            match runbook_file::lint(&file) {
                Ok(lint) => {
                    if !report(&lint) {
                        exit = Exit::InvalidInput;
                    }
                }
                Err(e) => {
                    errln!("{e}");
                    exit = Exit::InvalidInput;
                }
            }
        }
    }
    Ok(exit)
}

/// Prints what linting one file found; `true` when the runbook is valid (unset variables
/// aside).
fn report(lint: &Lint) -> bool {
    let file = &lint.file;
    if let Some(e) = lint.error() {
        errln!("{e}");
    } else if let Some(name) = &lint.name {
        outln!("{file}: ok ({name})");
    }
    for p in &lint.unset {
        errln!(
            "{file}:{}:{}: warning: {} (a drill refuses this runbook until it is set)",
            p.line,
            p.column,
            p.message
        );
    }
    if let Some(runbook) = &lint.runbook {
        for (key, line, column) in lifeboat_runner::approvals_needing_operator(runbook) {
            errln!(
                "{file}:{line}:{column}: note: {key} has no `unattended` setting: only a manual \
                 drill (--interactive --operator NAME) can run this runbook"
            );
        }
    }
    lint.problems.is_empty()
}
