//! `schedule` and the keys that only mean something with it: `timezone`, `catch_up`,
//! `start_window`, `jitter`, `runners`.

use std::time::Duration;

use super::check::Check;
use crate::runbook::model::{CatchUp, DEFAULT_START_WINDOW, ScheduleSpec, cron_parser};
use crate::runbook::raw::RawRunbook;
use crate::runbook::wording::quote;

/// `runners: {KEY: VALUE, ...}`: the labels a runner must carry to claim this runbook's
/// slots. Keys and values are `[a-z0-9_.-]` (see [`crate::placement`]); only with `schedule`.
pub(super) fn runners(c: &mut Check<'_>, raw: &RawRunbook) -> crate::placement::Labels {
    let mut labels = crate::placement::Labels::new();
    let Some(runners) = raw.runners.as_ref() else {
        return labels;
    };
    if raw.schedule.is_none() {
        c.at(
            runners,
            "runners: only used with `schedule` (it places scheduled drills on runners); add a schedule or remove it".to_owned(),
        );
        return labels;
    }
    for (key, value) in &runners.value.0 {
        if let Err(why) = crate::placement::check_label(&key.value) {
            c.at(key, format!("runners: key {} {why}", quote(&key.value)));
            continue;
        }
        let Some(text) = &value.value else {
            c.at(
                value,
                format!(
                    "runners.{}: no value: expected a label value such as eu",
                    key.value
                ),
            );
            continue;
        };
        if let Err(why) = crate::placement::check_label(text) {
            c.at(
                value,
                format!("runners.{}: value {} {why}", key.value, quote(text)),
            );
            continue;
        }
        labels.insert(key.value.clone(), text.clone());
    }
    if labels.len() > crate::placement::MAX_LABELS {
        c.at(
            runners,
            format!("runners: more than {} labels", crate::placement::MAX_LABELS),
        );
    }
    labels
}

pub(super) fn schedule(c: &mut Check<'_>, raw: &RawRunbook) -> Option<ScheduleSpec> {
    let Some(cron) = raw.schedule.as_ref() else {
        for (key, value) in [
            ("timezone", &raw.timezone),
            ("catch_up", &raw.catch_up),
            ("start_window", &raw.start_window),
            ("jitter", &raw.jitter),
        ] {
            if let Some(v) = value {
                c.at(
                    v,
                    format!("{key}: only used with `schedule`; add a schedule or remove it"),
                );
            }
        }
        return None;
    };
    let catch_up = match &raw.catch_up {
        Some(v) => c.choice(
            "catch_up",
            v,
            &[("none", CatchUp::None), ("latest", CatchUp::Latest)],
        ),
        None => Some(CatchUp::None),
    };
    let start_window = match &raw.start_window {
        Some(v) => c.positive_duration("start_window", v),
        None => Some(DEFAULT_START_WINDOW),
    };
    let jitter = match &raw.jitter {
        Some(v) => match (c.positive_duration("jitter", v), start_window) {
            (Some(j), Some(w)) if j >= w => {
                c.at(
                    v,
                    format!(
                        "jitter: {} is not shorter than start_window ({}): a drill delayed that long could miss its own window; shorten jitter or lengthen start_window",
                        quote(&v.value),
                        crate::duration::format(w)
                    ),
                );
                None
            }
            (j, _) => j,
        },
        None => Some(Duration::ZERO),
    };
    let timezone = match raw.timezone.as_ref() {
        None => Some("UTC".to_owned()),
        Some(tz) => match jiff::tz::TimeZone::get(&tz.value) {
            Ok(_) => Some(tz.value.clone()),
            Err(_) => {
                c.at(
                    tz,
                    format!(
                        "timezone: unknown time zone {}: expected an IANA name such as UTC, Europe/Berlin or America/New_York",
                        quote(&tz.value)
                    ),
                );
                None
            }
        },
    };
    if let Err(why) = check_cron(&cron.value) {
        c.at(
            cron,
            format!(
                "schedule: invalid cron expression {}: {why}: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. \"0 2 * * *\"",
                quote(&cron.value)
            ),
        );
        return None;
    }
    Some(ScheduleSpec {
        cron: cron.value.clone(),
        timezone: timezone?,
        catch_up: catch_up?,
        start_window: start_window?,
        jitter: jitter?,
    })
}

/// Why croner refuses an expression, worded for runbook authors. The field count is checked
/// here because croner's own message for it talks about a year field runbooks cannot have.
fn check_cron(expr: &str) -> Result<(), String> {
    let fields = expr.split_whitespace().count();
    if !expr.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!("it has {fields} fields"));
    }
    cron_parser().parse(expr).map(drop).map_err(|e| {
        let text = match e {
            croner::errors::CronError::InvalidPattern(m)
            | croner::errors::CronError::IllegalCharacters(m)
            | croner::errors::CronError::ComponentError(m) => m,
            other => other.to_string(),
        };
        let text = text.trim_end_matches('.');
        let mut chars = text.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_lowercase().chain(chars).collect()
        })
    })
}
