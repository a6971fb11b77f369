//! lifeboat's exit codes. Stable: scripts and schedulers branch on them.

/// The command did what was asked; for a drill: every sampled file restored and verified,
/// every step passed, every objective met.
pub const OK: u8 = 0;
/// A drill ran and failed: hash mismatch, missing or truncated object, unsafe path, failed
/// step, or a missed RTO/RPO objective.
pub const DRILL_FAILED: u8 = 1;
/// Invalid input: unreadable or invalid runbook, bad arguments. Nothing was run or written.
pub const INVALID_INPUT: u8 = 2;
/// The drill could not complete: storage unreachable, credentials refused, scratch area full,
/// I/O error.
pub const COULD_NOT_COMPLETE: u8 = 3;
