//! `recovery_points`: where a point's time comes from, which points a drill tries, and how far
//! back it looks.

use serde_saphyr::Spanned;

use super::check::Check;
use crate::runbook::model::{PointTime, RecoveryPointsSpec, Select};
use crate::runbook::raw::RawRecoveryPoints;
use crate::runbook::time_format;

/// With `point_time` false (a restic source), `time` and `time_format` are left to the
/// caller, which refuses them: a point's time is not read from its name or manifest then.
pub(super) fn recovery_points(
    c: &mut Check<'_>,
    raw: Option<&Spanned<RawRecoveryPoints>>,
    point_time: bool,
) -> Option<RecoveryPointsSpec> {
    let Some(raw) = raw else {
        return Some(RecoveryPointsSpec {
            time: PointTime::Modified,
            select: Select::Latest,
            within: None,
        });
    };
    let RawRecoveryPoints {
        time,
        time_format,
        select,
        within,
    } = &raw.value;
    let (time, time_format) = if point_time {
        (time, time_format)
    } else {
        (&None, &None)
    };
    // `None`: `time` is unusable (already reported).
    let by_name = match time {
        Some(t) => c.choice(
            "recovery_points.time",
            t,
            &[("name", true), ("modified", false)],
        ),
        None => Some(false),
    };
    let format = match (time_format, by_name) {
        (None, _) => None,
        // `time` itself is wrong and already reported; its format means nothing yet.
        (Some(_), None) => None,
        (Some(f), Some(false)) => {
            c.at(
                f,
                "recovery_points.time_format: only used with `time: name`; set `time: name` or remove it"
                    .to_owned(),
            );
            None
        }
        (Some(f), Some(true)) => match time_format::check_format(&f.value) {
            Ok(()) => Some(f.value.clone()),
            Err(e) => {
                c.at(f, format!("recovery_points.time_format: {e}"));
                None
            }
        },
    };
    let select = match select {
        Some(s) => c.choice(
            "recovery_points.select",
            s,
            &[("latest", Select::Latest), ("all", Select::All)],
        ),
        None => Some(Select::Latest),
    };
    let within = within
        .as_ref()
        .map(|w| c.positive_duration("recovery_points.within", w));
    if time_format.is_some() && format.is_none() {
        return None;
    }
    let within = match within {
        None => None,
        Some(w) => Some(w?),
    };
    Some(RecoveryPointsSpec {
        time: if by_name? {
            PointTime::Name { format }
        } else {
            PointTime::Modified
        },
        select: select?,
        within,
    })
}
