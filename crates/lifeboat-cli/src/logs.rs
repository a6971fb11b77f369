//! stderr: log events (tracing) as text or JSON lines, and the messages a person reads.
//!
//! With `--log-format json` every line `lifeboat drill` and `lifeboat schedule` write to stderr
//! is one JSON object, so a log shipper (journald, Vector, Loki) never meets a stray line: the
//! messages that are plain `eprintln!` text otherwise go through [`diag!`] and become events.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Level;

use crate::cli::LogFormat;

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets up the tracing subscriber on stderr. `LIFEBOAT_LOG` (an `EnvFilter`) overrides the
/// level `verbose` picks.
pub fn init(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("LIFEBOAT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only for a person at a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => {
            JSON.store(true, Ordering::Relaxed);
            // Fields at the top level (`{"timestamp","level","message","runbook",...}`), as
            // log pipelines index them; no span lists, which lifeboat does not use.
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .init();
        }
    }
}

/// `--log-format json` is in effect: stderr is for JSON lines only.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Writes one message for the person running lifeboat: as it is (`eprintln!`) with text
/// logs, as an event at `level` with JSON logs. Use [`diag!`].
pub fn emit(level: Level, message: std::fmt::Arguments<'_>) {
    if !json() {
        eprintln!("{message}");
    } else if level == Level::ERROR {
        tracing::error!("{message}");
    } else if level == Level::WARN {
        tracing::warn!("{message}");
    } else {
        tracing::info!("{message}");
    }
}

/// `diag!(ERROR, "...", args)`: [`emit`] with `format!`-style arguments.
macro_rules! diag {
    ($level:ident, $($arg:tt)*) => {
        $crate::logs::emit(tracing::Level::$level, format_args!($($arg)*))
    };
}
pub(crate) use diag;
