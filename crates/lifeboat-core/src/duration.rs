//! Durations as runbooks write them (`90s`, `30m`, `2h`, `1d`, `1h30m`, `1d12h`: [`parse`],
//! [`format()`]), and as lifeboat shows them to a person (`0.13s`, `12.5s`, `1d 6h 18m 24s`:
//! [`human`]).
//!
//! Units, largest first, each at most once: `d` (86 400 s), `h`, `m`, `s`. A bare number is
//! refused: `30` could mean seconds or minutes, and a DR objective must not be ambiguous.
//!
//! Every duration a person reads — a measured RTO or RPO, an objective, a window, a timeout,
//! in a reason, on the terminal, in the reports, the logs and the webhooks — is spelt by
//! [`human`], so the reason "RPO objective missed: measured 1d 6h 18m 24s" and the RPO column
//! beside it cannot disagree. [`format()`] is kept for what is written back into a runbook (a
//! validation message suggesting a value), where only the runbook grammar parses.

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

/// A duration in seconds as a person reads it, the one spelling of every surface: below a
/// minute with the fraction that matters (`0.04s`, `1.5s`, `12.5s`, `30s`: two decimals
/// under 10 s, one under 60 s, trailing zeros dropped), from a minute on rounded to the
/// second with every unit below the largest (`1m 30s`, `1h 0m 0s`, `1d 6h 18m 24s`), so
/// columns of them line up. Negative values get a `-`; a value that is not a number is `—`.
pub fn human(seconds: f64) -> String {
    imp::human(seconds)
}

mod imp;
