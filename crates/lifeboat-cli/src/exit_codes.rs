//! lifeboat's exit codes. Stable: scripts and schedulers branch on them.

/// How a command ended, as its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The command did what was asked; for a drill: every sampled file restored and verified,
    /// every step passed, every objective met.
    Ok = 0,
    /// A drill ran and failed: hash mismatch, missing or truncated object, unsafe path, failed
    /// step, or a missed RTO/RPO objective. (`evidence verify`: the evidence is not intact.)
    DrillFailed = 1,
    /// Invalid input: unreadable or invalid runbook, bad arguments. Nothing was run or written.
    InvalidInput = 2,
    /// The drill could not complete: storage unreachable, credentials refused, scratch area
    /// full, I/O error.
    CouldNotComplete = 3,
}

impl Exit {
    /// The exit code of a drill that came to `outcome`.
    pub fn of(outcome: lifeboat_core::evidence::Outcome) -> Exit {
        use lifeboat_core::evidence::Outcome;
        match outcome {
            Outcome::Passed => Exit::Ok,
            Outcome::Failed => Exit::DrillFailed,
            Outcome::Error => Exit::CouldNotComplete,
        }
    }

    /// The process's exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}
