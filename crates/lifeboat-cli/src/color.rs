//! Whether lifeboat may colour what it writes to a stream: the rule clap already applies to
//! `--help`, through `anstream`, so the verdict and the logs follow the same settings.
//!
//! Never when `NO_COLOR` is set and not empty (<https://no-color.org>); always when
//! `CLICOLOR_FORCE` is; never with `CLICOLOR=0`; otherwise only when the stream is a terminal
//! whose `TERM` is set and not `dumb`. Journald, log files and pipes get plain text.

use anstream::{AutoStream, ColorChoice, stream::RawStream};

/// Whether standard output may carry colour codes (the drill verdict).
pub fn stdout() -> bool {
    on(&std::io::stdout())
}

/// Whether standard error may carry colour codes (text logs).
pub fn stderr() -> bool {
    on(&std::io::stderr())
}

fn on<S: RawStream>(stream: &S) -> bool {
    AutoStream::choice(stream) != ColorChoice::Never
}
