//! Coverage: which stored objects one drill's coverage phase verifies, so that every object of
//! every retained recovery point is verified at least once per `coverage.within`, and where
//! coverage stands afterwards. Pure: the drill lists the objects and reads the ledger, this
//! module decides, the drill reads what it decided and the ledger keeps the outcome.
//!
//! The rules, each with a unit test below:
//!
//! - **Identity.** An object is its recovery point and path; the ledger also keeps its
//!   storage identity (size, and its e-tag or modification time). An object whose identity
//!   changed since it was verified is new again: what was verified is not what is stored.
//!   Objects no longer listed (their point left the window, or its manifest dropped them)
//!   leave the ledger.
//! - **Order.** Never-verified objects first — those that appeared since coverage started
//!   (due at once) before the backlog it started with — then the least recently verified;
//!   ties broken by the object's key hash, walked from a start the drill's seed picks
//!   ([`tie_break`]), so the same seed reads the same objects. An object that failed is not retried first: it is read again when its turn
//!   comes, so a damaged object fails the drills that read it, not every drill after.
//! - **Pace.** Drills run every `interval` (the mean gap between the T0s of the runbook's
//!   recent coverage phases; before two phases exist, the runbook's schedule, else a day), so
//!   `within / interval` drills share the window. A drill reads at least its share of the
//!   bytes and of the objects, and at least every object that would be overdue by the next
//!   drill. The objects listed when coverage started (the first phase) are due `within`
//!   after it, so a first drill reads its share, never the whole backup, and the backlog is
//!   done after one window; an object that appears later (a new point, a changed object) is
//!   due at once, and never-verified objects come first anyway. So after one window every
//!   object of every retained point has been verified, and stays so.
//! - **Budget.** A phase never reads more than `coverage.budget`; when the pace needs more,
//!   coverage is behind, and how long full coverage takes at the budget is said, without
//!   failing the drill.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;

use crate::evidence::Outcome;
use crate::vocabulary::Algorithm;

/// A day: the interval assumed when nothing better is known.
pub const DAY: Duration = Duration::from_secs(86_400);

/// How many recent phases the measured interval is averaged over.
pub const PACE_PHASES: usize = 8;

/// An object's place in a backup: its recovery point and its path within it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The recovery point's id.
    pub point: String,
    /// The object's path within the point, as its manifest lists it.
    pub path: String,
}

/// What storage says an object is: when it changes, the object is new again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Stored bytes (0 for an object that is missing or not a regular object).
    pub size: u64,
    /// `etag:VALUE`, else `mtime:RFC3339`; `missing` or `unreadable` when there is nothing to
    /// read.
    pub tag: String,
}

/// One stored object of a retained point, as the source lists it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Where it is.
    pub key: ObjectKey,
    /// What storage says it is.
    pub identity: Identity,
}

/// An object's last verification.
#[derive(Clone, Debug, PartialEq)]
pub struct Verification {
    /// The T0 of the drill that verified it.
    pub at: Timestamp,
    /// `passed` or `failed`.
    pub outcome: Outcome,
    /// The digest algorithm.
    pub algorithm: Algorithm,
    /// The digest of the bytes read, lowercase hex; `None` when none was computed.
    pub digest: Option<String>,
}

/// One object as the ledger keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerRow {
    /// Where it is.
    pub key: ObjectKey,
    /// What storage said it was when it was last listed.
    pub identity: Identity,
    /// The T0 of the drill that first listed it with this identity.
    pub first_seen: Timestamp,
    /// Its last verification; `None`: never verified.
    pub verified: Option<Verification>,
}

/// A runbook's ledger, as a store reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    /// Every object the ledger keeps for the runbook.
    pub rows: Vec<LedgerRow>,
    /// The T0s of the runbook's recent coverage phases (up to [`PACE_PHASES`]), newest
    /// first: the rate drills actually run at.
    pub phases: Vec<Timestamp>,
    /// The T0 of the runbook's first coverage phase: objects listed then are the backlog
    /// coverage started with, spread over the first window; `None` before any phase.
    pub first_phase: Option<Timestamp>,
}

/// Where the drill interval used for the pace comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalFrom {
    /// The mean gap between the runbook's recent coverage phases.
    History,
    /// The runbook's `schedule` (fewer than two phases so far).
    Schedule,
    /// One drill a day: no history and no schedule.
    Default,
}

/// The interval between drills the pace assumes: the mean positive gap between `t0` and the
/// recent phases' T0s (`phases`, newest first); else `schedule`'s; else a day.
pub fn interval(
    phases: &[Timestamp],
    t0: Timestamp,
    schedule: Option<Duration>,
) -> (Duration, IntervalFrom) {
    let mut times: Vec<Timestamp> = phases.iter().copied().filter(|p| *p < t0).collect();
    times.sort();
    times.dedup();
    let recent: Vec<Timestamp> = times.into_iter().rev().take(PACE_PHASES).collect();
    if let Some(oldest) = recent.last() {
        let span = t0.duration_since(*oldest).as_secs_f64();
        if span > 0.0 {
            return (
                Duration::from_secs_f64(span / recent.len() as f64),
                IntervalFrom::History,
            );
        }
    }
    match schedule.filter(|s| !s.is_zero()) {
        Some(s) => (s, IntervalFrom::Schedule),
        None => (DAY, IntervalFrom::Default),
    }
}

/// What the pace asks of one drill, before looking at any object: its share of the bytes
/// and of the objects (`within / interval` drills share the window), and when the next
/// drill comes (what is overdue by then must be read now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Bytes a drill reads at least.
    pub share_bytes: u64,
    /// Objects a drill reads at least.
    pub share_count: u64,
    /// T0 of the next drill, at the interval.
    pub next: Timestamp,
}

impl Pace {
    /// The pace over `objects` of `bytes` in all, for a drill at `t0`.
    pub fn new(
        objects: u64,
        bytes: u64,
        within: Duration,
        interval: Duration,
        t0: Timestamp,
    ) -> Self {
        let drills = (within.as_secs_f64() / interval.as_secs_f64())
            .floor()
            .max(1.0);
        Pace {
            share_bytes: (bytes as f64 / drills).ceil() as u64,
            share_count: (objects as f64 / drills).ceil() as u64,
            next: t0
                .checked_add(jiff::SignedDuration::try_from(interval).unwrap_or_default())
                .unwrap_or(t0),
        }
    }
}

/// Whether a phase that needs `needed_bytes` keeps the pace within `budget`, and, when not,
/// how long full coverage of `total_bytes` takes at the budget, in seconds.
pub fn behind(
    budget: Option<u64>,
    needed_bytes: u64,
    total_bytes: u64,
    interval: Duration,
) -> (bool, Option<u64>) {
    let on_pace = budget.is_none_or(|b| needed_bytes <= b);
    let behind_seconds = (!on_pace).then(|| {
        let budget = budget.unwrap_or(1).max(1);
        let drills = total_bytes.div_ceil(budget).max(1);
        drills.saturating_mul(interval.as_secs().max(1))
    });
    (on_pace, behind_seconds)
}

/// One object of the plan: as listed, with what the ledger knows of it (reset when its
/// identity changed).
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// The object, as it stands before the phase.
    pub row: LedgerRow,
    /// The ledger must be told of it even when it is not read: new, or its identity changed.
    pub changed: bool,
}

/// What one coverage phase reads, and why that much.
#[derive(Clone, Debug, PartialEq)]
pub struct PhasePlan {
    /// Every object of the retained points, as it stands before the phase.
    pub objects: Vec<Planned>,
    /// Indices into `objects` the phase reads, in the order it reads them.
    pub read: Vec<usize>,
    /// Ledger objects no longer listed.
    pub gone: Vec<ObjectKey>,
    /// Bytes the phase reads.
    pub read_bytes: u64,
    /// Bytes the pace needs this drill to read.
    pub needed_bytes: u64,
    /// The interval between drills the pace assumes, and where it comes from.
    pub interval: (Duration, IntervalFrom),
    /// `false` when the budget is smaller than the pace needs.
    pub on_pace: bool,
    /// When behind: how long full coverage takes at the budget, in seconds.
    pub behind_seconds: Option<u64>,
}

/// The runbook's `coverage`, and what the drill brings to the plan.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// T0 of the drill.
    pub t0: Timestamp,
    /// `coverage.within`.
    pub within: Duration,
    /// `coverage.budget`.
    pub budget: Option<u64>,
    /// The interval of the runbook's `schedule`, if it has one.
    pub schedule: Option<Duration>,
    /// The drill's seed: breaks ties.
    pub seed: u64,
    /// The ledger, as read before the phase.
    pub ledger: &'a Ledger,
}

/// Plans one phase over `listed` (every object of the retained points). See the module's
/// rules.
pub fn plan(listed: Vec<Listed>, input: &PlanInput<'_>) -> PhasePlan {
    let known: HashMap<&ObjectKey, &LedgerRow> =
        input.ledger.rows.iter().map(|r| (&r.key, r)).collect();
    // One entry per key: a manifest listing a path twice is one object. The keys are
    // borrowed, not cloned: at millions of objects the clones cost more than the plan.
    let mut first = vec![false; listed.len()];
    let gone: Vec<ObjectKey> = {
        let mut seen: HashSet<&ObjectKey> = HashSet::with_capacity(listed.len());
        for (item, first) in listed.iter().zip(first.iter_mut()) {
            *first = seen.insert(&item.key);
        }
        input
            .ledger
            .rows
            .iter()
            .filter(|r| !seen.contains(&r.key))
            .map(|r| r.key.clone())
            .collect()
    };
    let mut objects = Vec::with_capacity(listed.len());
    for (item, first) in listed.into_iter().zip(first) {
        if !first {
            continue;
        }
        let planned = match known.get(&item.key) {
            Some(row) if row.identity == item.identity => Planned {
                row: (*row).clone(),
                changed: false,
            },
            _ => Planned {
                row: LedgerRow {
                    key: item.key,
                    identity: item.identity,
                    first_seen: input.t0,
                    verified: None,
                },
                changed: true,
            },
        };
        objects.push(planned);
    }

    let interval = interval(&input.ledger.phases, input.t0, input.schedule);
    let started = input.ledger.first_phase.unwrap_or(input.t0).min(input.t0);
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by_cached_key(|&i| {
        let row = &objects[i].row;
        (
            turn(row, started),
            tie_break(input.seed, &row.key),
            row.key.clone(),
        )
    });

    let total_bytes: u64 = objects.iter().map(|o| o.row.identity.size).sum();
    let Pace {
        share_bytes,
        share_count,
        next,
    } = Pace::new(
        objects.len() as u64,
        total_bytes,
        input.within,
        interval.0,
        input.t0,
    );
    let share_count = usize::try_from(share_count).unwrap_or(usize::MAX);
    let within = jiff::SignedDuration::try_from(input.within).unwrap_or_default();
    let overdue_by_next = |row: &LedgerRow| {
        let deadline = match &row.verified {
            Some(v) => v.at.checked_add(within).unwrap_or(Timestamp::MAX),
            // The backlog coverage started with: within a window of the start.
            None if row.first_seen <= started => {
                started.checked_add(within).unwrap_or(Timestamp::MAX)
            }
            // Appeared since: due at once.
            None => row.first_seen,
        };
        deadline < next
    };
    // How far along the order the pace needs this drill to read: its share of the bytes and
    // of the objects, and everything overdue by the next drill.
    let mut cumulative = 0u64;
    let mut needed = 0usize;
    for (n, &i) in order.iter().enumerate() {
        let row = &objects[i].row;
        let before = cumulative;
        cumulative += row.identity.size;
        if before < share_bytes || n < share_count || overdue_by_next(row) {
            needed = n + 1;
        }
    }
    let needed_bytes: u64 = order[..needed]
        .iter()
        .map(|&i| objects[i].row.identity.size)
        .sum();
    let mut read = Vec::new();
    let mut read_bytes = 0u64;
    for &i in &order[..needed] {
        let size = objects[i].row.identity.size;
        if input.budget.is_some_and(|b| read_bytes + size > b) {
            break;
        }
        read_bytes += size;
        read.push(i);
    }
    let (on_pace, behind_seconds) = behind(input.budget, needed_bytes, total_bytes, interval.0);
    PhasePlan {
        objects,
        read,
        gone,
        read_bytes,
        needed_bytes,
        interval,
        on_pace,
        behind_seconds,
    }
}

/// Where an object stands in the order before its tie is broken: never verified and
/// appeared since coverage `started` (due at once), never verified from the backlog, then
/// verified, the least recently first. The objects due at once lead, so that what the pace
/// must read this drill is a prefix of the order (a store reads it through an index with a
/// limit instead of sorting every object).
pub fn turn(row: &LedgerRow, started: Timestamp) -> (u8, Option<Timestamp>) {
    match &row.verified {
        None if row.first_seen > started => (0, None),
        None => (1, None),
        Some(v) => (2, Some(v.at)),
    }
}

/// An object's key hash: FNV-1a of its point and path, mixed, in 63 bits, so a store keeps
/// it as a non-negative 64-bit integer (computed once, when the object is first listed).
pub fn key_hash(key: &ObjectKey) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key
        .point
        .as_bytes()
        .iter()
        .chain(&[0])
        .chain(key.path.as_bytes())
    {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (mix(h) >> 1) as i64
}

/// Where the drill's seed starts the walk through key hashes: ties are broken by key hash,
/// starting at this value and wrapping around, so the same seed reads the same objects and
/// another seed starts elsewhere. A rotation rather than a full reshuffle, because a store
/// walks it through an index (`tie >= start`, then `tie < start`) without sorting.
pub fn seed_start(seed: u64) -> i64 {
    (mix(seed ^ 0x9e37_79b9_7f4a_7c15) >> 1) as i64
}

/// The tie-break of an object for a drill's seed: `(false, hash)` for key hashes from the
/// seed's start upwards, then `(true, hash)` for those below it; equal hashes (rare at 63
/// bits) by key.
pub fn tie_break(seed: u64, key: &ObjectKey) -> (bool, i64) {
    let h = key_hash(key);
    (h < seed_start(seed), h)
}

/// splitmix64's finalizer, so nearby inputs give unrelated outputs.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What a store is asked to plan: the runbook's `coverage` and what the drill brings,
/// without the ledger (the store holds it). See [`MemoryLedger`] for the rules a store
/// follows, and [`plan`] for the reference it is tested against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseQuery {
    /// T0 of the drill.
    pub t0: Timestamp,
    /// `coverage.within`.
    pub within: Duration,
    /// `coverage.budget`.
    pub budget: Option<u64>,
    /// The interval of the runbook's `schedule`, if it has one.
    pub schedule: Option<Duration>,
    /// The drill's seed: breaks ties.
    pub seed: u64,
}

/// What a store planned for one phase: the objects to read, in order, and the pace. Only
/// the objects read are returned, so its size is bounded by what the phase reads, not by
/// the ledger; and each is kept compact ([`Selected`]: each point named once, in
/// [`points`](Selection::points)), because a lagging drill over millions of objects holds
/// millions of them until they are read (issue 16 item 7).
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// The recovery points of the objects read, each once, in the order the first of their
    /// objects is read: [`Selected::point`] indexes it.
    pub points: Vec<String>,
    /// The objects the phase reads, in the order it reads them.
    pub read: Vec<Selected>,
    /// Bytes the phase reads.
    pub read_bytes: u64,
    /// Bytes the pace needs this drill to read.
    pub needed_bytes: u64,
    /// The interval between drills the pace assumes, and where it comes from.
    pub interval: (Duration, IntervalFrom),
    /// `false` when the budget is smaller than the pace needs.
    pub on_pace: bool,
    /// When behind: how long full coverage takes at the budget, in seconds.
    pub behind_seconds: Option<u64>,
    /// The first object in the planner's order the phase does not read; `None` when it
    /// reads every object. What [`standing_after`] needs to tell the oldest verification
    /// left once the phase is recorded, without asking the ledger again.
    pub first_unread: Option<FirstUnread>,
}

/// One object a phase reads, with only what the read and the standing need: not its
/// point's name (an index into [`Selection::points`]), tag, digest or first-listed time,
/// which the ledger keeps. 56 bytes and the path's, where a [`LedgerRow`] is ~350 with its
/// strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// Its recovery point: an index into [`Selection::points`].
    pub point: u32,
    /// Its path within the point.
    pub path: Box<str>,
    /// Its stored bytes, as last listed.
    pub size: u64,
    /// Its last verification before the phase; `None`: never verified (or its identity
    /// changed since).
    pub last: Option<LastVerified>,
}

/// An object's last verification as a [`Selected`] object keeps it: without the digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastVerified {
    /// The T0 of the drill that verified it.
    pub at: Timestamp,
    /// `passed` or `failed`.
    pub outcome: Outcome,
    /// The digest algorithm.
    pub algorithm: Algorithm,
}

impl LastVerified {
    /// What a [`Selected`] object keeps of `verification`.
    pub fn of(verification: &Verification) -> Self {
        LastVerified {
            at: verification.at,
            outcome: verification.outcome,
            algorithm: verification.algorithm,
        }
    }
}

/// A [`Selection`]'s reads as they are taken, in order: each point's name kept once.
#[derive(Clone, Debug, Default)]
pub struct Reads {
    points: Vec<String>,
    index: HashMap<String, u32>,
    read: Vec<Selected>,
}

impl Reads {
    /// Takes `row` as the next object read, keeping only what a [`Selected`] keeps.
    pub fn push(&mut self, row: LedgerRow) {
        let last = row.verified.as_ref().map(LastVerified::of);
        self.push_object(&row.key.point, row.key.path, row.identity.size, last);
    }

    /// Takes the object at `path` in `point`, of `size` bytes, last verified as `last`, as
    /// the next object read: what a store's walk reads of a row, without the rest of it.
    pub fn push_object(
        &mut self,
        point: &str,
        path: String,
        size: u64,
        last: Option<LastVerified>,
    ) {
        let point = match self.index.get(point) {
            Some(&n) => n,
            None => {
                let n = u32::try_from(self.points.len()).expect("fewer than 2^32 points");
                self.points.push(point.to_owned());
                self.index.insert(point.to_owned(), n);
                n
            }
        };
        self.read.push(Selected {
            point,
            path: path.into_boxed_str(),
            size,
            last,
        });
    }

    /// The points and the objects, in the order taken.
    pub fn into_parts(self) -> (Vec<String>, Vec<Selected>) {
        (self.points, self.read)
    }
}

/// The first object in the planner's order a phase does not read ([`Selection`]): the reads
/// are a prefix of the order, so the objects left unread are the never-verified ones if
/// any is left, else the least recently verified on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstUnread {
    /// It was never verified: nor were any read, so the oldest verification is as before.
    Never,
    /// It was last verified at this T0: the oldest verification any unread object has.
    Verified(Timestamp),
}

impl FirstUnread {
    /// Where `row` stands as the first object left unread.
    pub fn of(row: &LedgerRow) -> Self {
        Self::of_last(row.verified.as_ref().map(|v| v.at))
    }

    /// Where an object last verified at `at` (`None`: never) stands as the first left
    /// unread.
    pub fn of_last(at: Option<Timestamp>) -> Self {
        match at {
            None => FirstUnread::Never,
            Some(at) => FirstUnread::Verified(at),
        }
    }
}

impl Selection {
    /// The recovery point `object` (one of [`read`](Selection::read)) is in.
    pub fn point(&self, object: &Selected) -> &str {
        &self.points[object.point as usize]
    }

    /// The key of `object` (one of [`read`](Selection::read)), as the ledger names it.
    pub fn key(&self, object: &Selected) -> ObjectKey {
        ObjectKey {
            point: self.point(object).to_owned(),
            path: object.path.to_string(),
        }
    }

    /// The selection a [`PhasePlan`] makes.
    pub fn of(plan: &PhasePlan) -> Self {
        let read: HashSet<usize> = plan.read.iter().copied().collect();
        let unread = plan
            .objects
            .iter()
            .enumerate()
            .filter(|(i, _)| !read.contains(i))
            .map(|(_, o)| FirstUnread::of(&o.row));
        // Never-verified objects lead the order; then the least recently verified.
        let first_unread = unread.min_by_key(|u| match u {
            FirstUnread::Never => (0, None),
            FirstUnread::Verified(at) => (1, Some(*at)),
        });
        let mut reads = Reads::default();
        for &i in &plan.read {
            reads.push(plan.objects[i].row.clone());
        }
        let (points, read) = reads.into_parts();
        Selection {
            first_unread,
            points,
            read,
            read_bytes: plan.read_bytes,
            needed_bytes: plan.needed_bytes,
            interval: plan.interval,
            on_pace: plan.on_pace,
            behind_seconds: plan.behind_seconds,
        }
    }
}

/// What a phase tells the store once it has read: each object's verification, and the
/// phase's T0 for the pace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseRecord {
    /// The objects read, each with its verification. An object no longer in the ledger
    /// (its point left it meanwhile) is ignored.
    pub verified: Vec<(ObjectKey, Verification)>,
    /// The phase's T0, kept for the pace; `None`: nothing is recorded for the pace.
    pub phase: Option<Timestamp>,
    /// The run the phase belongs to.
    pub run_id: String,
    /// Beside `verified`, object for object: when each was last verified as the plan found
    /// it ([`Selected::last`]; `None`: never). A hint a store may use to find an object's
    /// row without an index by name; the record means the same without it (shorter than
    /// `verified`, or empty: the rest not known), and a hint the ledger no longer agrees
    /// with is only slower.
    pub last_verified: Vec<Option<Timestamp>>,
}

/// A point's listing as a store keeps it: its fingerprint says whether the point must be
/// staged again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointListing {
    /// The recovery point's id.
    pub point: String,
    /// A digest of the point's listing (every path with its identity, in order): unchanged,
    /// the point's objects in the ledger are as listed, and the phase skips staging it.
    pub fingerprint: String,
}

/// The fingerprint of a point's listing: every path and identity, in listing order, with
/// lengths so that no two listings run together, absorbed eight bytes at a time into a
/// 128-bit state (FNV's prime; a byte at a time cost a 128-bit multiply per byte, most of a
/// drill's CPU time over a listing of millions of objects), 128 bits in hex. Each step is
/// a bijection of the state, so one field changed always changes it. Not a security
/// boundary: a listing an attacker crafts to collide only makes the phase skip restaging,
/// and every object read is checked against its manifest anyway.
pub fn fingerprint<'a>(listed: impl IntoIterator<Item = &'a Listed>) -> String {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let mut word = |w: u64| {
        h ^= u128::from(w);
        h = h.wrapping_mul(PRIME);
        h ^= h >> 64;
    };
    let mut eat = |bytes: &[u8]| {
        word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            word(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            word(u64::from_le_bytes(last));
        }
    };
    for l in listed {
        eat(l.key.path.as_bytes());
        eat(&l.identity.size.to_le_bytes());
        eat(l.identity.tag.as_bytes());
    }
    format!("{h:032x}")
}

/// A ledger in memory that follows the store's protocol: what the SQL of a history store
/// must equal (its tests compare the two on random ledgers), and a ledger for tests.
///
/// The protocol, per phase: [`stage`](MemoryLedger::stage) each retained point whose
/// fingerprint changed (objects with an unchanged identity keep their verification, the
/// rest are new again, those no longer listed leave), [`retain`](MemoryLedger::retain) the
/// listed points (the others leave, whole), [`plan`](MemoryLedger::plan), read,
/// [`record`](MemoryLedger::record).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryLedger {
    /// The rows and phases.
    pub ledger: Ledger,
    /// Each point's fingerprint.
    pub points: Vec<PointListing>,
}

impl MemoryLedger {
    /// Replaces `point`'s objects by `listed` (its whole listing), keeping the verification
    /// of objects whose identity is unchanged; first listed wins for a key listed twice.
    pub fn stage(&mut self, t0: Timestamp, point: &str, fingerprint: &str, listed: &[Listed]) {
        let mut old: HashMap<String, LedgerRow> = HashMap::new();
        let mut rest = Vec::with_capacity(self.ledger.rows.len());
        for row in std::mem::take(&mut self.ledger.rows) {
            if row.key.point == point {
                old.insert(row.key.path.clone(), row);
            } else {
                rest.push(row);
            }
        }
        let mut seen = HashSet::new();
        for l in listed.iter().filter(|l| l.key.point == point) {
            if !seen.insert(l.key.path.clone()) {
                continue;
            }
            match old.remove(&l.key.path) {
                Some(row) if row.identity == l.identity => rest.push(row),
                _ => rest.push(LedgerRow {
                    key: l.key.clone(),
                    identity: l.identity.clone(),
                    first_seen: t0,
                    verified: None,
                }),
            }
        }
        self.ledger.rows = rest;
        self.points.retain(|p| p.point != point);
        self.points.push(PointListing {
            point: point.to_owned(),
            fingerprint: fingerprint.to_owned(),
        });
    }

    /// Keeps only the objects of `points`.
    pub fn retain(&mut self, points: &[String]) {
        let keep: HashSet<&str> = points.iter().map(String::as_str).collect();
        self.ledger
            .rows
            .retain(|r| keep.contains(r.key.point.as_str()));
        self.points.retain(|p| keep.contains(p.point.as_str()));
    }

    /// The next phase over the ledger as it stands.
    pub fn plan(&self, query: &PhaseQuery) -> Selection {
        let listed = self
            .ledger
            .rows
            .iter()
            .map(|r| Listed {
                key: r.key.clone(),
                identity: r.identity.clone(),
            })
            .collect();
        Selection::of(&plan(
            listed,
            &PlanInput {
                t0: query.t0,
                within: query.within,
                budget: query.budget,
                schedule: query.schedule,
                seed: query.seed,
                ledger: &self.ledger,
            },
        ))
    }

    /// Where coverage stands at `t0` with `within`.
    pub fn standing(&self, t0: Timestamp, within: Duration) -> Standing {
        standing(&self.ledger.rows, t0, within)
    }

    /// Keeps a phase's verifications and its T0.
    pub fn record(&mut self, record: &PhaseRecord) {
        let at: HashMap<&ObjectKey, &Verification> =
            record.verified.iter().map(|(k, v)| (k, v)).collect();
        for row in &mut self.ledger.rows {
            if let Some(v) = at.get(&row.key) {
                row.verified = Some((*v).clone());
            }
        }
        if let Some(t0) = record.phase {
            self.ledger.phases.push(t0);
            self.ledger.phases.sort_by(|a, b| b.cmp(a));
            self.ledger.phases.dedup();
            self.ledger.phases.truncate(PACE_PHASES);
            self.ledger.first_phase = Some(self.ledger.first_phase.map_or(t0, |f| f.min(t0)));
        }
    }
}

/// Where coverage stands over `rows` at `t0`: objects verified (passed) within `within`,
/// objects never verified, and the oldest last verification.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Standing {
    /// Objects.
    pub objects: u64,
    /// Their stored bytes.
    pub bytes: u64,
    /// Objects whose last verification passed within `within` of `t0`.
    pub verified_within: u64,
    /// Objects never verified.
    pub never_verified: u64,
    /// The oldest last verification among those that have one.
    pub oldest_verified: Option<Timestamp>,
}

impl Standing {
    /// `verified_within / objects`; 1.0 when there are no objects.
    pub fn ratio(&self) -> f64 {
        if self.objects == 0 {
            1.0
        } else {
            self.verified_within as f64 / self.objects as f64
        }
    }
}

/// The oldest verification that still counts as within `within` of `t0` (`t0 - within`,
/// saturating): the one boundary of `verified_within`, shared by [`standing`],
/// [`standing_after`] and the stores' SQL.
pub fn fresh_from(t0: Timestamp, within: Duration) -> Timestamp {
    t0.checked_sub(jiff::SignedDuration::try_from(within).unwrap_or_default())
        .unwrap_or(Timestamp::MIN)
}

/// Where coverage stands over `rows` at `t0` with `within`.
pub fn standing<'a>(
    rows: impl IntoIterator<Item = &'a LedgerRow>,
    t0: Timestamp,
    within: Duration,
) -> Standing {
    let oldest_fresh = fresh_from(t0, within);
    let mut s = Standing::default();
    for row in rows {
        s.objects += 1;
        s.bytes += row.identity.size;
        match &row.verified {
            None => s.never_verified += 1,
            Some(v) => {
                if v.outcome == Outcome::Passed && v.at >= oldest_fresh {
                    s.verified_within += 1;
                }
                s.oldest_verified = Some(s.oldest_verified.map_or(v.at, |o| o.min(v.at)));
            }
        }
    }
    s
}

/// Where coverage stands once a phase is recorded, told before it is: from the standing
/// `before` the phase (over the ledger as staged), the phase's `selection` and the outcome
/// of each object it read (`outcomes`, in `selection.read`'s order). A phase's record is
/// written before the ledger is told (so the ledger never claims a verification no record
/// proves), and the record holds this standing. Equal to the standing the ledger gives once
/// told (tested against [`MemoryLedger`]).
pub fn standing_after(
    before: &Standing,
    selection: &Selection,
    outcomes: &[Outcome],
    t0: Timestamp,
    within: Duration,
) -> Standing {
    let oldest_fresh = fresh_from(t0, within);
    let mut s = before.clone();
    for (object, outcome) in selection.read.iter().zip(outcomes) {
        match &object.last {
            None => s.never_verified = s.never_verified.saturating_sub(1),
            Some(v) if v.outcome == Outcome::Passed && v.at >= oldest_fresh => {
                s.verified_within = s.verified_within.saturating_sub(1);
            }
            Some(_) => {}
        }
        if *outcome == Outcome::Passed && t0 >= oldest_fresh {
            s.verified_within += 1;
        }
    }
    // The objects read are now verified at T0; of the rest, the oldest verification is the
    // first unread object's (when it was verified at all), else what it was before (none
    // was read).
    let read = (!selection.read.is_empty()).then_some(t0);
    let unread = match selection.first_unread {
        None => None,
        Some(FirstUnread::Never) => before.oldest_verified,
        Some(FirstUnread::Verified(at)) => Some(at),
    };
    s.oldest_verified = match (read, unread) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    s
}

#[cfg(test)]
mod tests;
