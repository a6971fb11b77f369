//! Durations as runbooks write them: `90s`, `30m`, `2h`, `1d`, `1h30m`, `1d12h`.
//!
//! Units, largest first, each at most once: `d` (86 400 s), `h`, `m`, `s`. A bare number is
//! refused: `30` could mean seconds or minutes, and a DR objective must not be ambiguous.

use std::time::Duration;

/// Parses a runbook duration. The error is a sentence to put after the key path.
pub fn parse(text: &str) -> Result<Duration, String> {
    imp::parse(text)
}

/// Formats whole seconds the way runbooks write them: every non-zero unit, largest first,
/// e.g. `1h30m`, `1d2h` (for 26 hours), `0s`.
pub fn format(d: Duration) -> String {
    imp::format(d)
}

mod imp;
