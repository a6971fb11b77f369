//! Slots: the instants a runbook's `schedule` names, and what to do about each one at `now`.
//!
//! A slot is identified by its instant (a [`Timestamp`]), never by its wall-clock reading:
//! 01:30 on the day New York falls back happens twice on the wall clock, and the instant is
//! what the history store keys on. DST rules come from croner (see `runbooks/README.md`): a
//! fixed-time slot in the spring-forward gap runs at the first instant after the gap, one in
//! the fall-back overlap runs at its first occurrence only.

use std::time::Duration;

use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use lifeboat_core::runbook::{CatchUp, ScheduleSpec};

/// At most this many slots are looked at in one [`plan`]; older ones between the last slot
/// seen and `now` are neither run nor recorded (a seconds-level schedule down for a week would
/// otherwise mean 600 000 rows). [`Plan::truncated`] says when that happened.
pub const MAX_SLOTS_PER_PLAN: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Validation already parsed the expression, so this only happens with a hand-built spec.
    #[error("schedule: {0}")]
    Cron(String),
    #[error("timezone: {0}")]
    TimeZone(String),
}

/// A runbook's schedule, ready to compute slots.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    zone: TimeZone,
}

impl Schedule {
    pub fn new(spec: &ScheduleSpec) -> Result<Self, ScheduleError> {
        Ok(Schedule {
            cron: spec.to_cron().map_err(ScheduleError::Cron)?,
            zone: spec.time_zone().map_err(ScheduleError::TimeZone)?,
        })
    }

    fn zoned(&self, t: Timestamp) -> Zoned {
        t.to_zoned(self.zone.clone())
    }

    /// The first slot strictly after `t`; `None` when the schedule names no later instant
    /// (e.g. `0 0 30 2 *`, February 30th).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_next_occurrence(&self.zoned(t), false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The slots in `(after, until]`, oldest first, at most `limit` of them: the newest
    /// `limit` when there are more, with `true` for "some older ones were left out".
    pub fn slots_between(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> (Vec<Timestamp>, bool) {
        let mut slots = Vec::new();
        let mut truncated = false;
        if until <= after {
            return (slots, truncated);
        }
        // Walk back from `until`: the newest slots are the ones that matter, and a long
        // outage must not cost a walk over every slot of it.
        for z in self
            .cron
            .iter_from(self.zoned(until), croner::Direction::Backward)
        {
            let t = z.timestamp();
            if t <= after {
                break;
            }
            if slots.len() == limit {
                truncated = true;
                break;
            }
            slots.push(t);
        }
        slots.reverse();
        (slots, truncated)
    }
}

/// A runbook's policy for late and missed slots (`catch_up`, `start_window`) and for
/// spreading its starts (`jitter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub catch_up: CatchUp,
    pub start_window: Duration,
    pub jitter: Duration,
}

impl Policy {
    pub fn of(spec: &ScheduleSpec) -> Self {
        Policy {
            catch_up: spec.catch_up,
            start_window: spec.start_window,
            jitter: spec.jitter,
        }
    }
}

/// How long after `slot` the drill of `runbook` starts under `jitter`: a delay in
/// `[0, jitter)` fixed by the runbook's name and the slot, so it is the same after a restart
/// and runbooks due at the same time are spread apart rather than hitting storage together.
pub fn jitter_delay(runbook: &str, slot: Timestamp, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    // FNV-1a over the name and the slot, then splitmix64's finaliser to spread the bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let slot_bytes = slot.as_nanosecond().to_le_bytes();
    for b in runbook.bytes().chain([0]).chain(slot_bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    // h / 2^64 of the jitter, in whole milliseconds (what the history records): below it.
    let millis = (u128::from(h) * jitter.as_millis()) >> 64;
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// What the scheduler knows about one runbook at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The newest slot the history store holds for the runbook, whatever became of it.
    /// `None`: never seen; the runbook starts at its first slot after `online_since`.
    pub last_seen: Option<Timestamp>,
    /// When this scheduler process started: slots before it passed while it was not running.
    pub online_since: Timestamp,
    pub now: Timestamp,
    /// The runbook's previous slot, while the scheduler still handles it.
    pub previous: Previous,
}

/// Where the runbook's previous slot is, when its drill has not finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Previous {
    /// Nothing of this runbook is pending.
    #[default]
    Idle,
    /// Claimed, not started: it waits out its jitter.
    Jitter,
    /// Claimed, not started: it waits for a place under `--max-concurrent`.
    Queued,
    /// Its drill is running.
    Running,
}

/// Why a slot did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissReason {
    /// It passed while the scheduler was not running, and `catch_up: none`.
    NotRunning,
    /// It passed while the scheduler was not running, and a newer slot was caught up instead.
    CaughtUpLater,
    /// A newer slot of the same runbook came due before this one could start.
    Superseded,
    /// Its `start_window` closed before it could start.
    StartWindow,
    /// Due while the runbook's previous slot still waited for a `--max-concurrent` place (it
    /// keeps its place: one drill of a runbook at a time, and nothing of it was running).
    PreviousQueued,
    /// Due while the runbook's previous slot still waited out its jitter.
    PreviousJitter,
}

impl MissReason {
    /// One sentence for the history and the log.
    pub fn describe(self) -> &'static str {
        match self {
            MissReason::NotRunning => {
                "the scheduler was not running at the slot time (catch_up: none)"
            }
            MissReason::CaughtUpLater => {
                "the scheduler was not running at the slot time; only the newest missed slot is caught up"
            }
            MissReason::Superseded => "a newer slot came due before this one started",
            MissReason::StartWindow => "not started within the runbook's start_window",
            MissReason::PreviousQueued => {
                "this runbook's previous slot was still waiting for a place under --max-concurrent"
            }
            MissReason::PreviousJitter => {
                "this runbook's previous slot was still waiting out its jitter"
            }
        }
    }
}

/// How a drill came to be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// At (or within the start window of) its slot time, while the scheduler ran.
    Schedule,
    /// A slot that passed while the scheduler was down, run under `catch_up: latest`.
    CatchUp,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch-up",
        }
    }
}

/// The verdict on one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Record the slot, then start a drill for it.
    Run { slot: Timestamp, trigger: Trigger },
    /// Record the slot as missed.
    Missed { slot: Timestamp, reason: MissReason },
    /// The slot was due while the previous drill of the runbook still ran (a drill that is
    /// only waiting to start is not running: that slot is [`MissReason::PreviousQueued`]).
    SkippedOverlap { slot: Timestamp },
}

impl Decision {
    pub fn slot(&self) -> Timestamp {
        match *self {
            Decision::Run { slot, .. }
            | Decision::Missed { slot, .. }
            | Decision::SkippedOverlap { slot } => slot,
        }
    }
}

/// Every slot of one runbook that needs a decision at `view.now`, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// More than [`MAX_SLOTS_PER_PLAN`] slots had passed; the oldest were left out.
    pub truncated: bool,
}

/// Decides every slot in `(last_seen, now]` (or `(online_since, now]` for a runbook never
/// seen). At most one slot runs: the newest, when it is still within its start window and,
/// had it passed while the scheduler was down, `catch_up: latest` asks for it. Every other
/// slot is missed, or skipped for overlap when the runbook's previous drill still runs (a
/// previous slot still waiting to start makes the newest one missed, saying why).
pub fn plan(schedule: &Schedule, policy: &Policy, view: &View) -> Plan {
    let after = view.last_seen.unwrap_or(view.online_since);
    let (slots, truncated) = schedule.slots_between(after, view.now, MAX_SLOTS_PER_PLAN);
    let Some((&newest, older)) = slots.split_last() else {
        return Plan::default();
    };
    let within_window = |slot: Timestamp| {
        view.now
            .duration_since(slot)
            .try_into()
            .is_ok_and(|late: Duration| late <= policy.start_window)
    };
    let missed_while_down = newest < view.online_since;
    let newest_decision = if !within_window(newest) {
        Decision::Missed {
            slot: newest,
            reason: if missed_while_down && policy.catch_up == CatchUp::None {
                MissReason::NotRunning
            } else {
                MissReason::StartWindow
            },
        }
    } else if missed_while_down && policy.catch_up == CatchUp::None {
        Decision::Missed {
            slot: newest,
            reason: MissReason::NotRunning,
        }
    } else if view.previous != Previous::Idle {
        match view.previous {
            Previous::Queued => Decision::Missed {
                slot: newest,
                reason: MissReason::PreviousQueued,
            },
            Previous::Jitter => Decision::Missed {
                slot: newest,
                reason: MissReason::PreviousJitter,
            },
            Previous::Running | Previous::Idle => Decision::SkippedOverlap { slot: newest },
        }
    } else {
        Decision::Run {
            slot: newest,
            trigger: if missed_while_down {
                Trigger::CatchUp
            } else {
                Trigger::Schedule
            },
        }
    };
    let caught_up = matches!(
        newest_decision,
        Decision::Run {
            trigger: Trigger::CatchUp,
            ..
        }
    );
    let mut decisions: Vec<Decision> = older
        .iter()
        .map(|&slot| Decision::Missed {
            slot,
            reason: if slot >= view.online_since {
                MissReason::Superseded
            } else if caught_up {
                MissReason::CaughtUpLater
            } else if policy.catch_up == CatchUp::None {
                MissReason::NotRunning
            } else {
                MissReason::StartWindow
            },
        })
        .collect();
    decisions.push(newest_decision);
    Plan {
        decisions,
        truncated,
    }
}

#[cfg(test)]
mod tests;
