//! stderr: log events (tracing) as text or JSON lines, and the messages a person reads.
//!
//! With `--log-format json` every line `lifeboat drill` and `lifeboat schedule` write to stderr
//! is one JSON object, so a log shipper (journald, Vector, Loki) never meets a stray line: the
//! messages that are plain `eprintln!` text otherwise go through [`diag!`] and become events.
//!
//! Log lines carry names from a backup (recovery point ids, reasons quoting object names), so
//! neither format lets one steer a terminal or forge a line (SECURITY.md, class 7): the text
//! format escapes every field value and message with `lifeboat_core::text::escape` (one
//! event, one line), and the JSON format, whose serialiser escapes C0 controls but leaves
//! DEL, C1 and bidi controls raw, writes those as `\uXXXX` too ([`HardenedStderr`]): the
//! values decode exactly as they were.

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
    // Colour only for a person at a terminal who did not turn it off (`crate::color`).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(crate::color::stderr());
    match format {
        LogFormat::Text => builder
            .with_writer(std::io::stderr)
            .fmt_fields(escaped_fields())
            .init(),
        LogFormat::Json => {
            JSON.store(true, Ordering::Relaxed);
            // Fields at the top level (`{"timestamp","level","message","runbook",...}`), as
            // log pipelines index them; no span lists, which lifeboat does not use.
            builder
                .with_writer(|| HardenedStderr)
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

/// Writes one message for the person running lifeboat: as a line of text with text logs
/// (escaped, see `crate::write_stderr`), as an event at `level` with JSON logs. Use [`diag!`].
pub fn emit(level: Level, message: std::fmt::Arguments<'_>) {
    if !json() {
        crate::write_stderr(format_args!("{message}\n"));
    } else if level == Level::ERROR {
        tracing::error!("{message}");
    } else if level == Level::WARN {
        tracing::warn!("{message}");
    } else {
        tracing::info!("{message}");
    }
}

/// The text format's fields: `message key=value ...` as tracing-subscriber's default writes
/// them, but with each message and value escaped, so a line feed or an ESC in a value can
/// neither start a forged line nor reach the terminal. (tracing-subscriber escapes ESC, BEL
/// and C1 itself, not CR, LF, TAB or bidi controls.)
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let shown = format!("{value:?}");
        let shown = lifeboat_core::text::escape(&shown);
        if field.name() == "message" {
            write!(writer, "{shown}")
        } else {
            write!(writer, "{}={shown}", field.name())
        }
    })
    .delimited(" ")
}

/// Standard error for JSON logs, with the characters of `lifeboat_core::text` that the JSON
/// serialiser leaves raw written as `\uXXXX` escapes. In JSON they can only sit inside
/// strings, where the escape decodes to the same character.
struct HardenedStderr;

impl std::io::Write for HardenedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // tracing-subscriber formats one whole event, then writes it in one call.
        match std::str::from_utf8(buf) {
            Ok(text) => {
                std::io::stderr().write_all(lifeboat_core::text::harden_json(text).as_bytes())?
            }
            Err(_) => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `diag!(ERROR, "...", args)`: [`emit`] with `format!`-style arguments.
macro_rules! diag {
    ($level:ident, $($arg:tt)*) => {
        $crate::logs::emit(tracing::Level::$level, format_args!($($arg)*))
    };
}
pub(crate) use diag;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_logs_escape_every_field_and_the_message() {
        let buffer = crate::captured::Captured::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_writer(move || writer.clone())
            .fmt_fields(escaped_fields())
            .finish();
        let point = "p1\u{1b}]0;pwned\u{7}\r\n2026-01-01 INFO drill passed\u{202e}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(point = %point, step = "steps[0]", "step finished: {point}");
        });
        let logged = buffer.text();
        let shown = r"p1\e]0;pwned\x07\r\n2026-01-01 INFO drill passed\u{202e}";
        assert_eq!(
            logged,
            format!(" INFO step finished: {shown} point={shown} step=\"steps[0]\"\n")
        );
    }
}
