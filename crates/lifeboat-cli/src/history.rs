//! The history store from the command line: `lifeboat history` and `lifeboat status`.

use std::sync::Arc;

use jiff::Timestamp;

use lifeboat_app::status::{CoverageStatus, Statuses};
use lifeboat_app::{StateLocation, runbook_file};
use lifeboat_report::words::{coverage_pace, human_secs};
use lifeboat_scheduler::{HistoryEntry, HistoryStore};
use serde_json::{Value, json};

use crate::cli::{HistoryArgs, StateArg, StatusArgs};
use crate::error::CliError;
use crate::exit_codes::Exit;

/// Opens an existing store for reading; `Ok(None)` (with a note on stderr) when there is
/// none yet, which is not an error: nothing has been recorded.
fn open_to_read(arg: &StateArg) -> Result<Option<Arc<dyn HistoryStore>>, CliError> {
    let state = StateLocation::or_default(arg.state.as_deref()).map_err(CliError::invalid_input)?;
    let store = state.open_existing().map_err(CliError::store)?;
    if store.is_none() {
        if state.local_path().is_some() {
            errln!("lifeboat: no history yet: {state} does not exist");
        } else {
            errln!("lifeboat: no history yet: {state} holds no lifeboat history");
        }
    }
    Ok(store)
}

pub fn history(args: HistoryArgs) -> Result<Exit, CliError> {
    let entries = match open_to_read(&args.state)? {
        Some(store) => crate::block_on(store.history(args.runbook.as_deref()))?,
        None => Vec::new(),
    };
    if args.json {
        let list: Vec<Value> = entries.iter().map(entry_json).collect();
        outln!("{}", json_text(&Value::Array(list)));
    } else {
        out!("{}", history_table(&entries));
    }
    Ok(Exit::Ok)
}

/// JSON for a terminal or a pipe: exact values, with the characters serde_json leaves raw
/// that a terminal would act on (C1 and bidi controls in a point's name) written as escapes.
fn json_text(v: &Value) -> String {
    lifeboat_core::text::harden_json(&v.to_string()).into_owned()
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// One history entry as JSON. Every key is always present (null when it does not apply), so
/// scripts can rely on the shape: a slot that did not run has `run_id`, `outcome` and the
/// measurements null and says why in `state` and `reason`.
fn entry_json(e: &HistoryEntry) -> Value {
    let r = e.run.as_ref();
    json!({
        "runbook": e.runbook,
        "run_id": r.map(|r| r.run_id.as_str()),
        "mode": r.map(|r| r.mode.as_str()),
        "slot": opt_ts(e.slot),
        "state": e.state.map(|s| s.as_str()),
        "trigger": e.trigger,
        "started_at": opt_ts(r.map(|r| r.started_at)),
        "finished_at": opt_ts(r.map(|r| r.finished_at)),
        "outcome": r.map(|r| r.outcome.as_str()),
        "reason": e.reason,
        "rto_seconds": r.and_then(|r| r.rto_seconds),
        "rpo_seconds": r.and_then(|r| r.rpo_seconds),
        "rto_objective_seconds": r.and_then(|r| r.rto_objective_seconds),
        "rpo_objective_seconds": r.and_then(|r| r.rpo_objective_seconds),
        "recovery_point": r.and_then(|r| r.recovery_point.as_deref()),
        "evidence": r.and_then(|r| r.evidence.as_deref()),
        "runner": r.and_then(|r| r.runner.as_deref()),
    })
}

fn secs(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), human_secs)
}

/// An instant in a table: whole seconds, as a person reads it (`--json` keeps the rest).
fn when(t: Timestamp) -> String {
    format!("{t:.0}")
}

/// A value of a table, escaped (`lifeboat_core::text`): a reason can quote a name from the
/// backup, and a line feed in it would start a row of its own.
fn escaped(v: Option<&str>) -> String {
    lifeboat_core::text::escape(v.unwrap_or_default()).into_owned()
}

/// `rows` under `header`, each column as wide as its widest cell, two spaces apart; the last
/// column is left unpadded (a reason can be long).
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cols: [&str; N]| {
        let mut l = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i + 1 < N {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            } else {
                l.push_str(c);
            }
        }
        let _ = writeln!(s, "{}", l.trim_end());
    };
    line(header);
    for r in rows {
        line(std::array::from_fn(|i| r[i].as_str()));
    }
    s
}

/// The columns of `lifeboat history`, as its `--help` explains them.
const HISTORY_COLUMNS: [&str; 7] = ["WHEN", "RUNBOOK", "MODE", "RESULT", "RTO", "RPO", "REASON"];

fn history_table(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| match &e.run {
            Some(r) => [
                when(r.started_at),
                escaped(Some(&e.runbook)),
                // The runner that ran it (`schedule --runner`), when the fleet named one.
                match &r.runner {
                    Some(runner) => format!("{} by {}", r.mode, escaped(Some(runner))),
                    None => r.mode.clone(),
                },
                r.outcome.as_str().to_owned(),
                secs(r.rto_seconds),
                secs(r.rpo_seconds),
                escaped(e.reason.as_deref()),
            ],
            // A slot that did not run: only the daemon records slots.
            None => [
                when(e.at),
                escaped(Some(&e.runbook)),
                "scheduled".to_owned(),
                e.state.map_or("", |s| s.as_str()).to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                escaped(e.reason.as_deref()),
            ],
        })
        .collect();
    table(HISTORY_COLUMNS, &rows)
}

pub fn status(args: StatusArgs) -> Result<Exit, CliError> {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let mut exit = Exit::Ok;
    let mut by_name = Statuses::new(now);
    let files = lifeboat_app::runbooks::discover(&args.paths)
        .map_err(|e| CliError::in_file(Exit::InvalidInput, e))?;
    for file in files {
        // Linted, not loaded: status needs a runbook's name and schedule, not the secrets
        // its `${VAR}`s read, which the daemon's environment has and a shell may not.
        match runbook_file::lint(&file) {
            Ok(lint) => match (lint.error(), &lint.name) {
                (None, Some(name)) => by_name.add_file(name, &lint.file, lint.schedule.as_ref()),
                (e, _) => {
                    // Every file's problems are told; the others are still shown.
                    if let Some(e) = e {
                        errln!("{e}");
                    }
                    exit = Exit::InvalidInput;
                }
            },
            Err(e) => {
                errln!("{e}");
                exit = Exit::InvalidInput;
            }
        }
    }
    if let Some(store) = open_to_read(&args.state)? {
        by_name.add_history(crate::block_on(store.history(None))?);
    }
    if args.json {
        let list: Vec<Value> = by_name
            .iter()
            .map(|(name, st)| {
                let r = st.last.as_ref();
                json!({
                    "runbook": name,
                    "path": st.path,
                    "schedule": st.schedule,
                    "last_outcome": r.map(|r| r.outcome.as_str()),
                    "last_run_id": r.map(|r| r.run_id.as_str()),
                    "last_started_at": opt_ts(r.map(|r| r.started_at)),
                    "last_rto_seconds": r.and_then(|r| r.rto_seconds),
                    "last_rpo_seconds": r.and_then(|r| r.rpo_seconds),
                    "last_evidence": r.and_then(|r| r.evidence.as_deref()),
                    "last_passed_at": opt_ts(st.last_passed),
                    "missed_since_last_success": st.missed.total(),
                    "missed_recorded": st.missed.recorded,
                    "missed_unrecorded": st.missed.unrecorded,
                    "missed_more": st.missed.more,
                    "next_due": opt_ts(st.next),
                    "coverage": st.coverage.as_ref().map(coverage_json),
                })
            })
            .collect();
        outln!("{}", json_text(&Value::Array(list)));
    } else {
        let rows: Vec<[String; 8]> = by_name
            .iter()
            .map(|(name, st)| {
                let (last, at) = st.last.as_ref().map_or_else(
                    || ("never run".to_owned(), "—".to_owned()),
                    |r| (r.outcome.as_str().to_owned(), when(r.started_at)),
                );
                let passed = match (&st.last, st.last_passed) {
                    (_, Some(t)) => when(t),
                    (Some(_), None) => "never".to_owned(),
                    (None, None) => "—".to_owned(),
                };
                let (next, schedule) = match (&st.schedule, st.next) {
                    (Some(sched), Some(n)) => (when(n), sched.clone()),
                    (Some(sched), None) => ("none".to_owned(), sched.clone()),
                    (None, _) if st.path.is_some() => ("—".to_owned(), "not scheduled".to_owned()),
                    (None, _) => ("—".to_owned(), "—".to_owned()),
                };
                [
                    escaped(Some(name)),
                    last,
                    at,
                    passed,
                    st.missed.to_string(),
                    st.coverage.as_ref().map_or("—".to_owned(), coverage_cell),
                    next,
                    schedule,
                ]
            })
            .collect();
        if !rows.is_empty() {
            out!("{}", table(STATUS_COLUMNS, &rows));
        }
    }
    Ok(exit)
}

/// The columns of `lifeboat status`, as its `--help` explains them.
const STATUS_COLUMNS: [&str; 8] = [
    "RUNBOOK",
    "LAST",
    "AT",
    "LAST PASSED",
    "MISSED",
    "COVERAGE",
    "NEXT",
    "SCHEDULE",
];

/// `87% on pace`, `42% behind: full in 45 days`, and `, 2 failed` when that drill's phase
/// found bad objects: the words every surface uses ([`coverage_pace`]).
fn coverage_cell(c: &CoverageStatus) -> String {
    let s = &c.summary;
    let mut cell = coverage_pace(s.ratio, s.on_pace, s.behind_seconds);
    if s.failed > 0 {
        cell.push_str(&format!(", {} failed", s.failed));
    }
    cell
}

/// Coverage as the runbook's last drill with a coverage phase left it; every key always
/// present (null when it does not apply).
fn coverage_json(c: &CoverageStatus) -> Value {
    let s = &c.summary;
    json!({
        "run_id": c.run_id,
        "started_at": c.started_at.to_string(),
        "ratio": s.ratio,
        "on_pace": s.on_pace,
        "behind_seconds": s.behind_seconds,
        "within_seconds": s.within_seconds,
        "objects": s.objects,
        "verified_within": s.verified_within,
        "never_verified": s.never_verified,
        "oldest_verified": opt_ts(s.oldest_verified),
        "failed": s.failed,
        "summary": coverage_cell(c),
    })
}
