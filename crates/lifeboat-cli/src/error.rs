//! The one error type of the binary's commands, and the one place that prints an error.
//!
//! A command returns `Result<Exit, CliError>`: `Ok` with its exit code when it did its work
//! (a drill that failed did its work: it ran and wrote evidence), `Err` when it stopped
//! short. [`CliError::print`] writes the error's lines on stderr: lifeboat's own words after
//! `lifeboat: `, a message about a runbook file as it is (`FILE:LINE:COLUMN: message`, as
//! `lifeboat validate` writes it), each escaped like everything the binary prints.

use std::fmt::Display;

use tracing::Level;

use crate::exit_codes::Exit;

/// Why a command stopped short, and the exit code it stops with.
#[derive(Debug)]
pub struct CliError {
    exit: Exit,
    lines: Vec<Line>,
}

#[derive(Debug)]
struct Line {
    level: Level,
    text: String,
    /// Shown after `lifeboat: `; else it names its file itself.
    ours: bool,
}

impl CliError {
    /// Invalid input (exit 2); nothing was run or written.
    pub fn invalid_input(message: impl Display) -> Self {
        Self::new(Exit::InvalidInput, message, true)
    }

    /// The command could not complete (exit 3).
    pub fn could_not_complete(message: impl Display) -> Self {
        Self::new(Exit::CouldNotComplete, message, true)
    }

    /// A history store that could not be opened, then `consequence` ("nothing was run"): a
    /// database that cannot be reached (or refuses the login) could not complete (exit 3);
    /// anything else (a bad path, a newer schema) is invalid input (exit 2).
    pub fn store_then(
        e: &lifeboat_scheduler::store::StoreError,
        consequence: impl Display,
    ) -> Self {
        Self::store_message(e, format_args!("{e}; {consequence}"))
    }

    /// [`CliError::store_then`] without a consequence.
    pub fn store(e: lifeboat_scheduler::store::StoreError) -> Self {
        Self::store_message(&e, &e)
    }

    fn store_message(e: &lifeboat_scheduler::store::StoreError, message: impl Display) -> Self {
        if e.is_unreachable() {
            Self::could_not_complete(message)
        } else {
            Self::invalid_input(message)
        }
    }

    /// The evidence folder's signing check stopped the command before it started anything
    /// (`consequence`: "nothing was run"): exit 2 when the check refused (an unsigned drill
    /// into a folder of signed records), exit 3 when the ledger could not be read.
    pub fn signing(e: &lifeboat_app::SigningError, consequence: &str) -> Self {
        let message = format_args!("{e}; {consequence}");
        if e.is_refusal() {
            Self::invalid_input(message)
        } else {
            Self::could_not_complete(message)
        }
    }

    /// An error about a runbook file whose message names the file
    /// (`FILE:LINE:COLUMN: message`, one line per problem): printed as it is.
    pub fn in_file(exit: Exit, message: impl Display) -> Self {
        Self::new(exit, message, false)
    }

    fn new(exit: Exit, message: impl Display, ours: bool) -> Self {
        CliError {
            exit,
            lines: vec![Line {
                level: Level::ERROR,
                text: message.to_string(),
                ours,
            }],
        }
    }

    /// This error, and then `more`'s lines (its exit code is this one's).
    pub fn and(mut self, more: CliError) -> Self {
        self.lines.extend(more.lines);
        self
    }

    /// Shown as a warning: the command stopped as asked, but left something undone.
    pub fn warning(mut self) -> Self {
        for line in &mut self.lines {
            line.level = Level::WARN;
        }
        self
    }

    /// The exit code the command ends with.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// Writes the error on stderr, a line (or a JSON event, for a command that `logs`) per
    /// message. The only place an error of the binary is printed.
    pub fn print(&self, logs: bool) {
        for (level, text) in self.shown() {
            if logs {
                crate::logs::emit(level, format_args!("{text}"));
            } else {
                crate::write_stderr(format_args!("{text}\n"));
            }
        }
    }

    /// Each message as it is shown, at its level.
    fn shown(&self) -> impl Iterator<Item = (Level, String)> + '_ {
        self.lines.iter().map(|line| {
            let prefix = if line.ours { "lifeboat: " } else { "" };
            (line.level, format!("{prefix}{}", line.text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        assert_eq!(
            [
                Exit::Ok,
                Exit::DrillFailed,
                Exit::InvalidInput,
                Exit::CouldNotComplete
            ]
            .map(Exit::code),
            [0, 1, 2, 3]
        );
        use lifeboat_core::evidence::Outcome;
        assert_eq!(Exit::of(Outcome::Passed), Exit::Ok);
        assert_eq!(Exit::of(Outcome::Failed), Exit::DrillFailed);
        assert_eq!(Exit::of(Outcome::Error), Exit::CouldNotComplete);
    }

    #[test]
    fn lifeboats_words_are_prefixed_and_a_files_are_not() {
        let e = CliError::in_file(
            Exit::InvalidInput,
            "r.yaml:3:1: steps[0]: needs an operator",
        )
        .and(CliError::could_not_complete(
            "cannot start the async runtime",
        ));
        assert_eq!(e.exit(), Exit::InvalidInput);
        assert_eq!(
            e.shown().collect::<Vec<_>>(),
            [
                (
                    Level::ERROR,
                    "r.yaml:3:1: steps[0]: needs an operator".to_owned()
                ),
                (
                    Level::ERROR,
                    "lifeboat: cannot start the async runtime".to_owned()
                ),
            ]
        );
        let w = CliError::could_not_complete("stopped with 1 drill(s) still running").warning();
        assert_eq!(w.exit(), Exit::CouldNotComplete);
        assert_eq!(
            w.shown().collect::<Vec<_>>(),
            [(
                Level::WARN,
                "lifeboat: stopped with 1 drill(s) still running".to_owned()
            )]
        );
    }
}
