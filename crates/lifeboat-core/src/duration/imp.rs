//! The duration grammar: one or more `DIGITS UNIT` components, units `d h m s`, largest first,
//! each at most once.
//!
//! Canonical form (what [`format`] prints, and what `parse` of that string gives back): every
//! non-zero unit from days down to seconds, largest first, so `93600s` prints as `1d2h` and
//! `5400s` as `1h30m`; zero prints as `0s`. Days are always exactly 86 400 s: runbook durations
//! are elapsed time, not calendar arithmetic, so there is no DST-length day here.

use std::time::Duration;

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

const EXPECTED: &str = "expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m";

pub(super) fn parse(text: &str) -> Result<Duration, String> {
    let invalid = |why: &str| format!("invalid duration \"{}\": {why}", text.escape_debug());
    if text.is_empty() {
        return Err(invalid(EXPECTED));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // The one mistake worth a tailored hint: a bare number is ambiguous.
        return Err(invalid(&format!(
            "a unit is required (d, h, m, s), e.g. {text}s or {text}m"
        )));
    }

    let mut rest = text;
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed; enforces "largest first, each at most once".
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid(EXPECTED));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid(EXPECTED));
        }
        let Some(position) = UNITS
            .iter()
            .position(|&(u, _)| unit.len() == 1 && unit.starts_with(u))
        else {
            return Err(invalid(&format!(
                "unknown unit \"{}\": expected d, h, m or s",
                unit.escape_debug()
            )));
        };
        if position < next_unit {
            return Err(invalid(
                "units go from largest to smallest (d, h, m, s), each at most once, e.g. 1d12h or 1h30m",
            ));
        }
        next_unit = position + 1;
        let too_large = || invalid("too large");
        let value: u64 = number.parse().map_err(|_| too_large())?;
        total = value
            .checked_mul(UNITS[position].1)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(too_large)?;
        rest = after;
    }
    Ok(Duration::from_secs(total))
}

pub(super) fn format(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let count = secs / size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

pub(super) fn human(seconds: f64) -> String {
    if seconds.is_nan() {
        return "—".to_owned();
    }
    if seconds < 0.0 {
        return format!("-{}", human(-seconds));
    }
    // Sub-second restores are common on small samples: keep them distinguishable from 0.
    let decimals = if seconds < 10.0 { 2 } else { 1 };
    let shown = format!("{seconds:.decimals$}");
    // Judged after rounding, so 59.96 s is `1m 0s`, never `60s`.
    if shown.parse::<f64>().is_ok_and(|v| v < 60.0) {
        return format!("{}s", shown.trim_end_matches('0').trim_end_matches('.'));
    }
    // `as` saturates: infinity reads as the largest count of seconds, not a panic.
    let t = seconds.round() as u64;
    let (d, h, m, s) = (t / 86_400, t % 86_400 / 3600, t % 3600 / 60, t % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m {s}s")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else {
        format!("{m}m {s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("90s", 90 ; "seconds")]
    #[test_case("30m", 1_800 ; "minutes")]
    #[test_case("2h", 7_200 ; "hours")]
    #[test_case("1d", 86_400 ; "days")]
    #[test_case("1h30m", 5_400 ; "hours and minutes")]
    #[test_case("1d12h", 129_600 ; "days and hours")]
    #[test_case("1d2h3m4s", 93_784 ; "every unit")]
    #[test_case("0s", 0 ; "zero")]
    #[test_case("26h", 93_600 ; "more hours than a day")]
    #[test_case("90m", 5_400 ; "more minutes than an hour")]
    #[test_case("007m", 420 ; "leading zeros")]
    fn parses(text: &str, secs: u64) {
        assert_eq!(parse(text), Ok(Duration::from_secs(secs)));
    }

    #[test_case("", "invalid duration \"\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "empty")]
    #[test_case("30", "invalid duration \"30\": a unit is required (d, h, m, s), e.g. 30s or 30m" ; "bare number")]
    #[test_case("2 hours", "invalid duration \"2 hours\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "words")]
    #[test_case("h", "invalid duration \"h\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "unit without digits")]
    #[test_case("1.5h", "invalid duration \"1.5h\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "fraction")]
    #[test_case("-5m", "invalid duration \"-5m\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "negative")]
    #[test_case("5w", "invalid duration \"5w\": unknown unit \"w\": expected d, h, m or s" ; "weeks")]
    #[test_case("500ms", "invalid duration \"500ms\": unknown unit \"ms\": expected d, h, m or s" ; "milliseconds")]
    #[test_case("2H", "invalid duration \"2H\": unknown unit \"H\": expected d, h, m or s" ; "upper case")]
    #[test_case("30m1h", "invalid duration \"30m1h\": units go from largest to smallest (d, h, m, s), each at most once, e.g. 1d12h or 1h30m" ; "wrong order")]
    #[test_case("1h1h", "invalid duration \"1h1h\": units go from largest to smallest (d, h, m, s), each at most once, e.g. 1d12h or 1h30m" ; "repeated unit")]
    #[test_case("1h30", "invalid duration \"1h30\": expected digits followed by a unit (d, h, m, s), e.g. 90s, 30m, 2h, 1h30m" ; "trailing digits")]
    #[test_case("99999999999999999999s", "invalid duration \"99999999999999999999s\": too large" ; "digits overflow")]
    #[test_case("213503982334602d", "invalid duration \"213503982334602d\": too large" ; "seconds overflow")]
    fn refuses(text: &str, message: &str) {
        assert_eq!(parse(text), Err(message.to_owned()));
    }

    #[test]
    fn sum_overflow_is_an_error() {
        // u64::MAX seconds is 213503982334601d 7h 0m 15s; one more second overflows the sum.
        assert_eq!(
            parse("213503982334601d7h0m15s"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse("213503982334601d7h0m16s"),
            Err("invalid duration \"213503982334601d7h0m16s\": too large".to_owned())
        );
    }

    #[test_case(0, "0s")]
    #[test_case(59, "59s")]
    #[test_case(60, "1m")]
    #[test_case(5_400, "1h30m")]
    #[test_case(93_600, "1d2h")]
    #[test_case(86_401, "1d1s")]
    #[test_case(2_592_000, "30d")]
    #[test_case(u64::MAX, "213503982334601d7h15s")]
    fn formats(secs: u64, text: &str) {
        assert_eq!(format(Duration::from_secs(secs)), text);
    }

    #[test]
    fn format_drops_sub_seconds() {
        assert_eq!(format(Duration::from_millis(1_999)), "1s");
        assert_eq!(format(Duration::from_millis(999)), "0s");
    }

    #[test]
    fn format_round_trips() {
        let samples = [
            0,
            1,
            59,
            61,
            3_599,
            3_600,
            86_399,
            86_400,
            93_784,
            1 << 40,
            u64::MAX,
        ];
        for secs in samples {
            let d = Duration::from_secs(secs);
            assert_eq!(parse(&format(d)), Ok(d), "{secs} s");
        }
        // Any accepted spelling formats to the canonical one, which parses to the same value.
        for text in ["26h", "90m", "120s", "1d24h", "0d0h0m5s"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)), Ok(d), "{text}");
        }
    }

    #[test_case(0.041, "0.04s" ; "hundredths under ten seconds")]
    #[test_case(0.0, "0s" ; "zero")]
    #[test_case(1.5, "1.5s" ; "trailing zero dropped")]
    #[test_case(12.46, "12.5s" ; "tenths under a minute")]
    #[test_case(30.0, "30s" ; "whole seconds as a runbook writes them")]
    #[test_case(9.999, "10s" ; "rounded up to ten")]
    #[test_case(59.96, "1m 0s" ; "rounded up to a minute")]
    #[test_case(90.0, "1m 30s" ; "minutes")]
    #[test_case(5_400.0, "1h 30m 0s" ; "hours")]
    #[test_case(93_600.0, "1d 2h 0m 0s" ; "days")]
    #[test_case(109_104.0, "1d 6h 18m 24s" ; "every unit")]
    #[test_case(82_800.5, "23h 0m 1s" ; "half a second rounds up")]
    #[test_case(-90.0, "-1m 30s" ; "negative")]
    #[test_case(f64::NAN, "—" ; "not a number")]
    fn human_is_the_one_spelling(seconds: f64, shown: &str) {
        assert_eq!(human(seconds), shown);
    }
}
