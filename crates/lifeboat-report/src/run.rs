//! The view of one drill: every sentence, verdict word and number a person reads about a
//! drill, computed once from its evidence record, for `report.html` ([`crate::html`]),
//! `report.md` ([`crate::markdown`]) and the terminal ([`crate::terminal`]).
//!
//! Text from outside lifeboat (point ids, file names, reasons, paths) stays raw here, as
//! [`Sentence`] parts or plain fields: escaping it is each surface's job, in one place each.

use jiff::Timestamp;
use lifeboat_core::evidence::{
    Evidence, FileResult, NotificationResult, Outcome, PointResult, ProjectionBasis, SampleRecord,
    StepResult, UNFLUSHED_NOTE,
};
use lifeboat_core::runbook::SampleSize;

use crate::words::{
    self, Met, Sentence, Tone, confidence_bound, count, human_bytes, human_secs, instant,
    percent_up,
};

/// A sampled point lists its files openly up to this many; more are folded away.
const FILES_SHOWN_OPEN: usize = 50;

/// The view of one drill record.
#[derive(Clone, Debug)]
pub struct RunView {
    /// `PASSED`, `FAILED`, `COULD NOT COMPLETE`.
    pub verdict: &'static str,
    pub tone: Tone,
    /// The record's outcome word, which is also the verdict's CSS class.
    pub outcome: &'static str,
    pub runbook: String,
    pub run_id: String,
    /// What was restored, from when, and whether it matched: one sentence a manager reads.
    pub headline: Sentence,
    pub reason: Option<String>,
    /// RTO, then RPO.
    pub objectives: [ObjectiveRow; 2],
    /// Where RTO and RPO were measured from, or why nothing was.
    pub measurement: Sentence,
    pub measured: bool,
    pub projection: Option<Projection>,
    /// Where coverage stands after the drill's coverage phase, in one line; `None` when the
    /// runbook has no `coverage` (or the phase did not run).
    pub coverage: Option<Sentence>,
    /// The points tried, newest first.
    pub points: Vec<PointView>,
    pub finally: Vec<StepView>,
    pub notifications: Vec<NotificationView>,
    pub seed: u64,
    /// How to draw the same sample again.
    pub reproduce: Sentence,
    /// `--seed N --now T0`, T0 exactly as recorded (to the nanosecond, UTC): what draws the
    /// same sample again.
    pub again: String,
    /// `lifeboat drill PATH --seed N --now T0`, the runbook's path as recorded (absolute) and
    /// quoted for a POSIX shell where it needs it: a line to paste as it is.
    pub command: String,
    /// Facts about the record, in reading order.
    pub about: Vec<(&'static str, Sentence)>,
    /// The SHA-256 of the `evidence.json` the view was made from, when known.
    pub record_sha256: Option<String>,
    /// The scratch folder `scratch.keep` kept, for the person who will look inside (and
    /// remove it: lifeboat never does); `None` when it was removed.
    pub kept_scratch: Option<String>,
}

/// One objective: what it means, the objective, the measured value, met or not.
#[derive(Clone, Debug)]
pub struct ObjectiveRow {
    pub label: &'static str,
    pub meaning: &'static str,
    pub objective: String,
    pub measured: String,
    pub met: Met,
}

/// A projected full restore: labelled as a projection everywhere.
#[derive(Clone, Debug)]
pub struct Projection {
    pub sentence: Sentence,
    /// The same numbers on one terminal line.
    pub short: Sentence,
}

/// One recovery point tried.
#[derive(Clone, Debug)]
pub struct PointView {
    pub id: String,
    pub time: String,
    pub outcome: &'static str,
    pub tone: Tone,
    pub reason: Option<String>,
    pub files_verified: usize,
    pub files_sampled: usize,
    pub bytes: String,
    /// `2 of 4 sampled files verified (103.1 KiB)`.
    pub verified: String,
    /// What the sample says about the point's files (the 95 % confidence statement).
    pub statement: String,
    /// The statement is bad news (a file failed, or none was checked).
    pub damaged: bool,
    pub manifest: Sentence,
    pub steps: Vec<StepView>,
    pub failures: Vec<FileView>,
    pub files: Vec<FileView>,
    /// Every file is listed unfolded.
    pub files_open: bool,
}

/// One sampled file.
#[derive(Clone, Debug)]
pub struct FileView {
    pub path: String,
    /// Verified because `sample.always` names it (not, or not only, drawn at random).
    pub always: bool,
    pub outcome: &'static str,
    pub tone: Tone,
    pub bytes: u64,
    pub algorithm: String,
    pub expected: String,
    pub actual: Actual,
    pub reason: Option<String>,
}

/// The digest the restored bytes had.
#[derive(Clone, Debug, PartialEq)]
pub enum Actual {
    /// Equal to the expected one.
    Same,
    Differs(String),
    /// None was computed (the object was missing, unreadable...).
    NotComputed,
}

/// One step (of a point, or of `finally`).
#[derive(Clone, Debug)]
pub struct StepView {
    pub kind: String,
    pub name: Option<String>,
    pub outcome: &'static str,
    pub tone: Tone,
    pub took: String,
    pub reason: Option<String>,
    /// Every detail the step recorded, by key.
    pub details: Vec<(String, String)>,
}

impl StepView {
    /// The details that say most, for surfaces that show a few: the command, its exit
    /// code, the URL and status, the operator's answer.
    pub fn key_details(&self) -> impl Iterator<Item = &(String, String)> {
        const KEY: [&str; 8] = [
            "command",
            "exit_code",
            "url",
            "status",
            "attempts",
            "operator",
            "answer",
            "note",
        ];
        self.details
            .iter()
            .filter(|(k, _)| KEY.contains(&k.as_str()))
    }
}

/// One webhook told of the verdict.
#[derive(Clone, Debug)]
pub struct NotificationView {
    pub entry: String,
    pub webhook: String,
    pub sent: bool,
    /// `sent` or `not sent`.
    pub result: &'static str,
    pub tone: Tone,
    pub attempts: u32,
    pub status: String,
    pub reason: Option<String>,
}

impl RunView {
    /// The view of `ev`; `record_sha256` is the SHA-256 of the `evidence.json` bytes it was
    /// read from, when known.
    pub fn new(ev: &Evidence, record_sha256: Option<&str>) -> RunView {
        let objectives = [
            ObjectiveRow {
                label: "RTO",
                meaning: "how long recovery took (drill start to the last check of the point \
                          that passed)",
                objective: words::objective(ev.objectives.rto_seconds),
                measured: words::measured(ev.measured.rto_seconds),
                met: Met::of(ev.measured.rto_met),
            },
            ObjectiveRow {
                label: "RPO",
                meaning: "how much data would be lost (incident time T0 to the newest recovery \
                          point that restored correctly)",
                objective: words::objective(ev.objectives.rpo_seconds),
                measured: words::measured(ev.measured.rpo_seconds),
                met: Met::of(ev.measured.rpo_met),
            },
        ];
        let measurement = match &ev.measured.recovery_point {
            Some(p) => Sentence::new()
                .words("Measured from recovery point ")
                .name(p)
                .words(format!("; incident time T0 {}.", ev.t0)),
            None => Sentence::new().words(
                "No recovery point restored correctly, so neither RTO nor RPO could be measured.",
            ),
        };
        let again = format!("--seed {} --now {}", ev.sample.seed, ev.t0);
        let command = format!(
            "lifeboat drill {} {again}",
            words::shell_word(&ev.runbook.path)
        );
        RunView {
            verdict: words::verdict(ev.outcome),
            tone: Tone::of(ev.outcome),
            outcome: words::outcome(ev.outcome),
            runbook: ev.runbook.name.clone(),
            run_id: ev.run_id.clone(),
            headline: headline(ev),
            reason: ev.reason.clone(),
            objectives,
            measurement,
            measured: ev.measured.recovery_point.is_some(),
            projection: projection(ev),
            coverage: ev.coverage.as_ref().map(coverage),
            points: ev
                .recovery_points
                .iter()
                .map(|p| point(p, &ev.sample))
                .collect(),
            finally: ev.finally.iter().map(step).collect(),
            notifications: ev.notifications.iter().map(notification).collect(),
            seed: ev.sample.seed,
            reproduce: Sentence::new()
                .words("The sample is drawn from seed ")
                .mark("seed", ev.sample.seed.to_string())
                .words(
                    ": the same manifest and seed select the same files. To check exactly \
                     these files again:",
                ),
            again,
            command,
            about: about(ev),
            record_sha256: record_sha256.map(str::to_owned),
            kept_scratch: ev.scratch.kept.then(|| ev.scratch.path.clone()),
        }
    }

    /// The page's title: `FAILED — drill payments-files`.
    pub fn title(&self) -> String {
        format!("{} — drill {}", self.verdict, self.runbook)
    }
}

/// One sentence a manager can read: what was restored, from when, and whether it matched.
fn headline(ev: &Evidence) -> Sentence {
    let passed = ev
        .recovery_points
        .iter()
        .find(|p| Some(&p.id) == ev.measured.recovery_point.as_ref());
    let tried = ev.recovery_points.len();
    match (ev.outcome, passed) {
        (_, Some(p)) => {
            let n = p.files.len();
            let mut s = Sentence::new()
                .words(format!(
                    "{} from the backup's recovery point ",
                    count(n as u64, "file", "files")
                ))
                .name(&p.id)
                .words(format!(
                    " {} restored and matched the backup's manifest byte for byte.",
                    if n == 1 { "was" } else { "were" }
                ));
            if tried > 1 {
                s = s.words(format!(
                    " {} failed first.",
                    count(tried as u64 - 1, "newer point", "newer points")
                ));
            }
            if ev.outcome != Outcome::Passed {
                s = s.words(" The drill still fails: see the reason below.");
            }
            s
        }
        (Outcome::Error, None) => {
            Sentence::new().words("The drill could not complete, so the backup was not verified.")
        }
        (_, None) if tried == 0 => Sentence::new().words("No recovery point could be restored."),
        (_, None) => Sentence::new().words(format!(
            "None of the {} tried restored correctly.",
            count(tried as u64, "recovery point", "recovery points")
        )),
    }
}

/// `coverage: 12 of 18 stored objects verified within 3d (66.7 %); this drill verified 6
/// (6.0 KiB), none failed; on pace`.
fn coverage(c: &lifeboat_core::evidence::CoverageRecord) -> Sentence {
    let failed = c
        .verified
        .iter()
        .filter(|v| v.outcome != Outcome::Passed)
        .count();
    let pace = match c.behind_seconds {
        _ if c.on_pace => "on pace".to_owned(),
        Some(s) => format!(
            "behind: at this budget full coverage takes {}",
            count(s.div_ceil(86_400), "day", "days")
        ),
        None => "behind".to_owned(),
    };
    Sentence::new().words(format!(
        "coverage: {} of {} verified within {} ({:.1} %); this drill verified {} ({}), {}; {pace}",
        c.verified_within,
        count(c.objects, "stored object", "stored objects"),
        human_secs(c.within_seconds as f64),
        c.ratio * 100.0,
        c.verified.len(),
        human_bytes(c.phase_bytes),
        match failed {
            0 => "none failed".to_owned(),
            n => format!("{n} failed"),
        },
    ))
}

fn projection(ev: &Evidence) -> Option<Projection> {
    let p = ev.projected.as_ref()?;
    let rate = p.sample.bytes as f64 / p.sample.duration_seconds;
    let rate = if rate.is_finite() {
        format!("{}/s", human_bytes(rate as u64))
    } else {
        "—".into()
    };
    // A restic snapshot's size is its files' plaintext, not what its packs store.
    let held = match p.basis {
        ProjectionBasis::Snapshot | ProjectionBasis::Tree => "of files",
        _ => "stored",
    };
    let sentence = Sentence::new()
        .words(format!(
            "Restoring all {} of recovery point ",
            count(p.entries, "entry", "entries")
        ))
        .name(&p.recovery_point)
        .words(format!(
            " ({} {held}) would take about {} at the rate measured on the sample ({} in {}, \
             {rate}; total size {}). A projection, not a measurement: it is not compared with \
             the RTO objective.",
            human_bytes(p.total_bytes),
            human_secs(p.rto_seconds),
            human_bytes(p.sample.bytes),
            human_secs(p.sample.duration_seconds),
            p.basis.describe(),
        ));
    let short = Sentence::new()
        .words(format!(
            "projected full restore about {} for {} {held} ({} entries of ",
            human_secs(p.rto_seconds),
            human_bytes(p.total_bytes),
            p.entries,
        ))
        .name(&p.recovery_point)
        .words(format!(
            "; size {}), not measured",
            match p.basis {
                ProjectionBasis::Extrapolated => "estimated",
                // A summary is the snapshot's own claim, not a size lifeboat added up.
                ProjectionBasis::Snapshot => "as the snapshot records it",
                ProjectionBasis::Sample | ProjectionBasis::Storage | ProjectionBasis::Tree => {
                    "exact"
                }
            }
        ));
    Some(Projection { sentence, short })
}

/// What the sample of one point says about the point's files, in one sentence, and whether
/// that is bad news. `size`: the runbook's `sample` size, which says how many of the files
/// the seeded draw took; files `sample.always` named were chosen, not drawn, and bound
/// nothing.
fn statement(point: &PointResult, all_files: bool, size: Option<SampleSize>) -> (String, bool) {
    let n = point.files.len() as u64;
    let always = point.files.iter().filter(|f| f.always).count() as u64;
    let failed = point
        .files
        .iter()
        .filter(|f| f.outcome != Outcome::Passed)
        .count();
    let whole = all_files || point.manifest.entries.is_some_and(|e| e > 0 && e == n);
    if n == 0 {
        (
            "No file of this point was checked, so nothing can be said about its files.".into(),
            true,
        )
    } else if failed > 0 {
        (
            format!(
                "{failed} of {n} checked files failed: this recovery point is damaged. No \
                 statistical statement is made for a point with failures."
            ),
            true,
        )
    } else if whole {
        (
            format!("Every file of this point ({n}) was restored and verified: none is corrupt."),
            false,
        )
    } else if always > 0 {
        // The draw took `sample_count` of the listed files (the always ones it took too
        // among them); without the manifest's size, only the files not named count.
        let drawn = match (size, point.manifest.entries) {
            (Some(size), Some(entries)) => {
                lifeboat_core::sample::sample_count(entries as usize, size) as u64
            }
            _ => n - always,
        };
        let bound = match confidence_bound(drawn) {
            Some(x) => format!(
                ": with 95% confidence fewer than {} of this point's files are corrupt (from \
                 the random draw)",
                percent_up(x)
            ),
            None => String::new(),
        };
        (
            format!(
                "{n} files verified, {drawn} of them drawn at random and {always} named by \
                 sample.always, all passed{bound}."
            ),
            false,
        )
    } else {
        let x = confidence_bound(n).unwrap_or(1.0);
        (
            format!(
                "{n} files sampled, all verified: with 95% confidence fewer than {} of this \
                 point's files are corrupt.",
                percent_up(x)
            ),
            false,
        )
    }
}

/// The runbook's `sample` size, as the record keeps it; `None` without `sample`.
fn sample_size(sample: &SampleRecord) -> Option<SampleSize> {
    match (sample.files, sample.percent) {
        (Some(n), _) => Some(SampleSize::Files(n)),
        (None, Some(p)) => Some(SampleSize::Percent(p)),
        (None, None) => None,
    }
}

fn point(p: &PointResult, sample: &SampleRecord) -> PointView {
    let (statement, damaged) = statement(p, sample.all, sample_size(sample));
    let files: Vec<FileView> = p.files.iter().map(file).collect();
    let bytes = human_bytes(p.bytes());
    let manifest = Sentence::new()
        .words("Manifest ")
        .name(&p.manifest.path)
        .words(format!(
            ": {}, {}, SHA-256 ",
            p.manifest
                .entries
                .map_or_else(|| "unreadable".into(), |n| count(n, "entry", "entries")),
            p.manifest.algorithm,
        ))
        .name(p.manifest.sha256.as_deref().unwrap_or("—"))
        .words(".");
    PointView {
        id: p.id.clone(),
        time: instant(p.time),
        outcome: words::outcome(p.outcome),
        tone: Tone::of(p.outcome),
        reason: p.reason.clone(),
        files_verified: p.files_passed(),
        files_sampled: p.files.len(),
        verified: format!(
            "{} of {} verified ({bytes})",
            p.files_passed(),
            count(p.files.len() as u64, "sampled file", "sampled files")
        ),
        bytes,
        statement,
        damaged,
        manifest,
        steps: p.steps.iter().map(step).collect(),
        failures: files
            .iter()
            .filter(|f| f.tone != Tone::Good)
            .cloned()
            .collect(),
        files_open: files.len() <= FILES_SHOWN_OPEN,
        files,
    }
}

fn file(f: &FileResult) -> FileView {
    FileView {
        path: f.path.clone(),
        always: f.always,
        outcome: words::outcome(f.outcome),
        tone: Tone::of(f.outcome),
        bytes: f.bytes,
        algorithm: f.algorithm.to_string(),
        expected: f.expected.clone(),
        actual: match &f.actual {
            Some(a) if *a == f.expected => Actual::Same,
            Some(a) => Actual::Differs(a.clone()),
            None => Actual::NotComputed,
        },
        reason: f.reason.clone(),
    }
}

fn took(started: Timestamp, finished: Timestamp) -> String {
    words::measured((finished - started).total(jiff::Unit::Second).ok())
}

fn step(s: &StepResult) -> StepView {
    StepView {
        kind: s.kind.clone(),
        name: s.name.clone(),
        outcome: words::outcome(s.outcome),
        tone: Tone::of(s.outcome),
        took: took(s.started_at, s.finished_at),
        reason: s.reason.clone(),
        details: s
            .detail
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn notification(n: &NotificationResult) -> NotificationView {
    NotificationView {
        entry: n.entry.clone(),
        webhook: n.webhook.clone(),
        sent: n.sent,
        result: if n.sent { "sent" } else { "not sent" },
        tone: if n.sent { Tone::Good } else { Tone::Warn },
        attempts: n.attempts,
        status: n.status.map_or_else(|| "—".into(), |c| c.to_string()),
        reason: n.reason.clone(),
    }
}

/// The record's facts, in the order both pages list them.
fn about(ev: &Evidence) -> Vec<(&'static str, Sentence)> {
    let mut rows = vec![
        ("Run", Sentence::new().name(&ev.run_id)),
        (
            "Runbook",
            Sentence::new()
                .text(&ev.runbook.name)
                .words(" — ")
                .name(&ev.runbook.path),
        ),
        ("Runbook SHA-256", Sentence::new().name(&ev.runbook.sha256)),
        ("Source", Sentence::new().name(&ev.source.url)),
    ];
    if let Some(listing) = &ev.source.listing {
        rows.push(("Seen in the source", Sentence::new().text(listing)));
    }
    if let Some(at) = ev.stopped_after_checks {
        rows.push((
            "Stop requested",
            Sentence::new().words(format!(
                "{}, after the last check: the verdict stands",
                instant(at)
            )),
        ));
    }
    rows.push((
        "Started / finished",
        Sentence::new().words(format!(
            "{} / {}",
            instant(ev.started_at),
            instant(ev.finished_at)
        )),
    ));
    // Exactly as recorded: the instant `--now` must be given to draw the same sample.
    rows.push(("Incident time T0", Sentence::new().words(ev.t0.to_string())));
    let mut mode = Sentence::new().words(ev.mode.as_str());
    if let Some(op) = &ev.operator {
        mode = mode.words(", run by operator ").mark("operator", op);
    }
    if ev.verify_only {
        mode = mode.words(", verify only (nothing written to scratch)");
    }
    if ev.unflushed() {
        mode = mode.words(format!(", {UNFLUSHED_NOTE}"));
    }
    rows.push(("Mode", mode));
    if let Some(op) = &ev.operator {
        rows.push(("Operator", Sentence::new().text(op)));
    }
    rows.push((
        "Host / lifeboat",
        Sentence::new()
            .text(ev.host.as_deref().unwrap_or("unknown"))
            .words(" / ")
            .text(&ev.lifeboat_version),
    ));
    rows.push((
        "Scratch area",
        Sentence::new()
            .name(&ev.scratch.path)
            .words(if ev.scratch.kept {
                " (kept)"
            } else {
                " (removed)"
            }),
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(files: &[bool], entries: u64) -> PointResult {
        let file = |i: usize, ok: bool| FileResult {
            path: format!("f{i}"),
            outcome: if ok { Outcome::Passed } else { Outcome::Failed },
            algorithm: lifeboat_core::Algorithm::Sha256,
            expected: "00".into(),
            actual: ok.then(|| "00".into()),
            bytes: 1,
            object_bytes: Some(1),
            object: Some(format!("f{i}")),
            reason: (!ok).then(|| "hash mismatch".into()),
            always: false,
        };
        PointResult {
            id: "p".into(),
            time: Timestamp::UNIX_EPOCH,
            outcome: Outcome::Passed,
            reason: None,
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Timestamp::UNIX_EPOCH,
            manifest: lifeboat_core::evidence::ManifestRecord {
                path: "SHA256SUMS".into(),
                algorithm: lifeboat_core::Algorithm::Sha256,
                entries: Some(entries),
                sha256: None,
            },
            files: files
                .iter()
                .enumerate()
                .map(|(i, ok)| file(i, *ok))
                .collect(),
            steps: Vec::new(),
        }
    }

    #[test]
    fn a_sample_that_all_verified_bounds_the_corrupt_share_at_95_percent() {
        let (s, bad) = statement(&point(&[true; 20], 1000), false, None);
        assert_eq!(
            s,
            "20 files sampled, all verified: with 95% confidence fewer than 14.0% of this \
             point's files are corrupt."
        );
        assert!(!bad);
    }

    #[test]
    fn files_named_by_sample_always_are_not_counted_as_drawn_at_random() {
        // 3 drawn at random (`files: 3`) and one more named by `sample.always`: the bound
        // is the random draw's, never the 4 files'.
        let mut p = point(&[true; 4], 1000);
        p.files[3].always = true;
        let (s, bad) = statement(&p, false, Some(SampleSize::Files(3)));
        assert_eq!(
            s,
            "4 files verified, 3 of them drawn at random and 1 named by sample.always, all \
             passed: with 95% confidence fewer than 63.2% of this point's files are corrupt \
             (from the random draw)."
        );
        assert!(!bad);
        // The draw took the always file too: 3 files, all 3 drawn.
        let mut p = point(&[true; 3], 1000);
        p.files[0].always = true;
        let (s, _) = statement(&p, false, Some(SampleSize::Files(3)));
        assert!(
            s.starts_with("3 files verified, 3 of them drawn at random and 1 named by"),
            "{s}"
        );
    }

    #[test]
    fn a_whole_point_is_verified_not_estimated() {
        let (s, bad) = statement(&point(&[true; 3], 3), false, None);
        assert!(
            s.starts_with("Every file of this point (3) was restored"),
            "{s}"
        );
        assert!(!bad);
        // Without `sample`, every file was the sample, whatever the manifest says.
        let (s, _) = statement(&point(&[true; 3], 10), true, None);
        assert!(s.starts_with("Every file"), "{s}");
    }

    #[test]
    fn a_failed_file_or_an_empty_sample_makes_no_statistical_claim() {
        let (s, bad) = statement(&point(&[true, false, false], 10), false, None);
        assert!(s.starts_with("2 of 3 checked files failed"), "{s}");
        assert!(bad && !s.contains("confidence"));
        let (s, bad) = statement(&point(&[], 10), false, None);
        assert!(s.starts_with("No file of this point was checked"), "{s}");
        assert!(bad);
    }
}
