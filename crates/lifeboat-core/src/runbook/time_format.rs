//! Recovery point times read from point names (`recovery_points.time: name`).
//!
//! The validator and the drill must agree on what a format accepts, so both go through
//! [`time_from_name`]; the validator additionally proves, before anything runs, that a format
//! reads back the date it writes, so a typo such as `%Y-%m-%` fails at `lifeboat validate`
//! rather than as "no recovery points" in the middle of the night.

use jiff::Timestamp;
use jiff::fmt::strtime;
use jiff::tz::{Offset, TimeZone};

/// The time a recovery point's name stands for.
///
/// `format: None` reads RFC 3339 (`2026-11-21T02:00:00Z`). With a strftime format, a name
/// without an offset (`%z`) or Unix time (`%s`) is read as UTC, and missing time-of-day fields
/// count as zero (`%Y-%m-%d` is midnight UTC).
pub(super) fn time_from_name(format: Option<&str>, name: &str) -> Result<Timestamp, String> {
    let Some(format) = format else {
        return name.parse::<Timestamp>().map_err(|e| {
            format!(
                "\"{}\" is not an RFC 3339 time (e.g. 2026-11-21T02:00:00Z): {e}",
                name.escape_debug()
            )
        });
    };
    let mismatch = |e: jiff::Error| {
        format!(
            "\"{}\" does not match time format \"{}\": {e}",
            name.escape_debug(),
            format.escape_debug()
        )
    };
    let tm = strtime::parse(format, name).map_err(mismatch)?;
    if tm.timestamp().is_some() || tm.offset().is_some() {
        return tm.to_timestamp().map_err(mismatch);
    }
    let datetime = tm.to_datetime().map_err(mismatch)?;
    Offset::UTC.to_timestamp(datetime).map_err(mismatch)
}

/// Checks that `format` writes a point name and reads the same date back. The error is a
/// sentence to put after the key path.
pub(super) fn check_format(format: &str) -> Result<(), String> {
    let shown = format.escape_debug();
    // Any instant works; this one has distinct digits in every field, so a format that
    // confuses month and day, or drops the year, cannot read it back by luck.
    let sample = Timestamp::constant(1_795_490_584, 0).to_zoned(TimeZone::UTC); // 2026-11-24T03:23:04Z
    let written = strtime::format(format, &sample)
        .map_err(|e| format!("\"{shown}\" is not a usable strftime format: {e}"))?;
    if written.contains('/') {
        return Err(format!(
            "\"{shown}\" writes \"/\" into point names, but each recovery point is a single \
             folder directly below source.url: use - or _ instead"
        ));
    }
    let has_date = strtime::parse(format, &written)
        .is_ok_and(|tm| tm.timestamp().is_some() || tm.to_date().is_ok());
    if !has_date {
        return Err(format!(
            "\"{shown}\" does not hold a full date: expected at least year, month and day, \
             e.g. %Y-%m-%dT%H%M%SZ"
        ));
    }
    let read = time_from_name(Some(format), &written)
        .map_err(|e| format!("\"{shown}\" cannot read back the names it writes: {e}"))?;
    if read.to_zoned(TimeZone::UTC).date() != sample.date() {
        return Err(format!(
            "\"{shown}\" reads the name \"{}\" back as {read}, not as the date it was written from ({})",
            written.escape_debug(),
            sample.date()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(None, "2026-11-21T02:00:00Z", "2026-11-21T02:00:00Z" ; "rfc 3339 default")]
    #[test_case(None, "2026-11-21T03:00:00+01:00", "2026-11-21T02:00:00Z" ; "rfc 3339 with offset")]
    #[test_case(Some("%Y-%m-%dT%H%M%SZ"), "2026-11-21T020000Z", "2026-11-21T02:00:00Z" ; "compact utc")]
    #[test_case(Some("%Y-%m-%d"), "2026-11-21", "2026-11-21T00:00:00Z" ; "date only is midnight utc")]
    #[test_case(Some("backup-%Y%m%d-%H%M"), "backup-20261121-0215", "2026-11-21T02:15:00Z" ; "prefix")]
    #[test_case(Some("%Y%m%dT%H%M%S%z"), "20261121T030000+0100", "2026-11-21T02:00:00Z" ; "offset honoured")]
    #[test_case(Some("%s"), "1795490584", "2026-11-24T03:23:04Z" ; "unix seconds")]
    fn reads_names(format: Option<&str>, name: &str, expected: &str) {
        assert_eq!(
            time_from_name(format, name).map(|t| t.to_string()),
            Ok(expected.to_owned())
        );
    }

    #[test]
    fn name_mismatch_names_name_and_format() {
        let err = time_from_name(Some("%Y-%m-%d"), "latest").unwrap_err();
        assert!(
            err.starts_with("\"latest\" does not match time format \"%Y-%m-%d\": "),
            "{err}"
        );
        let err = time_from_name(None, "latest").unwrap_err();
        assert!(
            err.starts_with("\"latest\" is not an RFC 3339 time (e.g. 2026-11-21T02:00:00Z): "),
            "{err}"
        );
    }

    #[test_case("%Y-%m-%dT%H%M%SZ")]
    #[test_case("%Y-%m-%d")]
    #[test_case("%Y%m%d_%H%M%S")]
    #[test_case("db-%F-%H%M")]
    #[test_case("%s")]
    #[test_case("%Y-%j")]
    fn accepts_formats(format: &str) {
        assert_eq!(check_format(format), Ok(()));
    }

    #[test_case("%H%M%S", "\"%H%M%S\" does not hold a full date: expected at least year, month and day, e.g. %Y-%m-%dT%H%M%SZ" ; "no date")]
    #[test_case("%m-%d", "\"%m-%d\" does not hold a full date: expected at least year, month and day, e.g. %Y-%m-%dT%H%M%SZ" ; "no year")]
    #[test_case("", "\"\" does not hold a full date: expected at least year, month and day, e.g. %Y-%m-%dT%H%M%SZ" ; "empty")]
    #[test_case("%Y/%m/%d", "\"%Y/%m/%d\" writes \"/\" into point names, but each recovery point is a single folder directly below source.url: use - or _ instead" ; "slash")]
    fn refuses_formats(format: &str, message: &str) {
        assert_eq!(check_format(format), Err(message.to_owned()));
    }

    #[test]
    fn refuses_unknown_directives() {
        let err = check_format("%Y-%m-%d%K").unwrap_err();
        assert!(
            err.starts_with("\"%Y-%m-%d%K\" is not a usable strftime format: "),
            "{err}"
        );
    }
}
