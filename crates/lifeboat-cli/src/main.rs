//! The `lifeboat` binary: command-line parsing, logging set-up, printing and exit codes. Glue
//! only: what each command does is `lifeboat-app`'s, and the crates below it do the work.
//!
//! Every command returns `Result<Exit, CliError>` (`exit_codes`, `error`); `main` turns it
//! into the process's exit code and prints the error, if any, in the one place errors are
//! printed.

use std::process::ExitCode;

use clap::Parser;

/// `print!` that never panics. A reader that goes away (`lifeboat drill … | head -1`) is not a
/// failure of the command: a drill's verdict is already in its evidence and its exit code.
///
/// Every character a terminal would act on except the line feed is shown escaped
/// (`lifeboat_core::text`): names from a backup or an evidence folder cannot steer the
/// terminal even where a caller forgot to escape one. A caller still escapes each such value
/// itself ([`lifeboat_core::text::Escaped`]), since only it can tell a line feed in a name
/// from one between lines. `print!`, `println!`, `eprint!` and `eprintln!` are refused by
/// clippy in this crate (`clippy.toml`) so that everything goes through here.
macro_rules! out {
    ($($t:tt)*) => { $crate::write_stdout(format_args!($($t)*)) };
}

/// `println!` that never panics; see [`out!`].
macro_rules! outln {
    ($($t:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` for commands that do not log (`validate`, `history`, `report`, ...): escapes
/// as [`out!`] does; `drill` and `schedule` use `diag!`, which also speaks JSON.
macro_rules! errln {
    ($($t:tt)*) => { $crate::write_stderr(format_args!("{}\n", format_args!($($t)*))) };
}

#[cfg(test)]
mod captured;
mod cli;
mod color;
mod drill;
mod error;
mod evidence_cmd;
mod exit_codes;
mod history;
mod keygen;
mod logs;
mod manifest;
mod operator;
mod plan;
mod progress;
mod report_cmd;
mod schedule;
mod validate;

use error::CliError;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // The daemon reports what it starts and skips (info) unless asked to be quieter.
    let verbose = match args.command {
        cli::Command::Schedule(_) => args.verbose.max(1),
        _ => args.verbose,
    };
    logs::init(verbose, args.log_format);
    // `drill` and `schedule` speak through the log (JSON with `--log-format json`).
    let logs = matches!(
        args.command,
        cli::Command::Drill(_) | cli::Command::Schedule(_)
    );
    let result = match args.command {
        cli::Command::Validate(a) => validate::validate(a),
        cli::Command::Drill(a) => drill::drill(a),
        cli::Command::Plan(a) => plan::plan(a),
        cli::Command::Manifest(a) => manifest::manifest(a),
        cli::Command::Schedule(a) => schedule::schedule(a),
        cli::Command::History(a) => history::history(a),
        cli::Command::Status(a) => history::status(a),
        cli::Command::Keygen(a) => keygen::keygen(a),
        cli::Command::Evidence(cli::EvidenceCommand::Verify(a)) => evidence_cmd::verify(a),
        cli::Command::Report(a) => report_cmd::report(a),
    };
    let exit = result.unwrap_or_else(|e| {
        e.print(logs);
        e.exit()
    });
    ExitCode::from(exit.code())
}

/// The multi-threaded tokio runtime `drill` and `schedule` run on.
fn async_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::could_not_complete(format_args!("cannot start the async runtime: {e}"))
        })
}

/// Waits for `work` on a runtime of its own, for the commands that run nothing concurrently
/// but talk to a store whose operations are futures (`history`, `status`, `report`).
/// An error of the work's, or a runtime that cannot start, is a command that could not
/// complete.
fn block_on<T, E: std::fmt::Display>(
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::could_not_complete(format_args!("cannot start the async runtime: {e}"))
        })?;
    runtime.block_on(work).map_err(CliError::could_not_complete)
}

/// Writes to standard output, control characters other than line feeds escaped (see
/// [`out!`]). A closed pipe is ignored; any other failure (a full disk behind a redirect) is
/// said on stderr, once per write.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    write_stdout_styled(&lifeboat_core::text::escape_lines(&args.to_string()));
}

/// Writes `text` to standard output as it is, escape sequences included: only for text that
/// lifeboat styled itself (the drill verdict's colours) and in which every value from outside
/// went through [`lifeboat_core::text::Escaped`].
fn write_stdout_styled(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        write_stderr(format_args!(
            "lifeboat: cannot write to standard output: {e}\n"
        ));
    }
}

/// Writes to standard error, control characters other than line feeds escaped. Never panics.
fn write_stderr(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = args.to_string();
    let _ = std::io::stderr()
        .lock()
        .write_all(lifeboat_core::text::escape_lines(&text).as_bytes());
}
