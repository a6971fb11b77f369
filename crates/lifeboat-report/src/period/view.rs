//! The view of a period report: every sentence, word and number of `lifeboat report`,
//! computed once from [`PeriodReport`] for the HTML and Markdown pages, the CSV and the
//! command's line on the terminal.

use lifeboat_core::evidence::Outcome;
use lifeboat_evidence::period::{
    CONTROLS, ChainStatus, Control, CoverageFailure, DrillRow, Failure, Gap, ModeCounts,
    PeriodReport, RunbookChange, RunbookSummary, ScheduleCount, StoredCoverage,
};

use crate::chart::{ChartPoint, Scale, chart, chart_of};
use crate::words::{
    self, Met, Sentence, Tone, count, coverage_pace, day, human_bytes, human_secs, instant,
    measured, percent,
};

/// The view of a period report.
#[derive(Clone, Debug)]
pub struct PeriodView {
    /// `DR drill report: 2026-11-01 to 2026-11-30`.
    pub heading: String,
    /// Every drill passed, the chain is intact and no scheduled drill was missed.
    pub healthy: bool,
    /// `6 drills: 3 passed, 2 failed, 1 could not complete; no scheduled drill was missed.`
    pub totals: String,
    /// The chain in a few words: `verified, signatures included`, `NOT INTACT`...
    pub chain: &'static str,
    pub chain_tone: Tone,
    /// The chain in a sentence: entries, signatures, head.
    pub chain_detail: String,
    pub findings: Vec<String>,
    /// The period, the folder, the filter, when and by what the report was made.
    pub about: Sentence,
    pub gaps_checked: bool,
    /// `3 of 4 scheduled drills ran, 1 missed slot`, `no drill scheduled`, `gaps not checked`.
    pub gaps_short: String,
    pub runbooks: Vec<RunbookView>,
    /// Records that could not be read: `(record, why)`.
    pub unreadable: Vec<(String, String)>,
    pub controls: &'static [Control],
    /// `(path, sha256)` of every file the report was built from.
    pub inputs: Vec<(String, String)>,
    pub totals_drills: usize,
    pub totals_passed: usize,
    pub totals_failed: usize,
    pub totals_error: usize,
}

/// One runbook's drills in the period.
#[derive(Clone, Debug)]
pub struct RunbookView {
    pub name: String,
    /// Counts, pass rate, objectives and coverage in a few sentences.
    pub summary: String,
    pub drills: usize,
    pub passed: usize,
    pub pass_rate: String,
    pub rto_met: MetCount,
    pub rpo_met: MetCount,
    /// Missed slots, or `not checked`.
    pub missed: String,
    /// Scheduled drills that ran of those expected: `3 of 4`, `not scheduled`, `not checked`.
    pub scheduled: String,
    /// The schedule against the drills in a sentence, and how it reads (never good news for
    /// a runbook that was not scheduled: nothing was expected of it).
    pub schedule: String,
    pub schedule_tone: Tone,
    /// `same`, `changed 2 times`, or `—` without drills.
    pub runbook_file: String,
    /// Whether the runbook's file was the same in every drill, or how often it changed.
    pub runbook_text: Option<Sentence>,
    /// Each change: the first drill that ran a new text.
    pub runbook_changes: Vec<Sentence>,
    /// The RTO and RPO charts (inline SVG, drawn by [`crate::chart`]); none without drills.
    pub charts: Vec<String>,
    pub rows: Vec<DrillRowView>,
    pub failures: Vec<FailureView>,
    pub gaps: Vec<GapView>,
    /// The summary table's coverage cell: `87% on pace`, or `—` without a coverage phase.
    pub coverage_cell: String,
    pub coverage_tone: Tone,
    /// Coverage of the stored objects; none when no drill of the period had a coverage phase.
    pub stored_coverage: Option<CoverageView>,
}

/// Coverage of a runbook's stored objects over the period (`coverage:` in the runbook).
#[derive(Clone, Debug)]
pub struct CoverageView {
    /// Where coverage stands, what the period's phases did, and what the records cannot name.
    pub summary: Sentence,
    pub tone: Tone,
    /// The ratio per drill over the period (inline SVG, drawn by [`crate::chart`]).
    pub chart: String,
    /// Each object that failed coverage in the period, oldest drill first.
    pub failed: Vec<CoverageFailureView>,
    /// `and 12 more objects failed: each drill's record names them`, when more failed than
    /// are listed.
    pub failed_more: Option<String>,
}

/// A stored object a coverage phase of the period found bad.
#[derive(Clone, Debug)]
pub struct CoverageFailureView {
    pub started: String,
    pub run_id: String,
    /// The link to the drill's `report.html`, as in [`DrillRowView::href`].
    pub href: Option<String>,
    pub point: String,
    pub path: String,
    pub reason: String,
}

/// How many drills met an objective, of those that had one.
#[derive(Clone, Debug)]
pub struct MetCount {
    /// `3 of 4`, or `no objective`.
    pub text: String,
    pub tone: Tone,
}

/// One drill of the period.
#[derive(Clone, Debug)]
pub struct DrillRowView {
    pub started: String,
    pub run_id: String,
    /// The link to the drill's `report.html`, relative to where the report is written; none
    /// when that place is not known.
    pub href: Option<String>,
    /// `automatic`, `manual`, `scheduled`.
    pub mode: &'static str,
    /// Who ran a manual drill (`--operator`); none for the others.
    pub operator: Option<String>,
    pub verdict: &'static str,
    pub tone: Tone,
    pub rto: String,
    pub rto_met: Met,
    pub rpo: String,
    pub rpo_met: Met,
    pub point: Option<String>,
    pub files: String,
    pub coverage: String,
    /// Coverage of the stored objects after the drill's coverage phase (`87% on pace`), or
    /// `—` without one.
    pub stored_coverage: String,
    pub chain_ok: bool,
    /// `ok` or `problem`.
    pub chain: &'static str,
}

/// A drill that did not pass, with each failed file and step.
#[derive(Clone, Debug)]
pub struct FailureView {
    pub started: String,
    pub verdict: &'static str,
    pub tone: Tone,
    pub run_id: String,
    /// The link to the drill's `report.html`, as in [`DrillRowView::href`].
    pub href: Option<String>,
    pub reason: String,
    pub details: Vec<String>,
}

/// A scheduled slot that did not run.
#[derive(Clone, Debug)]
pub struct GapView {
    pub slot: String,
    pub state: String,
    pub reason: Option<String>,
}

impl PeriodView {
    pub fn new(r: &PeriodReport) -> PeriodView {
        let t = &r.totals;
        let healthy = t.drills > 0 && t.passed == t.drills && r.chain.intact && t.gaps == 0;
        let (chain, chain_tone) = chain_words(&r.chain);
        let mut about = Sentence::new().words(format!(
            "Period {} to {} (UTC, inclusive). Evidence folder ",
            instant(r.period.from),
            instant(r.period.to)
        ));
        about = about.name(&r.evidence_dir);
        if let Some(n) = &r.runbook_filter {
            about = about.words(", runbook ").name(n).words(" only");
        }
        about = about.words(format!(
            ". Generated {} by lifeboat {}.",
            instant(r.generated_at),
            r.lifeboat_version
        ));
        PeriodView {
            heading: format!(
                "DR drill report: {} to {}",
                day(r.period.from),
                day(r.period.to)
            ),
            healthy,
            totals: format!(
                "{}: {} passed, {} failed, {} could not complete; {}.",
                count(t.drills as u64, "drill", "drills"),
                t.passed,
                t.failed,
                t.error,
                gaps_sentence(r)
            ),
            chain,
            chain_tone,
            chain_detail: chain_detail(&r.chain),
            findings: r.chain.findings.clone(),
            about,
            gaps_checked: r.gaps_checked,
            gaps_short: gaps_short(r),
            runbooks: r.runbooks.iter().map(|rb| runbook(r, rb)).collect(),
            unreadable: r
                .unreadable
                .iter()
                .map(|u| (u.record.clone(), u.error.clone()))
                .collect(),
            controls: &CONTROLS,
            inputs: r
                .inputs
                .iter()
                .map(|i| (i.path.clone(), i.sha256.clone()))
                .collect(),
            totals_drills: t.drills,
            totals_passed: t.passed,
            totals_failed: t.failed,
            totals_error: t.error,
        }
    }

    /// The page's title: `DR drill report 2026-11-01 to 2026-11-30`.
    pub fn title(&self) -> String {
        self.heading.replacen(':', "", 1)
    }
}

/// The chain in a few words, and how that reads.
fn chain_words(c: &ChainStatus) -> (&'static str, Tone) {
    if c.error.is_some() {
        ("NOT VERIFIED", Tone::Bad)
    } else if !c.intact {
        ("NOT INTACT", Tone::Bad)
    } else if c.signatures_checked {
        ("verified, signatures included", Tone::Good)
    } else {
        ("verified (hashes only: no public key given)", Tone::Warn)
    }
}

fn chain_detail(c: &ChainStatus) -> String {
    if let Some(e) = &c.error {
        return format!("NOT VERIFIED: the chain could not be checked: {e}.");
    }
    let head = match (&c.head_entry, &c.head_sha256) {
        (Some(n), Some(h)) => format!(" Head: entry {n}, sha256 {h}."),
        _ => String::new(),
    };
    let sigs = match &c.public_key_id {
        Some(k) => format!("signatures checked with public key {k}"),
        None => "signatures NOT checked (no public key given): hashes only".into(),
    };
    if c.intact {
        format!(
            "VERIFIED: all {} ledger entries, records and links intact; {sigs}.{head}",
            c.ledger_entries
        )
    } else {
        format!(
            "NOT INTACT: {} found in {} ledger entries; {sigs}.{head}",
            count(c.findings.len() as u64, "problem", "problems"),
            c.ledger_entries
        )
    }
}

/// What the schedule expected of the whole folder, against what ran: said only of slots the
/// history store holds, so a folder with no schedule is never told "nothing was missed".
fn gaps_sentence(r: &PeriodReport) -> String {
    let t = &r.totals;
    match (&r.gaps_source, t.gaps) {
        (None, _) => "gaps not checked (no history store given: --state)".into(),
        (Some(_), _) if t.slots_expected == 0 => {
            "no drill was scheduled in the period (the history store holds no slot in it)".into()
        }
        (Some(_), 0) if t.slots_ran == t.slots_expected => format!(
            "all {} ran",
            count(
                t.slots_expected as u64,
                "scheduled drill",
                "scheduled drills"
            )
        ),
        (Some(_), 0) => format!(
            "{} of {} scheduled drills ran, the others had not finished",
            t.slots_ran, t.slots_expected
        ),
        (Some(_), n) => format!(
            "{} did not run ({} of {} ran)",
            count(n as u64, "scheduled drill", "scheduled drills"),
            t.slots_ran,
            t.slots_expected
        ),
    }
}

/// The terminal line's word on the schedule: `3 of 4 scheduled drills ran, 1 missed slot`,
/// `no drill scheduled` (never "0 missed slots" of a schedule the store does not hold), or
/// `gaps not checked`.
fn gaps_short(r: &PeriodReport) -> String {
    let t = &r.totals;
    if !r.gaps_checked {
        return "gaps not checked".into();
    }
    if t.slots_expected == 0 {
        return "no drill scheduled".into();
    }
    format!(
        "{} of {} ran, {}",
        t.slots_ran,
        count(
            t.slots_expected as u64,
            "scheduled drill",
            "scheduled drills"
        ),
        count(t.gaps as u64, "missed slot", "missed slots")
    )
}

/// A runbook's schedule against its drills: the summary table's cell, a sentence and its tone.
fn schedule_words(c: Option<&ScheduleCount>, modes: &ModeCounts) -> (String, String, Tone) {
    let Some(c) = c else {
        return (
            "not checked".into(),
            format!(
                "Scheduled drills not checked (no history store given: --state); the evidence \
                 holds {} of this runbook in the period.",
                count(
                    modes.scheduled as u64,
                    "scheduled drill",
                    "scheduled drills"
                )
            ),
            Tone::Quiet,
        );
    };
    if c.expected == 0 {
        return (
            "not scheduled".into(),
            "Not scheduled: the history store holds no slot of this runbook in the period.".into(),
            Tone::Quiet,
        );
    }
    let cell = format!("{} of {}", c.ran, c.expected);
    let mut s = if c.ran == c.expected {
        format!(
            "All {} of the period ran.",
            count(c.expected as u64, "scheduled drill", "scheduled drills")
        )
    } else {
        format!("{} of {} scheduled drills ran", c.ran, c.expected)
    };
    if c.not_run > 0 {
        s.push_str(&format!("; {} did not run", c.not_run));
    }
    if c.pending > 0 {
        s.push_str(&format!(
            "; {} had not finished when this report was made",
            c.pending
        ));
    }
    if c.ran != c.expected {
        s.push('.');
    }
    let tone = if c.not_run > 0 {
        Tone::Bad
    } else if c.pending > 0 {
        Tone::Warn
    } else {
        Tone::Good
    };
    (cell, s, tone)
}

/// `1 automatic, 2 scheduled`: the kinds that started a drill, or `none`.
fn modes_words(m: &ModeCounts) -> String {
    let kinds: Vec<String> = [
        (m.automatic, "automatic"),
        (m.manual, "manual"),
        (m.scheduled, "scheduled"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, kind)| format!("{n} {kind}"))
    .collect();
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(", ")
    }
}

/// Whether the runbook's file was the same in every drill, or how often it changed; and one
/// sentence per change naming the first drill that ran the new text.
fn runbook_text(rb: &RunbookSummary) -> (String, Option<Sentence>, Vec<Sentence>) {
    let Some(sha) = &rb.runbook_sha256 else {
        return ("—".into(), None, Vec::new());
    };
    if rb.runbook_changes.is_empty() {
        let s = Sentence::new()
            .words("The runbook file was the same in every drill of the period: SHA-256 ")
            .name(sha)
            .words(".");
        return ("same".into(), Some(s), Vec::new());
    }
    let n = rb.runbook_changes.len() as u64;
    let times = count(n, "time", "times");
    let s = Sentence::new().words(format!(
        "The runbook file changed {times} in the period (its SHA-256 is in every record); \
         each change, with the first drill that ran the new text:"
    ));
    (
        format!("changed {times}"),
        Some(s),
        rb.runbook_changes.iter().map(change).collect(),
    )
}

fn change(c: &RunbookChange) -> Sentence {
    let before = if c.previous_in_period {
        ""
    } else {
        ", before the period"
    };
    Sentence::new()
        .words(format!("{} ", instant(c.started_at)))
        .name(&c.run_id)
        .words(" was the first drill to run SHA-256 ")
        .name(&c.to_sha256)
        .words(", read from ")
        .name(&c.path)
        .words("; the drill before it (")
        .name(&c.previous_run_id)
        .words(format!(
            "{before}, {}) ran ",
            instant(c.previous_started_at)
        ))
        .name(&c.from_sha256)
        .words(".")
}

/// The link from the report to a drill's page: `base` (the evidence folder, relative to the
/// report) and the page's path below it, every name percent-encoded.
fn href(base: Option<&str>, below: &str) -> Option<String> {
    base.map(|b| format!("{b}/{}", crate::period::encode_path(below)))
}

fn met_count(met: usize, checked: usize) -> MetCount {
    if checked == 0 {
        MetCount {
            text: Met::NoObjective.word().into(),
            tone: Tone::Quiet,
        }
    } else {
        MetCount {
            text: format!("{met} of {checked}"),
            tone: if met == checked {
                Tone::Good
            } else {
                Tone::Bad
            },
        }
    }
}

fn runbook_sentence(rb: &RunbookSummary) -> String {
    let mut s = format!(
        "{}: {} passed, {} failed, {} could not complete (pass rate {}).",
        count(rb.drills as u64, "drill", "drills"),
        rb.passed,
        rb.failed,
        rb.error,
        percent(rb.pass_rate)
    );
    for (what, met, checked, obj, worst) in [
        (
            "RTO",
            rb.rto_met,
            rb.rto_checked,
            rb.rto_objective_seconds,
            rb.rto_max_seconds,
        ),
        (
            "RPO",
            rb.rpo_met,
            rb.rpo_checked,
            rb.rpo_objective_seconds,
            rb.rpo_max_seconds,
        ),
    ] {
        match obj {
            Some(o) => s.push_str(&format!(
                " {what} objective {}: met in {met} of {checked} drills, worst {}.",
                human_secs(o as f64),
                measured(worst)
            )),
            None => s.push_str(&format!(" No {what} objective; worst {}.", measured(worst))),
        }
    }
    let c = &rb.coverage;
    s.push_str(&format!(
        " Sample coverage: {} of {} checked verified, {} verified at least once; on average \
         each drill checked {} of its recovery point's files.",
        c.files_verified,
        count(c.files_checked, "file", "files"),
        count(
            c.distinct_files_verified as u64,
            "distinct file",
            "distinct files"
        ),
        percent(c.mean_point_coverage)
    ));
    s
}

fn runbook(r: &PeriodReport, rb: &RunbookSummary) -> RunbookView {
    let charts = if rb.drill_list.is_empty() {
        Vec::new()
    } else {
        let points = |what: &str, value: fn(&DrillRow) -> (Option<f64>, Option<bool>)| {
            rb.drill_list
                .iter()
                .map(|d| {
                    let (v, met) = value(d);
                    ChartPoint {
                        at: d.started_at,
                        value: v,
                        met,
                        label: format!(
                            "{} {}: {what} {}",
                            instant(d.started_at),
                            words::verdict(d.outcome),
                            v.map_or_else(|| "not measured".into(), human_secs)
                        ),
                    }
                })
                .collect::<Vec<_>>()
        };
        vec![
            chart(
                &format!("{}: measured RTO per drill", rb.name),
                r.period.from,
                r.period.to,
                &points("RTO", |d| (d.rto_seconds, d.rto_met)),
                rb.rto_objective_seconds.map(|v| v as f64),
            ),
            chart(
                &format!("{}: measured RPO per drill", rb.name),
                r.period.from,
                r.period.to,
                &points("RPO", |d| (d.rpo_seconds, d.rpo_met)),
                rb.rpo_objective_seconds.map(|v| v as f64),
            ),
        ]
    };
    let (scheduled, schedule, schedule_tone) = schedule_words(rb.schedule.as_ref(), &rb.by_mode);
    let (runbook_file, runbook_text, runbook_changes) = runbook_text(rb);
    let base = r.evidence_href.as_deref();
    RunbookView {
        name: rb.name.clone(),
        summary: format!(
            "{} Started: {}.",
            runbook_sentence(rb),
            modes_words(&rb.by_mode)
        ),
        drills: rb.drills,
        passed: rb.passed,
        pass_rate: percent(rb.pass_rate),
        rto_met: met_count(rb.rto_met, rb.rto_checked),
        rpo_met: met_count(rb.rpo_met, rb.rpo_checked),
        missed: if r.gaps_checked {
            rb.gaps.len().to_string()
        } else {
            "not checked".into()
        },
        scheduled,
        schedule,
        schedule_tone,
        runbook_file,
        runbook_text,
        runbook_changes,
        charts,
        rows: rb.drill_list.iter().map(|d| row(d, base)).collect(),
        failures: rb
            .failures
            .iter()
            .map(|f| failure(f, href(base, &f.report)))
            .collect(),
        gaps: rb.gaps.iter().map(gap).collect(),
        coverage_cell: rb.stored_coverage.as_ref().map_or_else(
            || "—".to_owned(),
            |c| coverage_pace(c.ratio, c.on_pace, c.behind_seconds),
        ),
        coverage_tone: rb
            .stored_coverage
            .as_ref()
            .map_or(Tone::Quiet, coverage_tone),
        stored_coverage: rb
            .stored_coverage
            .as_ref()
            .map(|c| stored_coverage(r, rb, c, base)),
    }
}

/// Good when on pace with nothing failed; bad when an object failed; else a warning.
fn coverage_tone(c: &StoredCoverage) -> Tone {
    if c.failed_objects > 0 {
        Tone::Bad
    } else if c.on_pace {
        Tone::Good
    } else {
        Tone::Warn
    }
}

fn stored_coverage(
    r: &PeriodReport,
    rb: &RunbookSummary,
    c: &StoredCoverage,
    base: Option<&str>,
) -> CoverageView {
    let mut summary = Sentence::new()
        .words(format!(
            "Coverage of the stored objects (every one verified at least once every {}",
            lifeboat_core::duration::format(std::time::Duration::from_secs(c.within_seconds))
        ))
        .words(match c.budget_bytes {
            Some(b) => format!(", at most {} read per drill", human_bytes(b)),
            None => String::new(),
        })
        .words("), as of drill ")
        .name(&c.as_of_run_id)
        .words(format!(
            " ({}): {} of {} ({}) verified within the window: {}. ",
            instant(c.as_of),
            c.verified_within,
            count(c.objects, "object", "objects"),
            human_bytes(c.bytes),
            coverage_pace(c.ratio, c.on_pace, c.behind_seconds)
        ))
        .words(match c.oldest_verified {
            Some(t) => format!("Oldest verification {}. ", instant(t)),
            None => "No object verified yet. ".into(),
        });
    if c.never_verified > 0 {
        summary = summary.words(format!(
            "{} never verified (the records count them but cannot name them: each record lists \
             what its phase verified, not what it did not reach; the history store's coverage \
             ledger holds their names, and lifeboat plan shows what the next phase reads). ",
            count(c.never_verified, "object", "objects")
        ));
    } else {
        summary = summary.words("Every object has been verified at least once. ");
    }
    summary = summary.words(format!(
        "The period's {} verified {} ({} read); {}.",
        count(c.drills as u64, "coverage phase", "coverage phases"),
        count(c.objects_verified, "object", "objects"),
        human_bytes(c.bytes_read),
        if c.failed_objects == 0 {
            "none failed".to_owned()
        } else {
            format!("{} failed", c.failed_objects)
        }
    ));
    let points: Vec<ChartPoint> = rb
        .drill_list
        .iter()
        .map(|d| ChartPoint {
            at: d.started_at,
            value: d.coverage_ratio,
            met: d.coverage_on_pace,
            label: format!(
                "{} {}: coverage {}",
                instant(d.started_at),
                words::verdict(d.outcome),
                d.coverage_ratio.map_or_else(
                    || "not measured (no coverage phase)".into(),
                    |ratio| coverage_pace(
                        ratio,
                        d.coverage_on_pace.unwrap_or(false),
                        d.coverage_behind_seconds
                    )
                )
            ),
        })
        .collect();
    let listed = c.failed.len() as u64;
    CoverageView {
        summary,
        tone: coverage_tone(c),
        chart: chart_of(
            Scale::Ratio,
            &format!("{}: coverage of the stored objects per drill", rb.name),
            r.period.from,
            r.period.to,
            &points,
            None,
        ),
        failed: c
            .failed
            .iter()
            .map(|f| coverage_failure(f, href(base, &f.report)))
            .collect(),
        failed_more: (c.failed_objects > listed).then(|| {
            let more = c.failed_objects - listed;
            format!(
                "and {more} more {} failed: each drill's record names them.",
                if more == 1 { "object" } else { "objects" }
            )
        }),
    }
}

fn coverage_failure(f: &CoverageFailure, href: Option<String>) -> CoverageFailureView {
    CoverageFailureView {
        started: instant(f.started_at),
        run_id: f.run_id.clone(),
        href,
        point: f.recovery_point.clone(),
        path: f.path.clone(),
        reason: f.reason.clone().unwrap_or_else(|| "failed".into()),
    }
}

fn row(d: &DrillRow, base: Option<&str>) -> DrillRowView {
    DrillRowView {
        started: instant(d.started_at),
        run_id: d.run_id.clone(),
        href: href(base, &d.report),
        mode: d.mode.as_str(),
        operator: d.operator.clone(),
        verdict: words::verdict(d.outcome),
        tone: Tone::of(d.outcome),
        rto: measured(d.rto_seconds),
        rto_met: Met::of(d.rto_met),
        rpo: measured(d.rpo_seconds),
        rpo_met: Met::of(d.rpo_met),
        point: d.recovery_point.clone(),
        files: format!("{} of {}", d.files_verified, d.files_checked),
        coverage: percent(d.point_coverage),
        stored_coverage: d.coverage_ratio.map_or_else(
            || "—".to_owned(),
            |ratio| {
                coverage_pace(
                    ratio,
                    d.coverage_on_pace.unwrap_or(false),
                    d.coverage_behind_seconds,
                )
            },
        ),
        chain_ok: d.chain_ok,
        chain: if d.chain_ok { "ok" } else { "problem" },
    }
}

fn failure(f: &Failure, href: Option<String>) -> FailureView {
    FailureView {
        started: instant(f.started_at),
        verdict: words::verdict(f.outcome),
        tone: Tone::of(f.outcome),
        run_id: f.run_id.clone(),
        href,
        reason: f.reason.clone().unwrap_or_else(|| match f.outcome {
            Outcome::Passed => String::new(),
            o => o.to_string(),
        }),
        details: f.details.clone(),
    }
}

fn gap(g: &Gap) -> GapView {
    GapView {
        slot: instant(g.slot),
        state: g.state.clone(),
        reason: g.reason.clone(),
    }
}
