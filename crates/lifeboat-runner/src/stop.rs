//! Stopping a drill from outside (SIGINT/SIGTERM to `lifeboat drill`, the end of `lifeboat
//! schedule`'s grace period), and saying truthfully what the stop did.
//!
//! A stop and the end of a drill's checks race. Whichever comes first decides, once, for
//! everyone: a stop before the last check has finished **interrupts** the drill (it stops,
//! and its evidence says `error`, `interrupted`); a stop after it is **too late to change the
//! verdict**, which stands (the drill still runs its `finally` steps and writes its evidence,
//! skips the projection if that still runs, and records when the stop came in
//! `stopped_after_checks`). The
//! caller learns which from [`Stop::request`] before it tells anyone, so the terminal, the
//! exit code and the evidence always tell one story.
//!
//! Why "the verdict stands" rather than "interrupted": once the last check has passed, the
//! backup *was* restored and verified and RTO/RPO *were* measured; recording `error` would
//! throw that proof away and turn a good drill into a failed audit, for a signal that stopped
//! nothing the verdict depends on.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

const CHECKING: u8 = 0;
const INTERRUPTED: u8 = 1;
const CHECKED: u8 = 2;
const STOPPED_AFTER_CHECKS: u8 = 3;

/// A drill's stop handle: cheap to clone, shared by the drill and whoever may stop it.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    token: CancellationToken,
    state: Arc<AtomicU8>,
    requested_at: Arc<OnceLock<Timestamp>>,
}

/// What [`Stop::request`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopEffect {
    /// The drill's checks were still running: it stops, and its evidence will say `error`,
    /// reason `interrupted`.
    Interrupted,
    /// Every check had finished: the verdict stands; the drill finishes its `finally` steps
    /// and writes its evidence, which records the stop in `stopped_after_checks`.
    AfterChecks,
    /// A stop had already been requested; nothing changes.
    Again,
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the drill to stop, and says what that does (decided once, atomically with the
    /// drill finishing its checks).
    pub fn request(&self) -> StopEffect {
        let decided = |from, to| {
            self.state
                .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        };
        let effect = if decided(CHECKING, INTERRUPTED) {
            StopEffect::Interrupted
        } else if decided(CHECKED, STOPPED_AFTER_CHECKS) {
            StopEffect::AfterChecks
        } else {
            return StopEffect::Again;
        };
        let _ = self.requested_at.set(Timestamp::now());
        // Cancelled either way: an interrupted drill stops its checks, one past them skips
        // the projection (more storage reads nobody waits for).
        self.token.cancel();
        effect
    }

    /// Whether the drill's last check has finished: from now on a stop leaves the verdict.
    pub fn checks_done(&self) -> bool {
        matches!(
            self.state.load(Ordering::SeqCst),
            CHECKED | STOPPED_AFTER_CHECKS
        )
    }

    /// Whether a stop was requested (and the drill should stop what it is doing).
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Cancelled when a stop is requested: for the work a stop cuts short.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// The drill's last check has finished. `false`: a stop came first, and the drill is
    /// interrupted whatever its checks found since.
    pub(crate) fn checks_finished(&self) -> bool {
        self.state
            .compare_exchange(CHECKING, CHECKED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// When a stop came that was too late to change the verdict.
    pub(crate) fn stopped_after_checks(&self) -> Option<Timestamp> {
        (self.state.load(Ordering::SeqCst) == STOPPED_AFTER_CHECKS)
            .then(|| self.requested_at.get().copied())
            .flatten()
    }
}

/// Runs `work` unless `cancel` fires first (checked first, so a cancelled drill starts
/// nothing). Only for work that may be dropped half-way: reads and sleeps, never writes.
pub(crate) async fn until_cancelled<F: std::future::Future>(
    cancel: &CancellationToken,
    work: F,
) -> Result<F::Output, crate::DrillError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(crate::DrillError::Interrupted),
        out = work => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_decides_once_whichever_comes_first() {
        let stop = Stop::new();
        assert_eq!(stop.request(), StopEffect::Interrupted);
        assert!(stop.is_requested());
        assert!(
            !stop.checks_finished(),
            "interrupted before the checks ended"
        );
        assert_eq!(stop.request(), StopEffect::Again);
        assert_eq!(stop.stopped_after_checks(), None);

        let stop = Stop::new();
        assert!(stop.checks_finished());
        assert!(!stop.is_requested());
        assert_eq!(stop.stopped_after_checks(), None);
        assert_eq!(stop.request(), StopEffect::AfterChecks);
        assert!(stop.is_requested(), "the projection is skipped");
        assert!(stop.stopped_after_checks().is_some());
        assert_eq!(stop.request(), StopEffect::Again);
    }
}
